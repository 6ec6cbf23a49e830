//! The distributed herder: workers form a Kafka group (protocol type `connect`, spoken by
//! `sluice-group`); the config topic is the source of truth for connectors and task configs;
//! the group leader assigns connectors and tasks incrementally (KIP-415), distributes the
//! session key (KIP-507) and writes task configs, which the worker running each connector
//! computes (a follower sends them to the leader's signed internal endpoint); every worker
//! runs what it is assigned, reads the config topic to its end before acting on an
//! assignment, and publishes statuses to the status topic.
//!
//! One actor owns everything that changes what runs: REST writes, group events and the
//! periodic read of the internal topics all go through its loop, one at a time. REST reads
//! go to shared snapshots and never wait on the actor.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI16, AtomicI32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use sluice_api::config::RawConfig;
use sluice_api::connector::ConnectorKind;
use sluice_api::ConnectError;
use sluice_group::assignor::{assign_eager, assign_incremental, AssignInput, LeaderMemory};
use sluice_group::driver::{GroupEvent, GroupHandle};
use sluice_group::membership::JoinedGeneration;
use sluice_group::protocol::{
    self, Assignment, ConnectProtocol, Work, WorkId, WorkerMetadata, CONFIG_MISMATCH, NO_ERROR,
};
use sluice_kafka::log::{KafkaBasedLog, LogRecord};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{offsets, ConnectorEntry, ConnectorInfo, Offsets, RestartRequest};
use crate::config::connector::{CONNECTOR_CLASS, NAME};
use crate::config::validate::{validate_connector, ValidationReport};
use crate::herder::standalone::{format_instant, invalid_config_error};
use crate::plugins::Plugins;
use crate::signature::{self, CryptoError, InterWorkerKeys, MacAlgorithm, SignatureError};
use crate::status::{ConnectorStatus, State, Status, StatusChange, StatusStore, TopicUse};
use crate::storage::config_topic::{self as ct, ConfigState};
use crate::storage::status_topic::{self as st, StatusKey, StatusRecord};
use crate::task::{TargetState, TaskId};
use crate::worker::{run_connector_instance, run_task, GeneratedTaskConfigs, Worker};

type Reply<T> = oneshot::Sender<Result<T, ConnectError>>;

/// Kafka's message when a write reaches a worker that cannot complete it (not the leader, or
/// the leader is unknown during a rebalance).
pub const CONFLICT_MESSAGE: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

/// What the distributed herder needs besides the worker.
#[derive(Clone, Debug)]
pub struct DistributedSettings {
    /// The advertised REST URL (`http://host:port/`), sent in the group metadata.
    pub url: String,
    pub protocol: ConnectProtocol,
    pub max_delay_ms: i32,
    /// KIP-507: session key generation and request signatures.
    pub keys: InterWorkerKeys,
    /// How a follower sends task configs to the leader.
    pub leader_client: Arc<dyn LeaderClient>,
    /// How long a request waits for the herder (Kafka's REST request timeout, 90 s); a
    /// timeout names what the herder was doing.
    pub request_timeout: Duration,
}

