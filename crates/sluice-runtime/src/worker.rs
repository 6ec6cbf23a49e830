//! The worker: runs connectors and their tasks. Each connector is an actor on tokio with a
//! cancellation token; each task likewise. A failing or panicking connector or task becomes
//! FAILED with its trace; nothing else is affected.

use std::sync::Arc;
use std::time::Duration;

use sluice_api::config::{parse_list, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, TaskFactory,
};
use sluice_api::ConnectError;
use sluice_kafka::consumer::Subscription;
use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::chain::TransformChain;
use crate::clients;
use crate::config::connector::{TASKS_MAX, TASKS_MAX_ENFORCE, TASK_CLASS, TOPICS, TOPICS_REGEX};
use crate::config::providers::{self, Providers};
use crate::config::worker::WorkerConfig;
use crate::convert::Converters;
use crate::errors::ErrorSettings;
use crate::offsets::OffsetStore;
use crate::plugins::Plugins;
use crate::status::{State, StatusStore};
use crate::task::{self, TargetState, TaskId, TaskSettings};
use crate::topic_creation::TopicCreation;

/// What every connector on this worker shares.
#[derive(Clone, Debug)]
pub struct Worker {
    /// Shared, not copied: every connector and task holds a `Worker`, and a copy of the plugin
    /// registry and the worker config each was ~18 KiB per task (docs/performance.md, "Scale").
    pub plugins: Arc<Plugins>,
    pub config: Arc<WorkerConfig>,
    pub offsets: Arc<OffsetStore>,
    pub status: StatusStore,
}

impl Worker {
    /// The worker's config providers (checked when the worker config was loaded).
    pub fn providers(&self) -> Providers {
        Providers::from_worker(self.config.raw()).unwrap_or_default()
    }
    pub fn task_settings(&self) -> TaskSettings {
        TaskSettings {
            offset_flush_interval: self.config.offset_flush_interval(),
            offset_flush_timeout: self.config.offset_flush_timeout(),
        }
    }
}

/// Task configs once a connector has computed them.
pub type TaskConfigsTx = watch::Sender<Option<Vec<RawConfig>>>;

struct Context {
    name: String,
    status: StatusStore,
    kind: ConnectorKind,
    /// Wakes the connector's actor, which asks the connector for its task configs again.
    /// Requests made before the actor gets to it are one request.
    reconfigure: Arc<Notify>,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        tracing::info!(connector = %self.name, "Connector requested task reconfiguration.");
        self.reconfigure.notify_one();
    }
    fn raise_error(&self, error: ConnectError) {
        tracing::error!(connector = %self.name, error = %error, "Connector raised an error.");
        self.status.put_connector(
            &self.name,
            Some(self.kind),
            State::Failed,
            Some(error.trace()),
        );
    }
}

/// Adds the framework keys to each task config (`Worker.connectorTaskConfigs`).
fn finish_task_configs(
    plugin: &ConnectorPlugin,
    connector: &RawConfig,
    configs: Vec<RawConfig>,
) -> Vec<RawConfig> {
    configs
        .into_iter()
        .map(|mut c| {
            c.insert(TASK_CLASS.to_string(), plugin.task_class.to_string());
            if plugin.kind == ConnectorKind::Sink {
                for k in [TOPICS, TOPICS_REGEX] {
                    if let Some(v) = connector.get(k) {
                        c.insert(k.to_string(), v.clone());
                    }
                }
            }
            c
        })
        .collect()
}

/// Requests to a running connector actor (`POST /connectors/{name}/restart` and
/// `POST /connectors/{name}/tasks/{id}/restart`).
#[derive(Debug)]
pub enum Control {
    /// Restarts the connector instance. Its tasks keep running unless the restarted
    /// connector produces different task configs (Kafka's standalone behaviour).
    RestartConnector,
    /// Restarts these tasks with their current configs.
    RestartTasks(Vec<u32>),
}

/// How the herder steers a connector actor and hears back from it.
#[derive(Debug)]
pub struct ConnectorLinks {
    /// The target state to follow.
    pub target: watch::Receiver<TargetState>,
    /// Where the connector publishes its task configs.
    pub task_configs: TaskConfigsTx,
    /// Restart requests.
    pub control: mpsc::UnboundedReceiver<Control>,
}

