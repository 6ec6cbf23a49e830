//! The replication connection: a PostgreSQL connection opened with `replication=database`,
//! which runs the replication commands (`CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT`,
//! `START_REPLICATION SLOT ... LOGICAL`) and then carries the CopyBoth sub-protocol: XLogData
//! and keepalives from the server, standby status updates from us.
//!
//! tokio-postgres cannot open such a connection, so this speaks the protocol itself over
//! tokio, with `postgres-protocol` for the message bytes and SCRAM/MD5 authentication, and
//! OpenSSL for `database.sslmode`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, BytesMut};
use fallible_iterator::FallibleIterator;
use futures::{SinkExt, StreamExt};
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::backend::{self, Message as Backend};
use postgres_protocol::message::frontend;
use sluice_api::ConnectError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::{Decoder, Encoder, Framed};

use crate::config::{ConnectionSettings, SslMode};
use crate::pgoutput::{self, Message, PG_EPOCH_OFFSET_MICROS};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A server error: SQLSTATE and message.
#[derive(Debug, Clone)]
pub struct ServerError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)
    }
}

impl std::error::Error for ServerError {}

/// What can go wrong on the replication connection.
#[derive(Debug)]
pub enum ReplError {
    /// The server refused something: its SQLSTATE says what.
    Server(ServerError),
    /// The network or TLS failed, or the server went away.
    Io(String),
    /// The server sent something this client does not understand.
    Protocol(String),
}

impl std::fmt::Display for ReplError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplError::Server(e) => e.fmt(f),
            ReplError::Io(e) => write!(f, "connection failed: {e}"),
            ReplError::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

impl std::error::Error for ReplError {}

impl ReplError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ReplError::Server(e) => Some(&e.code),
            _ => None,
        }
    }
}

fn io(e: impl std::fmt::Display) -> ReplError {
    ReplError::Io(e.to_string())
}

pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The largest backend message accepted (a row or a WAL record); a length beyond it from the
/// wire is an error, not an allocation.
const MAX_FRAME: usize = 1 << 30;

/// A backend message: postgres-protocol parses all but `CopyBothResponse`.
enum Msg {
    CopyBoth,
    Pg(Backend),
}

/// Frames backend messages; writes frontend bytes as they are.
struct Codec;

impl Decoder for Codec {
    type Item = Msg;
    type Error = std::io::Error;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Msg>, std::io::Error> {
        if src.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[1], src[2], src[3], src[4]]) as usize;
        if !(4..=MAX_FRAME).contains(&len) {
            return Err(std::io::Error::other(format!(
                "invalid message length {len} from the server"
            )));
        }
        if src.len() < len + 1 {
            return Ok(None);
        }
        let mut frame = src.split_to(len + 1);
        if frame[0] == b'W' {
            return Ok(Some(Msg::CopyBoth));
        }
        match backend::Message::parse(&mut frame)? {
            Some(m) => Ok(Some(Msg::Pg(m))),
            None => Err(std::io::Error::other("incomplete message from the server")),
        }
    }
}

impl Encoder<BytesMut> for Codec {
    type Error = std::io::Error;
    fn encode(&mut self, item: BytesMut, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

/// A replication connection before streaming starts.
pub struct ReplConn {
    framed: Framed<Box<dyn Stream>, Codec>,
}

fn server_error(body: &backend::ErrorResponseBody) -> ServerError {
    let mut code = String::new();
    let mut message = String::new();
    let mut detail = String::new();
    let mut hint = String::new();
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        let v = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'C' => code = v,
            b'M' => message = v,
            b'D' => detail = v,
            b'H' => hint = v,
            _ => {}
        }
    }
    if !detail.is_empty() {
        message = format!("{message}. {detail}");
    }
    if !hint.is_empty() {
        message = format!("{message}. Hint: {hint}");
    }
    ServerError { code, message }
}

