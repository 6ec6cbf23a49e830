//! The admin operations over Sluice's own Kafka-protocol connections (sluice-group's
//! [`Connection`]: TLS, SASL PLAIN and SCRAM), so that the admin client's network is counted
//! as Kafka's `admin-client-metrics` are. librdkafka's admin client cannot report them:
//! rdkafka never polls its main queue, where statistics (and log lines) are delivered.
//!
//! One client keeps one connection per broker it talked to, until it is dropped; requests are
//! made one at a time. Every operation retries what a Java admin client retries (no broker
//! reachable yet, a moved controller or coordinator, a coordinator still loading) until its
//! deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, DeleteGroupsRequest, FindCoordinatorRequest, GroupId,
    MetadataRequest, MetadataResponse, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use rdkafka::error::KafkaError as RdError;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use sluice_group::driver::{Connection, GroupError};
use sluice_group::net_metrics::Counters;
use sluice_group::security::Security;

use crate::error::KafkaError;

/// Kafka's error codes this client acts on.
mod codes {
    pub const NONE: i16 = 0;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const NOT_CONTROLLER: i16 = 41;
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
}

/// Retrying these answers may succeed: the coordinator or controller moved or is loading.
fn moved(code: i16) -> bool {
    matches!(
        code,
        codes::COORDINATOR_LOAD_IN_PROGRESS
            | codes::COORDINATOR_NOT_AVAILABLE
            | codes::NOT_COORDINATOR
            | codes::NOT_CONTROLLER
    )
}

/// librdkafka's code for a Kafka error code (they are the same numbers), so that callers
/// classify both clients' errors alike.
fn rd_code(code: i16) -> RDKafkaErrorCode {
    RDKafkaRespErr::try_from(i32::from(code)).map_or(RDKafkaErrorCode::Unknown, Into::into)
}

fn broker_error(context: String, code: i16, message: Option<&StrBytes>) -> KafkaError {
    let context = match message.map(|m| m.as_str()).filter(|m| !m.is_empty()) {
        Some(m) => format!("{context} ({m})"),
        None => context,
    };
    KafkaError::new(context, RdError::AdminOp(rd_code(code)))
}

/// The client-side failure as librdkafka would name it: unreachable brokers and timeouts are
/// retriable, refused credentials and TLS are not.
fn transport_error(context: String, e: &GroupError) -> KafkaError {
    let code = match e {
        GroupError::Timeout { .. } => RDKafkaErrorCode::OperationTimedOut,
        GroupError::Connect { .. } | GroupError::Io { .. } => {
            RDKafkaErrorCode::BrokerTransportFailure
        }
        GroupError::NoBroker(_) => RDKafkaErrorCode::AllBrokersDown,
        GroupError::Tls { .. } => RDKafkaErrorCode::SSL,
        GroupError::Sasl { .. } => RDKafkaErrorCode::SaslAuthenticationFailed,
        GroupError::Unsupported { .. } => RDKafkaErrorCode::UnsupportedVersion,
        GroupError::Codec { .. } => RDKafkaErrorCode::BadMessage,
        GroupError::Coordinator { code, .. } => rd_code(*code),
    };
    KafkaError::new(format!("{context}: {e}"), RdError::AdminOp(code))
}

/// Whether retrying after this failure may help (before the operation's deadline).
fn transient(e: &GroupError) -> bool {
    match e {
        GroupError::Timeout { .. }
        | GroupError::Connect { .. }
        | GroupError::Io { .. }
        | GroupError::NoBroker(_) => true,
        GroupError::Coordinator { code, .. } => moved(*code),
        _ => false,
    }
}

/// The open connections and what the last metadata said about the cluster.
#[derive(Default)]
struct Pool {
    conns: HashMap<String, Connection>,
    /// node id → `host:port`, from the last Metadata response.
    brokers: HashMap<i32, String>,
}

/// What one attempt of an operation came to.
enum Attempt<T> {
    Done(T),
    /// Worth another try before the deadline (the error if the deadline has passed).
    Retry(KafkaError),
}

