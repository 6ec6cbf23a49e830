//! Validation of a whole connector config: framework keys, the connector's own keys,
//! transforms, predicates and converters. Pure (no I/O) and it collects every problem.

use sluice_api::config::{
    with_prefix, ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, RawConfig, Width,
};
use sluice_api::connector::{ConnectorKind, ConnectorPlugin};
use sluice_api::converter::ConverterRole;

use super::connector::{self as cc, CONNECTOR_CLASS, NAME};
use super::providers::Providers;
use crate::plugins::Plugins;

/// One key's definition (if known) and its validation result (Kafka's `ConfigInfo`).
#[derive(Clone, Debug)]
pub struct ConfigInfo {
    pub definition: Option<ConfigKey>,
    pub value: ConfigValue,
}

/// The result of validating a connector config (Kafka's `ConfigInfos`).
#[derive(Clone, Debug)]
pub struct ValidationReport {
    /// The connector class as given (or resolved).
    pub class: String,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigInfo>,
}

impl ValidationReport {
    pub fn error_count(&self) -> usize {
        self.configs.iter().map(|c| c.value.errors.len()).sum()
    }

    /// Every error message, with the key it belongs to.
    pub fn errors(&self) -> Vec<(String, String)> {
        self.configs
            .iter()
            .flat_map(|c| {
                c.value
                    .errors
                    .iter()
                    .map(move |e| (c.value.name.clone(), e.clone()))
            })
            .collect()
    }

    fn push_def(&mut self, def: &ConfigDef, raw: &RawConfig, prefix: &str) {
        let stripped = with_prefix(raw, prefix);
        for (key, value) in def.keys().iter().zip(def.validate(&stripped)) {
            let mut key = key.clone();
            let mut value = value;
            if !prefix.is_empty() {
                key.name = format!("{prefix}{}", key.name);
                value.name = key.name.clone();
            }
            if let Some(g) = &key.group {
                if !self.groups.contains(g) {
                    self.groups.push(g.clone());
                }
            }
            self.configs.push(ConfigInfo {
                definition: Some(key),
                value,
            });
        }
    }

    fn add_error(&mut self, name: &str, error: String) {
        if let Some(c) = self.configs.iter_mut().find(|c| c.value.name == name) {
            c.value.errors.push(error);
        } else {
            self.configs.push(ConfigInfo {
                definition: None,
                value: ConfigValue {
                    name: name.to_string(),
                    value: None,
                    errors: vec![error],
                    recommended_values: Vec::new(),
                    visible: true,
                },
            });
        }
    }
}

/// Validates a connector config whose values may hold `${provider:path:key}` references: the
/// resolved values are validated, the raw ones are reported (Kafka validates resolved values;
/// Sluice also keeps the secrets they resolve to out of the report and its messages).
pub fn validate_with_providers(
    plugins: &Plugins,
    providers: &Providers,
    raw: &RawConfig,
) -> ValidationReport {
    let mut resolved = RawConfig::new();
    let mut failures = Vec::new();
    for (k, v) in raw {
        match providers.resolve_value(k, v) {
            Ok(r) => {
                resolved.insert(k.clone(), r);
            }
            Err(e) => {
                resolved.insert(k.clone(), v.clone());
                failures.push((k.clone(), e.to_string()));
            }
        }
    }
    let mut report = validate_connector(plugins, &resolved);
    for c in &mut report.configs {
        let name = c.value.name.clone();
        let (Some(raw_v), Some(res_v)) = (raw.get(&name), resolved.get(&name)) else {
            continue;
        };
        if raw_v == res_v {
            continue;
        }
        c.value.value = Some(raw_v.clone());
        for e in &mut c.value.errors {
            if !res_v.is_empty() {
                *e = e.replace(res_v.as_str(), raw_v);
            }
        }
    }
    for (k, e) in failures {
        report.add_error(&k, e);
    }
    report
}

