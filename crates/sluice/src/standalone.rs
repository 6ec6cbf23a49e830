//! `sluice standalone`: one worker, connectors from files, offsets in a local file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use sluice_api::config::RawConfig;
use sluice_kafka::admin::{probe_cluster, ClusterProbe};
use sluice_runtime::clients;
use sluice_runtime::config::connector::NAME;
use sluice_runtime::config::validate::validate_with_providers;
use sluice_runtime::config::worker::{self, WorkerConfig};
use sluice_runtime::herder::persist;
use sluice_runtime::herder::standalone::{HerderSettings, StandaloneHerder};
use sluice_runtime::herder::DEFAULT_REQUEST_TIMEOUT;
use sluice_runtime::offsets::OffsetStore;
use sluice_runtime::plugins::Plugins;
use sluice_runtime::status::StatusStore;
use sluice_runtime::worker::Worker;

use crate::files::read_config;
use crate::listeners;
use crate::rest_security;

/// Everything wrong with the files, reported at once.
pub(crate) fn problems_error(problems: Vec<String>) -> anyhow::Error {
    let mut msg = format!(
        "{} configuration problem(s), nothing was started:",
        problems.len()
    );
    for p in problems {
        msg.push_str("\n  - ");
        msg.push_str(&p);
    }
    anyhow!(msg)
}

/// Test plugins are registered only when `SLUICE_TEST_PLUGINS=1` (process-level tests), in
/// both modes.
pub(crate) fn plugins() -> Plugins {
    let plugins = Plugins::builtin();
    if std::env::var("SLUICE_TEST_PLUGINS").is_ok_and(|v| v == "1") {
        tracing::warn!("SLUICE_TEST_PLUGINS=1: registering test-only connector plugins.");
        return plugins.with_connectors(sluice_runtime::testkit::plugins());
    }
    plugins
}

