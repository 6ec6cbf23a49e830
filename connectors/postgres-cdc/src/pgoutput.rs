//! Decoding of the `pgoutput` logical replication messages (protocol version 1), as the
//! PostgreSQL documentation's "Logical Replication Message Formats" defines them.
//!
//! Every read is bounds-checked: a short or malformed message is a [`DecodeError`], never a
//! panic, and no length read from the wire sizes an allocation beyond the bytes present.

use std::fmt;

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed pgoutput message: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// One column of a tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum TupleValue {
    Null,
    /// An unchanged TOASTed value the server did not send.
    Unchanged,
    Text(String),
    Binary(Vec<u8>),
}

/// A column of a `Relation` message.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationColumn {
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// The messages Sluice acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Begin {
        final_lsn: u64,
        /// µs since 1970-01-01.
        commit_ts: i64,
        xid: u32,
    },
    Commit {
        commit_lsn: u64,
        end_lsn: u64,
        commit_ts: i64,
    },
    Origin {
        lsn: u64,
        name: String,
    },
    Relation {
        id: u32,
        namespace: String,
        name: String,
        replica_identity: u8,
        columns: Vec<RelationColumn>,
    },
    Type {
        oid: u32,
        namespace: String,
        name: String,
    },
    Insert {
        relation: u32,
        new: Vec<TupleValue>,
    },
    Update {
        relation: u32,
        /// The old key ('K') or the whole old row ('O', REPLICA IDENTITY FULL).
        old: Option<Vec<TupleValue>>,
        old_is_key: bool,
        new: Vec<TupleValue>,
    },
    Delete {
        relation: u32,
        old: Vec<TupleValue>,
        old_is_key: bool,
    },
    Truncate {
        options: u8,
        relations: Vec<u32>,
    },
    LogicalMessage {
        transactional: bool,
        lsn: u64,
        prefix: String,
        content: Vec<u8>,
    },
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| {
                DecodeError(format!(
                    "{what}: needs {n} bytes at {}, message has {}",
                    self.pos,
                    self.buf.len()
                ))
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        Ok(self.u64(what)? as i64)
    }
    fn cstring(&mut self, what: &str) -> Result<String, DecodeError> {
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| DecodeError(format!("{what}: unterminated string")))?;
        let s = String::from_utf8_lossy(&rest[..nul]).into_owned();
        self.pos += nul + 1;
        Ok(s)
    }
    fn tuple(&mut self) -> Result<Vec<TupleValue>, DecodeError> {
        let n = self.u16("tuple column count")?;
        // Each column takes at least one byte: a count beyond the bytes left is malformed.
        if usize::from(n) > self.buf.len().saturating_sub(self.pos) {
            return Err(DecodeError(format!("tuple claims {n} columns")));
        }
        let mut out = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            out.push(match self.u8("tuple column kind")? {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::Unchanged,
                b't' => {
                    let len = self.u32("text length")? as usize;
                    let bytes = self.take(len, "text value")?;
                    TupleValue::Text(String::from_utf8_lossy(bytes).into_owned())
                }
                b'b' => {
                    let len = self.u32("binary length")? as usize;
                    TupleValue::Binary(self.take(len, "binary value")?.to_vec())
                }
                k => return Err(DecodeError(format!("unknown tuple column kind {k}"))),
            });
        }
        Ok(out)
    }
}

