use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json_};
use sluice_api::config::RawConfig;
use sluice_api::connector::ConnectorKind;
use sluice_runtime::config::connector::{framework_def, CONNECTOR_CLASS, NAME};
use sluice_runtime::herder::{Herder, PartitionOffset, RestartRequest};
use sluice_runtime::task::TargetState;

use crate::entities::{
    ConfigInfos, ConfigKeyInfo, ConnectorErrors, ConnectorInfo, ConnectorOffsets,
    ConnectorStateInfo, ConnectorTaskId, CreateConnectorRequest, LoggerLevel, Message, PluginInfo,
    ServerInfo, TaskInfo, TaskState, WorkerStatus,
};
use crate::error::ApiError;
use crate::forward::{forward_or_none, forward_to, Forwarded};
use crate::mask::Masker;

/// A logger's level as `/admin/loggers` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggerEntry {
    /// Kafka's level name (`INFO`, `DEBUG`, ...).
    pub level: String,
    /// Milliseconds since the epoch of the last change over REST; `None` if never changed.
    pub last_modified: Option<i64>,
}

/// Run-time log levels (`/admin/loggers`). The binary implements it over its tracing filter;
/// logger names are Rust module paths (`sluice_runtime::task::source`) plus `root`.
pub trait LoggerControl: Send + Sync {
    /// Loggers with an explicit level, and `root`.
    fn loggers(&self) -> BTreeMap<String, LoggerEntry>;
    /// One logger's effective level, if the logger is known.
    fn logger(&self, name: &str) -> Option<LoggerEntry>;
    /// Sets `name` and its descendants to `level` (a valid Kafka level name, upper case);
    /// returns the affected loggers, sorted.
    fn set_level(&self, name: &str, level: &str) -> Result<Vec<String>, String>;
}

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub herder: Herder,
    pub commit: String,
    /// Filled in once the cluster answers.
    pub cluster_id: Arc<RwLock<String>>,
    /// `None` when the admin endpoints are disabled.
    pub loggers: Option<Arc<dyn LoggerControl>>,
    /// Set once startup (connectors from files) is done; `/health` answers 503 before.
    pub started: Arc<AtomicBool>,
    /// How long `/health` waits for the herder (Kafka: 10 s).
    pub health_timeout: Duration,
    /// The client for requests to other workers (forwarding to the leader or to a task's
    /// worker): with HTTPS listeners, TLS set up from the worker's `listeners.https.`
    /// settings, as Kafka's `RestClient`.
    pub rest_client: reqwest::Client,
}