/// Opens a TLS or plain stream according to `sslmode`.
pub(crate) async fn open_stream(conn: &ConnectionSettings) -> Result<Box<dyn Stream>, ReplError> {
    let addr = format!("{}:{}", conn.host, conn.port);
    let mut tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| ReplError::Io(format!("timed out connecting to {addr}")))?
        .map_err(|e| ReplError::Io(format!("could not connect to {addr}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if conn.sslmode == SslMode::Disable {
        return Ok(Box::new(tcp));
    }
    let mut req = BytesMut::new();
    frontend::ssl_request(&mut req);
    tcp.write_all(&req).await.map_err(io)?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.map_err(io)?;
    if answer[0] != b'S' {
        return match conn.sslmode {
            SslMode::Allow | SslMode::Prefer => Ok(Box::new(tcp)),
            mode => Err(ReplError::Io(format!(
                "the server at {addr} does not accept TLS connections, but database.sslmode={} requires one; enable ssl on the server or set database.sslmode=prefer",
                sslmode_name(mode)
            ))),
        };
    }
    let connector = tls_connector(conn).map_err(io)?;
    let mut cfg = connector.configure().map_err(io)?;
    if conn.sslmode != SslMode::VerifyFull {
        cfg.set_verify_hostname(false);
    }
    let ssl = cfg.into_ssl(&conn.host).map_err(io)?;
    let mut stream = tokio_openssl::SslStream::new(ssl, tcp).map_err(io)?;
    std::pin::Pin::new(&mut stream)
        .connect()
        .await
        .map_err(|e| ReplError::Io(format!("TLS handshake with {addr} failed: {e}")))?;
    Ok(Box::new(stream))
}

pub(crate) fn sslmode_name(m: SslMode) -> &'static str {
    match m {
        SslMode::Disable => "disable",
        SslMode::Allow => "allow",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

/// The OpenSSL connector for `database.sslmode` and the `database.ssl*` files (libpq's rules:
/// `require` without a root certificate does not verify the server).
pub(crate) fn tls_connector(
    conn: &ConnectionSettings,
) -> Result<openssl::ssl::SslConnector, openssl::error::ErrorStack> {
    use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
    let mut b = SslConnector::builder(SslMethod::tls_client())?;
    let verify = matches!(conn.sslmode, SslMode::VerifyCa | SslMode::VerifyFull)
        || (conn.sslmode == SslMode::Require && conn.sslrootcert.is_some());
    if let Some(ca) = &conn.sslrootcert {
        b.set_ca_file(ca)?;
    }
    if let Some(cert) = &conn.sslcert {
        b.set_certificate_chain_file(cert)?;
    }
    if let Some(key) = &conn.sslkey {
        b.set_private_key_file(key, SslFiletype::PEM)?;
    }
    b.set_verify(if verify {
        SslVerifyMode::PEER
    } else {
        SslVerifyMode::NONE
    });
    Ok(b.build())
}

impl ReplConn {
    /// Connects with `replication=database` and authenticates.
    pub async fn connect(conn: &ConnectionSettings) -> Result<ReplConn, ReplError> {
        let stream = open_stream(conn).await?;
        let mut framed = Framed::new(stream, Codec);
        let mut buf = BytesMut::new();
        frontend::startup_message(
            [
                ("user", conn.user.as_str()),
                ("database", conn.dbname.as_str()),
                ("replication", "database"),
                ("application_name", "sluice-postgres-cdc"),
                ("client_encoding", "UTF8"),
                ("DateStyle", "ISO"),
                ("TimeZone", "UTC"),
                ("IntervalStyle", "iso_8601"),
                ("lc_monetary", "C"),
                ("extra_float_digits", "3"),
            ],
            &mut buf,
        )
        .map_err(io)?;
        framed.send(buf).await.map_err(io)?;
        let mut me = ReplConn { framed };
        me.authenticate(conn).await?;
        Ok(me)
    }

    async fn next_msg(&mut self) -> Result<Msg, ReplError> {
        match self.framed.next().await {
            Some(Ok(m)) => Ok(m),
            Some(Err(e)) => Err(io(e)),
            None => Err(ReplError::Io("the server closed the connection".into())),
        }
    }

    async fn next(&mut self) -> Result<Backend, ReplError> {
        match self.next_msg().await? {
            Msg::Pg(m) => Ok(m),
            Msg::CopyBoth => Err(ReplError::Protocol("unexpected CopyBothResponse".into())),
        }
    }

    async fn send(&mut self, buf: BytesMut) -> Result<(), ReplError> {
        self.framed.send(buf).await.map_err(io)
    }

    async fn authenticate(&mut self, conn: &ConnectionSettings) -> Result<(), ReplError> {
        let password = || {
            conn.password.clone().ok_or_else(|| {
                ReplError::Protocol(format!(
                    "the server asks a password for user {}, but database.password is not set",
                    conn.user
                ))
            })
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            match self.next().await? {
                Backend::AuthenticationOk => {}
                Backend::AuthenticationCleartextPassword => {
                    let mut buf = BytesMut::new();
                    frontend::password_message(password()?.as_bytes(), &mut buf).map_err(io)?;
                    self.send(buf).await?;
                }
                Backend::AuthenticationMd5Password(body) => {
                    let hash = postgres_protocol::authentication::md5_hash(
                        conn.user.as_bytes(),
                        password()?.as_bytes(),
                        body.salt(),
                    );
                    let mut buf = BytesMut::new();
                    frontend::password_message(hash.as_bytes(), &mut buf).map_err(io)?;
                    self.send(buf).await?;
                }
                Backend::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    let mut has_scram = false;
                    while let Ok(Some(m)) = mechanisms.next() {
                        has_scram |= m == SCRAM_SHA_256;
                    }
                    if !has_scram {
                        return Err(ReplError::Protocol(
                            "the server offers no SASL mechanism this client supports (SCRAM-SHA-256)".into(),
                        ));
                    }
                    let s = ScramSha256::new(password()?.as_bytes(), ChannelBinding::unsupported());
                    let mut buf = BytesMut::new();
                    frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut buf)
                        .map_err(io)?;
                    self.send(buf).await?;
                    scram = Some(s);
                }
                Backend::AuthenticationSaslContinue(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| ReplError::Protocol("SASL continue before start".into()))?;
                    s.update(body.data()).map_err(io)?;
                    let mut buf = BytesMut::new();
                    frontend::sasl_response(s.message(), &mut buf).map_err(io)?;
                    self.send(buf).await?;
                }
                Backend::AuthenticationSaslFinal(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| ReplError::Protocol("SASL final before start".into()))?;
                    s.finish(body.data()).map_err(io)?;
                }
                Backend::ErrorResponse(body) => return Err(ReplError::Server(server_error(&body))),
                Backend::ReadyForQuery(_) => return Ok(()),
                Backend::ParameterStatus(_)
                | Backend::BackendKeyData(_)
                | Backend::NoticeResponse(_) => {}
                _ => {
                    return Err(ReplError::Protocol(
                        "unexpected message during authentication".into(),
                    ))
                }
            }
        }
    }

    /// Runs a simple query; returns the rows as text (column names, values).
    pub async fn query(
        &mut self,
        sql: &str,
    ) -> Result<(Vec<String>, Vec<Vec<Option<String>>>), ReplError> {
        let mut buf = BytesMut::new();
        frontend::query(sql, &mut buf).map_err(io)?;
        self.send(buf).await?;
        let mut names = Vec::new();
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.next().await? {
                Backend::RowDescription(body) => {
                    let mut f = body.fields();
                    while let Ok(Some(field)) = f.next() {
                        names.push(field.name().to_string());
                    }
                }
                Backend::DataRow(body) => {
                    let mut row = Vec::new();
                    let mut ranges = body.ranges();
                    while let Ok(Some(r)) = ranges.next() {
                        row.push(r.and_then(|r| {
                            body.buffer()
                                .get(r)
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                        }));
                    }
                    rows.push(row);
                }
                Backend::ErrorResponse(body) => error = Some(server_error(&body)),
                Backend::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        match error {
            Some(e) => Err(ReplError::Server(e)),
            None => Ok((names, rows)),
        }
    }

    /// `CREATE_REPLICATION_SLOT ... LOGICAL pgoutput EXPORT_SNAPSHOT`: the slot's consistent
    /// point and the exported snapshot's name (valid until the next command on this
    /// connection).
    pub async fn create_slot(&mut self, slot: &str) -> Result<(u64, String), ReplError> {
        let (names, rows) = self
            .query(&format!(
                "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT",
                quote_ident(slot)
            ))
            .await?;
        let col = |n: &str| names.iter().position(|c| c == n);
        let row = rows
            .first()
            .ok_or_else(|| ReplError::Protocol("CREATE_REPLICATION_SLOT returned no row".into()))?;
        let get = |n: &str| col(n).and_then(|i| row.get(i).cloned().flatten());
        let lsn = get("consistent_point")
            .as_deref()
            .and_then(pgoutput::parse_lsn)
            .ok_or_else(|| ReplError::Protocol("no consistent_point".into()))?;
        let snapshot =
            get("snapshot_name").ok_or_else(|| ReplError::Protocol("no snapshot_name".into()))?;
        Ok((lsn, snapshot))
    }

    /// `START_REPLICATION SLOT ... LOGICAL`; then the connection streams.
    pub async fn start(
        mut self,
        slot: &str,
        start_lsn: u64,
        publication: &str,
    ) -> Result<Streaming, ReplError> {
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {} (\"proto_version\" '1', \"publication_names\" {}, \"messages\" 'true')",
            quote_ident(slot),
            pgoutput::lsn_to_string(start_lsn),
            quote_literal(&quote_ident(publication))
        );
        let mut buf = BytesMut::new();
        frontend::query(&sql, &mut buf).map_err(io)?;
        self.send(buf).await?;
        loop {
            match self.next_msg().await? {
                Msg::CopyBoth => {
                    return Ok(Streaming {
                        framed: self.framed,
                    })
                }
                Msg::Pg(Backend::ErrorResponse(body)) => {
                    let e = server_error(&body);
                    // Drain to ReadyForQuery is pointless: the caller drops the connection.
                    return Err(ReplError::Server(e));
                }
                Msg::Pg(Backend::NoticeResponse(_) | Backend::ParameterStatus(_)) => {}
                _ => {
                    return Err(ReplError::Protocol(
                        "unexpected answer to START_REPLICATION".into(),
                    ))
                }
            }
        }
    }
}

