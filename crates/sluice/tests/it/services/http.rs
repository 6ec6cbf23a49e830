//! Real HTTP endpoints started inside a test (axum on a free port, its own runtime): they
//! record what they received and answer what the test's function says (slow, failing,
//! switching statuses).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

/// One request as the endpoint received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The query string, without `?` (empty if none).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    /// The value of query parameter `name` (not decoded: tests use plain values).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the endpoint answers: status and body, after an optional delay.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
}

type Respond = dyn Fn(&Received, usize) -> Answer + Send + Sync;

struct Shared {
    respond: Box<Respond>,
    /// Every request, in arrival order, with the status it got.
    log: Mutex<Vec<(Received, u16)>>,
}

/// An endpoint on 127.0.0.1:`port`, stopped on drop.
pub struct Endpoint {
    pub port: u16,
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let r = Received {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = shared.log.lock().unwrap().len();
    let answer = (shared.respond)(&r, n);
    shared.log.lock().unwrap().push((r, answer.status));
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        answer.body,
    )
}

impl Endpoint {
    /// Starts an endpoint; `respond(request, n)` decides the answer to the `n`-th request.
    pub fn start(respond: impl Fn(&Received, usize) -> Answer + Send + Sync + 'static) -> Endpoint {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let shared = Arc::new(Shared {
            respond: Box::new(respond),
            log: Mutex::new(Vec::new()),
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a test endpoint");
        let port = listener.local_addr().expect("local addr").port();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Endpoint {
            port,
            shared,
            rt: Some(rt),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests received so far, with the status each got.
    pub fn received(&self) -> Vec<(Received, u16)> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Bodies of requests answered with 2xx.
    pub fn accepted_bodies(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|(_, s)| (200..300).contains(s))
            .map(|(r, _)| r.body)
            .collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
