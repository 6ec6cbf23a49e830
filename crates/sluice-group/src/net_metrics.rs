//! The group member's network totals (Kafka's `connect-metrics` group: the selector metrics of
//! the worker's group client), counted where this crate reads and writes its sockets. One
//! worker runs one group member per process, so the totals are process-wide.

use std::sync::atomic::{AtomicU64, Ordering};

static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
static CREATED: AtomicU64 = AtomicU64::new(0);
static CLOSED: AtomicU64 = AtomicU64::new(0);
static OUT_BYTES: AtomicU64 = AtomicU64::new(0);
static IN_BYTES: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static RESPONSES: AtomicU64 = AtomicU64::new(0);
static AUTH_OK: AtomicU64 = AtomicU64::new(0);
static AUTH_FAILED: AtomicU64 = AtomicU64::new(0);
static IO_NANOS: AtomicU64 = AtomicU64::new(0);

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

pub fn totals() -> Totals {
    let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Totals {
        connections: l(&CONNECTIONS),
        created: l(&CREATED),
        closed: l(&CLOSED),
        outgoing_bytes: l(&OUT_BYTES),
        incoming_bytes: l(&IN_BYTES),
        requests: l(&REQUESTS),
        responses: l(&RESPONSES),
        auth_ok: l(&AUTH_OK),
        auth_failed: l(&AUTH_FAILED),
        io_nanos: l(&IO_NANOS),
    }
}

pub(crate) fn opened() {
    CREATED.fetch_add(1, Ordering::Relaxed);
    CONNECTIONS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn closed() {
    CLOSED.fetch_add(1, Ordering::Relaxed);
    let _ = CONNECTIONS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
        Some(c.saturating_sub(1))
    });
}

pub(crate) fn sent(bytes: usize, nanos: u64) {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    OUT_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    IO_NANOS.fetch_add(nanos, Ordering::Relaxed);
}

pub(crate) fn received(bytes: usize, nanos: u64) {
    RESPONSES.fetch_add(1, Ordering::Relaxed);
    IN_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    IO_NANOS.fetch_add(nanos, Ordering::Relaxed);
}

pub(crate) fn authenticated(ok: bool) {
    if ok {
        AUTH_OK.fetch_add(1, Ordering::Relaxed);
    } else {
        AUTH_FAILED.fetch_add(1, Ordering::Relaxed);
    }
}
