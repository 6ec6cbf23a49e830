//! HTTP Basic authentication for the whole REST API: what Kafka's
//! `BasicAuthSecurityRestExtension` does with a `PropertyFileLoginModule` credentials file
//! (`user=password` lines). When enabled, every endpoint requires valid credentials; anything
//! else gets 401 with Kafka's `ErrorMessage` JSON.
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

async fn require(State(auth): State<BasicAuth>, request: Request, next: Next) -> Response {
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
}
