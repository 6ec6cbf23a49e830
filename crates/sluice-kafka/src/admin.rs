//! Admin operations the runtime needs: create a topic when missing, read the cluster id,
//! read and change consumer group offsets.
//!
//! An [`Admin`] speaks the Kafka protocol itself ([`wire`], over sluice-group's connections)
//! whenever the configured security is one that client speaks (PLAINTEXT, TLS, SASL PLAIN and
//! SCRAM): then its network is measured as Kafka's `admin-client-metrics` and its log lines
//! are Sluice's. Otherwise (GSSAPI, OAUTHBEARER, ...) it falls back to librdkafka's admin
//! client, which reports neither: rdkafka never polls that client's main queue, where
//! librdkafka delivers statistics and, with rdkafka's `log.queue=true`, log lines.

mod wire;

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::producer::{BaseProducer, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::error::KafkaError;
use crate::RdConfig;

const TIMEOUT: Duration = Duration::from_secs(30);

/// An admin client: Sluice's own Kafka-protocol client, or librdkafka's when the security
/// settings need it.
pub struct Admin {
    client: Client,
}

enum Client {
    Wire(wire::WireAdmin),
    Rd(RdAdmin),
}

impl Admin {
    /// An admin client named `name` (its `client.id`). Sluice's own client unless the
    /// security settings are ones only librdkafka speaks.
    pub fn new(name: &str, settings: &RdConfig) -> Result<Admin, KafkaError> {
        let bootstrap: Vec<String> = settings
            .get("bootstrap.servers")
            .map(|b| {
                b.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let client = match sluice_group::security::Security::from_client_settings(settings) {
            Ok(security) if !bootstrap.is_empty() => {
                Client::Wire(wire::WireAdmin::new(name, bootstrap, security))
            }
            Ok(_) => Client::Rd(RdAdmin::new(name, settings)?),
            Err(reason) => {
                tracing::info!(client = name, reason, "Using librdkafka's admin client: its network series (kafka_admin_client_*) are not reported.");
                Client::Rd(RdAdmin::new(name, settings)?)
            }
        };
        Ok(Admin { client })
    }

    /// Whether this client holds threads of its own (librdkafka's does, several): callers
    /// that need it rarely should then drop it between uses.
    pub fn holds_threads(&self) -> bool {
        matches!(self.client, Client::Rd(_))
    }

    /// The cluster id, or `None` if the cluster cannot be reached in time.
    pub async fn cluster_id(&self) -> Option<String> {
        match &self.client {
            Client::Wire(w) => w.cluster_id().await,
            Client::Rd(r) => r.cluster_id().await,
        }
    }

    /// Whether `topic` exists, by a metadata request.
    pub async fn topic_exists(&self, topic: &str) -> Result<bool, KafkaError> {
        Ok(self.partition_count(topic).await?.is_some())
    }

    /// The number of partitions of `topic`, or `None` if it does not exist.
    pub async fn partition_count(&self, topic: &str) -> Result<Option<usize>, KafkaError> {
        match &self.client {
            Client::Wire(w) => w.partition_count(topic).await,
            Client::Rd(r) => r.partition_count(topic).await,
        }
    }

    /// How many brokers the cluster metadata lists.
    pub async fn broker_count(&self) -> Result<usize, KafkaError> {
        match &self.client {
            Client::Wire(w) => w.broker_count().await,
            Client::Rd(r) => r.broker_count().await,
        }
    }

    /// Creates `topic`; `Ok(false)` if it already existed. `partitions`/`replication` of -1
    /// ask for the broker defaults.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
        configs: &[(&str, &str)],
    ) -> Result<bool, KafkaError> {
        match &self.client {
            Client::Wire(w) => {
                w.create_topic(topic, partitions, replication, configs)
                    .await
            }
            Client::Rd(r) => {
                r.create_topic(topic, partitions, replication, configs)
                    .await
            }
        }
    }

    /// Deletes a consumer group; a group that does not exist is not an error.
    pub async fn delete_group(&self, group: &str) -> Result<(), KafkaError> {
        match &self.client {
            Client::Wire(w) => w.delete_group(group).await,
            Client::Rd(r) => r.delete_group(group).await,
        }
    }

    /// The committed offsets of `group` for every partition of the topics `wanted` accepts,
    /// sorted by topic and partition.
    pub async fn group_offsets(
        &self,
        group: &str,
        wanted: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<Vec<(String, i32, i64)>, KafkaError> {
        match &self.client {
            Client::Wire(w) => w.group_offsets(group, wanted).await,
            Client::Rd(r) => r.group_offsets(group, wanted).await,
        }
    }

    /// Sets the committed offsets of `group`, which must have no active members. A `None`
    /// offset removes that partition's committed offset (KIP-875): as librdkafka's high-level
    /// API cannot delete one partition's offset, the group is deleted and every other
    /// committed offset written back (both clients do the same).
    pub async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: Vec<(String, i32, Option<i64>)>,
    ) -> Result<(), KafkaError> {
        let w = match &self.client {
            Client::Wire(w) => w,
            Client::Rd(r) => return r.alter_group_offsets(group, offsets).await,
        };
        let mut commit: Vec<(String, i32, i64)> = offsets
            .iter()
            .filter_map(|(t, p, o)| o.map(|o| (t.clone(), *p, o)))
            .collect();
        if commit.len() < offsets.len() {
            let current = w.group_offsets(group, |_: &str| true).await?;
            let listed = |t: &str, p: i32| offsets.iter().any(|(t2, p2, _)| t2 == t && *p2 == p);
            commit.extend(current.into_iter().filter(|(t, p, _)| !listed(t, *p)));
            w.delete_group(group).await?;
        }
        if commit.is_empty() {
            return Ok(());
        }
        w.commit(group, &commit).await
    }
}

/// librdkafka's admin client plus a metadata client for lookups librdkafka's admin API lacks.
struct RdAdmin {
    admin: AdminClient<AdminContext>,
    settings: RdConfig,
}

/// The admin client's callbacks. Never called in practice: rdkafka's admin client never
/// polls librdkafka's main queue, where log lines (rdkafka sets `log.queue=true`), errors
/// and statistics are delivered.
struct AdminContext {
    name: String,
}

impl ClientContext for AdminContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        crate::context::log(&self.name, level, fac, message)
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        crate::context::error(&self.name, error, reason)
    }
}

