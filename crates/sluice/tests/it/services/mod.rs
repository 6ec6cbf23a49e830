//! Fixtures for the real services the connector tests talk to: each test gets a database,
//! queue, exchange, topic or endpoint of its own, and cleans up. A service that is not
//! reachable fails the test loudly (never a silent skip).

pub mod http;
pub mod mariadb;
pub mod mosquitto;
pub mod pg_cluster;
pub mod postgres;
pub mod rabbitmq;

use std::sync::atomic::{AtomicUsize, Ordering};

/// A database name unique to this test process and call.
pub fn unique_db(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A current-thread runtime for one blocking call into an async client.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}
