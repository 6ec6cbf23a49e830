//! The tokio driver: one task per member that owns the sockets, speaks Kafka framing, finds the
//! coordinator, and feeds responses to the [`Membership`] state machine. It heartbeats on its
//! own, so a busy herder does not lose its membership.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::membership::{codes, JoinedGeneration, MemberSettings, Membership, Next};
use crate::net_metrics::Counters;
use crate::security::{plain_message, Mechanism, Scram, Security};

/// Why talking to the group failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("Could not connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Connection to {addr} failed: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{api} to {addr} got no answer within {timeout_ms} ms")]
    Timeout {
        api: &'static str,
        addr: String,
        timeout_ms: u128,
    },
    #[error("Could not encode or decode a {api} message exchanged with {addr}: {reason}")]
    Codec {
        api: &'static str,
        addr: String,
        reason: String,
    },
    #[error("The broker at {addr} does not support {api} in any version this worker speaks ({ours}); it offers {theirs}")]
    Unsupported {
        api: &'static str,
        addr: String,
        ours: String,
        theirs: String,
    },
    #[error("No broker in bootstrap.servers ({0}) answered")]
    NoBroker(String),
    #[error("FindCoordinator for group {group} failed with error code {code}")]
    Coordinator { group: String, code: i16 },
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls { addr: String, reason: String },
    #[error("SASL authentication as {user} with {mechanism} at {addr} failed: {reason}")]
    Sasl {
        addr: String,
        user: String,
        mechanism: &'static str,
        reason: String,
    },
}

/// A connection's byte stream: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to one broker, with the API versions negotiated on it.
pub struct Connection {
    addr: String,
    stream: Box<dyn Io>,
    correlation: i32,
    client_id: String,
    versions: HashMap<i16, (i16, i16)>,
    /// The owning client's network totals.
    counters: Arc<Counters>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.counters.closed();
    }
}

/// The versions this client can build (min, max) per API.
fn our_range(key: ApiKey) -> (i16, i16) {
    match key {
        ApiKey::FindCoordinator => (0, 3),
        ApiKey::JoinGroup => (1, 7),
        ApiKey::SyncGroup => (0, 5),
        ApiKey::Heartbeat => (0, 4),
        ApiKey::LeaveGroup => (0, 4),
        // v1: the SASL exchange goes through SaslAuthenticate (KIP-152).
        ApiKey::SaslHandshake => (1, 1),
        ApiKey::SaslAuthenticate => (0, 2),
        // The admin client's (`crate`'s users: sluice-kafka's admin). Metadata from v4
        // (allow_auto_topic_creation), CreateTopics from v4 (-1 for the broker's defaults),
        // OffsetFetch up to v7 and OffsetCommit up to v8 (the single-group forms).
        ApiKey::Metadata => (4, 12),
        ApiKey::CreateTopics => (4, 7),
        ApiKey::DeleteGroups => (0, 2),
        ApiKey::OffsetFetch => (1, 7),
        ApiKey::OffsetCommit => (2, 8),
        _ => (0, 0),
    }
}

fn api_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::SaslHandshake => "SaslHandshake",
        ApiKey::SaslAuthenticate => "SaslAuthenticate",
        ApiKey::Metadata => "Metadata",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteGroups => "DeleteGroups",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::OffsetCommit => "OffsetCommit",
        _ => "request",
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a leaving member lets an in-flight request finish before it sends LeaveGroup.
const LEAVE_DRAIN: Duration = Duration::from_secs(5);

impl Connection {
    /// Connects (TLS when configured), negotiates API versions and authenticates (SASL when
    /// configured).
    pub async fn open(
        addr: &str,
        client_id: &str,
        security: &Security,
    ) -> Result<Connection, GroupError> {
        Self::open_counted(
            addr,
            client_id,
            security,
            crate::net_metrics::group().clone(),
        )
        .await
    }

