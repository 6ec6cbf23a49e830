//! Error handling as Kafka Connect defines it (KIP-298, KIP-610): retries with backoff,
//! `errors.tolerance`, the log reporter and the dead letter queue, for sources and sinks.
//!
//! The drivers hand every record's conversion and transformation to this module
//! ([`sink::SinkPipeline`], [`source::SourcePipeline`]); what fails goes through the
//! [`ErrorHandler`]: retried while retriable and within `errors.retry.timeout`, then either
//! the task fails ("Tolerance exceeded in error handler") or the record is skipped, logged,
//! counted and, with a DLQ, written there before its offset may be committed.

pub mod dlq;
pub mod report;
pub mod retry;
pub mod sink;
pub mod source;

use std::time::Duration;

use sluice_api::config::RawConfig;
use sluice_api::{ConnectError, ErrorKind};

use crate::config::connector as cc;
use crate::status::StatusStore;
use crate::task::TaskId;

pub use report::RecordContext;

/// Where in the pipeline an error happened (`org.apache.kafka.connect.runtime.errors.Stage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    TaskPoll,
    TaskPut,
    Transformation,
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    KafkaProduce,
    KafkaConsume,
}

impl Stage {
    /// The Java enum constant, as in logs and the `__connect.errors.stage` header.
    pub fn name(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }

    /// Converters and transforms may fail with anything and still be tolerated
    /// (`RetryWithToleranceOperator.TOLERABLE_EXCEPTIONS`), and so may records a sink task
    /// reports as errant and records the producer failed to write (`executeFailed`); other
    /// stages only with retriable errors.
    pub fn tolerates_any_error(self) -> bool {
        matches!(
            self,
            Stage::Transformation
                | Stage::KeyConverter
                | Stage::ValueConverter
                | Stage::HeaderConverter
                | Stage::TaskPut
                | Stage::KafkaProduce
        )
    }
}

/// A failed operation: the stage, the class that executed it, and the error.
#[derive(Debug)]
pub struct Failure {
    pub stage: Stage,
    pub class: String,
    pub error: ConnectError,
}

impl Failure {
    pub fn new(stage: Stage, class: impl Into<String>, error: ConnectError) -> Self {
        Failure {
            stage,
            class: class.into(),
            error,
        }
    }

    /// Whether retrying the same operation may succeed.
    pub fn is_retriable(&self) -> bool {
        self.error.kind() == ErrorKind::Retriable
    }
}

/// `errors.tolerance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tolerance {
    None,
    All,
}

