//! The standalone herder: every connector runs in this process.
//!
//! Changes go through one actor, one request at a time; every request waits at most
//! `request_timeout` and a timeout names what the actor was busy with. Reads (lists, configs,
//! statuses, task configs, topics) go to shared state and never wait on the actor. The actor
//! never awaits a connector's start: connectors start in their own actors, and stopping one
//! is bounded by `task.shutdown.graceful.timeout.ms`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use sluice_api::config::RawConfig;
use sluice_api::connector::ConnectorKind;
use sluice_api::ConnectError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    offsets, persist, ConnectorEntry, ConnectorInfo, Offsets, PartitionOffset, RestartRequest,
    DEFAULT_REQUEST_TIMEOUT,
};
use crate::config::connector::{CONNECTOR_CLASS, NAME};
use crate::config::validate::{validate_with_providers, ValidationReport};
use crate::status::{ConnectorStatus, State, Status, StatusStore};
use crate::task::TargetState;
use crate::worker::{run_connector, ConnectorLinks, Control, Worker};

type Reply<T> = oneshot::Sender<Result<T, ConnectError>>;

/// Where a connector config written through [`Request::PutConfig`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// A REST call: kept in the connectors file.
    Rest,
    /// A connector file on the command line: runs, but is not kept in the connectors file.
    File,
    /// The connectors file itself, read at start: kept there already, so restoring a
    /// connector does not write the file again (restoring N connectors wrote it N times).
    Restored,
}