    /// [`Connection::open`] for another client than the group member, counting into
    /// `counters`.
    pub async fn open_counted(
        addr: &str,
        client_id: &str,
        security: &Security,
        counters: Arc<Counters>,
    ) -> Result<Connection, GroupError> {
        let stream = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| GroupError::Timeout {
                api: "connect",
                addr: addr.to_string(),
                timeout_ms: REQUEST_TIMEOUT.as_millis(),
            })?
            .map_err(|source| GroupError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let stream: Box<dyn Io> = match &security.tls {
            None => Box::new(stream),
            Some(tls) => {
                let failed = |reason: String| GroupError::Tls {
                    addr: addr.to_string(),
                    reason,
                };
                let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let ssl = tls
                    .connector
                    .configure()
                    .map(|c| c.verify_hostname(tls.verify_hostname))
                    .and_then(|c| c.into_ssl(host))
                    .map_err(|e| failed(e.to_string()))?;
                let mut s = tokio_openssl::SslStream::new(ssl, stream)
                    .map_err(|e| failed(e.to_string()))?;
                tokio::time::timeout(REQUEST_TIMEOUT, std::pin::Pin::new(&mut s).connect())
                    .await
                    .map_err(|_| failed("no answer".into()))?
                    .map_err(|e| failed(e.to_string()))?;
                Box::new(s)
            }
        };
        counters.opened();
        let mut conn = Connection {
            addr: addr.to_string(),
            stream,
            correlation: 0,
            client_id: client_id.to_string(),
            versions: HashMap::new(),
            counters,
        };
        let resp = conn
            .call_version(
                ApiKey::ApiVersions,
                &ApiVersionsRequest::default(),
                0,
                REQUEST_TIMEOUT,
            )
            .await?;
        if resp.error_code != codes::NONE {
            return Err(GroupError::Coordinator {
                group: String::new(),
                code: resp.error_code,
            });
        }
        conn.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        if let Some(sasl) = &security.sasl {
            let auth = conn
                .authenticate(&sasl.username, &sasl.password, sasl.mechanism)
                .await;
            conn.counters.authenticated(auth.is_ok());
            auth?;
        }
        Ok(conn)
    }

    /// SaslHandshake v1, then the mechanism's SaslAuthenticate round trips.
    async fn authenticate(
        &mut self,
        user: &str,
        password: &str,
        mechanism: Mechanism,
    ) -> Result<(), GroupError> {
        let failed = |addr: &str, reason: String| GroupError::Sasl {
            addr: addr.to_string(),
            user: user.to_string(),
            mechanism: mechanism.name(),
            reason,
        };
        let hs = self
            .call(
                ApiKey::SaslHandshake,
                &SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(mechanism.name())),
                REQUEST_TIMEOUT,
            )
            .await?;
        if hs.error_code != codes::NONE {
            let offered: Vec<&str> = hs.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(failed(
                &self.addr,
                format!(
                    "the broker does not enable it (error code {}); it offers {}",
                    hs.error_code,
                    offered.join(", ")
                ),
            ));
        }
        match mechanism {
            Mechanism::Plain => {
                self.sasl_round(plain_message(user, password), &failed)
                    .await?;
            }
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let mut scram =
                    Scram::new(mechanism, user, password).map_err(|e| failed(&self.addr, e))?;
                let server_first = self.sasl_round(scram.client_first(), &failed).await?;
                let client_final = scram
                    .client_final(&server_first)
                    .map_err(|e| failed(&self.addr, e))?;
                let server_final = self.sasl_round(client_final, &failed).await?;
                scram
                    .verify_server_final(&server_final)
                    .map_err(|e| failed(&self.addr, e))?;
            }
        }
        tracing::debug!(addr = %self.addr, user, mechanism = mechanism.name(), "SASL authentication succeeded.");
        Ok(())
    }

    async fn sasl_round(
        &mut self,
        bytes: Vec<u8>,
        failed: &impl Fn(&str, String) -> GroupError,
    ) -> Result<Bytes, GroupError> {
        let r = self
            .call(
                ApiKey::SaslAuthenticate,
                &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)),
                REQUEST_TIMEOUT,
            )
            .await?;
        if r.error_code != codes::NONE {
            return Err(failed(
                &self.addr,
                format!(
                    "error code {}: {}",
                    r.error_code,
                    r.error_message.as_ref().map_or("", |m| m.as_str())
                ),
            ));
        }
        Ok(r.auth_bytes)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The highest version both sides speak.
    pub fn version(&self, key: ApiKey) -> Result<i16, GroupError> {
        let (omin, omax) = our_range(key);
        let theirs = self.versions.get(&(key as i16)).copied();
        match theirs {
            Some((tmin, tmax)) if tmax >= omin && tmin <= omax => Ok(omax.min(tmax)),
            _ => Err(GroupError::Unsupported {
                api: api_name(key),
                addr: self.addr.clone(),
                ours: format!("{omin}..{omax}"),
                theirs: theirs.map_or("none".into(), |(a, b)| format!("{a}..{b}")),
            }),
        }
    }

    /// Sends a request at the negotiated version and reads its response.
    pub async fn call<R: Request>(
        &mut self,
        key: ApiKey,
        req: &R,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        let version = self.version(key)?;
        self.call_version(key, req, version, timeout).await
    }

    async fn call_version<R: Request>(
        &mut self,
        key: ApiKey,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        let api = api_name(key);
        let codec = |e: anyhow_like::Error| GroupError::Codec {
            api,
            addr: self.addr.clone(),
            reason: e.0,
        };
        self.correlation = self.correlation.wrapping_add(1);
        let correlation = self.correlation;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .map_err(|e| codec(e.into()))?;
        req.encode(&mut body, version)
            .map_err(|e| codec(e.into()))?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&body);
        let addr = self.addr.clone();
        let io = |source| GroupError::Io {
            addr: addr.clone(),
            source,
        };
        let exchange = async {
            let started = std::time::Instant::now();
            self.stream.write_all(&frame).await.map_err(io)?;
            self.counters
                .sent(frame.len(), started.elapsed().as_nanos() as u64);
            loop {
                let len = self.stream.read_i32().await.map_err(io)?;
                if !(4..=100 * 1024 * 1024).contains(&len) {
                    return Err(io(std::io::Error::other(format!(
                        "invalid response frame length {len}"
                    ))));
                }
                let mut buf = vec![0u8; len as usize];
                let started = std::time::Instant::now();
                self.stream.read_exact(&mut buf).await.map_err(io)?;
                self.counters
                    .received(4 + buf.len(), started.elapsed().as_nanos() as u64);
                let mut bytes = Bytes::from(buf);
                let h = ResponseHeader::decode(
                    &mut bytes,
                    <R::Response as HeaderVersion>::header_version(version),
                )
                .map_err(|e| codec(e.into()))?;
                if h.correlation_id != correlation {
                    // An answer to a request abandoned earlier: skip it.
                    continue;
                }
                return R::Response::decode(&mut bytes, version).map_err(|e| codec(e.into()));
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| GroupError::Timeout {
                api,
                addr: self.addr.clone(),
                timeout_ms: timeout.as_millis(),
            })?
    }
}