/// Kafka's 90 s unless `SLUICE_REST_REQUEST_TIMEOUT_MS` says otherwise (used by tests).
pub(crate) fn request_timeout() -> Duration {
    std::env::var("SLUICE_REST_REQUEST_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_millis)
}

pub async fn run(
    worker_file: &Path,
    connector_files: &[PathBuf],
    listeners_override: Option<&str>,
    logging: Arc<crate::logging::Logging>,
) -> anyhow::Result<()> {
    let plugins = plugins();
    let mut problems = Vec::new();

    let (worker_raw, providers) =
        crate::files::load_worker(worker_file, listeners_override, &mut problems)
            .map_err(|e| problems_error(vec![e]))?;
    let def = worker::standalone_def();
    let worker_config = match def.parse(&worker_raw) {
        Ok(c) => Some(WorkerConfig { config: c }),
        Err(errs) => {
            for (_, msg) in errs.0 {
                problems.push(format!("{}: {msg}", worker_file.display()));
            }
            None
        }
    };

    let mut connectors: Vec<(PathBuf, RawConfig)> = Vec::new();
    for file in connector_files {
        match read_config(file) {
            Err(e) => problems.push(e),
            Ok(raw) => {
                let report = validate_with_providers(&plugins, &providers, &raw);
                for (key, msg) in report.errors() {
                    // Name the key when the message does not (a transform's own keys are
                    // validated without their `transforms.<alias>.` prefix).
                    if msg.contains(key.as_str()) {
                        problems.push(format!("{}: {msg}", file.display()));
                    } else {
                        problems.push(format!("{}: {key}: {msg}", file.display()));
                    }
                }
                if let Some(name) = raw.get(NAME) {
                    if let Some((other, _)) =
                        connectors.iter().find(|(_, c)| c.get(NAME) == Some(name))
                    {
                        problems.push(format!(
                            "{}: connector name {name} is already used by {}; names must be unique",
                            file.display(),
                            other.display()
                        ));
                    }
                }
                connectors.push((file.clone(), raw));
            }
        }
    }
    let listeners = match &worker_config {
        Some(w) => match listeners::parse(&w.listeners()) {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!("{}: {e}", worker_file.display()));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let mut acceptor = None;
    let mut basic_auth = None;
    if let Some(w) = &worker_config {
        for p in clients::check_worker(w) {
            problems.push(format!("{}: {p}", worker_file.display()));
        }
        if listeners.iter().any(|l| l.is_https()) {
            match rest_security::https_acceptor(w.raw()) {
                Ok(a) => acceptor = Some(a),
                Err(errs) => {
                    for e in errs {
                        problems.push(format!("{}: {e}", worker_file.display()));
                    }
                }
            }
        }
        match rest_security::basic_auth(w) {
            Ok(a) => basic_auth = a,
            Err(e) => problems.push(format!("{}: {e}", worker_file.display())),
        }
    }
    let Some(worker_config) = worker_config.filter(|_| problems.is_empty()) else {
        return Err(problems_error(problems));
    };

    for key in worker::unknown_keys(&def, worker_config.raw()) {
        tracing::warn!(file = %worker_file.display(), "The configuration '{key}' was supplied but isn't a known config.");
    }
    if !worker_config.plugin_path().is_empty() {
        tracing::info!(plugin_path = ?worker_config.plugin_path(), "plugin.path is accepted for compatibility and ignored: Sluice's plugins are built in.");
    }

    let offset_file = worker_config.offset_file().unwrap_or_default().to_string();
    let offsets = Arc::new(
        OffsetStore::open_file(Path::new(&offset_file))
            .with_context(|| format!("{}: offset.storage.file.filename", worker_file.display()))?,
    );
    // Connectors created or changed over REST survive restarts; files on the command line win.
    let connectors_file = persist::path_for_offsets(Path::new(&offset_file));
    let persisted = persist::load(&connectors_file)?;

    // Bind every listener before anything runs, so a busy port fails fast.
    let mut bound = Vec::new();
    for l in &listeners {
        let sock = tokio::net::TcpListener::bind(l.bind_addr())
            .await
            .with_context(|| {
                format!(
                    "could not listen on {}://{} (listeners)",
                    l.scheme,
                    l.bind_addr()
                )
            })?;
        let port = sock.local_addr().map(|a| a.port()).unwrap_or(l.port);
        bound.push((l.clone(), port, sock));
    }
    let (first, first_port, _) = &bound[0];
    let (advertised_host, advertised_port) =
        listeners::advertised(&worker_config.config, first, *first_port);
    let worker_id = format!("{advertised_host}:{advertised_port}");

    let status = StatusStore::new(worker_id.clone())
        .with_topic_tracking(worker_config.topic_tracking_enabled());
    sluice_runtime::metrics::global().configure(worker_config.raw());
    let worker = Worker {
        plugins: Arc::new(plugins),
        config: Arc::new(worker_config.clone()),
        offsets,
        status,
    };
    let herder = StandaloneHerder::start_with(
        worker,
        HerderSettings {
            request_timeout: request_timeout(),
            connectors_file: Some(connectors_file),
        },
    );

    let cluster_id = Arc::new(RwLock::new(String::new()));
    let mut rejected = spawn_cluster_id_lookup(&worker_config, cluster_id.clone());
    let mut state = sluice_rest::AppState::new(
        herder.clone(),
        format!("sluice-{}", env!("CARGO_PKG_VERSION")),
    );
    state.cluster_id = cluster_id;
    state.loggers = Some(logging);
    let started = state.started.clone();
    let advertised_scheme = first.scheme.clone();
    crate::rest_server::serve_listeners(
        bound,
        &state,
        basic_auth.as_ref(),
        acceptor.as_ref(),
        &worker_id,
        &format!("{advertised_scheme}://{worker_id}/"),
    )?;

    let from_files: Vec<String> = connectors
        .iter()
        .filter_map(|(_, c)| c.get(NAME).cloned())
        .collect();
    for (name, raw, target) in persisted {
        if from_files.contains(&name) {
            tracing::info!(connector = %name, "A connector file on the command line replaces the stored config of this connector.");
            continue;
        }
        match herder.restore_connector_config(&name, raw, target).await {
            Ok(_) => tracing::info!(connector = %name, "Restored connector created over REST."),
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "Failed to restore connector created over REST.")
            }
        }
    }
    for (file, raw) in connectors {
        let name = raw.get(NAME).cloned().unwrap_or_default();
        match herder.put_file_connector(&name, raw).await {
            Ok(_) => {
                tracing::info!(connector = %name, file = %file.display(), "Created connector.")
            }
            Err(e) => {
                tracing::error!(connector = %name, file = %file.display(), error = %e, "Failed to create connector.")
            }
        }
    }
    started.store(true, std::sync::atomic::Ordering::Release);
    tracing::info!("Kafka Connect started (Sluice standalone worker).");

    let rejected = tokio::select! {
        _ = wait_for_signal() => None,
        Ok(msg) = &mut rejected => Some(msg),
    };
    tracing::info!("Kafka Connect stopping: stopping connectors and committing offsets.");
    herder.shutdown().await;
    tracing::info!("Kafka Connect stopped.");
    match rejected {
        Some(msg) => Err(anyhow!("Failed to connect to the Kafka cluster: {msg}")),
        None => Ok(()),
    }
}

/// Looks up the cluster id in the background while the broker is away (retrying with backoff),
/// and reports through the returned channel when the cluster refuses the worker (wrong
/// credentials, untrusted certificate): Kafka's worker exits then, and so does Sluice.
pub(crate) fn spawn_cluster_id_lookup(
    worker: &WorkerConfig,
    out: Arc<RwLock<String>>,
) -> tokio::sync::oneshot::Receiver<String> {
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel();
    let settings = match clients::worker_admin(worker) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "Cannot look up the Kafka cluster id.");
            return fatal_rx;
        }
    };
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match probe_cluster("sluice-worker-admin", &settings, Duration::from_secs(10)).await {
                ClusterProbe::Connected(id) => {
                    tracing::info!(kafka_cluster_id = %id, "Connected to the Kafka cluster.");
                    if let Ok(mut c) = out.write() {
                        *c = id;
                    }
                    return;
                }
                ClusterProbe::Rejected(msg) => {
                    let _ = fatal_tx.send(msg);
                    return;
                }
                ClusterProbe::Unreachable => {}
            }
            tracing::warn!(
                retry_in_ms = backoff.as_millis() as u64,
                "Kafka cluster not reachable yet; retrying."
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
    fatal_rx
}

pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
