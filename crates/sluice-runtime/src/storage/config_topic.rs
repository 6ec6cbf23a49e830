//! The config topic (`KafkaConfigBackingStore`): keys `connector-<name>`, `task-<name>-<n>`,
//! `commit-<name>`, `target-state-<name>`, `session-key`, `restart-connector-<name>`; values
//! compact JSON as the schemaless JsonConverter writes them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};
use sluice_api::config::RawConfig;

use crate::task::TargetState;

pub fn connector_key(name: &str) -> String {
    format!("connector-{name}")
}
pub fn task_key(name: &str, task: u32) -> String {
    format!("task-{name}-{task}")
}
pub fn commit_key(name: &str) -> String {
    format!("commit-{name}")
}
pub fn target_state_key(name: &str) -> String {
    format!("target-state-{name}")
}

pub fn restart_key(name: &str) -> String {
    format!("restart-connector-{name}")
}

/// `{"include-tasks":bool,"only-failed":bool}` for `restart-connector-<name>` (KIP-745).
pub fn restart_value(include_tasks: bool, only_failed: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({ "include-tasks": include_tasks, "only-failed": only_failed }))
        .unwrap_or_default()
}

/// A restart request record: the connector and (include-tasks, only-failed); missing or
/// invalid fields are false, as Kafka reads them.
pub fn parse_restart(key: &str, value: Option<&[u8]>) -> Option<(String, bool, bool)> {
    let name = key.strip_prefix("restart-connector-")?;
    let j: Json = value
        .and_then(|v| serde_json::from_slice(v).ok())
        .unwrap_or(Json::Null);
    let flag = |f: &str| j.get(f).and_then(Json::as_bool).unwrap_or(false);
    Some((name.to_string(), flag("include-tasks"), flag("only-failed")))
}

fn properties(config: &RawConfig) -> Vec<u8> {
    let props: Map<String, Json> = config
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let mut root = Map::new();
    root.insert("properties".into(), Json::Object(props));
    serde_json::to_vec(&Json::Object(root)).unwrap_or_default()
}

/// `{"properties":{...}}` for `connector-<name>`.
pub fn connector_value(config: &RawConfig) -> Vec<u8> {
    properties(config)
}

/// `{"properties":{...}}` for `task-<name>-<n>`.
pub fn task_value(config: &RawConfig) -> Vec<u8> {
    properties(config)
}

/// `{"tasks":<n>}` for `commit-<name>`.
pub fn commit_value(tasks: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({ "tasks": tasks })).unwrap_or_default()
}

fn state_name(t: TargetState) -> &'static str {
    match t {
        TargetState::Started => "STARTED",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    }
}

/// `{"state":...,"state.v2":...}`; STOPPED is written as PAUSED in `state` for old workers.
pub fn target_state_value(t: TargetState) -> Vec<u8> {
    let v1 = if t == TargetState::Stopped {
        "PAUSED"
    } else {
        state_name(t)
    };
    let mut m = Map::new();
    m.insert("state".into(), Json::String(v1.into()));
    m.insert("state.v2".into(), Json::String(state_name(t).into()));
    serde_json::to_vec(&Json::Object(m)).unwrap_or_default()
}

/// Everything the config topic says, as of `offset`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigState {
    /// The offset of the next record to read.
    pub offset: i64,
    pub connectors: BTreeMap<String, RawConfig>,
    pub targets: BTreeMap<String, TargetState>,
    /// Committed task configs per connector.
    pub tasks: BTreeMap<String, Vec<RawConfig>>,
    /// Connectors whose last commit did not cover its task configs.
    pub inconsistent: BTreeSet<String>,
    /// Offset of the latest `connector-<name>` record, to tell stale task configs.
    pub config_offsets: BTreeMap<String, i64>,
    /// Offset of the latest `commit-<name>` record.
    pub commit_offsets: BTreeMap<String, i64>,
    /// Connectors resumed from STOPPED since their last commit: their empty task list was
    /// written by the stop, so the leader generates task configs again.
    pub resumed: BTreeSet<String>,
    pending: BTreeMap<String, BTreeMap<u32, RawConfig>>,
}

