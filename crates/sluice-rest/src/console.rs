//! The built-in web console (`/ui/`) and the Sluice-only endpoints behind its live views:
//! the record tap (`GET /sluice/connectors/{name}/tap`) and the transform preview
//! (`POST /sluice/connectors/{name}/transform-preview`).
//!
//! The console is plain HTML, CSS and ES modules from `crates/sluice-rest/ui/`, embedded at
//! compile time: no build step, no CDN, nothing fetched from the network. It talks only to
//! the public REST API of the worker that served it, so it works wherever the API does (HTTPS
//! listeners, Basic authentication: the browser sends the credentials it was challenged for).

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json_};
use sluice_runtime::inspect::{Preview, Sample, TapForm, TapRecord, TAP_CAPACITY};

use crate::error::ApiError;
use crate::mask::{Masker, HIDDEN};
use crate::routes::{encode_path_segment, query_params, AppState};

/// One embedded file of the console.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../ui/", $name)),
        }
    };
}

/// Every file of the console; `index.html` is also served at `/ui/`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("views.js", "text/javascript; charset=utf-8"),
    asset!("forms.js", "text/javascript; charset=utf-8"),
    asset!("metrics.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The console's Content-Security-Policy: its own scripts, styles and API only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// A strong validator of an embedded file: FNV-1a of its bytes (the files change only with the
/// binary, so browsers revalidate with `no-cache` and get 304 until an upgrade).
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let tag = etag(asset.body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let common = [
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let mut resp = if fresh {
        (StatusCode::NOT_MODIFIED, common).into_response()
    } else {
        (
            common,
            [(header::CONTENT_TYPE, asset.content_type)],
            asset.body,
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&tag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// `GET /ui`: to `/ui/`, so relative module paths resolve.
pub(crate) async fn ui_redirect() -> Redirect {
    Redirect::permanent("/ui/")
}

/// `GET /ui/`: the console's page.
pub(crate) async fn ui_index(headers: HeaderMap) -> Response {
    match ASSETS.first() {
        Some(a) => serve(a, &headers),
        None => ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found").into_response(),
    }
}

/// `GET /ui/{asset}`: one of the console's files.
pub(crate) async fn ui_asset(Path(asset): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == asset) {
        Some(a) => serve(a, &headers),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "No console file {asset}; the console has {}",
                ASSETS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
            ),
        )
        .into_response(),
    }
}

// --- the record tap ---

/// Bytes as JSON: a UTF-8 string as is, anything else as base64 (with its encoding named).
fn bytes_json(b: Option<&[u8]>, secrets: &[String]) -> Json_ {
    match b {
        None => Json_::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => json!({ "encoding": "utf8", "data": mask_secrets(s, secrets) }),
            Err(_) => json!({
                "encoding": "base64",
                "data": base64::engine::general_purpose::STANDARD.encode(b)
            }),
        },
    }
}

/// Replaces every occurrence of one of the connector's secret config values (a password a
/// connector copied into a record, say) or of a value resolved from a config provider with
/// `[hidden]`.
fn mask_secrets(s: &str, secrets: &[String]) -> String {
    // Values resolved from config providers (remembered when the task's config was resolved
    // on this worker) first, then the connector's literal secrets.
    let mut out = sluice_runtime::secrets::redact(s).into_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), HIDDEN);
        }
    }
    out
}