/// Validates `raw` as a connector config.
pub fn validate_connector(plugins: &Plugins, raw: &RawConfig) -> ValidationReport {
    let class = raw.get(CONNECTOR_CLASS).cloned().unwrap_or_default();
    let mut report = ValidationReport {
        class: class.clone(),
        groups: Vec::new(),
        configs: Vec::new(),
    };
    let plugin = plugins.connector(&class);
    let kind = plugin.map_or(ConnectorKind::Source, |p| p.kind);
    report.push_def(&cc::framework_def(kind), raw, "");
    match (raw.get(CONNECTOR_CLASS), plugin) {
        (None, _) => {}
        (Some(c), None) => report.add_error(
            CONNECTOR_CLASS,
            format!(
                "Invalid value {c} for configuration {CONNECTOR_CLASS}: Class {c} could not be found. Available connectors are: {}",
                plugins.connector_classes().join(", ")
            ),
        ),
        (Some(_), Some(p)) => {
            report.class = p.class.to_string();
            validate_plugin_keys(&mut report, p, raw);
        }
    }
    if let Some(name) = raw.get(NAME) {
        if name.chars().any(char::is_control) {
            report.add_error(
                NAME,
                format!("Invalid value {name} for configuration {NAME}: Connector name contains ISO control characters"),
            );
        }
    }
    if kind == ConnectorKind::Sink {
        validate_sink_topics(&mut report, raw);
    } else {
        for (key, msg) in crate::topic_creation::validate(raw) {
            report.add_error(&key, msg);
        }
    }
    validate_transforms(&mut report, plugins, raw);
    validate_converters(&mut report, plugins, raw);
    report
}

fn validate_plugin_keys(report: &mut ValidationReport, plugin: &ConnectorPlugin, raw: &RawConfig) {
    let def = (plugin.config_def)();
    // Framework keys win: skip connector keys that redefine them.
    let own: ConfigDef = def
        .keys()
        .iter()
        .filter(|k| !report.configs.iter().any(|c| c.value.name == k.name))
        .fold(ConfigDef::new(), |d, k| d.define(k.clone()));
    report.push_def(&own, raw, "");
    let connector = (plugin.new_connector)();
    let mut values: Vec<ConfigValue> = Vec::new();
    connector.validate(raw, &mut values);
    for v in values {
        for e in v.errors {
            report.add_error(&v.name, e);
        }
    }
}

fn validate_sink_topics(report: &mut ValidationReport, raw: &RawConfig) {
    let topics = raw.get(cc::TOPICS).map(|t| t.trim()).unwrap_or("");
    let regex = raw.get(cc::TOPICS_REGEX).map(|t| t.trim()).unwrap_or("");
    match (topics.is_empty(), regex.is_empty()) {
        (true, true) => {
            let msg = "Must configure one of topics or topics.regex".to_string();
            report.add_error(cc::TOPICS, msg.clone());
            report.add_error(cc::TOPICS_REGEX, msg);
        }
        (false, false) => {
            let msg = "topics and topics.regex are mutually exclusive options, but both are set."
                .to_string();
            report.add_error(cc::TOPICS, msg.clone());
            report.add_error(cc::TOPICS_REGEX, msg);
        }
        _ => {}
    }
    let dlq = raw.get(cc::DLQ_TOPIC).map(|t| t.trim()).unwrap_or("");
    if !dlq.is_empty()
        && sluice_api::config::parse_list(topics)
            .iter()
            .any(|t| t == dlq)
    {
        report.add_error(
            cc::DLQ_TOPIC,
            format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics={topics}') consumed by the connector"),
        );
    }
}

fn class_key(name: String, doc: &str, group: &str, order: i32) -> ConfigKey {
    ConfigKey::new(name, ConfigType::Class)
        .importance(Importance::High)
        .doc(doc)
        .group(group, order)
        .width(Width::Long)
}