/// Runs one connector and its tasks until `cancel`. The target state is followed: PAUSED
/// pauses tasks, STOPPED stops them and the connector (and publishes zero task configs).
pub async fn run_connector(
    worker: Worker,
    name: String,
    config: RawConfig,
    plugin: ConnectorPlugin,
    links: ConnectorLinks,
    cancel: CancellationToken,
) {
    let ConnectorLinks {
        mut target,
        task_configs,
        mut control,
    } = links;
    let status = worker.status.clone();
    loop {
        let t = *target.borrow();
        if t == TargetState::Stopped {
            status.put_connector(&name, Some(plugin.kind), State::Stopped, None);
            status.retain_tasks(&name, 0);
            task_configs.send_replace(Some(Vec::new()));
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    changed = target.changed() => {
                        if changed.is_err() { return }
                        break;
                    }
                    // A stopped connector has nothing to restart.
                    c = control.recv() => if c.is_none() { return },
                }
            }
            continue;
        }
        let stop = cancel.child_token();
        let run = run_started(
            &worker,
            &name,
            &config,
            &plugin,
            target.clone(),
            &task_configs,
            &mut control,
            stop.clone(),
        );
        tokio::pin!(run);
        // Run until cancelled or the target becomes STOPPED.
        loop {
            tokio::select! {
                _ = &mut run => return,
                changed = target.changed() => {
                    if changed.is_err() || *target.borrow() == TargetState::Stopped {
                        stop.cancel();
                        (&mut run).await;
                        if changed.is_err() { return }
                        break;
                    }
                }
                _ = cancel.cancelled() => {
                    stop.cancel();
                    (&mut run).await;
                    return;
                }
            }
        }
    }
}