/// kafka-protocol reports codec errors as `anyhow::Error`; keep only their text.
mod anyhow_like {
    pub struct Error(pub String);
    impl<E: std::fmt::Display> From<E> for Error {
        fn from(e: E) -> Self {
            Error(format!("{e:#}"))
        }
    }
}

/// Asks the bootstrap brokers for the group's coordinator and connects to it.
pub async fn find_coordinator(
    bootstrap: &[String],
    group: &str,
    client_id: &str,
    security: &Security,
) -> Result<Connection, GroupError> {
    let mut last = GroupError::NoBroker(bootstrap.join(","));
    for addr in bootstrap {
        let mut conn = match Connection::open(addr, client_id, security).await {
            Ok(c) => c,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let version = conn.version(ApiKey::FindCoordinator)?;
        let req =
            FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string()));
        // key_type 0 (group) is the default; versions 0..3 take a single key.
        let _ = version;
        let resp: FindCoordinatorResponse = conn
            .call(ApiKey::FindCoordinator, &req, REQUEST_TIMEOUT)
            .await?;
        if resp.error_code != codes::NONE {
            last = GroupError::Coordinator {
                group: group.to_string(),
                code: resp.error_code,
            };
            continue;
        }
        let target = format!("{}:{}", resp.host.as_str(), resp.port);
        if target == conn.addr {
            return Ok(conn);
        }
        return Connection::open(&target, client_id, security).await;
    }
    Err(last)
}

