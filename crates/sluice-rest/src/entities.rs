//! Kafka Connect's REST entities, field names exactly as Kafka serializes them
//! (`org.apache.kafka.connect.runtime.rest.entities`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sluice_api::config::ConfigKey;
use sluice_runtime::config::validate::{ConfigInfo as RtConfigInfo, ValidationReport};
use sluice_runtime::herder::{ConnectorInfo as RtConnectorInfo, PartitionOffset};
use sluice_runtime::status::{ConnectorStatus, Status};

use crate::mask::Masker;

/// `ErrorMessage`.
#[derive(Debug, Serialize)]
pub struct ErrorMessage {
    pub error_code: u16,
    pub message: String,
}

/// `ServerInfo`.
#[derive(Debug, Serialize)]
pub struct ServerInfo {
    pub version: String,
    pub commit: String,
    pub kafka_cluster_id: String,
}

/// `WorkerStatus` (`GET /health`).
#[derive(Debug, Serialize)]
pub struct WorkerStatus {
    pub status: &'static str,
    pub message: String,
}

/// `Message`.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: String,
}

/// `ConnectorStateInfo.ConnectorState`.
#[derive(Debug, Serialize)]
pub struct ConnectorState {
    pub state: &'static str,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo.TaskState`.
#[derive(Debug, Serialize)]
pub struct TaskState {
    pub id: u32,
    pub state: &'static str,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo`.
#[derive(Debug, Serialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

fn trace(s: &Status) -> Option<String> {
    s.trace.clone().filter(|t| !t.is_empty())
}

impl TaskState {
    pub fn new(id: u32, t: &Status) -> Self {
        TaskState {
            id,
            state: t.state.name(),
            worker_id: t.worker_id.clone(),
            trace: trace(t),
        }
    }
}

impl From<ConnectorStatus> for ConnectorStateInfo {
    fn from(s: ConnectorStatus) -> Self {
        ConnectorStateInfo {
            connector: ConnectorState {
                state: s.connector.state.name(),
                worker_id: s.connector.worker_id.clone(),
                trace: trace(&s.connector),
            },
            tasks: s
                .tasks
                .iter()
                .map(|(id, t)| TaskState::new(*id, t))
                .collect(),
            kind: s.kind.map_or("unknown", |k| k.name()),
            name: s.name,
        }
    }
}

/// `ConnectorTaskId`.
#[derive(Debug, Serialize)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: u32,
}

/// `ConnectorInfo`, with secrets masked.
#[derive(Debug, Serialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl ConnectorInfo {
    pub fn new(info: RtConnectorInfo, masker: &Masker) -> Self {
        ConnectorInfo {
            config: masker.mask(&info.config),
            tasks: info
                .tasks
                .iter()
                .map(|t| ConnectorTaskId {
                    connector: info.name.clone(),
                    task: *t,
                })
                .collect(),
            kind: info.kind.map_or("unknown", |k| k.name()),
            name: info.name,
        }
    }
}

/// `TaskInfo`.
#[derive(Debug, Serialize)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: BTreeMap<String, String>,
}

/// `CreateConnectorRequest`.
#[derive(Debug, Deserialize)]
pub struct CreateConnectorRequest {
    pub name: Option<String>,
    pub config: Option<Map<String, Json>>,
    pub initial_state: Option<String>,
}

/// One entry of `ConnectorOffsets`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConnectorOffset {
    pub partition: Option<Map<String, Json>>,
    pub offset: Option<Map<String, Json>>,
}

/// `ConnectorOffsets`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    pub offsets: Option<Vec<ConnectorOffset>>,
}

impl From<Vec<PartitionOffset>> for ConnectorOffsets {
    fn from(v: Vec<PartitionOffset>) -> Self {
        ConnectorOffsets {
            offsets: Some(
                v.into_iter()
                    .map(|p| ConnectorOffset {
                        partition: Some(p.partition),
                        offset: p.offset,
                    })
                    .collect(),
            ),
        }
    }
}