/// The values of the connector's secret settings worth looking for in records (not the short
/// ones, which would hide ordinary data).
fn secret_values(s: &AppState, name: &str) -> Vec<String> {
    let Ok(info) = s.herder.connector_info(name) else {
        return Vec::new();
    };
    let m = Masker::new(s.herder.plugins(), &info.config);
    let mut v: Vec<String> = info
        .config
        .iter()
        .filter(|(k, v)| v.len() >= 4 && m.is_secret(k, v))
        .map(|(_, v)| v.clone())
        .collect();
    // Longest first, so a secret containing another is hidden whole.
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

fn tap_json(r: &TapRecord, worker_id: &str, secrets: &[String]) -> Json_ {
    json!({
        "seq": r.seq,
        "worker_id": worker_id,
        "task": r.task,
        "form": match r.form {
            TapForm::Serialized => "serialized",
            TapForm::ConnectJson => "connect-json",
        },
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "tapped_at": r.tapped_at,
        "key": bytes_json(r.key.as_deref(), secrets),
        "value": bytes_json(r.value.as_deref(), secrets),
        "headers": r.headers.iter().map(|(k, v)| json!({
            "key": k,
            "value": bytes_json(v.as_deref(), secrets),
        })).collect::<Vec<_>>(),
        "truncated": r.truncated,
    })
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `GET /sluice/connectors/{name}/tap[?limit=N][&after=SEQ][&local=true]`: the newest records
/// of the connector's tasks (after transforms and converters), starting the tap if it was off.
/// In distributed mode the workers that run the connector's other tasks are asked too
/// (`local=true` asks only this worker).
pub(crate) async fn tap(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = query_params(q.as_deref());
    let limit = match param(&params, "limit") {
        None => 100,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=TAP_CAPACITY).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid limit {v}: a whole number from 1 to {TAP_CAPACITY}"),
                ))
            }
        },
    };
    let after = match param(&params, "after") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("Invalid after {v}: a record sequence number (a whole number)"),
            )
        })?),
    };
    let local = param(&params, "local").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // 404 for an unknown connector, as every connector route.
    let task_count = s.herder.task_configs(&name)?.len();
    let worker_id = s.herder.worker_id().to_string();
    let secrets = secret_values(&s, &name);
    let taps = s.herder.status_store().taps();
    let mut records: Vec<Json_> = taps
        .open(&name, after, limit)
        .iter()
        .map(|r| tap_json(r, &worker_id, &secrets))
        .collect();
    let mut workers = vec![json!({ "worker_id": worker_id, "ok": true })];
    if !local {
        let mut others = BTreeSet::new();
        for task in 0..task_count as u32 {
            if let Ok(Some(url)) = s.herder.task_restart_target(&name, task) {
                others.insert(url);
            }
        }
        for url in others {
            let path = format!(
                "{}sluice/connectors/{}/tap?local=true&limit={limit}",
                url,
                encode_path_segment(&name)
            );
            // Another worker's sequence numbers are its own: `after` is not passed on, and
            // the caller tells their records apart by `worker_id`.
            let mut req = reqwest::Client::new()
                .get(&path)
                .timeout(std::time::Duration::from_secs(10));
            if let Some(auth) = headers.get(header::AUTHORIZATION) {
                req = req.header(header::AUTHORIZATION, auth.as_bytes());
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => match r.json::<Json_>().await {
                    Ok(body) => {
                        if let Some(rs) = body.get("records").and_then(Json_::as_array) {
                            records.extend(rs.iter().cloned());
                        }
                        workers.push(json!({ "worker_id": url, "ok": true }));
                    }
                    Err(e) => workers.push(json!({ "worker_id": url, "ok": false, "error": e.to_string() })),
                },
                Ok(r) => workers.push(
                    json!({ "worker_id": url, "ok": false, "error": format!("HTTP {}", r.status()) }),
                ),
                Err(e) => workers.push(json!({ "worker_id": url, "ok": false, "error": e.to_string() })),
            }
        }
    }
    Ok(Json(json!({
        "name": name,
        "capacity": TAP_CAPACITY,
        "idle_timeout_ms": sluice_runtime::inspect::TAP_IDLE.as_millis() as u64,
        "workers": workers,
        "records": records,
    }))
    .into_response())
}

// --- the transform preview ---

/// The body of `POST /sluice/connectors/{name}/transform-preview`: a sample record, key and
/// value as JSON, headers as strings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    topic: Option<String>,
    partition: Option<i32>,
    #[serde(default)]
    key: Json_,
    #[serde(default)]
    value: Json_,
    #[serde(default)]
    headers: Map<String, Json_>,
    timestamp: Option<i64>,
    /// A config to preview instead of the connector's stored one (the create/edit form).
    config: Option<Map<String, Json_>>,
}

fn json_bytes(v: &Json_) -> Option<Vec<u8>> {
    (!v.is_null()).then(|| v.to_string().into_bytes())
}

fn parsed(b: Option<&[u8]>) -> Json_ {
    b.and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Json_::Null)
}

fn preview_json(p: &Preview, secrets: &[String]) -> Json_ {
    match &p.record {
        None => json!({ "dropped": p.error.is_none(), "error": p.error, "record": null }),
        Some(r) => json!({
            "dropped": false,
            "error": null,
            "record": {
                "topic": r.topic,
                "partition": r.partition,
                "timestamp": r.timestamp,
                "key": parsed(r.key_json.as_deref()),
                "value": parsed(r.value_json.as_deref()),
                "key_schema": r.key_schema,
                "value_schema": r.value_schema,
                "headers": r.headers.iter().map(|(k, v)| json!({
                    "key": k, "value": parsed(v.as_deref())
                })).collect::<Vec<_>>(),
            },
            "serialized": {
                "key": bytes_json(r.key_bytes.as_deref(), secrets),
                "value": bytes_json(r.value_bytes.as_deref(), secrets),
                "error": r.convert_error,
            },
        }),
    }
}