/// Requests that change what runs; they go through the actor one at a time.
enum Request {
    PutConfig {
        name: String,
        config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
        origin: Origin,
        reply: Reply<(bool, ConnectorInfo)>,
    },
    PatchConfig {
        name: String,
        patch: BTreeMap<String, Option<String>>,
        reply: Reply<ConnectorInfo>,
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
    AlterOffsets {
        name: String,
        offsets: Option<Vec<PartitionOffset>>,
        reply: Reply<bool>,
    },
    Ping {
        reply: Reply<()>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

struct Running {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
    target: watch::Sender<TargetState>,
    control: mpsc::UnboundedSender<Control>,
    forward: JoinHandle<()>,
}

/// What the actor is doing, for timeout messages.
#[derive(Debug, Clone)]
struct Stage {
    description: String,
    started: SystemTime,
}

/// Shared, readable without the actor.
#[derive(Debug, Default)]
struct Shared {
    connectors: RwLock<BTreeMap<String, ConnectorEntry>>,
    stage: Mutex<Option<Stage>>,
}

/// How the standalone herder behaves beyond the worker config.
#[derive(Clone, Debug)]
pub struct HerderSettings {
    /// How long a request waits for the actor (Kafka's REST request timeout, 90 s).
    pub request_timeout: Duration,
    /// Where connectors created or changed over REST are kept across restarts.
    pub connectors_file: Option<PathBuf>,
}

impl Default for HerderSettings {
    fn default() -> Self {
        HerderSettings {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connectors_file: None,
        }
    }
}

/// A cloneable handle to the standalone herder.
#[derive(Clone)]
pub struct StandaloneHerder {
    tx: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    worker: Worker,
    settings: HerderSettings,
}

impl std::fmt::Debug for StandaloneHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneHerder").finish_non_exhaustive()
    }
}

fn gone() -> ConnectError {
    ConnectError::illegal_state("The worker is shutting down")
}

fn not_found(name: &str) -> ConnectError {
    ConnectError::not_found(format!("Connector {name} not found"))
}

/// `2024-01-02T03:04:05.678Z` for a system time (UTC, like Java's `Instant.toString`).
pub(crate) fn format_instant(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

impl StandaloneHerder {
    /// Starts the herder actor with default settings.
    pub fn start(worker: Worker) -> Self {
        Self::start_with(worker, HerderSettings::default())
    }

    /// Starts the herder actor.
    pub fn start_with(worker: Worker, settings: HerderSettings) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let shared = Arc::new(Shared::default());
        tokio::spawn(actor(rx, shared.clone(), worker.clone(), settings.clone()));
        StandaloneHerder {
            tx,
            shared,
            worker,
            settings,
        }
    }

    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    pub fn status_store(&self) -> &StatusStore {
        &self.worker.status
    }

    fn timed_out(&self, waited_for: &str) -> ConnectError {
        let stage = self
            .shared
            .stage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match stage {
            Some(s) => ConnectError::fatal(format!(
                "Request timed out. The worker is currently {}, which began at {}. The request was {waited_for}.",
                s.description,
                format_instant(s.started)
            )),
            None => ConnectError::fatal(format!(
                "Request timed out. The request was {waited_for}."
            )),
        }
    }

    async fn call<T>(
        &self,
        what: String,
        timeout: Duration,
        make: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<T, ConnectError> {
        let (reply, rx) = oneshot::channel();
        let exchange = async {
            self.tx.send(make(reply)).await.map_err(|_| gone())?;
            rx.await.map_err(|_| gone())?
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out(&what)),
        }
    }

    /// Validates a connector config (pure, no side effects).
    pub fn validate(&self, config: &RawConfig) -> ValidationReport {
        validate_with_providers(&self.worker.plugins, &self.worker.providers(), config)
    }

    /// Creates or (if allowed) replaces a connector. Returns whether it was created.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
    ) -> Result<(bool, ConnectorInfo), ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to write the config of connector {name}"),
            self.settings.request_timeout,
            |reply| Request::PutConfig {
                name: n,
                config,
                allow_replace,
                initial,
                origin: Origin::Rest,
                reply,
            },
        )
        .await
    }

    /// Starts a connector read from the connectors file at start (as
    /// [`Self::put_connector_config`] without replacing, but without writing the file again).
    pub async fn restore_connector_config(
        &self,
        name: &str,
        config: RawConfig,
        initial: TargetState,
    ) -> Result<ConnectorInfo, ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to restore connector {name}"),
            self.settings.request_timeout,
            |reply| Request::PutConfig {
                name: n,
                config,
                allow_replace: false,
                initial,
                origin: Origin::Restored,
                reply,
            },
        )
        .await
        .map(|(_, info)| info)
    }

    /// Creates or replaces a connector from a file on the command line: it runs, but is not
    /// kept in the connectors file (the command line decides next time).
    pub async fn put_file_connector(
        &self,
        name: &str,
        config: RawConfig,
    ) -> Result<ConnectorInfo, ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to write the config of connector {name}"),
            self.settings.request_timeout,
            |reply| Request::PutConfig {
                name: n,
                config,
                allow_replace: true,
                initial: TargetState::Started,
                origin: Origin::File,
                reply,
            },
        )
        .await
        .map(|(_, info)| info)
    }

    /// Merges `patch` into the connector's config (`None` removes a key, KIP-477).
    pub async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to patch the config of connector {name}"),
            self.settings.request_timeout,
            |reply| Request::PatchConfig {
                name: n,
                patch,
                reply,
            },
        )
        .await
    }

    pub async fn delete_connector(&self, name: &str) -> Result<(), ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to delete connector {name}"),
            self.settings.request_timeout,
            |reply| Request::Delete { name: n, reply },
        )
        .await
    }

    /// Pauses, resumes or stops a connector. Stopping waits until its tasks are gone.
    pub async fn set_target_state(
        &self,
        name: &str,
        target: TargetState,
    ) -> Result<(), ConnectError> {
        let n = name.to_string();
        self.call(
            format!(
                "to set the target state of connector {name} to {}",
                target.name()
            ),
            self.settings.request_timeout,
            |reply| Request::SetTarget {
                name: n,
                target,
                reply,
            },
        )
        .await
    }

    /// Restarts a connector and/or its tasks (KIP-745). `None` for the legacy connector-only
    /// restart; otherwise the status with the instances being restarted as RESTARTING.
    pub async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> Result<Option<ConnectorStatus>, ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to restart connector {name}"),
            self.settings.request_timeout,
            |reply| Request::Restart {
                name: n,
                request,
                reply,
            },
        )
        .await
    }

    pub async fn restart_task(&self, name: &str, task: u32) -> Result<(), ConnectError> {
        let n = name.to_string();
        self.call(
            format!("to restart task {name}-{task}"),
            self.settings.request_timeout,
            |reply| Request::RestartTask {
                name: n,
                task,
                reply,
            },
        )
        .await
    }

    /// Alters (`Some`) or resets (`None`) a stopped connector's offsets (KIP-875). Returns
    /// whether the connector also handled offsets it keeps outside the framework.
    pub async fn modify_offsets(
        &self,
        name: &str,
        offsets: Option<Vec<PartitionOffset>>,
    ) -> Result<bool, ConnectError> {
        let n = name.to_string();
        let verb = if offsets.is_some() { "alter" } else { "reset" };
        self.call(
            format!("to {verb} the offsets of connector {name}"),
            self.settings.request_timeout,
            |reply| Request::AlterOffsets {
                name: n,
                offsets,
                reply,
            },
        )
        .await
    }

    /// A no-op through the actor: whether it answers within `timeout` (`GET /health`).
    pub async fn health_check(&self, timeout: Duration) -> Result<(), ConnectError> {
        self.call("a health check".to_string(), timeout, |reply| {
            Request::Ping { reply }
        })
        .await
    }

    /// Stops every connector gracefully.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Request::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub fn connectors(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, ConnectorEntry>> {
        self.shared
            .connectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn connector_info(&self, name: &str) -> Result<ConnectorInfo, ConnectError> {
        self.read()
            .get(name)
            .map(|e| e.info(name))
            .ok_or_else(|| not_found(name))
    }

    pub fn connector_entry(&self, name: &str) -> Option<ConnectorEntry> {
        self.read().get(name).cloned()
    }

    /// The task configs the connector produced (`GET /connectors/{name}/tasks`).
    pub fn task_configs(&self, name: &str) -> Result<Vec<RawConfig>, ConnectError> {
        self.read()
            .get(name)
            .map(|e| e.tasks.clone())
            .ok_or_else(|| not_found(name))
    }

    pub fn connector_status(&self, name: &str) -> Result<ConnectorStatus, ConnectError> {
        let missing = || ConnectError::not_found(format!("No status found for connector {name}"));
        if !self.read().contains_key(name) {
            return Err(missing());
        }
        self.worker.status.get(name).ok_or_else(missing)
    }

    pub fn task_status(&self, name: &str, task: u32) -> Result<Status, ConnectError> {
        self.worker
            .status
            .get(name)
            .filter(|_| self.read().contains_key(name))
            .and_then(|s| s.tasks.get(&task).cloned())
            .ok_or_else(|| {
                ConnectError::not_found(format!("No status found for task {name}-{task}"))
            })
    }

    /// Topics the connector used (KIP-558); empty for unknown connectors, as in Kafka.
    pub fn active_topics(&self, name: &str) -> Vec<String> {
        self.worker.status.active_topics(name)
    }

    pub fn reset_active_topics(&self, name: &str) {
        self.worker.status.reset_topics(name);
    }

    /// The connector's offsets: source offsets from the offset store, sink offsets from the
    /// consumer group `connect-<name>` (KIP-875). Allowed in any state.
    pub async fn connector_offsets(&self, name: &str) -> Result<Offsets, ConnectError> {
        let entry = self.connector_entry(name).ok_or_else(|| not_found(name))?;
        match entry.kind {
            Some(ConnectorKind::Sink) => tokio::time::timeout(
                self.settings.request_timeout,
                offsets::sink_offsets(&self.worker, name, &entry.config),
            )
            .await
            .unwrap_or_else(|_| {
                Err(ConnectError::fatal(format!(
                    "Request timed out. The request was to read the offsets of connector {name} from its consumer group connect-{name}."
                )))
            }),
            _ => Ok(offsets::source_offsets(&self.worker, name)),
        }
    }
}

