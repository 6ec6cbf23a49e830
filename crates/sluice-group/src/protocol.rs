//! The Connect sub-protocols' member metadata and assignments, byte for byte as
//! `ConnectProtocol` (V0, `default`) and `IncrementalCooperativeConnectProtocol` (V1
//! `compatible`, V2 `sessioned`) write them. Decoding tolerates later versions and missing
//! trailing fields, as Kafka's does.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut};

/// The id of the connector instance itself in an assignment's task list (`CONNECTOR_TASK`).
pub const CONNECTOR_TASK: i32 = -1;
/// `Assignment.NO_ERROR`.
pub const NO_ERROR: i16 = 0;
/// `Assignment.CONFIG_MISMATCH`: the leader's config is behind; read to the end and rejoin.
pub const CONFIG_MISMATCH: i16 = 1;

/// `ConnectProtocolCompatibility`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnectProtocol {
    /// `eager`: protocol name `default`, version 0.
    Eager,
    /// `compatible`: version 1.
    Compatible,
    /// `sessioned`: version 2.
    Sessioned,
}

impl ConnectProtocol {
    /// The JoinGroup protocol name.
    pub fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// From a JoinGroup protocol name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "default" => Some(ConnectProtocol::Eager),
            "compatible" => Some(ConnectProtocol::Compatible),
            "sessioned" => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// From the worker's `connect.protocol` value (`eager`, `compatible`, `sessioned`).
    pub fn from_config(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "eager" => Some(ConnectProtocol::Eager),
            "compatible" => Some(ConnectProtocol::Compatible),
            "sessioned" => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// The protocols a worker configured with `self` advertises, in preference order.
    pub fn advertised(self) -> Vec<ConnectProtocol> {
        match self {
            ConnectProtocol::Eager => vec![ConnectProtocol::Eager],
            ConnectProtocol::Compatible => {
                vec![ConnectProtocol::Compatible, ConnectProtocol::Eager]
            }
            ConnectProtocol::Sessioned => vec![
                ConnectProtocol::Sessioned,
                ConnectProtocol::Compatible,
                ConnectProtocol::Eager,
            ],
        }
    }
}

/// Bytes that are not a Connect protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed Connect protocol {what}: {reason}")]
pub struct ProtocolError {
    pub what: &'static str,
    pub reason: String,
}

/// A connector or one of its tasks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkId {
    Connector(String),
    Task(String, i32),
}

impl WorkId {
    pub fn connector(&self) -> &str {
        match self {
            WorkId::Connector(c) | WorkId::Task(c, _) => c,
        }
    }
}

impl std::fmt::Display for WorkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkId::Connector(c) => f.write_str(c),
            WorkId::Task(c, t) => write!(f, "{c}-{t}"),
        }
    }
}

/// A set of connectors and tasks (ordered, so encodings are deterministic).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Work {
    pub connectors: BTreeSet<String>,
    pub tasks: BTreeSet<(String, i32)>,
}

impl Work {
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }
    pub fn len(&self) -> usize {
        self.connectors.len() + self.tasks.len()
    }
    pub fn insert(&mut self, id: WorkId) {
        match id {
            WorkId::Connector(c) => {
                self.connectors.insert(c);
            }
            WorkId::Task(c, t) => {
                self.tasks.insert((c, t));
            }
        }
    }
    pub fn remove(&mut self, id: &WorkId) -> bool {
        match id {
            WorkId::Connector(c) => self.connectors.remove(c),
            WorkId::Task(c, t) => self.tasks.remove(&(c.clone(), *t)),
        }
    }
    pub fn contains(&self, id: &WorkId) -> bool {
        match id {
            WorkId::Connector(c) => self.connectors.contains(c),
            WorkId::Task(c, t) => self.tasks.contains(&(c.clone(), *t)),
        }
    }
    pub fn ids(&self) -> impl Iterator<Item = WorkId> + '_ {
        self.connectors
            .iter()
            .map(|c| WorkId::Connector(c.clone()))
            .chain(self.tasks.iter().map(|(c, t)| WorkId::Task(c.clone(), *t)))
    }
    /// `self` minus `other`.
    pub fn minus(&self, other: &Work) -> Work {
        Work {
            connectors: self
                .connectors
                .difference(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }
    pub fn union(&self, other: &Work) -> Work {
        Work {
            connectors: self.connectors.union(&other.connectors).cloned().collect(),
            tasks: self.tasks.union(&other.tasks).cloned().collect(),
        }
    }
}

impl FromIterator<WorkId> for Work {
    fn from_iter<I: IntoIterator<Item = WorkId>>(iter: I) -> Self {
        let mut w = Work::default();
        for id in iter {
            w.insert(id);
        }
        w
    }
}

/// A member's JoinGroup metadata (`ConnectProtocol.WorkerState` / `ExtendedWorkerState`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerMetadata {
    pub version: i16,
    /// The worker's advertised REST URL.
    pub url: String,
    /// The offset of the next config-topic record this worker knows.
    pub config_offset: i64,
    /// V1+: what the worker runs now, or `None`.
    pub allocation: Option<Assignment>,
}

