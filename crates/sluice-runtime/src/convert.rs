//! The converters of one connector: the connector's own `key.converter` etc. when set, with
//! their `key.converter.*` sub-configs from the connector config, else the worker's.

use sluice_api::config::{with_prefix, RawConfig};
use sluice_api::converter::ConverterRole;
use sluice_api::ConnectError;
use sluice_converters::{BuiltinConverter, BuiltinHeaderConverter};

use crate::config::worker::{
    DEFAULT_HEADER_CONVERTER, HEADER_CONVERTER, KEY_CONVERTER, VALUE_CONVERTER,
};

/// Key, value and header converters, ready for the hot path.
pub struct Converters {
    pub key: BuiltinConverter,
    pub value: BuiltinConverter,
    pub header: BuiltinHeaderConverter,
    pub key_class: String,
    pub value_class: String,
    pub header_class: String,
}

fn pick<'a>(
    connector: &'a RawConfig,
    worker: &'a RawConfig,
    key: &str,
    default: Option<&'a str>,
) -> Result<(String, RawConfig), ConnectError> {
    let prefix = format!("{key}.");
    if let Some(class) = connector.get(key) {
        return Ok((class.trim().to_string(), with_prefix(connector, &prefix)));
    }
    match worker.get(key).map(String::as_str).or(default) {
        Some(class) => Ok((class.trim().to_string(), with_prefix(worker, &prefix))),
        None => Err(ConnectError::config(format!(
            "Missing required configuration \"{key}\" which has no default value."
        ))),
    }
}

impl Converters {
    pub fn new(connector: &RawConfig, worker: &RawConfig) -> Result<Self, ConnectError> {
        let (key_class, key_cfg) = pick(connector, worker, KEY_CONVERTER, None)?;
        let (value_class, value_cfg) = pick(connector, worker, VALUE_CONVERTER, None)?;
        let (header_class, header_cfg) = pick(
            connector,
            worker,
            HEADER_CONVERTER,
            Some(DEFAULT_HEADER_CONVERTER),
        )?;
        Ok(Converters {
            key: sluice_converters::new_converter(&key_class, &key_cfg, ConverterRole::Key)?,
            value: sluice_converters::new_converter(
                &value_class,
                &value_cfg,
                ConverterRole::Value,
            )?,
            header: sluice_converters::new_header_converter(&header_class, &header_cfg)?,
            key_class,
            value_class,
            header_class,
        })
    }
}

/// Builds the worker's own converters once, so that an unknown class or a bad sub-config in the
/// worker file stops the worker at start with one message (Kafka's `ConfigDef` refuses an
/// unknown class when it parses the file), instead of failing every task later.
pub fn check_worker_converters(worker: &RawConfig) -> Vec<String> {
    let mut problems = Vec::new();
    let keys = [
        (KEY_CONVERTER, Some(ConverterRole::Key)),
        (VALUE_CONVERTER, Some(ConverterRole::Value)),
        (HEADER_CONVERTER, None),
    ];
    for (key, role) in keys {
        let Some(class) = worker.get(key).map(|c| c.trim()) else {
            // Missing required keys are the config definition's to report.
            continue;
        };
        let sub = with_prefix(worker, &format!("{key}."));
        let built = match role {
            Some(role) => sluice_converters::new_converter(class, &sub, role).map(drop),
            None => sluice_converters::new_header_converter(class, &sub).map(drop),
        };
        if let Err(e) = built {
            problems.push(format!(
                "Invalid value {} for configuration {key}: {}",
                sluice_api::config::shown_value(class),
                e.message()
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_worker_converters_are_checked_at_start() {
        let ok = raw(&[
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter", "StringConverter"),
        ]);
        assert!(check_worker_converters(&ok).is_empty());
        let bad = raw(&[
            ("key.converter", "com.example.NoSuchConverter"),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "maybe"),
            ("header.converter", "Nope"),
        ]);
        let problems = check_worker_converters(&bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("Invalid value com.example.NoSuchConverter for configuration key.converter: Failed to find any class that implements Converter"), "{}", problems[0]);
        assert!(
            problems[1].contains("value.converter") && problems[1].contains("maybe"),
            "{}",
            problems[1]
        );
        assert!(
            problems[2].starts_with("Invalid value Nope for configuration header.converter:"),
            "{}",
            problems[2]
        );
    }
}