fn validate_transforms(report: &mut ValidationReport, plugins: &Plugins, raw: &RawConfig) {
    let predicates = sluice_api::config::parse_list(raw.get(cc::PREDICATES).map_or("", |s| s));
    for (i, alias) in predicates.iter().enumerate() {
        let prefix = format!("predicates.{alias}.");
        let type_key = format!("{prefix}type");
        let def = ConfigDef::new().define(class_key(
            type_key.clone(),
            "Class for the 'predicate' predicate.",
            &format!("Predicate: {alias}"),
            i as i32,
        ));
        report.push_def(&def, raw, "");
        if let Some(class) = raw.get(&type_key) {
            match plugins.predicate(class) {
                None => report.add_error(
                    &type_key,
                    format!("Invalid value {class} for configuration {type_key}: Class {class} could not be found."),
                ),
                Some(p) => {
                    report.push_def(&(p.config_def)(), raw, &prefix);
                    if let Err(e) = (p.new)(&with_prefix(raw, &prefix)) {
                        report.add_error(&type_key, e.to_string());
                    }
                }
            }
        }
    }
    let transforms = sluice_api::config::parse_list(raw.get(cc::TRANSFORMS).map_or("", |s| s));
    for (i, alias) in transforms.iter().enumerate() {
        let prefix = format!("transforms.{alias}.");
        let type_key = format!("{prefix}type");
        let group = format!("Transforms: {alias}");
        let def = ConfigDef::new()
            .define(class_key(type_key.clone(), "Class for the 'transform' transformation.", &group, i as i32))
            .define(
                ConfigKey::new(format!("{prefix}predicate"), ConfigType::String)
                    .default_null()
                    .importance(Importance::Medium)
                    .doc("The alias of a predicate used to determine whether to apply this transformation.")
                    .group(group.as_str(), i as i32),
            )
            .define(
                ConfigKey::new(format!("{prefix}negate"), ConfigType::Boolean)
                    .default_value("false")
                    .importance(Importance::Medium)
                    .doc("Whether the configured predicate should be negated.")
                    .group(group.as_str(), i as i32),
            );
        report.push_def(&def, raw, "");
        if let Some(class) = raw.get(&type_key) {
            match plugins.transform(class) {
                None => report.add_error(
                    &type_key,
                    format!("Invalid value {class} for configuration {type_key}: Class {class} could not be found."),
                ),
                Some(t) => {
                    report.push_def(&(t.config_def)(), raw, &prefix);
                    if let Err(e) = (t.new)(&with_prefix(raw, &prefix)) {
                        report.add_error(&type_key, e.to_string());
                    }
                }
            }
        }
        let pred_key = format!("{prefix}predicate");
        let negate_key = format!("{prefix}negate");
        match raw.get(&pred_key).map(|p| p.trim()) {
            Some(p) if !p.is_empty() => {
                if !predicates.iter().any(|x| x == p) {
                    report.add_error(
                        &pred_key,
                        format!("Invalid value {p} for configuration {pred_key}: Predicate '{p}' is not defined in 'predicates'"),
                    );
                }
            }
            _ => {
                if raw.contains_key(&negate_key) {
                    report.add_error(
                        &negate_key,
                        format!("Invalid value {} for configuration {negate_key}: 'negate' can only be set when 'predicate' is also set", raw[&negate_key]),
                    );
                }
            }
        }
    }
}

fn validate_converters(report: &mut ValidationReport, plugins: &Plugins, raw: &RawConfig) {
    for (key, role) in [
        (cc::KEY_CONVERTER, ConverterRole::Key),
        (cc::VALUE_CONVERTER, ConverterRole::Value),
        (cc::HEADER_CONVERTER, ConverterRole::Header),
    ] {
        let Some(class) = raw.get(key) else { continue };
        let Some(p) = plugins.converter(class) else {
            report.add_error(
                key,
                format!("Invalid value {class} for configuration {key}: Class {class} could not be found."),
            );
            continue;
        };
        let prefix = format!("{key}.");
        let sub = with_prefix(raw, &prefix);
        let built = match role {
            ConverterRole::Header => p.new_header.map(|f| f(&sub).map(|_| ())),
            _ => p.new.map(|f| f(&sub, role).map(|_| ())),
        };
        match built {
            None => report.add_error(
                key,
                format!(
                    "Invalid value {class} for configuration {key}: {class} is not a {}",
                    if role == ConverterRole::Header {
                        "HeaderConverter"
                    } else {
                        "Converter"
                    }
                ),
            ),
            Some(Err(e)) => report.add_error(key, e.to_string()),
            Some(Ok(())) => {}
        }
    }
}
