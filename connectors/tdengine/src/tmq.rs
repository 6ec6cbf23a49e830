//! TDengine TMQ (data subscription) through taosAdapter's WebSocket endpoint `/rest/tmq`
//! (taosAdapter `controller/ws/tmq`): `subscribe`, `poll`, `fetch` + `fetch_block` (one raw
//! block per child table of a message), `position`, `commit_offset`, `committed`.
//!
//! Requests are JSON text frames `{"action": …, "args": {…, "req_id": n}}`; replies carry the
//! same `action` and `req_id` and `code` (0 = success). `fetch_block` answers with a binary
//! frame: `timing` (u64), `req_id` (u64), `message_id` (u64), then the raw block
//! ([`decode_block`]). All numbers are little-endian.
//!
//! Offsets: a polled message carries the WAL version it starts at; after it is polled,
//! `position` of its topic and vgroup is where the next message starts, and committing that
//! position (`commit_offset`) makes a restarted consumer of the group resume after the
//! message. The password goes only into the `subscribe` frame; no message here contains it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::taosadapter::TdError;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long one request waits for its reply (a poll waits its blocking time on top).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// TDengine's authentication failure codes (`TSDB_CODE_MND_AUTH_FAILURE`,
/// `TSDB_CODE_RPC_AUTH_FAILURE`, invalid user/password).
const AUTH_CODES: [i64; 4] = [0x0357, 0x0350, 0x0351, 0x0352];

/// What `subscribe` needs.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub user: String,
    pub password: String,
    pub group_id: String,
    /// TMQ `auto.offset.reset`: `earliest`, `latest` or `none`.
    pub offset_reset: String,
    pub topics: Vec<String>,
}

/// One cell of a raw block.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// VARCHAR/BINARY, NCHAR, JSON.
    Text(String),
    /// VARBINARY, GEOMETRY, BLOB.
    Bytes(Vec<u8>),
    /// A timestamp in the block's precision.
    Timestamp(i64),
}

/// One block of a message: the rows of one child table.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub table_name: String,
    /// Column names as the topic's query returns them.
    pub names: Vec<String>,
    /// Wire type codes (reference §6).
    pub types: Vec<u8>,
    /// 0 ms, 1 µs, 2 ns.
    pub precision: i64,
    pub rows: Vec<Vec<Cell>>,
}

impl Block {
    /// Nanoseconds per unit of this block's precision.
    pub fn unit_ns(&self) -> i64 {
        match self.precision {
            2 => 1,
            1 => 1_000,
            _ => 1_000_000,
        }
    }
}

/// A polled data message with all its blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub topic: String,
    pub vgroup_id: i32,
    /// The WAL version the message starts at.
    pub offset: i64,
    pub blocks: Vec<Block>,
}

/// A TMQ consumer on one WebSocket connection.
pub struct Consumer {
    ws: Ws,
    base: String,
    next_req: u64,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("base", &self.base)
            .finish()
    }
}

/// `http://h:p` ⇒ `ws://h:p/rest/tmq` (`https` ⇒ `wss`).
pub fn tmq_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{ws}/rest/tmq")
}

fn server_error(v: &serde_json::Value) -> TdError {
    let code = v.get("code").and_then(|c| c.as_i64()).unwrap_or(-1);
    let desc = v
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string();
    // taosAdapter reports a failed `tmq_consumer_new` as code 0xffff with TDengine's text.
    let lower = desc.to_ascii_lowercase();
    if AUTH_CODES.contains(&code)
        || lower.contains("authentication failure")
        || lower.contains("invalid user")
        || lower.contains("invalid password")
    {
        return TdError::Auth(format!(
            "taosAdapter rejected the TMQ subscription (TDengine ERROR 0x{code:x}: {desc}): check connection.user and connection.password"
        ));
    }
    TdError::Server { code, desc }
}