/// Why the leader did not take task configs sent to it.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("the leader answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("could not reach the leader: {0}")]
    Transport(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Sends a follower's task configs to the leader (`POST /connectors/{name}/tasks`). The REST
/// crate implements it (it owns the JSON shapes and the HTTP client); `signing` is the
/// algorithm and session key to sign the body with (KIP-507), `None` when the cluster does
/// not sign internal requests.
#[async_trait::async_trait]
pub trait LeaderClient: Send + Sync + std::fmt::Debug {
    async fn put_task_configs(
        &self,
        leader_url: &str,
        connector: &str,
        configs: &[RawConfig],
        signing: Option<(MacAlgorithm, &[u8])>,
    ) -> Result<(), LeaderError>;
}

/// The internal topics, opened.
#[derive(Clone, Debug)]
pub struct InternalLogs {
    pub config: KafkaBasedLog,
    pub status: KafkaBasedLog,
}

enum Request {
    PutConfig {
        name: String,
        config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
        reply: Reply<(bool, ConnectorInfo)>,
    },
    Delete {
        name: String,
        reply: Reply<()>,
    },
    SetTarget {
        name: String,
        target: TargetState,
        reply: Reply<()>,
    },
    PatchConfig {
        name: String,
        patch: BTreeMap<String, Option<String>>,
        reply: Reply<ConnectorInfo>,
    },
    Restart {
        name: String,
        request: RestartRequest,
        reply: Reply<Option<ConnectorStatus>>,
    },
    RestartTask {
        name: String,
        task: u32,
        reply: Reply<()>,
    },
    ModifyOffsets {
        name: String,
        offsets: Option<Offsets>,
        reply: Reply<bool>,
    },
    PutTaskConfigs {
        name: String,
        configs: Vec<RawConfig>,
        reply: Reply<()>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

impl Request {
    /// What the request asks, for timeout messages ("The request was ...").
    fn describe(&self) -> String {
        match self {
            Request::PutConfig { name, .. } => format!("to write the config of connector {name}"),
            Request::Delete { name, .. } => format!("to delete connector {name}"),
            Request::SetTarget { name, target, .. } => {
                format!(
                    "to set the target state of connector {name} to {}",
                    target.name()
                )
            }
            Request::PatchConfig { name, .. } => format!("to patch the config of connector {name}"),
            Request::Restart { name, .. } => format!("to restart connector {name}"),
            Request::RestartTask { name, task, .. } => format!("to restart task {name}-{task}"),
            Request::ModifyOffsets { name, .. } => {
                format!("to modify the offsets of connector {name}")
            }
            Request::PutTaskConfigs { name, .. } => {
                format!("to write the task configs of connector {name}")
            }
            Request::Shutdown { .. } => "to shut down".to_string(),
        }
    }

    /// What the actor is doing while it handles the request (the worker "is currently ...").
    fn stage(&self) -> String {
        match self {
            Request::PutConfig { name, .. } => {
                format!("writing the config of connector {name} to the config topic")
            }
            Request::Delete { name, .. } => format!("deleting connector {name}"),
            Request::SetTarget { name, .. } => {
                format!("writing the target state of connector {name}")
            }
            Request::PatchConfig { name, .. } => format!("patching the config of connector {name}"),
            Request::Restart { name, .. } => {
                format!("writing a restart request for connector {name}")
            }
            Request::RestartTask { name, task, .. } => format!("restarting task {name}-{task}"),
            Request::ModifyOffsets { name, .. } => {
                format!("modifying the offsets of connector {name}")
            }
            Request::PutTaskConfigs { name, .. } => {
                format!("writing the task configs of connector {name}")
            }
            Request::Shutdown { .. } => "stopping every connector and task to shut down".into(),
        }
    }
}

/// A status as the status topic says, with its writer's generation.
#[derive(Clone, Debug)]
struct TopicStatus {
    record: StatusRecord,
}

/// A connector's and its tasks' statuses from the status topic.
type ConnectorTopicStatus = (Option<TopicStatus>, BTreeMap<u32, Option<TopicStatus>>);

#[derive(Debug, Default)]
struct Shared {
    config: RwLock<ConfigState>,
    /// connector -> (connector status, task statuses), from the status topic.
    statuses: RwLock<BTreeMap<String, ConnectorTopicStatus>>,
    leader_url: RwLock<Option<String>>,
    /// connector -> active topics (KIP-558), from the status topic.
    topics: RwLock<BTreeMap<String, std::collections::BTreeSet<String>>>,
    is_leader: AtomicBool,
    generation: AtomicI32,
    /// The group's Connect protocol version: internal requests are signed from 2
    /// (`sessioned`) on.
    protocol_version: AtomicI16,
    /// What the actor is doing and since when, for timeout messages.
    stage: std::sync::Mutex<Option<(String, std::time::SystemTime)>>,
}

/// A cloneable handle to the distributed herder.
#[derive(Clone)]
pub struct DistributedHerder {
    tx: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    worker: Worker,
    /// This worker's advertised REST URL (its scheme is every worker's).
    url: String,
    status_log: KafkaBasedLog,
    keys: InterWorkerKeys,
    request_timeout: Duration,
}

impl std::fmt::Debug for DistributedHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedHerder").finish_non_exhaustive()
    }
}

fn gone() -> ConnectError {
    ConnectError::illegal_state("The worker is shutting down")
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}
fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl DistributedHerder {
    /// Starts the herder actor. `status_changes` is the receiver of the worker's status store
    /// listener; `group` the running member.
    pub fn start(
        worker: Worker,
        settings: DistributedSettings,
        logs: InternalLogs,
        group: GroupHandle,
        events: mpsc::UnboundedReceiver<GroupEvent>,
        status_changes: mpsc::UnboundedReceiver<StatusChange>,
        topic_uses: mpsc::UnboundedReceiver<TopicUse>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let url = settings.url.clone();
        let keys = settings.keys.clone();
        let request_timeout = settings.request_timeout;
        let status_log = logs.status.clone();
        let shared = Arc::new(Shared::default());
        shared.generation.store(-1, Ordering::Relaxed);
        // Until the first assignment names the group's protocol, this worker's own protocol
        // decides whether internal requests must be signed (as Kafka's herder starts).
        shared
            .protocol_version
            .store(settings.protocol.version(), Ordering::Relaxed);
        tokio::spawn(status_writer(
            logs.status.clone(),
            status_changes,
            shared.clone(),
        ));
        tokio::spawn(topic_writer(logs.status.clone(), topic_uses));
        tokio::spawn(status_reader(
            logs.status.clone(),
            shared.clone(),
            worker.status.clone(),
        ));
        let (config_tx, config_rx) = mpsc::unbounded_channel();
        tokio::spawn(config_reader(logs.config.clone(), config_tx));
        let (generated_tx, generated_rx) = mpsc::unbounded_channel();
        let actor = Actor {
            delivery: Delivery {
                requests: tx.downgrade(),
                shared: shared.clone(),
                client: settings.leader_client.clone(),
                signature_algorithm: settings.keys.signature_algorithm,
            },
            generated_tx,
            generated_rx,
            worker: worker.clone(),
            settings,
            logs,
            group,
            shared: shared.clone(),
            running_connectors: BTreeMap::new(),
            running_tasks: BTreeMap::new(),
            member_id: String::new(),
            leader_id: String::new(),
            memory: LeaderMemory::default(),
            assigned_configured: None,
            protocol_version: 0,
            rejoin_at: None,
            rejoin_pending: false,
            started: false,
            stopping: false,
            config_rx,
        };
        tokio::spawn(actor.run(rx, events));
        DistributedHerder {
            tx,
            shared,
            worker,
            url,
            status_log,
            keys,
            request_timeout,
        }
    }

    /// KIP-507: checks an internal request's signature headers against the session key when
    /// the cluster runs the `sessioned` protocol (`DistributedHerder.requestNotSignedProperly`).
    pub fn check_internal_request(
        &self,
        algorithm: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        if self.shared.protocol_version.load(Ordering::Relaxed) < 2 {
            return Ok(());
        }
        let key = read_lock(&self.shared.config)
            .session_key
            .as_ref()
            .map(|k| k.key.clone());
        signature::verify_request(
            algorithm,
            signature,
            body,
            &self.keys.verification_algorithms,
            key.as_deref(),
        )
    }

    /// Task configs a connector's owner sends (`POST /connectors/{name}/tasks`, checked by
    /// [`Self::check_internal_request`]); only the leader writes them (the REST layer forwards
    /// to it), and only if they differ from the committed ones.
    pub async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<RawConfig>,
    ) -> Result<(), ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::PutTaskConfigs {
            name,
            configs,
            reply,
        })
        .await
    }

    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Sends a request to the actor and waits for its answer at most the request timeout,
    /// then answers what the actor is doing (Kafka's `HerderRequestHandler.completeRequest`
    /// with its `StagedTimeoutException`).
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ConnectError> {
        let (reply, rx) = oneshot::channel();
        let request = make(reply);
        let what = request.describe();
        let exchange = async {
            self.tx.send(request).await.map_err(|_| gone())?;
            rx.await.map_err(|_| gone())?
        };
        match tokio::time::timeout(self.request_timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out(&what)),
        }
    }

    fn timed_out(&self, waited_for: &str) -> ConnectError {
        let stage = self
            .shared
            .stage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match stage {
            Some((description, started)) => ConnectError::fatal(format!(
                "Request timed out. The worker is currently {description}, which began at {}. The request was {waited_for}.",
                format_instant(started)
            )),
            None => ConnectError::fatal(format!(
                "Request timed out. The request was {waited_for}."
            )),
        }
    }

    /// The leader's REST URL, once known.
    pub fn leader_url(&self) -> Option<String> {
        read_lock(&self.shared.leader_url).clone()
    }

    pub fn is_leader(&self) -> bool {
        self.shared.is_leader.load(Ordering::Relaxed)
    }

    pub fn validate(&self, config: &RawConfig) -> ValidationReport {
        validate_connector(&self.worker.plugins, config)
    }

    /// Creates or (if allowed) replaces a connector; only the leader completes it (the REST
    /// layer forwards to the leader otherwise).
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
    ) -> Result<(bool, ConnectorInfo), ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::PutConfig {
            name,
            config,
            allow_replace,
            initial,
            reply,
        })
        .await
    }

    pub async fn delete_connector(&self, name: &str) -> Result<(), ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::Delete { name, reply }).await
    }

    /// Merges `patch` into the connector's config (`None` removes a key); only the leader
    /// completes it (the REST layer forwards to the leader otherwise).
    pub async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::PatchConfig { name, patch, reply })
            .await
    }

    /// KIP-745: the leader (the REST layer forwards to it) computes the plan from the status
    /// topic and writes a `restart-connector-<name>` record; every worker restarts what it
    /// runs of the plan when it reads the record. `None` for the legacy form (204).
    pub async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> Result<Option<ConnectorStatus>, ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::Restart {
            name,
            request,
            reply,
        })
        .await
    }

    /// The connector's offsets (KIP-815/875): source offsets from the offsets topic (read to
    /// its end first), sink offsets from the consumer group `connect-<name>`. Any worker
    /// answers; allowed in any state.
    pub async fn connector_offsets(&self, name: &str) -> Result<Offsets, ConnectError> {
        let entry = self
            .entry(name)
            .ok_or_else(|| ConnectError::not_found(format!("Connector {name} not found")))?;
        let timeout = READ_TIMEOUT;
        let read = async {
            match entry.kind {
                Some(ConnectorKind::Sink) => {
                    offsets::sink_offsets(&self.worker, name, &entry.config).await
                }
                _ => {
                    self.worker.offsets.refresh().await.map_err(|e| {
                        ConnectError::fatal(format!(
                            "Failed to read the offsets topic for connector {name}: {e}"
                        ))
                    })?;
                    Ok(offsets::source_offsets(&self.worker, name))
                }
            }
        };
        tokio::time::timeout(timeout, read)
            .await
            .unwrap_or_else(|_| {
                Err(ConnectError::fatal(format!(
                    "Request timed out. The request was to read the offsets of connector {name}."
                )))
            })
    }

    /// Alters (`Some`) or resets (`None`) a stopped connector's offsets; only the leader (the
    /// REST layer forwards to it).
    pub async fn modify_offsets(
        &self,
        name: &str,
        offsets: Option<Offsets>,
    ) -> Result<bool, ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::ModifyOffsets {
            name,
            offsets,
            reply,
        })
        .await
    }

    /// The topics the connector's tasks used since the last reset, as the status topic says
    /// (the same on every worker).
    pub fn active_topics(&self, name: &str) -> Vec<String> {
        read_lock(&self.shared.topics)
            .get(name)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Deletes the connector's active-topic records (tombstones), as Kafka does from any
    /// worker; every worker forgets them when it reads the tombstones.
    pub async fn reset_active_topics(&self, name: &str) -> Result<(), ConnectError> {
        for topic in self.active_topics(name) {
            let key = st::topic_key(&topic, name);
            self.status_log
                .send(key.as_bytes(), None)
                .await
                .map_err(|e| {
                    ConnectError::retriable(format!(
                        "Failed to reset the active topics of connector {name}: {e}"
                    ))
                })?;
        }
        Ok(())
    }

    /// Restarts a task this worker runs (the REST layer forwards to its owner otherwise).
    pub async fn restart_task(&self, name: &str, task: u32) -> Result<(), ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::RestartTask { name, task, reply })
            .await
    }

    /// The REST URL of a worker of this cluster, from its id (`host:port`): every worker of a
    /// cluster serves the same scheme.
    pub fn url_of(&self, worker_id: &str) -> String {
        let scheme = self.url.split("://").next().unwrap_or("http");
        format!("{scheme}://{worker_id}/")
    }

    /// The worker id (`host:port`) that runs a task, per the status topic, if it is not this
    /// worker; `Ok(None)` when this worker runs it. Unknown connector or task: 404.
    pub fn task_owner(&self, name: &str, task: u32) -> Result<Option<String>, ConnectError> {
        let entry = self
            .entry(name)
            .ok_or_else(|| ConnectError::not_found(format!("Connector {name} not found")))?;
        if task as usize >= entry.tasks.len() {
            return Err(ConnectError::not_found(format!(
                "Task {name}-{task} not found"
            )));
        }
        let status = self.task_status(name, task).ok();
        let me = self.worker.status.worker_id();
        match status {
            Some(s) if s.worker_id != me && !s.worker_id.is_empty() => Ok(Some(s.worker_id)),
            Some(_) => Ok(None),
            None => Err(ConnectError::illegal_state(CONFLICT_MESSAGE)),
        }
    }

    /// PAUSED and STARTED are written to the config topic by whichever worker received the
    /// request, as Kafka does; STOPPED only by the leader (the REST layer forwards it), since
    /// it also writes the connector's empty task list.
    pub async fn set_target_state(
        &self,
        name: &str,
        target: TargetState,
    ) -> Result<(), ConnectError> {
        let name = name.to_string();
        self.call(|reply| Request::SetTarget {
            name,
            target,
            reply,
        })
        .await
    }

    /// Stops everything this worker runs (source offsets are flushed) and leaves the group at
    /// once, so the work moves without waiting for the session timeout.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Request::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub fn connectors(&self) -> Vec<String> {
        read_lock(&self.shared.config)
            .connectors
            .keys()
            .cloned()
            .collect()
    }

    fn entry(&self, name: &str) -> Option<ConnectorEntry> {
        entry_in(&self.shared, &self.worker.plugins, name)
    }

    pub fn connector_entry(&self, name: &str) -> Option<ConnectorEntry> {
        self.entry(name)
    }

    pub fn connector_info(&self, name: &str) -> Result<ConnectorInfo, ConnectError> {
        self.entry(name)
            .map(|e| e.info(name))
            .ok_or_else(|| ConnectError::not_found(format!("Connector {name} not found")))
    }

    /// Committed task configs.
    pub fn task_configs(&self, name: &str) -> Result<Vec<RawConfig>, ConnectError> {
        self.entry(name)
            .map(|e| e.tasks)
            .ok_or_else(|| ConnectError::not_found(format!("Connector {name} not found")))
    }

    pub fn task_status(&self, name: &str, task: u32) -> Result<Status, ConnectError> {
        self.connector_status(name)?
            .tasks
            .remove(&task)
            .ok_or_else(|| {
                ConnectError::not_found(format!("No status found for task {name}-{task}"))
            })
    }

    /// Healthy once the worker has joined the group and knows a leader.
    pub fn health_check(&self, _timeout: Duration) -> Result<(), ConnectError> {
        if self.leader_url().is_some() {
            Ok(())
        } else {
            Err(ConnectError::illegal_state(
                "Worker has not joined the Connect cluster yet",
            ))
        }
    }

    /// The status as the status topic says, the same on every worker.
    pub fn connector_status(&self, name: &str) -> Result<ConnectorStatus, ConnectError> {
        status_in(&self.shared, &self.worker.plugins, name)
    }
}

