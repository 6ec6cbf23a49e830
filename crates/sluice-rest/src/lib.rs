//! The Kafka Connect REST API over axum. This crate is the only place REST JSON shapes are
//! defined; they are a compatibility boundary with Apache Kafka Connect (field names, status
//! codes, error bodies).
//!
//! It must not run connectors or hold state of its own: every request goes to the herder
//! ([`sluice_runtime::herder::Herder`]). Reads never wait on the herder's actor; changes wait
//! at most the herder's request timeout.
//!
//! # Layout
//! - [`router`]: the routes ([`ROUTES`] lists them; `docs/openapi.json` documents them;
//!   [`INTERNAL_ROUTES`] are served but hidden from it, as in Kafka).
//! - `internal`: [`HttpLeaderClient`], a follower's signed `POST /connectors/{name}/tasks`
//!   to the leader (KIP-507).
//! - `entities`: the JSON shapes (`ConnectorStateInfo`, `ConfigInfos`, `ErrorMessage`, ...).
//! - `mask`: secrets shown as `[hidden]` in every response.
//! - `console`: the web console at `/ui/` (embedded files from `ui/`) and the Sluice-only
//!   record tap and transform preview behind it.
//! - [`auth`]: HTTP Basic authentication over every route (Kafka's `BasicAuthSecurityRestExtension`).
//! - `error`: `ConnectError` → `{"error_code": N, "message": "..."}`.

pub mod auth;
mod console;
mod entities;
mod error;
mod forward;
mod internal;
pub mod mask;
mod routes;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use internal::HttpLeaderClient;
pub use routes::{router, AppState, LoggerControl, LoggerEntry, INTERNAL_ROUTES, OPENAPI, ROUTES};

/// The Kafka Connect version whose REST API this server speaks.
pub const KAFKA_VERSION: &str = "3.9.0";
