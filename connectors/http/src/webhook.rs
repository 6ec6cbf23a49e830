//! The webhook source: each task listens on `http.port` and writes each body POSTed to
//! `http.path` to `kafka.topic`, and answers the request only once Kafka acknowledged the
//! record (the runtime's per-record commit hook):
//! `200 {"topic":…,"partition":…,"offset":…}`. Failures answer `{"Code":…,"Description":…}`
//! (seed 004's publish contract): 401 without the right credentials or secret, 413 for a
//! body over `http.max.body.bytes`, 503 while the task is paused or stopping, 504 when Kafka
//! did not acknowledge within `http.response.timeout.ms`.
//!
//! Records: value = body (BYTES), key = a header's value or a JSON pointer's target
//! (optional STRING), one Connect header per request header (minus credentials), timestamp =
//! arrival. Partition `{"path": …}`, offset `{"request": n}` (a per-task counter: a request
//! answered with an error is never acknowledged, so the client knows to send it again; the
//! offset is never read back).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, RecordCommitter, RecordMetadata,
    SourceTask, SourceTaskContext, TaskFactory,
};
use sluice_api::data::{schemas, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, offset_map, ConnectError, Result};
use tokio::sync::{oneshot, Notify};

use crate::config as keys;

pub const CLASS: &str = "io.sluice.connect.http.HttpWebhookSourceConnector";
pub const TASK_CLASS: &str = "io.sluice.connect.http.HttpWebhookSourceTask";
pub const PATH_FIELD: &str = "path";
pub const REQUEST_FIELD: &str = "request";

/// Requests waiting for `poll` at most; more get 503 (the client retries later).
const QUEUE: usize = 10_000;
/// Records per poll at most.
const MAX_BATCH: usize = 1024;
/// How long the task may go without polling before requests get 503 (it is paused, or the
/// runtime is not taking records).
const NOT_POLLING: Duration = Duration::from_secs(2);

pub fn config_def() -> ConfigDef {
    keys::webhook_def()
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(WebhookSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(WebhookSourceTask::default())),
        shares_thread: false,
    }
}

#[derive(Default)]
pub struct WebhookSourceConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for WebhookSourceConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        keys::parse(&config_def(), config)?;
        self.props = config.clone();
        Ok(())
    }

    /// One task: a port is bound by one listener.
    async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone()])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// What a waiting request is told.
type Reply = Option<RecordMetadata>;

/// Whether `poll` runs, and when it last ran.
struct Polling {
    active: bool,
    since: Instant,
}

struct Shared {
    topic: Topic,
    partition: Arc<OffsetMap>,
    /// The expected `Authorization` value for Basic auth.
    basic: Option<String>,
    secret: Option<(HeaderName, String)>,
    key_header: Option<HeaderName>,
    key_pointer: Option<String>,
    max_body: usize,
    timeout: Duration,
    /// Records not yet polled, by request id: a request that gives up (the task paused, the
    /// timeout passed) withdraws its record if it is still here, so it is never written.
    queue: Mutex<VecDeque<(i64, SourceRecord)>>,
    ready: Notify,
    waiting: Mutex<HashMap<i64, oneshot::Sender<Reply>>>,
    next: AtomicU64,
    polling: Mutex<Polling>,
}

impl Shared {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<i64, oneshot::Sender<Reply>>> {
        // Nothing panics while it is held; a poisoned map is still a valid map.
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<(i64, SourceRecord)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes request `id`'s record back if no poll took it yet.
    fn withdraw(&self, id: i64) -> bool {
        let mut q = self.queue();
        match q.iter().position(|(i, _)| *i == id) {
            Some(at) => {
                q.remove(at);
                self.waiting().remove(&id);
                true
            }
            None => false,
        }
    }

    fn polling(&self) -> std::sync::MutexGuard<'_, Polling> {
        self.polling.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn taking_records(&self) -> bool {
        let p = self.polling();
        p.active || p.since.elapsed() < NOT_POLLING
    }
}

/// Marks `poll` as running until dropped (a poll is dropped when the runtime stops it).
struct PollGuard<'a>(&'a Shared);

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let mut p = self.0.polling();
        p.active = false;
        p.since = Instant::now();
    }
}

