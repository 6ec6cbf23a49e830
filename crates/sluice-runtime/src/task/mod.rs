//! Task drivers: the loops that move records between a task and Kafka. They own conversion,
//! transforms, offset commits and failure handling; tasks only poll or put.

pub mod sink;
pub mod source;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use sluice_api::ConnectError;

use crate::status::{State, StatusStore};

/// `<connector>-<task>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    pub connector: String,
    pub task: u32,
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// What a connector and its tasks should be doing (`TargetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    /// The config topic's `state.v2` name.
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }
}

/// Worker-wide settings the drivers use.
#[derive(Clone, Debug)]
pub struct TaskSettings {
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
}

/// Turns a panic payload into a message.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs a task driver; an error or a panic becomes a FAILED status with its trace, and the
/// worker carries on.
pub async fn supervise<F>(id: TaskId, status: StatusStore, driver: F)
where
    F: Future<Output = Result<(), ConnectError>>,
{
    match AssertUnwindSafe(driver).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(task = %id, error = %e, "Task threw an uncaught and unrecoverable exception. Task is being killed and will not recover until manually restarted.");
            status.put_task(&id.connector, id.task, State::Failed, Some(e.trace()));
        }
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            tracing::error!(task = %id, panic = %msg, "Task panicked. Task is being killed and will not recover until manually restarted.");
            status.put_task(
                &id.connector,
                id.task,
                State::Failed,
                Some(format!(
                    "org.apache.kafka.connect.errors.ConnectException: Task panicked: {msg}"
                )),
            );
        }
    }
}
