//! The one error type plugins and the runtime exchange.

use std::fmt;

/// A boxed error usable as a `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an error is. The runtime decides from the kind whether to retry
/// (`Retriable`), tolerate or route to the dead letter queue (`Data`), or fail the task.
/// The REST layer maps kinds to status codes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A transient failure; the same call may succeed later (Kafka's `RetriableException`).
    Retriable,
    /// A record could not be handled (Kafka's `DataException`).
    Data,
    /// A configuration is invalid (Kafka's `ConfigException`).
    Config,
    /// Something named does not exist (Kafka's `NotFoundException`).
    NotFound,
    /// Something named already exists (Kafka's `AlreadyExistsException`).
    AlreadyExists,
    /// An operation is not allowed in the current state (Kafka's `IllegalStateException`).
    IllegalState,
    /// Anything else: the task fails (Kafka's `ConnectException`).
    Fatal,
}

impl ErrorKind {
    /// The Java exception class this kind stands for, as reported in traces and DLQ headers.
    pub fn java_class(self) -> &'static str {
        match self {
            ErrorKind::Retriable => "org.apache.kafka.connect.errors.RetriableException",
            ErrorKind::Data => "org.apache.kafka.connect.errors.DataException",
            ErrorKind::Config => "org.apache.kafka.common.config.ConfigException",
            ErrorKind::NotFound => "org.apache.kafka.connect.errors.NotFoundException",
            ErrorKind::AlreadyExists => "org.apache.kafka.connect.errors.AlreadyExistsException",
            ErrorKind::IllegalState => "java.lang.IllegalStateException",
            ErrorKind::Fatal => "org.apache.kafka.connect.errors.ConnectException",
        }
    }
}

/// An error raised by a connector, task, converter, transform or the runtime.
///
/// The message is written for a user: it names what failed, the value and what is allowed.
#[derive(Debug, thiserror::Error)]
pub struct ConnectError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ConnectError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectError {
            kind,
            message: message.into(),
            source: None,
        }
    }
    /// A transient failure worth retrying.
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Retriable, message)
    }
    /// A record that cannot be handled.
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }
    /// An invalid configuration.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// Something that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// Something that already exists.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }
    /// An operation not allowed in the current state.
    pub fn illegal_state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::IllegalState, message)
    }
    /// A failure that stops the task.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }
    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The user-facing message (without the causes).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// A Java-style trace: the exception class and message, then each cause as `Caused by:`.
    /// This is what FAILED statuses carry in `trace`.
    pub fn trace(&self) -> String {
        let mut out = format!("{}: {}", self.kind.java_class(), self.message);
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(c) = cause {
            let text = c.to_string();
            // Messages often quote their cause already; don't repeat it.
            if !out.contains(&text) {
                out.push_str("\nCaused by: ");
                // A Connect error cause names its Java class, as Java's traces do.
                if let Some(ce) = c.downcast_ref::<ConnectError>() {
                    out.push_str(ce.kind.java_class());
                    out.push_str(": ");
                }
                out.push_str(&text);
            }
            cause = c.source();
        }
        out
    }
}

/// Result with [`ConnectError`].
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_skips_causes_already_quoted() {
        let io = std::io::Error::other("disk full");
        let e = ConnectError::fatal(format!("Could not write: {io}")).with_source(io);
        assert_eq!(
            e.trace(),
            "org.apache.kafka.connect.errors.ConnectException: Could not write: disk full"
        );
    }

    #[test]
    fn trace_lists_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = ConnectError::fatal("Could not open /x").with_source(io);
        assert_eq!(
            e.trace(),
            "org.apache.kafka.connect.errors.ConnectException: Could not open /x\nCaused by: no such file"
        );
        assert_eq!(e.to_string(), "Could not open /x");
    }
}
