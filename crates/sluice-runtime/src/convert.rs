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
