//! Config providers (KIP-297, KIP-421): `${alias:path:key}` references in worker and connector
//! configs, resolved by the providers named in the worker's `config.providers`.
//!
//! Built in, by Kafka's class names: `FileConfigProvider` (a `.properties` file, `${file:path:key}`),
//! `DirectoryConfigProvider` (one file per key, `${dir:path:file}`, limited by `allowed.paths`) and
//! `EnvVarConfigProvider` (`${env:VAR}` or `${env::VAR}`, limited by `allowlist.pattern`).
//!
//! Rules this module keeps:
//! - The worker config is resolved once, when it is loaded. Connector configs are stored, shown
//!   over REST and validated *raw*; they are resolved only when a connector or a task starts
//!   (Kafka's `WorkerConfigTransformer`), and task configs computed from resolved values are
//!   reverse-transformed before they are stored ([`Providers::reverse`]).
//! - Resolved values are secrets: no message here contains one. Errors name the reference, the
//!   key it appears in and the provider, never the value.
//! - A reference to an alias that is not configured stays as written, as in Kafka; a reference
//!   that a configured provider cannot resolve (missing file, missing key, path not allowed) is
//!   an error, unlike Kafka which silently leaves it: a silently unresolved password only
//!   surfaces later as an authentication failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use sluice_api::config::{with_prefix, RawConfig};

pub const CONFIG_PROVIDERS: &str = "config.providers";

const FILE_CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIR_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const ENV_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// A problem with the providers or with one reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("config.providers.{alias}.class is not set; each alias listed in config.providers needs a class (FileConfigProvider, DirectoryConfigProvider or EnvVarConfigProvider)")]
    MissingClass { alias: String },
    #[error("Invalid value {class} for configuration config.providers.{alias}.class: Sluice provides {FILE_CLASS}, {DIR_CLASS} and {ENV_CLASS}")]
    UnknownClass { alias: String, class: String },
    #[error("Invalid value for configuration config.providers.{alias}.param.{param}: {why}")]
    BadParam {
        alias: String,
        param: String,
        why: String,
    },
    #[error("Could not resolve {reference} in configuration {key}: {why}")]
    Unresolved {
        key: String,
        reference: String,
        why: String,
    },
}

#[derive(Debug, Clone)]
enum Provider {
    File,
    Directory { allowed: Option<Vec<PathBuf>> },
    Env { allow: Regex },
}

/// The providers configured by a worker.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_alias: BTreeMap<String, Provider>,
}

fn pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    // Kafka's ConfigTransformer.DEFAULT_PATTERN; a constant, so it always compiles.
    P.get_or_init(|| {
        Regex::new(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}").unwrap_or_else(|_| unreachable!())
    })
}

/// Whether `value` contains a `${...:...}` reference.
pub fn has_reference(value: &str) -> bool {
    pattern().is_match(value)
}

/// Whether `value` is nothing but `${...:...}` references (around optional whitespace): it
/// names where a secret is, not the secret, and can be shown as written.
pub fn is_only_references(value: &str) -> bool {
    has_reference(value) && pattern().replace_all(value, "").trim().is_empty()
}

/// Kafka's class name or its simple name (what users of other Connect distributions write).
fn class_kind(class: &str) -> Option<&'static str> {
    match class {
        FILE_CLASS | "FileConfigProvider" => Some("file"),
        DIR_CLASS | "DirectoryConfigProvider" => Some("dir"),
        ENV_CLASS | "EnvVarConfigProvider" => Some("env"),
        _ => None,
    }
}

