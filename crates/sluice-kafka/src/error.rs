use sluice_api::ConnectError;

/// A Kafka client failure, with whether retrying may help.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct KafkaError {
    context: String,
    #[source]
    source: rdkafka::error::KafkaError,
}

impl KafkaError {
    pub(crate) fn new(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        KafkaError {
            context: context.into(),
            source,
        }
    }

    /// Whether the failure is transient (broker down, timeouts, leader changes, full queue).
    pub fn is_retriable(&self) -> bool {
        use rdkafka::error::KafkaError as K;
        use rdkafka::types::RDKafkaErrorCode as C;
        match &self.source {
            K::MessageProduction(code)
            | K::ConsumerCommit(code)
            | K::MetadataFetch(code)
            | K::AdminOp(code)
            | K::MessageConsumption(code)
            | K::Flush(code) => matches!(
                code,
                C::QueueFull
                    | C::MessageTimedOut
                    | C::OperationTimedOut
                    | C::RequestTimedOut
                    | C::BrokerTransportFailure
                    | C::AllBrokersDown
                    | C::LeaderNotAvailable
                    | C::NotLeaderForPartition
                    | C::NotCoordinator
                    | C::CoordinatorNotAvailable
                    | C::CoordinatorLoadInProgress
                    | C::NetworkException
                    | C::NotEnoughReplicas
                    | C::NotEnoughReplicasAfterAppend
                    | C::UnknownTopicOrPartition
                    | C::UnknownTopic
                    | C::UnknownPartition
                    | C::RebalanceInProgress
                    | C::TimedOutQueue
                    | C::Resolve
            ),
            _ => false,
        }
    }

    /// The librdkafka error code, when there is one.
    pub fn code(&self) -> Option<rdkafka::types::RDKafkaErrorCode> {
        self.source.rdkafka_error_code()
    }
}

impl From<KafkaError> for ConnectError {
    fn from(e: KafkaError) -> Self {
        let msg = e.to_string();
        if e.is_retriable() {
            ConnectError::retriable(msg).with_source(e)
        } else {
            ConnectError::fatal(msg).with_source(e)
        }
    }
}