impl Consumer {
    /// Connects to `/rest/tmq` of taosAdapter at `base` (`http://host:port`) and subscribes.
    pub async fn subscribe(base: &str, sub: &Subscription) -> Result<Consumer, TdError> {
        let url = tmq_url(base);
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        .map_err(|_| TdError::Unreachable(format!("taosAdapter at {url} did not answer within 10 s")))?
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(resp) if resp.status().as_u16() == 404 => {
                TdError::Protocol(format!(
                    "taosAdapter at {base} has no endpoint /rest/tmq (HTTP 404): is connection.url pointing at taosAdapter?"
                ))
            }
            other => TdError::Unreachable(format!("taosAdapter at {url} is unreachable: {other}")),
        })?;
        let mut c = Consumer {
            ws,
            base: base.to_string(),
            next_req: 1,
        };
        c.request(
            "subscribe",
            serde_json::json!({
                "user": sub.user,
                "password": sub.password,
                "group_id": sub.group_id,
                "offset_reset": sub.offset_reset,
                "topics": sub.topics,
                // Sluice commits what Kafka has, itself (`commit_offset`).
                "auto_commit": "false",
                "with_table_name": "true",
            }),
            Duration::ZERO,
        )
        .await?;
        Ok(c)
    }

    fn unreachable(&self, what: &str) -> TdError {
        TdError::Unreachable(format!(
            "the TMQ connection to taosAdapter at {} {what}",
            self.base
        ))
    }

    async fn send(&mut self, action: &str, mut args: serde_json::Value) -> Result<u64, TdError> {
        let req_id = self.next_req;
        self.next_req += 1;
        if let Some(o) = args.as_object_mut() {
            o.insert("req_id".into(), req_id.into());
        }
        let text = serde_json::json!({"action": action, "args": args}).to_string();
        self.ws
            .send(Frame::text(text))
            .await
            .map_err(|e| self.unreachable(&format!("broke: {e}")))?;
        Ok(req_id)
    }

    /// The next frame, within `wait`.
    async fn frame(&mut self, wait: Duration) -> Result<Frame, TdError> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next())
                .await
                .map_err(|_| self.unreachable(&format!("sent no answer within {wait:?}")))?;
            match next {
                None => return Err(self.unreachable("was closed")),
                Some(Err(e)) => return Err(self.unreachable(&format!("broke: {e}"))),
                Some(Ok(Frame::Close(_))) => {
                    return Err(self.unreachable("was closed by the server"))
                }
                Some(Ok(f @ (Frame::Text(_) | Frame::Binary(_)))) => return Ok(f),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends a request and waits for its JSON reply; `code ≠ 0` is an error.
    async fn request(
        &mut self,
        action: &str,
        args: serde_json::Value,
        extra_wait: Duration,
    ) -> Result<serde_json::Value, TdError> {
        let req_id = self.send(action, args).await?;
        loop {
            let text = match self.frame(REPLY_TIMEOUT + extra_wait).await? {
                Frame::Text(t) => t,
                // A binary frame no request of ours asked for now: skip it.
                _ => continue,
            };
            let v: serde_json::Value = serde_json::from_str(text.as_str()).map_err(|e| {
                TdError::Protocol(format!(
                    "taosAdapter sent a TMQ reply that is not JSON ({e}): {}",
                    text.chars().take(200).collect::<String>()
                ))
            })?;
            let same = v.get("action").and_then(|a| a.as_str()) == Some(action)
                && v.get("req_id").and_then(|r| r.as_u64()) == Some(req_id);
            if !same {
                continue;
            }
            if v.get("code").and_then(|c| c.as_i64()) != Some(0) {
                return Err(server_error(&v));
            }
            return Ok(v);
        }
    }

    /// Polls one message, waiting up to `blocking_ms` for one; `None` when there is none.
    pub async fn poll(&mut self, blocking_ms: u64) -> Result<Option<Message>, TdError> {
        let v = self
            .request(
                "poll",
                serde_json::json!({"blocking_time": blocking_ms}),
                Duration::from_millis(blocking_ms),
            )
            .await?;
        if v.get("have_message").and_then(|h| h.as_bool()) != Some(true) {
            return Ok(None);
        }
        let message_id = v.get("message_id").and_then(|m| m.as_u64()).unwrap_or(0);
        let topic = v
            .get("topic")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        let vgroup_id = v
            .get("vgroup_id")
            .and_then(|g| g.as_i64())
            .and_then(|g| i32::try_from(g).ok())
            .unwrap_or(0);
        let offset = v.get("offset").and_then(|o| o.as_i64()).unwrap_or(-1);
        // TMQ_RES_DATA 1, TMQ_RES_TABLE_META 2, TMQ_RES_METADATA 3: only 1 and 3 carry rows.
        let message_type = v.get("message_type").and_then(|t| t.as_i64()).unwrap_or(1);
        let mut blocks = Vec::new();
        if message_type == 1 || message_type == 3 {
            while let Some(block) = self.fetch(message_id).await? {
                blocks.push(block);
            }
        }
        Ok(Some(Message {
            topic,
            vgroup_id,
            offset,
            blocks,
        }))
    }

    /// The next block of message `message_id`, `None` once it is complete.
    async fn fetch(&mut self, message_id: u64) -> Result<Option<Block>, TdError> {
        let v = self
            .request(
                "fetch",
                serde_json::json!({"message_id": message_id}),
                Duration::ZERO,
            )
            .await?;
        if v.get("completed").and_then(|c| c.as_bool()) == Some(true) {
            return Ok(None);
        }
        let strings = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .map(|s| s.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let names = strings("fields_names");
        let types: Vec<u8> = v
            .get("fields_types")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .map(|t| t.as_u64().and_then(|t| u8::try_from(t).ok()).unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        let table_name = v
            .get("table_name")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        let precision = v.get("precision").and_then(|p| p.as_i64()).unwrap_or(0);
        let req_id = self
            .send("fetch_block", serde_json::json!({"message_id": message_id}))
            .await?;
        let bytes = loop {
            match self.frame(REPLY_TIMEOUT).await? {
                Frame::Binary(b) => break b,
                Frame::Text(t) => {
                    // An error reply to fetch_block comes as JSON.
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str()) {
                        if v.get("action").and_then(|a| a.as_str()) == Some("fetch_block")
                            && v.get("req_id").and_then(|r| r.as_u64()) == Some(req_id)
                        {
                            return Err(server_error(&v));
                        }
                    }
                }
                _ => {}
            }
        };
        let block = bytes.get(24..).ok_or_else(|| {
            TdError::Protocol(format!(
                "taosAdapter sent a fetch_block frame of {} bytes, shorter than its 24-byte header",
                bytes.len()
            ))
        })?;
        let rows = decode_block(block).map_err(TdError::Protocol)?;
        if rows.first().is_some_and(|r| r.len() != names.len()) {
            return Err(TdError::Protocol(format!(
                "a TMQ block of {table_name} has {} columns but its fetch named {}",
                rows.first().map_or(0, Vec::len),
                names.len()
            )));
        }
        Ok(Some(Block {
            table_name,
            names,
            types,
            precision,
            rows,
        }))
    }

    /// Where the consumer stands in `topic`/`vgroup_id`: the offset a consumer resuming
    /// after everything polled so far starts at.
    pub async fn position(&mut self, topic: &str, vgroup_id: i32) -> Result<i64, TdError> {
        let v = self
            .request(
                "position",
                serde_json::json!({"topic_vgroup_ids": [{"topic": topic, "vgroup_id": vgroup_id}]}),
                Duration::ZERO,
            )
            .await?;
        v.get("position")
            .and_then(|p| p.get(0))
            .and_then(|p| p.as_i64())
            .ok_or_else(|| TdError::Protocol("a TMQ position reply without a position".into()))
    }

    /// The group's committed offset of `topic`/`vgroup_id` (negative: none).
    pub async fn committed(&mut self, topic: &str, vgroup_id: i32) -> Result<i64, TdError> {
        let v = self
            .request(
                "committed",
                serde_json::json!({"topic_vgroup_ids": [{"topic": topic, "vgroup_id": vgroup_id}]}),
                Duration::ZERO,
            )
            .await?;
        v.get("committed")
            .and_then(|p| p.get(0))
            .and_then(|p| p.as_i64())
            .ok_or_else(|| TdError::Protocol("a TMQ committed reply without an offset".into()))
    }

    /// Commits `offset` (a position) for the group in `topic`/`vgroup_id`.
    pub async fn commit_offset(
        &mut self,
        topic: &str,
        vgroup_id: i32,
        offset: i64,
    ) -> Result<(), TdError> {
        self.request(
            "commit_offset",
            serde_json::json!({"topic": topic, "vgroup_id": vgroup_id, "offset": offset}),
            Duration::ZERO,
        )
        .await?;
        Ok(())
    }

    /// Closes the connection (taosAdapter closes the consumer with it).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}

fn is_var(ty: u8) -> bool {
    // VARCHAR 8, NCHAR 10, JSON 15, VARBINARY 16, BLOB 18, GEOMETRY 20.
    matches!(ty, 8 | 10 | 15 | 16 | 18 | 20)
}

fn fixed_size(ty: u8) -> Option<usize> {
    Some(match ty {
        1 | 2 | 11 => 1,
        3 | 12 => 2,
        4 | 6 | 13 => 4,
        5 | 7 | 9 | 14 => 8,
        _ => return None,
    })
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                format!(
                    "a TMQ raw block ends at byte {} but needs {} more from byte {}",
                    self.b.len(),
                    n,
                    self.pos
                )
            })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn i32(&mut self) -> Result<i32, String> {
        let s = self.take(4)?;
        Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i8(&mut self) -> Result<i8, String> {
        Ok(self.take(1)?[0] as i8)
    }
}

fn le_u64(s: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a[..s.len().min(8)].copy_from_slice(&s[..s.len().min(8)]);
    u64::from_le_bytes(a)
}

fn count(v: i32, what: &str) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| format!("a TMQ raw block has a negative {what} ({v})"))
}

