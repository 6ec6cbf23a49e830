//! The config topic (`KafkaConfigBackingStore`): keys `connector-<name>`, `task-<name>-<n>`,
//! `commit-<name>`, `target-state-<name>`, `session-key`, `restart-connector-<name>`; values
//! compact JSON as the schemaless JsonConverter writes them.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
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

/// The key of the KIP-507 session key record (matched exactly).
pub const SESSION_KEY: &str = "session-key";

/// The cluster's session key (`SessionKey`): the leader writes it, every worker reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub key: Vec<u8>,
    /// The Java name of the key's algorithm (`HmacSHA256`).
    pub algorithm: String,
    /// Epoch milliseconds.
    pub creation_timestamp: i64,
}

impl std::fmt::Debug for SessionKey {
    // The key is a secret: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKey")
            .field("key", &"[hidden]")
            .field("algorithm", &self.algorithm)
            .field("creation_timestamp", &self.creation_timestamp)
            .finish()
    }
}

/// `{"key":"<base64>","algorithm":"HmacSHA256","creation-timestamp":<ms>}` for `session-key`
/// (`KafkaConfigBackingStore.SESSION_KEY_V0`, schemaless JSON, Java's padded base64).
pub fn session_key_value(k: &SessionKey) -> Vec<u8> {
    let mut m = Map::new();
    m.insert(
        "key".into(),
        Json::String(base64::engine::general_purpose::STANDARD.encode(&k.key)),
    );
    m.insert("algorithm".into(), Json::String(k.algorithm.clone()));
    m.insert(
        "creation-timestamp".into(),
        Json::from(k.creation_timestamp),
    );
    serde_json::to_vec(&Json::Object(m)).unwrap_or_default()
}