fn write(shared: &Shared) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, ConnectorEntry>> {
    shared.connectors.write().unwrap_or_else(|p| p.into_inner())
}

/// Turns a validation report into Kafka's 400 error.
pub fn invalid_config_error(report: &ValidationReport) -> ConnectError {
    let errors = report.errors();
    let mut msg = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        errors.len()
    );
    for (_, e) in &errors {
        msg.push('\n');
        msg.push_str(e);
    }
    msg.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    ConnectError::config(msg)
}

fn spawn(
    worker: &Worker,
    shared: &Arc<Shared>,
    name: &str,
    config: &RawConfig,
    initial: TargetState,
) -> Result<Running, ConnectError> {
    let class = config.get(CONNECTOR_CLASS).cloned().unwrap_or_default();
    let plugin = *worker.plugins.connector(&class).ok_or_else(|| {
        ConnectError::config(format!(
            "Failed to find any class that implements Connector and which name matches {class}"
        ))
    })?;
    let (target_tx, target_rx) = watch::channel(initial);
    let (tasks_tx, mut tasks_rx) = watch::channel(None);
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let state = if initial == TargetState::Stopped {
        State::Stopped
    } else {
        State::Unassigned
    };
    worker
        .status
        .put_connector(name, Some(plugin.kind), state, None);
    let handle = tokio::spawn(run_connector(
        worker.clone(),
        name.to_string(),
        config.clone(),
        plugin,
        ConnectorLinks {
            target: target_rx,
            task_configs: tasks_tx,
            control: control_rx,
        },
        cancel.clone(),
    ));
    // Copies task configs into the shared state as the connector produces them.
    let shared2 = shared.clone();
    let name2 = name.to_string();
    let forward = tokio::spawn(async move {
        while tasks_rx.changed().await.is_ok() {
            let tasks = tasks_rx.borrow_and_update().clone();
            if let Some(tasks) = tasks {
                if let Some(e) = write(&shared2).get_mut(&name2) {
                    e.tasks = tasks;
                }
            }
        }
    });
    Ok(Running {
        cancel,
        handle,
        target: target_tx,
        control: control_tx,
        forward,
    })
}