/// A running task: its own cancellation token, so it can be restarted alone.
struct RunningTask {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

/// Cancels tasks and waits for them until `deadline`, then aborts what is left.
async fn stop_tasks(name: &str, tasks: Vec<RunningTask>, deadline: tokio::time::Instant) {
    for t in &tasks {
        t.cancel.cancel();
    }
    for t in tasks {
        let abort = t.handle.abort_handle();
        if tokio::time::timeout_at(deadline, t.handle).await.is_err() {
            tracing::error!(connector = %name, "Graceful stop of a task failed: it did not stop within task.shutdown.graceful.timeout.ms; cancelling it.");
            abort.abort();
        }
    }
}

/// The most tasks one connector may run: `tasks.max` above it fails the connector (FAILED, with
/// the reason) instead of sizing an allocation by a number from a REST body.
pub const MAX_TASKS_PER_CONNECTOR: usize = 10_000;

/// Asks a started connector for its task configs (`Worker.connectorTaskConfigs`): at most
/// `tasks.max` unless `tasks.max.enforce=false`, with the framework keys added.
async fn connector_task_configs(
    name: &str,
    connector: &mut dyn Connector,
    config: &RawConfig,
    plugin: &ConnectorPlugin,
) -> Result<Vec<RawConfig>, ConnectError> {
    let max_tasks = config
        .get(TASKS_MAX)
        .and_then(|m| m.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    // A connector sizes its task list by tasks.max (FileStreamSink makes exactly that many):
    // an absurd value must fail this connector, not abort the worker on the allocation.
    if max_tasks > MAX_TASKS_PER_CONNECTOR {
        return Err(ConnectError::config(format!(
            "Invalid value {max_tasks} for configuration {TASKS_MAX}: this worker runs at most {MAX_TASKS_PER_CONNECTOR} tasks for one connector; lower {TASKS_MAX}"
        )));
    }
    let configs = connector.task_configs(max_tasks).await?;
    let enforce = config
        .get(TASKS_MAX_ENFORCE)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    if configs.len() > MAX_TASKS_PER_CONNECTOR {
        return Err(ConnectError::fatal(format!(
            "The connector {name} has generated {} tasks, more than the {MAX_TASKS_PER_CONNECTOR} tasks this worker runs for one connector.",
            configs.len()
        )));
    }
    if enforce && configs.len() > max_tasks {
        return Err(ConnectError::fatal(format!(
            "The connector {name} has generated {} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create. This behavior should be considered a bug and is no longer supported. You can either increase the value of tasks.max or set tasks.max.enforce to false.",
            configs.len()
        )));
    }
    Ok(finish_task_configs(plugin, config, configs))
}

/// Starts a connector instance and asks it for task configs. `None` if stopped meanwhile;
/// an error fails the connector (the caller reports it).
async fn start_connector(
    name: &str,
    config: &RawConfig,
    plugin: &ConnectorPlugin,
    status: &StatusStore,
    reconfigure: &Arc<Notify>,
    stop: &CancellationToken,
) -> Option<Result<(Box<dyn Connector>, Vec<RawConfig>), ConnectError>> {
    let mut connector = (plugin.new_connector)();
    let ctx = Arc::new(Context {
        name: name.to_string(),
        status: status.clone(),
        kind: plugin.kind,
        reconfigure: reconfigure.clone(),
    });
    let started = tokio::select! {
        _ = stop.cancelled() => return None,
        r = connector.start(config, ctx) => r,
    };
    crate::metrics::global().record_connector_startup(started.is_ok());
    if let Err(e) = started {
        return Some(Err(e));
    }
    let configs = tokio::select! {
        _ = stop.cancelled() => {
            let _ = connector.stop().await;
            return None;
        }
        r = connector_task_configs(name, connector.as_mut(), config, plugin) => r,
    };
    match configs {
        Ok(c) => Some(Ok((connector, c))),
        Err(e) => {
            let _ = connector.stop().await;
            Some(Err(e))
        }
    }
}

/// Stops a connector instance, waiting at most `timeout` for its `stop()`.
async fn stop_connector(name: &str, mut connector: Box<dyn Connector>, timeout: Duration) {
    match tokio::time::timeout(timeout, connector.stop()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(connector = %name, error = %e, "Connector stop() failed."),
        Err(_) => {
            tracing::error!(connector = %name, "Connector stop() did not return within task.shutdown.graceful.timeout.ms; abandoning it.")
        }
    }
}

/// Starts the connector and its tasks, follows restart requests, runs until `stop`, then
/// stops everything gracefully.
#[allow(clippy::too_many_arguments)]
async fn run_started(
    worker: &Worker,
    name: &str,
    config: &RawConfig,
    plugin: &ConnectorPlugin,
    mut target: watch::Receiver<TargetState>,
    task_configs: &TaskConfigsTx,
    control: &mut mpsc::UnboundedReceiver<Control>,
    stop: CancellationToken,
) {
    let status = worker.status.clone();
    let kind = plugin.kind;
    let connector_state = |t: TargetState| {
        if t == TargetState::Paused {
            State::Paused
        } else {
            State::Running
        }
    };
    let shutdown_timeout = worker
        .config
        .task_shutdown_timeout()
        .max(Duration::from_millis(1));
    let mut connector: Option<Box<dyn Connector>> = None;
    let mut current: Option<Vec<RawConfig>> = None;
    let mut tasks: Vec<RunningTask> = Vec::new();
    let mut need_start = true;
    let mut control_open = true;
    // The herder keeps the raw config; `${provider:path:key}` references are resolved each time
    // the connector starts, and only here.
    let raw_config = config;
    let providers = worker.providers();
    let mut resolved = RawConfig::new();
    let reconfigure = Arc::new(Notify::new());
    // Task configs the connector produced (at start or when it asked for a reconfiguration).
    let mut generated: Option<Vec<RawConfig>> = None;
    loop {
        if need_start {
            need_start = false;
            if let Some(c) = connector.take() {
                stop_connector(name, c, shutdown_timeout).await;
            }
            let started = match resolve_config(worker, raw_config) {
                Ok(r) => {
                    resolved = r;
                    start_connector(name, &resolved, plugin, &status, &reconfigure, &stop).await
                }
                Err(e) => Some(Err(e)),
            };
            match started {
                None => break,
                Some(Err(e)) => {
                    tracing::error!(connector = %name, error = %e, "Connector failed.");
                    status.put_connector(name, Some(kind), State::Failed, Some(e.trace()));
                }
                Some(Ok((c, configs))) => {
                    connector = Some(c);
                    status.put_connector(name, Some(kind), connector_state(*target.borrow()), None);
                    tracing::info!(connector = %name, class = plugin.class, "Connector started.");
                    generated = Some(configs);
                }
            }
        }
        // Tasks are replaced only when their configs changed (Kafka's standalone herder).
        if let Some(configs) = generated.take().filter(|c| current.as_ref() != Some(c)) {
            let config = &resolved;
            let deadline = tokio::time::Instant::now() + shutdown_timeout;
            stop_tasks(name, std::mem::take(&mut tasks), deadline).await;
            // Stored and shown task configs hold references, not the secrets.
            let stored = configs
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    providers.reverse(raw_config, config, &mut c);
                    c
                })
                .collect();
            task_configs.send_replace(Some(stored));
            status.retain_tasks(name, configs.len() as u32);
            for (i, tc) in configs.iter().enumerate() {
                tasks.push(spawn_task(
                    worker,
                    name,
                    i as u32,
                    config,
                    plugin,
                    tc.clone(),
                    &target,
                    &stop,
                ));
            }
            tracing::info!(connector = %name, tasks = configs.len(), "Started the connector's tasks with new task configs.");
            current = Some(configs);
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = reconfigure.notified(), if connector.is_some() => {
                let Some(c) = connector.as_mut() else { continue };
                let r = tokio::select! {
                    _ = stop.cancelled() => break,
                    r = connector_task_configs(name, c.as_mut(), &resolved, plugin) => r,
                };
                match r {
                    Ok(configs) => generated = Some(configs),
                    Err(e) => {
                        tracing::error!(connector = %name, error = %e, "Connector failed to generate task configs.");
                        status.put_connector(name, Some(kind), State::Failed, Some(e.trace()));
                    }
                }
            }
            changed = target.changed() => {
                if changed.is_err() { break }
                if connector.is_some() {
                    status.put_connector(name, Some(kind), connector_state(*target.borrow()), None);
                }
            }
            c = control.recv(), if control_open => match c {
                None => control_open = false,
                Some(Control::RestartConnector) => need_start = true,
                Some(Control::RestartTasks(ids)) => {
                    let Some(configs) = current.as_ref() else { continue };
                    for id in ids {
                        let (Some(slot), Some(tc)) = (tasks.get_mut(id as usize), configs.get(id as usize)) else { continue };
                        let old = std::mem::replace(slot, spawn_placeholder());
                        stop_tasks(name, vec![old], tokio::time::Instant::now() + shutdown_timeout).await;
                        status.put_task(name, id, State::Restarting, None);
                        *slot = spawn_task(worker, name, id, &resolved, plugin, tc.clone(), &target, &stop);
                        tracing::info!(connector = %name, task = id, "Restarted task.");
                    }
                }
            },
        }
    }