/// `POST /sluice/connectors/{name}/transform-preview`: runs a sample record through the
/// connector's configured transforms and predicates and its converters; nothing is sent.
pub(crate) async fn transform_preview(
    State(s): State<AppState>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: PreviewRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Cannot deserialize the request body as a sample record: {e}. Expected {{\"topic\", \"key\", \"value\", \"headers\": {{name: string}}, \"timestamp\", \"config\"}}"),
        )
    })?;
    let stored = s.herder.connector_info(&name)?.config;
    let config = match req.config {
        None => stored,
        Some(map) => {
            let mut c = sluice_api::config::RawConfig::new();
            for (k, v) in map {
                let v = match v {
                    Json_::String(v) if v == HIDDEN => match stored.get(&k) {
                        Some(old) => old.clone(),
                        None => continue,
                    },
                    Json_::String(v) => v,
                    Json_::Null => continue,
                    other => other.to_string(),
                };
                c.insert(k, v);
            }
            c
        }
    };
    let mut headers = Vec::new();
    for (k, v) in req.headers {
        headers.push((
            k,
            match v {
                Json_::String(s) => s,
                other => other.to_string(),
            },
        ));
    }
    let sample = Sample {
        topic: req.topic.unwrap_or_else(|| {
            config
                .get("topic")
                .or_else(|| config.get("topics"))
                .map(|t| t.split(',').next().unwrap_or("").trim().to_string())
                .unwrap_or_else(|| "preview".to_string())
        }),
        partition: req.partition,
        key: json_bytes(&req.key),
        value: json_bytes(&req.value),
        headers,
        timestamp: req.timestamp,
    };
    let preview = sluice_runtime::inspect::preview(
        s.herder.plugins(),
        s.herder.worker_config(),
        &config,
        sample,
    )
    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.message()))?;
    let secrets = secret_values(&s, &name);
    Ok(Json(preview_json(&preview, &secrets)).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_listed_once_and_the_page_comes_first() {
        assert_eq!(ASSETS[0].name, "index.html");
        let names: BTreeSet<&str> = ASSETS.iter().map(|a| a.name).collect();
        assert_eq!(names.len(), ASSETS.len());
        let index = std::str::from_utf8(ASSETS[0].body).unwrap();
        // Every module the page loads is embedded, and nothing comes from elsewhere.
        assert!(index.contains("app.js"));
        assert!(!index.contains("http://") && !index.contains("https://"));
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.body);
            assert!(
                !text.contains("//cdn") && !text.contains("https://"),
                "{} loads something from the network",
                a.name
            );
        }
    }

    #[test]
    fn secrets_in_records_are_hidden() {
        let secrets = vec!["hunter22".to_string()];
        assert_eq!(
            bytes_json(Some(b"user=a password=hunter22"), &secrets),
            json!({"encoding": "utf8", "data": "user=a password=[hidden]"})
        );
        assert_eq!(
            bytes_json(Some(&[0xff, 0x00]), &secrets),
            json!({"encoding": "base64", "data": "/wA="})
        );
        assert_eq!(bytes_json(None, &secrets), Json_::Null);
        // A value resolved from a config provider (remembered when it was resolved).
        sluice_runtime::secrets::remember("r3solved-by-a-provider");
        assert_eq!(
            bytes_json(Some(b"token r3solved-by-a-provider here"), &[]),
            json!({"encoding": "utf8", "data": "token [hidden] here"})
        );
    }

    async fn get(app: &axum::Router, path: &str, etag: Option<&str>) -> Response {
        use tower::ServiceExt as _;
        let mut req = axum::http::Request::get(path);
        if let Some(t) = etag {
            req = req.header(header::IF_NONE_MATCH, t);
        }
        app.clone()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_console_is_served_with_types_validators_and_a_strict_policy() {
        let app = crate::tests::app();
        let r = get(&app, "/ui", None).await;
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(r.headers()[header::LOCATION], "/ui/");
        for (path, ty) in [
            ("/ui/", "text/html; charset=utf-8"),
            ("/ui/app.js", "text/javascript; charset=utf-8"),
            ("/ui/style.css", "text/css; charset=utf-8"),
            ("/ui/favicon.svg", "image/svg+xml"),
        ] {
            let r = get(&app, path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], ty, "{path}");
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
            assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("script-src 'self'"));
            let tag = r.headers()[header::ETAG].to_str().unwrap().to_string();
            let again = get(&app, path, Some(&tag)).await;
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        }
        let (status, body) = crate::tests::call(&app, "GET", "/ui/secrets.txt", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("No console file secrets.txt"), "{body}");
    }

    #[tokio::test]
    async fn tap_and_preview_answer_like_every_connector_route() {
        let app = crate::tests::app();
        let (status, body) = crate::tests::call(&app, "GET", "/sluice/connectors/x/tap", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            r#"{"error_code":404,"message":"Connector x not found"}"#
        );
        let (status, body) =
            crate::tests::call(&app, "GET", "/sluice/connectors/x/tap?limit=0", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("Invalid limit 0: a whole number from 1 to 500"),
            "{body}"
        );
        let (status, body) =
            crate::tests::call(&app, "GET", "/sluice/connectors/x/tap?after=-1", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = crate::tests::call(
            &app,
            "POST",
            "/sluice/connectors/x/transform-preview",
            r#"{"value": 1}"#,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = crate::tests::call(
            &app,
            "POST",
            "/sluice/connectors/x/transform-preview",
            r#"{"valeu": 1}"#,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("unknown field `valeu`"), "{body}");
    }

    #[test]
    fn etags_differ_by_content() {
        assert_ne!(etag(b"a"), etag(b"b"));
        assert_eq!(etag(b"a"), etag(b"a"));
    }
}
