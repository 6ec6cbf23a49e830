//! Forwarding of config writes to the leader in distributed mode, as Kafka's
//! `HerderRequestHandler.completeOrForwardRequest` does: a client's request (no `forward`
//! parameter) may be forwarded with `forward=true`, which may be forwarded once more with
//! `forward=false`; a request that arrives with `forward=false` at a worker that is not the
//! leader answers 409.

use axum::body::Bytes;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::routes::{query_params, AppState};

fn conflict() -> Response {
    ApiError::new(
        StatusCode::CONFLICT,
        sluice_runtime::herder::distributed::CONFLICT_MESSAGE,
    )
    .into_response()
}

/// `None` when this worker completes the request; otherwise the leader's answer (or 409).
pub(crate) async fn forward_or_none(
    s: &AppState,
    raw_query: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Bytes>,
) -> Option<Response> {
    forward_or_none_with(s, raw_query, method, path, body, &[]).await
}

/// As [`forward_or_none`], passing `headers` on (the KIP-507 signature of an internal
/// request, which stays valid because the body is forwarded byte for byte).
pub(crate) async fn forward_or_none_with(
    s: &AppState,
    raw_query: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Bytes>,
    headers: &[(&'static str, String)],
) -> Option<Response> {
    let target = match s.herder.write_target() {
        Ok(None) => return None,
        Ok(Some(url)) => url,
        Err(_) => return Some(conflict()),
    };
    Some(forward_with(&target, raw_query, method, path, body, headers).await)
}

/// Forwards a request to the worker at `target` (the leader, or the worker that runs a task),
/// with Kafka's `forward` parameter rules.
pub(crate) async fn forward_to(
    target: &str,
    raw_query: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Bytes>,
) -> Response {
    forward_with(target, raw_query, method, path, body, &[]).await
}

async fn forward_with(
    target: &str,
    raw_query: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Bytes>,
    headers: &[(&'static str, String)],
) -> Response {
    let forward = query_params(raw_query)
        .into_iter()
        .find(|(k, _)| k == "forward")
        .map(|(_, v)| !v.eq_ignore_ascii_case("false"));
    if forward == Some(false) {
        return conflict();
    }
    let mut query: Vec<String> = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("forward="))
        .map(str::to_string)
        .collect();
    query.push(format!("forward={}", forward.is_none()));
    let url = format!(
        "{}{}?{}",
        target.trim_end_matches('/'),
        path,
        query.join("&")
    );
    tracing::debug!(url = %url, "Forwarding a request to the leader.");
    let mut req = reqwest::Client::new().request(method, &url);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    if let Some(b) = body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_vec());
    }
    match req.send().await {
        Ok(r) => {
            let status =
                StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = r.bytes().await.unwrap_or_default();
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                bytes.to_vec(),
            )
                .into_response()
        }
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Error trying to forward REST request: {e}"),
        )
        .into_response(),
    }
}