impl AppState {
    /// State with Kafka's defaults: not started yet, no loggers.
    pub fn new(herder: impl Into<Herder>, commit: impl Into<String>) -> Self {
        AppState {
            herder: herder.into(),
            commit: commit.into(),
            cluster_id: Arc::default(),
            loggers: None,
            started: Arc::new(AtomicBool::new(false)),
            health_timeout: Duration::from_secs(10),
            rest_client: reqwest::Client::new(),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Every route: method and path as in the OpenAPI document. `router` registers exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("get", "/connectors"),
    ("post", "/connectors"),
    ("get", "/connectors/{name}"),
    ("delete", "/connectors/{name}"),
    ("get", "/connectors/{name}/config"),
    ("put", "/connectors/{name}/config"),
    ("patch", "/connectors/{name}/config"),
    ("get", "/connectors/{name}/status"),
    ("post", "/connectors/{name}/restart"),
    ("put", "/connectors/{name}/pause"),
    ("put", "/connectors/{name}/resume"),
    ("put", "/connectors/{name}/stop"),
    ("get", "/connectors/{name}/tasks"),
    ("get", "/connectors/{name}/tasks-config"),
    ("get", "/connectors/{name}/tasks/{task}/status"),
    ("post", "/connectors/{name}/tasks/{task}/restart"),
    ("get", "/connectors/{name}/topics"),
    ("put", "/connectors/{name}/topics/reset"),
    ("get", "/connectors/{name}/offsets"),
    ("patch", "/connectors/{name}/offsets"),
    ("delete", "/connectors/{name}/offsets"),
    ("get", "/connector-plugins"),
    ("get", "/connector-plugins/{plugin}/config"),
    ("put", "/connector-plugins/{plugin}/config/validate"),
    ("get", "/admin/loggers"),
    ("get", "/admin/loggers/{logger}"),
    ("put", "/admin/loggers/{logger}"),
    ("get", "/sluice/connectors/{name}/errors"),
    ("get", "/sluice/connectors/{name}/tap"),
    ("post", "/sluice/connectors/{name}/transform-preview"),
    ("get", "/ui"),
    ("get", "/ui/"),
    ("get", "/ui/{asset}"),
    ("get", "/metrics"),
];

/// Internal (inter-worker) routes: served, but hidden from the OpenAPI document as Kafka
/// hides them (`@Operation(hidden = true)`).
pub const INTERNAL_ROUTES: &[(&str, &str)] = &[("post", "/connectors/{name}/tasks")];

/// The OpenAPI document of this API (kept in the repository at `docs/openapi.json`).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// The REST API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/connectors", get(list_connectors).post(create_connector))
        .route(
            "/connectors/{name}",
            get(connector_info).delete(delete_connector),
        )
        .route(
            "/connectors/{name}/config",
            get(connector_config)
                .put(put_connector_config)
                .patch(patch_connector_config),
        )
        .route("/connectors/{name}/status", get(connector_status))
        .route(
            "/connectors/{name}/restart",
            axum::routing::post(restart_connector),
        )
        .route("/connectors/{name}/pause", put(pause_connector))
        .route("/connectors/{name}/resume", put(resume_connector))
        .route("/connectors/{name}/stop", put(stop_connector))
        .route(
            "/connectors/{name}/tasks",
            get(task_configs).post(put_task_configs),
        )
        .route("/connectors/{name}/tasks-config", get(tasks_config))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            axum::routing::post(restart_task),
        )
        .route("/connectors/{name}/topics", get(active_topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route(
            "/connectors/{name}/offsets",
            get(get_offsets).patch(alter_offsets).delete(reset_offsets),
        )
        .route("/connector-plugins", get(list_plugins))
        .route("/connector-plugins/{plugin}/config", get(plugin_config))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(validate_config),
        )
        .route("/admin/loggers", get(list_loggers))
        .route("/admin/loggers/{logger}", get(get_logger).put(set_logger))
        .route("/sluice/connectors/{name}/errors", get(connector_errors))
        .route("/sluice/connectors/{name}/tap", get(crate::console::tap))
        .route(
            "/sluice/connectors/{name}/transform-preview",
            axum::routing::post(crate::console::transform_preview),
        )
        .route("/ui", get(crate::console::ui_redirect))
        .route("/ui/", get(crate::console::ui_index))
        .route("/ui/{asset}", get(crate::console::ui_asset))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_payload_too_large))
        .with_state(state)
}

/// The largest request body the API reads (a connector config, an offsets list).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A body over [`MAX_BODY_BYTES`] is refused by the body extractor with a plain-text 413;
/// clients expect Kafka's JSON error body for every error.
async fn json_payload_too_large(response: axum::response::Response) -> axum::response::Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The request body is larger than the limit of {MAX_BODY_BYTES} bytes."),
    )
    .into_response()
}

type ApiResult<T> = Result<T, ApiError>;

fn bad_request(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, msg)
}

/// Parses a JSON body whatever the Content-Type says (curl users send odd ones, such as
/// seed 001's `application/ json`).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| bad_request(format!("Cannot deserialize the request body as JSON: {e}")))
}