/// Heartbeats for a member whose JoinGroup or SyncGroup is in flight, over a connection of its
/// own (a broker answers requests on one connection in order, so they cannot share the
/// rebalance's). Coordinators answer REBALANCE_IN_PROGRESS and keep the session alive, so a
/// member caught in a long rebalance (several JoinGroup rounds) is not evicted for missing
/// heartbeats. The answers are ignored: the JoinGroup/SyncGroup exchange decides what happens
/// next. Never returns; it is dropped when the exchange ends.
async fn keepalive(
    addr: String,
    config: &GroupConfig,
    req: Option<HeartbeatRequest>,
    every: Duration,
) {
    let Some(req) = req else {
        return std::future::pending().await;
    };
    let (client_id, security) = (&config.client_id, &config.security);
    let mut conn: Option<Connection> = None;
    loop {
        tokio::time::sleep(every).await;
        if conn.is_none() {
            conn = Connection::open(&addr, client_id, security).await.ok();
        }
        if let Some(c) = conn.as_mut() {
            match c
                .call::<HeartbeatRequest>(ApiKey::Heartbeat, &req, REQUEST_TIMEOUT)
                .await
            {
                Ok(r) => {
                    tracing::trace!(
                        code = r.error_code,
                        generation = req.generation_id,
                        "Heartbeat during a rebalance."
                    )
                }
                Err(e) => {
                    tracing::debug!(error = %e, "Heartbeat during a rebalance failed.");
                    conn = None;
                }
            }
        }
    }
}

/// Runs `exchange` while [`keepalive`] heartbeats beside it.
async fn with_keepalive<T>(
    exchange: impl std::future::Future<Output = T>,
    keep: impl std::future::Future<Output = ()>,
) -> T {
    tokio::select! {
        r = exchange => r,
        _ = keep => std::future::pending().await,
    }
}

/// What the member reports to its owner.
#[derive(Debug)]
pub enum GroupEvent {
    /// The member is about to send JoinGroup: a rebalance starts for it (Kafka's
    /// `onJoinPrepare`), whether it will lead or follow.
    Joining,
    /// This member leads the generation: answer with every member's assignment bytes.
    Lead {
        generation: JoinedGeneration,
        reply: oneshot::Sender<Vec<(String, Bytes)>>,
    },
    /// The assignment of a generation.
    Assigned {
        generation: i32,
        member_id: String,
        protocol: String,
        assignment: Bytes,
    },
    /// The membership was lost (the coordinator no longer knows this member: session expired,
    /// fenced, removed); a rejoin under a new member id follows. `since_acknowledged` is how
    /// long ago the coordinator last acknowledged the membership (a heartbeat or an
    /// assignment): the owner decides from it whether the leader may already have given its
    /// work to another member. The owner sends on `settled` once the metadata it published
    /// describes what it still runs; the member rejoins after that.
    Lost {
        since_acknowledged: Duration,
        settled: oneshot::Sender<()>,
    },
    /// The member cannot go on (the message says why and what to change).
    Fatal(String),
}

enum Command {
    Rejoin,
    Leave(oneshot::Sender<()>),
}

/// Where to find the group and how to be in it.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    pub bootstrap: Vec<String>,
    pub client_id: String,
    pub settings: MemberSettings,
    /// TLS and SASL for the group client's connections (default PLAINTEXT).
    pub security: Security,
}

/// The owner's side of a running member.
#[derive(Clone, Debug)]
pub struct GroupHandle {
    commands: mpsc::UnboundedSender<Command>,
    metadata: watch::Sender<Vec<(String, Bytes)>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Rejoin => "Rejoin",
            Command::Leave(_) => "Leave",
        })
    }
}

impl GroupHandle {
    /// The protocols (name, metadata) the next JoinGroup advertises.
    pub fn set_metadata(&self, protocols: Vec<(String, Bytes)>) {
        self.metadata.send_replace(protocols);
    }

    /// Asks for a rebalance (the member rejoins with its current metadata).
    pub fn rejoin(&self) {
        let _ = self.commands.send(Command::Rejoin);
    }

