//! Connector and task states as `GET /connectors/{name}/status` reports them.
//!
//! Statuses are shared, not owned by the herder's loop, so status requests answer even while
//! a connector is busy starting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use sluice_api::connector::ConnectorKind;

/// `AbstractStatus.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Failed,
    Restarting,
    Stopped,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
        }
    }
}

/// One connector's or task's status.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    /// Bumped on every (re)start, so a restart is visible.
    pub generation: u64,
}

/// A connector's status with its tasks.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: Status,
    pub tasks: BTreeMap<u32, Status>,
    pub kind: Option<ConnectorKind>,
    /// Records skipped under `errors.tolerance=all`, per task.
    pub tolerated: BTreeMap<u32, u64>,
}

/// A status change, for stores that publish them (the status topic in distributed mode).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    pub connector: String,
    /// `None` for the connector itself.
    pub task: Option<u32>,
    pub status: Status,
}

/// A task used a topic for the first time since the connector's topics were last reset
/// (KIP-558), for stores that publish it (the status topic in distributed mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicUse {
    pub connector: String,
    pub task: u32,
    pub topic: String,
}

/// The statuses of everything this worker runs.
#[derive(Clone, Debug)]
pub struct StatusStore {
    inner: Arc<RwLock<BTreeMap<String, ConnectorStatus>>>,
    worker_id: Arc<String>,
    listener: Option<tokio::sync::mpsc::UnboundedSender<StatusChange>>,
    /// Topics each connector's tasks produced to or consumed from (KIP-558), kept until
    /// reset or until the connector is deleted.
    topics: Arc<RwLock<BTreeMap<String, BTreeSet<String>>>>,
    /// Bumped whenever a topic is forgotten, so a task that remembers which topic it last
    /// recorded knows when to record it again (see [`StatusStore::topics_epoch`]).
    topics_epoch: Arc<std::sync::atomic::AtomicU64>,
    /// `topic.tracking.enable`; tracking is a no-op when false.
    tracking: bool,
    topic_listener: Option<tokio::sync::mpsc::UnboundedSender<TopicUse>>,
    /// Record taps of the connectors on this worker (the console's live view).
    taps: crate::inspect::Taps,
}

impl StatusStore {
    pub fn new(worker_id: impl Into<String>) -> Self {
        StatusStore {
            inner: Arc::default(),
            worker_id: Arc::new(worker_id.into()),
            topics: Arc::default(),
            topics_epoch: Arc::default(),
            tracking: true,
            listener: None,
            topic_listener: None,
            taps: crate::inspect::Taps::default(),
        }
    }

    /// A store that also reports every change to `listener`.
    pub fn with_listener(
        worker_id: impl Into<String>,
        listener: tokio::sync::mpsc::UnboundedSender<StatusChange>,
    ) -> Self {
        StatusStore {
            listener: Some(listener),
            ..StatusStore::new(worker_id)
        }
    }

    fn publish(&self, connector: &str, task: Option<u32>, status: &Status) {
        if let Some(l) = &self.listener {
            let _ = l.send(StatusChange {
                connector: connector.to_string(),
                task,
                status: status.clone(),
            });
        }
    }

    /// Publishes the current status of `connector` (`task` `None`) or of one of its tasks
    /// again, unchanged; `false` when there is none to publish.
    pub fn republish(&self, connector: &str, task: Option<u32>) -> bool {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let status = map.get(connector).and_then(|s| match task {
            None => Some(&s.connector),
            Some(t) => s.tasks.get(&t),
        });
        match status {
            Some(st) => {
                self.publish(connector, task, st);
                true
            }
            None => false,
        }
    }

    /// Turns active topic tracking on or off (`topic.tracking.enable`).
    pub fn with_topic_tracking(mut self, enabled: bool) -> Self {
        self.tracking = enabled;
        self
    }

    /// Also reports each newly used topic to `listener`.
    pub fn with_topic_listener(
        mut self,
        listener: tokio::sync::mpsc::UnboundedSender<TopicUse>,
    ) -> Self {
        self.topic_listener = Some(listener);
        self
    }

    /// Forgets that `connector` used `topic` (its status topic record was deleted by a reset),
    /// so the next use is recorded and published again.
    pub fn forget_topic(&self, connector: &str, topic: &str) {
        self.bump_topics_epoch();
        if let Some(t) = self
            .topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(connector)
        {
            t.remove(topic);
        }
    }

    /// Records that task `task` of `connector` used `topic`. Cheap when already known: only a
    /// read lock.
    pub fn record_topic(&self, connector: &str, task: u32, topic: &str) {
        if !self.tracking {
            return;
        }
        let known = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(connector)
            .is_some_and(|t| t.contains(topic));
        if !known {
            let new = self
                .topics
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(connector.to_string())
                .or_default()
                .insert(topic.to_string());
            if let (true, Some(l)) = (new, &self.topic_listener) {
                let _ = l.send(TopicUse {
                    connector: connector.to_string(),
                    task,
                    topic: topic.to_string(),
                });
            }
        }
    }