/// Decodes a TDengine raw block (taosAdapter `driver/common/parser/block.go`): a header
/// (version, length, rows, columns, flag as i32, group id as u64), per column its type (i8)
/// and width (i32), per column its data length (i32), then per column either offsets (i32
/// per row, -1 for NULL) and `u16`-prefixed values (VARCHAR bytes, NCHAR as UCS-4), or a NULL
/// bitmap (one bit per row, most significant first) and fixed-size values.
pub fn decode_block(block: &[u8]) -> Result<Vec<Vec<Cell>>, String> {
    let mut r = Reader { b: block, pos: 0 };
    let _version = r.i32()?;
    let _length = r.i32()?;
    let rows = count(r.i32()?, "row count")?;
    let cols = count(r.i32()?, "column count")?;
    let _flag = r.i32()?;
    r.take(8)?;
    let mut types = Vec::with_capacity(cols);
    for _ in 0..cols {
        let ty = r.i8()? as u8;
        let _width = r.i32()?;
        types.push(ty);
    }
    let mut lengths = Vec::with_capacity(cols);
    for _ in 0..cols {
        lengths.push(count(r.i32()?, "column length")?);
    }
    let mut out: Vec<Vec<Cell>> = (0..rows).map(|_| Vec::with_capacity(cols)).collect();
    for (c, &ty) in types.iter().enumerate() {
        if is_var(ty) {
            let mut offsets = Vec::with_capacity(rows);
            for _ in 0..rows {
                offsets.push(r.i32()?);
            }
            let data = r.take(lengths[c])?;
            for (row, &off) in out.iter_mut().zip(&offsets) {
                if off < 0 {
                    row.push(Cell::Null);
                    continue;
                }
                let start = off as usize;
                let len = data
                    .get(start..start + 2)
                    .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
                    .ok_or_else(|| {
                        format!("a TMQ raw block's column {c} has an offset {off} beyond its data")
                    })?;
                let bytes = data.get(start + 2..start + 2 + len).ok_or_else(|| {
                    format!("a TMQ raw block's column {c} has a value longer than its data")
                })?;
                row.push(match ty {
                    10 => Cell::Text(
                        bytes
                            .chunks_exact(4)
                            .filter_map(|ch| {
                                char::from_u32(u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]))
                            })
                            .collect(),
                    ),
                    8 | 15 => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
                    _ => Cell::Bytes(bytes.to_vec()),
                });
            }
        } else {
            let size = fixed_size(ty).ok_or_else(|| {
                format!("a TMQ raw block has column type {ty}, which Sluice cannot read")
            })?;
            let bitmap = r.take(rows.div_ceil(8))?;
            let data = r.take(lengths[c])?;
            for (i, row) in out.iter_mut().enumerate() {
                let null = bitmap[i >> 3] & (1 << (7 - (i & 7))) != 0;
                if null {
                    row.push(Cell::Null);
                    continue;
                }
                let v = data.get(i * size..(i + 1) * size).ok_or_else(|| {
                    format!("a TMQ raw block's column {c} has fewer values than rows")
                })?;
                let u = le_u64(v);
                row.push(match ty {
                    1 => Cell::Bool(v[0] != 0),
                    2 => Cell::Int(i64::from(v[0] as i8)),
                    3 => Cell::Int(i64::from(u as u16 as i16)),
                    4 => Cell::Int(i64::from(u as u32 as i32)),
                    5 => Cell::Int(u as i64),
                    6 => Cell::Float(f32::from_bits(u as u32)),
                    7 => Cell::Double(f64::from_bits(u)),
                    9 => Cell::Timestamp(u as i64),
                    _ => Cell::UInt(u),
                });
            }
        }
    }
    Ok(out)
}

