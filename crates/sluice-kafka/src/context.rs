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

/// A repeated warning or error of one client is logged at most once per this window; the
/// next one says how many were held back (a broker that is down makes librdkafka report the
/// same failure many times a second, per client).
const REPEAT_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether to log an event of `client` of kind `kind` now, and how many like it were held back
/// since the last one logged.
pub(crate) fn throttle(client: &str, kind: &str) -> Option<u64> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Instant;
    /// (client, kind) → (when last logged, how many held back since).
    type Seen = HashMap<(String, String), (Instant, u64)>;
    static SEEN: Mutex<Option<Seen>> = Mutex::new(None);
    let Ok(mut seen) = SEEN.lock() else {
        return Some(0);
    };
    let seen = seen.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    let key = (client.to_string(), kind.to_string());
    match seen.get_mut(&key) {
        Some((last, held)) if now.duration_since(*last) < REPEAT_WINDOW => {
            *held += 1;
            None
        }
        Some((last, held)) => {
            let n = *held;
            *last = now;
            *held = 0;
            Some(n)
        }
        None => {
            // Clients come and go; forget them all rather than grow without bound.
            if seen.len() >= 10_000 {
                seen.clear();
            }
            seen.insert(key, (now, 0));
            Some(0)
        }
    }
}

pub(crate) fn repeated(held: u64) -> String {
    if held == 0 {
        String::new()
    } else {
        format!(
            " (and {held} more like it in the last {}s)",
            REPEAT_WINDOW.as_secs()
        )
    }
}

pub(crate) fn log(name: &str, level: RDKafkaLogLevel, fac: &str, message: &str) {
    let noisy = matches!(
        level,
        RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning
    );
    let held = if noisy {
        match throttle(name, fac) {
            Some(held) => held,
            None => return,
        }
    } else {
        0
    };
    let message = format!("{message}{}", repeated(held));
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
    let kind = format!("error {:?}", error.rdkafka_error_code());
    let Some(held) = throttle(name, &kind) else {
        return;
    };
    let reason = format!("{reason}{}", repeated(held));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_held_back_within_the_window() {
        assert_eq!(throttle("c-throttle", "FAIL"), Some(0));
        assert_eq!(throttle("c-throttle", "FAIL"), None);
        assert_eq!(throttle("c-throttle", "FAIL"), None);
        // Another kind, or another client, is logged.
        assert_eq!(throttle("c-throttle", "other"), Some(0));
        assert_eq!(throttle("c-throttle-2", "FAIL"), Some(0));
        assert_eq!(repeated(2), " (and 2 more like it in the last 30s)");
    }
}
