//! Herders: they decide which connectors run and hold their configs. A herder is an actor with
//! a closed request enum behind a cloneable handle; reads of configs and statuses go to shared
//! state directly, so they answer even while the actor is busy.
//!
//! The REST layer talks to [`Herder`], a closed enum over the herder kinds (standalone and
//! distributed), both serving the same methods.

pub mod distributed;

use distributed::DistributedHerder;
mod offsets;
pub mod persist;
pub mod standalone;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value as Json};
use sluice_api::config::RawConfig;
use sluice_api::connector::ConnectorKind;
use sluice_api::ConnectError;

use crate::config::validate::ValidationReport;
use crate::plugins::Plugins;
use crate::status::{ConnectorStatus, State, Status};
use crate::task::TargetState;
use standalone::StandaloneHerder;

/// Kafka's REST request timeout (`RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// `ConnectorInfo`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: RawConfig,
    pub tasks: Vec<u32>,
    pub kind: Option<ConnectorKind>,
}

/// A connector as the herder keeps it.
#[derive(Clone, Debug)]
pub struct ConnectorEntry {
    pub config: RawConfig,
    pub kind: Option<ConnectorKind>,
    pub target: TargetState,
    /// Task configs once the connector has produced them.
    pub tasks: Vec<RawConfig>,
    /// Created or last changed over REST (standalone keeps these across restarts); false
    /// for connectors from files on the command line.
    pub rest_managed: bool,
}

impl ConnectorEntry {
    pub fn info(&self, name: &str) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: self.config.clone(),
            tasks: (0..self.tasks.len() as u32).collect(),
            kind: self.kind,
        }
    }
}

/// `POST /connectors/{name}/restart` parameters (KIP-745).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestartRequest {
    pub include_tasks: bool,
    pub only_failed: bool,
}

impl RestartRequest {
    /// Both false: restart the connector instance only, answered with 204.
    pub fn is_legacy(self) -> bool {
        !self.include_tasks && !self.only_failed
    }

    /// `RestartRequest.shouldRestartConnector`.
    pub fn restarts_connector(self, state: State) -> bool {
        self.is_legacy() || !self.only_failed || state == State::Failed
    }

    /// `RestartRequest.shouldRestartTask`.
    pub fn restarts_task(self, state: State) -> bool {
        self.include_tasks && (!self.only_failed || state == State::Failed)
    }

    /// The statuses as the restart will leave them: what restarts shows RESTARTING.
    pub fn plan(self, status: &ConnectorStatus) -> ConnectorStatus {
        let mut plan = status.clone();
        if self.restarts_connector(status.connector.state) {
            plan.connector.state = State::Restarting;
            plan.connector.trace = None;
        }
        for t in plan.tasks.values_mut() {
            if self.restarts_task(t.state) {
                t.state = State::Restarting;
                t.trace = None;
            }
        }
        plan
    }
}

/// One partition and its offset (`null` resets it), in the offsets' own JSON form: source
/// partitions as the connector wrote them, sink partitions as
/// `{"kafka_topic", "kafka_partition"}` → `{"kafka_offset"}` (KIP-875).
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionOffset {
    pub partition: Map<String, Json>,
    pub offset: Option<Map<String, Json>>,
}

pub type Offsets = Vec<PartitionOffset>;

/// The herder the REST API talks to.
#[derive(Clone, Debug)]
pub enum Herder {
    Standalone(StandaloneHerder),
    Distributed(DistributedHerder),
}

macro_rules! delegate {
    ($self:ident, $h:ident => $e:expr) => {
        match $self {
            Herder::Standalone($h) => $e,
            Herder::Distributed($h) => $e,
        }
    };
}