fn error(status: StatusCode, code: &str, description: impl Into<String>) -> Response {
    let body = serde_json::json!({"Code": code, "Description": description.into()});
    (status, axum::Json(body)).into_response()
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    if let Some(expected) = &shared.basic {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return false;
        }
    }
    if let Some((name, secret)) = &shared.secret {
        let given = headers.get(name).and_then(|v| v.to_str().ok());
        if given != Some(secret.as_str()) {
            return false;
        }
    }
    true
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    if !authorized(&shared, &headers) {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "missing or wrong credentials",
        );
        if shared.basic.is_some() {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"sluice\""),
            );
        }
        return r;
    }
    if !shared.taking_records() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "the connector task is paused or not taking records; try again later",
        );
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!(
                "the body is larger than {} bytes ({})",
                shared.max_body,
                keys::MAX_BODY_BYTES
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.max_body as u64) {
        return too_large();
    }
    let bytes = match axum::body::to_bytes(body, shared.max_body).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let key = if let Some(name) = &shared.key_header {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map_or(Value::Null, Value::from)
    } else if let Some(pointer) = &shared.key_pointer {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(doc) => match doc.pointer(pointer) {
                None | Some(serde_json::Value::Null) => Value::Null,
                Some(serde_json::Value::String(s)) => Value::String(s.clone()),
                Some(other) => Value::String(other.to_string()),
            },
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "the body is not JSON, so {} cannot find the key: {e}",
                        keys::KEY_POINTER
                    ),
                )
            }
        }
    } else {
        Value::Null
    };
    let id = shared.next.fetch_add(1, Ordering::Relaxed) as i64;
    let mut rec = SourceRecord::new(
        shared.partition.clone(),
        offset_map![(REQUEST_FIELD.into(), Value::Int64(id))],
        shared.topic.clone(),
        Some(schemas::bytes()),
        Value::Bytes(bytes.to_vec()),
    );
    rec.record.key_schema = Some(schemas::optional_string());
    rec.record.key = key;
    rec.record.timestamp = Some(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    );
    for (name, value) in &headers {
        if name == header::AUTHORIZATION || shared.secret.as_ref().is_some_and(|(s, _)| s == name) {
            continue;
        }
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        rec.record
            .headers
            .add(name.as_str(), Some(schemas::string()), Value::String(v));
    }
    let (tx, mut rx) = oneshot::channel();
    {
        let mut q = shared.queue();
        if q.len() >= QUEUE {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "too many requests are waiting for Kafka; try again later",
            );
        }
        shared.waiting().insert(id, tx);
        q.push_back((id, rec));
    }
    shared.ready.notify_one();
    let deadline = tokio::time::Instant::now() + shared.timeout;
    let reply = loop {
        let check = tokio::time::sleep(Duration::from_millis(250).min(shared.timeout));
        tokio::select! {
            r = &mut rx => break Ok(r),
            _ = check => {
                // A paused task does not poll: its queued requests get 503 (their records
                // are withdrawn, never written); one a poll already took is answered as usual.
                if !shared.taking_records() && shared.withdraw(id) {
                    return error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Unavailable",
                        "the connector task is paused or not taking records; try again later",
                    );
                }
                if tokio::time::Instant::now() >= deadline {
                    shared.withdraw(id);
                    shared.waiting().remove(&id);
                    break Err(());
                }
            }
        }
    };
    match reply {
        Ok(Ok(Some(m))) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"topic": &*m.topic, "partition": m.partition, "offset": m.offset})),
        )
            .into_response(),
        Ok(Ok(None)) => (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({"topic": null, "partition": null, "offset": null})),
        )
            .into_response(),
        Ok(Err(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "KafkaUnavailable",
            "the connector task stopped before Kafka acknowledged the message; send it again",
        ),
        Err(()) => {
            error(
                StatusCode::GATEWAY_TIMEOUT,
                "Timeout",
                format!(
                    "Kafka did not acknowledge the message within {} ms ({}); it may still be written",
                    shared.timeout.as_millis(),
                    keys::RESPONSE_TIMEOUT_MS
                ),
            )
        }
    }
}

/// Answers a waiting request once its record is in Kafka (or was dropped by a transform:
/// 202 without a position).
struct Replier(Arc<Shared>);

impl RecordCommitter for Replier {
    fn commit_record(&self, record: SourceRecord, metadata: Option<RecordMetadata>) {
        let id = record
            .source_offset
            .iter()
            .find(|(k, _)| k == REQUEST_FIELD)
            .and_then(|(_, v)| v.as_i64());
        let Some(id) = id else { return };
        if let Some(tx) = self.0.waiting().remove(&id) {
            let _ = tx.send(metadata);
        }
    }

    /// The request is found by its offset.
    fn needs_payload(&self) -> bool {
        false
    }

