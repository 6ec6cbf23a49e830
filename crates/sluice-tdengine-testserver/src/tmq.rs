//! taosAdapter's TMQ WebSocket endpoint `/rest/tmq` (taosAdapter `controller/ws/tmq`) over the
//! store's write-ahead log: `subscribe`, `poll`, `fetch`, `fetch_block`, `position`,
//! `committed`, `commit_offset`, `commit`, `unsubscribe`, `version`.
//!
//! The rules it follows (what a client may rely on, as with TDengine):
//! - Every row written to a database appends one entry to its WAL; an entry's index is its
//!   version. Each database has one vgroup ([`VGROUP_ID`]).
//! - A consumer starts, per topic, at its group's committed offset, else at
//!   `offset_reset` (`earliest`: the WAL's start, `latest`: its end; `none`: an error).
//! - `poll` returns a message of the topic's rows from the position on (at most
//!   [`AppState::tmq_rows_per_message`] rows), `offset` = the version it starts at; the
//!   position moves past its last entry. Rows are read at poll time (a later merge shows).
//! - `fetch` hands out one block per child table (metadata as JSON, the raw block by
//!   `fetch_block` as a binary frame: timing, req_id, message_id, then the block), then
//!   `completed`.
//! - `commit_offset` stores a position for the group; `commit` stores the current positions.
//! - One consumer per group and topic is assumed: the single vgroup is not split between
//!   consumers of a group (TDengine would rebalance vgroups).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};

use crate::store::{Kind, Store, TopicSource, Val, VGROUP_ID};
use crate::{lock, AppState};

/// `tmq_committed` of a group that never committed.
pub const OFFSET_INVALID: i64 = -2_147_467_247;

/// Wire type code of a kind (reference §6).
pub fn type_code(k: Kind) -> u8 {
    match k {
        Kind::Bool => 1,
        Kind::TinyInt => 2,
        Kind::SmallInt => 3,
        Kind::Int => 4,
        Kind::BigInt => 5,
        Kind::Float => 6,
        Kind::Double => 7,
        Kind::Varchar => 8,
        Kind::Timestamp => 9,
        Kind::Nchar => 10,
        Kind::UTinyInt => 11,
        Kind::USmallInt => 12,
        Kind::UInt => 13,
        Kind::UBigInt => 14,
        Kind::Varbinary => 16,
        Kind::Geometry => 20,
    }
}

/// One block of a message.
struct BlockData {
    table: String,
    names: Vec<String>,
    kinds: Vec<Kind>,
    widths: Vec<i32>,
    rows: Vec<Vec<Val>>,
}

struct Polled {
    id: u64,
    blocks: Vec<BlockData>,
    next: usize,
    precision: i64,
    /// The raw block `fetch` prepared for `fetch_block`.
    buffer: Option<Vec<u8>>,
}

struct Consumer {
    group: String,
    topics: Vec<String>,
    positions: HashMap<String, i64>,
    message: Option<Polled>,
    next_id: u64,
    turn: usize,
}