    // Graceful stop: task.shutdown.graceful.timeout.ms in total, then abandon what is left.
    let deadline = tokio::time::Instant::now() + shutdown_timeout;
    stop_tasks(name, tasks, deadline).await;
    if let Some(c) = connector {
        stop_connector(name, c, shutdown_timeout).await;
    }
    tracing::info!(connector = %name, "Connector stopped.");
}

/// A task's client settings may carry their own credentials (`producer.*`, `*.override.*`);
/// a cluster that refuses them fails the task with the cause instead of leaving it retrying.
/// A cluster that does not answer quickly is left to the task's own retries.
async fn checked(
    id: &TaskId,
    role: &str,
    settings: sluice_kafka::RdConfig,
) -> Result<sluice_kafka::RdConfig, ConnectError> {
    use sluice_kafka::admin::{probe_cluster, ClusterProbe};
    // Tasks of one worker mostly share their settings: one successful probe a minute serves
    // them all (a thousand tasks starting at once would otherwise open a thousand clients).
    // The key leaves out what names the client rather than how it connects.
    let key: Vec<(&String, &String)> = settings
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "client.id" | "group.id"))
        .collect();
    let key = format!("{key:?}");
    if recently_connected(&key, false) {
        return Ok(settings);
    }
    let name = format!("connector-{role}-{id}-check");
    match probe_cluster(&name, &settings, Duration::from_secs(3)).await {
        ClusterProbe::Rejected(msg) => Err(ConnectError::config(format!(
            "The {role} of task {id} cannot connect to Kafka: {msg}"
        ))),
        ClusterProbe::Connected(_) => {
            recently_connected(&key, true);
            Ok(settings)
        }
        ClusterProbe::Unreachable => Ok(settings),
    }
}