/// Stops a connector actor; bounded, so a connector that hangs in `stop()` cannot block the
/// herder (its tasks are bounded by `task.shutdown.graceful.timeout.ms` already).
async fn stop(worker: &Worker, name: &str, running: Running) {
    running.cancel.cancel();
    let limit = worker.config.task_shutdown_timeout() * 2 + Duration::from_secs(5);
    let abort = running.handle.abort_handle();
    if tokio::time::timeout(limit, running.handle).await.is_err() {
        tracing::error!(connector = %name, "Connector did not stop in time; abandoning it.");
        abort.abort();
    }
    running.forward.abort();
}

struct Actor {
    shared: Arc<Shared>,
    worker: Worker,
    settings: HerderSettings,
    running: BTreeMap<String, Running>,
}

impl Actor {
    fn stage(&self, description: Option<String>) {
        *self.shared.stage.lock().unwrap_or_else(|p| p.into_inner()) =
            description.map(|description| Stage {
                description,
                started: SystemTime::now(),
            });
    }

    fn entry(&self, name: &str) -> Option<ConnectorEntry> {
        self.shared
            .connectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Writes every connector's config and target state to the connectors file, if any.
    async fn persist(&self) {
        let Some(path) = self.settings.connectors_file.clone() else {
            return;
        };
        let snapshot: Vec<(String, RawConfig, TargetState)> = self
            .shared
            .connectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, e)| e.rest_managed)
            .map(|(n, e)| (n.clone(), e.config.clone(), e.target))
            .collect();
        if let Err(e) = persist::save(&path, &snapshot).await {
            tracing::error!(error = %e, "Could not save the connectors file; REST changes will not survive a restart.");
        }
    }

    async fn put_config(
        &mut self,
        name: String,
        mut config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
        origin: Origin,
    ) -> Result<(bool, ConnectorInfo), ConnectError> {
        let exists = self.running.contains_key(&name);
        if exists && !allow_replace {
            return Err(ConnectError::already_exists(format!(
                "Connector {name} already exists"
            )));
        }
        config.insert(NAME.to_string(), name.clone());
        let report =
            validate_with_providers(&self.worker.plugins, &self.worker.providers(), &config);
        if report.error_count() > 0 {
            return Err(invalid_config_error(&report));
        }
        let kind = self.worker.plugins.connector(&report.class).map(|p| p.kind);
        let target = match self.running.remove(&name) {
            Some(old) => {
                let t = *old.target.borrow();
                self.stage(Some(format!(
                    "stopping connector {name} to apply its new config"
                )));
                stop(&self.worker, &name, old).await;
                t
            }
            None => initial,
        };
        write(&self.shared).insert(
            name.clone(),
            ConnectorEntry {
                config: config.clone(),
                kind,
                target,
                tasks: Vec::new(),
                rest_managed: origin != Origin::File,
            },
        );
        match spawn(&self.worker, &self.shared, &name, &config, target) {
            Ok(r) => {
                self.running.insert(name.clone(), r);
                if origin != Origin::Restored {
                    self.persist().await;
                }
                let info = self.entry(&name).map(|e| e.info(&name));
                info.map(|i| (!exists, i)).ok_or_else(gone)
            }
            Err(e) => {
                write(&self.shared).remove(&name);
                if origin != Origin::Restored {
                    self.persist().await;
                }
                Err(e)
            }
        }
    }

    async fn delete(&mut self, name: &str) -> Result<(), ConnectError> {
        let r = self.running.remove(name).ok_or_else(|| not_found(name))?;
        self.stage(Some(format!("stopping connector {name} to delete it")));
        stop(&self.worker, name, r).await;
        write(&self.shared).remove(name);
        self.worker.status.remove(name);
        self.persist().await;
        Ok(())
    }

    async fn set_target(&mut self, name: &str, target: TargetState) -> Result<(), ConnectError> {
        if !self.running.contains_key(name) {
            return Err(ConnectError::not_found(format!("Unknown connector {name}")));
        }
        let current = self.entry(name).map(|e| e.target);
        if target == TargetState::Stopped && current != Some(TargetState::Stopped) {
            // Stop for real (tasks gone, offsets committed) before answering, so offsets can
            // be modified right after.
            if let Some(r) = self.running.remove(name) {
                self.stage(Some(format!("stopping connector {name}")));
                stop(&self.worker, name, r).await;
            }
            let config = self.entry(name).map(|e| e.config).unwrap_or_default();
            if let Some(e) = write(&self.shared).get_mut(name) {
                e.target = TargetState::Stopped;
                e.tasks = Vec::new();
            }
            let r = spawn(
                &self.worker,
                &self.shared,
                name,
                &config,
                TargetState::Stopped,
            )?;
            self.running.insert(name.to_string(), r);
        } else if let Some(r) = self.running.get(name) {
            r.target.send_replace(target);
            if let Some(e) = write(&self.shared).get_mut(name) {
                e.target = target;
            }
        }
        self.persist().await;
        Ok(())
    }

    fn restart(
        &mut self,
        name: &str,
        request: RestartRequest,
    ) -> Result<Option<ConnectorStatus>, ConnectError> {
        let Some(r) = self.running.get(name) else {
            return Err(if request.is_legacy() {
                not_found(name)
            } else {
                ConnectError::not_found(format!("Unknown connector: {name}"))
            });
        };
        let status = self.worker.status.get(name).ok_or_else(|| {
            ConnectError::not_found(format!("Status for connector {name} not found"))
        })?;
        let stopped = *r.target.borrow() == TargetState::Stopped;
        let restart_connector = request.restarts_connector(status.connector.state);
        let tasks: Vec<u32> = status
            .tasks
            .iter()
            .filter(|(_, t)| request.restarts_task(t.state))
            .map(|(id, _)| *id)
            .collect();
        let plan = request.plan(&status);
        if !stopped {
            let kind = status.kind;
            if restart_connector {
                self.worker
                    .status
                    .put_connector(name, kind, State::Restarting, None);
                let _ = r.control.send(Control::RestartConnector);
            }
            if !tasks.is_empty() {
                for id in &tasks {
                    self.worker
                        .status
                        .put_task(name, *id, State::Restarting, None);
                }
                let _ = r.control.send(Control::RestartTasks(tasks));
            }
        }
        Ok((!request.is_legacy()).then_some(plan))
    }

    fn restart_task(&mut self, name: &str, task: u32) -> Result<(), ConnectError> {
        let r = self.running.get(name).ok_or_else(|| not_found(name))?;
        let count = self.entry(name).map_or(0, |e| e.tasks.len());
        if task as usize >= count {
            return Err(ConnectError::not_found(format!(
                "Task {name}-{task} not found"
            )));
        }
        self.worker
            .status
            .put_task(name, task, State::Restarting, None);
        let _ = r.control.send(Control::RestartTasks(vec![task]));
        Ok(())
    }

    async fn modify_offsets(
        &mut self,
        name: &str,
        offsets: Option<Vec<PartitionOffset>>,
    ) -> Result<bool, ConnectError> {
        let entry = self.entry(name).ok_or_else(|| not_found(name))?;
        self.stage(Some(format!(
            "{} the offsets of connector {name}",
            if offsets.is_some() {
                "altering"
            } else {
                "resetting"
            }
        )));
        offsets::modify(&self.worker, name, &entry, offsets).await
    }
}

