//! Framework keys every connector config has (`ConnectorConfig`, `SinkConnectorConfig`,
//! `SourceConnectorConfig`), defined once.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator, Width};
use sluice_api::connector::ConnectorKind;

pub const NAME: &str = "name";
pub const CONNECTOR_CLASS: &str = "connector.class";
pub const TASKS_MAX: &str = "tasks.max";
pub const TASKS_MAX_ENFORCE: &str = "tasks.max.enforce";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const CONFIG_ACTION_RELOAD: &str = "config.action.reload";
pub const TRANSFORMS: &str = "transforms";
pub const PREDICATES: &str = "predicates";
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
pub const ERRORS_RETRY_DELAY_MAX_MS: &str = "errors.retry.delay.max.ms";
pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
pub const ERRORS_LOG_ENABLE: &str = "errors.log.enable";
pub const ERRORS_LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";
pub const TOPICS: &str = "topics";
pub const TOPICS_REGEX: &str = "topics.regex";
pub const DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";
pub const DLQ_REPLICATION: &str = "errors.deadletterqueue.topic.replication.factor";
pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";
pub const TASK_CLASS: &str = "task.class";

pub const COMMON_GROUP: &str = "Common";
pub const TRANSFORMS_GROUP: &str = "Transforms";
pub const PREDICATES_GROUP: &str = "Predicates";
pub const ERROR_GROUP: &str = "Error Handling";

