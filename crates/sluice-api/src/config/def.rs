use std::collections::BTreeMap;
use std::fmt;

use super::value::{Config, ConfigErrors, ConfigValue, Parsed};
use super::RawConfig;

/// The type of a config value (`ConfigDef.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// The name in REST responses (`STRING`, `INT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

impl fmt::Display for ConfigType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `ConfigDef.Importance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// `ConfigDef.Width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    None,
    Short,
    Medium,
    Long,
}

impl Width {
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// A default: none (the key is required), null, or a value in its string form.
#[derive(Clone, Debug, PartialEq)]
pub enum DefaultValue {
    /// Required: `ConfigDef.NO_DEFAULT_VALUE`.
    Required,
    /// Optional with a null default.
    Null,
    /// The default as it would be written in a properties file.
    Value(String),
}

/// A custom check: given the key name and parsed value, an error message (without the
/// "Invalid value ... for configuration ..." prefix) or `Ok`.
pub type ValidatorFn = fn(&str, &Parsed) -> Result<(), String>;

/// Validators of `ConfigDef` (`Range`, `ValidString`, `NonEmptyString`, ...).
#[derive(Clone, Debug)]
pub enum Validator {
    None,
    /// `Range.atLeast` / `Range.between` for numbers.
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// `ValidString.in(...)`, case-sensitive.
    OneOf(Vec<&'static str>),
    /// `CaseInsensitiveValidString.in(...)`.
    OneOfIgnoreCase(Vec<&'static str>),
    /// `NonEmptyString`.
    NonEmptyString,
    /// `NonNullValidator`.
    NonNull,
    /// A compilable Java-style regular expression.
    Regex,
    /// Any other check.
    Custom(ValidatorFn, &'static str),
}

impl Validator {
    pub fn at_least(min: f64) -> Self {
        Validator::Range {
            min: Some(min),
            max: None,
        }
    }
    pub fn between(min: f64, max: f64) -> Self {
        Validator::Range {
            min: Some(min),
            max: Some(max),
        }
    }

    fn check(&self, value: &Parsed) -> Result<(), String> {
        match self {
            Validator::None => Ok(()),
            Validator::Range { min, max } => {
                let Some(n) = value.as_f64() else {
                    return Ok(());
                };
                let fmt_bound = |b: f64| {
                    if b.fract() == 0.0 && b.abs() < 1e15 {
                        format!("{}", b as i64)
                    } else {
                        format!("{b}")
                    }
                };
                match (min, max) {
                    (Some(lo), None) if n < *lo => {
                        Err(format!("Value must be at least {}", fmt_bound(*lo)))
                    }
                    (None, Some(hi)) if n > *hi => {
                        Err(format!("Value must be no more than {}", fmt_bound(*hi)))
                    }
                    (Some(lo), Some(hi)) if n < *lo || n > *hi => Err(format!(
                        "Value must be in range [{}, {}]",
                        fmt_bound(*lo),
                        fmt_bound(*hi)
                    )),
                    (Some(lo), _) if n < *lo => {
                        Err(format!("Value must be at least {}", fmt_bound(*lo)))
                    }
                    _ => Ok(()),
                }
            }
            Validator::OneOf(allowed) => match value {
                Parsed::Null => Ok(()),
                v => {
                    let s = v.to_config_string();
                    if allowed.contains(&s.as_str()) {
                        Ok(())
                    } else {
                        Err(format!("String must be one of: {}", allowed.join(", ")))
                    }
                }
            },
            Validator::OneOfIgnoreCase(allowed) => match value {
                Parsed::Null => Ok(()),
                v => {
                    let s = v.to_config_string();
                    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&s)) {
                        Ok(())
                    } else {
                        Err(format!(
                            "String must be one of (case insensitive): {}",
                            allowed.join(", ")
                        ))
                    }
                }
            },
            Validator::NonEmptyString => match value {
                Parsed::Str(s) if s.is_empty() => Err("String must be non-empty".into()),
                _ => Ok(()),
            },
            Validator::NonNull => match value {
                Parsed::Null => Err("entry must be non null".into()),
                _ => Ok(()),
            },
            Validator::Regex => match value {
                Parsed::Str(s) => regex::Regex::new(s)
                    .map(|_| ())
                    .map_err(|e| format!("Not a valid regular expression: {e}")),
                _ => Ok(()),
            },
            Validator::Custom(f, _) => f("", value),
        }
    }

    /// A human description, for the docs (`Validator.toString()`).
    pub fn describe(&self) -> String {
        match self {
            Validator::None | Validator::NonNull => String::new(),
            Validator::Range { min, max } => match (min, max) {
                (Some(lo), None) => format!("[{lo},...]"),
                (None, Some(hi)) => format!("[...,{hi}]"),
                (Some(lo), Some(hi)) => format!("[{lo},...,{hi}]"),
                (None, None) => String::new(),
            },
            Validator::OneOf(a) | Validator::OneOfIgnoreCase(a) => format!("[{}]", a.join(", ")),
            Validator::NonEmptyString => "non-empty string".into(),
            Validator::Regex => "a valid regular expression".into(),
            Validator::Custom(_, d) => (*d).to_string(),
        }
    }
}

/// One key's definition (`ConfigDef.ConfigKey`).
#[derive(Clone, Debug)]
pub struct ConfigKey {
    pub name: String,
    pub config_type: ConfigType,
    pub default: DefaultValue,
    pub validator: Validator,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order_in_group: i32,
    pub width: Width,
    pub display_name: String,
    pub dependents: Vec<String>,
}

impl ConfigKey {
    /// A key with the given name and type; required, medium importance, no docs yet.
    pub fn new(name: impl Into<String>, config_type: ConfigType) -> Self {
        let name = name.into();
        ConfigKey {
            display_name: name.clone(),
            name,
            config_type,
            default: DefaultValue::Required,
            validator: Validator::None,
            importance: Importance::Medium,
            documentation: String::new(),
            group: None,
            order_in_group: -1,
            width: Width::None,
            dependents: Vec::new(),
        }
    }
    pub fn default_value(mut self, v: impl Into<String>) -> Self {
        self.default = DefaultValue::Value(v.into());
        self
    }
    pub fn default_null(mut self) -> Self {
        self.default = DefaultValue::Null;
        self
    }
    pub fn validator(mut self, v: Validator) -> Self {
        self.validator = v;
        self
    }
    pub fn importance(mut self, i: Importance) -> Self {
        self.importance = i;
        self
    }
    pub fn doc(mut self, d: impl Into<String>) -> Self {
        self.documentation = d.into();
        self
    }
    pub fn group(mut self, g: impl Into<String>, order: i32) -> Self {
        self.group = Some(g.into());
        self.order_in_group = order;
        self
    }
    pub fn width(mut self, w: Width) -> Self {
        self.width = w;
        self
    }
    pub fn display_name(mut self, d: impl Into<String>) -> Self {
        self.display_name = d.into();
        self
    }
    pub fn dependents(mut self, d: &[&str]) -> Self {
        self.dependents = d.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Whether the key must be given.
    pub fn is_required(&self) -> bool {
        self.default == DefaultValue::Required
    }

    /// The default in its REST form (`default_value`): null when required or null.
    pub fn default_string(&self) -> Option<String> {
        match &self.default {
            DefaultValue::Value(v) => Some(match self.config_type {
                // Java prints lists as their elements joined by commas.
                ConfigType::List => parse_list(v).join(","),
                _ => v.clone(),
            }),
            _ => None,
        }
    }

    /// Parses a raw value to this key's type; the error is Kafka's message (a long value is
    /// quoted only up to [`MAX_SHOWN_VALUE`] characters).
    pub fn parse(&self, raw: &str) -> Result<Parsed, String> {
        let invalid = |why: &str| {
            format!(
                "Invalid value {} for configuration {}: {}",
                if self.config_type == ConfigType::Password {
                    "[hidden]".into()
                } else {
                    shown_value(raw)
                },
                self.name,
                why
            )
        };
        let t = raw.trim();
        let parsed = match self.config_type {
            ConfigType::Boolean => {
                if t.eq_ignore_ascii_case("true") {
                    Parsed::Bool(true)
                } else if t.eq_ignore_ascii_case("false") {
                    Parsed::Bool(false)
                } else {
                    return Err(invalid("Expected value to be either true or false"));
                }
            }
            ConfigType::String => Parsed::Str(t.to_string()),
            ConfigType::Password => Parsed::Password(t.to_string()),
            ConfigType::Class => Parsed::Class(t.to_string()),
            ConfigType::Int => Parsed::Int(
                t.parse::<i32>()
                    .map_err(|_| invalid("Not a number of type INT"))?,
            ),
            ConfigType::Short => Parsed::Short(
                t.parse::<i16>()
                    .map_err(|_| invalid("Not a number of type SHORT"))?,
            ),
            ConfigType::Long => Parsed::Long(
                t.parse::<i64>()
                    .map_err(|_| invalid("Not a number of type LONG"))?,
            ),
            ConfigType::Double => Parsed::Double(
                t.parse::<f64>()
                    .map_err(|_| invalid("Not a number of type DOUBLE"))?,
            ),
            ConfigType::List => Parsed::List(parse_list(t)),
        };
        if let Validator::Custom(f, _) = &self.validator {
            f(&self.name, &parsed).map_err(|why| invalid(&why))?;
        } else {
            self.validator.check(&parsed).map_err(|why| invalid(&why))?;
        }
        Ok(parsed)
    }
}

/// Splits a LIST value as Kafka does: on commas with surrounding whitespace; empty -> [].
pub fn parse_list(raw: &str) -> Vec<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Vec::new();
    }
    t.split(',').map(|s| s.trim().to_string()).collect()
}

/// An ordered set of key definitions.
#[derive(Clone, Debug, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    pub fn new() -> Self {
        ConfigDef { keys: Vec::new() }
    }

    /// Adds a key; a later definition of the same name replaces the earlier one.
    pub fn define(mut self, key: ConfigKey) -> Self {
        if let Some(existing) = self.keys.iter_mut().find(|k| k.name == key.name) {
            *existing = key;
        } else {
            self.keys.push(key);
        }
        self
    }

    /// Adds every key of `other` not already defined here.
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in &other.keys {
            if self.key(&k.name).is_none() {
                self.keys.push(k.clone());
            }
        }
        self
    }

    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The groups in the order they first appear.
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in &self.keys {
            if let Some(g) = &k.group {
                if !out.contains(g) {
                    out.push(g.clone());
                }
            }
        }
        out
    }

    /// Validates every defined key and reports each with its errors (`ConfigDef.validate`).
    /// Never stops at the first problem.
    pub fn validate(&self, props: &RawConfig) -> Vec<ConfigValue> {
        self.keys
            .iter()
            .map(|key| {
                let raw = props.get(&key.name);
                let mut cv = ConfigValue {
                    name: key.name.clone(),
                    value: raw.cloned().or_else(|| key.default_string()),
                    errors: Vec::new(),
                    recommended_values: Vec::new(),
                    visible: true,
                };
                match (raw, &key.default) {
                    (None, DefaultValue::Required) => cv.errors.push(format!(
                        "Missing required configuration \"{}\" which has no default value.",
                        key.name
                    )),
                    (Some(r), _) => {
                        if let Err(e) = key.parse(r) {
                            cv.errors.push(e);
                        }
                    }
                    (None, DefaultValue::Value(d)) => {
                        if let Err(e) = key.parse(d) {
                            cv.errors.push(e);
                        }
                    }
                    (None, DefaultValue::Null) => {
                        if let Err(e) = key.validator.check(&Parsed::Null) {
                            cv.errors.push(format!(
                                "Invalid value null for configuration {}: {}",
                                key.name, e
                            ));
                        }
                    }
                }
                if let Validator::OneOf(allowed) | Validator::OneOfIgnoreCase(allowed) =
                    &key.validator
                {
                    cv.recommended_values = allowed.iter().map(|s| s.to_string()).collect();
                }
                cv
            })
            .collect()
    }

    /// Parses `props` into typed values, or every error at once.
    pub fn parse(&self, props: &RawConfig) -> Result<Config, ConfigErrors> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for key in &self.keys {
            let parsed = match (props.get(&key.name), &key.default) {
                (Some(raw), _) => key.parse(raw),
                (None, DefaultValue::Value(d)) => key.parse(d),
                (None, DefaultValue::Null) => match key.validator.check(&Parsed::Null) {
                    Ok(()) => Ok(Parsed::Null),
                    Err(e) => Err(format!(
                        "Invalid value null for configuration {}: {}",
                        key.name, e
                    )),
                },
                (None, DefaultValue::Required) => Err(format!(
                    "Missing required configuration \"{}\" which has no default value.",
                    key.name
                )),
            };
            match parsed {
                Ok(v) => {
                    values.insert(key.name.clone(), v);
                }
                Err(e) => errors.push((key.name.clone(), e)),
            }
        }
        if errors.is_empty() {
            Ok(Config::new(values, props.clone()))
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new("topic", ConfigType::String)
                    .validator(Validator::NonEmptyString)
                    .importance(Importance::High),
            )
            .define(
                ConfigKey::new("batch.size", ConfigType::Int)
                    .default_value("2000")
                    .validator(Validator::at_least(1.0)),
            )
            .define(ConfigKey::new("file", ConfigType::String).default_null())
            .define(
                ConfigKey::new("errors.tolerance", ConfigType::String)
                    .default_value("none")
                    .validator(Validator::OneOfIgnoreCase(vec!["none", "all"])),
            )
            .define(ConfigKey::new("topics", ConfigType::List).default_value(""))
    }

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_collects_every_error() {
        let errs = def()
            .parse(&raw(&[
                ("batch.size", "zero"),
                ("errors.tolerance", "some"),
            ]))
            .unwrap_err();
        let msgs: Vec<&str> = errs.0.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "Missing required configuration \"topic\" which has no default value.",
                "Invalid value zero for configuration batch.size: Not a number of type INT",
                "Invalid value some for configuration errors.tolerance: String must be one of (case insensitive): none, all",
            ]
        );
    }

    #[test]
    fn parse_typed_values() {
        let c = def()
            .parse(&raw(&[("topic", " t "), ("topics", "a, b ,c")]))
            .unwrap();
        assert_eq!(c.string("topic"), Some("t"));
        assert_eq!(c.int("batch.size"), Some(2000));
        assert_eq!(c.string("file"), None);
        assert_eq!(c.list("topics"), vec!["a", "b", "c"]);
    }

    #[test]
    fn range_message() {
        let e = def()
            .parse(&raw(&[("topic", "t"), ("batch.size", "0")]))
            .unwrap_err();
        assert_eq!(
            e.0[0].1,
            "Invalid value 0 for configuration batch.size: Value must be at least 1"
        );
    }

    #[test]
    fn validate_reports_per_key() {
        let report = def().validate(&raw(&[("topic", "")]));
        let topic = report.iter().find(|v| v.name == "topic").unwrap();
        assert_eq!(
            topic.errors,
            vec!["Invalid value  for configuration topic: String must be non-empty"]
        );
        let tol = report
            .iter()
            .find(|v| v.name == "errors.tolerance")
            .unwrap();
        assert_eq!(tol.value.as_deref(), Some("none"));
        assert_eq!(tol.recommended_values, vec!["none", "all"]);
    }
}

/// How many characters of a rejected value an error message quotes.
pub const MAX_SHOWN_VALUE: usize = 200;

/// A rejected value as error messages quote it: at most [`MAX_SHOWN_VALUE`] characters, with
/// the length of the rest said.
pub fn shown_value(raw: &str) -> std::borrow::Cow<'_, str> {
    match raw.char_indices().nth(MAX_SHOWN_VALUE) {
        None => std::borrow::Cow::Borrowed(raw),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}... ({} more characters)",
            &raw[..cut],
            raw[cut..].chars().count()
        )),
    }
}

#[cfg(test)]
mod shown_value_tests {
    use super::*;

    #[test]
    fn long_values_are_cut_short_values_kept() {
        assert_eq!(shown_value("abc"), "abc");
        let long = "x".repeat(MAX_SHOWN_VALUE + 5);
        assert_eq!(
            shown_value(&long),
            format!("{}... (5 more characters)", "x".repeat(MAX_SHOWN_VALUE))
        );
        let key = ConfigKey::new("batch.size", ConfigType::Int);
        let err = key.parse(&"9".repeat(10_000)).unwrap_err();
        assert!(err.len() < 400, "{err}");
    }
}