/// Writes the worker's status changes to the status topic, with the group generation.
fn entry_in(shared: &Shared, plugins: &Plugins, name: &str) -> Option<ConnectorEntry> {
    let state = read_lock(&shared.config);
    let config = state.connectors.get(name)?.clone();
    let kind = config
        .get(CONNECTOR_CLASS)
        .and_then(|c| plugins.connector(c))
        .map(|p| p.kind);
    Some(ConnectorEntry {
        // Every connector of a distributed cluster lives in the config topic.
        rest_managed: true,
        kind,
        target: state.target(name),
        tasks: state.tasks.get(name).cloned().unwrap_or_default(),
        config,
    })
}

fn status_in(
    shared: &Shared,
    plugins: &Plugins,
    name: &str,
) -> Result<ConnectorStatus, ConnectError> {
    let not_found = || ConnectError::not_found(format!("No status found for connector {name}"));
    let entry = entry_in(shared, plugins, name).ok_or_else(not_found)?;
    let statuses = read_lock(&shared.statuses);
    let (conn, tasks) = statuses.get(name).ok_or_else(not_found)?;
    let conn = conn.as_ref().ok_or_else(not_found)?;
    let to_status = |t: &TopicStatus| Status {
        state: t.record.state,
        trace: t.record.trace.clone(),
        worker_id: t.record.worker_id.clone(),
        generation: t.record.generation.max(0) as u64,
    };
    Ok(ConnectorStatus {
        name: name.to_string(),
        connector: to_status(conn),
        tasks: tasks
            .iter()
            .filter(|(id, _)| (**id as usize) < entry.tasks.len())
            .filter_map(|(id, t)| t.as_ref().map(|t| (*id, to_status(t))))
            .collect(),
        kind: entry.kind,
        tolerated: BTreeMap::new(),
    })
}