impl Herder {
    pub fn plugins(&self) -> &Plugins {
        delegate!(self, h => &h.worker().plugins)
    }
    pub fn worker_id(&self) -> &str {
        delegate!(self, h => h.worker().status.worker_id())
    }
    /// This worker's statuses, active topics and record taps.
    pub fn status_store(&self) -> &crate::status::StatusStore {
        delegate!(self, h => &h.worker().status)
    }
    /// The worker's own configuration, as given.
    pub fn worker_config(&self) -> &RawConfig {
        delegate!(self, h => h.worker().config.raw())
    }
    pub fn validate(&self, config: &RawConfig) -> ValidationReport {
        delegate!(self, h => h.validate(config))
    }
    pub fn connectors(&self) -> Vec<String> {
        delegate!(self, h => h.connectors())
    }
    pub fn connector_info(&self, name: &str) -> Result<ConnectorInfo, ConnectError> {
        delegate!(self, h => h.connector_info(name))
    }
    pub fn connector_status(&self, name: &str) -> Result<ConnectorStatus, ConnectError> {
        delegate!(self, h => h.connector_status(name))
    }
    pub fn task_configs(&self, name: &str) -> Result<Vec<RawConfig>, ConnectError> {
        delegate!(self, h => h.task_configs(name))
    }
    pub fn task_status(&self, name: &str, task: u32) -> Result<Status, ConnectError> {
        delegate!(self, h => h.task_status(name, task))
    }
    pub fn active_topics(&self, name: &str) -> Vec<String> {
        delegate!(self, h => h.active_topics(name))
    }
    pub async fn reset_active_topics(&self, name: &str) -> Result<(), ConnectError> {
        match self {
            Herder::Standalone(h) => {
                h.reset_active_topics(name);
                Ok(())
            }
            Herder::Distributed(h) => h.reset_active_topics(name).await,
        }
    }
    /// Where a config write must be completed: `None` here, `Some(url)` at the leader, or an
    /// error while no leader is known (a rebalance).
    pub fn write_target(&self) -> Result<Option<String>, ConnectError> {
        match self {
            Herder::Standalone(_) => Ok(None),
            Herder::Distributed(h) if h.is_leader() => Ok(None),
            Herder::Distributed(h) => match h.leader_url() {
                Some(url) if !url.is_empty() => Ok(Some(url)),
                _ => Err(ConnectError::illegal_state(distributed::CONFLICT_MESSAGE)),
            },
        }
    }
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: RawConfig,
        allow_replace: bool,
        initial: TargetState,
    ) -> Result<(bool, ConnectorInfo), ConnectError> {
        delegate!(self, h => h.put_connector_config(name, config, allow_replace, initial).await)
    }
    pub async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ConnectError> {
        delegate!(self, h => h.patch_connector_config(name, patch).await)
    }
    pub async fn delete_connector(&self, name: &str) -> Result<(), ConnectError> {
        delegate!(self, h => h.delete_connector(name).await)
    }
    pub async fn set_target_state(
        &self,
        name: &str,
        target: TargetState,
    ) -> Result<(), ConnectError> {
        delegate!(self, h => h.set_target_state(name, target).await)
    }
    pub async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> Result<Option<ConnectorStatus>, ConnectError> {
        delegate!(self, h => h.restart_connector(name, request).await)
    }
    pub async fn restart_task(&self, name: &str, task: u32) -> Result<(), ConnectError> {
        delegate!(self, h => h.restart_task(name, task).await)
    }
    /// Where a task restart must run: `None` here, `Some(url)` at the worker running the task
    /// (distributed mode).
    pub fn task_restart_target(
        &self,
        name: &str,
        task: u32,
    ) -> Result<Option<String>, ConnectError> {
        match self {
            Herder::Standalone(_) => Ok(None),
            Herder::Distributed(h) => Ok(h
                .task_owner(name, task)?
                .map(|worker_id| h.url_of(&worker_id))),
        }
    }
    pub async fn connector_offsets(&self, name: &str) -> Result<Offsets, ConnectError> {
        delegate!(self, h => h.connector_offsets(name).await)
    }
    /// Alters (`Some`) or resets (`None`) a stopped connector's offsets.
    pub async fn modify_offsets(
        &self,
        name: &str,
        offsets: Option<Offsets>,
    ) -> Result<bool, ConnectError> {
        delegate!(self, h => h.modify_offsets(name, offsets).await)
    }
    /// KIP-507: whether an internal request is signed as the cluster requires (standalone
    /// workers take no internal requests: their handler refuses them).
    pub fn check_internal_request(
        &self,
        algorithm: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), crate::signature::SignatureError> {
        match self {
            Herder::Standalone(_) => Ok(()),
            Herder::Distributed(h) => h.check_internal_request(algorithm, signature, body),
        }
    }
    /// `POST /connectors/{name}/tasks`: task configs from the connector's owner (distributed
    /// mode only).
    pub async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<RawConfig>,
    ) -> Result<(), ConnectError> {
        match self {
            Herder::Standalone(_) => Err(ConnectError::fatal(
                "Kafka Connect in standalone mode does not support externally setting task configurations.",
            )),
            Herder::Distributed(h) => h.put_task_configs(name, configs).await,
        }
    }
    pub async fn health_check(&self, timeout: Duration) -> Result<(), ConnectError> {
        match self {
            Herder::Standalone(h) => h.health_check(timeout).await,
            Herder::Distributed(h) => h.health_check(timeout),
        }
    }
}

impl From<DistributedHerder> for Herder {
    fn from(h: DistributedHerder) -> Self {
        Herder::Distributed(h)
    }
}

impl From<StandaloneHerder> for Herder {
    fn from(h: StandaloneHerder) -> Self {
        Herder::Standalone(h)
    }
}