impl RdAdmin {
    fn new(name: &str, settings: &RdConfig) -> Result<RdAdmin, KafkaError> {
        let mut cfg = crate::client_config(settings);
        cfg.set("client.id", name);
        let admin = cfg
            .create_with_context(AdminContext {
                name: name.to_string(),
            })
            .map_err(|e| KafkaError::new(format!("Could not create admin client {name}"), e))?;
        Ok(RdAdmin {
            admin,
            settings: settings.clone(),
        })
    }

    async fn cluster_id(&self) -> Option<String> {
        let settings = self.settings.clone();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = crate::client_config(&settings).create().ok()?;
            consumer.client().fetch_cluster_id(Duration::from_secs(10))
        })
        .await
        .ok()
        .flatten()
    }

    async fn partition_count(&self, topic: &str) -> Result<Option<usize>, KafkaError> {
        let settings = self.settings.clone();
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = crate::client_config(&settings)
                .create()
                .map_err(|e| KafkaError::new("Could not create metadata client", e))?;
            let md = consumer
                .fetch_metadata(Some(&topic), TIMEOUT)
                .map_err(|e| {
                    KafkaError::new(format!("Could not fetch metadata of topic {topic}"), e)
                })?;
            Ok(md
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
                .map(|t| t.partitions().len()))
        })
        .await
        .map_err(|_| {
            KafkaError::new(
                "Metadata lookup interrupted",
                rdkafka::error::KafkaError::Canceled,
            )
        })?
    }

    async fn broker_count(&self) -> Result<usize, KafkaError> {
        let settings = self.settings.clone();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = crate::client_config(&settings)
                .create()
                .map_err(|e| KafkaError::new("Could not create metadata client", e))?;
            let md = consumer
                .fetch_metadata(None, TIMEOUT)
                .map_err(|e| KafkaError::new("Could not fetch cluster metadata", e))?;
            Ok(md.brokers().len())
        })
        .await
        .map_err(|_| {
            KafkaError::new(
                "Metadata lookup interrupted",
                rdkafka::error::KafkaError::Canceled,
            )
        })?
    }

    async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
        configs: &[(&str, &str)],
    ) -> Result<bool, KafkaError> {
        let mut nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
        for (k, v) in configs {
            nt = nt.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = self
            .admin
            .create_topics([&nt], &opts)
            .await
            .map_err(|e| KafkaError::new(format!("Could not create topic {topic}"), e))?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(true),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => Ok(false),
            Some(Err((name, code))) => Err(KafkaError::new(
                format!("Could not create topic {name}"),
                rdkafka::error::KafkaError::AdminOp(code),
            )),
        }
    }

    async fn delete_group(&self, group: &str) -> Result<(), KafkaError> {
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = self
            .admin
            .delete_groups(&[group], &opts)
            .await
            .map_err(|e| KafkaError::new(format!("Could not delete consumer group {group}"), e))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((name, code)) => {
                    return Err(KafkaError::new(
                        format!("Could not delete consumer group {name}"),
                        rdkafka::error::KafkaError::AdminOp(code),
                    ))
                }
            }
        }
        Ok(())
    }

    fn group_client(settings: &RdConfig, group: &str) -> Result<BaseConsumer, KafkaError> {
        let mut cfg = crate::client_config(settings);
        cfg.set("group.id", group);
        cfg.set("enable.auto.commit", "false");
        cfg.create()
            .map_err(|e| KafkaError::new(format!("Could not create a client for group {group}"), e))
    }

    /// The committed offsets of `group` for every partition of the topics `wanted` accepts
    /// (librdkafka's high-level API has no ListConsumerGroupOffsets, so this asks the group
    /// coordinator through a consumer that never joins). Sorted by topic and partition.
    async fn group_offsets(
        &self,
        group: &str,
        wanted: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<Vec<(String, i32, i64)>, KafkaError> {
        let settings = self.settings.clone();
        let group = group.to_string();
        blocking(move || {
            let client = Self::group_client(&settings, &group)?;
            committed(&client, &group, &wanted)
        })
        .await
    }

    /// Sets the committed offsets of `group`, which must have no active members. A `None`
    /// offset removes that partition's committed offset (KIP-875): librdkafka's high-level
    /// API cannot delete one partition's offset, so the group is deleted and every other
    /// committed offset written back.
    async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: Vec<(String, i32, Option<i64>)>,
    ) -> Result<(), KafkaError> {
        let mut commit: Vec<(String, i32, i64)> = offsets
            .iter()
            .filter_map(|(t, p, o)| o.map(|o| (t.clone(), *p, o)))
            .collect();
        let resets = commit.len() < offsets.len();
        if resets {
            let settings = self.settings.clone();
            let g = group.to_string();
            let current = blocking(move || {
                let client = Self::group_client(&settings, &g)?;
                committed(&client, &g, &|_: &str| true)
            })
            .await?;
            let listed = |t: &str, p: i32| offsets.iter().any(|(t2, p2, _)| t2 == t && *p2 == p);
            commit.extend(current.into_iter().filter(|(t, p, _)| !listed(t, *p)));
            self.delete_group(group).await?;
        }
        if commit.is_empty() {
            return Ok(());
        }
        let settings = self.settings.clone();
        let group = group.to_string();
        blocking(move || {
            let client = Self::group_client(&settings, &group)?;
            let mut tpl = TopicPartitionList::new();
            for (topic, partition, offset) in &commit {
                tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                    .map_err(|e| KafkaError::new("Invalid offset", e))?;
            }
            client.commit(&tpl, CommitMode::Sync).map_err(|e| {
                KafkaError::new(format!("Could not commit offsets for group {group}"), e)
            })
        })
        .await
    }
}