    /// Leaves the group at once (LeaveGroup), so its work moves without waiting for the
    /// session timeout; returns when the request was answered or could not be sent.
    pub async fn leave(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Leave(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts a member; events arrive on the returned receiver. It joins once `metadata` (or a
/// later [`GroupHandle::set_metadata`]) names at least one protocol.
pub fn spawn(
    config: GroupConfig,
    metadata: Vec<(String, Bytes)>,
) -> (GroupHandle, mpsc::UnboundedReceiver<GroupEvent>) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (meta_tx, meta_rx) = watch::channel(metadata);
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(config, cmd_rx, meta_rx, ev_tx));
    (
        GroupHandle {
            commands: cmd_tx,
            metadata: meta_tx,
        },
        ev_rx,
    )
}

enum Step {
    Join,
    Heartbeat,
    Find,
    Backoff,
}

async fn leave(conn: Option<&mut Connection>, m: &mut Membership, config: &GroupConfig) {
    let mut fresh = None;
    let conn = match conn {
        Some(c) => c,
        None => {
            match find_coordinator(
                &config.bootstrap,
                &m.settings().group_id,
                &config.client_id,
                &config.security,
            )
            .await
            {
                Ok(c) => fresh.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "Could not reach the group coordinator to leave the group; the session will time out instead.");
                    return;
                }
            }
        }
    };
    let version = conn.version(ApiKey::LeaveGroup).unwrap_or(0);
    if let Some(req) = m.leave_request(version) {
        match conn
            .call::<LeaveGroupRequest>(ApiKey::LeaveGroup, &req, Duration::from_secs(5))
            .await
        {
            Ok(r) if r.error_code == codes::NONE => {
                tracing::info!(group = %m.settings().group_id, "Left the group.")
            }
            Ok(r) => {
                tracing::warn!(group = %m.settings().group_id, code = r.error_code, "LeaveGroup failed; the session will time out instead.")
            }
            Err(e) => {
                tracing::warn!(group = %m.settings().group_id, error = %e, "LeaveGroup failed; the session will time out instead.")
            }
        }
    }
}