/// A SyncGroup assignment (`ConnectProtocol.Assignment` / `ExtendedAssignment`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub version: i16,
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    pub leader_url: String,
    pub config_offset: i64,
    /// Newly assigned (V0: everything assigned).
    pub assigned: Work,
    /// V1+: what the member must stop.
    pub revoked: Work,
    /// V1+: scheduled rebalance delay in ms.
    pub delay: i32,
}

impl Assignment {
    pub fn empty(version: i16) -> Self {
        Assignment {
            version,
            error: NO_ERROR,
            leader: String::new(),
            leader_url: String::new(),
            config_offset: -1,
            assigned: Work::default(),
            revoked: Work::default(),
            delay: 0,
        }
    }
}

fn put_string(buf: &mut Vec<u8>, s: &str) {
    buf.put_i16(s.len() as i16);
    buf.put_slice(s.as_bytes());
}

/// Connector entries: connector name, then `-1` first if the connector itself is included,
/// then its task ids.
fn put_work(buf: &mut Vec<u8>, work: &Work) {
    let mut names: BTreeSet<&str> = work.connectors.iter().map(String::as_str).collect();
    names.extend(work.tasks.iter().map(|(c, _)| c.as_str()));
    buf.put_i32(names.len() as i32);
    for name in names {
        put_string(buf, name);
        let mut ids = Vec::new();
        if work.connectors.contains(name) {
            ids.push(CONNECTOR_TASK);
        }
        ids.extend(
            work.tasks
                .range((name.to_string(), i32::MIN)..=(name.to_string(), i32::MAX))
                .map(|(_, t)| *t),
        );
        buf.put_i32(ids.len() as i32);
        for id in ids {
            buf.put_i32(id);
        }
    }
}

/// Serializes member metadata in its version's layout.
pub fn encode_metadata(m: &WorkerMetadata) -> Vec<u8> {
    let mut buf = Vec::new();
    buf.put_i16(m.version);
    put_string(&mut buf, &m.url);
    buf.put_i64(m.config_offset);
    if m.version >= 1 {
        match &m.allocation {
            Some(a) => {
                let bytes = encode_assignment(a);
                buf.put_i32(bytes.len() as i32);
                buf.put_slice(&bytes);
            }
            None => buf.put_i32(-1),
        }
    }
    buf
}

/// Serializes an assignment in its version's layout.
pub fn encode_assignment(a: &Assignment) -> Vec<u8> {
    let mut buf = Vec::new();
    buf.put_i16(a.version);
    buf.put_i16(a.error);
    put_string(&mut buf, &a.leader);
    put_string(&mut buf, &a.leader_url);
    buf.put_i64(a.config_offset);
    put_work(&mut buf, &a.assigned);
    if a.version >= 1 {
        put_work(&mut buf, &a.revoked);
        buf.put_i32(a.delay);
    }
    buf
}

struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: impl Into<String>) -> ProtocolError {
        ProtocolError {
            what: self.what,
            reason: reason.into(),
        }
    }
    fn need(&self, n: usize) -> Result<(), ProtocolError> {
        if self.buf.remaining() < n {
            Err(self.err(format!(
                "needed {n} more bytes, {} left",
                self.buf.remaining()
            )))
        } else {
            Ok(())
        }
    }
    fn i16(&mut self) -> Result<i16, ProtocolError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }
    fn i32(&mut self) -> Result<i32, ProtocolError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }
    fn i64(&mut self) -> Result<i64, ProtocolError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }
    fn string(&mut self) -> Result<String, ProtocolError> {
        let len = self.i16()?;
        if len < 0 {
            return Err(self.err("null string"));
        }
        let len = len as usize;
        self.need(len)?;
        let s = std::str::from_utf8(&self.buf[..len])
            .map_err(|e| self.err(format!("string is not UTF-8: {e}")))?
            .to_string();
        self.buf.advance(len);
        Ok(s)
    }
    fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, ProtocolError> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        let len = len as usize;
        self.need(len)?;
        let (b, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(Some(b))
    }
    fn work(&mut self) -> Result<Work, ProtocolError> {
        let n = self.i32()?;
        let mut work = Work::default();
        for _ in 0..n.max(0) {
            let connector = self.string()?;
            let count = self.i32()?;
            for _ in 0..count.max(0) {
                let id = self.i32()?;
                if id == CONNECTOR_TASK {
                    work.connectors.insert(connector.clone());
                } else {
                    work.tasks.insert((connector.clone(), id));
                }
            }
        }
        Ok(work)
    }
}

/// Parses member metadata of any version (later versions read as V1).
pub fn decode_metadata(bytes: &[u8]) -> Result<WorkerMetadata, ProtocolError> {
    let mut r = Reader {
        buf: bytes,
        what: "member metadata",
    };
    let version = r.i16()?;
    if version < 0 {
        return Err(r.err(format!("unsupported version {version}")));
    }
    let url = r.string()?;
    let config_offset = r.i64()?;
    let allocation = if version >= 1 && r.buf.has_remaining() {
        match r.nullable_bytes()? {
            Some(b) => Some(decode_assignment(b)?),
            None => None,
        }
    } else {
        None
    };
    Ok(WorkerMetadata {
        version,
        url,
        config_offset,
        allocation,
    })
}