    /// Changes whenever a recorded topic may have been forgotten. A task that recorded `t`
    /// at epoch `e` need not record `t` again while the epoch is still `e`; the source
    /// driver uses this to keep the lock of [`record_topic`](Self::record_topic) off its
    /// per-record path.
    pub fn topics_epoch(&self) -> u64 {
        self.topics_epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    fn bump_topics_epoch(&self) {
        self.topics_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The topics `connector` used since the last reset, sorted.
    pub fn active_topics(&self, connector: &str) -> Vec<String> {
        self.topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(connector)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets the topics `connector` used (`PUT /connectors/{name}/topics/reset`).
    pub fn reset_topics(&self, connector: &str) {
        self.bump_topics_epoch();
        self.topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(connector);
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The record taps of this worker's connectors ([`crate::inspect`]).
    pub fn taps(&self) -> &crate::inspect::Taps {
        &self.taps
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, ConnectorStatus>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self, state: State, trace: Option<String>, generation: u64) -> Status {
        Status {
            state,
            trace,
            worker_id: self.worker_id.to_string(),
            generation,
        }
    }

    /// Sets the connector's state; a new connector entry starts with no tasks.
    pub fn put_connector(
        &self,
        name: &str,
        kind: Option<ConnectorKind>,
        state: State,
        trace: Option<String>,
    ) {
        let trace = trace.map(|t| crate::secrets::redact(&t).into_owned());
        let mut map = self.write();
        let generation = map.get(name).map_or(0, |s| s.connector.generation + 1);
        let status = self.status(state, trace, generation);
        self.publish(name, None, &status);
        match map.get_mut(name) {
            Some(s) => {
                s.connector = status;
                if kind.is_some() {
                    s.kind = kind;
                }
            }
            None => {
                map.insert(
                    name.to_string(),
                    ConnectorStatus {
                        name: name.to_string(),
                        connector: status,
                        tasks: BTreeMap::new(),
                        kind,
                        tolerated: BTreeMap::new(),
                    },
                );
            }
        }
    }

    /// Sets a task's state.
    pub fn put_task(&self, connector: &str, task: u32, state: State, trace: Option<String>) {
        let trace = trace.map(|t| crate::secrets::redact(&t).into_owned());
        let mut map = self.write();
        if self.listener.is_some() && !map.contains_key(connector) {
            // Distributed mode runs tasks whose connector runs on another worker.
            map.insert(
                connector.to_string(),
                ConnectorStatus {
                    name: connector.to_string(),
                    connector: self.status(State::Unassigned, None, 0),
                    tasks: BTreeMap::new(),
                    kind: None,
                    tolerated: BTreeMap::new(),
                },
            );
        }
        if let Some(s) = map.get_mut(connector) {
            let generation = s.tasks.get(&task).map_or(0, |t| {
                if state == State::Running && t.state != State::Running && t.state != State::Paused
                {
                    t.generation + 1
                } else {
                    t.generation
                }
            });
            let status = self.status(state, trace, generation);
            self.publish(connector, Some(task), &status);
            s.tasks.insert(task, status);
        }
    }

    /// Drops tasks with ids at or above `count`.
    pub fn retain_tasks(&self, connector: &str, count: u32) {
        if let Some(s) = self.write().get_mut(connector) {
            s.tasks.retain(|id, _| *id < count);
        }
    }

    pub fn add_tolerated(&self, connector: &str, task: u32, n: u64) {
        if let Some(s) = self.write().get_mut(connector) {
            *s.tolerated.entry(task).or_default() += n;
        }
    }

    pub fn remove(&self, connector: &str) {
        self.write().remove(connector);
        self.reset_topics(connector);
    }

    pub fn get(&self, connector: &str) -> Option<ConnectorStatus> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(connector)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn republish_sends_the_current_status_again_unchanged() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let s = StatusStore::with_listener("w:1", tx);
        assert!(!s.republish("c", None), "nothing to republish yet");
        s.put_task("c", 0, State::Running, None);
        let first = rx.try_recv().unwrap();
        assert!(s.republish("c", Some(0)));
        let again = rx.try_recv().unwrap();
        assert_eq!((again.connector.as_str(), again.task), ("c", Some(0)));
        assert_eq!(again.status, first.status);
        assert!(!s.republish("c", Some(1)), "no such task");
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn forgetting_topics_moves_the_epoch() {
        let s = StatusStore::new("w:1");
        let e0 = s.topics_epoch();
        s.record_topic("c", 0, "t");
        assert_eq!(s.topics_epoch(), e0, "recording leaves the epoch alone");
        assert_eq!(s.active_topics("c"), ["t"]);
        s.reset_topics("c");
        let e1 = s.topics_epoch();
        assert_ne!(e1, e0);
        s.forget_topic("c", "t");
        assert_ne!(s.topics_epoch(), e1);
    }
}
