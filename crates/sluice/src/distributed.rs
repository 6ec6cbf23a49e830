//! `sluice distributed`: a worker that joins a cluster coordinated through Kafka (the group
//! protocol for membership, the internal topics for configs, offsets and statuses).

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use sluice_group::driver::{self, GroupConfig};
use sluice_group::membership::MemberSettings;
use sluice_group::protocol::ConnectProtocol;
use sluice_group::security::Security;
use sluice_kafka::admin::Admin;
use sluice_kafka::log::KafkaBasedLog;
use sluice_runtime::clients;
use sluice_runtime::config::worker::{self as wk, WorkerConfig};
use sluice_runtime::herder::distributed::{DistributedHerder, DistributedSettings, InternalLogs};
use sluice_runtime::offsets::OffsetStore;
use sluice_runtime::signature::InterWorkerKeys;
use sluice_runtime::status::StatusStore;
use sluice_runtime::worker::Worker;

use crate::listeners;
use crate::rest_security;
use crate::standalone::{
    plugins, problems_error, request_timeout, spawn_cluster_id_lookup, wait_for_signal,
};

/// One internal topic to create.
struct Internal<'a> {
    what: &'static str,
    key: &'static str,
    topic: &'a str,
    partitions: i32,
    replication: i32,
}

/// Creates the internal topics when missing (compacted), and checks the config topic has
/// exactly one partition. Waits for the cluster while it is unreachable.
async fn ensure_topics(admin: &Admin, topics: &[Internal<'_>]) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(500);
    for t in topics {
        loop {
            match admin
                .create_topic(
                    t.topic,
                    t.partitions,
                    t.replication,
                    &[("cleanup.policy", "compact")],
                )
                .await
            {
                Ok(true) => {
                    tracing::info!(
                        topic = t.topic,
                        partitions = t.partitions,
                        replication_factor = t.replication,
                        "Created the {} topic.",
                        t.what
                    );
                    break;
                }
                Ok(false) => {
                    // Existing topic: its cleanup.policy cannot be checked on every broker
                    // (DescribeConfigs may answer nothing), so warn instead of failing.
                    tracing::warn!(topic = t.topic, "The {} topic already exists; make sure it has cleanup.policy=compact, or data can be lost.", t.what);
                    break;
                }
                Err(e) => {
                    tracing::warn!(topic = t.topic, error = %e, retry_in_ms = backoff.as_millis() as u64, "Could not create the {} topic yet ({}); retrying.", t.what, t.key);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
    if let Some(config) = topics.first() {
        let count = admin.partition_count(config.topic).await?;
        match count {
            Some(1) => {}
            Some(n) => {
                return Err(anyhow!(
                    "Topic '{}' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found {n} partitions.",
                    config.topic
                ))
            }
            None => {
                return Err(anyhow!(
                    "The config topic '{}' does not exist after creating it; check the broker.",
                    config.topic
                ))
            }
        }
    }
    Ok(())
}

pub async fn run(
    worker_file: &Path,
    listeners_override: Option<&str>,
    logging: Arc<crate::logging::Logging>,
) -> anyhow::Result<()> {
    let plugins = plugins();
    let mut problems = Vec::new();
    let (raw, _providers) =
        crate::files::load_worker(worker_file, listeners_override, &mut problems)
            .map_err(|e| problems_error(vec![e]))?;
    let def = wk::distributed_def();
    let worker_config = match def.parse(&raw) {
        Ok(c) => Some(WorkerConfig { config: c }),
        Err(errs) => {
            for (_, msg) in errs.0 {
                problems.push(format!("{}: {msg}", worker_file.display()));
            }
            None
        }
    };
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
    let mut keys = InterWorkerKeys::default();
    // REST security as in standalone mode (HTTPS listeners, Basic authentication), plus the
    // client this worker uses to reach the others.
    let mut acceptor = None;
    let mut basic_auth = None;
    let mut rest_client = None;
    if let Some(w) = &worker_config {
        for p in clients::check_worker(w) {
            problems.push(format!("{}: {p}", worker_file.display()));
        }
        match InterWorkerKeys::from_config(&w.config) {
            Ok(k) => keys = k,
            Err(e) => problems.push(format!("{}: {e}", worker_file.display())),
        }
        let https = listeners.iter().any(|l| l.is_https());
        if https {
            match rest_security::https_acceptor(w.raw()) {
                Ok(a) => acceptor = Some(a),
                Err(errs) => {
                    for e in errs {
                        problems.push(format!("{}: {e}", worker_file.display()));
                    }
                }
            }
        }
        match rest_security::rest_client(w.raw(), https) {
            Ok(c) => rest_client = Some(c),
            Err(errs) => {
                for e in errs {
                    problems.push(format!("{}: {e}", worker_file.display()));
                }
            }
        }
        match rest_security::basic_auth(w) {
            Ok(a) => basic_auth = a,
            Err(e) => problems.push(format!("{}: {e}", worker_file.display())),
        }
    }
    let (Some(wc), Some(rest_client)) =
        (worker_config.filter(|_| problems.is_empty()), rest_client)
    else {
        return Err(problems_error(problems));
    };
    for key in wk::unknown_keys(&def, wc.raw()) {
        tracing::warn!(file = %worker_file.display(), "The configuration '{key}' was supplied but isn't a known config.");
    }

    // Bind the listeners first, so a busy port fails fast.
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
    // rest.advertised.listener picks the listener whose scheme matches.
    let advertised_listener = wc
        .config
        .string(wk::REST_ADVERTISED_LISTENER)
        .map(str::to_ascii_lowercase);
    let (first, first_port) = bound
        .iter()
        .find(|(l, _, _)| advertised_listener.as_deref().is_none_or(|s| l.scheme == s))
        .or(bound.first())
        .map(|(l, p, _)| (l.clone(), *p))
        .ok_or_else(|| anyhow!("no REST listener"))?;
    let (host, port) = crate::listeners::advertised(&wc.config, &first, first_port);
    let worker_id = format!("{host}:{port}");
    let scheme = advertised_listener.unwrap_or_else(|| first.scheme.clone());
    let url = format!("{scheme}://{host}:{port}/");

    let group_id = wc
        .config
        .string(wk::GROUP_ID)
        .unwrap_or_default()
        .to_string();
    let topic = |k: &str| wc.config.string(k).unwrap_or_default().to_string();
    let (config_topic, offset_topic, status_topic) = (
        topic(wk::CONFIG_TOPIC),
        topic(wk::OFFSET_TOPIC),
        topic(wk::STATUS_TOPIC),
    );
    let rf = |k: &str| i32::from(wc.config.short(k).unwrap_or(3));
    let settings = clients::worker_admin(&wc)?;
    let admin = Admin::new("sluice-worker-admin", &settings)?;
    ensure_topics(
        &admin,
        &[
            Internal {
                what: "config",
                key: wk::CONFIG_TOPIC,
                topic: &config_topic,
                partitions: 1,
                replication: rf(wk::CONFIG_RF),
            },
            Internal {
                what: "offsets",
                key: wk::OFFSET_TOPIC,
                topic: &offset_topic,
                partitions: wc.int_or(wk::OFFSET_PARTITIONS, 25),
                replication: rf(wk::OFFSET_RF),
            },
            Internal {
                what: "status",
                key: wk::STATUS_TOPIC,
                topic: &status_topic,
                partitions: wc.int_or(wk::STATUS_PARTITIONS, 5),
                replication: rf(wk::STATUS_RF),
            },
        ],
    )
    .await?;
    let name = format!("connect-{group_id}");
    let config_log =
        KafkaBasedLog::open(&format!("{name}-configs"), &config_topic, &settings).await?;
    let status_log =
        KafkaBasedLog::open(&format!("{name}-statuses"), &status_topic, &settings).await?;
    let offset_log =
        KafkaBasedLog::open(&format!("{name}-offsets"), &offset_topic, &settings).await?;
    let offsets = Arc::new(
        OffsetStore::open_topic(offset_log)
            .await
            .with_context(|| format!("reading offset.storage.topic {offset_topic}"))?,
    );

    let (status_tx, status_rx) = tokio::sync::mpsc::unbounded_channel();
    let (topic_tx, topic_rx) = tokio::sync::mpsc::unbounded_channel();
    sluice_runtime::metrics::global().configure(wc.raw());
    let worker = Worker {
        plugins: Arc::new(plugins),
        config: Arc::new(wc.clone()),
        offsets,
        status: StatusStore::with_listener(worker_id.clone(), status_tx)
            .with_topic_tracking(wc.topic_tracking_enabled())
            .with_topic_listener(topic_tx),
    };
    let protocol = ConnectProtocol::from_config(
        wc.config
            .string(wk::CONNECT_PROTOCOL)
            .unwrap_or("sessioned"),
    )
    .unwrap_or(ConnectProtocol::Sessioned);
    sluice_runtime::metrics::global()
        .set_group_member(&format!("connect-{worker_id}"), protocol_label(protocol));
    let group_config = GroupConfig {
        bootstrap: wc.config.list(wk::BOOTSTRAP_SERVERS),
        client_id: format!("connect-{worker_id}"),
        // The group client speaks the same TLS/SASL as the worker's other clients (Kafka's
        // WorkerGroupMember reads the worker config's security settings).
        security: Security::from_client_settings(&settings).map_err(|e| {
            anyhow::anyhow!(
                "{}: the group membership client: {e}",
                worker_file.display()
            )
        })?,
        settings: MemberSettings {
            group_id: group_id.clone(),
            session_timeout_ms: wc.int_or(wk::SESSION_TIMEOUT_MS, 10_000),
            rebalance_timeout_ms: wc.int_or(wk::REBALANCE_TIMEOUT_MS, 60_000),
            heartbeat_interval_ms: wc.int_or(wk::HEARTBEAT_INTERVAL_MS, 3_000),
            protocol_type: "connect".into(),
        },
    };
    let (group, events) = driver::spawn(group_config, Vec::new());
    let herder = DistributedHerder::start(
        worker,
        DistributedSettings {
            url: url.clone(),
            protocol,
            max_delay_ms: wc.int_or(wk::MAX_DELAY_MS, 300_000),
            keys,
            leader_client: Arc::new(sluice_rest::HttpLeaderClient::with_client(
                rest_client.clone(),
            )),
            request_timeout: request_timeout(),
        },
        InternalLogs {
            config: config_log,
            status: status_log,
        },
        group,
        events,
        status_rx,
        topic_rx,
    );

    let cluster_id = Arc::new(RwLock::new(String::new()));
    // A refused worker is reported by the group client and internal topic readers here.
    let _rejected = spawn_cluster_id_lookup(&wc, cluster_id.clone());
    let mut state = sluice_rest::AppState::new(
        herder.clone(),
        format!("sluice-{}", env!("CARGO_PKG_VERSION")),
    );
    state.cluster_id = cluster_id;
    state.loggers = Some(logging);
    state.rest_client = rest_client;
    state
        .started
        .store(true, std::sync::atomic::Ordering::Release);
    crate::rest_server::serve_listeners(
        bound,
        &state,
        basic_auth.as_ref(),
        acceptor.as_ref(),
        &worker_id,
        &url,
    )?;
    tracing::info!(group = %group_id, worker_id = %worker_id, "Kafka Connect started (Sluice distributed worker).");
    wait_for_signal().await;
    tracing::info!(
        "Kafka Connect stopping: stopping tasks, committing offsets, leaving the group."
    );
    herder.shutdown().await;
    tracing::info!("Kafka Connect stopped.");
    Ok(())
}

/// `connect-protocol` as Kafka's rebalance metrics name it.
fn protocol_label(p: ConnectProtocol) -> &'static str {
    match p {
        ConnectProtocol::Eager => "EAGER",
        ConnectProtocol::Compatible => "COMPATIBLE",
        ConnectProtocol::Sessioned => "SESSIONED",
    }
}
