//! Secrets never leave the worker: values of PASSWORD-typed keys (from any ConfigDef the
//! config uses: connector, framework, transforms, predicates; plus client keys such as
//! `*.ssl.*.password` and `*.sasl.jaas.config`) are shown as `[hidden]` in every response.
//! Config-provider references (`${provider:path:key}`) are shown as written, as Kafka does:
//! they say where a secret is, not what it is, and a client that reads a config and writes it
//! back keeps them. A secret key whose value is nothing but references shows them too; one
//! that mixes a reference with literal text is hidden whole. Kafka only hides passwords in
//! validation responses; this is stricter on purpose.

use std::collections::{BTreeMap, HashSet};

use sluice_api::config::{ConfigType, RawConfig};
use sluice_runtime::config::validate::validate_connector;
use sluice_runtime::plugins::Plugins;

/// What a secret value is shown as (Kafka's `Password.HIDDEN`).
pub const HIDDEN: &str = sluice_runtime::secrets::HIDDEN;

/// Whether a value is nothing but config-provider references (`${provider:path:key}` or
/// `${provider:key}`), which are shown as written.
pub fn is_provider_reference(value: &str) -> bool {
    sluice_runtime::config::providers::is_only_references(value)
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

    /// Whether `key` holds a secret (PASSWORD-typed or a client secret key).
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.password_keys.contains(key) || sluice_runtime::secrets::is_secret_key(key)
    }

    /// Whether `value` of `key` must be shown as `[hidden]`: a secret key's value, unless it is
    /// nothing but provider references.
    pub fn is_secret(&self, key: &str, value: &str) -> bool {
        self.is_secret_key(key) && !is_provider_reference(value)
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
    fn hides_passwords_and_shows_provider_references_as_written() {
        let plugins = Plugins::builtin();
        let mut c = RawConfig::new();
        c.insert("connector.class".into(), "FileStreamSource".into());
        c.insert("file".into(), "${file:/etc/secrets:path}".into());
        c.insert("producer.override.ssl.key.password".into(), "s3cret".into());
        c.insert("producer.override.sasl.jaas.config".into(), "x".into());
        c.insert(
            "producer.override.ssl.truststore.password".into(),
            "${file:/etc/secrets:ts}".into(),
        );
        c.insert(
            "producer.override.ssl.keystore.password".into(),
            "s3cret${file:/etc/secrets:ks}".into(),
        );
        c.insert("topic".into(), "t".into());
        let m = Masker::new(&plugins, &c).mask(&c);
        assert_eq!(m["file"], "${file:/etc/secrets:path}");
        assert_eq!(m["producer.override.ssl.key.password"], HIDDEN);
        assert_eq!(m["producer.override.sasl.jaas.config"], HIDDEN);
        // A reference in a secret key names where the secret is: shown as written.
        assert_eq!(
            m["producer.override.ssl.truststore.password"],
            "${file:/etc/secrets:ts}"
        );
        // Literal text beside a reference may be (part of) the secret: hidden whole.
        assert_eq!(m["producer.override.ssl.keystore.password"], HIDDEN);
        assert_eq!(m["topic"], "t");
        assert_eq!(m["connector.class"], "FileStreamSource");
        assert!(!is_provider_reference("$not {a}"));
    }
}
