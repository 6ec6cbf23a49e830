//! Kafka client network statistics for `GET /metrics` (Kafka's `producer-metrics`,
//! `consumer-metrics` and `admin-client-metrics` totals that dashboards query).
//!
//! Admin clients speaking the Kafka protocol themselves ([`crate::admin`]) count their own
//! sockets ([`register_admin`]); the producers and consumers are librdkafka's:
//!
//! librdkafka reports its statistics as JSON every `statistics.interval.ms`, as an event on
//! the client's main queue; the producers and consumers made here (whose main queue is
//! polled: by the delivery loop, by the consumer's receive) ask for them ([`INTERVAL_MS`]) and keep the latest
//! figures in a [`Cell`] their context owns. The registry holds only weak references, so a
//! client's series live exactly as long as the client. Only the few fields read are parsed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde::Deserialize;

/// How often librdkafka reports a client's statistics (ms).
pub const INTERVAL_MS: &str = "10000";

/// Which Kafka client a cell measures (Kafka's metric group prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientKind {
    Producer,
    Consumer,
    Admin,
}

/// One client's latest totals, summed over its broker connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Bytes sent (`outgoing-byte-total`).
    pub outgoing_bytes: u64,
    /// Bytes received (`incoming-byte-total`).
    pub incoming_bytes: u64,
    /// Requests sent (`request-total`).
    pub requests: u64,
    /// Responses received (`response-total`).
    pub responses: u64,
    /// Connections currently up (`connection-count`).
    pub connections: u64,
    /// Connections made (`connection-creation-total`).
    pub connects: u64,
    /// Connections closed (`connection-close-total`).
    pub disconnects: u64,
}

/// The latest statistics of one client.
#[derive(Debug)]
pub struct Cell {
    kind: ClientKind,
    client_id: String,
    latest: Mutex<Option<Snapshot>>,
}

impl Cell {
    /// Takes librdkafka's statistics JSON; anything unreadable is ignored (the previous
    /// figures stay).
    pub fn record(&self, json: &[u8]) {
        if let Some(s) = parse(json) {
            if let Ok(mut l) = self.latest.lock() {
                *l = Some(s);
            }
        }
    }
}

fn cells() -> &'static Mutex<Vec<Weak<Cell>>> {
    static CELLS: Mutex<Vec<Weak<Cell>>> = Mutex::new(Vec::new());
    &CELLS
}

/// A cell for a new client; its series exist while the returned handle does.
pub fn register(kind: ClientKind, client_id: &str) -> Arc<Cell> {
    let cell = Arc::new(Cell {
        kind,
        client_id: client_id.to_string(),
        latest: Mutex::new(None),
    });
    if let Ok(mut c) = cells().lock() {
        c.retain(|w| w.strong_count() > 0);
        c.push(Arc::downgrade(&cell));
    }
    cell
}

type AdminCounters = (String, Weak<sluice_group::net_metrics::Counters>);

fn admins() -> &'static Mutex<Vec<AdminCounters>> {
    static ADMINS: Mutex<Vec<AdminCounters>> = Mutex::new(Vec::new());
    &ADMINS
}

/// An admin client's counters; its series exist while `counters` does (from its creation,
/// at zero until it connects).
pub fn register_admin(client_id: &str, counters: &Arc<sluice_group::net_metrics::Counters>) {
    if let Ok(mut a) = admins().lock() {
        a.retain(|(_, w)| w.strong_count() > 0);
        a.push((client_id.to_string(), Arc::downgrade(counters)));
    }
}