/// What the stream reader hands the task.
#[derive(Debug)]
pub enum Event {
    /// A decoded pgoutput message and the LSN of its WAL record.
    Data { wal_start: u64, message: Message },
    /// The server's WAL end, from a keepalive.
    Keepalive { wal_end: u64 },
    /// The stream ended; the task reconnects or fails.
    Closed(ReplError),
}

/// What the task tells the stream reader: the LSN the runtime committed.
#[derive(Default)]
pub struct Feedback {
    pub flushed: AtomicU64,
    pub changed: Notify,
}

impl Feedback {
    /// Raises the flush LSN (never lowers it) and wakes the reader to report it.
    pub fn flush(&self, lsn: u64) {
        if self.flushed.fetch_max(lsn, Ordering::AcqRel) < lsn {
            self.changed.notify_one();
        }
    }
}

/// A connection in CopyBoth mode.
pub struct Streaming {
    framed: Framed<Box<dyn Stream>, Codec>,
}

fn now_pg_micros() -> i64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    unix - PG_EPOCH_OFFSET_MICROS
}

fn status_update(received: u64, flushed: u64) -> BytesMut {
    let mut body = BytesMut::with_capacity(34);
    body.put_u8(b'r');
    body.put_u64(received.max(flushed));
    body.put_u64(flushed);
    body.put_u64(flushed);
    body.put_i64(now_pg_micros());
    body.put_u8(0);
    let mut out = BytesMut::new();
    // CopyData: 'd', length, payload.
    out.put_u8(b'd');
    out.put_i32(4 + body.len() as i32);
    out.extend_from_slice(&body);
    out
}

