//! HTTP Basic authentication for the whole REST API: what Kafka's
//! `BasicAuthSecurityRestExtension` does with a `PropertyFileLoginModule` credentials file
//! (`user=password` lines). When enabled, every endpoint requires valid credentials; anything
//! else gets 401 with Kafka's `ErrorMessage` JSON. The one exception is Kafka's: the internal
//! inter-worker request `POST /connectors/{name}/tasks` (`JaasBasicAuthFilter`'s
//! `INTERNAL_REQUEST_MATCHERS`), which a worker sends without the user's credentials and the
//! herder checks by its KIP-507 signature instead. (Kafka also exempts
//! `PUT /connectors/{name}/fence`, the exactly-once fencing request, which Sluice does not
//! serve: it stays behind authentication like any unknown route.)
//!
//! This module only checks requests against a credentials map; reading the JAAS file and the
//! credentials file is the binary's job. Passwords are never logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;

use crate::error::ApiError;

/// Users and their passwords.
#[derive(Clone, Default)]
pub struct BasicAuth {
    users: Arc<BTreeMap<String, String>>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .finish()
    }
}

/// The 401 message Kafka's `JaasBasicAuthFilter` answers with.
pub const UNAUTHORIZED_MESSAGE: &str = "User cannot access the resource.";

/// The challenge sent with a 401.
pub const WWW_AUTHENTICATE: &str = "Basic realm=\"Kafka Connect\", charset=\"UTF-8\"";

impl BasicAuth {
    pub fn new(users: BTreeMap<String, String>) -> Self {
        BasicAuth {
            users: Arc::new(users),
        }
    }

    /// Whether an `Authorization` header value carries known credentials.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        }) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, password)) = decoded.split_once(':') else {
            return false;
        };
        match self.users.get(user) {
            Some(expected) => constant_time_eq(expected.as_bytes(), password.as_bytes()),
            None => false,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Kafka's `JaasBasicAuthFilter.isInternalRequest` for the routes Sluice serves: `POST` on
/// the decoded path `/?connectors/([^/]+)/tasks/?`.
pub fn is_internal_request(method: &axum::http::Method, path: &str) -> bool {
    if method != axum::http::Method::POST {
        return false;
    }
    let decoded = percent_decode(path);
    let p = decoded.strip_prefix('/').unwrap_or(&decoded);
    let p = p.strip_suffix('/').unwrap_or(p);
    let Some(rest) = p.strip_prefix("connectors/") else {
        return false;
    };
    rest.strip_suffix("/tasks")
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// `%XX` decoding of a URI path (what JAX-RS `UriInfo.getPath()` gives); invalid escapes and
/// non-UTF-8 results are kept as they are.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| path.to_string())
}

async fn require(State(auth): State<BasicAuth>, request: Request, next: Next) -> Response {
    if is_internal_request(request.method(), request.uri().path()) {
        tracing::trace!("Skipping authentication for internal request");
        return next.run(request).await;
    }
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.check(header) {
        next.run(request).await
    } else {
        tracing::debug!(path = %request.uri().path(), "REST request rejected: missing or wrong credentials.");
        // The challenge (RFC 7235) lets a browser ask for credentials once and send them with
        // every request of the console at `/ui/`; API clients ignore it.
        (
            [(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE)],
            ApiError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED_MESSAGE),
        )
            .into_response()
    }
}

/// Wraps every route (and the fallbacks) of `router` with Basic authentication.
pub fn require_basic_auth(router: Router, auth: BasicAuth) -> Router {
    router.layer(middleware::from_fn_with_state(auth, require))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    fn app() -> Router {
        let users = BTreeMap::from([("alice".to_string(), "s3cret:x".to_string())]);
        require_basic_auth(
            Router::new().route("/", get(|| async { "ok" })),
            BasicAuth::new(users),
        )
    }

    async fn status(auth: Option<&str>, path: &str) -> (StatusCode, String) {
        let mut req = axum::http::Request::get(path);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let resp = app()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[tokio::test]
    async fn every_request_needs_the_right_credentials() {
        let unauthorized = (
            StatusCode::UNAUTHORIZED,
            r#"{"error_code":401,"message":"User cannot access the resource."}"#.to_string(),
        );
        assert_eq!(status(None, "/").await, unauthorized);
        assert_eq!(status(None, "/no/such/path").await, unauthorized);
        assert_eq!(status(Some(&basic("alice:wrong")), "/").await, unauthorized);
        assert_eq!(
            status(Some(&basic("bob:s3cret:x")), "/").await,
            unauthorized
        );
        assert_eq!(status(Some("Bearer abc"), "/").await, unauthorized);
        assert_eq!(status(Some("Basic !!!"), "/").await, unauthorized);
        assert_eq!(
            status(Some(&basic("alice:s3cret:x")), "/").await,
            (StatusCode::OK, "ok".to_string())
        );
    }

    #[test]
    fn only_kafkas_internal_request_is_exempt() {
        use axum::http::Method;
        for path in [
            "/connectors/c/tasks",
            "/connectors/c/tasks/",
            "/connectors/my%20c/tasks",
            "/connectors/%E4%B8%AD/tasks",
        ] {
            assert!(is_internal_request(&Method::POST, path), "{path}");
        }
        for (method, path) in [
            (Method::GET, "/connectors/c/tasks"),
            (Method::PUT, "/connectors/c/tasks"),
            (Method::POST, "/connectors/c/tasks/0/restart"),
            (Method::POST, "/connectors/c/restart"),
            (Method::POST, "/connectors"),
            (Method::POST, "/connectors//tasks"),
            (Method::POST, "/connectors/a/b/tasks"),
            // A name with an encoded slash decodes to two segments, as in Kafka.
            (Method::POST, "/connectors/a%2Fb/tasks"),
            (Method::POST, "/x/connectors/c/tasks"),
            (Method::PUT, "/connectors/c/fence"),
        ] {
            assert!(!is_internal_request(&method, path), "{method} {path}");
        }
    }

    #[tokio::test]
    async fn the_internal_request_passes_without_credentials() {
        use axum::routing::post;
        let users = BTreeMap::from([("alice".to_string(), "pw".to_string())]);
        let app = require_basic_auth(
            Router::new()
                .route("/connectors/{name}/tasks", post(|| async { "internal" }))
                .route("/connectors/{name}/restart", post(|| async { "restart" })),
            BasicAuth::new(users),
        );
        let send = |path: &'static str| {
            let app = app.clone();
            async move {
                app.oneshot(axum::http::Request::post(path).body(Body::empty()).unwrap())
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(send("/connectors/c/tasks").await, StatusCode::OK);
        assert_eq!(
            send("/connectors/c/restart").await,
            StatusCode::UNAUTHORIZED
        );
    }
}
