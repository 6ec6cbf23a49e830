//! A TDengine test server for Sluice's TDengine connector tests and benchmark: the parts of
//! taosAdapter the connectors use, over an in-memory store that follows TDengine's rules.
//!
//! TEST SUPPORT ONLY. No product crate depends on it; `crates/sluice` uses it as a
//! dev-dependency and `sluice-bench` may. It is not TDengine: see `docs/connectors/tdengine.md`
//! ("The test server") for exactly what it covers and what only a real TDengine shows.
//!
//! Endpoints (taosAdapter's, reference §8):
//! - `POST /rest/sql` and `/rest/sql/<db>`: the SQL subset in [`sql`], REST JSON replies;
//! - `POST /influxdb/v1/write?db=&precision=`: line protocol, 204 on success;
//! - `POST /opentsdb/v1/put/telnet/<db>`, `POST /opentsdb/v1/put/json/<db>`;
//! - `GET /-/ping`;
//! - `GET /rest/tmq`: the TMQ WebSocket endpoint in [`tmq`] (topics made by `create topic` in
//!   [`sql`], consumer groups with committed offsets).
//!
//! Every endpoint but ping needs `Authorization: Basic` (or `?u=&p=` on the InfluxDB one).
//!
//! [`TestServer`] runs it on its own tokio runtime; [`TestServer::kill`] drops the runtime
//! (every connection dies, as when taosAdapter is killed) while the store survives, and
//! [`TestServer::restart`] serves the same store on the same port again.

pub mod schemaless;
pub mod sql;
pub mod store;
pub mod time;
pub mod tmq;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;

pub use store::{Protocol, Store, TdError};

/// The store shared by the server and the test that inspects it.
pub type Shared = Arc<Mutex<Store>>;

/// One schemaless write call as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteCall {
    pub protocol: Protocol,
    pub db: String,
    /// The precision argument as sent (`""` when absent).
    pub precision: String,
    /// Points (lines or JSON objects) in the call.
    pub points: usize,
    /// Whether the call succeeded.
    pub ok: bool,
}

/// Server state: the store and the log of write calls.
#[derive(Clone, Default)]
pub struct AppState {
    pub store: Shared,
    pub calls: Arc<Mutex<Vec<WriteCall>>>,
    /// Rows a TMQ message holds at most (0: 1,000).
    pub tmq_rows: Arc<AtomicUsize>,
    /// TMQ consumers subscribed now.
    pub tmq_consumers: Arc<AtomicUsize>,
}