/// The query parameters, decoded; repeated keys keep every value.
pub(crate) fn query_params(raw: Option<&str>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn query_bool(params: &[(String, String)], key: &str, default: bool) -> bool {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map_or(default, |(_, v)| v.trim().eq_ignore_ascii_case("true"))
}

/// A JSON config map as Kafka reads it: strings, and numbers or booleans coerced to strings.
fn raw_config(map: Map<String, Json_>) -> ApiResult<RawConfig> {
    let mut out = RawConfig::new();
    for (k, v) in map {
        let s = match v {
            Json_::String(s) => s,
            Json_::Number(n) => n.to_string(),
            Json_::Bool(b) => b.to_string(),
            Json_::Null => continue,
            other => {
                return Err(bad_request(format!(
                "Cannot deserialize the value of configuration {k}: expected a string, got {other}"
            )))
            }
        };
        out.insert(k, s);
    }
    Ok(out)
}

/// `ConnectorsResource.checkAndPutConnectorConfigName`.
fn check_and_put_name(name: &str, config: &mut RawConfig) -> ApiResult<()> {
    match config.get(NAME) {
        Some(n) if n != name => Err(bad_request(format!(
            "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
        ))),
        _ => {
            config.insert(NAME.to_string(), name.to_string());
            Ok(())
        }
    }
}

/// Kafka's `Map.toString()` form, secrets masked.
fn java_map_string(config: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// A client that read a config (secrets shown as `[hidden]`) and writes it back must not
/// overwrite the secrets with the placeholder: such values keep the stored value.
fn keep_hidden(s: &AppState, name: &str, config: &mut RawConfig) {
    let Ok(current) = s.herder.connector_info(name) else {
        return;
    };
    for (k, v) in config.iter_mut() {
        if v == crate::mask::HIDDEN {
            if let Some(old) = current.config.get(k) {
                v.clone_from(old);
            }
        }
    }
}

fn masker(s: &AppState, config: &RawConfig) -> Masker {
    Masker::new(s.herder.plugins(), config)
}

fn check_connector_class(s: &AppState, config: &RawConfig) -> ApiResult<()> {
    if config
        .get(CONNECTOR_CLASS)
        .is_none_or(|c| c.trim().is_empty())
    {
        let shown = masker(s, config).mask(config);
        return Err(bad_request(format!(
            "Connector config {} contains no connector type",
            java_map_string(&shown)
        )));
    }
    Ok(())
}

fn info_json(s: &AppState, info: sluice_runtime::herder::ConnectorInfo) -> ConnectorInfo {
    let m = masker(s, &info.config);
    ConnectorInfo::new(info, &m)
}

fn location(headers: &HeaderMap, name: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/connectors/{}", encode_path_segment(name))
}

pub(crate) fn encode_path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_task(task: &str) -> ApiResult<u32> {
    task.parse::<u32>()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found"))
}

// --- root ---

/// `GET /metrics`: Kafka Connect's metrics in the Prometheus text format, named as
/// `metrics.prometheus.naming` says, then the `process_*` series.
async fn metrics(State(s): State<AppState>) -> Response {
    use sluice_runtime::metrics::{self, process, prometheus};
    let setting = s
        .herder
        .worker_config()
        .get(metrics::PROMETHEUS_NAMING)
        .map(String::as_str);
    let naming = match prometheus::Naming::parse(setting) {
        Ok(n) => n,
        Err(e) => return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    let app = metrics::AppInfo {
        version: crate::KAFKA_VERSION.to_string(),
        commit: s.commit.clone(),
    };
    let collected = metrics::global().collect(&s.herder, &app);
    let mut body = prometheus::render(&collected, naming);
    if let Some(p) = process::read() {
        body.push_str(&process::render(&p));
    }
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], body).into_response()
}

async fn root(State(s): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        version: crate::KAFKA_VERSION.to_string(),
        commit: s.commit.clone(),
        kafka_cluster_id: s.cluster_id.read().map(|c| c.clone()).unwrap_or_default(),
    })
}

