//! Router tests without a socket: every route is served and documented.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sluice_api::config::RawConfig;
use sluice_runtime::config::worker::{standalone_def, WorkerConfig};
use sluice_runtime::herder::standalone::StandaloneHerder;
use sluice_runtime::offsets::OffsetStore;
use sluice_runtime::plugins::Plugins;
use sluice_runtime::status::StatusStore;
use sluice_runtime::worker::Worker;
use tower::ServiceExt;

use crate::{router, AppState, LoggerControl, LoggerEntry, INTERNAL_ROUTES, OPENAPI, ROUTES};

pub(crate) fn app() -> axum::Router {
    let mut raw = RawConfig::new();
    raw.insert("bootstrap.servers".into(), "127.0.0.1:1".into());
    raw.insert("key.converter".into(), "StringConverter".into());
    raw.insert("value.converter".into(), "StringConverter".into());
    raw.insert("offset.storage.file.filename".into(), "/nonexistent".into());
    let config = WorkerConfig {
        config: standalone_def().parse(&raw).unwrap(),
    };
    let worker = Worker {
        plugins: Arc::new(Plugins::builtin()),
        config: Arc::new(config),
        offsets: Arc::new(OffsetStore::memory()),
        status: StatusStore::new("w:8083"),
    };
    let mut state = AppState::new(StandaloneHerder::start(worker), "test");
    state.loggers = Some(Arc::new(NoLoggers));
    router(state)
}

struct NoLoggers;

impl LoggerControl for NoLoggers {
    fn loggers(&self) -> std::collections::BTreeMap<String, LoggerEntry> {
        std::collections::BTreeMap::new()
    }
    fn logger(&self, _: &str) -> Option<LoggerEntry> {
        None
    }
    fn set_level(&self, name: &str, _: &str) -> Result<Vec<String>, String> {
        Ok(vec![name.to_string()])
    }
}

pub(crate) async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[test]
fn every_route_is_in_the_openapi_document() {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from docs/openapi.json"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "docs/openapi.json documents routes the router lacks"
    );
}

#[tokio::test]
async fn every_listed_route_is_served() {
    let app = app();
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{name}", "c")
            .replace("{task}", "0")
            .replace("{plugin}", "FileStreamSource")
            .replace("{logger}", "root")
            .replace("{asset}", "app.js");
        let (status, body) = call(&app, &method.to_uppercase(), &concrete, "{}").await;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {body}"
        );
        assert!(
            !body.contains("HTTP 404 Not Found"),
            "{method} {path} fell through to the fallback: {body}"
        );
    }
}

#[tokio::test]
async fn internal_routes_are_served_but_hidden_from_the_openapi_document() {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    let app = app();
    for (method, path) in INTERNAL_ROUTES {
        assert!(
            !doc["paths"][path][method].is_object(),
            "{method} {path} is internal: Kafka hides it from the OpenAPI document"
        );
        assert!(!ROUTES.contains(&(method, path)));
        let concrete = path.replace("{name}", "c");
        let (status, body) = call(&app, &method.to_uppercase(), &concrete, "[]").await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
        assert!(!body.contains("HTTP 404 Not Found"), "{body}");
    }
    // A standalone worker takes no task configs from outside (Kafka's
    // UnsupportedOperationException: 500).
    let (status, body) = call(&app, "POST", "/connectors/c/tasks", r#"[{"a":"b"}]"#).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        r#"{"error_code":500,"message":"Kafka Connect in standalone mode does not support externally setting task configurations."}"#
    );
    let (status, body) = call(&app, "POST", "/connectors/c/tasks", r#"{"a":"b"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn refused_internal_requests_answer_kafkas_status_and_message() {
    use axum::response::IntoResponse;
    use sluice_runtime::signature::SignatureError;
    let cases = [
        (
            SignatureError::Missing,
            400,
            "Internal request missing required signature",
        ),
        (
            SignatureError::UnknownAlgorithm("HmacMD4".into()),
            400,
            "Algorithm HmacMD4 not available",
        ),
        (
            SignatureError::NoSessionKey,
            503,
            "This worker is still starting up and has not been able to read a session key from the config topic yet",
        ),
        (
            SignatureError::Invalid,
            403,
            "Internal request contained invalid signature.",
        ),
    ];
    for (e, status, message) in cases {
        let resp = crate::routes::signature_error(&e).into_response();
        assert_eq!(resp.status().as_u16(), status, "{e}");
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error_code": status, "message": message})
        );
    }
}

#[tokio::test]
async fn errors_are_kafka_error_messages() {
    let app = app();
    let (status, body) = call(&app, "GET", "/connectors/x", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"{"error_code":404,"message":"Connector x not found"}"#
    );
    let (status, body) = call(&app, "PUT", "/connectors/x/config", "[1,").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with(r#"{"error_code":400,"message":"Cannot deserialize"#),
        "{body}"
    );
    let (status, body) = call(&app, "GET", "/connectors/x/tasks/abc/status", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[test]
fn query_parameters_repeat_and_decode() {
    let q = crate::routes::query_params(Some("expand=status&expand=info&x=a%2Fb+c&flag&bad=%zz%"));
    let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("expand", "status"),
            ("expand", "info"),
            ("x", "a/b c"),
            ("flag", ""),
            ("bad", "%zz%")
        ]
    );
    assert!(crate::routes::query_params(None).is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_kafkas_error_body() {
    let app = app();
    let big = format!(
        r#"{{"name":"big","config":{{"connector.class":"FileStreamSource","x":"{}"}}}}"#,
        "a".repeat(crate::routes::MAX_BODY_BYTES)
    );
    let (status, body) = call(&app, "POST", "/connectors", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error_code"], 413);
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("larger than the limit"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_worker_and_process_series() {
    let app = app();
    let req = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("# TYPE kafka_connect_worker_connector_count gauge\nkafka_connect_worker_connector_count 0\n"),
        "{text}"
    );
    assert!(
        text.contains("\nkafka_connect_version{version=\"3.9.0\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
}
