//! The Kafka Connect group membership protocol, spoken directly over the Kafka protocol
//! (rdkafka has no way to run a group with protocol type `"connect"`).
//!
//! - [`protocol`]: the `default`/`compatible`/`sessioned` member metadata and assignment bytes.
//! - [`assignor`]: the leader's incremental cooperative (KIP-415) and eager assignment, pure.
//! - [`membership`]: the member as a sans-I/O state machine (JoinGroup, SyncGroup, Heartbeat,
//!   LeaveGroup and their error cases).
//! - [`driver`]: the tokio task that owns the sockets, finds the coordinator and heartbeats.
//! - [`security`]: TLS and SASL (PLAIN, SCRAM-SHA-256/512) for those sockets.
//! - [`net_metrics`]: the sockets' totals per client (Kafka's `connect-metrics` for the member), for `/metrics`.
//!
//! This crate is the only one that speaks the group protocol. It knows nothing about
//! connectors' configs or tasks beyond their names and ids, and it does no other I/O; its
//! [`driver::Connection`] (framing, versions, TLS, SASL) also carries `sluice-kafka`'s admin
//! client, counting into that client's own [`net_metrics::Counters`].

pub mod assignor;
pub mod driver;
pub mod membership;
pub mod net_metrics;
pub mod protocol;
pub mod security;