/// A `session-key` value; `None` (logged by the caller) when any field is missing or invalid.
pub fn parse_session_key(value: &[u8]) -> Option<SessionKey> {
    let j: Json = serde_json::from_slice(value).ok()?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(j.get("key")?.as_str()?)
        .ok()?;
    Some(SessionKey {
        key,
        algorithm: j.get("algorithm")?.as_str()?.to_string(),
        creation_timestamp: j.get("creation-timestamp")?.as_i64()?,
    })
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
    /// The latest session key (KIP-507).
    pub session_key: Option<SessionKey>,
    /// The connector config each connector's latest complete task-config commit was made
    /// under (Kafka's `ClusterConfigState.appliedConnectorConfig`): when the connector config
    /// changed since, the task configs are written again even if they are the same, so the
    /// tasks restart with what they run with (converters, `errors.*`, transforms, overrides).
    pub applied: BTreeMap<String, RawConfig>,
    /// How many complete commits carried task configs for each connector (Kafka's
    /// `connectorTaskConfigGenerations`): a worker restarts a connector's running tasks when it
    /// moves, as Kafka restarts the tasks of a commit.
    pub task_generations: BTreeMap<String, u64>,
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

    /// Whether `configs` differ from the connector's committed task configs (Kafka's
    /// `taskConfigsChanged`); an inconsistent commit counts as different.
    /// The connector config changed since the last commit counts as different too (Kafka 3.9's
    /// final check, KAFKA-9228): tasks must restart with the connector config they run with.
    pub fn task_configs_differ(&self, name: &str, configs: &[RawConfig]) -> bool {
        self.inconsistent.contains(name)
            || self.tasks.get(name).map_or(&[][..], Vec::as_slice) != configs
            || self.applied.get(name) != self.connectors.get(name)
    }

    /// The connector's task-config generation (see [`ConfigState::task_generations`]).
    pub fn task_generation(&self, name: &str) -> u64 {
        self.task_generations.get(name).copied().unwrap_or(0)
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
                    self.applied.remove(name);
                    self.task_generations.remove(name);
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
            let pending = self.pending.remove(name).unwrap_or_default();
            // The count comes from the topic: it sizes nothing before the task records it
            // names have been read.
            let tasks: Option<Vec<RawConfig>> = u32::try_from(count)
                .ok()
                .filter(|&n| n as usize <= pending.len())
                .and_then(|n| (0..n).map(|i| pending.get(&i).cloned()).collect());
            match tasks {
                Some(tasks) => {
                    self.inconsistent.remove(name);
                    self.tasks.insert(name.to_string(), tasks);
                    if !pending.is_empty() {
                        *self.task_generations.entry(name.to_string()).or_default() += 1;
                    }
                    match self.connectors.get(name) {
                        Some(c) => {
                            self.applied.insert(name.to_string(), c.clone());
                        }
                        None => {
                            self.applied.remove(name);
                        }
                    }
                }
                None => {
                    self.inconsistent.insert(name.to_string());
                }
            }
            self.commit_offsets.insert(name.to_string(), offset);
        } else if key == SESSION_KEY {
            match value.map(parse_session_key) {
                Some(Some(k)) => self.session_key = Some(k),
                // As Kafka: a null or malformed session key is ignored.
                Some(None) => tracing::error!(
                    key,
                    "Invalid session key record in the config topic; ignored."
                ),
                None => tracing::error!(key, "Ignoring a null session key record."),
            }
        }
        // restart-connector- (read by the herder), tasks-fencing-, logger-cluster-: not used.
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
    fn a_changed_connector_config_makes_the_same_task_configs_differ() {
        let mut s = ConfigState::default();
        let conn = |extra: &str| {
            format!(r#"{{"properties":{{"connector.class":"FileStreamSink"{extra}}}}}"#)
        };
        s.apply(0, "connector-c", Some(conn("").as_bytes()));
        let t0 = cfg(&[("task.class", "T")]);
        s.apply(1, "task-c-0", Some(br#"{"properties":{"task.class":"T"}}"#));
        s.apply(2, "commit-c", Some(br#"{"tasks":1}"#));
        assert_eq!(s.task_generation("c"), 1);
        assert!(!s.task_configs_differ("c", std::slice::from_ref(&t0)));
        // A converter setting changes nothing in the task configs, but the tasks run with it.
        s.apply(
            3,
            "connector-c",
            Some(conn(r#","value.converter.schemas.enable":"false""#).as_bytes()),
        );
        assert!(s.task_configs_differ("c", std::slice::from_ref(&t0)));
        // The same task configs written again under the new config: applied, a new generation.
        s.apply(4, "task-c-0", Some(br#"{"properties":{"task.class":"T"}}"#));
        s.apply(5, "commit-c", Some(br#"{"tasks":1}"#));
        assert!(!s.task_configs_differ("c", std::slice::from_ref(&t0)));
        assert_eq!(s.task_generation("c"), 2);
        // A commit without task records (a stop's empty list) applies the config only.
        s.apply(6, "commit-c", Some(br#"{"tasks":0}"#));
        assert_eq!(s.task_generation("c"), 2);
        assert!(!s.task_configs_differ("c", &[]));
        // Deleting the connector forgets both.
        s.apply(7, "connector-c", None);
        assert!(s.applied.is_empty() && s.task_generations.is_empty());
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
        let t0 = cfg(&[("task.class", "T")]);
        assert!(s.task_configs_differ("my-c", std::slice::from_ref(&t0)));
        assert!(
            s.task_configs_differ("my-c", &[]),
            "no commit yet: no config was applied (Kafka writes even an empty list)"
        );
        s.apply(
            2,
            "task-my-c-0",
            Some(br#"{"properties":{"task.class":"T"}}"#),
        );
        assert!(!s.tasks.contains_key("my-c"), "buffered until the commit");
        s.apply(3, "commit-my-c", Some(br#"{"tasks":1}"#));
        assert_eq!(s.tasks["my-c"].len(), 1);
        assert!(!s.task_configs_differ("my-c", std::slice::from_ref(&t0)));
        assert!(s.task_configs_differ("my-c", &[t0.clone(), t0.clone()]));
        assert_eq!(s.offset, 4);
        // A commit that does not cover its tasks marks the connector inconsistent.
        s.apply(4, "commit-my-c", Some(br#"{"tasks":2}"#));
        assert!(s.inconsistent.contains("my-c"));
        assert!(s.task_configs_differ("my-c", std::slice::from_ref(&t0)));
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
        assert_eq!(
            s.session_key.as_ref().map(|k| k.key.clone()),
            Some(vec![0u8])
        );
        // A malformed or null session key leaves the last good one.
        s.apply(12, "session-key", Some(br#"{"key":"%%%","algorithm":"x"}"#));
        s.apply(13, "session-key", None);
        assert_eq!(
            s.session_key.as_ref().map(|k| k.creation_timestamp),
            Some(1)
        );
    }

    #[test]
    fn session_key_records_as_kafka_writes_and_reads_them() {
        // As a Kafka 3.x leader writes it (KafkaConfigBackingStore.putSessionKey through the
        // schemaless JsonConverter): a 256-bit HmacSHA256 key, padded base64.
        let kafka = br#"{"key":"qXh8xN8PBhS0KtcT7H1Ilp1RXmvrkUNDUVGT0mYGPxE=","algorithm":"HmacSHA256","creation-timestamp":1700000000123}"#;
        let k = parse_session_key(kafka).unwrap();
        assert_eq!(k.algorithm, "HmacSHA256");
        assert_eq!(k.creation_timestamp, 1_700_000_000_123);
        assert_eq!(k.key.len(), 32);
        assert_eq!(&k.key[..4], &[0xa9, 0x78, 0x7c, 0xc4]);
        assert_eq!(session_key_value(&k), kafka.to_vec(), "byte for byte");

        let ours = SessionKey {
            key: (0u8..32).collect(),
            algorithm: "HmacSHA256".into(),
            creation_timestamp: 42,
        };
        assert_eq!(
            String::from_utf8(session_key_value(&ours)).unwrap(),
            r#"{"key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","algorithm":"HmacSHA256","creation-timestamp":42}"#
        );
        assert_eq!(
            parse_session_key(&session_key_value(&ours)),
            Some(ours.clone())
        );
        assert!(!format!("{ours:?}").contains("AAEC"), "the key never shows");

        for bad in [
            &br#"{"algorithm":"HmacSHA256","creation-timestamp":1}"#[..],
            br#"{"key":"AA==","creation-timestamp":1}"#,
            br#"{"key":"AA==","algorithm":"HmacSHA256"}"#,
            br#"{"key":"AA==","algorithm":"HmacSHA256","creation-timestamp":"1"}"#,
            br#"{"key":"A","algorithm":"HmacSHA256","creation-timestamp":1}"#,
            b"[]",
            b"not json",
        ] {
            assert_eq!(
                parse_session_key(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