async fn run(
    config: GroupConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut metadata: watch::Receiver<Vec<(String, Bytes)>>,
    events: mpsc::UnboundedSender<GroupEvent>,
) {
    let mut m = Membership::new(config.settings.clone());
    let group = config.settings.group_id.clone();
    let mut conn: Option<Connection> = None;
    let mut step = Step::Find;
    let mut backoff = Duration::from_millis(100);
    // The generation this member last had an assignment for. A rejoin (asked for by the owner,
    // or signalled by the coordinator with REBALANCE_IN_PROGRESS) must end in a newer one; a
    // coordinator that answers JoinGroup with that same generation has not started a
    // rebalance (it would hand back the old assignments), so the member leaves and joins
    // again, which every coordinator must treat as a membership change.
    let mut stable_generation = -1;
    // After a lost membership the owner settles its work first (stops it, or keeps it) and
    // publishes metadata that describes it; joining before that would advertise work that
    // no longer runs, and the leader would leave it with no one. The owner answers here.
    let mut owner_settled: Option<oneshot::Receiver<()>> = None;
    // When the coordinator last acknowledged the membership (a heartbeat answer or an
    // assignment), reported with a lost membership.
    let mut acknowledged = tokio::time::Instant::now();
    let heartbeat_every =
        Duration::from_millis(config.settings.heartbeat_interval_ms.max(1) as u64);
    let join_timeout = Duration::from_millis(config.settings.rebalance_timeout_ms.max(0) as u64)
        + Duration::from_secs(5);

    // A rejoin the owner asked for while an exchange was in flight (a heartbeat, or a join
    // whose metadata was already sent): acted on as soon as the member is stable again, so a
    // request is never lost (a lost one left new work unassigned until something else
    // rebalanced the group).
    let mut rejoin_requested = false;

    // Races `fut` against the owner's commands; a Leave wins and ends the member.
    macro_rules! or_leave {
        ($fut:expr) => {{
            let fut = $fut;
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => break Some(r),
                    cmd = commands.recv() => match cmd {
                        Some(Command::Rejoin) => {
                            rejoin_requested = true;
                            continue;
                        }
                        Some(Command::Leave(done)) => {
                            // Let the in-flight exchange finish first (bounded): a coordinator
                            // that completes a held JoinGroup after the LeaveGroup would add the
                            // member back until its session expires, holding work it never runs.
                            let _ = tokio::time::timeout(LEAVE_DRAIN, &mut fut).await;
                            leave(None, &mut m, &config).await;
                            let _ = done.send(());
                            return;
                        }
                        None => {
                            let _ = tokio::time::timeout(LEAVE_DRAIN, &mut fut).await;
                            leave(None, &mut m, &config).await;
                            return;
                        }
                    },
                }
            }
        }};
    }

    loop {
        match step {
            Step::Find => {
                let found = or_leave!(find_coordinator(
                    &config.bootstrap,
                    &group,
                    &config.client_id,
                    &config.security
                ));
                match found {
                    Some(Ok(c)) => {
                        tracing::info!(group = %group, coordinator = %c.addr(), "Discovered group coordinator.");
                        conn = Some(c);
                        backoff = Duration::from_millis(100);
                        step = if m.phase() == crate::membership::Phase::Stable {
                            Step::Heartbeat
                        } else {
                            Step::Join
                        };
                    }
                    Some(Err(e)) => {
                        tracing::warn!(group = %group, error = %e, "Group coordinator not available yet; retrying.");
                        step = Step::Backoff;
                    }
                    None => {}
                }
            }
            Step::Backoff => {
                let wait = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                or_leave!(tokio::time::sleep(wait));
                step = if conn.is_some() {
                    Step::Join
                } else {
                    Step::Find
                };
            }
            Step::Join => {
                let Some(c) = conn.as_mut() else {
                    step = Step::Find;
                    continue;
                };
                if let Some(settled) = owner_settled.take() {
                    // Bounded: an owner that never answers does not keep the member out.
                    let _ = or_leave!(tokio::time::timeout(join_timeout, settled));
                }
                if metadata.borrow().is_empty() {
                    // Nothing to advertise yet: the owner has not read its state.
                    if or_leave!(metadata.changed()).is_some_and(|r| r.is_err()) {
                        return;
                    }
                    continue;
                }
                let protocols = metadata.borrow_and_update().clone();
                if events.send(GroupEvent::Joining).is_err() {
                    return;
                }
                // This join carries the owner's metadata as of now: earlier requests are met.
                rejoin_requested = false;
                let keep = keepalive(
                    c.addr().to_string(),
                    &config,
                    m.rebalance_heartbeat(),
                    heartbeat_every,
                );
                let req = m.join_request(&protocols);
                let resp = or_leave!(with_keepalive(
                    c.call::<JoinGroupRequest>(ApiKey::JoinGroup, &req, join_timeout),
                    keep
                ));
                let next = match resp {
                    Some(Ok(r)) => {
                        tracing::debug!(group = %group, code = r.error_code, generation = r.generation_id, member = %r.member_id.as_str(), "JoinGroup response.");
                        m.on_join(&r)
                    }
                    Some(Err(e)) => {
                        tracing::warn!(group = %group, error = %e, "JoinGroup failed; finding the coordinator again.");
                        conn = None;
                        step = Step::Backoff;
                        continue;
                    }
                    None => continue,
                };
                if let Next::Lead(g) | Next::Follow(g) = &next {
                    if g.generation == stable_generation {
                        tracing::info!(group = %group, generation = g.generation, "The coordinator answered a rejoin with the generation this member already had; leaving and joining again to start a rebalance.");
                        stable_generation = -1;
                        leave(conn.as_mut(), &mut m, &config).await;
                        step = Step::Join;
                        continue;
                    }
                }
                let assignments = match next {
                    Next::Lead(generation) => {
                        tracing::info!(group = %group, generation = generation.generation, members = generation.members.len(), protocol = %generation.protocol, "Joined the group as leader.");
                        let (tx, rx) = oneshot::channel();
                        if events
                            .send(GroupEvent::Lead {
                                generation,
                                reply: tx,
                            })
                            .is_err()
                        {
                            return;
                        }
                        match or_leave!(rx) {
                            Some(Ok(a)) => a,
                            _ => {
                                step = Step::Join;
                                continue;
                            }
                        }
                    }
                    Next::Follow(generation) => {
                        tracing::info!(group = %group, generation = generation.generation, leader = %generation.leader_id, "Joined the group.");
                        Vec::new()
                    }
                    other => {
                        step = after(other, &events, &mut conn, acknowledged, &mut owner_settled);
                        continue;
                    }
                };
                let Some(c) = conn.as_mut() else {
                    step = Step::Find;
                    continue;
                };
                let keep = keepalive(
                    c.addr().to_string(),
                    &config,
                    m.rebalance_heartbeat(),
                    heartbeat_every,
                );
                let req = m.sync_request(assignments);
                let resp = or_leave!(with_keepalive(
                    c.call::<SyncGroupRequest>(ApiKey::SyncGroup, &req, join_timeout),
                    keep
                ));
                match resp {
                    Some(Ok(r)) => match (
                        tracing::debug!(group = %group, code = r.error_code, "SyncGroup response."),
                        m.on_sync(&r),
                    )
                        .1
                    {
                        Next::Assigned {
                            generation,
                            protocol,
                            assignment,
                        } => {
                            stable_generation = generation;
                            acknowledged = tokio::time::Instant::now();
                            let _ = events.send(GroupEvent::Assigned {
                                generation,
                                member_id: m.member_id().to_string(),
                                protocol,
                                assignment,
                            });
                            step = Step::Heartbeat;
                        }
                        other => {
                            step =
                                after(other, &events, &mut conn, acknowledged, &mut owner_settled)
                        }
                    },
                    Some(Err(e)) => {
                        tracing::warn!(group = %group, error = %e, "SyncGroup failed; finding the coordinator again.");
                        conn = None;
                        step = Step::Backoff;
                    }
                    None => {}
                }
            }
            Step::Heartbeat => {
                if std::mem::take(&mut rejoin_requested) {
                    step = Step::Join;
                    continue;
                }
                // Wait for the interval, or an owner's rejoin request.
                let sleep = tokio::time::sleep(heartbeat_every);
                tokio::pin!(sleep);
                let rejoin = tokio::select! {
                    _ = &mut sleep => false,
                    cmd = commands.recv() => match cmd {
                        Some(Command::Rejoin) => true,
                        Some(Command::Leave(done)) => {
                            leave(conn.as_mut(), &mut m, &config).await;
                            let _ = done.send(());
                            return;
                        }
                        None => {
                            leave(conn.as_mut(), &mut m, &config).await;
                            return;
                        }
                    },
                };
                if rejoin {
                    step = Step::Join;
                    continue;
                }
                let (Some(c), Some(req)) = (conn.as_mut(), m.heartbeat_request()) else {
                    step = Step::Join;
                    continue;
                };
                let resp =
                    or_leave!(c.call::<HeartbeatRequest>(ApiKey::Heartbeat, &req, REQUEST_TIMEOUT));
                match resp {
                    Some(Ok(r)) => match (
                        tracing::trace!(group = %group, code = r.error_code, "Heartbeat response."),
                        m.on_heartbeat(&r),
                    )
                        .1
                    {
                        Next::Continue => acknowledged = tokio::time::Instant::now(),
                        Next::Rejoin => {
                            acknowledged = tokio::time::Instant::now();
                            tracing::info!(group = %group, "The group is rebalancing; rejoining.");
                            step = Step::Join;
                        }
                        other => {
                            step =
                                after(other, &events, &mut conn, acknowledged, &mut owner_settled)
                        }
                    },
                    Some(Err(e)) => {
                        tracing::warn!(group = %group, error = %e, "Heartbeat failed; finding the coordinator again.");
                        conn = None;
                        step = Step::Find;
                    }
                    None => {}
                }
            }
        }
    }
}