impl AppState {
    pub fn tmq_rows_per_message(&self) -> usize {
        match self.tmq_rows.load(Ordering::Relaxed) {
            0 => 1000,
            n => n,
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn rest_error(status: StatusCode, e: &TdError) -> Response {
    (
        status,
        Json(serde_json::json!({"code": e.code, "desc": e.desc})),
    )
        .into_response()
}

fn unauthorized() -> Response {
    rest_error(
        StatusCode::UNAUTHORIZED,
        &TdError::new(0x0357, "Authentication failure"),
    )
}

/// Checks Basic credentials (or `u`/`p` query parameters) against the store's account.
fn authorized(state: &AppState, headers: &HeaderMap, query: &HashMap<String, String>) -> bool {
    let store = lock(&state.store);
    if let (Some(u), Some(p)) = (query.get("u"), query.get("p")) {
        return *u == store.user && *p == store.password;
    }
    let Some(value) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    match text.split_once(':') {
        Some((u, p)) => u == store.user && p == store.password,
        None => false,
    }
}

async fn rest_sql(
    state: &AppState,
    db: Option<&str>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Response {
    if !authorized(state, headers, query) {
        return unauthorized();
    }
    let text = String::from_utf8_lossy(body);
    let result = sql::execute(&mut lock(&state.store), db, &text);
    match result {
        Ok(sql::Output::Affected(n)) => Json(serde_json::json!({
            "code": 0,
            "column_meta": [["affected_rows", "INT", 4]],
            "data": [[n]],
            "rows": 1,
        }))
        .into_response(),
        Ok(sql::Output::Rows { meta, data }) => {
            let rows = data.len();
            Json(serde_json::json!({
                "code": 0,
                "column_meta": meta.iter().map(|(n, t, l)| serde_json::json!([n, t, l])).collect::<Vec<_>>(),
                "data": data,
                "rows": rows,
            }))
            .into_response()
        }
        Err(e) => rest_error(StatusCode::OK, &e),
    }
}

/// Parses and writes a schemaless body into `db`, logging the call.
fn schemaless_write(
    state: &AppState,
    protocol: Protocol,
    db: &str,
    precision: &str,
    body: &Bytes,
) -> Result<usize, TdError> {
    let text = String::from_utf8_lossy(body);
    let parsed = match protocol {
        Protocol::Line => schemaless::parse_line(&text, precision),
        Protocol::Telnet => schemaless::parse_telnet(&text),
        Protocol::Json => schemaless::parse_json(&text),
    };
    let result = parsed.and_then(|points| {
        let mut store = lock(&state.store);
        let d = store.db_mut(db)?;
        store::write_points(d, &points)
    });
    lock(&state.calls).push(WriteCall {
        protocol,
        db: db.to_string(),
        precision: precision.to_string(),
        points: text.split('\n').filter(|l| !l.trim().is_empty()).count(),
        ok: result.is_ok(),
    });
    result
}

/// The router of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/-/ping", get(|| async { StatusCode::OK }))
        .route(
            "/rest/tmq",
            get(|State(s): State<AppState>, ws: WebSocketUpgrade| async move {
                ws.on_upgrade(move |socket| tmq::serve(socket, s))
            }),
        )
        .route(
            "/rest/sql",
            post(
                |State(s): State<AppState>,
                 Query(q): Query<HashMap<String, String>>,
                 h: HeaderMap,
                 body: Bytes| async move { rest_sql(&s, None, &h, &q, &body).await },
            ),
        )
        .route(
            "/rest/sql/{db}",
            post(
                |State(s): State<AppState>,
                 Path(db): Path<String>,
                 Query(q): Query<HashMap<String, String>>,
                 h: HeaderMap,
                 body: Bytes| async move { rest_sql(&s, Some(&db), &h, &q, &body).await },
            ),
        )
        .route(
            "/influxdb/v1/write",
            post(
                |State(s): State<AppState>,
                 Query(q): Query<HashMap<String, String>>,
                 h: HeaderMap,
                 body: Bytes| async move {
                    if !authorized(&s, &h, &q) {
                        return unauthorized();
                    }
                    let Some(db) = q.get("db") else {
                        return (
                            StatusCode::BAD_REQUEST,
                            Json(serde_json::json!({"code": "invalid", "message": "db required"})),
                        )
                            .into_response();
                    };
                    let precision = q.get("precision").map(String::as_str).unwrap_or("");
                    match schemaless_write(&s, Protocol::Line, db, precision, &body) {
                        Ok(_) => StatusCode::NO_CONTENT.into_response(),
                        Err(e) => (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            Json(serde_json::json!({"code": "internal error", "message": e.to_string()})),
                        )
                            .into_response(),
                    }
                },
            ),
        )
        .route(
            "/opentsdb/v1/put/{protocol}/{db}",
            post(
                |State(s): State<AppState>,
                 Path((protocol, db)): Path<(String, String)>,
                 Query(q): Query<HashMap<String, String>>,
                 h: HeaderMap,
                 body: Bytes| async move {
                    if !authorized(&s, &h, &q) {
                        return unauthorized();
                    }
                    let protocol = match protocol.as_str() {
                        "telnet" => Protocol::Telnet,
                        "json" => Protocol::Json,
                        _ => return StatusCode::NOT_FOUND.into_response(),
                    };
                    match schemaless_write(&s, protocol, &db, "", &body) {
                        Ok(_) => Json(serde_json::json!({"code": 0, "desc": ""})).into_response(),
                        Err(e) => rest_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
                    }
                },
            ),
        )
        .with_state(state)
}

/// The server on its own runtime, killable and restartable on the same port.
pub struct TestServer {
    pub port: u16,
    pub state: AppState,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Serves a new empty store on `port` (0: any free port).
    pub fn start(port: u16) -> std::io::Result<TestServer> {
        Self::serve(port, AppState::default())
    }

    /// Serves `state` on `port` (0: any free port).
    pub fn serve(port: u16, state: AppState) -> std::io::Result<TestServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tdengine-testserver")
            .enable_all()
            .build()?;
        // A port just freed by `kill` may take a moment to be bindable again. A std listener
        // (SO_REUSEADDR is set on Unix), so this also works when called from async code.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let std_listener = loop {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => break l,
                Err(e) if std::time::Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        std_listener.set_nonblocking(true)?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let port = listener.local_addr()?.port();
        let app = router(state.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TestServer {
            port,
            state,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops serving at once: the listener and every open connection are dropped. The store
    /// is kept.
    pub fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Blocking is not allowed here; the port is rebound with retries anyway.
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }

    /// Serves the same store on the same port again.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        let again = Self::serve(self.port, self.state.clone())?;
        *self = again;
        Ok(())
    }

    /// Runs one SQL statement against the store directly (for seeding and assertions).
    pub fn sql(&self, db: Option<&str>, statement: &str) -> Result<sql::Output, TdError> {
        sql::execute(&mut lock(&self.state.store), db, statement)
    }

    /// The committed TMQ offset of `group` in `topic`, if any.
    pub fn tmq_committed(&self, group: &str, topic: &str) -> Option<i64> {
        lock(&self.state.store)
            .committed
            .get(&(group.to_string(), topic.to_string()))
            .copied()
    }

    /// How many rows of `topic` a consumer resuming at `position` has passed (the topic's
    /// WAL entries before it).
    pub fn tmq_rows_before(&self, topic: &str, position: i64) -> usize {
        let store = lock(&self.state.store);
        let Some(def) = store.topics.get(topic) else {
            return 0;
        };
        let Some(d) = store.databases.get(&def.db) else {
            return 0;
        };
        let source = match &def.source {
            store::TopicSource::Select(t) | store::TopicSource::Stable(t) => Some(t.as_str()),
            store::TopicSource::Database => None,
        };
        d.wal
            .iter()
            .take(usize::try_from(position).unwrap_or(0))
            .filter(|(idx, _)| {
                let Some(name) = d.wal_names.get(*idx as usize) else {
                    return false;
                };
                source.is_none_or(|t| {
                    name == t
                        || d.tables
                            .get(name)
                            .and_then(|x| x.stable.as_deref())
                            .is_some_and(|s| s == t)
                })
            })
            .count()
    }

    /// TMQ consumers subscribed now (one per open `/rest/tmq` connection that subscribed).
    pub fn tmq_consumers(&self) -> usize {
        self.state.tmq_consumers.load(Ordering::Relaxed)
    }

    /// Makes TMQ messages hold at most `rows` rows.
    pub fn set_tmq_rows_per_message(&self, rows: usize) {
        self.state.tmq_rows.store(rows, Ordering::Relaxed);
    }

    /// The schemaless write calls received so far.
    pub fn calls(&self) -> Vec<WriteCall> {
        lock(&self.state.calls).clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
