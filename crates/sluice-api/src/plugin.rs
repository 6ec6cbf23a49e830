//! Plugin descriptors for everything that is not a connector: converters, header converters,
//! transforms and predicates. The runtime keeps one explicit list of them.

use crate::config::{ConfigDef, RawConfig};
use crate::converter::{Converter, ConverterRole, HeaderConverter};
use crate::error::Result;
use crate::transform::{Predicate, Transform};

/// The plugin kinds of `GET /connector-plugins` (`PluginType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    Sink,
    Source,
    Transformation,
    Predicate,
    Converter,
    HeaderConverter,
}

impl PluginKind {
    /// The name in REST responses.
    pub fn name(self) -> &'static str {
        match self {
            PluginKind::Sink => "sink",
            PluginKind::Source => "source",
            PluginKind::Transformation => "transformation",
            PluginKind::Predicate => "predicate",
            PluginKind::Converter => "converter",
            PluginKind::HeaderConverter => "header_converter",
        }
    }
}

/// Builds a converter from its (prefix-stripped) config.
pub type NewConverter = fn(&RawConfig, ConverterRole) -> Result<Box<dyn Converter>>;
/// Builds a header converter from its config.
pub type NewHeaderConverter = fn(&RawConfig) -> Result<Box<dyn HeaderConverter>>;

/// A converter plugin. Most converters are also header converters.
#[derive(Clone, Copy)]
pub struct ConverterPlugin {
    pub class: &'static str,
    pub version: &'static str,
    pub config_def: fn() -> ConfigDef,
    /// Builds the converter from its (prefix-stripped) config.
    pub new: Option<NewConverter>,
    /// Builds it as a header converter, if it is one.
    pub new_header: Option<NewHeaderConverter>,
}

/// A transform plugin; `$Key`/`$Value` variants are separate plugins.
#[derive(Clone, Copy)]
pub struct TransformPlugin {
    pub class: &'static str,
    pub version: &'static str,
    pub config_def: fn() -> ConfigDef,
    /// Builds the transform from its config (the `transforms.<alias>.` prefix stripped).
    pub new: fn(&RawConfig) -> Result<Box<dyn Transform>>,
}

/// A predicate plugin.
#[derive(Clone, Copy)]
pub struct PredicatePlugin {
    pub class: &'static str,
    pub version: &'static str,
    pub config_def: fn() -> ConfigDef,
    pub new: fn(&RawConfig) -> Result<Box<dyn Predicate>>,
}

/// Kafka's aliases for a class name (`PluginUtils.computeAliases`): the simple name, and the
/// simple name without the kind suffix (`Connector`, `Converter`, `HeaderConverter`,
/// `Transformation`, `Predicate`). Nested `$Key`/`$Value` classes have no alias.
pub fn aliases(class: &str) -> Vec<String> {
    let simple = class.rsplit('.').next().unwrap_or(class);
    let mut out = vec![simple.to_string()];
    for suffix in [
        "Connector",
        "HeaderConverter",
        "Converter",
        "Transformation",
        "Predicate",
    ] {
        if let Some(stripped) = simple.strip_suffix(suffix) {
            if !stripped.is_empty() {
                out.push(stripped.to_string());
            }
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::aliases;

    #[test]
    fn kafka_aliases() {
        assert_eq!(
            aliases("org.apache.kafka.connect.file.FileStreamSinkConnector"),
            vec!["FileStreamSinkConnector", "FileStreamSink"]
        );
        assert_eq!(
            aliases("org.apache.kafka.connect.json.JsonConverter"),
            vec!["JsonConverter", "Json"]
        );
    }
}