/// The `errors.*` settings of a connector.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorSettings {
    /// `errors.retry.timeout`; `None` retries forever (-1).
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`.
    pub max_delay: Duration,
    pub tolerance: Tolerance,
    pub log_enable: bool,
    pub log_include_messages: bool,
    /// `errors.deadletterqueue.topic.name`, when not blank.
    pub dlq_topic: Option<String>,
    pub dlq_replication: i16,
    pub dlq_context_headers: bool,
}

impl Default for ErrorSettings {
    fn default() -> Self {
        ErrorSettings {
            retry_timeout: Some(Duration::ZERO),
            max_delay: Duration::from_millis(60_000),
            tolerance: Tolerance::None,
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication: 3,
            dlq_context_headers: false,
        }
    }
}

impl ErrorSettings {
    /// Reads the settings from a validated connector config (defaults for what is absent).
    pub fn from_config(config: &RawConfig) -> Self {
        let d = ErrorSettings::default();
        let get = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let flag = |k: &str| get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let retry_timeout = match get(cc::ERRORS_RETRY_TIMEOUT).and_then(|v| v.parse::<i64>().ok())
        {
            Some(t) if t < 0 => None,
            Some(t) => Some(Duration::from_millis(t as u64)),
            None => d.retry_timeout,
        };
        let max_delay = get(cc::ERRORS_RETRY_DELAY_MAX_MS)
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(d.max_delay, |m| Duration::from_millis(m.max(0) as u64));
        let tolerance = match get(cc::ERRORS_TOLERANCE) {
            Some(t) if t.eq_ignore_ascii_case("all") => Tolerance::All,
            _ => Tolerance::None,
        };
        ErrorSettings {
            retry_timeout,
            max_delay,
            tolerance,
            log_enable: flag(cc::ERRORS_LOG_ENABLE),
            log_include_messages: flag(cc::ERRORS_LOG_INCLUDE_MESSAGES),
            dlq_topic: get(cc::DLQ_TOPIC).map(str::to_string),
            dlq_replication: get(cc::DLQ_REPLICATION)
                .and_then(|v| v.parse().ok())
                .unwrap_or(d.dlq_replication),
            dlq_context_headers: flag(cc::DLQ_CONTEXT_HEADERS),
        }
    }
}

/// Decides what a failure means for the task and reports tolerated ones: the log reporter,
/// the running count (status store and a warning), never silently.
#[derive(Clone, Debug)]
pub struct ErrorHandler {
    pub id: TaskId,
    pub settings: ErrorSettings,
    status: StatusStore,
    tolerated: u64,
    /// `task-error-metrics` of the task.
    metrics: std::sync::Arc<crate::metrics::ErrorMetrics>,
}

impl ErrorHandler {
    pub fn new(id: TaskId, settings: ErrorSettings, status: StatusStore) -> Self {
        let metrics = crate::metrics::global().task_errors(&id);
        ErrorHandler {
            id,
            settings,
            status,
            tolerated: 0,
            metrics,
        }
    }

    /// The task's error counters (`task-error-metrics`).
    pub fn metrics(&self) -> &crate::metrics::ErrorMetrics {
        &self.metrics
    }

    /// Records skipped by this task since it started.
    pub fn tolerated(&self) -> u64 {
        self.tolerated
    }

    /// Handles a failure that retries did not cure. `Ok(())` when the record is to be skipped
    /// (the caller then routes it to the DLQ if there is one); otherwise the task's error.
    pub fn handle(
        &mut self,
        failure: &Failure,
        record: &RecordContext,
    ) -> Result<(), ConnectError> {
        let tolerable = failure.stage.tolerates_any_error() || failure.is_retriable();
        self.metrics.record_error(
            tolerable && self.settings.tolerance == Tolerance::All,
            self.settings.log_enable,
        );
        if self.settings.log_enable {
            tracing::error!(
                task = %self.id,
                error = %failure.error.trace(),
                "{}",
                report::log_message(&self.id, failure, record, self.settings.log_include_messages)
            );
        }
        // Where a consumed record sits is metadata and always named; a source record's
        // content only with errors.log.include.messages.
        let include =
            matches!(record, RecordContext::Consumed { .. }) || self.settings.log_include_messages;
        let context = report::context_text(failure, record, include);
        if !tolerable {
            return Err(ConnectError::fatal(format!(
                "Unhandled exception in error handler. {context}"
            ))
            .with_source(clone_error(&failure.error)));
        }
        if self.settings.tolerance == Tolerance::None {
            return Err(ConnectError::fatal(format!(
                "Tolerance exceeded in error handler. {context}"
            ))
            .with_source(clone_error(&failure.error)));
        }
        self.tolerated += 1;
        self.status
            .add_tolerated(&self.id.connector, self.id.task, 1);
        // Every record is counted over REST; the log shows the count without flooding.
        if self.tolerated.is_power_of_two() || self.tolerated.checked_rem(10_000) == Some(0) {
            tracing::warn!(
                task = %self.id,
                tolerated = self.tolerated,
                stage = failure.stage.name(),
                error = %failure.error,
                "Skipped a record that failed (errors.tolerance=all); this task has tolerated {} record(s) so far.",
                self.tolerated
            );
        }
        Ok(())
    }
}

/// A copy of an error for the task's trace (the original goes to the DLQ headers).
fn clone_error(e: &ConnectError) -> ConnectError {
    ConnectError::new(e.kind(), e.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_kafkas_defaults_and_minus_one() {
        let s = ErrorSettings::from_config(&RawConfig::new());
        assert_eq!(s, ErrorSettings::default());
        let mut c = RawConfig::new();
        c.insert("errors.retry.timeout".into(), "-1".into());
        c.insert("errors.retry.delay.max.ms".into(), "1000".into());
        c.insert("errors.tolerance".into(), "ALL".into());
        c.insert("errors.log.enable".into(), "true".into());
        c.insert("errors.deadletterqueue.topic.name".into(), " dlq ".into());
        c.insert(
            "errors.deadletterqueue.topic.replication.factor".into(),
            "1".into(),
        );
        let s = ErrorSettings::from_config(&c);
        assert_eq!(s.retry_timeout, None);
        assert_eq!(s.max_delay, Duration::from_millis(1000));
        assert_eq!(s.tolerance, Tolerance::All);
        assert!(s.log_enable && !s.log_include_messages);
        assert_eq!(s.dlq_topic.as_deref(), Some("dlq"));
        assert_eq!(s.dlq_replication, 1);
    }

    fn handler(tolerance: Tolerance) -> (ErrorHandler, StatusStore) {
        let status = StatusStore::new("w");
        status.put_connector("c", None, crate::status::State::Running, None);
        let settings = ErrorSettings {
            tolerance,
            ..ErrorSettings::default()
        };
        let id = TaskId {
            connector: "c".into(),
            task: 0,
        };
        (ErrorHandler::new(id, settings, status.clone()), status)
    }

    fn consumed() -> RecordContext {
        RecordContext::Consumed {
            topic: "t".into(),
            partition: 0,
            offset: 12,
            timestamp: Some(1_700_000_000_000),
            timestamp_type: sluice_api::record::TimestampType::CreateTime,
        }
    }

    #[test]
    fn tolerance_none_fails_naming_stage_class_and_record() {
        let (mut h, _) = handler(Tolerance::None);
        let f = Failure::new(
            Stage::ValueConverter,
            "org.apache.kafka.connect.json.JsonConverter",
            ConnectError::data("Converting byte[] to Kafka Connect data failed"),
        );
        let e = h.handle(&f, &consumed()).unwrap_err();
        assert_eq!(
            e.trace(),
            "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler. \
             Executing stage 'VALUE_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter', \
             where consumed record is {topic='t', partition=0, offset=12, timestamp=1700000000000, timestampType=CreateTime}.\n\
             Caused by: org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed"
        );
    }

    #[test]
    fn tolerance_all_counts_in_the_status_store() {
        let (mut h, status) = handler(Tolerance::All);
        let f = Failure::new(Stage::Transformation, "X", ConnectError::fatal("boom"));
        h.handle(&f, &consumed()).unwrap();
        h.handle(&f, &consumed()).unwrap();
        assert_eq!(h.tolerated(), 2);
        assert_eq!(status.get("c").unwrap().tolerated.get(&0), Some(&2));
    }

    #[test]
    fn only_retriable_errors_are_tolerable_outside_converters_and_transforms() {
        let (mut h, _) = handler(Tolerance::All);
        let fatal = Failure::new(Stage::TaskPoll, "S", ConnectError::fatal("disk gone"));
        let e = h.handle(&fatal, &consumed()).unwrap_err();
        assert!(e
            .message()
            .starts_with("Unhandled exception in error handler."));
        let retriable = Failure::new(Stage::TaskPoll, "P", ConnectError::retriable("slow"));
        h.handle(&retriable, &consumed()).unwrap();
    }
}