async fn health(State(s): State<AppState>) -> Response {
    if !s.started.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(WorkerStatus {
                status: "starting",
                message: "Worker is still starting up.".to_string(),
            }),
        )
            .into_response();
    }
    match s.herder.health_check(s.health_timeout).await {
        Ok(()) => Json(WorkerStatus {
            status: "healthy",
            message: "Worker has completed startup and is ready to handle requests.".to_string(),
        })
        .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(WorkerStatus {
                status: "unhealthy",
                message: format!(
                    "Worker was unable to handle this request and may be unable to handle other requests. {}",
                    e.message()
                ),
            }),
        )
            .into_response(),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

// --- connectors ---

async fn list_connectors(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let params = query_params(q.as_deref());
    let expand: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let names = s.herder.connectors();
    let want_status = expand.contains(&"status");
    let want_info = expand.contains(&"info");
    // Any `expand`, even of unknown kinds only, answers the map form (as Kafka).
    if expand.is_empty() {
        return Json(names).into_response();
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        if want_status {
            match s.herder.connector_status(&name) {
                Ok(st) => {
                    entry.insert(
                        "status".into(),
                        serde_json::to_value(ConnectorStateInfo::from(st)).unwrap_or_default(),
                    );
                }
                // Vanished mid-request: skipped, as Kafka does.
                Err(_) => continue,
            }
        }
        if want_info {
            match s.herder.connector_info(&name) {
                Ok(i) => {
                    entry.insert(
                        "info".into(),
                        serde_json::to_value(info_json(&s, i)).unwrap_or_default(),
                    );
                }
                Err(_) => continue,
            }
        }
        out.insert(name, Json_::Object(entry));
    }
    Json(Json_::Object(out)).into_response()
}

fn initial_state(v: Option<&str>) -> ApiResult<TargetState> {
    match v.map(|s| s.trim().to_ascii_uppercase()) {
        None => Ok(TargetState::Started),
        Some(s) => match s.as_str() {
            "RUNNING" => Ok(TargetState::Started),
            "PAUSED" => Ok(TargetState::Paused),
            "STOPPED" => Ok(TargetState::Stopped),
            _ => Err(bad_request(format!(
                "Invalid initial state {}; allowed values are RUNNING, PAUSED and STOPPED",
                v.unwrap_or_default()
            ))),
        },
    }
}

async fn create_connector(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let fwd = forward_or_none(
        &s,
        Forwarded::user(&headers),
        q.as_deref(),
        Method::POST,
        "/connectors",
        Some(&bytes),
    );
    if let Some(r) = fwd.await {
        return Ok(r);
    }
    let req: CreateConnectorRequest = body(&bytes)?;
    let name = req.name.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut config =
        raw_config(req.config.ok_or_else(|| {
            bad_request("Connector config must be provided in the 'config' field")
        })?)?;
    let initial = initial_state(req.initial_state.as_deref())?;
    check_and_put_name(&name, &mut config)?;
    check_connector_class(&s, &config)?;
    let (_, info) = s
        .herder
        .put_connector_config(&name, config, false, initial)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location(&headers, &name))],
        Json(info_json(&s, info)),
    )
        .into_response())
}

async fn connector_info(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ConnectorInfo>> {
    Ok(Json(info_json(&s, s.herder.connector_info(&name)?)))
}

async fn connector_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<BTreeMap<String, String>>> {
    let info = s.herder.connector_info(&name)?;
    Ok(Json(masker(&s, &info.config).mask(&info.config)))
}

async fn put_connector_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let path = format!("/connectors/{}/config", encode_path_segment(&name));
    if let Some(r) = forward_or_none(
        &s,
        Forwarded::user(&headers),
        q.as_deref(),
        Method::PUT,
        &path,
        Some(&bytes),
    )
    .await
    {
        return Ok(r);
    }
    let map: Map<String, Json_> = body(&bytes)?;
    let mut config = raw_config(map)?;
    check_and_put_name(&name, &mut config)?;
    check_connector_class(&s, &config)?;
    keep_hidden(&s, &name, &mut config);
    let (created, info) = s
        .herder
        .put_connector_config(&name, config, true, TargetState::Started)
        .await?;
    let info = Json(info_json(&s, info));
    Ok(if created {
        (
            StatusCode::CREATED,
            [(header::LOCATION, location(&headers, &name))],
            info,
        )
            .into_response()
    } else {
        info.into_response()
    })
}