async fn status_writer(
    log: KafkaBasedLog,
    mut changes: mpsc::UnboundedReceiver<StatusChange>,
    shared: Arc<Shared>,
) {
    while let Some(c) = changes.recv().await {
        let key = match c.task {
            None => st::connector_key(&c.connector),
            Some(t) => st::task_key(&c.connector, t),
        };
        let value = st::encode(&StatusRecord {
            state: c.status.state,
            trace: c.status.trace.clone(),
            worker_id: c.status.worker_id.clone(),
            generation: i64::from(shared.generation.load(Ordering::Relaxed)),
        });
        // Kafka's status store retries retriable failures in its own loop.
        for attempt in 0..5 {
            match log.send(key.as_bytes(), Some(&value)).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(key = %key, attempt, error = %e, "Could not write a status; retrying.");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
    }
}

/// How often the internal topics are read to their end.
const READ_INTERVAL: Duration = Duration::from_millis(250);

/// Reads the config topic to its end, again and again, and hands the records to the actor
/// (the first read always, even if empty, so the actor knows it caught up once).
async fn config_reader(log: KafkaBasedLog, tx: mpsc::UnboundedSender<Vec<LogRecord>>) {
    let mut first = true;
    loop {
        match log.read_to_end(READ_TIMEOUT).await {
            Ok(records) => {
                if (first || !records.is_empty()) && tx.send(records).is_err() {
                    return;
                }
                first = false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Could not read the config topic to its end; will retry.")
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(READ_INTERVAL).await;
    }
}

/// Keeps the shared statuses up to date with the status topic.
/// Writes a `status-topic-<topic>:connector-<name>` record for each topic a task here used
/// for the first time (KIP-558).
async fn topic_writer(log: KafkaBasedLog, mut uses: mpsc::UnboundedReceiver<TopicUse>) {
    while let Some(u) = uses.recv().await {
        let key = st::topic_key(&u.topic, &u.connector);
        let value = st::encode_topic(&u.topic, &u.connector, u.task, now_ms());
        if let Err(e) = log.send(key.as_bytes(), Some(&value)).await {
            tracing::warn!(key = %key, error = %e, "Could not record an active topic in the status topic.");
        }
    }
}

async fn status_reader(log: KafkaBasedLog, shared: Arc<Shared>, local: StatusStore) {
    loop {
        match log.read_to_end(READ_TIMEOUT).await {
            Ok(records) => apply_statuses(&shared, &local, records),
            Err(e) => tracing::warn!(error = %e, "Could not read the status topic; will retry."),
        }
        if Arc::strong_count(&shared) == 1 {
            return;
        }
        tokio::time::sleep(READ_INTERVAL).await;
    }
}

fn apply_statuses(shared: &Shared, local: &StatusStore, records: Vec<LogRecord>) {
    let mut statuses = write_lock(&shared.statuses);
    for r in records {
        let Some(key) = r.key.as_deref().and_then(|k| std::str::from_utf8(k).ok()) else {
            continue;
        };
        if let Some((topic, connector)) = st::parse_topic_key(key) {
            let mut topics = write_lock(&shared.topics);
            match r.value {
                Some(_) => {
                    topics.entry(connector).or_default().insert(topic);
                }
                None => {
                    // A reset: forget it here too, so the next use records it again.
                    local.forget_topic(&connector, &topic);
                    if let Some(t) = topics.get_mut(&connector) {
                        t.remove(&topic);
                    }
                }
            }
            continue;
        }
        let Some(key) = st::parse_key(key) else {
            continue;
        };
        let record = r.value.as_deref().and_then(st::decode);
        let (name, task) = match &key {
            StatusKey::Connector(n) => (n.clone(), None),
            StatusKey::Task(n, t) => (n.clone(), Some(*t)),
        };
        let entry = statuses.entry(name).or_default();
        let slot = match task {
            None => &mut entry.0,
            Some(t) => entry.1.entry(t).or_insert(None),
        };
        match record {
            None => *slot = None,
            Some(rec) => match slot {
                Some(s) if !safe_to_replace(&s.record, &rec) => {}
                _ => *slot = Some(TopicStatus { record: rec }),
            },
        }
    }
    for (_, tasks) in statuses.iter_mut() {
        tasks.1.retain(|_, t| t.is_some());
    }
}

struct RunningConnector {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
    target: watch::Sender<TargetState>,
    config: RawConfig,
    /// The delivery of the connector's latest task configs, while in progress.
    delivery: Option<CancellationToken>,
}

/// What a task-config delivery needs: the actor's own queue (when this worker leads), the
/// shared view (leader, session key), the client for the leader.
#[derive(Clone)]
struct Delivery {
    /// Weak, so the actor's queue still closes when every handle is gone.
    requests: mpsc::WeakSender<Request>,
    shared: Arc<Shared>,
    client: Arc<dyn LeaderClient>,
    signature_algorithm: MacAlgorithm,
}

const DELIVERY_BACKOFF_INITIAL: Duration = Duration::from_millis(250);
const DELIVERY_BACKOFF_MAX: Duration = Duration::from_secs(60);

impl Delivery {
    /// One attempt: `Ok(sent)` (`sent`: over HTTP to another worker, else written here as the
    /// leader) or why not; `None` when the herder is gone.
    async fn attempt(&self, name: &str, configs: &[RawConfig]) -> Option<Result<bool, String>> {
        if self.shared.is_leader.load(Ordering::Relaxed) {
            let tx = self.requests.upgrade()?;
            let (reply, rx) = oneshot::channel();
            let req = Request::PutTaskConfigs {
                name: name.to_string(),
                configs: configs.to_vec(),
                reply,
            };
            tx.send(req).await.ok()?;
            drop(tx);
            return Some(match rx.await.ok()? {
                Ok(()) => Ok(false),
                Err(e) => Err(e.to_string()),
            });
        }
        let Some(url) = read_lock(&self.shared.leader_url)
            .clone()
            .filter(|u| !u.is_empty())
        else {
            return Some(Err("no leader is known yet".into()));
        };
        let key = read_lock(&self.shared.config)
            .session_key
            .as_ref()
            .map(|k| k.key.clone());
        let sessioned = self.shared.protocol_version.load(Ordering::Relaxed) >= 2;
        if sessioned && key.is_none() {
            return Some(Err("no session key has been read yet".into()));
        }
        let signing = key.as_deref().map(|k| (self.signature_algorithm, k));
        Some(
            match self
                .client
                .put_task_configs(&url, name, configs, signing)
                .await
            {
                Ok(()) => Ok(true),
                Err(e) => Err(e.to_string()),
            },
        )
    }
}

/// Delivers a connector's task configs to the leader (this worker's own actor when it leads),
/// retrying with backoff whatever the failure (no leader, no session key, 409, a leader that is
/// away or has not read the connector yet) until it succeeds or `cancel`: the connector
/// stopped here (revoked, deleted, STOPPED) or newer task configs replaced these. Nothing is
/// dropped while the connector runs here.
async fn deliver_task_configs(
    delivery: Delivery,
    name: String,
    configs: Vec<RawConfig>,
    cancel: CancellationToken,
) {
    let mut backoff = DELIVERY_BACKOFF_INITIAL;
    loop {
        let attempt = tokio::select! {
            _ = cancel.cancelled() => return,
            a = delivery.attempt(&name, &configs) => a,
        };
        match attempt {
            None => return,
            Some(Ok(true)) => {
                tracing::info!(connector = %name, tasks = configs.len(), "Sent the connector's task configs to the leader.");
                return;
            }
            Some(Ok(false)) => return,
            Some(Err(e)) => {
                tracing::warn!(connector = %name, error = %e, retry_in_ms = backoff.as_millis() as u64, "Could not deliver the connector's task configs to the leader; retrying.");
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(DELIVERY_BACKOFF_MAX);
    }
}

struct RunningTask {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
    target: watch::Sender<TargetState>,
    config: RawConfig,
    /// The connector's task-config generation the task started with: a newer commit restarts
    /// it even when its own config is the same.
    generation: u64,
    /// `<connector>-<task>`, for logs.
    id: String,
}

struct Actor {
    delivery: Delivery,
    /// Task configs computed by connectors running here.
    generated_tx: mpsc::UnboundedSender<GeneratedTaskConfigs>,
    generated_rx: mpsc::UnboundedReceiver<GeneratedTaskConfigs>,
    worker: Worker,
    settings: DistributedSettings,
    logs: InternalLogs,
    group: GroupHandle,
    shared: Arc<Shared>,
    running_connectors: BTreeMap<String, RunningConnector>,
    running_tasks: BTreeMap<(String, i32), RunningTask>,
    member_id: String,
    leader_id: String,
    memory: LeaderMemory,
    /// The configured work the last assignment was computed for (leader only).
    assigned_configured: Option<Work>,
    protocol_version: i16,
    rejoin_at: Option<tokio::time::Instant>,
    /// A rebalance was asked for while handling the current event. It is requested once the
    /// event is fully handled, after the metadata describes the work as it now runs: a JoinGroup
    /// that advertises stale metadata makes the leader plan with it.
    rejoin_pending: bool,
    /// The config topic was read to its end once (restart requests act from then on).
    started: bool,
    stopping: bool,
    /// Config topic records as the reader task reads them (in order).
    config_rx: mpsc::UnboundedReceiver<Vec<LogRecord>>,
}

const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// `worker.sync.timeout.ms`'s default: how long a member waits to read up to the leader's
/// config offset before rejoining.
const SYNC_TIMEOUT: Duration = Duration::from_secs(3);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Every connector and task the config says should run.
fn configured_work(state: &ConfigState) -> Work {
    let mut w = Work::default();
    for name in state.connectors.keys() {
        w.connectors.insert(name.clone());
        if let Some(tasks) = state.tasks.get(name) {
            for i in 0..tasks.len() {
                w.tasks.insert((name.clone(), i as i32));
            }
        }
    }
    w
}

impl Actor {
    /// Records what the actor is doing (`None`: waiting), for timeout messages.
    fn stage(&self, description: Option<String>) {
        *self.shared.stage.lock().unwrap_or_else(|p| p.into_inner()) =
            description.map(|d| (d, std::time::SystemTime::now()));
    }

    fn current_work(&self) -> Work {
        let mut w = Work::default();
        w.connectors.extend(self.running_connectors.keys().cloned());
        w.tasks.extend(self.running_tasks.keys().cloned());
        w
    }

    fn config_offset(&self) -> i64 {
        read_lock(&self.shared.config).offset
    }

    /// Publishes the metadata of the next JoinGroup: URL, config offset, what runs here.
    fn update_metadata(&self) {
        let offset = self.config_offset();
        let current = self.current_work();
        let protocols = self
            .settings
            .protocol
            .advertised()
            .into_iter()
            .map(|p| {
                let allocation = (p.version() >= 1).then(|| Assignment {
                    version: p.version(),
                    error: NO_ERROR,
                    leader: self.leader_id.clone(),
                    leader_url: read_lock(&self.shared.leader_url)
                        .clone()
                        .unwrap_or_default(),
                    config_offset: offset,
                    assigned: current.clone(),
                    revoked: Work::default(),
                    delay: 0,
                });
                let m = WorkerMetadata {
                    version: p.version(),
                    url: self.settings.url.clone(),
                    config_offset: offset,
                    allocation,
                };
                (
                    p.name().to_string(),
                    Bytes::from(protocol::encode_metadata(&m)),
                )
            })
            .collect();
        self.group.set_metadata(protocols);
    }

    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut events: mpsc::UnboundedReceiver<GroupEvent>,
    ) {
        // Read the config topic to its end once before joining.
        if let Some(records) = self.config_rx.recv().await {
            self.apply_records(records).await;
        }
        self.started = true;
        self.update_metadata();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let rejoin_at = self.rejoin_at;
            tokio::select! {
                req = requests.recv() => match req {
                    Some(Request::Shutdown { reply }) => {
                        self.stage(Some("stopping every connector and task to shut down".into()));
                        self.shutdown().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(req) => {
                        self.stage(Some(req.stage()));
                        self.handle(req).await;
                    }
                    None => {
                        self.shutdown().await;
                        return;
                    }
                },
                ev = events.recv() => match ev {
                    Some(ev) => {
                        self.stage(Some("handling a group membership event (a rebalance)".into()));
                        self.on_group_event(ev).await;
                    }
                    None => {
                        tracing::error!("The group member stopped; this worker no longer takes part in the cluster.");
                        return;
                    }
                },
                _ = async {
                    match rejoin_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.rejoin_at = None;
                    self.rejoin_pending = true;
                }
                records = self.config_rx.recv() => match records {
                    Some(records) => {
                        self.stage(Some("applying records read from the config topic".into()));
                        self.apply_records(records).await;
                        self.maybe_rebalance();
                        self.update_metadata();
                    }
                    None => return,
                },
                Some(g) = self.generated_rx.recv() => self.on_generated(g),
                _ = tick.tick() => {
                    self.stage(Some("checking the session key and the statuses".into()));
                    self.on_tick().await;
                }
            }
            self.stage(None);
            if std::mem::take(&mut self.rejoin_pending) && !self.stopping {
                self.update_metadata();
                self.group.rejoin();
            }
        }
    }

    async fn handle(&mut self, req: Request) {
        match req {
            Request::PutConfig {
                name,
                config,
                allow_replace,
                initial,
                reply,
            } => {
                let r = self.put_config(name, config, allow_replace, initial).await;
                let _ = reply.send(r);
            }
            Request::Delete { name, reply } => {
                let r = self.delete(&name).await;
                let _ = reply.send(r);
            }
            Request::SetTarget {
                name,
                target,
                reply,
            } => {
                let r = self.set_target(&name, target).await;
                let _ = reply.send(r);
            }
            Request::PatchConfig { name, patch, reply } => {
                let r = self.patch_config(name, patch).await;
                let _ = reply.send(r);
            }
            Request::Restart {
                name,
                request,
                reply,
            } => {
                let r = self.restart(&name, request).await;
                let _ = reply.send(r);
            }
            Request::RestartTask { name, task, reply } => {
                let r = self.restart_task(&name, task).await;
                let _ = reply.send(r);
            }
            Request::ModifyOffsets {
                name,
                offsets,
                reply,
            } => {
                let r = self.modify_offsets(&name, offsets).await;
                let _ = reply.send(r);
            }
            Request::PutTaskConfigs {
                name,
                configs,
                reply,
            } => {
                let r = self.put_task_configs(&name, configs).await;
                let _ = reply.send(r);
            }
            Request::Shutdown { reply } => {
                self.shutdown().await;
                let _ = reply.send(());
            }
        }
    }

    /// Leader: writes a connector's task configs (`task-<name>-<n>` records, then
    /// `commit-<name>`) if they differ from the committed ones.
    async fn put_task_configs(
        &mut self,
        name: &str,
        configs: Vec<RawConfig>,
    ) -> Result<(), ConnectError> {
        self.require_leader()?;
        self.drain_config().await;
        let (differ, target) = {
            let state = read_lock(&self.shared.config);
            if !state.connectors.contains_key(name) {
                return Err(ConnectError::not_found(format!(
                    "Connector {name} not found"
                )));
            }
            (
                state.task_configs_differ(name, &configs),
                state.target(name),
            )
        };
        if !configs.is_empty() && target == TargetState::Stopped {
            return Err(ConnectError::config(format!(
                "Cannot submit non-empty set of task configs for stopped connector {name}"
            )));
        }
        if !differ {
            tracing::debug!(connector = %name, "The task configs are unchanged; nothing to write.");
            return Ok(());
        }
        for (i, t) in configs.iter().enumerate() {
            self.write_config(&ct::task_key(name, i as u32), Some(&ct::task_value(t)))
                .await?;
        }
        let offset = self
            .write_config(
                &ct::commit_key(name),
                Some(&ct::commit_value(configs.len() as u32)),
            )
            .await?;
        tracing::info!(connector = %name, tasks = configs.len(), "Wrote task configs.");
        self.catch_up(offset + 1, READ_TIMEOUT).await;
        self.maybe_rebalance();
        Ok(())
    }

    /// Task configs a connector running here computed: delivered to the leader (or written,
    /// when this worker leads) if they differ from the committed ones. A newer set replaces a
    /// delivery still in progress.
    fn on_generated(&mut self, g: GeneratedTaskConfigs) {
        let Some(r) = self.running_connectors.get_mut(&g.connector) else {
            return;
        };
        if let Some(old) = r.delivery.take() {
            old.cancel();
        }
        if !read_lock(&self.shared.config).task_configs_differ(&g.connector, &g.configs) {
            tracing::info!(connector = %g.connector, "The connector's task configs are unchanged.");
            return;
        }
        let cancel = r.cancel.child_token();
        r.delivery = Some(cancel.clone());
        tokio::spawn(deliver_task_configs(
            self.delivery.clone(),
            g.connector,
            g.configs,
            cancel,
        ));
    }

    /// Leader, `sessioned` protocol: writes a new session key when there is none, it expired
    /// (`inter.worker.key.ttl.ms`), or its algorithm or size is not the configured one
    /// (`DistributedHerder.checkForKeyRotation`).
    async fn maybe_rotate_session_key(&mut self) {
        if !self.shared.is_leader.load(Ordering::Relaxed)
            || self.protocol_version < 2
            || self.stopping
        {
            return;
        }
        let keys = &self.settings.keys;
        let now = now_ms();
        let reason = match &read_lock(&self.shared.config).session_key {
            None => Some("no session key has been distributed yet"),
            Some(k) if k.creation_timestamp.saturating_add(keys.key_ttl_ms) <= now => {
                Some("the session key expired")
            }
            Some(k)
                if MacAlgorithm::from_name(&k.algorithm) != Some(keys.key_algorithm)
                    || k.key.len() != keys.key_bits.div_ceil(8) as usize =>
            {
                Some("the session key's algorithm or size is not the configured one")
            }
            Some(_) => None,
        };
        let Some(reason) = reason else {
            return;
        };
        let key = match signature::generate_key(keys.key_bits) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "Could not generate a session key.");
                return;
            }
        };
        let record = ct::SessionKey {
            key,
            algorithm: keys.key_algorithm.name().to_string(),
            creation_timestamp: now,
        };
        match self
            .write_config(ct::SESSION_KEY, Some(&ct::session_key_value(&record)))
            .await
        {
            Ok(offset) => {
                tracing::info!(reason, algorithm = %record.algorithm, "Distributed a new session key.");
                self.catch_up(offset + 1, READ_TIMEOUT).await;
            }
            Err(e) => tracing::error!(error = %e, "Could not write a session key; will retry."),
        }
    }

    fn require_leader(&self) -> Result<(), ConnectError> {
        if self.shared.is_leader.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(ConnectError::illegal_state(CONFLICT_MESSAGE))
        }
    }

    /// Writes a config record; returns its offset.
    async fn write_config(&self, key: &str, value: Option<&[u8]>) -> Result<i64, ConnectError> {
        self.logs
            .config
            .send(key.as_bytes(), value)
            .await
            .map(|(_, offset)| offset)
            .map_err(|e| {
                ConnectError::retriable(format!("Failed to write to the config topic: {e}"))
            })
    }

    async fn put_config(
        &mut self,
        name: String,
        mut config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
    ) -> Result<(bool, ConnectorInfo), ConnectError> {
        self.require_leader()?;
        self.drain_config().await;
        let exists = read_lock(&self.shared.config)
            .connectors
            .contains_key(&name);
        if exists && !allow_replace {
            return Err(ConnectError::already_exists(format!(
                "Connector {name} already exists"
            )));
        }
        config.insert(NAME.to_string(), name.clone());
        let report = validate_connector(&self.worker.plugins, &config);
        if report.error_count() > 0 {
            return Err(invalid_config_error(&report));
        }
        if !exists && initial != TargetState::Started {
            self.write_config(
                &ct::target_state_key(&name),
                Some(&ct::target_state_value(initial)),
            )
            .await?;
        }
        let offset = self
            .write_config(
                &ct::connector_key(&name),
                Some(&ct::connector_value(&config)),
            )
            .await?;
        if !self.catch_up(offset + 1, READ_TIMEOUT).await {
            return Err(ConnectError::retriable(
                "The connector config was written but could not be read back from the config topic in time",
            ));
        }
        // The connector's owner computes its task configs once the rebalance assigned it.
        self.maybe_rebalance();
        let kind = self.worker.plugins.connector(&report.class).map(|p| p.kind);
        let tasks = read_lock(&self.shared.config)
            .tasks
            .get(&name)
            .map_or(0, Vec::len);
        Ok((
            !exists,
            ConnectorInfo {
                name,
                config,
                tasks: (0..tasks as u32).collect(),
                kind,
            },
        ))
    }

    async fn delete(&mut self, name: &str) -> Result<(), ConnectError> {
        self.require_leader()?;
        self.drain_config().await;
        if !read_lock(&self.shared.config).connectors.contains_key(name) {
            return Err(ConnectError::not_found(format!(
                "Connector {name} not found"
            )));
        }
        self.write_config(&ct::connector_key(name), None).await?;
        let offset = self.write_config(&ct::target_state_key(name), None).await?;
        self.catch_up(offset + 1, READ_TIMEOUT).await;
        self.maybe_rebalance();
        Ok(())
    }

    async fn restart(
        &mut self,
        name: &str,
        request: RestartRequest,
    ) -> Result<Option<ConnectorStatus>, ConnectError> {
        self.require_leader()?;
        self.drain_config().await;
        if !read_lock(&self.shared.config).connectors.contains_key(name) {
            return Err(ConnectError::not_found(if request.is_legacy() {
                format!("Connector {name} not found")
            } else {
                format!("Unknown connector: {name}")
            }));
        }
        let status = status_in(&self.shared, &self.worker.plugins, name).map_err(|_| {
            ConnectError::not_found(format!("Status for connector {name} not found"))
        })?;
        let plan = request.plan(&status);
        let offset = self
            .write_config(
                &ct::restart_key(name),
                Some(&ct::restart_value(
                    request.include_tasks,
                    request.only_failed,
                )),
            )
            .await?;
        self.catch_up(offset + 1, READ_TIMEOUT).await;
        Ok((!request.is_legacy()).then_some(plan))
    }

    /// Restarts what this worker runs of a restart request read from the config topic, with
    /// the plan computed from the status topic as the leader computed it.
    async fn process_restart(&mut self, name: &str, include_tasks: bool, only_failed: bool) {
        let Ok(status) = status_in(&self.shared, &self.worker.plugins, name) else {
            return;
        };
        let request = RestartRequest {
            include_tasks,
            only_failed,
        };
        let state = read_lock(&self.shared.config).clone();
        if request.restarts_connector(status.connector.state)
            && self.running_connectors.contains_key(name)
        {
            tracing::info!(connector = %name, "Restarting the connector, as requested.");
            self.worker
                .status
                .put_connector(name, status.kind, State::Restarting, None);
            if let Some(r) = self.running_connectors.remove(name) {
                stop_connector(r, self.shutdown_timeout()).await;
            }
            self.start_connector(name, &state);
        }
        if !include_tasks {
            return;
        }
        let ids: Vec<i32> = self
            .running_tasks
            .keys()
            .filter(|(c, _)| c == name)
            .map(|(_, id)| *id)
            .filter(|id| {
                // A task with no status yet counts as not failed.
                let state = status
                    .tasks
                    .get(&(*id as u32))
                    .map_or(State::Unassigned, |t| t.state);
                request.restarts_task(state)
            })
            .collect();
        if ids.is_empty() {
            return;
        }
        let mut stopping = Vec::new();
        for id in &ids {
            self.worker
                .status
                .put_task(name, *id as u32, State::Restarting, None);
            if let Some(r) = self.running_tasks.remove(&(name.to_string(), *id)) {
                stopping.push(r);
            }
        }
        stop_work(Vec::new(), stopping, self.shutdown_timeout()).await;
        let _ = self.worker.offsets.refresh().await;
        for id in ids {
            tracing::info!(task = %format!("{name}-{id}"), "Restarting the task, as requested.");
            self.start_task(name, id, &state);
        }
    }

    async fn restart_task(&mut self, name: &str, task: u32) -> Result<(), ConnectError> {
        self.drain_config().await;
        let key = (name.to_string(), task as i32);
        if !self.running_tasks.contains_key(&key) {
            return Err(ConnectError::illegal_state(CONFLICT_MESSAGE));
        }
        self.worker
            .status
            .put_task(name, task, State::Restarting, None);
        if let Some(r) = self.running_tasks.remove(&key) {
            stop_task(r, self.shutdown_timeout()).await;
        }
        let _ = self.worker.offsets.refresh().await;
        let state = read_lock(&self.shared.config).clone();
        tracing::info!(task = %format!("{name}-{task}"), "Restarting the task, as requested.");
        self.start_task(name, task as i32, &state);
        Ok(())
    }

    async fn modify_offsets(
        &mut self,
        name: &str,
        offsets: Option<Offsets>,
    ) -> Result<bool, ConnectError> {
        self.require_leader()?;
        self.drain_config().await;
        let entry = entry_in(&self.shared, &self.worker.plugins, name)
            .ok_or_else(|| ConnectError::not_found(format!("Connector {name} not found")))?;
        offsets::modify(&self.worker, name, &entry, offsets).await
    }

    async fn patch_config(
        &mut self,
        name: String,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ConnectError> {
        self.require_leader()?;
        self.drain_config().await;
        let Some(mut config) = read_lock(&self.shared.config)
            .connectors
            .get(&name)
            .cloned()
        else {
            return Err(ConnectError::not_found(format!(
                "Connector {name} not found"
            )));
        };
        for (k, v) in patch {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        self.put_config(name, config, true, TargetState::Started)
            .await
            .map(|(_, info)| info)
    }

    async fn set_target(&mut self, name: &str, target: TargetState) -> Result<(), ConnectError> {
        if target == TargetState::Stopped {
            self.require_leader()?;
        }
        self.drain_config().await;
        if !read_lock(&self.shared.config).connectors.contains_key(name) {
            return Err(ConnectError::not_found(format!("Unknown connector {name}")));
        }
        if target == TargetState::Stopped {
            // As Kafka: the empty task list first, so a failure between the two writes leaves
            // a running connector with no tasks rather than a stopped one with tasks.
            self.write_config(&ct::commit_key(name), Some(&ct::commit_value(0)))
                .await?;
        }
        let offset = self
            .write_config(
                &ct::target_state_key(name),
                Some(&ct::target_state_value(target)),
            )
            .await?;
        if !self.catch_up(offset + 1, READ_TIMEOUT).await {
            return Err(ConnectError::retriable(
                "The target state was written but could not be read back from the config topic in time",
            ));
        }
        self.maybe_rebalance();
        Ok(())
    }

    /// Applies records read from the config topic, then follows the changes with running work.
    async fn apply_records(&mut self, records: Vec<LogRecord>) {
        if records.is_empty() {
            return;
        }
        let before = configured_work(&read_lock(&self.shared.config));
        let mut restarts = Vec::new();
        {
            let mut state = write_lock(&self.shared.config);
            for r in records {
                let Some(key) = r.key.as_deref().and_then(|k| std::str::from_utf8(k).ok()) else {
                    continue;
                };
                // Restart requests act once, when read live (not when the topic is replayed
                // at start-up), as Kafka's config store does.
                if self.started {
                    restarts.extend(ct::parse_restart(key, r.value.as_deref()));
                }
                state.apply(r.offset, key, r.value.as_deref());
            }
        }
        let after = configured_work(&read_lock(&self.shared.config));
        if before != after && !self.shared.is_leader.load(Ordering::Relaxed) && !self.stopping {
            // Every worker asks for a rebalance when connectors or tasks appear or go, as
            // Kafka's herder does; the leader does so in `maybe_rebalance`.
            self.rejoin_pending = true;
        }
        self.apply_config_changes().await;
        for (name, include_tasks, only_failed) in restarts {
            self.process_restart(&name, include_tasks, only_failed)
                .await;
        }
    }

    /// Waits (at most `timeout`) until the config snapshot reaches `offset`; whether it did.
    async fn catch_up(&mut self, offset: i64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.config_offset() < offset {
            match tokio::time::timeout_at(deadline, self.config_rx.recv()).await {
                Ok(Some(records)) => self.apply_records(records).await,
                Ok(None) | Err(_) => return false,
            }
        }
        true
    }

    /// Applies whatever the reader has delivered so far, without waiting.
    async fn drain_config(&mut self) {
        while let Ok(records) = self.config_rx.try_recv() {
            self.apply_records(records).await;
        }
    }

    /// Follows target-state and config changes of work running here.
    async fn apply_config_changes(&mut self) {
        let state = read_lock(&self.shared.config).clone();
        let mut restart_connectors = Vec::new();
        // Work whose config is gone from the config topic (connector deleted, or stopped /
        // fewer tasks: its task list shrank) stops here at once, without waiting for the
        // rebalance that revokes it: a member can miss the generation that carried the
        // revocation, and nothing may run without a config.
        let mut gone_connectors = Vec::new();
        let mut gone_tasks = Vec::new();
        for (name, r) in &mut self.running_connectors {
            match state.connectors.get(name) {
                Some(c) if *c != r.config => restart_connectors.push(name.clone()),
                Some(_) => {
                    // A stopped connector's task configs are the empty list the stop wrote.
                    if state.target(name) == TargetState::Stopped {
                        if let Some(d) = r.delivery.take() {
                            d.cancel();
                        }
                    }
                    r.target.send_if_modified(|t| {
                        let new = state.target(name);
                        let changed = *t != new;
                        *t = new;
                        changed
                    });
                }
                None => gone_connectors.push(name.clone()),
            }
        }
        let mut restart_tasks = Vec::new();
        for ((name, id), r) in &self.running_tasks {
            let new_config = state.tasks.get(name).and_then(|t| t.get(*id as usize));
            match new_config {
                Some(c) if *c != r.config || state.task_generation(name) != r.generation => {
                    restart_tasks.push((name.clone(), *id))
                }
                Some(_) => {
                    r.target.send_if_modified(|t| {
                        let new = state.target(name);
                        let changed = *t != new;
                        *t = new;
                        changed
                    });
                }
                None => gone_tasks.push((name.clone(), *id)),
            }
        }
        let mut stopping_tasks = Vec::new();
        for key in gone_tasks {
            if let Some(r) = self.running_tasks.remove(&key) {
                tracing::info!(task = %format!("{}-{}", key.0, key.1), "The task's config is gone from the config topic; stopping it.");
                stopping_tasks.push(r);
            }
        }
        let mut stopping_connectors = Vec::new();
        for name in gone_connectors {
            if let Some(r) = self.running_connectors.remove(&name) {
                tracing::info!(connector = %name, "The connector's config is gone from the config topic; stopping it.");
                stopping_connectors.push(r);
            }
        }
        let restart_connectors: Vec<String> = restart_connectors
            .into_iter()
            .filter_map(|name| {
                let r = self.running_connectors.remove(&name)?;
                stopping_connectors.push(r);
                Some(name)
            })
            .collect();
        let restart_tasks: Vec<(String, i32)> = restart_tasks
            .into_iter()
            .filter_map(|(name, id)| {
                let r = self.running_tasks.remove(&(name.clone(), id))?;
                stopping_tasks.push(r);
                Some((name, id))
            })
            .collect();
        stop_work(stopping_connectors, stopping_tasks, self.shutdown_timeout()).await;
        for name in restart_connectors {
            self.start_connector(&name, &state);
        }
        if !restart_tasks.is_empty() {
            let _ = self.worker.offsets.refresh().await;
        }
        for (name, id) in restart_tasks {
            self.start_task(&name, id, &state);
        }
    }

    fn start_connector(&mut self, name: &str, state: &ConfigState) {
        let Some(config) = state.connectors.get(name).cloned() else {
            tracing::warn!(connector = %name, "Assigned a connector the config topic does not have; skipping it.");
            return;
        };
        let class = config.get(CONNECTOR_CLASS).cloned().unwrap_or_default();
        let Some(plugin) = self.worker.plugins.connector(&class).copied() else {
            self.worker.status.put_connector(
                name,
                None,
                State::Failed,
                Some(format!(
                    "org.apache.kafka.connect.errors.ConnectException: Failed to find any class that implements Connector and which name matches {class}"
                )),
            );
            return;
        };
        let (target_tx, target_rx) = watch::channel(state.target(name));
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(run_connector_instance(
            self.worker.clone(),
            name.to_string(),
            config.clone(),
            plugin,
            target_rx,
            self.generated_tx.clone(),
            cancel.clone(),
        ));
        self.running_connectors.insert(
            name.to_string(),
            RunningConnector {
                cancel,
                handle,
                target: target_tx,
                config,
                delivery: None,
            },
        );
    }

    fn start_task(&mut self, name: &str, id: i32, state: &ConfigState) {
        let (Some(config), Some(task_config)) = (
            state.connectors.get(name).cloned(),
            state
                .tasks
                .get(name)
                .and_then(|t| t.get(id as usize))
                .cloned(),
        ) else {
            tracing::warn!(connector = %name, task = id, "Assigned a task the config topic does not have; skipping it.");
            return;
        };
        let class = config.get(CONNECTOR_CLASS).cloned().unwrap_or_default();
        let Some(plugin) = self.worker.plugins.connector(&class).copied() else {
            return;
        };
        let (target_tx, target_rx) = watch::channel(state.target(name));
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(run_task(
            self.worker.clone(),
            TaskId {
                connector: name.to_string(),
                task: id as u32,
            },
            config,
            plugin,
            task_config.clone(),
            target_rx,
            cancel.clone(),
        ));
        self.running_tasks.insert(
            (name.to_string(), id),
            RunningTask {
                cancel,
                handle,
                target: target_tx,
                config: task_config,
                generation: state.task_generation(name),
                id: format!("{name}-{id}"),
            },
        );
    }

    /// Leader: a rebalance when the configured work differs from what was last assigned.
    fn maybe_rebalance(&mut self) {
        if !self.shared.is_leader.load(Ordering::Relaxed) {
            return;
        }
        let configured = configured_work(&read_lock(&self.shared.config));
        if self.assigned_configured.as_ref() != Some(&configured) {
            tracing::info!("The connectors or tasks changed; requesting a rebalance.");
            self.assigned_configured = Some(configured);
            self.rejoin_pending = true;
        }
    }

    async fn on_tick(&mut self) {
        if self.stopping {
            return;
        }
        self.maybe_rotate_session_key().await;
        self.reassert_statuses();
    }

    /// Writes again the status of work that runs here when the status topic names another
    /// worker for it. A coordinator that completes a generation without a live member (tansu
    /// 0.6 does) lets the leader hand that member's work to a second worker for a while; when
    /// the second one stops it, its status (UNASSIGNED, at a newer generation) would stand
    /// while the real owner keeps running, and `GET .../status` would not tell the truth.
    fn reassert_statuses(&self) {
        let generation = i64::from(self.shared.generation.load(Ordering::Relaxed));
        if generation < 0 {
            return;
        }
        let local = &self.worker.status;
        let me = local.worker_id();
        let stale: Vec<(String, Option<u32>)> = {
            let statuses = read_lock(&self.shared.statuses);
            let names_another = |name: &str, task: Option<u32>| {
                let slot = statuses.get(name).and_then(|(c, tasks)| match task {
                    None => c.as_ref(),
                    Some(t) => tasks.get(&t).and_then(Option::as_ref),
                });
                // Only a status this worker's generation can replace: a newer one means this
                // worker may be the stale one, and its own membership sorts that out.
                slot.is_some_and(|s| s.record.worker_id != me && s.record.generation <= generation)
            };
            self.running_connectors
                .keys()
                .map(|n| (n.clone(), None))
                .chain(
                    self.running_tasks
                        .keys()
                        .filter_map(|(n, t)| u32::try_from(*t).ok().map(|t| (n.clone(), Some(t)))),
                )
                .filter(|(n, t)| names_another(n, *t))
                .collect()
        };
        for (name, task) in stale {
            let live = local.get(&name).is_some_and(|s| {
                let st = match task {
                    None => Some(&s.connector),
                    Some(t) => s.tasks.get(&t),
                };
                st.is_some_and(|st| st.worker_id == me && st.state != State::Unassigned)
            });
            if live && local.republish(&name, task) {
                tracing::info!(connector = %name, task = ?task, "The status topic named another worker for work running here; wrote this worker's status again.");
            }
        }
    }

    async fn on_group_event(&mut self, ev: GroupEvent) {
        match ev {
            // Every member, leader or follower, is rebalancing from its JoinGroup on.
            GroupEvent::Joining => crate::metrics::global().rebalance_started(),
            GroupEvent::Lead { generation, reply } => {
                crate::metrics::global().rebalance_started();
                // Answer at once from the snapshot: a slow leader stalls the whole group.
                self.drain_config().await;
                let assignments = self.lead(&generation);
                let _ = reply.send(assignments);
            }
            GroupEvent::Assigned {
                generation,
                member_id,
                protocol,
                assignment,
            } => {
                self.member_id = member_id;
                self.on_assigned(generation, &protocol, &assignment).await;
            }
            GroupEvent::Lost {
                since_acknowledged,
                settled,
            } => {
                crate::metrics::global().rebalance_started();
                // Kafka Connect's incremental cooperative protocols keep the work through a
                // rejoin (`WorkerCoordinator.onJoinPrepare`): the new member reports it in its
                // metadata and the leader leaves it here. That holds only while the leader
                // cannot yet have given it away: it waits scheduled.rebalance.max.delay.ms for
                // a departed worker, so work is kept only if the coordinator acknowledged this
                // member more recently than that. Eager (V0) rebalances revoke everything.
                let max_delay = Duration::from_millis(self.settings.max_delay_ms.max(0) as u64);
                if self.protocol_version >= 1 && since_acknowledged < max_delay {
                    tracing::warn!(
                        since_acknowledged_ms = since_acknowledged.as_millis() as u64,
                        "Lost the group membership: keeping the work running while this worker rejoins, as the incremental cooperative protocol does."
                    );
                } else {
                    tracing::warn!(
                        since_acknowledged_ms = since_acknowledged.as_millis() as u64,
                        max_delay_ms = self.settings.max_delay_ms,
                        protocol_version = self.protocol_version,
                        "Lost the group membership: stopping all work until the next assignment."
                    );
                    self.stop_all().await;
                }
                self.shared.is_leader.store(false, Ordering::Relaxed);
                *write_lock(&self.shared.leader_url) = None;
                self.update_metadata();
                // The member rejoins now, advertising the work as it runs after this.
                let _ = settled.send(());
            }
            GroupEvent::Fatal(msg) => {
                tracing::error!("{msg}");
            }
        }
    }

    /// The leader's assignment for a generation.
    fn lead(&mut self, g: &JoinedGeneration) -> Vec<(String, Bytes)> {
        let proto = ConnectProtocol::from_name(&g.protocol).unwrap_or(ConnectProtocol::Eager);
        let state = read_lock(&self.shared.config).clone();
        let mut metas = BTreeMap::new();
        for (member, bytes) in &g.members {
            match protocol::decode_metadata(bytes) {
                Ok(m) => {
                    metas.insert(member.clone(), m);
                }
                Err(e) => {
                    tracing::error!(member = %member, error = %e, "Ignoring a member's malformed metadata.");
                }
            }
        }
        let my_url = metas
            .get(&g.member_id)
            .map_or(self.settings.url.clone(), |m| m.url.clone());
        let max_offset = metas.values().map(|m| m.config_offset).max().unwrap_or(-1);
        let base = |error: i16| Assignment {
            version: proto.version(),
            error,
            leader: g.member_id.clone(),
            leader_url: my_url.clone(),
            config_offset: state.offset,
            assigned: Work::default(),
            revoked: Work::default(),
            delay: 0,
        };
        if max_offset > state.offset {
            // Another worker has seen more of the config topic than the leader could read.
            tracing::warn!(
                leader_offset = state.offset,
                max_offset,
                "The leader is behind the config topic; asking everyone to rejoin."
            );
            return metas
                .keys()
                .map(|m| {
                    (
                        m.clone(),
                        Bytes::from(protocol::encode_assignment(&base(CONFIG_MISMATCH))),
                    )
                })
                .collect();
        }
        let configured = configured_work(&state);
        self.assigned_configured = Some(configured.clone());
        if proto == ConnectProtocol::Eager {
            let members: Vec<String> = metas.keys().cloned().collect();
            return assign_eager(&members, &configured)
                .into_iter()
                .map(|(m, w)| {
                    let mut a = base(NO_ERROR);
                    a.assigned = w;
                    (m, Bytes::from(protocol::encode_assignment(&a)))
                })
                .collect();
        }
        let input = AssignInput {
            members: metas
                .iter()
                .map(|(m, meta)| {
                    (
                        m.clone(),
                        meta.allocation
                            .as_ref()
                            .map(|a| a.assigned.clone())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            configured,
            urls: metas
                .iter()
                .map(|(m, meta)| (m.clone(), meta.url.clone()))
                .collect(),
            now_ms: now_ms(),
            max_delay_ms: self.settings.max_delay_ms,
        };
        let (plan, memory) = assign_incremental(&self.memory, &input);
        self.memory = memory;
        if plan.delay_ms > 0 {
            // The leader keeps its own clock for the delay: a coordinator that answers
            // SyncGroup with an earlier assignment of the same generation would otherwise lose
            // it, and the lost work would never be reassigned.
            self.rejoin_at =
                Some(tokio::time::Instant::now() + Duration::from_millis(plan.delay_ms as u64));
        }
        tracing::info!(
            generation = g.generation,
            members = metas.len(),
            delay_ms = plan.delay_ms,
            "Computed the assignment."
        );
        for (m, p) in &plan.members {
            tracing::debug!(
                generation = g.generation,
                member = %m,
                reported = %input.members.get(m).map(describe).unwrap_or_default(),
                assigned = %describe(&p.assigned),
                revoked = %describe(&p.revoked),
                "Member plan."
            );
        }
        plan.members
            .into_iter()
            .map(|(m, p)| {
                let mut a = base(NO_ERROR);
                a.assigned = p.assigned;
                a.revoked = p.revoked;
                a.delay = plan.delay_ms;
                (m, Bytes::from(protocol::encode_assignment(&a)))
            })
            .collect()
    }

    async fn on_assigned(&mut self, generation: i32, protocol_name: &str, bytes: &[u8]) {
        let a = match protocol::decode_assignment(bytes) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "Received a malformed assignment; rejoining.");
                self.rejoin_pending = true;
                return;
            }
        };
        self.protocol_version =
            ConnectProtocol::from_name(protocol_name).map_or(0, |p| p.version());
        self.shared
            .protocol_version
            .store(self.protocol_version, Ordering::Relaxed);
        self.shared.generation.store(generation, Ordering::Relaxed);
        self.leader_id = a.leader.clone();
        *write_lock(&self.shared.leader_url) = Some(a.leader_url.clone());
        let leading = a.leader == self.member_id;
        self.shared.is_leader.store(leading, Ordering::Relaxed);
        if !leading {
            self.memory = LeaderMemory::default();
        }
        if a.error == CONFIG_MISMATCH {
            tracing::warn!("The leader's config is behind or ahead of this worker's; reading the config topic and rejoining.");
            self.drain_config().await;
            self.update_metadata();
            self.rejoin_pending = true;
            return;
        }
        // Read the config topic at least up to the leader's offset before acting.
        if self.config_offset() < a.config_offset {
            self.catch_up(a.config_offset, SYNC_TIMEOUT).await;
            if self.config_offset() < a.config_offset {
                tracing::warn!(have = self.config_offset(), need = a.config_offset, "This worker could not read the config topic up to the assignment's offset; rejoining.");
                self.update_metadata();
                self.rejoin_pending = true;
                return;
            }
        }
        // Eager (V0) assignments carry everything: what is not in them is revoked.
        let revoked = if a.version == 0 {
            self.current_work().minus(&a.assigned)
        } else {
            a.revoked.clone()
        };
        tracing::info!(generation, leader = %a.leader, assigned = %describe(&a.assigned), revoked = %describe(&revoked), delay_ms = a.delay, "Received an assignment.");
        let (mut stopping_connectors, mut stopping_tasks) = (Vec::new(), Vec::new());
        for id in revoked.ids() {
            match id {
                WorkId::Connector(c) => {
                    if let Some(r) = self.running_connectors.remove(&c) {
                        stopping_connectors.push(r);
                    }
                }
                WorkId::Task(c, t) => {
                    if let Some(r) = self.running_tasks.remove(&(c, t)) {
                        stopping_tasks.push(r);
                    }
                }
            }
        }
        stop_work(stopping_connectors, stopping_tasks, self.shutdown_timeout()).await;
        let state = read_lock(&self.shared.config).clone();
        if !a.assigned.tasks.is_empty() {
            // Tasks moving here resume from what their previous owner committed, also when
            // this worker already runs their connector (Kafka's offset store reads the
            // offsets topic to its end on every read).
            if let Err(e) = self.worker.offsets.refresh().await {
                tracing::warn!(error = %e, "Could not read the offsets topic before starting tasks.");
            }
        }
        for c in &a.assigned.connectors {
            if !self.running_connectors.contains_key(c) {
                self.start_connector(c, &state);
            }
        }
        for (c, t) in &a.assigned.tasks {
            if !self.running_tasks.contains_key(&(c.clone(), *t)) {
                self.start_task(c, *t, &state);
            }
        }
        self.update_metadata();
        let running = self.current_work();
        crate::metrics::global().rebalance_completed(
            i64::from(generation),
            &a.leader_url,
            running.connectors.len(),
            running.tasks.len(),
        );
        if !revoked.is_empty() && a.version > 0 {
            // KIP-415: revocations are followed by a rejoin so the work can go elsewhere.
            self.rejoin_pending = true;
        } else if a.delay > 0 {
            self.rejoin_at =
                Some(tokio::time::Instant::now() + Duration::from_millis(a.delay as u64));
        }
        if leading {
            self.maybe_rotate_session_key().await;
            self.maybe_rebalance();
        }
    }

    /// `task.shutdown.graceful.timeout.ms`: how long a stop waits for each connector or task.
    fn shutdown_timeout(&self) -> Duration {
        self.worker
            .config
            .task_shutdown_timeout()
            .max(Duration::from_millis(1))
    }

    async fn stop_all(&mut self) {
        let conns: Vec<RunningConnector> = std::mem::take(&mut self.running_connectors)
            .into_values()
            .collect();
        let tasks: Vec<RunningTask> = std::mem::take(&mut self.running_tasks)
            .into_values()
            .collect();
        stop_work(conns, tasks, self.shutdown_timeout()).await;
    }

    async fn shutdown(&mut self) {
        self.stopping = true;
        // Stop work first (source tasks flush their offsets), then leave at once.
        self.stop_all().await;
        self.group.leave().await;
    }
}

fn safe_to_replace(old: &StatusRecord, new: &StatusRecord) -> bool {
    // A record from another worker at an older generation is stale (KafkaStatusBackingStore).
    old.worker_id == new.worker_id || new.generation >= old.generation
}

fn describe(w: &Work) -> String {
    let ids: Vec<String> = w.ids().map(|i| i.to_string()).collect();
    format!("[{}]", ids.join(", "))
}

/// Stops tasks, then connectors, each group all at once (as Kafka Connect's
/// `Worker.stopAndAwaitTasks`/`stopAndAwaitConnectors`): every one is signalled before any is
/// awaited, so a revocation or deletion of N tasks waits at most about one `timeout`
/// (`task.shutdown.graceful.timeout.ms`) for the tasks, not N of them one after another (a
/// worker giving up 700 tasks in a rebalance was seen to stay out of the group for over 30 s).
async fn stop_work(conns: Vec<RunningConnector>, tasks: Vec<RunningTask>, timeout: Duration) {
    futures::future::join_all(tasks.into_iter().map(|r| stop_task(r, timeout))).await;
    futures::future::join_all(conns.into_iter().map(|r| stop_connector(r, timeout))).await;
}

/// Stops a connector; one that has not stopped within `timeout`
/// (`task.shutdown.graceful.timeout.ms`) is abandoned, so it cannot hold up the herder.
async fn stop_connector(r: RunningConnector, timeout: Duration) {
    r.cancel.cancel();
    let abort = r.handle.abort_handle();
    if tokio::time::timeout(timeout, r.handle).await.is_err() {
        tracing::error!(
            connector = r.config.get("name").map_or("", String::as_str),
            timeout_ms = timeout.as_millis() as u64,
            "A connector did not stop within task.shutdown.graceful.timeout.ms; abandoning it."
        );
        abort.abort();
    }
}

/// Stops a task; one that has not stopped within `timeout` (`task.shutdown.graceful.timeout.ms`)
/// is abandoned (as Kafka Connect's `Worker.awaitStopTask`), so it cannot hold up the herder.
async fn stop_task(r: RunningTask, timeout: Duration) {
    r.cancel.cancel();
    let abort = r.handle.abort_handle();
    if tokio::time::timeout(timeout, r.handle).await.is_err() {
        tracing::error!(
            task = %r.id,
            timeout_ms = timeout.as_millis() as u64,
            "Graceful stop of a task failed: it did not stop within task.shutdown.graceful.timeout.ms; abandoning it."
        );
        abort.abort();
    }
}