/// Whether client settings (a key made from them) connected within the last minute;
/// `record` notes that they just did.
fn recently_connected(key: &str, record: bool) -> bool {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CONNECTED: Mutex<Option<HashMap<String, std::time::Instant>>> = Mutex::new(None);
    let Ok(mut map) = CONNECTED.lock() else {
        return false;
    };
    let map = map.get_or_insert_with(HashMap::new);
    let now = std::time::Instant::now();
    if record {
        map.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
        map.insert(key.to_string(), now);
        return true;
    }
    map.get(key)
        .is_some_and(|at| now.duration_since(*at) < Duration::from_secs(60))
}

/// Resolves a connector config's `${provider:path:key}` references with the worker's
/// `config.providers`. Messages name the references, never their values.
pub fn resolve_config(worker: &Worker, raw: &RawConfig) -> Result<RawConfig, ConnectError> {
    let providers = Providers::from_worker(worker.config.raw())
        .map_err(|e| ConnectError::config(providers::render(&e)))?;
    let resolved = providers
        .resolve(raw)
        .map_err(|e| ConnectError::config(providers::render(&e)))?;
    crate::secrets::remember_config(&resolved);
    Ok(resolved)
}

/// Task configs a connector produced on this worker (distributed mode): the herder writes
/// them if it leads, or sends them to the leader. They hold `${provider:path:key}` references,
/// never the resolved secrets.
#[derive(Debug)]
pub struct GeneratedTaskConfigs {
    pub connector: String,
    pub configs: Vec<RawConfig>,
}

