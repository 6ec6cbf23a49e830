//! Broker integration tests: real tansu brokers, real `sluice` processes, real files.
//! One test binary; each test starts its own broker so names never collide.

// Test code: a failed unwrap is a failed test. Harness items serve tests still to come.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod ctl;
mod distributed;
mod errors;
mod harness;
mod metrics;
mod rest;
mod security;
mod standalone;
