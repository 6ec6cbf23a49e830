//! The plugin registry: one explicit list of every connector, converter, transform and
//! predicate, keyed by Java class name and Kafka's aliases.

use sluice_api::connector::ConnectorPlugin;
use sluice_api::plugin::{aliases, ConverterPlugin, PredicatePlugin, TransformPlugin};

/// Everything this worker can run.
#[derive(Clone)]
pub struct Plugins {
    pub connectors: Vec<ConnectorPlugin>,
    pub converters: Vec<ConverterPlugin>,
    pub transforms: Vec<TransformPlugin>,
    pub predicates: Vec<PredicatePlugin>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins")
            .field("connectors", &self.connectors.len())
            .field("converters", &self.converters.len())
            .field("transforms", &self.transforms.len())
            .field("predicates", &self.predicates.len())
            .finish()
    }
}

/// Finds the entry whose class is `name`, or whose unambiguous alias is `name`.
fn lookup<'a, T>(items: &'a [T], name: &str, class: impl Fn(&T) -> &'static str) -> Option<&'a T> {
    let name = name.trim();
    if let Some(hit) = items.iter().find(|i| class(i) == name) {
        return Some(hit);
    }
    let mut hits = items
        .iter()
        .filter(|i| aliases(class(i)).iter().any(|a| a == name));
    let first = hits.next()?;
    // Kafka drops aliases that name more than one class.
    if hits.next().is_some() {
        return None;
    }
    Some(first)
}

impl Plugins {
    /// The built-in plugins.
    pub fn builtin() -> Self {
        Plugins {
            connectors: [
                sluice_connector_file::plugins(),
                sluice_connector_jdbc::plugins(),
                sluice_connector_tdengine::plugins(),
                sluice_connector_postgres_cdc::plugins(),
                sluice_connector_rabbitmq::plugins(),
                sluice_connector_http::plugins(),
                sluice_connector_mqtt::plugins(),
            ]
            .concat(),
            converters: sluice_converters::converter_plugins(),
            transforms: sluice_transforms::transform_plugins(),
            predicates: sluice_transforms::predicate_plugins(),
        }
    }

    /// Adds connector plugins (used by tests to register test connectors).
    pub fn with_connectors(mut self, extra: Vec<ConnectorPlugin>) -> Self {
        self.connectors.extend(extra);
        self
    }

    pub fn connector(&self, name: &str) -> Option<&ConnectorPlugin> {
        lookup(&self.connectors, name, |p| p.class)
    }
    pub fn converter(&self, name: &str) -> Option<&ConverterPlugin> {
        lookup(&self.converters, name, |p| p.class)
    }
    pub fn transform(&self, name: &str) -> Option<&TransformPlugin> {
        lookup(&self.transforms, name, |p| p.class)
    }
    pub fn predicate(&self, name: &str) -> Option<&PredicatePlugin> {
        lookup(&self.predicates, name, |p| p.class)
    }

    /// Class names of the connectors, for error messages.
    pub fn connector_classes(&self) -> Vec<&'static str> {
        self.connectors.iter().map(|c| c.class).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_connectors_by_class_and_alias() {
        let p = Plugins::builtin();
        for name in [
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "FileStreamSource",
            "FileStreamSourceConnector",
        ] {
            assert_eq!(
                p.connector(name).map(|c| c.class),
                Some("org.apache.kafka.connect.file.FileStreamSourceConnector"),
                "{name}"
            );
        }
        assert_eq!(
            p.connector("FileStreamSink").map(|c| c.class),
            Some("org.apache.kafka.connect.file.FileStreamSinkConnector")
        );
        assert!(p.connector("NoSuchConnector").is_none());
    }

    #[test]
    fn jdbc_connectors_by_class_and_alias() {
        let p = Plugins::builtin();
        for (name, class) in [
            (
                "io.confluent.connect.jdbc.JdbcSourceConnector",
                "io.confluent.connect.jdbc.JdbcSourceConnector",
            ),
            (
                "JdbcSourceConnector",
                "io.confluent.connect.jdbc.JdbcSourceConnector",
            ),
            (
                "JdbcSource",
                "io.confluent.connect.jdbc.JdbcSourceConnector",
            ),
            (
                "io.confluent.connect.jdbc.JdbcSinkConnector",
                "io.confluent.connect.jdbc.JdbcSinkConnector",
            ),
            ("JdbcSink", "io.confluent.connect.jdbc.JdbcSinkConnector"),
        ] {
            assert_eq!(p.connector(name).map(|c| c.class), Some(class), "{name}");
        }
    }
}
