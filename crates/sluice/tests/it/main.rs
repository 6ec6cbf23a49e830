//! Broker integration tests: real tansu brokers, real `sluice` processes, real files.
//! One test binary; each test starts its own broker so names never collide.

// Test code: a failed unwrap is a failed test. Harness items serve tests still to come.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod cluster_rest;
mod console;
mod ctl;
mod distributed;
mod errors;
mod hardening;
mod harness;
mod jdbc;
mod messaging;
mod metrics;
mod postgres_cdc;
mod rest;
mod security;
mod services;
mod standalone;
mod tdengine;