async fn patch_connector_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let path = format!("/connectors/{}/config", encode_path_segment(&name));
    if let Some(r) = forward_or_none(
        &s,
        Forwarded::user(&headers),
        q.as_deref(),
        Method::PATCH,
        &path,
        Some(&bytes),
    )
    .await
    {
        return Ok(r);
    }
    let map: Map<String, Json_> = body(&bytes)?;
    let mut patch = BTreeMap::new();
    for (k, v) in map {
        let v = match v {
            Json_::Null => None,
            Json_::String(v) if v == crate::mask::HIDDEN => continue,
            Json_::String(s) => Some(s),
            Json_::Number(n) => Some(n.to_string()),
            Json_::Bool(b) => Some(b.to_string()),
            other => {
                return Err(bad_request(format!(
                "Cannot deserialize the value of configuration {k}: expected a string, got {other}"
            )))
            }
        };
        patch.insert(k, v);
    }
    if let Some(Some(n)) = patch.get(NAME) {
        if *n != name {
            return Err(bad_request(format!(
                "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    let info = s.herder.patch_connector_config(&name, patch).await?;
    Ok(Json(info_json(&s, info)).into_response())
}

async fn connector_status(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ConnectorStateInfo>> {
    Ok(Json(s.herder.connector_status(&name)?.into()))
}

async fn restart_connector(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // Distributed mode: the leader writes the restart request.
    let path = format!("/connectors/{}/restart", encode_path_segment(&name));
    let how = Forwarded::user(&headers);
    if let Some(r) = forward_or_none(&s, how, q.as_deref(), Method::POST, &path, None).await {
        return Ok(r);
    }
    let params = query_params(q.as_deref());
    let request = RestartRequest {
        include_tasks: query_bool(&params, "includeTasks", false),
        only_failed: query_bool(&params, "onlyFailed", false),
    };
    Ok(match s.herder.restart_connector(&name, request).await? {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(plan) => (StatusCode::ACCEPTED, Json(ConnectorStateInfo::from(plan))).into_response(),
    })
}

async fn pause_connector(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.herder
        .set_target_state(&name, TargetState::Paused)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resume_connector(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.herder
        .set_target_state(&name, TargetState::Started)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

async fn stop_connector(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // Only the leader stops a connector in distributed mode (it writes the empty task list).
    let path = format!("/connectors/{}/stop", encode_path_segment(&name));
    let how = Forwarded::user(&headers);
    if let Some(r) = forward_or_none(&s, how, q.as_deref(), Method::PUT, &path, None).await {
        return Ok(r);
    }
    s.herder
        .set_target_state(&name, TargetState::Stopped)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_connector(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let path = format!("/connectors/{}", encode_path_segment(&name));
    let how = Forwarded::user(&headers);
    if let Some(r) = forward_or_none(&s, how, q.as_deref(), Method::DELETE, &path, None).await {
        return Ok(r);
    }
    s.herder.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn task_configs(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<TaskInfo>>> {
    let info = s.herder.connector_info(&name)?;
    let m = masker(&s, &info.config);
    let tasks = s.herder.task_configs(&name)?;
    Ok(Json(
        tasks
            .iter()
            .enumerate()
            .map(|(i, c)| TaskInfo {
                id: ConnectorTaskId {
                    connector: name.clone(),
                    task: i as u32,
                },
                config: m.mask(c),
            })
            .collect(),
    ))
}

/// A refused internal request, with Kafka's status and message.
pub(crate) fn signature_error(e: &sluice_runtime::signature::SignatureError) -> ApiError {
    ApiError::new(
        StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::FORBIDDEN),
        e.to_string(),
    )
}

/// `POST /connectors/{name}/tasks?forward=` (internal): a connector's owner hands its task
/// configs to the leader. Checked for the KIP-507 signature here, then completed at the
/// leader (forwarded with the signature and the body unchanged).
async fn put_task_configs(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    use sluice_runtime::signature::{SIGNATURE_ALGORITHM_HEADER, SIGNATURE_HEADER};
    let configs: Vec<RawConfig> = body(&bytes)?;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (algorithm, signature) = (header(SIGNATURE_ALGORITHM_HEADER), header(SIGNATURE_HEADER));
    s.herder
        .check_internal_request(algorithm, signature, &bytes)
        .map_err(|e| signature_error(&e))?;
    let signed: Vec<(&'static str, String)> = [
        (SIGNATURE_ALGORITHM_HEADER, algorithm),
        (SIGNATURE_HEADER, signature),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| (n, v.to_string())))
    .collect();
    let path = format!("/connectors/{}/tasks", encode_path_segment(&name));
    let how = Forwarded {
        incoming: &headers,
        extra: &signed,
    };
    if let Some(r) = forward_or_none(&s, how, q.as_deref(), Method::POST, &path, Some(&bytes)).await
    {
        return Ok(r);
    }
    s.herder.put_task_configs(&name, configs).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn tasks_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Map<String, Json_>>> {
    tracing::warn!("The GET /connectors/{{connector}}/tasks-config endpoint is deprecated and will be removed in the next major release");
    let info = s.herder.connector_info(&name)?;
    let m = masker(&s, &info.config);
    let tasks = s.herder.task_configs(&name)?;
    Ok(Json(
        tasks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    format!("{name}-{i}"),
                    serde_json::to_value(m.mask(c)).unwrap_or_default(),
                )
            })
            .collect(),
    ))
}

async fn task_status(
    State(s): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<Json<TaskState>> {
    let task = parse_task(&task)?;
    let st = s.herder.task_status(&name, task)?;
    Ok(Json(TaskState::new(task, &st)))
}

async fn restart_task(
    State(s): State<AppState>,
    Path((name, task)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_task(&task)?;
    // Distributed mode: the worker that runs the task restarts it (Kafka forwards there too).
    if let Some(url) = s.herder.task_restart_target(&name, id)? {
        let path = format!(
            "/connectors/{}/tasks/{task}/restart",
            encode_path_segment(&name)
        );
        let how = Forwarded::user(&headers);
        return Ok(forward_to(&s, how, &url, q.as_deref(), Method::POST, &path, None).await);
    }
    s.herder.restart_task(&name, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn worker_flag(s: &AppState, key: &str) -> bool {
    s.herder
        .worker_config()
        .get(key)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

async fn active_topics(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Json_>> {
    if !worker_flag(&s, "topic.tracking.enable") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Topic tracking is disabled.",
        ));
    }
    let topics = s.herder.active_topics(&name);
    Ok(Json(serde_json::json!({ name: { "topics": topics } })))
}

async fn reset_topics(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if !worker_flag(&s, "topic.tracking.enable") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Topic tracking is disabled.",
        ));
    }
    if !worker_flag(&s, "topic.tracking.allow.reset") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Topic tracking reset is disabled.",
        ));
    }
    s.herder.reset_active_topics(&name).await?;
    Ok(StatusCode::ACCEPTED)
}

// --- offsets (KIP-875) ---

async fn get_offsets(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ConnectorOffsets>> {
    Ok(Json(s.herder.connector_offsets(&name).await?.into()))
}

async fn alter_offsets(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    // Distributed mode: only the leader modifies offsets.
    let path = format!("/connectors/{}/offsets", encode_path_segment(&name));
    if let Some(r) = forward_or_none(
        &s,
        Forwarded::user(&headers),
        q.as_deref(),
        Method::PATCH,
        &path,
        Some(&bytes),
    )
    .await
    {
        return Ok(r);
    }
    let req: ConnectorOffsets = body(&bytes)?;
    let list = req.offsets.filter(|o| !o.is_empty()).ok_or_else(|| {
        bad_request("Partitions / offsets need to be provided for an alter offsets request")
    })?;
    let info = s.herder.connector_info(&name)?;
    let mut offsets = Vec::with_capacity(list.len());
    for o in list {
        let partition = o.partition.ok_or_else(|| {
            bad_request(match info.kind {
                Some(ConnectorKind::Sink) => {
                    "The partition for a sink connector offset cannot be null or missing"
                }
                _ => "Source partitions may not be null",
            })
        })?;
        offsets.push(PartitionOffset {
            partition,
            offset: o.offset,
        });
    }
    let handled = s.herder.modify_offsets(&name, Some(offsets)).await?;
    Ok(Json(Message {
        message: if handled {
            "The offsets for this connector have been altered successfully".to_string()
        } else {
            "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.".to_string()
        },
    })
    .into_response())
}

async fn reset_offsets(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let path = format!("/connectors/{}/offsets", encode_path_segment(&name));
    let how = Forwarded::user(&headers);
    if let Some(r) = forward_or_none(&s, how, q.as_deref(), Method::DELETE, &path, None).await {
        return Ok(r);
    }
    let handled = s.herder.modify_offsets(&name, None).await?;
    Ok(Json(Message {
        message: if handled {
            "The offsets for this connector have been reset successfully".to_string()
        } else {
            "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.".to_string()
        },
    })
    .into_response())
}

// --- plugins ---

fn plugin_infos(s: &AppState, connectors_only: bool) -> Vec<PluginInfo> {
    let p = s.herder.plugins();
    let mut out = Vec::new();
    for kind in [ConnectorKind::Sink, ConnectorKind::Source] {
        let mut v: Vec<PluginInfo> = p
            .connectors
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| PluginInfo::new(c.class, kind.name(), c.version))
            .collect();
        v.sort_by(|a, b| a.class.cmp(&b.class));
        out.extend(v);
    }
    if connectors_only {
        return out;
    }
    let mut sorted = |mut v: Vec<PluginInfo>| {
        v.sort_by(|a, b| a.class.cmp(&b.class));
        out.extend(v);
    };
    sorted(
        p.transforms
            .iter()
            .map(|t| PluginInfo::new(t.class, "transformation", t.version))
            .collect(),
    );
    sorted(
        p.predicates
            .iter()
            .map(|t| PluginInfo::new(t.class, "predicate", t.version))
            .collect(),
    );
    sorted(
        p.converters
            .iter()
            .filter(|c| c.new.is_some())
            .map(|c| PluginInfo::new(c.class, "converter", c.version))
            .collect(),
    );
    sorted(
        p.converters
            .iter()
            .filter(|c| c.new_header.is_some())
            .map(|c| PluginInfo::new(c.class, "header_converter", c.version))
            .collect(),
    );
    out
}

async fn list_plugins(State(s): State<AppState>, RawQuery(q): RawQuery) -> Json<Vec<PluginInfo>> {
    let params = query_params(q.as_deref());
    Json(plugin_infos(
        &s,
        query_bool(&params, "connectorsOnly", true),
    ))
}

async fn plugin_config(
    State(s): State<AppState>,
    Path(plugin): Path<String>,
) -> ApiResult<Json<Vec<ConfigKeyInfo>>> {
    let p = s.herder.plugins();
    let def = if let Some(c) = p.connector(&plugin) {
        let own = (c.config_def)();
        let framework = framework_def(c.kind);
        let mut keys: Vec<ConfigKeyInfo> = own.keys().iter().map(ConfigKeyInfo::from).collect();
        keys.extend(
            framework
                .keys()
                .iter()
                .filter(|k| own.key(&k.name).is_none())
                .map(ConfigKeyInfo::from),
        );
        return Ok(Json(keys));
    } else if let Some(t) = p.transform(&plugin) {
        (t.config_def)()
    } else if let Some(t) = p.predicate(&plugin) {
        (t.config_def)()
    } else if let Some(c) = p.converter(&plugin) {
        (c.config_def)()
    } else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Unknown plugin {plugin}."),
        ));
    };
    Ok(Json(def.keys().iter().map(ConfigKeyInfo::from).collect()))
}