impl Streaming {
    /// Reads the stream until it ends, sending decoded messages to `tx` and standby status
    /// updates (the flush LSN from `feedback`) every `interval`, on request and when the
    /// flush LSN changes. Runs as a task of its own, so the source task's `poll` only ever
    /// waits on a channel (cancel-safe).
    pub async fn run(
        mut self,
        tx: mpsc::Sender<Event>,
        feedback: Arc<Feedback>,
        interval: Duration,
    ) {
        let mut received = 0u64;
        let mut tick = tokio::time::interval(if interval.is_zero() {
            Duration::from_secs(10)
        } else {
            interval
        });
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let closed = loop {
            let mut reply = false;
            tokio::select! {
                msg = self.framed.next() => match msg {
                    Some(Ok(Msg::Pg(Backend::CopyData(body)))) => {
                        let mut data = body.data();
                        if data.is_empty() { continue; }
                        match data[0] {
                            b'w' if data.len() >= 25 => {
                                data.advance(1);
                                let wal_start = data.get_u64();
                                let _wal_end = data.get_u64();
                                let _ts = data.get_i64();
                                received = received.max(wal_start);
                                match pgoutput::decode(data) {
                                    Ok(Some(message)) => {
                                        if tx.send(Event::Data { wal_start, message }).await.is_err() {
                                            return;
                                        }
                                    }
                                    Ok(None) => {}
                                    Err(e) => break ReplError::Protocol(e.to_string()),
                                }
                            }
                            b'k' if data.len() >= 18 => {
                                data.advance(1);
                                let wal_end = data.get_u64();
                                let _ts = data.get_i64();
                                reply = data.first().copied() == Some(1);
                                // Report the new position at once, or the server pings again
                                // every time its WAL moves (other databases writing).
                                if wal_end > received {
                                    received = wal_end;
                                    reply = true;
                                }
                                if tx.send(Event::Keepalive { wal_end }).await.is_err() {
                                    return;
                                }
                            }
                            _ => {}
                        }
                    }
                    Some(Ok(Msg::Pg(Backend::ErrorResponse(body)))) => break ReplError::Server(server_error(&body)),
                    Some(Ok(Msg::Pg(Backend::CopyDone))) => break ReplError::Io("the server ended the replication stream".into()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break io(e),
                    None => break ReplError::Io("the server closed the replication connection".into()),
                },
                _ = tick.tick() => reply = true,
                _ = feedback.changed.notified() => reply = true,
                _ = tx.closed() => return,
            }
            if reply {
                let flushed = feedback.flushed.load(Ordering::Acquire);
                if let Err(e) = self.framed.send(status_update(received, flushed)).await {
                    break io(e);
                }
            }
        };
        let _ = tx.send(Event::Closed(closed)).await;
    }
}

/// `"name"` with embedded quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The error a task reports for a replication failure, with what to change on the server.
pub fn explain(e: &ReplError, slot: &str, publication: &str, user: &str) -> ConnectError {
    match e.code() {
        Some("55006") => ConnectError::retriable(format!(
            "Replication slot \"{slot}\" is active for another client: {e}. Stop the other consumer (SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{slot}') or give this connector its own slot.name"
        )),
        Some("42704") if e.to_string().contains("publication") => ConnectError::fatal(format!(
            "Publication \"{publication}\" does not exist: {e}. Create it (CREATE PUBLICATION {publication} FOR TABLE ...) or set publication.autocreate.mode=all_tables or filtered"
        )),
        Some("42704") => ConnectError::fatal(format!(
            "Replication slot \"{slot}\" does not exist: {e}. It was dropped while the connector used it; changes made since are lost to this connector. Delete the connector's offsets and restart it to take a new snapshot (snapshot.mode=when_needed does this by itself)"
        )),
        Some("42501") => ConnectError::fatal(format!(
            "User {user} may not start replication: {e}. Grant it: ALTER ROLE {user} WITH REPLICATION (or use a superuser)"
        )),
        Some("55000") if e.to_string().contains("wal_level") => ConnectError::fatal(format!(
            "Logical decoding is off: {e}. Set wal_level = logical in postgresql.conf and restart the server"
        )),
        Some(code) if code.starts_with("28") => ConnectError::fatal(format!(
            "Could not log in to PostgreSQL as {user}: {e}. Check database.user and database.password, and that pg_hba.conf lets this host connect"
        )),
        Some("53300") | Some("57P01") | Some("57P02") | Some("57P03") => {
            ConnectError::retriable(format!("PostgreSQL is not accepting connections: {e}"))
        }
        _ => match e {
            ReplError::Io(_) => ConnectError::retriable(e.to_string()),
            _ => ConnectError::fatal(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_update_bytes() {
        let b = status_update(0x20, 0x10);
        assert_eq!(b[0], b'd');
        assert_eq!(i32::from_be_bytes([b[1], b[2], b[3], b[4]]), 38);
        assert_eq!(b[5], b'r');
        assert_eq!(&b[6..14], &0x20u64.to_be_bytes());
        assert_eq!(&b[14..22], &0x10u64.to_be_bytes());
        assert_eq!(&b[22..30], &0x10u64.to_be_bytes());
        assert_eq!(b.len(), 39);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