/// Parses an assignment of any version; missing trailing V1 fields take their defaults.
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, ProtocolError> {
    let mut r = Reader {
        buf: bytes,
        what: "assignment",
    };
    let version = r.i16()?;
    if version < 0 {
        return Err(r.err(format!("unsupported version {version}")));
    }
    let error = r.i16()?;
    let leader = r.string()?;
    let leader_url = r.string()?;
    let config_offset = r.i64()?;
    let assigned = r.work()?;
    let (revoked, delay) = if version >= 1 {
        let revoked = if r.buf.has_remaining() {
            r.work()?
        } else {
            Work::default()
        };
        let delay = if r.buf.has_remaining() { r.i32()? } else { 0 };
        (revoked, delay)
    } else {
        (Work::default(), 0)
    };
    Ok(Assignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        assigned,
        revoked,
        delay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(items: &[(&str, i32)]) -> Work {
        items
            .iter()
            .map(|(c, t)| {
                if *t == CONNECTOR_TASK {
                    WorkId::Connector(c.to_string())
                } else {
                    WorkId::Task(c.to_string(), *t)
                }
            })
            .collect()
    }

    #[test]
    fn metadata_v0_golden() {
        let m = WorkerMetadata {
            version: 0,
            url: "http://a:1/".into(),
            config_offset: 5,
            allocation: None,
        };
        let bytes = encode_metadata(&m);
        assert_eq!(
            bytes,
            [
                0, 0, // version
                0, 11, b'h', b't', b't', b'p', b':', b'/', b'/', b'a', b':', b'1',
                b'/', // url
                0, 0, 0, 0, 0, 0, 0, 5, // config offset
            ]
        );
        assert_eq!(decode_metadata(&bytes).unwrap(), m);
    }

    #[test]
    fn metadata_v2_with_and_without_allocation() {
        let none = WorkerMetadata {
            version: 2,
            url: "u".into(),
            config_offset: -1,
            allocation: None,
        };
        let bytes = encode_metadata(&none);
        assert_eq!(
            bytes,
            [0, 2, 0, 1, b'u', 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255]
        );
        assert_eq!(decode_metadata(&bytes).unwrap(), none);

        let alloc = Assignment {
            version: 2,
            error: 0,
            leader: "l".into(),
            leader_url: "u".into(),
            config_offset: 3,
            assigned: work(&[("c", -1), ("c", 0)]),
            revoked: Work::default(),
            delay: 0,
        };
        let with = WorkerMetadata {
            allocation: Some(alloc.clone()),
            ..none
        };
        let bytes = encode_metadata(&with);
        let inner = encode_assignment(&alloc);
        assert_eq!(
            &bytes[..13],
            &[0, 2, 0, 1, b'u', 255, 255, 255, 255, 255, 255, 255, 255]
        );
        assert_eq!(&bytes[13..17], &(inner.len() as i32).to_be_bytes());
        assert_eq!(&bytes[17..], &inner[..]);
        assert_eq!(decode_metadata(&bytes).unwrap(), with);
    }

    #[test]
    fn assignment_v1_golden() {
        let a = Assignment {
            version: 1,
            error: 0,
            leader: "m".into(),
            leader_url: "u".into(),
            config_offset: 7,
            assigned: work(&[("b", 0), ("a", -1), ("a", 1), ("a", 0)]),
            revoked: work(&[("z", 2)]),
            delay: 300,
        };
        let bytes = encode_assignment(&a);
        let expected: Vec<u8> = [
            &[0, 1][..],               // version
            &[0, 0],                   // error
            &[0, 1, b'm'],             // leader
            &[0, 1, b'u'],             // leader url
            &[0, 0, 0, 0, 0, 0, 0, 7], // config offset
            &[0, 0, 0, 2],             // two connectors assigned
            &[0, 1, b'a', 0, 0, 0, 3], // "a": 3 ids, connector first
            &[255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 1],
            &[0, 1, b'b', 0, 0, 0, 1, 0, 0, 0, 0],
            &[0, 0, 0, 1], // one connector revoked
            &[0, 1, b'z', 0, 0, 0, 1, 0, 0, 0, 2],
            &[0, 0, 1, 44], // delay 300
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(decode_assignment(&bytes).unwrap(), a);
    }

    #[test]
    fn assignment_v0_golden_and_tolerant_decoding() {
        let a = Assignment {
            version: 0,
            error: CONFIG_MISMATCH,
            leader: "m".into(),
            leader_url: "u".into(),
            config_offset: 1,
            assigned: work(&[("c", 0)]),
            revoked: Work::default(),
            delay: 0,
        };
        let bytes = encode_assignment(&a);
        assert_eq!(
            bytes,
            [
                0, 0, 0, 1, 0, 1, b'm', 0, 1, b'u', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, b'c',
                0, 0, 0, 1, 0, 0, 0, 0
            ]
        );
        assert_eq!(decode_assignment(&bytes).unwrap(), a);
        // A V1 assignment whose trailing fields are missing, and a null revoked array.
        let mut v1 = bytes.clone();
        v1[1] = 1;
        let d = decode_assignment(&v1).unwrap();
        assert_eq!((d.revoked.is_empty(), d.delay), (true, 0));
        v1.extend_from_slice(&[255, 255, 255, 255, 0, 0, 0, 9]);
        assert_eq!(decode_assignment(&v1).unwrap().delay, 9);
        // A future version reads as V1.
        let mut v3 = encode_assignment(&Assignment {
            version: 1,
            ..a.clone()
        });
        v3[1] = 3;
        assert_eq!(decode_assignment(&v3).unwrap().version, 3);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&[][..], &[0], &[0, 1, 0, 9, b'x'], &[0, 0, 255, 255]] {
            assert!(decode_assignment(bytes).is_err());
            assert!(decode_metadata(bytes).is_err());
        }
        // Truncated everywhere.
        let full = encode_assignment(&Assignment {
            version: 1,
            error: 0,
            leader: "m".into(),
            leader_url: "u".into(),
            config_offset: 7,
            assigned: work(&[("a", -1), ("a", 0)]),
            revoked: Work::default(),
            delay: 1,
        });
        for n in 0..full.len() - 8 {
            let _ = decode_assignment(&full[..n]);
        }
    }

    #[test]
    fn protocols_in_preference_order() {
        let names: Vec<_> = ConnectProtocol::Sessioned
            .advertised()
            .iter()
            .map(|p| (p.name(), p.version()))
            .collect();
        assert_eq!(names, [("sessioned", 2), ("compatible", 1), ("default", 0)]);
        assert_eq!(
            ConnectProtocol::from_config("EAGER"),
            Some(ConnectProtocol::Eager)
        );
    }
}