/// Distributed mode: runs only the connector instance (its tasks are assigned on their own)
/// until `cancel`, following the target state: STOPPED stops the instance, leaving STOPPED
/// starts it again. Each start, and each `request_task_reconfiguration`, computes the task
/// configs and hands them to the herder through `generated`: the connector's owner is the
/// only worker that runs `start()`.
pub async fn run_connector_instance(
    worker: Worker,
    name: String,
    config: RawConfig,
    plugin: ConnectorPlugin,
    mut target: watch::Receiver<TargetState>,
    generated: mpsc::UnboundedSender<GeneratedTaskConfigs>,
    cancel: CancellationToken,
) {
    let status = worker.status.clone();
    let kind = plugin.kind;
    let state_of = |t: TargetState| match t {
        TargetState::Started => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    };
    let providers = worker.providers();
    let reconfigure = Arc::new(Notify::new());
    let report = |resolved: &RawConfig, configs: Vec<RawConfig>| {
        let configs = configs
            .into_iter()
            .map(|mut c| {
                providers.reverse(&config, resolved, &mut c);
                c
            })
            .collect();
        let _ = generated.send(GeneratedTaskConfigs {
            connector: name.clone(),
            configs,
        });
    };
    loop {
        if *target.borrow() == TargetState::Stopped {
            status.put_connector(&name, Some(kind), State::Stopped, None);
            tokio::select! {
                _ = cancel.cancelled() => return,
                changed = target.changed() => {
                    if changed.is_err() { cancel.cancelled().await; return }
                    continue;
                }
            }
        }
        // The config topic holds `${provider:path:key}` references; they are resolved here.
        let resolved = match resolve_config(&worker, &config) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "Connector failed.");
                status.put_connector(&name, Some(kind), State::Failed, Some(e.trace()));
                if wait_for_stop_or_cancel(&mut target, &cancel).await {
                    return;
                }
                continue;
            }
        };
        let stop = cancel.child_token();
        let started =
            start_connector(&name, &resolved, &plugin, &status, &reconfigure, &stop).await;
        let mut connector = match started {
            None => return,
            Some(Err(e)) => {
                tracing::error!(connector = %name, error = %e, "Connector failed.");
                status.put_connector(&name, Some(kind), State::Failed, Some(e.trace()));
                if wait_for_stop_or_cancel(&mut target, &cancel).await {
                    return;
                }
                continue;
            }
            Some(Ok((connector, configs))) => {
                status.put_connector(&name, Some(kind), state_of(*target.borrow()), None);
                tracing::info!(connector = %name, class = plugin.class, "Connector started.");
                report(&resolved, configs);
                connector
            }
        };
        let cancelled = loop {
            tokio::select! {
                _ = cancel.cancelled() => break true,
                changed = target.changed() => {
                    if changed.is_err() { cancel.cancelled().await; break true }
                    let t = *target.borrow();
                    if t == TargetState::Stopped { break false }
                    status.put_connector(&name, Some(kind), state_of(t), None);
                }
                _ = reconfigure.notified() => {
                    let r = tokio::select! {
                        _ = cancel.cancelled() => break true,
                        r = connector_task_configs(&name, connector.as_mut(), &resolved, &plugin) => r,
                    };
                    match r {
                        Ok(configs) => report(&resolved, configs),
                        Err(e) => {
                            tracing::error!(connector = %name, error = %e, "Connector failed to generate task configs.");
                            status.put_connector(&name, Some(kind), State::Failed, Some(e.trace()));
                        }
                    }
                }
            }
        };
        let timeout = worker
            .config
            .task_shutdown_timeout()
            .max(Duration::from_millis(1));
        stop_connector(&name, connector, timeout).await;
        tracing::info!(connector = %name, "Connector stopped.");
        if cancelled {
            return;
        }
    }
}

/// A connector that could not start waits here: `true` once cancelled, `false` when its target
/// becomes STOPPED (leaving STOPPED starts it again).
async fn wait_for_stop_or_cancel(
    target: &mut watch::Receiver<TargetState>,
    cancel: &CancellationToken,
) -> bool {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return true,
            changed = target.changed() => {
                if changed.is_err() { cancel.cancelled().await; return true }
                if *target.borrow() == TargetState::Stopped { return false }
            }
        }
    }
}

/// Distributed mode: runs one task (assigned on its own) until `cancel`; errors and panics
/// become FAILED.
pub async fn run_task(
    worker: Worker,
    id: TaskId,
    connector_config: RawConfig,
    plugin: ConnectorPlugin,
    task_config: RawConfig,
    target: watch::Receiver<TargetState>,
    cancel: CancellationToken,
) {
    worker
        .status
        .put_task(&id.connector, id.task, State::Unassigned, None);
    // Stored configs hold `${provider:path:key}` references; tasks get the resolved values.
    let resolved = resolve_config(&worker, &connector_config)
        .and_then(|c| resolve_config(&worker, &task_config).map(|t| (c, t)));
    let (connector_config, task_config) = match resolved {
        Ok(r) => r,
        Err(e) => {
            worker
                .status
                .put_task(&id.connector, id.task, State::Failed, Some(e.trace()));
            return;
        }
    };
    let driver = build_task(
        &worker,
        &id,
        &connector_config,
        &plugin,
        task_config,
        target,
        cancel,
    );
    let handle = if plugin.shares_thread {
        task::spawn_shared(id, worker.status.clone(), driver)
    } else {
        task::spawn(id, worker.status.clone(), driver)
    };
    let _abort = task::AbortOnDrop(handle.abort_handle());
    let _ = handle.await;
}

