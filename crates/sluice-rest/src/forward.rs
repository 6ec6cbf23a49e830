//! Forwarding of config writes to the leader in distributed mode, as Kafka's
//! `HerderRequestHandler.completeOrForwardRequest` does: a client's request (no `forward`
//! parameter) may be forwarded with `forward=true`, which may be forwarded once more with
//! `forward=false`; a request that arrives with `forward=false` at a worker that is not the
//! leader answers 409.
//!
//! As Kafka's `RestClient`, the forwarded request carries the client's `Authorization` header
//! (and nothing else of its headers), goes over the worker's REST client (TLS with the
//! `listeners.https.` settings when the cluster serves HTTPS), and a 204 answer is relayed as
//! 204 with no body.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, Method, StatusCode};
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

/// What a forwarded request carries besides its method, path and body.
pub(crate) struct Forwarded<'a> {
    /// The incoming request's headers: only `Authorization` is passed on.
    pub incoming: &'a HeaderMap,
    /// Extra headers (the KIP-507 signature of an internal request, which stays valid because
    /// the body is forwarded byte for byte).
    pub extra: &'a [(&'static str, String)],
}

impl<'a> Forwarded<'a> {
    pub(crate) fn user(incoming: &'a HeaderMap) -> Self {
        Forwarded {
            incoming,
            extra: &[],
        }
    }
}

/// `None` when this worker completes the request; otherwise the leader's answer (or 409).
pub(crate) async fn forward_or_none(
    s: &AppState,
    how: Forwarded<'_>,
    raw_query: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Bytes>,
) -> Option<Response> {
    let target = match s.herder.write_target() {
        Ok(None) => return None,
        Ok(Some(url)) => url,
        Err(_) => return Some(conflict()),
    };
    Some(forward_to(s, how, &target, raw_query, method, path, body).await)
}

/// Forwards a request to the worker at `target` (the leader, or the worker that runs a task),
/// with Kafka's `forward` parameter rules.
pub(crate) async fn forward_to(
    s: &AppState,
    how: Forwarded<'_>,
    target: &str,
    raw_query: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Bytes>,
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
    let mut req = s
        .rest_client
        .request(method, &url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(auth) = how.incoming.get(header::AUTHORIZATION) {
        req = req.header(reqwest::header::AUTHORIZATION, auth.as_bytes());
    }
    for (name, value) in how.extra {
        req = req.header(*name, value);
    }
    if let Some(b) = body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_vec());
    }
    match req.send().await {
        Ok(r) => relay(r).await,
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Error trying to forward REST request: {}", error_chain(&e)),
        )
        .into_response(),
    }
}

/// The other worker's answer as this worker's: its status, its body and content type; 204
/// (and any other empty answer) with no body and no content type.
async fn relay(r: reqwest::Response) -> Response {
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = r.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let bytes = match r.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "IO Error trying to forward REST request: {}",
                    error_chain(&e)
                ),
            )
            .into_response()
        }
    };
    if status == StatusCode::NO_CONTENT || bytes.is_empty() {
        return status.into_response();
    }
    let content_type = content_type
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .unwrap_or_else(|| "application/json".to_string());
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        bytes.to_vec(),
    )
        .into_response()
}

/// An error with its causes (reqwest's own message says little: "error sending request").
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn relayed(status: u16, content_type: Option<&str>, body: &str) -> Response {
        let mut b = axum::http::Response::builder().status(status);
        if let Some(t) = content_type {
            b = b.header("content-type", t);
        }
        relay(reqwest::Response::from(b.body(body.to_string()).unwrap())).await
    }

    async fn parts(r: Response) -> (StatusCode, Option<String>, String) {
        let status = r.status();
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_204_is_relayed_bare_and_other_answers_keep_their_type() {
        // What a client library saw from a follower: 204 with an empty JSON body.
        assert_eq!(
            parts(relayed(204, Some("application/json"), "").await).await,
            (StatusCode::NO_CONTENT, None, String::new())
        );
        assert_eq!(
            parts(relayed(202, Some("application/json"), r#"{"name":"c"}"#).await).await,
            (
                StatusCode::ACCEPTED,
                Some("application/json".into()),
                r#"{"name":"c"}"#.into()
            )
        );
        assert_eq!(
            parts(relayed(409, None, r#"{"error_code":409}"#).await).await,
            (
                StatusCode::CONFLICT,
                Some("application/json".into()),
                r#"{"error_code":409}"#.into()
            )
        );
    }
}