/// The committed offsets of `group` for the partitions of the topics `wanted` accepts.
fn committed(
    client: &BaseConsumer,
    group: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, i32, i64)>, KafkaError> {
    let md = client
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| KafkaError::new("Could not fetch the cluster metadata", e))?;
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        if wanted(t.name()) {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
    }
    if tpl.count() == 0 {
        return Ok(Vec::new());
    }
    let committed = client.committed_offsets(tpl, TIMEOUT).map_err(|e| {
        KafkaError::new(
            format!("Could not read the committed offsets of group {group}"),
            e,
        )
    })?;
    let mut out: Vec<(String, i32, i64)> = committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.topic().to_string(), e.partition(), o)),
            _ => None,
        })
        .collect();
    out.sort();
    Ok(out)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        KafkaError::new(
            "Kafka request interrupted",
            rdkafka::error::KafkaError::Canceled,
        )
    })?
}

/// What a first contact with the cluster found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterProbe {
    /// Connected; the cluster id.
    Connected(String),
    /// No broker answered in time (down, or not yet up): worth retrying.
    Unreachable,
    /// The cluster refused us for a reason retrying cannot fix (wrong credentials, a TLS
    /// certificate that cannot be verified): the message names the cause and what to check.
    Rejected(String),
}

/// Records the first authentication or TLS error librdkafka reports.
struct ProbeContext {
    name: String,
    rejected: std::sync::Mutex<Option<String>>,
}