/// Encodes rows as a raw block (the inverse of [`decode_block`]); `widths` are the declared
/// column widths. Used by the tests here and mirrored by the test server.
#[cfg(test)]
pub fn encode_block(types: &[u8], widths: &[i32], rows: &[Vec<Cell>]) -> Vec<u8> {
    let cols = types.len();
    let mut columns: Vec<Vec<u8>> = Vec::new();
    let mut lengths = Vec::new();
    for (c, &ty) in types.iter().enumerate() {
        let mut seg = Vec::new();
        if is_var(ty) {
            let mut data = Vec::new();
            for row in rows {
                match &row[c] {
                    Cell::Null => seg.extend_from_slice(&(-1i32).to_le_bytes()),
                    cell => {
                        seg.extend_from_slice(&(data.len() as i32).to_le_bytes());
                        let bytes: Vec<u8> = match (ty, cell) {
                            (10, Cell::Text(s)) => {
                                s.chars().flat_map(|ch| (ch as u32).to_le_bytes()).collect()
                            }
                            (_, Cell::Text(s)) => s.as_bytes().to_vec(),
                            (_, Cell::Bytes(b)) => b.clone(),
                            _ => Vec::new(),
                        };
                        data.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                        data.extend_from_slice(&bytes);
                    }
                }
            }
            lengths.push(data.len() as i32);
            seg.extend_from_slice(&data);
        } else {
            let size = fixed_size(ty).unwrap_or(8);
            let mut bitmap = vec![0u8; rows.len().div_ceil(8)];
            let mut data = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                let raw: u64 = match &row[c] {
                    Cell::Null => {
                        bitmap[i >> 3] |= 1 << (7 - (i & 7));
                        0
                    }
                    Cell::Bool(b) => u64::from(*b),
                    Cell::Int(v) => *v as u64,
                    Cell::UInt(v) => *v,
                    Cell::Float(f) => u64::from(f.to_bits()),
                    Cell::Double(d) => d.to_bits(),
                    Cell::Timestamp(t) => *t as u64,
                    _ => 0,
                };
                data.extend_from_slice(&raw.to_le_bytes()[..size]);
            }
            lengths.push(data.len() as i32);
            seg.extend_from_slice(&bitmap);
            seg.extend_from_slice(&data);
        }
        columns.push(seg);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&1i32.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&(rows.len() as i32).to_le_bytes());
    out.extend_from_slice(&(cols as i32).to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    for (ty, w) in types.iter().zip(widths) {
        out.push(*ty);
        out.extend_from_slice(&w.to_le_bytes());
    }
    for l in &lengths {
        out.extend_from_slice(&l.to_le_bytes());
    }
    for c in columns {
        out.extend_from_slice(&c);
    }
    let len = out.len() as i32;
    out[4..8].copy_from_slice(&len.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_by_code_or_text() {
        let e =
            server_error(&serde_json::json!({"code": 0xffff, "message": "Authentication failure"}));
        assert!(matches!(e, TdError::Auth(_)), "{e:?}");
        let e = server_error(&serde_json::json!({"code": 0x0357, "message": ""}));
        assert!(matches!(e, TdError::Auth(_)), "{e:?}");
        let e = server_error(&serde_json::json!({"code": 0x03E0, "message": "Topic not exist"}));
        assert!(matches!(e, TdError::Server { code: 0x03E0, .. }), "{e:?}");
    }

    #[test]
    fn urls() {
        assert_eq!(tmq_url("http://h:6041"), "ws://h:6041/rest/tmq");
        assert_eq!(tmq_url("https://h:6041/"), "wss://h:6041/rest/tmq");
    }

    #[test]
    fn blocks_round_trip() {
        let types = [9u8, 6, 4, 8, 10, 1, 5];
        let widths = [8, 4, 4, 66, 132, 1, 8];
        let rows = vec![
            vec![
                Cell::Timestamp(1_538_548_685_000),
                Cell::Float(10.3),
                Cell::Int(219),
                Cell::Text("California.SanFrancisco".into()),
                Cell::Text("北京".into()),
                Cell::Bool(true),
                Cell::Int(-5),
            ],
            vec![
                Cell::Timestamp(1_538_548_695_000),
                Cell::Null,
                Cell::Int(-1),
                Cell::Null,
                Cell::Text(String::new()),
                Cell::Null,
                Cell::Int(i64::MAX),
            ],
        ];
        let b = encode_block(&types, &widths, &rows);
        assert_eq!(decode_block(&b).unwrap(), rows);
        // A truncated block is an error, not a panic.
        for cut in [0, 10, 30, b.len() - 1] {
            assert!(decode_block(&b[..cut]).is_err(), "cut at {cut}");
        }
    }

    /// A block laid out by hand as taosAdapter's parser reads it: one INT column, 9 rows,
    /// row 8 NULL (the second bitmap byte's most significant bit).
    #[test]
    fn bitmap_is_most_significant_bit_first() {
        let mut b = Vec::new();
        for v in [1i32, 0, 9, 1, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&0u64.to_le_bytes());
        b.push(4);
        b.extend_from_slice(&4i32.to_le_bytes());
        b.extend_from_slice(&36i32.to_le_bytes());
        b.extend_from_slice(&[0x00, 0x80]);
        for i in 0..9i32 {
            b.extend_from_slice(&i.to_le_bytes());
        }
        let rows = decode_block(&b).unwrap();
        assert_eq!(rows[7], vec![Cell::Int(7)]);
        assert_eq!(rows[8], vec![Cell::Null]);
    }
}