fn pg_ts(micros: i64) -> i64 {
    micros.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// Decodes one pgoutput message (the payload of an XLogData). `Ok(None)` for messages Sluice
/// does not use (e.g. streamed-transaction messages of newer protocol versions).
pub fn decode(buf: &[u8]) -> Result<Option<Message>, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let tag = r.u8("message tag")?;
    Ok(Some(match tag {
        b'B' => Message::Begin {
            final_lsn: r.u64("begin lsn")?,
            commit_ts: pg_ts(r.i64("begin timestamp")?),
            xid: r.u32("xid")?,
        },
        b'C' => {
            r.u8("commit flags")?;
            Message::Commit {
                commit_lsn: r.u64("commit lsn")?,
                end_lsn: r.u64("end lsn")?,
                commit_ts: pg_ts(r.i64("commit timestamp")?),
            }
        }
        b'O' => Message::Origin {
            lsn: r.u64("origin lsn")?,
            name: r.cstring("origin name")?,
        },
        b'R' => {
            let id = r.u32("relation id")?;
            let namespace = r.cstring("namespace")?;
            let name = r.cstring("relation name")?;
            let replica_identity = r.u8("replica identity")?;
            let n = r.u16("column count")?;
            let mut columns = Vec::with_capacity(usize::from(n).min(buf.len()));
            for _ in 0..n {
                let flags = r.u8("column flags")?;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name: r.cstring("column name")?,
                    type_oid: r.u32("column type")?,
                    type_modifier: r.u32("type modifier")? as i32,
                });
            }
            Message::Relation {
                id,
                namespace,
                name,
                replica_identity,
                columns,
            }
        }
        b'Y' => Message::Type {
            oid: r.u32("type oid")?,
            namespace: r.cstring("type namespace")?,
            name: r.cstring("type name")?,
        },
        b'I' => {
            let relation = r.u32("relation id")?;
            match r.u8("insert tuple tag")? {
                b'N' => {}
                t => return Err(DecodeError(format!("insert: expected 'N', got {t}"))),
            }
            Message::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32("relation id")?;
            let mut old = None;
            let mut old_is_key = false;
            let mut t = r.u8("update tuple tag")?;
            if t == b'K' || t == b'O' {
                old_is_key = t == b'K';
                old = Some(r.tuple()?);
                t = r.u8("update new tuple tag")?;
            }
            if t != b'N' {
                return Err(DecodeError(format!("update: expected 'N', got {t}")));
            }
            Message::Update {
                relation,
                old,
                old_is_key,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32("relation id")?;
            let t = r.u8("delete tuple tag")?;
            if t != b'K' && t != b'O' {
                return Err(DecodeError(format!("delete: expected 'K' or 'O', got {t}")));
            }
            Message::Delete {
                relation,
                old_is_key: t == b'K',
                old: r.tuple()?,
            }
        }
        b'T' => {
            let n = r.u32("truncate relation count")?;
            let options = r.u8("truncate options")?;
            if (n as usize).saturating_mul(4) > buf.len() {
                return Err(DecodeError(format!("truncate claims {n} relations")));
            }
            let mut relations = Vec::with_capacity(n as usize);
            for _ in 0..n {
                relations.push(r.u32("truncated relation")?);
            }
            Message::Truncate { options, relations }
        }
        b'M' => {
            let flags = r.u8("message flags")?;
            let lsn = r.u64("message lsn")?;
            let prefix = r.cstring("message prefix")?;
            let len = r.u32("message length")? as usize;
            Message::LogicalMessage {
                transactional: flags & 1 == 1,
                lsn,
                prefix,
                content: r.take(len, "message content")?.to_vec(),
            }
        }
        _ => return Ok(None),
    }))
}

/// `X/Y` text form of an LSN.
pub fn lsn_to_string(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// Parses the `X/Y` text form of an LSN.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    }

    #[test]
    fn relation_insert_update_delete() {
        let mut rel = vec![b'R'];
        rel.extend(16384u32.to_be_bytes());
        rel.extend(cs("public"));
        rel.extend(cs("t"));
        rel.push(b'd');
        rel.extend(2u16.to_be_bytes());
        rel.push(1);
        rel.extend(cs("id"));
        rel.extend(23u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        rel.push(0);
        rel.extend(cs("v"));
        rel.extend(25u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        let m = decode(&rel).unwrap().unwrap();
        let Message::Relation { columns, .. } = m else {
            panic!("{m:?}")
        };
        assert_eq!(columns.len(), 2);
        assert!(columns[0].key && !columns[1].key);
        assert_eq!(columns[1].type_oid, 25);

        let mut upd = vec![b'U'];
        upd.extend(16384u32.to_be_bytes());
        upd.push(b'K');
        upd.extend(2u16.to_be_bytes());
        upd.push(b't');
        upd.extend(1u32.to_be_bytes());
        upd.push(b'1');
        upd.push(b'n');
        upd.push(b'N');
        upd.extend(2u16.to_be_bytes());
        upd.push(b't');
        upd.extend(1u32.to_be_bytes());
        upd.push(b'2');
        upd.push(b'u');
        assert_eq!(
            decode(&upd).unwrap().unwrap(),
            Message::Update {
                relation: 16384,
                old: Some(vec![TupleValue::Text("1".into()), TupleValue::Null]),
                old_is_key: true,
                new: vec![TupleValue::Text("2".into()), TupleValue::Unchanged],
            }
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut ins = vec![b'I'];
        ins.extend(1u32.to_be_bytes());
        ins.push(b'N');
        ins.extend(60000u16.to_be_bytes());
        assert!(decode(&ins).is_err());
        let mut ins = vec![b'I'];
        ins.extend(1u32.to_be_bytes());
        ins.push(b'N');
        ins.extend(1u16.to_be_bytes());
        ins.push(b't');
        ins.extend(u32::MAX.to_be_bytes());
        assert!(decode(&ins).is_err());
        assert!(decode(&[b'B', 0, 0]).is_err());
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn begin_times_are_unix_micros() {
        let mut b = vec![b'B'];
        b.extend(0x16B3748u64.to_be_bytes());
        b.extend(0i64.to_be_bytes());
        b.extend(750u32.to_be_bytes());
        assert_eq!(
            decode(&b).unwrap().unwrap(),
            Message::Begin {
                final_lsn: 0x16B3748,
                commit_ts: PG_EPOCH_OFFSET_MICROS,
                xid: 750
            }
        );
        assert_eq!(lsn_to_string(0x1_016B3748), "1/16B3748");
        assert_eq!(parse_lsn("1/16B3748"), Some(0x1_016B3748));
    }
}