pub(crate) struct WireAdmin {
    client_id: String,
    bootstrap: Vec<String>,
    security: Security,
    counters: Arc<Counters>,
    pool: tokio::sync::Mutex<Pool>,
}

impl WireAdmin {
    pub(crate) fn new(client_id: &str, bootstrap: Vec<String>, security: Security) -> Self {
        let counters = Arc::new(Counters::default());
        crate::stats::register_admin(client_id, &counters);
        WireAdmin {
            client_id: client_id.to_string(),
            bootstrap,
            security,
            counters,
            pool: tokio::sync::Mutex::new(Pool::default()),
        }
    }

    /// Sends `req` to `addr` (any broker when `None`: an open connection, else the bootstrap
    /// servers in order). A connection that failed is closed.
    async fn call<R: Request>(
        &self,
        pool: &mut Pool,
        addr: Option<&str>,
        key: ApiKey,
        req: &R,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        let candidates: Vec<String> = match addr {
            Some(a) => vec![a.to_string()],
            None => pool
                .conns
                .keys()
                .cloned()
                .chain(self.bootstrap.iter().cloned())
                .collect(),
        };
        let mut last = GroupError::NoBroker(self.bootstrap.join(","));
        for addr in candidates {
            if !pool.conns.contains_key(&addr) {
                match Connection::open_counted(
                    &addr,
                    &self.client_id,
                    &self.security,
                    self.counters.clone(),
                )
                .await
                {
                    Ok(c) => {
                        tracing::debug!(client = %self.client_id, addr, "Admin client connected.");
                        pool.conns.insert(addr.clone(), c);
                    }
                    Err(e) => {
                        tracing::debug!(client = %self.client_id, addr, error = %e, "Admin client could not connect.");
                        if !transient(&e) {
                            return Err(e);
                        }
                        last = e;
                        continue;
                    }
                }
            }
            let Some(conn) = pool.conns.get_mut(&addr) else {
                continue;
            };
            match conn.call(key, req, timeout).await {
                Ok(r) => return Ok(r),
                Err(e) => {
                    // A failed or timed-out exchange leaves the stream unusable.
                    pool.conns.remove(&addr);
                    if !transient(&e) {
                        return Err(e);
                    }
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// Runs `attempt` until it is done, fails for good, or `timeout` passes; `attempt` gets
    /// the time left.
    async fn retrying<'a, T>(
        &'a self,
        timeout: Duration,
        mut attempt: impl FnMut(Duration) -> AttemptFuture<'a, T>,
    ) -> Result<T, KafkaError> {
        let deadline = Instant::now() + timeout;
        let mut backoff = Duration::from_millis(100);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match attempt(left.max(Duration::from_millis(1))).await? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Retry(e) => {
                    if Instant::now() + backoff >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(client = %self.client_id, error = %e, "Admin request failed; retrying.");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// A Metadata request for `topics` (`None`: every topic); remembers the brokers.
    async fn metadata(
        &self,
        pool: &mut Pool,
        topics: Option<&[String]>,
        timeout: Duration,
        context: &str,
    ) -> Result<Attempt<MetadataResponse>, KafkaError> {
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName::from(StrBytes::from_string(t.clone()))))
                })
                .collect()
        });
        req.allow_auto_topic_creation = false;
        match self.call(pool, None, ApiKey::Metadata, &req, timeout).await {
            Ok(md) => {
                pool.brokers = md
                    .brokers
                    .iter()
                    .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
                    .collect();
                Ok(Attempt::Done(md))
            }
            Err(e) => retry_or_fail(context, e),
        }
    }

    /// [`Self::metadata`], retried until `timeout`.
    async fn fetch_metadata(
        &self,
        topics: Option<&[String]>,
        timeout: Duration,
        context: &str,
    ) -> Result<MetadataResponse, KafkaError> {
        self.retrying(timeout, |left| {
            Box::pin(async move {
                let pool = &mut *self.pool.lock().await;
                self.metadata(pool, topics, left, context).await
            })
        })
        .await
    }

    /// The address of `group`'s coordinator.
    /// `req` sent to the coordinator of `group`: `Retry` while the coordinator is not known yet
    /// or the transport error is transient.
    async fn call_coordinator<R: Request>(
        &self,
        pool: &mut Pool,
        group: &str,
        key: ApiKey,
        req: &R,
        timeout: Duration,
        context: &str,
    ) -> Result<Attempt<R::Response>, KafkaError> {
        let addr = match self.coordinator(pool, group, timeout).await? {
            Attempt::Done(a) => a,
            Attempt::Retry(e) => return Ok(Attempt::Retry(e)),
        };
        match self.call(pool, Some(&addr), key, req, timeout).await {
            Ok(r) => Ok(Attempt::Done(r)),
            Err(e) => retry_or_fail(context, e),
        }
    }

    async fn coordinator(
        &self,
        pool: &mut Pool,
        group: &str,
        timeout: Duration,
    ) -> Result<Attempt<String>, KafkaError> {
        let context = format!("Could not find the coordinator of group {group}");
        let req =
            FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string()));
        match self
            .call(pool, None, ApiKey::FindCoordinator, &req, timeout)
            .await
        {
            Ok(r) if r.error_code == codes::NONE => {
                Ok(Attempt::Done(format!("{}:{}", r.host.as_str(), r.port)))
            }
            Ok(r) if moved(r.error_code) => Ok(Attempt::Retry(broker_error(
                context,
                r.error_code,
                r.error_message.as_ref(),
            ))),
            Ok(r) => Err(broker_error(
                context,
                r.error_code,
                r.error_message.as_ref(),
            )),
            Err(e) => retry_or_fail(&context, e),
        }
    }

    pub(crate) async fn cluster_id(&self) -> Option<String> {
        let md = self
            .fetch_metadata(
                Some(&[]),
                Duration::from_secs(10),
                "Could not fetch cluster metadata",
            )
            .await
            .ok()?;
        md.cluster_id.map(|c| c.to_string())
    }

    pub(crate) async fn partition_count(&self, topic: &str) -> Result<Option<usize>, KafkaError> {
        let wanted = [topic.to_string()];
        let context = format!("Could not fetch metadata of topic {topic}");
        let md = self
            .fetch_metadata(Some(&wanted), super::TIMEOUT, &context)
            .await?;
        Ok(md
            .topics
            .iter()
            .find(|t| {
                t.name.as_ref().is_some_and(|n| n.as_str() == topic)
                    && t.error_code == codes::NONE
                    && !t.partitions.is_empty()
            })
            .map(|t| t.partitions.len()))
    }

    pub(crate) async fn broker_count(&self) -> Result<usize, KafkaError> {
        let md = self
            .fetch_metadata(
                Some(&[]),
                super::TIMEOUT,
                "Could not fetch cluster metadata",
            )
            .await?;
        Ok(md.brokers.len())
    }

    pub(crate) async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
        configs: &[(&str, &str)],
    ) -> Result<bool, KafkaError> {
        let context = format!("Could not create topic {topic}");
        let replication = i16::try_from(replication).map_err(|_| {
            KafkaError::new(
                format!("{context}: replication factor {replication} is out of range"),
                RdError::AdminOp(RDKafkaErrorCode::InvalidReplicationFactor),
            )
        })?;
        let new = CreatableTopic::default()
            .with_name(TopicName::from(StrBytes::from_string(topic.to_string())))
            .with_num_partitions(partitions)
            .with_replication_factor(replication)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_value(Some(StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            );
        let req = CreateTopicsRequest::default()
            .with_topics(vec![new])
            .with_timeout_ms(super::TIMEOUT.as_millis() as i32);
        let (req, context) = (&req, &context);
        self.retrying(super::TIMEOUT, |left| {
            Box::pin(async move {
                let pool = &mut *self.pool.lock().await;
                let md = match self.metadata(pool, Some(&[]), left, context).await? {
                    Attempt::Done(md) => md,
                    Attempt::Retry(e) => return Ok(Attempt::Retry(e)),
                };
                // The controller, or any broker if the cluster names none (KRaft brokers
                // forward CreateTopics to the controller).
                let controller = pool.brokers.get(&md.controller_id.0).cloned();
                let r = match self
                    .call(pool, controller.as_deref(), ApiKey::CreateTopics, req, left)
                    .await
                {
                    Ok(r) => r,
                    Err(e) => return retry_or_fail(context, e),
                };
                let Some(t) = r.topics.first() else {
                    return Ok(Attempt::Done(false));
                };
                match t.error_code {
                    codes::NONE => Ok(Attempt::Done(true)),
                    codes::TOPIC_ALREADY_EXISTS => Ok(Attempt::Done(false)),
                    c if moved(c) => Ok(Attempt::Retry(broker_error(
                        context.clone(),
                        c,
                        t.error_message.as_ref(),
                    ))),
                    c => Err(broker_error(context.clone(), c, t.error_message.as_ref())),
                }
            })
        })
        .await
    }

    pub(crate) async fn delete_group(&self, group: &str) -> Result<(), KafkaError> {
        let context = format!("Could not delete consumer group {group}");
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId::from(
            StrBytes::from_string(group.to_string()),
        )]);
        let (req, context) = (&req, &context);
        self.retrying(super::TIMEOUT, |left| {
            Box::pin(async move {
                let pool = &mut *self.pool.lock().await;
                let r = match self
                    .call_coordinator(pool, group, ApiKey::DeleteGroups, req, left, context)
                    .await?
                {
                    Attempt::Done(r) => r,
                    Attempt::Retry(e) => return Ok(Attempt::Retry(e)),
                };
                for g in &r.results {
                    match g.error_code {
                        codes::NONE | codes::GROUP_ID_NOT_FOUND => {}
                        c if moved(c) => {
                            return Ok(Attempt::Retry(broker_error(context.clone(), c, None)))
                        }
                        c => return Err(broker_error(context.clone(), c, None)),
                    }
                }
                Ok(Attempt::Done(()))
            })
        })
        .await
    }

    /// The committed offsets of `group` for every partition of the topics `wanted` accepts,
    /// sorted by topic and partition.
    pub(crate) async fn group_offsets(
        &self,
        group: &str,
        wanted: impl Fn(&str) -> bool + Send,
    ) -> Result<Vec<(String, i32, i64)>, KafkaError> {
        let md = self
            .fetch_metadata(None, super::TIMEOUT, "Could not fetch the cluster metadata")
            .await?;
        let topics: Vec<OffsetFetchRequestTopic> = md
            .topics
            .iter()
            .filter_map(|t| {
                let name = t.name.as_ref()?;
                (wanted(name.as_str()) && !t.partitions.is_empty()).then(|| {
                    OffsetFetchRequestTopic::default()
                        .with_name(name.clone())
                        .with_partition_indexes(
                            t.partitions.iter().map(|p| p.partition_index).collect(),
                        )
                })
            })
            .collect();
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let context = format!("Could not read the committed offsets of group {group}");
        let mut req = OffsetFetchRequest::default();
        req.group_id = GroupId::from(StrBytes::from_string(group.to_string()));
        req.topics = Some(topics);
        let (req, context) = (&req, &context);
        let mut out = self
            .retrying(super::TIMEOUT, |left| {
                Box::pin(async move {
                    let pool = &mut *self.pool.lock().await;
                    let r = match self
                        .call_coordinator(pool, group, ApiKey::OffsetFetch, req, left, context)
                        .await?
                    {
                        Attempt::Done(r) => r,
                        Attempt::Retry(e) => return Ok(Attempt::Retry(e)),
                    };
                    let mut codes_seen = std::iter::once(r.error_code).chain(
                        r.topics
                            .iter()
                            .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
                    );
                    if let Some(c) = codes_seen.find(|c| moved(*c)) {
                        return Ok(Attempt::Retry(broker_error(context.clone(), c, None)));
                    }
                    if r.error_code != codes::NONE {
                        return Err(broker_error(context.clone(), r.error_code, None));
                    }
                    Ok(Attempt::Done(
                        r.topics
                            .iter()
                            .flat_map(|t| {
                                t.partitions
                                    .iter()
                                    .filter(|p| {
                                        p.error_code == codes::NONE && p.committed_offset >= 0
                                    })
                                    .map(|p| {
                                        (
                                            t.name.as_str().to_string(),
                                            p.partition_index,
                                            p.committed_offset,
                                        )
                                    })
                            })
                            .collect::<Vec<_>>(),
                    ))
                })
            })
            .await?;
        out.sort();
        Ok(out)
    }

    /// Commits `offsets` for `group` as a client outside the group (generation -1, no
    /// member id), which the coordinator accepts only while the group has no members.
    pub(crate) async fn commit(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<(), KafkaError> {
        let context = format!("Could not commit offsets for group {group}");
        let mut by_topic: Vec<OffsetCommitRequestTopic> = Vec::new();
        for (topic, partition, offset) in offsets {
            let p = OffsetCommitRequestPartition::default()
                .with_partition_index(*partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1);
            match by_topic.iter_mut().find(|t| t.name.as_str() == topic) {
                Some(t) => t.partitions.push(p),
                None => by_topic.push(
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName::from(StrBytes::from_string(topic.clone())))
                        .with_partitions(vec![p]),
                ),
            }
        }
        let mut req = OffsetCommitRequest::default();
        req.group_id = GroupId::from(StrBytes::from_string(group.to_string()));
        req.generation_id_or_member_epoch = -1;
        req.member_id = StrBytes::from_static_str("");
        req.retention_time_ms = -1;
        req.topics = by_topic;
        let (req, context) = (&req, &context);
        self.retrying(super::TIMEOUT, |left| {
            Box::pin(async move {
                let pool = &mut *self.pool.lock().await;
                let r = match self
                    .call_coordinator(pool, group, ApiKey::OffsetCommit, req, left, context)
                    .await?
                {
                    Attempt::Done(r) => r,
                    Attempt::Retry(e) => return Ok(Attempt::Retry(e)),
                };
                let mut failed = r
                    .topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
                    .filter(|c| *c != codes::NONE);
                match failed.next() {
                    None => Ok(Attempt::Done(())),
                    Some(c) if moved(c) => {
                        Ok(Attempt::Retry(broker_error(context.clone(), c, None)))
                    }
                    Some(c) => Err(broker_error(context.clone(), c, None)),
                }
            })
        })
        .await
    }
}