/// The keys shared by sources and sinks.
pub fn common_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(NAME, ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .doc("Globally unique name to use for this connector.")
                .group(COMMON_GROUP, 1)
                .width(Width::Medium)
                .display_name("Connector name"),
        )
        .define(
            ConfigKey::new(CONNECTOR_CLASS, ConfigType::String)
                .importance(Importance::High)
                .doc("Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector. If the connector is org.apache.kafka.connect.file.FileStreamSinkConnector, you can either specify this full name,  or use \"FileStreamSink\" or \"FileStreamSinkConnector\" to make the configuration a bit shorter")
                .group(COMMON_GROUP, 2)
                .width(Width::Long)
                .display_name("Connector class"),
        )
        .define(
            ConfigKey::new(TASKS_MAX, ConfigType::Int)
                .default_value("1")
                .validator(Validator::at_least(1.0))
                .importance(Importance::High)
                .doc("Maximum number of tasks to use for this connector.")
                .group(COMMON_GROUP, 3)
                .width(Width::Short)
                .display_name("Tasks max"),
        )
        .define(
            ConfigKey::new(TASKS_MAX_ENFORCE, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("(Deprecated) Whether to enforce that the tasks.max property is respected by the connector.")
                .group(COMMON_GROUP, 4)
                .width(Width::Short)
                .display_name("Enforce tasks max"),
        )
        .define(
            ConfigKey::new(KEY_CONVERTER, ConfigType::Class)
                .default_null()
                .importance(Importance::Low)
                .doc("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the keys in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.")
                .group(COMMON_GROUP, 5)
                .width(Width::Short)
                .display_name("Key converter class"),
        )
        .define(
            ConfigKey::new(VALUE_CONVERTER, ConfigType::Class)
                .default_null()
                .importance(Importance::Low)
                .doc("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.")
                .group(COMMON_GROUP, 6)
                .width(Width::Short)
                .display_name("Value converter class"),
        )
        .define(
            ConfigKey::new(HEADER_CONVERTER, ConfigType::Class)
                .default_null()
                .importance(Importance::Low)
                .doc("HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the header values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro. By default, the SimpleHeaderConverter is used to serialize header values to strings and deserialize them by inferring the schemas.")
                .group(COMMON_GROUP, 7)
                .width(Width::Short)
                .display_name("Header converter class"),
        )
        .define(
            ConfigKey::new(CONFIG_ACTION_RELOAD, ConfigType::String)
                .default_value("restart")
                .validator(Validator::OneOfIgnoreCase(vec!["none", "restart"]))
                .importance(Importance::Low)
                .doc("The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties. A value of 'none' indicates that Connect will do nothing. A value of 'restart' indicates that Connect should restart/reload the connector with the updated configuration properties.The restart may actually be scheduled in the future if the external configuration provider indicates that a configuration value will expire in the future.")
                .group(COMMON_GROUP, 8)
                .width(Width::Medium)
                .display_name("Reload Action"),
        )
        .define(
            ConfigKey::new(TRANSFORMS, ConfigType::List)
                .default_value("")
                .validator(Validator::Custom(unique_aliases, "unique transformation aliases"))
                .importance(Importance::Low)
                .doc("Aliases for the transformations to be applied to records.")
                .group(TRANSFORMS_GROUP, 0)
                .width(Width::Long)
                .display_name("Transforms"),
        )
        .define(
            ConfigKey::new(PREDICATES, ConfigType::List)
                .default_value("")
                .validator(Validator::Custom(unique_aliases, "unique predicate aliases"))
                .importance(Importance::Low)
                .doc("Aliases for the predicates used by transformations.")
                .group(PREDICATES_GROUP, 0)
                .width(Width::Long)
                .display_name("Predicates"),
        )
        .define(
            ConfigKey::new(ERRORS_RETRY_TIMEOUT, ConfigType::Long)
                .default_value("0")
                .importance(Importance::Medium)
                .doc("The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
                .group(ERROR_GROUP, 1)
                .width(Width::Medium)
                .display_name("Retry Timeout for Errors"),
        )
        .define(
            ConfigKey::new(ERRORS_RETRY_DELAY_MAX_MS, ConfigType::Long)
                .default_value("60000")
                .importance(Importance::Medium)
                .doc("The maximum duration in milliseconds between consecutive retry attempts. Jitter will be added to the delay once this limit is reached to prevent thundering herd issues.")
                .group(ERROR_GROUP, 2)
                .width(Width::Medium)
                .display_name("Maximum Delay Between Retries for Errors"),
        )
        .define(
            ConfigKey::new(ERRORS_TOLERANCE, ConfigType::String)
                .default_value("none")
                .validator(Validator::OneOfIgnoreCase(vec!["none", "all"]))
                .importance(Importance::Medium)
                .doc("Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
                .group(ERROR_GROUP, 3)
                .width(Width::Short)
                .display_name("Error Tolerance"),
        )
        .define(
            ConfigKey::new(ERRORS_LOG_ENABLE, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .doc("If true, write each error and the details of the failed operation and problematic record to the Connect application log. This is 'false' by default, so that only errors that are not tolerated are reported.")
                .group(ERROR_GROUP, 4)
                .width(Width::Short)
                .display_name("Log Errors"),
        )
        .define(
            ConfigKey::new(ERRORS_LOG_INCLUDE_MESSAGES, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .doc("Whether to include in the log the Connect record that resulted in a failure. For sink records, the topic, partition, offset, and timestamp will be logged. For source records, the key and value (and their schemas), all headers, and the timestamp, Kafka topic, Kafka partition, source partition, and source offset will be logged. This is 'false' by default, which will prevent record keys, values, and headers from being written to log files.")
                .group(ERROR_GROUP, 5)
                .width(Width::Short)
                .display_name("Log Error Details"),
        )
}

/// Dead letter queue keys; Sluice accepts them on sources too.
fn dlq_keys(def: ConfigDef) -> ConfigDef {
    def.define(
        ConfigKey::new(DLQ_TOPIC, ConfigType::String)
            .default_value("")
            .importance(Importance::Medium)
            .doc("The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this connector, or its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ.")
            .group(ERROR_GROUP, 6)
            .width(Width::Medium)
            .display_name("Dead Letter Queue Topic Name"),
    )
    .define(
        ConfigKey::new(DLQ_REPLICATION, ConfigType::Short)
            .default_value("3")
            .importance(Importance::Medium)
            .doc("Replication factor used to create the dead letter queue topic when it doesn't already exist.")
            .group(ERROR_GROUP, 7)
            .width(Width::Medium)
            .display_name("Dead Letter Queue Topic Replication Factor"),
    )
    .define(
        ConfigKey::new(DLQ_CONTEXT_HEADERS, ConfigType::Boolean)
            .default_value("false")
            .importance(Importance::Medium)
            .doc("If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys, all error context header keys will start with <code>__connect.errors.</code>")
            .group(ERROR_GROUP, 8)
            .width(Width::Medium)
            .display_name("Enable Error Context Headers"),
    )
}

/// Framework keys of a connector of the given kind.
pub fn framework_def(kind: ConnectorKind) -> ConfigDef {
    match kind {
        ConnectorKind::Sink => dlq_keys(
            common_def()
                .define(
                    ConfigKey::new(TOPICS, ConfigType::List)
                        .default_value("")
                        .importance(Importance::High)
                        .doc("List of topics to consume, separated by commas")
                        .group(COMMON_GROUP, 4)
                        .width(Width::Long)
                        .display_name("Topics"),
                )
                .define(
                    ConfigKey::new(TOPICS_REGEX, ConfigType::String)
                        .default_value("")
                        .validator(Validator::Regex)
                        .importance(Importance::High)
                        .doc("Regular expression giving topics to consume. Under the hood, the regex is compiled to a <code>java.util.regex.Pattern</code>. Only one of topics or topics.regex should be specified.")
                        .group(COMMON_GROUP, 4)
                        .width(Width::Long)
                        .display_name("Topics regex"),
                ),
        ),
        ConnectorKind::Source => dlq_keys(common_def()),
    }
}

fn unique_aliases(_name: &str, value: &sluice_api::config::Parsed) -> Result<(), String> {
    if let sluice_api::config::Parsed::List(items) = value {
        let mut seen = std::collections::HashSet::new();
        for i in items {
            if !seen.insert(i.as_str()) {
                return Err(format!("Duplicate alias provided: {i}"));
            }
        }
    }
    Ok(())
}
