//! The status topic (`KafkaStatusBackingStore`): keys `status-connector-<name>` and
//! `status-task-<name>-<n>`, values `{"state":...,"trace":...,"worker_id":...,"generation":...}`.

use serde_json::{Map, Value as Json};

use crate::status::State;

pub fn connector_key(name: &str) -> String {
    format!("status-connector-{name}")
}
pub fn task_key(name: &str, task: u32) -> String {
    format!("status-task-{name}-{task}")
}

/// `status-topic-<topic>:connector-<name>` (KIP-558 active topics).
pub fn topic_key(topic: &str, connector: &str) -> String {
    format!("status-topic-{topic}:connector-{connector}")
}

/// The (topic, connector) of an active-topic key.
pub fn parse_topic_key(key: &str) -> Option<(String, String)> {
    let rest = key.strip_prefix("status-topic-")?;
    let (topic, connector) = rest.split_once(":connector-")?;
    Some((topic.to_string(), connector.to_string()))
}

/// `{"topic":{"name":...,"connector":...,"task":...,"discoverTimestamp":...}}`, in the field
/// order of Kafka's `TOPIC_STATUS_SCHEMA`.
pub fn encode_topic(topic: &str, connector: &str, task: u32, discovered_ms: i64) -> Vec<u8> {
    let mut t = Map::new();
    t.insert("name".into(), Json::String(topic.into()));
    t.insert("connector".into(), Json::String(connector.into()));
    t.insert("task".into(), Json::from(task));
    t.insert("discoverTimestamp".into(), Json::from(discovered_ms));
    let mut m = Map::new();
    m.insert("topic".into(), Json::Object(t));
    serde_json::to_vec(&Json::Object(m)).unwrap_or_default()
}

/// A status record's value.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusRecord {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i64,
}

/// What a status key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusKey {
    Connector(String),
    Task(String, u32),
}

pub fn parse_key(key: &str) -> Option<StatusKey> {
    if let Some(name) = key.strip_prefix("status-connector-") {
        return Some(StatusKey::Connector(name.to_string()));
    }
    let rest = key.strip_prefix("status-task-")?;
    let (name, n) = rest.rsplit_once('-')?;
    Some(StatusKey::Task(name.to_string(), n.parse().ok()?))
}

pub fn encode(r: &StatusRecord) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("state".into(), Json::String(r.state.name().into()));
    m.insert(
        "trace".into(),
        r.trace.clone().map_or(Json::Null, Json::String),
    );
    m.insert("worker_id".into(), Json::String(r.worker_id.clone()));
    m.insert("generation".into(), Json::from(r.generation));
    serde_json::to_vec(&Json::Object(m)).unwrap_or_default()
}

fn parse_state(s: &str) -> Option<State> {
    Some(match s {
        "UNASSIGNED" => State::Unassigned,
        "RUNNING" => State::Running,
        "PAUSED" => State::Paused,
        "FAILED" => State::Failed,
        "RESTARTING" => State::Restarting,
        "STOPPED" => State::Stopped,
        // DESTROYED: the connector is gone.
        _ => return None,
    })
}

pub fn decode(bytes: &[u8]) -> Option<StatusRecord> {
    let j: Json = serde_json::from_slice(bytes).ok()?;
    Some(StatusRecord {
        state: parse_state(j.get("state")?.as_str()?)?,
        trace: j.get("trace").and_then(Json::as_str).map(str::to_string),
        worker_id: j.get("worker_id")?.as_str()?.to_string(),
        generation: j.get("generation").and_then(Json::as_i64).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes_and_keys() {
        let r = StatusRecord {
            state: State::Running,
            trace: None,
            worker_id: "10.0.0.1:8083".into(),
            generation: 7,
        };
        assert_eq!(
            encode(&r),
            br#"{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":7}"#
        );
        assert_eq!(decode(&encode(&r)), Some(r));
        assert_eq!(
            parse_key("status-task-my-conn-3"),
            Some(StatusKey::Task("my-conn".into(), 3))
        );
        assert_eq!(
            parse_key(&connector_key("a-b")),
            Some(StatusKey::Connector("a-b".into()))
        );
        assert_eq!(task_key("c", 0), "status-task-c-0");
        assert_eq!(parse_key("status-topic-t:connector-c"), None);
        assert_eq!(
            topic_key("orders", "my-sink"),
            "status-topic-orders:connector-my-sink"
        );
        assert_eq!(
            parse_topic_key("status-topic-orders.v1:connector-my:sink"),
            Some(("orders.v1".into(), "my:sink".into()))
        );
        assert_eq!(parse_topic_key("status-task-c-0"), None);
        assert_eq!(
            encode_topic("orders", "my-sink", 0, 1_700_000_000_000),
            br#"{"topic":{"name":"orders","connector":"my-sink","task":0,"discoverTimestamp":1700000000000}}"#
        );
        assert_eq!(decode(br#"{"state":"DESTROYED","worker_id":"w"}"#), None);
    }
}