type AttemptFuture<'p, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Attempt<T>, KafkaError>> + Send + 'p>,
>;

fn retry_or_fail<T>(context: &str, e: GroupError) -> Result<Attempt<T>, KafkaError> {
    let err = transport_error(context.to_string(), &e);
    if transient(&e) {
        Ok(Attempt::Retry(err))
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_codes_map_to_librdkafka_codes() {
        assert_eq!(rd_code(36), RDKafkaErrorCode::TopicAlreadyExists);
        assert_eq!(rd_code(69), RDKafkaErrorCode::GroupIdNotFound);
        assert_eq!(rd_code(16), RDKafkaErrorCode::NotCoordinator);
        assert_eq!(rd_code(i16::MAX), RDKafkaErrorCode::Unknown);
        // Retriable for callers exactly when librdkafka's would be.
        let e = broker_error("x".into(), 15, None);
        assert!(e.is_retriable());
        let e = broker_error("x".into(), 37, Some(&StrBytes::from_static_str("bad")));
        assert!(!e.is_retriable());
        assert!(e.to_string().contains("x (bad)"), "{e}");
    }

    #[test]
    fn unreachable_brokers_are_retriable_and_refusals_are_not() {
        let io = GroupError::Connect {
            addr: "h:1".into(),
            source: std::io::Error::other("refused"),
        };
        assert!(transient(&io));
        assert!(transport_error("c".into(), &io).is_retriable());
        let sasl = GroupError::Sasl {
            addr: "h:1".into(),
            user: "u".into(),
            mechanism: "PLAIN",
            reason: "no".into(),
        };
        assert!(!transient(&sasl));
        assert!(!transport_error("c".into(), &sasl).is_retriable());
    }
}