    fn needs_headers(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct WebhookSourceTask {
    shared: Option<Arc<Shared>>,
    server: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

#[async_trait]
impl SourceTask for WebhookSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let c = keys::parse(&config_def(), &context.configs)?;
        let s = |k: &str| c.string(k).map(str::to_string);
        let path = s(keys::LISTEN_PATH).unwrap_or_else(|| "/".into());
        if !path.starts_with('/') {
            return Err(ConnectError::config(format!(
                "Invalid value {path} for configuration {}: a path starts with '/'",
                keys::LISTEN_PATH
            )));
        }
        let basic = if s(keys::SOURCE_AUTH_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("Basic")) {
            let user = s(keys::SOURCE_AUTH_USER).unwrap_or_default();
            let password = s(keys::SOURCE_AUTH_PASSWORD).unwrap_or_default();
            Some(format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{user}:{password}")
                )
            ))
        } else {
            None
        };
        let header_name = |k: &str| -> Result<Option<HeaderName>> {
            s(k).filter(|v| !v.is_empty())
                .map(|v| {
                    HeaderName::from_bytes(v.as_bytes()).map_err(|_| {
                        ConnectError::config(format!(
                            "Invalid value {v} for configuration {k}: not a header name"
                        ))
                    })
                })
                .transpose()
        };
        let secret = match (header_name(keys::SECRET_HEADER)?, s(keys::SECRET)) {
            (Some(h), Some(v)) => Some((h, v)),
            (None, None) => None,
            _ => {
                return Err(ConnectError::config(format!(
                    "{} and {} go together: set both or neither",
                    keys::SECRET_HEADER,
                    keys::SECRET
                )))
            }
        };
        let key_pointer = s(keys::KEY_POINTER).filter(|p| !p.is_empty());
        if let Some(p) = &key_pointer {
            if !p.starts_with('/') {
                return Err(ConnectError::config(format!(
                    "Invalid value {p} for configuration {}: a JSON pointer starts with '/'",
                    keys::KEY_POINTER
                )));
            }
        }
        let address = s(keys::LISTEN_ADDRESS).unwrap_or_else(|| "0.0.0.0".into());
        let port = c.int(keys::LISTEN_PORT).unwrap_or(8080);
        let addr: SocketAddr = format!("{address}:{port}").parse().map_err(|_| {
            ConnectError::config(format!(
                "Invalid value {address} for configuration {}: not an IP address",
                keys::LISTEN_ADDRESS
            ))
        })?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            ConnectError::config(format!(
                "Cannot listen on {addr} ({}/{}): {e}",
                keys::LISTEN_ADDRESS,
                keys::LISTEN_PORT
            ))
        })?;
        let shared = Arc::new(Shared {
            topic: c.string(keys::KAFKA_TOPIC).unwrap_or_default().into(),
            partition: Arc::new(offset_map![(PATH_FIELD.into(), Value::from(path.as_str()))]),
            basic,
            secret,
            key_header: header_name(keys::KEY_HEADER)?,
            key_pointer,
            max_body: usize::try_from(c.int(keys::MAX_BODY_BYTES).unwrap_or(1 << 20))
                .unwrap_or(1 << 20),
            timeout: Duration::from_millis(
                u64::try_from(c.int(keys::RESPONSE_TIMEOUT_MS).unwrap_or(30_000)).unwrap_or(30_000),
            ),
            queue: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            waiting: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            polling: Mutex::new(Polling {
                active: false,
                since: Instant::now(),
            }),
        });
        // Axum's own body limit is replaced by http.max.body.bytes (checked in the handler).
        let app = Router::new()
            .route(&path, axum::routing::post(handle))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(shared.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "Webhook listener failed");
            }
        });
        tracing::info!(%addr, path, "Webhook source listening.");
        self.shared = Some(shared);
        self.server = Some((stop_tx, server));
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let mut out = Vec::new();
        self.poll_into(&mut out).await?;
        Ok(out)
    }

    async fn poll_into(&mut self, records: &mut Vec<SourceRecord>) -> Result<()> {
        let Some(shared) = self.shared.as_ref() else {
            return Err(ConnectError::illegal_state(
                "Webhook source task polled before start",
            ));
        };
        shared.polling().active = true;
        let _guard = PollGuard(shared);
        // Cancel safe: records move from the queue to `records` with no await in between.
        loop {
            let ready = shared.ready.notified();
            {
                let mut q = shared.queue();
                let n = q.len().min(MAX_BATCH);
                records.extend(q.drain(..n).map(|(_, r)| r));
            }
            if !records.is_empty() {
                return Ok(());
            }
            ready.await;
        }
    }

    fn record_committer(&mut self) -> Option<Arc<dyn RecordCommitter>> {
        Some(Arc::new(Replier(self.shared.clone()?)))
    }

    async fn stop(&mut self) -> Result<()> {
        // Requests still waiting learn that their record may not be in Kafka (503: send it
        // again); then the listener shuts down.
        if let Some(shared) = self.shared.take() {
            shared.queue().clear();
            shared.waiting().clear();
        }
        if let Some((stop, server)) = self.server.take() {
            let _ = stop.send(());
            if tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .is_err()
            {
                tracing::warn!("Webhook listener did not stop within 10 s");
            }
        }
        Ok(())
    }
}