/// `PluginInfo`.
#[derive(Debug, Serialize)]
pub struct PluginInfo {
    pub class: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl PluginInfo {
    pub fn new(class: &str, kind: &'static str, version: &str) -> Self {
        PluginInfo {
            class: class.to_string(),
            kind,
            version: (version != "undefined").then(|| version.to_string()),
        }
    }
}

/// `ConfigKeyInfo`.
#[derive(Debug, Serialize)]
pub struct ConfigKeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub required: bool,
    pub default_value: Option<String>,
    pub importance: &'static str,
    pub documentation: String,
    pub group: Option<String>,
    pub width: &'static str,
    pub display_name: String,
    pub dependents: Vec<String>,
    pub order: i32,
}

impl From<&ConfigKey> for ConfigKeyInfo {
    fn from(k: &ConfigKey) -> Self {
        ConfigKeyInfo {
            name: k.name.clone(),
            kind: k.config_type.name(),
            required: k.is_required(),
            default_value: k.default_string(),
            importance: k.importance.name(),
            documentation: k.documentation.clone(),
            group: k.group.clone(),
            width: k.width.name(),
            display_name: k.display_name.clone(),
            dependents: k.dependents.clone(),
            order: if k.group.is_some() {
                k.order_in_group
            } else {
                -1
            },
        }
    }
}

/// `ConfigValueInfo`.
#[derive(Debug, Serialize)]
pub struct ConfigValueInfo {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// `ConfigInfo`.
#[derive(Debug, Serialize)]
pub struct ConfigInfo {
    pub definition: Option<ConfigKeyInfo>,
    pub value: Option<ConfigValueInfo>,
}

/// `ConfigInfos`.
#[derive(Debug, Serialize)]
pub struct ConfigInfos {
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigInfo>,
}

impl ConfigInfos {
    pub fn new(report: &ValidationReport, masker: &Masker) -> Self {
        let info = |c: &RtConfigInfo| {
            // The report holds the values as sent (references unresolved).
            let secret_key = masker.is_secret_key(&c.value.name)
                || c.definition
                    .as_ref()
                    .is_some_and(|d| d.config_type == sluice_api::config::ConfigType::Password);
            let hidden = secret_key
                && !crate::mask::is_provider_reference(c.value.value.as_deref().unwrap_or(""));
            ConfigInfo {
                definition: c.definition.as_ref().map(ConfigKeyInfo::from),
                value: Some(ConfigValueInfo {
                    name: c.value.name.clone(),
                    value: c.value.value.clone().map(|v| {
                        if hidden {
                            crate::mask::HIDDEN.to_string()
                        } else {
                            v
                        }
                    }),
                    recommended_values: c.value.recommended_values.clone(),
                    errors: c.value.errors.clone(),
                    visible: c.value.visible,
                }),
            }
        };
        ConfigInfos {
            name: report.class.clone(),
            error_count: report.error_count(),
            groups: report.groups.clone(),
            configs: report.configs.iter().map(info).collect(),
        }
    }
}

/// `LoggerLevel`.
#[derive(Debug, Serialize)]
pub struct LoggerLevel {
    pub level: String,
    pub last_modified: Option<i64>,
}

/// Sluice's `GET /sluice/connectors/{name}/errors` (no Kafka counterpart; Kafka shows this as
/// the `total-records-skipped` metric): records each task skipped under `errors.tolerance=all`.
#[derive(Debug, Serialize)]
pub struct ConnectorErrors {
    pub name: String,
    pub tasks: Vec<TaskErrors>,
}

#[derive(Debug, Serialize)]
pub struct TaskErrors {
    pub id: u32,
    pub records_tolerated: u64,
}

impl From<ConnectorStatus> for ConnectorErrors {
    fn from(s: ConnectorStatus) -> Self {
        ConnectorErrors {
            tasks: s
                .tasks
                .keys()
                .map(|id| TaskErrors {
                    id: *id,
                    records_tolerated: s.tolerated.get(id).copied().unwrap_or(0),
                })
                .collect(),
            name: s.name,
        }
    }
}
