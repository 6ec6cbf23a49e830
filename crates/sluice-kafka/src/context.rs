//! rdkafka client callbacks: librdkafka's logs and errors go to `tracing` with the client's
//! name, so a broker that cannot be reached is a clear logged error rather than silence.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;

/// Logs librdkafka events under the name of the client (e.g. `connector-producer-x-0`).
#[derive(Clone, Debug)]
pub struct LogContext {
    pub name: String,
}

impl LogContext {
    pub fn new(name: impl Into<String>) -> Self {
        LogContext { name: name.into() }
    }
}

pub(crate) fn log(name: &str, level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(client = %name, facility = %fac, "{message}")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(client = %name, facility = %fac, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(client = %name, facility = %fac, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(client = %name, facility = %fac, "{message}"),
    }
}

pub(crate) fn error(name: &str, error: KafkaError, reason: &str) {
    use rdkafka::types::RDKafkaErrorCode as C;
    match error.rdkafka_error_code() {
        // Transport errors repeat while a broker is away; librdkafka reconnects with backoff.
        Some(C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition) => {
            tracing::warn!(client = %name, error = %error, "Topic not available yet: {reason}")
        }
        Some(C::BrokerTransportFailure | C::AllBrokersDown | C::Resolve) => {
            tracing::warn!(client = %name, error = %error, "Kafka broker unreachable, retrying with backoff: {reason}")
        }
        _ => tracing::error!(client = %name, error = %error, "Kafka client error: {reason}"),
    }
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log(&self.name, level, fac, log_message)
    }
    fn error(&self, error: KafkaError, reason: &str) {
        self::error(&self.name, error, reason)
    }
}