impl ClientContext for ProbeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // Connection failures come again through `error`, which reports them once, clearly;
        // settings meant for another client role (the probe is a producer) are not news.
        let level = if fac == "FAIL" || fac == "CONFWARN" {
            RDKafkaLogLevel::Debug
        } else {
            level
        };
        crate::context::log(&self.name, level, fac, message)
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        let Ok(mut rejected) = self.rejected.lock() else {
            return;
        };
        match security_failure(&error, reason) {
            Some(msg) => {
                rejected.get_or_insert(msg);
            }
            // After a rejection, "all brokers down" is its consequence, not news.
            None if rejected.is_some() => {}
            None => crate::context::error(&self.name, error, reason),
        }
    }
}

impl rdkafka::producer::ProducerContext for ProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: ()) {}
}

/// TLS alerts a server sends when it refuses the client's certificate.
const TLS_REJECTIONS: &[&str] = &[
    "alert certificate required",
    "alert bad certificate",
    "alert unknown ca",
    "alert certificate unknown",
    "alert certificate revoked",
    "alert certificate expired",
    "alert unsupported certificate",
    "alert handshake failure",
    "alert access denied",
];

/// A clear message for errors that retrying cannot fix, naming the settings to check.
pub fn security_failure(error: &rdkafka::error::KafkaError, reason: &str) -> Option<String> {
    match error.rdkafka_error_code()? {
        RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => Some(format!(
            "Kafka rejected the client's SASL credentials: {reason}. Check the username and password in sasl.jaas.config (or the KafkaClient section of the JAAS file) and sasl.mechanism."
        )),
        RDKafkaErrorCode::SSL => Some(format!(
            "TLS connection to Kafka failed: {reason}. Check ssl.truststore.location (it must hold the CA that signed the broker's certificate), ssl.endpoint.identification.algorithm, and the keystore if the broker requires client certificates."
        )),
        // With TLS 1.3 the server checks the client certificate after the client finished its
        // handshake, so a refused certificate shows up as a transport failure with a TLS alert.
        RDKafkaErrorCode::BrokerTransportFailure
            if TLS_REJECTIONS.iter().any(|a| reason.contains(a)) =>
        {
            let hint = if reason.contains("certificate required") {
                "The broker requires a client certificate: set ssl.keystore.location (and ssl.keystore.password)."
            } else {
                "Check the keystore (ssl.keystore.*): the broker must trust the CA that signed the client certificate."
            };
            Some(format!("TLS connection to Kafka failed: {reason}. {hint}"))
        }
        _ => None,
    }
}

/// Contacts the cluster for at most `timeout`, telling a cluster that is away from one that
/// refuses us.
pub async fn probe_cluster(name: &str, settings: &RdConfig, timeout: Duration) -> ClusterProbe {
    let settings = settings.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let mut cfg = crate::client_config(&settings);
        cfg.set("client.id", &name);
        let ctx = ProbeContext {
            name: name.clone(),
            rejected: std::sync::Mutex::new(None),
        };
        let producer: BaseProducer<ProbeContext> = match cfg.create_with_context(ctx) {
            Ok(p) => p,
            Err(e) => {
                return ClusterProbe::Rejected(format!("Could not create Kafka client {name}: {e}"))
            }
        };
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(id) = producer
                .client()
                .fetch_cluster_id(Duration::from_millis(500))
            {
                return ClusterProbe::Connected(id);
            }
            // Serves the error callbacks.
            producer.poll(Duration::from_millis(100));
            if let Some(msg) = producer
                .context()
                .rejected
                .lock()
                .ok()
                .and_then(|r| r.clone())
            {
                return ClusterProbe::Rejected(msg);
            }
            if std::time::Instant::now() >= deadline {
                return ClusterProbe::Unreachable;
            }
        }
    })
    .await
    .unwrap_or(ClusterProbe::Unreachable)
}