fn reply(action: &str, req_id: u64, extra: serde_json::Value) -> String {
    let mut v = serde_json::json!({
        "code": 0, "message": "", "action": action, "req_id": req_id, "timing": 1000,
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    v.to_string()
}

fn error(action: &str, req_id: u64, code: i32, message: &str) -> String {
    serde_json::json!({
        "code": code & 0xffff, "message": message, "action": action, "req_id": req_id,
        "timing": 1000,
    })
    .to_string()
}

fn precision_code(p: &str) -> i64 {
    match p {
        "us" => 1,
        "ns" => 2,
        _ => 0,
    }
}

/// Serves one WebSocket connection until it closes.
pub async fn serve(mut socket: WebSocket, state: AppState) {
    let mut consumer: Option<Consumer> = None;
    while let Some(Ok(msg)) = socket.recv().await {
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let action = v
            .get("action")
            .and_then(|a| a.as_str())
            .unwrap_or_default()
            .to_string();
        let args = v.get("args").cloned().unwrap_or(serde_json::Value::Null);
        let req_id = args.get("req_id").and_then(|r| r.as_u64()).unwrap_or(0);
        let was = consumer.is_some();
        let out = handle(&state, &mut consumer, &action, &args, req_id).await;
        match (was, consumer.is_some()) {
            (false, true) => {
                state.tmq_consumers.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                state.tmq_consumers.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        let mut broken = false;
        for m in out {
            if socket.send(m).await.is_err() {
                broken = true;
                break;
            }
        }
        if broken {
            break;
        }
    }
    if consumer.is_some() {
        state.tmq_consumers.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn handle(
    state: &AppState,
    consumer: &mut Option<Consumer>,
    action: &str,
    args: &serde_json::Value,
    req_id: u64,
) -> Vec<Message> {
    let text = |s: String| vec![Message::Text(s.into())];
    let str_arg = |k: &str| {
        args.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    if action == "version" {
        return text(reply(
            action,
            req_id,
            serde_json::json!({"version": "3.3.3.0"}),
        ));
    }
    if action == "subscribe" {
        if consumer.is_some() {
            return text(error(
                action,
                req_id,
                0xffff,
                "tmq should have unsubscribed first",
            ));
        }
        let store = lock(&state.store);
        if str_arg("user") != store.user || str_arg("password") != store.password {
            // taosAdapter reports a failed `tmq_consumer_new` as 0xffff with TDengine's text.
            return text(error(action, req_id, 0xffff, "Authentication failure"));
        }
        let group = str_arg("group_id");
        if group.is_empty() {
            return text(error(
                action,
                req_id,
                0x0118,
                "invalid value for key 'group.id': ",
            ));
        }
        let reset = match str_arg("offset_reset").to_ascii_lowercase().as_str() {
            "" | "earliest" => "earliest",
            "latest" => "latest",
            "none" => "none",
            other => {
                return text(error(
                    action,
                    req_id,
                    0x0118,
                    &format!("invalid value for key 'auto.offset.reset': {other}"),
                ))
            }
        };
        let topics: Vec<String> = args
            .get("topics")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut positions = HashMap::new();
        for t in &topics {
            let Some(def) = store.topics.get(t) else {
                return text(error(
                    action,
                    req_id,
                    crate::sql::TOPIC_NOT_EXIST,
                    "Topic not exist",
                ));
            };
            let end = store
                .databases
                .get(&def.db)
                .map_or(0, |d| d.wal.len() as i64);
            let start =
                match store.committed.get(&(group.clone(), t.clone())) {
                    Some(c) => *c,
                    None if reset == "earliest" => 0,
                    None if reset == "latest" => end,
                    None => return text(error(
                        action,
                        req_id,
                        0x4006,
                        "Can not get the offset: no committed offset and auto.offset.reset=none",
                    )),
                };
            positions.insert(t.clone(), start);
        }
        *consumer = Some(Consumer {
            group,
            topics,
            positions,
            message: None,
            next_id: 0,
            turn: 0,
        });
        return text(reply(
            action,
            req_id,
            serde_json::json!({"version": "3.3.3.0"}),
        ));
    }
    let Some(c) = consumer.as_mut() else {
        return text(error(action, req_id, 0xffff, "tmq not init"));
    };
    match action {
        "poll" => {
            let blocking = args
                .get("blocking_time")
                .and_then(|b| b.as_u64())
                .unwrap_or(0);
            let deadline = Instant::now() + Duration::from_millis(blocking);
            loop {
                let found = {
                    let store = lock(&state.store);
                    next_message(&store, c, state.tmq_rows_per_message())
                };
                if let Some((topic, db, start, end, blocks, precision)) = found {
                    c.next_id += 1;
                    c.positions.insert(topic.clone(), end);
                    c.message = Some(Polled {
                        id: c.next_id,
                        blocks,
                        next: 0,
                        precision,
                        buffer: None,
                    });
                    return text(reply(
                        action,
                        req_id,
                        serde_json::json!({
                            "have_message": true, "topic": topic, "database": db,
                            "vgroup_id": VGROUP_ID, "message_type": 1,
                            "message_id": c.next_id, "offset": start,
                        }),
                    ));
                }
                if Instant::now() >= deadline {
                    return text(reply(
                        action,
                        req_id,
                        serde_json::json!({
                            "have_message": false, "topic": "", "database": "", "vgroup_id": 0,
                            "message_type": 0, "message_id": 0, "offset": 0,
                        }),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        "fetch" => {
            let id = args.get("message_id").and_then(|m| m.as_u64()).unwrap_or(0);
            let Some(m) = c.message.as_mut().filter(|m| m.id == id) else {
                return text(error(action, req_id, 0xffff, "message is nil"));
            };
            let Some(b) = m.blocks.get(m.next) else {
                m.buffer = None;
                return text(reply(
                    action,
                    req_id,
                    serde_json::json!({"message_id": id, "completed": true}),
                ));
            };
            m.next += 1;
            let mut buf = Vec::with_capacity(24);
            buf.extend_from_slice(&0u64.to_le_bytes());
            buf.extend_from_slice(&req_id.to_le_bytes());
            buf.extend_from_slice(&id.to_le_bytes());
            buf.extend_from_slice(&encode_block(&b.kinds, &b.widths, &b.rows));
            let resp = serde_json::json!({
                "message_id": id, "completed": false, "table_name": b.table,
                "rows": b.rows.len(), "fields_count": b.names.len(),
                "fields_names": b.names,
                "fields_types": b.kinds.iter().map(|k| type_code(*k)).collect::<Vec<_>>(),
                "fields_lengths": b.widths,
                "precision": m.precision,
            });
            m.buffer = Some(buf);
            text(reply(action, req_id, resp))
        }
        "fetch_block" => {
            let id = args.get("message_id").and_then(|m| m.as_u64()).unwrap_or(0);
            match c.message.as_mut().filter(|m| m.id == id) {
                Some(Polled {
                    buffer: Some(buf), ..
                }) => {
                    let mut out = buf.clone();
                    out[..8].copy_from_slice(&1000u64.to_le_bytes());
                    vec![Message::Binary(out.into())]
                }
                _ => text(error(action, req_id, 0xffff, "no fetch data")),
            }
        }
        "position" | "committed" => {
            let store = lock(&state.store);
            let mut out = Vec::new();
            for tv in args
                .get("topic_vgroup_ids")
                .and_then(|a| a.as_array())
                .cloned()
                .unwrap_or_default()
            {
                let topic = tv
                    .get("topic")
                    .and_then(|t| t.as_str())
                    .unwrap_or_default()
                    .to_string();
                let vg = tv.get("vgroup_id").and_then(|g| g.as_i64()).unwrap_or(-1);
                if !c.topics.contains(&topic) || vg != i64::from(VGROUP_ID) {
                    return text(error(
                        action,
                        req_id,
                        0x4000,
                        "Invalid parameters: topic or vgroup not assigned",
                    ));
                }
                out.push(if action == "position" {
                    c.positions.get(&topic).copied().unwrap_or(0)
                } else {
                    store
                        .committed
                        .get(&(c.group.clone(), topic))
                        .copied()
                        .unwrap_or(OFFSET_INVALID)
                });
            }
            let mut extra = serde_json::Map::new();
            extra.insert(action.to_string(), out.into());
            text(reply(action, req_id, serde_json::Value::Object(extra)))
        }
        "commit_offset" => {
            let topic = str_arg("topic");
            let vg = args.get("vgroup_id").and_then(|g| g.as_i64()).unwrap_or(-1);
            let offset = args.get("offset").and_then(|o| o.as_i64()).unwrap_or(-1);
            if !c.topics.contains(&topic) || vg != i64::from(VGROUP_ID) {
                return text(error(
                    action,
                    req_id,
                    0x4000,
                    "Invalid parameters: topic or vgroup not assigned",
                ));
            }
            lock(&state.store)
                .committed
                .insert((c.group.clone(), topic.clone()), offset);
            text(reply(
                action,
                req_id,
                serde_json::json!({"topic": topic, "vgroup_id": vg, "offset": offset}),
            ))
        }
        "commit" => {
            let mut store = lock(&state.store);
            for (t, p) in &c.positions {
                store.committed.insert((c.group.clone(), t.clone()), *p);
            }
            let id = args.get("message_id").and_then(|m| m.as_u64()).unwrap_or(0);
            text(reply(action, req_id, serde_json::json!({"message_id": id})))
        }
        "unsubscribe" => {
            *consumer = None;
            text(reply(action, req_id, serde_json::json!({})))
        }
        other => text(error(
            other,
            req_id,
            0xffff,
            &format!("unknown action:{other}"),
        )),
    }
}

type Found = (String, String, i64, i64, Vec<BlockData>, i64);

/// The next message of the consumer's topics (round robin), if any row is waiting.
fn next_message(store: &Store, c: &mut Consumer, max_rows: usize) -> Option<Found> {
    let n = c.topics.len();
    for k in 0..n {
        let topic = c.topics[(c.turn + k) % n].clone();
        let Some(def) = store.topics.get(&topic) else {
            continue;
        };
        let Some(d) = store.databases.get(&def.db) else {
            continue;
        };
        let start = c.positions.get(&topic).copied().unwrap_or(0).max(0);
        let matches = |table: &str| -> bool {
            match &def.source {
                TopicSource::Select(t) | TopicSource::Stable(t) => {
                    table == t
                        || d.tables
                            .get(table)
                            .and_then(|x| x.stable.as_deref())
                            .is_some_and(|s| s == t)
                }
                TopicSource::Database => true,
            }
        };
        let with_tags = matches!(&def.source, TopicSource::Select(t) if d.stables.contains_key(t));
        let mut blocks: Vec<BlockData> = Vec::new();
        let mut rows = 0;
        let mut end = start;
        for (version, (idx, ts)) in d.wal.iter().enumerate().skip(start as usize) {
            let Some(name) = d.wal_names.get(*idx as usize) else {
                continue;
            };
            if !matches(name) {
                continue;
            }
            if rows >= max_rows {
                break;
            }
            end = version as i64 + 1;
            let Some(table) = d.tables.get(name) else {
                continue;
            };
            let Some(row) = table.rows.get(ts) else {
                continue;
            };
            let Some(columns) = d.columns_of(name) else {
                continue;
            };
            let tags = match (&table.stable, with_tags) {
                (Some(st), true) => d
                    .stables
                    .get(st)
                    .map(|s| s.tags.clone())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let mut values = vec![Val::Ts(*ts)];
            for i in 1..columns.len() {
                values.push(row.get(i).cloned().unwrap_or(Val::Null));
            }
            for i in 0..tags.len() {
                values.push(table.tags.get(i).cloned().unwrap_or(Val::Null));
            }
            let block = match blocks.iter_mut().find(|b| b.table == *name) {
                Some(b) => b,
                None => {
                    let cols = columns.iter().chain(tags.iter());
                    blocks.push(BlockData {
                        table: name.clone(),
                        names: cols.clone().map(|c| c.name.clone()).collect(),
                        kinds: cols.clone().map(|c| c.kind).collect(),
                        widths: cols.map(|c| width(c.kind, c.len)).collect(),
                        rows: Vec::new(),
                    });
                    let last = blocks.len() - 1;
                    &mut blocks[last]
                }
            };
            block.rows.push(values);
            rows += 1;
        }
        if rows > 0 {
            c.turn = (c.turn + k + 1) % n;
            return Some((
                topic,
                def.db.clone(),
                start,
                end,
                blocks,
                precision_code(&d.precision),
            ));
        }
    }
    None
}

/// The width a raw block declares: bytes plus the 2-byte length for VARCHAR, 4 bytes a
/// character plus 2 for NCHAR.
fn width(kind: Kind, len: usize) -> i32 {
    let w = match kind {
        Kind::Nchar => len * 4 + 2,
        k if k.is_var() => len + 2,
        k => k.fixed_len(),
    };
    i32::try_from(w).unwrap_or(i32::MAX)
}

/// Lays rows out as a TDengine raw block (taosAdapter `driver/common/parser/block.go`).
pub fn encode_block(kinds: &[Kind], widths: &[i32], rows: &[Vec<Val>]) -> Vec<u8> {
    let mut lengths = Vec::with_capacity(kinds.len());
    let mut segments = Vec::with_capacity(kinds.len());
    for (c, kind) in kinds.iter().enumerate() {
        let mut seg = Vec::new();
        if kind.is_var() {
            let mut data = Vec::new();
            for row in rows {
                match row.get(c).unwrap_or(&Val::Null) {
                    Val::Null => seg.extend_from_slice(&(-1i32).to_le_bytes()),
                    v => {
                        seg.extend_from_slice(&(data.len() as i32).to_le_bytes());
                        let text = match v {
                            Val::Str(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        let bytes: Vec<u8> = if *kind == Kind::Nchar {
                            text.chars()
                                .flat_map(|ch| (ch as u32).to_le_bytes())
                                .collect()
                        } else {
                            text.into_bytes()
                        };
                        data.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                        data.extend_from_slice(&bytes);
                    }
                }
            }
            lengths.push(data.len() as i32);
            seg.extend_from_slice(&data);
        } else {
            let size = kind.fixed_len();
            let mut bitmap = vec![0u8; rows.len().div_ceil(8)];
            let mut data = Vec::with_capacity(rows.len() * size);
            for (i, row) in rows.iter().enumerate() {
                let v = row.get(c).unwrap_or(&Val::Null);
                let raw: u64 = match (kind, v) {
                    (_, Val::Null) => {
                        bitmap[i >> 3] |= 1 << (7 - (i & 7));
                        0
                    }
                    (Kind::Float, Val::F32(f)) => u64::from(f.to_bits()),
                    (Kind::Float, Val::Float(f)) => u64::from((*f as f32).to_bits()),
                    (Kind::Float, Val::Int(n)) => u64::from((*n as f32).to_bits()),
                    (Kind::Double, Val::Float(f)) => f.to_bits(),
                    (Kind::Double, Val::F32(f)) => f64::from(*f).to_bits(),
                    (Kind::Double, Val::Int(n)) => (*n as f64).to_bits(),
                    (_, Val::Bool(b)) => u64::from(*b),
                    (_, Val::Int(n)) | (_, Val::Ts(n)) => *n as u64,
                    (_, Val::UInt(n)) => *n,
                    (_, Val::Float(f)) => *f as i64 as u64,
                    (_, Val::F32(f)) => *f as i64 as u64,
                    (_, Val::Str(s)) => s.parse::<i64>().unwrap_or(0) as u64,
                };
                data.extend_from_slice(&raw.to_le_bytes()[..size]);
            }
            lengths.push(data.len() as i32);
            seg.extend_from_slice(&bitmap);
            seg.extend_from_slice(&data);
        }
        segments.push(seg);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&1i32.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&(rows.len() as i32).to_le_bytes());
    out.extend_from_slice(&(kinds.len() as i32).to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    for (k, w) in kinds.iter().zip(widths) {
        out.push(type_code(*k));
        out.extend_from_slice(&w.to_le_bytes());
    }
    for l in &lengths {
        out.extend_from_slice(&l.to_le_bytes());
    }
    for s in segments {
        out.extend_from_slice(&s);
    }
    let len = out.len() as i32;
    out[4..8].copy_from_slice(&len.to_le_bytes());
    out
}
