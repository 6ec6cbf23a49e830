//! Secrets never leave the worker: values of PASSWORD-typed keys (from any ConfigDef the
//! config uses: connector, framework, transforms, predicates; plus client keys such as
//! `*.ssl.*.password` and `*.sasl.jaas.config`) and values that reference a config provider
//! (`${provider:path:key}`) are shown as `[hidden]` in every response. Kafka only hides
//! passwords in validation responses; this is stricter on purpose.

use std::collections::{BTreeMap, HashSet};

use sluice_api::config::{ConfigType, RawConfig};
use sluice_runtime::config::validate::validate_connector;
use sluice_runtime::plugins::Plugins;

/// What a secret value is shown as (Kafka's `Password.HIDDEN`).
pub const HIDDEN: &str = sluice_runtime::secrets::HIDDEN;

/// Whether a value references a config provider (`${provider:path:key}` or `${path:key}`).
pub fn is_provider_reference(value: &str) -> bool {
    value
        .find("${")
        .is_some_and(|start| value[start + 2..].contains('}'))
}

/// Masks the secrets of one connector's configs.
pub struct Masker {
    password_keys: HashSet<String>,
}

impl Masker {
    /// Learns which keys are PASSWORD-typed from the definitions `config` uses.
    pub fn new(plugins: &Plugins, config: &RawConfig) -> Self {
        let report = validate_connector(plugins, config);
        let password_keys = report
            .configs
            .iter()
            .filter_map(|c| c.definition.as_ref())
            .filter(|d| d.config_type == ConfigType::Password)
            .map(|d| d.name.clone())
            .collect();
        Masker { password_keys }
    }

    pub fn is_secret(&self, key: &str, value: &str) -> bool {
        self.password_keys.contains(key)
            || sluice_runtime::secrets::is_secret_key(key)
            || is_provider_reference(value)
    }

    pub fn mask(&self, config: &RawConfig) -> BTreeMap<String, String> {
        config
            .iter()
            .map(|(k, v)| {
                let shown = if self.is_secret(k, v) {
                    HIDDEN.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), shown)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords_and_provider_references() {
        let plugins = Plugins::builtin();
        let mut c = RawConfig::new();
        c.insert("connector.class".into(), "FileStreamSource".into());
        c.insert("file".into(), "${file:/etc/secrets:path}".into());
        c.insert("producer.override.ssl.key.password".into(), "s3cret".into());
        c.insert("producer.override.sasl.jaas.config".into(), "x".into());
        c.insert("topic".into(), "t".into());
        let m = Masker::new(&plugins, &c).mask(&c);
        assert_eq!(m["file"], HIDDEN);
        assert_eq!(m["producer.override.ssl.key.password"], HIDDEN);
        assert_eq!(m["producer.override.sasl.jaas.config"], HIDDEN);
        assert_eq!(m["topic"], "t");
        assert_eq!(m["connector.class"], "FileStreamSource");
        assert!(!is_provider_reference("$not {a}"));
    }
}