fn parse_properties(value: &[u8]) -> Option<RawConfig> {
    let j: Json = serde_json::from_slice(value).ok()?;
    let props = j.get("properties")?.as_object()?;
    Some(
        props
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// `task-<name>-<n>`: the last `-` part is the task number, the middle the connector name.
fn parse_task_key(rest: &str) -> Option<(String, u32)> {
    let (name, n) = rest.rsplit_once('-')?;
    Some((name.to_string(), n.parse().ok()?))
}

impl ConfigState {
    /// The target state of a connector (missing = STARTED).
    pub fn target(&self, name: &str) -> TargetState {
        self.targets
            .get(name)
            .copied()
            .unwrap_or(TargetState::Started)
    }

    /// Whether the connector's committed task configs predate its config.
    pub fn needs_task_configs(&self, name: &str) -> bool {
        if !self.connectors.contains_key(name) {
            return false;
        }
        if self.resumed.contains(name) && self.target(name) != TargetState::Stopped {
            return true;
        }
        match (self.config_offsets.get(name), self.commit_offsets.get(name)) {
            (Some(c), Some(k)) => c > k,
            (_, None) => true,
            (None, Some(_)) => false,
        }
    }

    /// Applies one record, in the order Kafka dispatches on key prefixes.
    pub fn apply(&mut self, offset: i64, key: &str, value: Option<&[u8]>) {
        self.offset = self.offset.max(offset + 1);
        if let Some(name) = key.strip_prefix("target-state-") {
            match value {
                None => {
                    self.targets.remove(name);
                }
                Some(v) => {
                    let j: Json = serde_json::from_slice(v).unwrap_or(Json::Null);
                    let s = j
                        .get("state.v2")
                        .or_else(|| j.get("state"))
                        .and_then(Json::as_str);
                    let t = match s {
                        Some("STARTED") => TargetState::Started,
                        Some("PAUSED") => TargetState::Paused,
                        Some("STOPPED") => TargetState::Stopped,
                        _ => {
                            tracing::error!(
                                key,
                                "Invalid target state record in the config topic; ignored."
                            );
                            return;
                        }
                    };
                    let was = self.target(name);
                    if was == TargetState::Stopped && t != TargetState::Stopped {
                        self.resumed.insert(name.to_string());
                    }
                    self.targets.insert(name.to_string(), t);
                }
            }
        } else if let Some(name) = key.strip_prefix("connector-") {
            match value.map(parse_properties) {
                None => {
                    self.connectors.remove(name);
                    self.targets.remove(name);
                    self.tasks.remove(name);
                    self.pending.remove(name);
                    self.config_offsets.remove(name);
                    self.commit_offsets.remove(name);
                    self.inconsistent.remove(name);
                    self.resumed.remove(name);
                }
                Some(Some(c)) => {
                    self.connectors.insert(name.to_string(), c);
                    self.config_offsets.insert(name.to_string(), offset);
                }
                Some(None) => {
                    tracing::error!(
                        key,
                        "Invalid connector config record in the config topic; ignored."
                    )
                }
            }
        } else if let Some(rest) = key.strip_prefix("task-") {
            let Some((name, n)) = parse_task_key(rest) else {
                tracing::error!(key, "Invalid task key in the config topic; ignored.");
                return;
            };
            match value.and_then(parse_properties) {
                Some(c) => {
                    self.pending.entry(name).or_default().insert(n, c);
                }
                None => {
                    if let Some(p) = self.pending.get_mut(&name) {
                        p.remove(&n);
                    }
                }
            }
        } else if let Some(name) = key.strip_prefix("commit-") {
            let count = value
                .and_then(|v| serde_json::from_slice::<Json>(v).ok())
                .and_then(|j| j.get("tasks").and_then(Json::as_u64));
            let Some(count) = count else {
                tracing::error!(key, "Invalid commit record in the config topic; ignored.");
                return;
            };
            self.resumed.remove(name);
            let pending = self.pending.remove(name).unwrap_or_default();
            let mut tasks = Vec::with_capacity(count as usize);
            let mut complete = true;
            for i in 0..count as u32 {
                match pending.get(&i) {
                    Some(c) => tasks.push(c.clone()),
                    None => complete = false,
                }
            }
            if complete {
                self.inconsistent.remove(name);
                self.tasks.insert(name.to_string(), tasks);
            } else {
                self.inconsistent.insert(name.to_string());
            }
            self.commit_offsets.insert(name.to_string(), offset);
        }
        // session-key, restart-connector-, tasks-fencing-, logger-cluster-: not used yet.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_records_as_kafka_writes_and_reads_them() {
        assert_eq!(restart_key("a-b"), "restart-connector-a-b");
        assert_eq!(
            restart_value(true, false),
            br#"{"include-tasks":true,"only-failed":false}"#.to_vec()
        );
        assert_eq!(
            parse_restart("restart-connector-a-b", Some(&restart_value(false, true))),
            Some(("a-b".into(), false, true))
        );
        assert_eq!(
            parse_restart("restart-connector-x", Some(b"{\"only-failed\":\"yes\"}")),
            Some(("x".into(), false, false)),
            "invalid fields are false"
        );
        assert_eq!(parse_restart("connector-x", None), None);
    }

    fn cfg(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn golden_bytes() {
        let c = cfg(&[
            ("connector.class", "FileStreamSource"),
            ("file", "/tmp/中文"),
            ("name", "c"),
        ]);
        assert_eq!(
            String::from_utf8(connector_value(&c)).unwrap(),
            r#"{"properties":{"connector.class":"FileStreamSource","file":"/tmp/中文","name":"c"}}"#
        );
        assert_eq!(commit_value(1), br#"{"tasks":1}"#);
        assert_eq!(
            target_state_value(TargetState::Started),
            br#"{"state":"STARTED","state.v2":"STARTED"}"#
        );
        assert_eq!(
            target_state_value(TargetState::Stopped),
            br#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        assert_eq!(task_key("my-conn", 12), "task-my-conn-12");
        assert_eq!(connector_key("c"), "connector-c");
        assert_eq!(commit_key("c"), "commit-c");
        assert_eq!(target_state_key("c"), "target-state-c");
    }

    #[test]
    fn kafka_sequence_applies_and_tasks_wait_for_their_commit() {
        let mut s = ConfigState::default();
        s.apply(
            0,
            "target-state-my-c",
            Some(br#"{"state":"STARTED","state.v2":"STARTED"}"#),
        );
        s.apply(
            1,
            "connector-my-c",
            Some(br#"{"properties":{"connector.class":"FileStreamSource","tasks.max":2}}"#),
        );
        assert_eq!(s.connectors["my-c"]["tasks.max"], "2");
        assert!(s.needs_task_configs("my-c"));
        s.apply(
            2,
            "task-my-c-0",
            Some(br#"{"properties":{"task.class":"T"}}"#),
        );
        assert!(!s.tasks.contains_key("my-c"), "buffered until the commit");
        s.apply(3, "commit-my-c", Some(br#"{"tasks":1}"#));
        assert_eq!(s.tasks["my-c"].len(), 1);
        assert!(!s.needs_task_configs("my-c"));
        assert_eq!(s.offset, 4);
        // A commit that does not cover its tasks marks the connector inconsistent.
        s.apply(4, "commit-my-c", Some(br#"{"tasks":2}"#));
        assert!(s.inconsistent.contains("my-c"));
        // v1-only target state, then deletion.
        s.apply(5, "target-state-my-c", Some(br#"{"state":"PAUSED"}"#));
        assert_eq!(s.target("my-c"), TargetState::Paused);
        s.apply(6, "connector-my-c", None);
        s.apply(7, "target-state-my-c", None);
        assert!(s.connectors.is_empty() && s.tasks.is_empty());
        assert_eq!(s.target("my-c"), TargetState::Started);
        // Garbage is ignored, not a panic.
        s.apply(8, "connector-x", Some(b"not json"));
        s.apply(9, "task-nonumber", Some(b"{}"));
        s.apply(10, "commit-x", Some(b"[]"));
        s.apply(
            11,
            "session-key",
            Some(br#"{"key":"AA==","algorithm":"HmacSHA256","creation-timestamp":1}"#),
        );
        assert!(s.connectors.is_empty());
        assert_eq!(s.offset, 12);
    }
}
