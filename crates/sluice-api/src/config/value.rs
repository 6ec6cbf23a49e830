use std::collections::BTreeMap;
use std::fmt;

use super::RawConfig;

/// A parsed config value.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Null,
    Bool(bool),
    Str(String),
    Int(i32),
    Short(i16),
    Long(i64),
    Double(f64),
    List(Vec<String>),
    Class(String),
    Password(String),
}

impl Parsed {
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Parsed::Int(v) => Some(v.into()),
            Parsed::Short(v) => Some(v.into()),
            Parsed::Long(v) => Some(v as f64),
            Parsed::Double(v) => Some(v),
            _ => None,
        }
    }

    /// The value written back as config text.
    pub fn to_config_string(&self) -> String {
        match self {
            Parsed::Null => String::new(),
            Parsed::Bool(b) => b.to_string(),
            Parsed::Str(s) | Parsed::Class(s) | Parsed::Password(s) => s.clone(),
            Parsed::Int(v) => v.to_string(),
            Parsed::Short(v) => v.to_string(),
            Parsed::Long(v) => v.to_string(),
            Parsed::Double(v) => v.to_string(),
            Parsed::List(l) => l.join(","),
        }
    }
}

/// The result of validating one key (`ConfigValue`), as `config/validate` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigValue {
    pub name: String,
    pub value: Option<String>,
    pub errors: Vec<String>,
    pub recommended_values: Vec<String>,
    pub visible: bool,
}

/// Every error found while parsing a config: (key, message) pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigErrors(pub Vec<(String, String)>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (_, msg)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(msg)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Typed config values, produced by `ConfigDef::parse`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    values: BTreeMap<String, Parsed>,
    originals: RawConfig,
}

impl Config {
    pub fn new(values: BTreeMap<String, Parsed>, originals: RawConfig) -> Self {
        Config { values, originals }
    }
    pub fn get(&self, key: &str) -> Option<&Parsed> {
        self.values.get(key)
    }
    /// A STRING, CLASS or PASSWORD value; `None` when null.
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(Parsed::Str(s) | Parsed::Class(s) | Parsed::Password(s)) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, key: &str) -> Option<i32> {
        match self.values.get(key) {
            Some(Parsed::Int(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn short(&self, key: &str) -> Option<i16> {
        match self.values.get(key) {
            Some(Parsed::Short(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn long(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(Parsed::Long(v)) => Some(*v),
            Some(Parsed::Int(v)) => Some((*v).into()),
            _ => None,
        }
    }
    pub fn double(&self, key: &str) -> Option<f64> {
        match self.values.get(key) {
            Some(Parsed::Double(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.values.get(key) {
            Some(Parsed::Bool(v)) => Some(*v),
            _ => None,
        }
    }
    /// A LIST value; empty when null.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.values.get(key) {
            Some(Parsed::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }
    /// The raw properties the config was parsed from.
    pub fn originals(&self) -> &RawConfig {
        &self.originals
    }
    /// Raw properties starting with `prefix`, with the prefix stripped (`originalsWithPrefix`).
    pub fn originals_with_prefix(&self, prefix: &str) -> RawConfig {
        with_prefix(&self.originals, prefix)
    }
}

/// Entries of `raw` whose key starts with `prefix`, the prefix stripped.
pub fn with_prefix(raw: &RawConfig, prefix: &str) -> RawConfig {
    raw.iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}