/// `ConnectorPluginsResource.normalizedPluginName`.
fn normalized_plugin_name(name: &str) -> &str {
    name.strip_suffix("Connector").unwrap_or(name)
}

async fn validate_config(
    State(s): State<AppState>,
    Path(plugin): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<ConfigInfos>> {
    let map: Map<String, Json_> = body(&bytes)?;
    let config = raw_config(map)?;
    let Some(class) = config.get(CONNECTOR_CLASS).cloned() else {
        check_connector_class(&s, &config)?;
        return Err(bad_request("connector.class is missing"));
    };
    if !normalized_plugin_name(&class).ends_with(normalized_plugin_name(&plugin)) {
        return Err(bad_request(format!(
            "Included connector type {class} does not match request type {plugin}"
        )));
    }
    let report = s.herder.validate(&config);
    Ok(Json(ConfigInfos::new(&report, &masker(&s, &config))))
}

// --- admin loggers (KIP-495) ---

const LEVELS: &[&str] = &[
    "OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL",
];

fn loggers(s: &AppState) -> ApiResult<&Arc<dyn LoggerControl>> {
    s.loggers
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found"))
}

fn level_json(e: LoggerEntry) -> LoggerLevel {
    LoggerLevel {
        level: e.level,
        last_modified: e.last_modified,
    }
}

async fn list_loggers(State(s): State<AppState>) -> ApiResult<Json<BTreeMap<String, LoggerLevel>>> {
    Ok(Json(
        loggers(&s)?
            .loggers()
            .into_iter()
            .map(|(k, v)| (k, level_json(v)))
            .collect(),
    ))
}

async fn get_logger(
    State(s): State<AppState>,
    Path(logger): Path<String>,
) -> ApiResult<Json<LoggerLevel>> {
    loggers(&s)?
        .logger(&logger)
        .map(|e| Json(level_json(e)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Logger {logger} not found.")))
}

async fn set_logger(
    State(s): State<AppState>,
    Path(logger): Path<String>,
    RawQuery(q): RawQuery,
    bytes: Bytes,
) -> ApiResult<Response> {
    let control = loggers(&s)?.clone();
    let req: Map<String, Json_> = body(&bytes)?;
    let Some(level) = req.get("level").and_then(Json_::as_str) else {
        return Err(bad_request(
            "Desired 'level' parameter was not specified in request.",
        ));
    };
    let upper = level.trim().to_ascii_uppercase();
    if !LEVELS.contains(&upper.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("invalid log level '{level}'."),
        ));
    }
    let params = query_params(q.as_deref());
    let cluster = params
        .iter()
        .any(|(k, v)| k == "scope" && v.eq_ignore_ascii_case("cluster"));
    let affected = control
        .set_level(&logger, &upper)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    // A standalone worker is the whole cluster: cluster scope applies here and answers 204.
    Ok(if cluster {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(affected).into_response()
    })
}

/// Sluice's own endpoint (not in Kafka): how many records each task skipped under
/// `errors.tolerance=all`, so tolerating is never silent.
async fn connector_errors(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ConnectorErrors>, ApiError> {
    Ok(Json(s.herder.connector_status(&name)?.into()))
}

// --- fallbacks ---

async fn not_found() -> impl IntoResponse {
    ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    )
}