/// Every live client that has reported at least once (an admin client: that exists):
/// (kind, client id, totals). Clients sharing a client id are summed, as Kafka's JMX would
/// show one of them.
pub fn snapshot() -> Vec<(ClientKind, String, Snapshot)> {
    let live: Vec<Arc<Cell>> = match cells().lock() {
        Ok(c) => c.iter().filter_map(Weak::upgrade).collect(),
        Err(_) => return Vec::new(),
    };
    let mut reports: Vec<(ClientKind, String, Snapshot)> = live
        .iter()
        .filter_map(|cell| {
            let s = cell.latest.lock().ok().and_then(|l| *l)?;
            Some((cell.kind, cell.client_id.clone(), s))
        })
        .collect();
    if let Ok(a) = admins().lock() {
        for (id, w) in a.iter() {
            if let Some(c) = w.upgrade() {
                let t = c.totals();
                reports.push((
                    ClientKind::Admin,
                    id.clone(),
                    Snapshot {
                        outgoing_bytes: t.outgoing_bytes,
                        incoming_bytes: t.incoming_bytes,
                        requests: t.requests,
                        responses: t.responses,
                        connections: t.connections,
                        connects: t.created,
                        disconnects: t.closed,
                    },
                ));
            }
        }
    }
    let mut by_id: HashMap<(ClientKind, String), Snapshot> = HashMap::new();
    for (kind, id, s) in reports {
        let e = by_id.entry((kind, id)).or_default();
        e.outgoing_bytes += s.outgoing_bytes;
        e.incoming_bytes += s.incoming_bytes;
        e.requests += s.requests;
        e.responses += s.responses;
        e.connections += s.connections;
        e.connects += s.connects;
        e.disconnects += s.disconnects;
    }
    let mut out: Vec<_> = by_id.into_iter().map(|((k, id), s)| (k, id, s)).collect();
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    brokers: HashMap<String, Broker>,
}

#[derive(Deserialize)]
struct Broker {
    #[serde(default)]
    state: String,
    #[serde(default)]
    tx: u64,
    #[serde(default)]
    txbytes: u64,
    #[serde(default)]
    rx: u64,
    #[serde(default)]
    rxbytes: u64,
    #[serde(default)]
    connects: u64,
    #[serde(default)]
    disconnects: u64,
}

fn parse(json: &[u8]) -> Option<Snapshot> {
    let stats: Stats = serde_json::from_slice(json).ok()?;
    let mut s = Snapshot::default();
    // librdkafka's internal pseudo-broker (":0/internal", node id -1 and no address) never
    // connects; bootstrap connections (node id -1 too) are real and count.
    for (name, b) in stats.brokers {
        if name.ends_with("/internal") {
            continue;
        }
        s.outgoing_bytes += b.txbytes;
        s.incoming_bytes += b.rxbytes;
        s.requests += b.tx;
        s.responses += b.rx;
        s.connects += b.connects;
        s.disconnects += b.disconnects;
        if b.state == "UP" {
            s.connections += 1;
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_brokers_and_skips_the_internal_one() {
        let json = br#"{"name":"p#producer-1","client_id":"p","type":"producer","brokers":{
            "127.0.0.1:9092/1":{"nodeid":1,"state":"UP","tx":5,"txbytes":500,"rx":4,"rxbytes":400,"connects":1,"disconnects":0},
            "127.0.0.1:9092/bootstrap":{"nodeid":-1,"state":"INIT","tx":2,"txbytes":20,"rx":2,"rxbytes":30,"connects":1,"disconnects":1},
            ":0/internal":{"nodeid":-1,"state":"UP","tx":9,"txbytes":9,"rx":9,"rxbytes":9,"connects":0,"disconnects":0}}}"#;
        let s = parse(json).unwrap();
        assert_eq!(
            s,
            Snapshot {
                outgoing_bytes: 520,
                incoming_bytes: 430,
                requests: 7,
                responses: 6,
                connections: 1,
                connects: 2,
                disconnects: 1,
            }
        );
        assert_eq!(parse(b"not json"), None);
    }

    #[test]
    fn series_live_as_long_as_the_client() {
        let cell = register(ClientKind::Consumer, "stats-test-admin");
        // Not reported yet: not listed.
        assert!(!snapshot().iter().any(|(_, id, _)| id == "stats-test-admin"));
        cell.record(br#"{"brokers":{"b/1":{"state":"UP","txbytes":3}}}"#);
        let listed = |id: &str| snapshot().into_iter().find(|(_, i, _)| i == id);
        assert_eq!(
            listed("stats-test-admin").map(|s| s.2.outgoing_bytes),
            Some(3)
        );
        drop(cell);
        assert_eq!(listed("stats-test-admin"), None);
    }

    #[test]
    fn admin_clients_are_listed_from_creation_until_dropped() {
        let counters = Arc::new(sluice_group::net_metrics::Counters::default());
        register_admin("stats-test-adminclient", &counters);
        let listed = || {
            snapshot()
                .into_iter()
                .find(|(_, i, _)| i == "stats-test-adminclient")
        };
        assert_eq!(
            listed(),
            Some((
                ClientKind::Admin,
                "stats-test-adminclient".to_string(),
                Snapshot::default()
            ))
        );
        drop(counters);
        assert_eq!(listed(), None);
    }
}
