//! Network totals counted where this crate reads and writes its sockets (Kafka's selector
//! metrics). Each [`Counters`] belongs to one client: the group member's are Kafka's
//! `connect-metrics` ([`group`], one member per process), and each admin client built on
//! [`crate::driver::Connection`] owns its own (Kafka's `admin-client-metrics`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// One client's counters; its connections update them as they write and read.
#[derive(Debug, Default)]
pub struct Counters {
    connections: AtomicU64,
    created: AtomicU64,
    closed: AtomicU64,
    out_bytes: AtomicU64,
    in_bytes: AtomicU64,
    requests: AtomicU64,
    responses: AtomicU64,
    auth_ok: AtomicU64,
    auth_failed: AtomicU64,
    io_nanos: AtomicU64,
}

/// The totals at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Connections open now (`connection-count`).
    pub connections: u64,
    /// `connection-creation-total`.
    pub created: u64,
    /// `connection-close-total`.
    pub closed: u64,
    /// `outgoing-byte-total` (request frames, length prefix included).
    pub outgoing_bytes: u64,
    /// `incoming-byte-total` (response frames, length prefix included).
    pub incoming_bytes: u64,
    /// `request-total`.
    pub requests: u64,
    /// `response-total`.
    pub responses: u64,
    /// `successful-authentication-total`.
    pub auth_ok: u64,
    /// `failed-authentication-total`.
    pub auth_failed: u64,
    /// Time spent writing requests and reading response bodies, in ns (`iotime-total`).
    pub io_nanos: u64,
}

/// The group member's counters (`connect-metrics`).
pub fn group() -> &'static Arc<Counters> {
    static GROUP: OnceLock<Arc<Counters>> = OnceLock::new();
    GROUP.get_or_init(Arc::default)
}

/// The group member's totals.
pub fn totals() -> Totals {
    group().totals()
}

impl Counters {
    pub fn totals(&self) -> Totals {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Totals {
            connections: l(&self.connections),
            created: l(&self.created),
            closed: l(&self.closed),
            outgoing_bytes: l(&self.out_bytes),
            incoming_bytes: l(&self.in_bytes),
            requests: l(&self.requests),
            responses: l(&self.responses),
            auth_ok: l(&self.auth_ok),
            auth_failed: l(&self.auth_failed),
            io_nanos: l(&self.io_nanos),
        }
    }

    pub(crate) fn opened(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .connections
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_sub(1))
            });
    }

    pub(crate) fn sent(&self, bytes: usize, nanos: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.out_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.io_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, bytes: usize, nanos: u64) {
        self.responses.fetch_add(1, Ordering::Relaxed);
        self.in_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.io_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn authenticated(&self, ok: bool) {
        if ok {
            self.auth_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.auth_failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