/// A finished stand-in while a task slot is being restarted.
fn spawn_placeholder() -> RunningTask {
    RunningTask {
        cancel: CancellationToken::new(),
        handle: tokio::spawn(async {}),
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_task(
    worker: &Worker,
    name: &str,
    task: u32,
    config: &RawConfig,
    plugin: &ConnectorPlugin,
    task_config: RawConfig,
    target: &watch::Receiver<TargetState>,
    stop: &CancellationToken,
) -> RunningTask {
    let id = TaskId {
        connector: name.to_string(),
        task,
    };
    worker.status.put_task(name, task, State::Unassigned, None);
    let cancel = stop.child_token();
    let driver = build_task(
        worker,
        &id,
        config,
        plugin,
        task_config,
        target.clone(),
        cancel.clone(),
    );
    let handle = if plugin.shares_thread {
        task::spawn_shared(id, worker.status.clone(), driver)
    } else {
        task::spawn(id, worker.status.clone(), driver)
    };
    RunningTask { cancel, handle }
}

/// Builds a task's driver future; configuration problems fail the task, not the worker.
fn build_task(
    worker: &Worker,
    id: &TaskId,
    connector_config: &RawConfig,
    plugin: &ConnectorPlugin,
    task_config: RawConfig,
    target: watch::Receiver<TargetState>,
    cancel: CancellationToken,
) -> impl std::future::Future<Output = Result<(), ConnectError>> + Send + 'static {
    let worker = worker.clone();
    let id = id.clone();
    let connector_config = connector_config.clone();
    let factory = plugin.new_task;
    async move {
        let metrics = crate::metrics::global();
        metrics.record_task_attempt();
        // A task whose setup fails never starts (the drivers count the other outcomes).
        let failed = |e: ConnectError| {
            metrics.record_task_startup(false);
            e
        };
        let converters = Converters::new(&connector_config, worker.config.raw()).map_err(failed)?;
        let chain = TransformChain::new(&worker.plugins, &connector_config).map_err(failed)?;
        let settings = worker.task_settings();
        let errors = ErrorSettings::from_config(&connector_config);
        match factory {
            TaskFactory::Source(new) => {
                let spec = task::source::SourceTaskSpec {
                    topic_creation: TopicCreation::new(
                        worker.config.topic_creation_enabled(),
                        &connector_config,
                    )
                    .map_err(|e| {
                        ConnectError::config(
                            e.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("\n"),
                        )
                    })?,
                    producer: checked(
                        &id,
                        "producer",
                        clients::producer(&worker.config, &connector_config, &id.connector)?,
                    )
                    .await?,
                    own_producer: clients::has_overrides(&connector_config, "producer.override."),
                    admin: clients::admin(&worker.config, &connector_config, &id.connector)?,
                    errors,
                    id,
                    task: new(),
                    task_config,
                    converters,
                    chain,
                    offsets: worker.offsets.clone(),
                    settings,
                    status: worker.status.clone(),
                    target,
                    cancel,
                };
                // Boxed, as the sink's below: this future then holds a pointer, and a task's
                // state is the size of its own kind's loop, not the larger of the two.
                Box::pin(task::source::run(spec)).await
            }
            TaskFactory::Sink(new) => {
                let (consumer, max_poll) =
                    clients::consumer(&worker.config, &connector_config, &id.connector)?;
                let consumer = checked(&id, "consumer", consumer).await?;
                let subscription = match connector_config
                    .get(TOPICS_REGEX)
                    .map(|r| r.trim())
                    .filter(|r| !r.is_empty())
                {
                    Some(regex) => Subscription::Pattern(regex.to_string()),
                    None => Subscription::Topics(parse_list(
                        connector_config.get(TOPICS).map_or("", |s| s),
                    )),
                };
                let spec = task::sink::SinkTaskSpec {
                    consumer,
                    dlq_producer: clients::producer(
                        &worker.config,
                        &connector_config,
                        &id.connector,
                    )?,
                    admin: clients::admin(&worker.config, &connector_config, &id.connector)?,
                    errors,
                    max_poll_records: max_poll.unwrap_or(task::sink::DEFAULT_MAX_POLL_RECORDS),
                    subscription,
                    id,
                    task: new(),
                    task_config,
                    converters,
                    chain,
                    settings,
                    status: worker.status.clone(),
                    target,
                    cancel,
                };
                Box::pin(task::sink::run(spec)).await
            }
        }
    }
}