async fn actor(
    mut rx: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
    worker: Worker,
    settings: HerderSettings,
) {
    let mut a = Actor {
        shared,
        worker,
        settings,
        running: BTreeMap::new(),
    };
    while let Some(req) = rx.recv().await {
        match req {
            Request::PutConfig {
                name,
                config,
                allow_replace,
                initial,
                origin,
                reply,
            } => {
                a.stage(Some(format!("writing the config of connector {name}")));
                let r = a
                    .put_config(name, config, allow_replace, initial, origin)
                    .await;
                let _ = reply.send(r);
            }
            Request::PatchConfig { name, patch, reply } => {
                a.stage(Some(format!("patching the config of connector {name}")));
                let r = match a.entry(&name) {
                    None => Err(not_found(&name)),
                    Some(e) => {
                        let mut config = e.config;
                        for (k, v) in patch {
                            match v {
                                Some(v) => config.insert(k, v),
                                None => config.remove(&k),
                            };
                        }
                        a.put_config(name, config, true, TargetState::Started, Origin::Rest)
                            .await
                            .map(|(_, info)| info)
                    }
                };
                let _ = reply.send(r);
            }
            Request::Delete { name, reply } => {
                let r = a.delete(&name).await;
                let _ = reply.send(r);
            }
            Request::SetTarget {
                name,
                target,
                reply,
            } => {
                let r = a.set_target(&name, target).await;
                let _ = reply.send(r);
            }
            Request::Restart {
                name,
                request,
                reply,
            } => {
                let r = a.restart(&name, request);
                let _ = reply.send(r);
            }
            Request::RestartTask { name, task, reply } => {
                let r = a.restart_task(&name, task);
                let _ = reply.send(r);
            }
            Request::AlterOffsets {
                name,
                offsets,
                reply,
            } => {
                let r = a.modify_offsets(&name, offsets).await;
                let _ = reply.send(r);
            }
            Request::Ping { reply } => {
                let _ = reply.send(Ok(()));
            }
            Request::Shutdown { reply } => {
                a.stage(Some("stopping every connector to shut down".to_string()));
                let all: Vec<(String, Running)> =
                    std::mem::take(&mut a.running).into_iter().collect();
                let worker = a.worker.clone();
                futures::future::join_all(all.into_iter().map(|(n, r)| {
                    let w = worker.clone();
                    async move { stop(&w, &n, r).await }
                }))
                .await;
                let _ = reply.send(());
                break;
            }
        }
        a.stage(None);
    }
}

#[cfg(test)]
mod tests {
    use super::format_instant;
    use std::time::{Duration, SystemTime};

    #[test]
    fn instants_like_java() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_instant(t), "2023-11-14T22:13:20.123Z");
    }
}