impl Providers {
    /// Reads `config.providers` and `config.providers.<alias>.class|param.*`; every problem is
    /// collected.
    pub fn from_worker(raw: &RawConfig) -> Result<Providers, Vec<ProviderError>> {
        let mut out = Providers::default();
        let mut errors = Vec::new();
        let aliases = raw
            .get(CONFIG_PROVIDERS)
            .map(|v| sluice_api::config::parse_list(v))
            .unwrap_or_default();
        for alias in aliases {
            let prefix = format!("config.providers.{alias}.");
            let Some(class) = raw.get(&format!("{prefix}class")).map(|c| c.trim()) else {
                errors.push(ProviderError::MissingClass { alias });
                continue;
            };
            let params = with_prefix(raw, &format!("{prefix}param."));
            let provider = match class_kind(class) {
                Some("file") => Provider::File,
                Some("dir") => Provider::Directory {
                    allowed: params.get("allowed.paths").map(|p| {
                        sluice_api::config::parse_list(p)
                            .into_iter()
                            .map(|p| normalize(Path::new(&p)))
                            .collect()
                    }),
                },
                Some(_) => {
                    let pat = params.get("allowlist.pattern").map_or(".*", |p| p.as_str());
                    match Regex::new(&format!("^(?:{pat})$")) {
                        Ok(allow) => Provider::Env { allow },
                        Err(e) => {
                            errors.push(ProviderError::BadParam {
                                alias,
                                param: "allowlist.pattern".into(),
                                why: format!("not a valid regular expression: {e}"),
                            });
                            continue;
                        }
                    }
                }
                None => {
                    errors.push(ProviderError::UnknownClass {
                        alias,
                        class: class.to_string(),
                    });
                    continue;
                }
            };
            out.by_alias.insert(alias, provider);
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Whether no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.by_alias.is_empty()
    }

    /// Resolves every reference in every value; collects every problem.
    pub fn resolve(&self, raw: &RawConfig) -> Result<RawConfig, Vec<ProviderError>> {
        let mut out = RawConfig::new();
        let mut errors = Vec::new();
        for (k, v) in raw {
            match self.resolve_value(k, v) {
                Ok(r) => {
                    out.insert(k.clone(), r);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Resolves the references in one value of configuration `key`.
    pub fn resolve_value(&self, key: &str, value: &str) -> Result<String, ProviderError> {
        if self.is_empty() || !has_reference(value) {
            return Ok(value.to_string());
        }
        let mut out = String::with_capacity(value.len());
        let mut last = 0;
        for caps in pattern().captures_iter(value) {
            let Some(whole) = caps.get(0) else { continue };
            out.push_str(&value[last..whole.start()]);
            last = whole.end();
            let alias = caps.get(1).map_or("", |m| m.as_str());
            let path = caps.get(3).map_or("", |m| m.as_str());
            let var = caps.get(4).map_or("", |m| m.as_str());
            let Some(provider) = self.by_alias.get(alias) else {
                // Kafka leaves references to unknown aliases as written.
                out.push_str(whole.as_str());
                continue;
            };
            let fail = |why: String| ProviderError::Unresolved {
                key: key.to_string(),
                reference: whole.as_str().to_string(),
                why,
            };
            let resolved = provider.get(alias, path, var).map_err(fail)?;
            crate::secrets::remember(&resolved);
            out.push_str(&resolved);
        }
        out.push_str(&value[last..]);
        Ok(out)
    }

    /// Kafka's `AbstractHerder.reverseTransform`: in configs computed from the resolved
    /// connector config (task configs), a value equal to the resolved value of a key whose raw
    /// value holds a reference is put back as the raw reference, so secrets are not stored.
    pub fn reverse(&self, raw: &RawConfig, resolved: &RawConfig, computed: &mut RawConfig) {
        for (k, raw_v) in raw {
            if !has_reference(raw_v) {
                continue;
            }
            if let (Some(c), Some(r)) = (computed.get_mut(k), resolved.get(k)) {
                if c == r {
                    c.clone_from(raw_v);
                }
            }
        }
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Provider {
    fn get(&self, alias: &str, path: &str, key: &str) -> Result<String, String> {
        match self {
            Provider::File => {
                if path.is_empty() {
                    return Err(format!(
                        "provider {alias} (FileConfigProvider) needs a file path: ${{{alias}:/path/file.properties:{key}}}"
                    ));
                }
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("provider {alias} (FileConfigProvider) could not read {path}: {e}")
                })?;
                let props = sluice_properties::parse(&text).map_err(|e| {
                    format!("provider {alias} (FileConfigProvider) could not parse {path}: {e}")
                })?;
                props.to_map().remove(key).ok_or_else(|| {
                    format!("provider {alias} (FileConfigProvider): file {path} has no key {key}")
                })
            }
            Provider::Directory { allowed } => {
                if path.is_empty() {
                    return Err(format!(
                        "provider {alias} (DirectoryConfigProvider) needs a directory: ${{{alias}:/dir:{key}}}"
                    ));
                }
                let dir = normalize(Path::new(path));
                if let Some(allowed) = allowed {
                    if !allowed.iter().any(|a| dir.starts_with(a)) {
                        return Err(format!(
                            "provider {alias} (DirectoryConfigProvider): {path} is not in allowed.paths"
                        ));
                    }
                }
                if key.contains('/') || key == ".." {
                    return Err(format!(
                        "provider {alias} (DirectoryConfigProvider): key {key} must be a file name"
                    ));
                }
                let file = dir.join(key);
                std::fs::read_to_string(&file).map_err(|e| {
                    format!(
                        "provider {alias} (DirectoryConfigProvider) could not read {}: {e}",
                        file.display()
                    )
                })
            }
            Provider::Env { allow } => {
                if !path.is_empty() {
                    return Err(format!(
                        "provider {alias} (EnvVarConfigProvider) takes no path: use ${{{alias}:{key}}}"
                    ));
                }
                if !allow.is_match(key) {
                    return Err(format!(
                        "provider {alias} (EnvVarConfigProvider): environment variable {key} does not match allowlist.pattern"
                    ));
                }
                std::env::var(key).map_err(|_| {
                    format!("provider {alias} (EnvVarConfigProvider): environment variable {key} is not set")
                })
            }
        }
    }
}

/// Every problem, one per line, for a startup or connector failure message.
pub fn render(errors: &[ProviderError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
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

    fn providers(extra: &[(&str, &str)]) -> Providers {
        let mut c = raw(&[
            ("config.providers", "file,dir,env"),
            ("config.providers.file.class", FILE_CLASS),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
            ("config.providers.env.class", ENV_CLASS),
        ]);
        c.extend(raw(extra));
        Providers::from_worker(&c).unwrap()
    }

    #[test]
    fn values_made_only_of_references() {
        assert!(is_only_references("${file:/etc/s.properties:pw}"));
        assert!(is_only_references(" ${env:USER}${env:HOST} "));
        assert!(!is_only_references("pre${file:/etc/s.properties:pw}"));
        assert!(!is_only_references("${file:/a:b} and more"));
        assert!(!is_only_references("plain"));
        assert!(!is_only_references("${nocolon}"));
    }

    #[test]
    fn resolves_file_dir_env_and_keeps_unknown_aliases() {
        let tmp = tempfile::tempdir().unwrap();
        let props = tmp.path().join("secrets.properties");
        std::fs::write(&props, "password=s3cr=t\nuser = alice\n").unwrap();
        std::fs::write(tmp.path().join("token"), "tok").unwrap();
        std::env::set_var("SLUICE_PROVIDER_TEST_VAR", "envval");
        let p = providers(&[]);
        let f = props.display().to_string();
        let d = tmp.path().display().to_string();
        let input = raw(&[
            ("a", &format!("${{file:{f}:password}}")),
            ("b", &format!("u=${{file:{f}:user}} t=${{dir:{d}:token}}")),
            ("c", "${env:SLUICE_PROVIDER_TEST_VAR}"),
            ("d", "${env::SLUICE_PROVIDER_TEST_VAR}"),
            ("e", "${vault:x:y} plain"),
        ]);
        let out = p.resolve(&input).unwrap();
        assert_eq!(out["a"], "s3cr=t");
        assert_eq!(out["b"], "u=alice t=tok");
        assert_eq!(out["c"], "envval");
        assert_eq!(out["d"], "envval");
        assert_eq!(out["e"], "${vault:x:y} plain");
    }

    #[test]
    fn errors_name_reference_and_key_never_the_value() {
        let tmp = tempfile::tempdir().unwrap();
        let props = tmp.path().join("s.properties");
        std::fs::write(&props, "password=topsecret\n").unwrap();
        let f = props.display().to_string();
        let p = providers(&[
            (
                "config.providers.dir.param.allowed.paths",
                "/nonexistent-allowed",
            ),
            ("config.providers.env.param.allowlist.pattern", "SAFE_.*"),
        ]);
        let cases = [
            (format!("${{file:{f}:nokey}}"), "has no key nokey"),
            (
                "${file:/no/such/file:k}".to_string(),
                "could not read /no/such/file",
            ),
            (
                format!("${{dir:{}:x}}", tmp.path().display()),
                "not in allowed.paths",
            ),
            (
                "${env:HOME}".to_string(),
                "does not match allowlist.pattern",
            ),
            ("${env:SAFE_UNSET_SLUICE_VAR}".to_string(), "is not set"),
        ];
        for (reference, expected) in cases {
            let e = p.resolve_value("k1", &reference).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
            assert!(e.contains("configuration k1"), "{e}");
            assert!(!e.contains("topsecret"), "{e}");
        }
    }

    #[test]
    fn provider_definitions_are_checked() {
        let errs = Providers::from_worker(&raw(&[
            ("config.providers", "a,b,c"),
            ("config.providers.b.class", "com.example.Vault"),
            ("config.providers.c.class", "EnvVarConfigProvider"),
            ("config.providers.c.param.allowlist.pattern", "("),
        ]))
        .unwrap_err();
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        assert!(msgs[0].contains("config.providers.a.class is not set"));
        assert!(msgs[1].contains("com.example.Vault"));
        assert!(msgs[2].contains("allowlist.pattern"));
    }

    #[test]
    fn reverse_puts_references_back() {
        let p = providers(&[]);
        let raw_c = raw(&[("pw", "${file:/x:pw}"), ("plain", "v")]);
        let resolved = raw(&[("pw", "secret"), ("plain", "v")]);
        let mut task = raw(&[("pw", "secret"), ("plain", "v"), ("other", "secret2")]);
        p.reverse(&raw_c, &resolved, &mut task);
        assert_eq!(task["pw"], "${file:/x:pw}");
        assert_eq!(task["other"], "secret2");
    }
}
