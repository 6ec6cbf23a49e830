//! Secrets this process has seen, so that no status trace, log line or REST error shows them.
//!
//! Values resolved from config providers (`${file:…}`, `${env:…}`, …) and the values of keys
//! that hold secrets (passwords, JAAS configs, …) are remembered when a config is resolved;
//! [`redact`] replaces every occurrence of a remembered value with `[hidden]`. Connector code
//! and client libraries put values into their error messages (a path, a URL with credentials);
//! redacting where messages leave the worker catches them all without trusting each one.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is shown as (Kafka's `Password.HIDDEN`).
pub const HIDDEN: &str = "[hidden]";

/// Key suffixes of secret settings (PASSWORD-typed in Kafka's ConfigDefs and the clients').
pub const SECRET_SUFFIXES: &[&str] = &[
    "password",
    "sasl.jaas.config",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
    "basic.auth.user.info",
    "bearer.auth.token",
    "sasl.oauthbearer.client.secret",
];

/// Shorter values are not remembered: hiding every "1" or "true" would garble messages, and
/// such values are not secrets worth the name.
const MIN_LEN: usize = 4;

/// At most this many distinct values are remembered; past it the oldest are forgotten first
/// (a worker that resolves ever new values must not grow without bound).
const MAX_REMEMBERED: usize = 4096;

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Whether `key` names a secret setting.
pub fn is_secret_key(key: &str) -> bool {
    SECRET_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// Remembers `value` as a secret.
pub fn remember(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_LEN {
        return;
    }
    let Ok(mut known) = KNOWN.write() else { return };
    if known.iter().any(|k| k == value) {
        return;
    }
    if known.len() >= MAX_REMEMBERED {
        known.remove(0);
    }
    known.push(value.to_string());
}

/// Remembers the secret values of a config: those of secret keys.
pub fn remember_config<'a>(config: impl IntoIterator<Item = (&'a String, &'a String)>) {
    for (k, v) in config {
        if is_secret_key(k) {
            remember(v);
        }
    }
}

/// `text` with every remembered secret replaced by `[hidden]` (longest first, so a secret
/// that contains another is hidden whole).
pub fn redact(text: &str) -> Cow<'_, str> {
    let Ok(known) = KNOWN.read() else {
        return Cow::Borrowed(text);
    };
    let mut hits: Vec<&String> = known.iter().filter(|k| text.contains(k.as_str())).collect();
    if hits.is_empty() {
        return Cow::Borrowed(text);
    }
    hits.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = text.to_string();
    for k in hits {
        out = out.replace(k.as_str(), HIDDEN);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_values_are_hidden_longest_first() {
        remember("s3cr3t-path/inner");
        remember("s3cr3t");
        remember("ab"); // too short to be remembered
        assert_eq!(
            redact("no file s3cr3t-path/inner here, s3cr3t there, ab"),
            "no file [hidden] here, [hidden] there, ab"
        );
        assert!(matches!(redact("nothing to hide"), Cow::Borrowed(_)));
    }

    #[test]
    fn secret_keys_are_remembered_from_a_config() {
        let config: std::collections::BTreeMap<String, String> = [
            ("connection.password", "hunter22"),
            ("topic", "visible-topic"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        remember_config(&config);
        assert_eq!(
            redact("login hunter22 on visible-topic"),
            "login [hidden] on visible-topic"
        );
    }
}