/// The step after a response that did not carry on the happy path.
fn after(
    next: Next,
    events: &mpsc::UnboundedSender<GroupEvent>,
    conn: &mut Option<Connection>,
    acknowledged: tokio::time::Instant,
    owner_settled: &mut Option<oneshot::Receiver<()>>,
) -> Step {
    match next {
        Next::Rejoin | Next::Continue => Step::Join,
        Next::Lost => {
            let since_acknowledged = acknowledged.elapsed();
            tracing::warn!(
                since_acknowledged_ms = since_acknowledged.as_millis() as u64,
                "The coordinator no longer knows this member; rejoining."
            );
            let (settled, rx) = oneshot::channel();
            *owner_settled = Some(rx);
            let _ = events.send(GroupEvent::Lost {
                since_acknowledged,
                settled,
            });
            Step::Join
        }
        Next::FindCoordinator => {
            *conn = None;
            Step::Find
        }
        Next::Backoff => Step::Backoff,
        Next::Fatal(msg) => {
            tracing::error!("{msg}");
            let _ = events.send(GroupEvent::Fatal(msg));
            // Keep the task alive but idle; the owner decides what to do.
            Step::Backoff
        }
        Next::Lead(_) | Next::Follow(_) | Next::Assigned { .. } => Step::Join,
    }
}
