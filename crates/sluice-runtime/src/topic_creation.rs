//! KIP-158: the topics a source task creates, and how.
//!
//! With the worker's `topic.creation.enable=true` (the default) and `topic.creation.*` keys in
//! the connector config, a missing topic is created with the settings of the first group of
//! `topic.creation.groups` whose `include` patterns match it and whose `exclude` patterns do
//! not, else of the `default` group (`topic.creation.default.replication.factor` and
//! `.partitions` are then required); every other `topic.creation.<group>.<key>` is a topic
//! config (`cleanup.policy`, `retention.ms`, …). -1 asks for the broker's default.
//!
//! Without `topic.creation.*` keys Kafka Connect creates nothing and leaves a missing topic to
//! the broker's auto-creation (its producer asks for it in a metadata request); Sluice's
//! librdkafka producer does not, so it creates the topic itself as auto-creation does with
//! Kafka's shipped broker settings: one partition (`num.partitions=1`) and the broker's default
//! replication factor (-1, KIP-464).
//! `topic.creation.enable=false` turns every creation off.

use regex::Regex;
use sluice_api::config::{parse_list, RawConfig};

pub const PREFIX: &str = "topic.creation.";
pub const GROUPS: &str = "topic.creation.groups";
pub const DEFAULT_GROUP: &str = "default";

const INCLUDE: &str = "include";
const EXCLUDE: &str = "exclude";
const REPLICATION_FACTOR: &str = "replication.factor";
const PARTITIONS: &str = "partitions";

/// What a new topic gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopic {
    pub partitions: i32,
    pub replication_factor: i32,
    /// Topic configs, in key order.
    pub configs: Vec<(String, String)>,
}

/// One group's patterns and settings.
#[derive(Clone, Debug)]
pub struct Group {
    include: Option<Regex>,
    exclude: Option<Regex>,
    topic: NewTopic,
}

impl Group {
    fn matches(&self, topic: &str) -> bool {
        let hit = |r: &Option<Regex>| r.as_ref().is_some_and(|r| r.is_match(topic));
        !hit(&self.exclude) && hit(&self.include)
    }
}

/// How a source task's missing topics are created.
#[derive(Clone, Debug)]
pub enum TopicCreation {
    /// `topic.creation.enable=false`: never.
    Off,
    /// No `topic.creation.*` keys: one partition, the broker's replication factor (module docs).
    BrokerDefaults,
    /// KIP-158 groups, in the order of `topic.creation.groups`, then the default group.
    Groups {
        groups: Vec<Group>,
        default: Box<Group>,
    },
}

/// Whether the connector config uses KIP-158 keys.
pub fn uses_topic_creation(config: &RawConfig) -> bool {
    config.keys().any(|k| k.starts_with(PREFIX))
}

impl TopicCreation {
    /// The settings of a source connector; errors are `(key, message)` pairs with Kafka's
    /// messages.
    pub fn new(worker_enabled: bool, config: &RawConfig) -> Result<Self, Vec<(String, String)>> {
        if !worker_enabled {
            return Ok(TopicCreation::Off);
        }
        if !uses_topic_creation(config) {
            return Ok(TopicCreation::BrokerDefaults);
        }
        let mut errors = Vec::new();
        let default = group(config, DEFAULT_GROUP, None, &mut errors);
        let mut groups = Vec::new();
        let names = config
            .get(GROUPS)
            .map(|g| parse_list(g))
            .unwrap_or_default();
        for (i, name) in names.iter().enumerate() {
            if name == DEFAULT_GROUP || names[..i].contains(name) {
                errors.push((
                    GROUPS.to_string(),
                    format!(
                        "Invalid value {} for configuration {GROUPS}: Duplicate alias provided.",
                        config.get(GROUPS).map_or("", |v| v.as_str())
                    ),
                ));
                continue;
            }
            if let Some(g) = group(config, name, default.as_ref(), &mut errors) {
                groups.push(g);
            }
        }
        match default {
            Some(default) if errors.is_empty() => Ok(TopicCreation::Groups {
                groups,
                default: Box::new(default),
            }),
            _ => Err(errors),
        }
    }

    /// What `topic` gets if it is missing, or `None` if this task must not create it.
    pub fn new_topic(&self, topic: &str) -> Option<NewTopic> {
        match self {
            TopicCreation::Off => None,
            TopicCreation::BrokerDefaults => Some(NewTopic {
                partitions: 1,
                replication_factor: -1,
                configs: Vec::new(),
            }),
            TopicCreation::Groups { groups, default } => Some(
                groups
                    .iter()
                    .find(|g| g.matches(topic))
                    .unwrap_or(default)
                    .topic
                    .clone(),
            ),
        }
    }
}

/// The validation problems of a connector config's `topic.creation.*` keys.
pub fn validate(config: &RawConfig) -> Vec<(String, String)> {
    match TopicCreation::new(true, config) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    }
}

/// One group's settings; the default group's replication factor and partitions are required,
/// other groups take them from the default group when absent.
fn group(
    config: &RawConfig,
    name: &str,
    default: Option<&Group>,
    errors: &mut Vec<(String, String)>,
) -> Option<Group> {
    let prefix = format!("{PREFIX}{name}.");
    let key = |k: &str| format!("{prefix}{k}");
    let before = errors.len();
    let number = |k: &str, inherited: Option<i32>, errors: &mut Vec<(String, String)>| {
        let full = key(k);
        match config.get(&full).map(|v| v.trim()) {
            None | Some("") => {
                if inherited.is_none() {
                    errors.push((
                        full.clone(),
                        format!(
                            "Missing required configuration \"{full}\" which has no default value."
                        ),
                    ));
                }
                inherited
            }
            Some(v) => match v.parse::<i32>() {
                Ok(n) if n == -1 || n >= 1 => Some(n),
                Ok(n) => {
                    errors.push((
                        full.clone(),
                        format!("Invalid value {n} for configuration {full}: Value must be -1 or at least 1"),
                    ));
                    None
                }
                Err(_) => {
                    errors.push((
                        full.clone(),
                        format!(
                            "Invalid value {} for configuration {full}: Not a number of type INT",
                            sluice_api::config::shown_value(v)
                        ),
                    ));
                    None
                }
            },
        }
    };
    let replication_factor = number(
        REPLICATION_FACTOR,
        default.map(|d| d.topic.replication_factor),
        errors,
    );
    let partitions = number(PARTITIONS, default.map(|d| d.topic.partitions), errors);
    let pattern = |k: &str, fallback: &str, errors: &mut Vec<(String, String)>| {
        let full = key(k);
        let list = match config.get(&full) {
            Some(v) => parse_list(v),
            None => parse_list(fallback),
        };
        if list.is_empty() {
            return None;
        }
        // Java's Pattern.matcher(topic).matches(): the whole name must match.
        let joined = format!("^(?:{})$", list.join("|"));
        match Regex::new(&joined) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.push((
                    full.clone(),
                    format!(
                        "Invalid value {} for configuration {full}: not a valid regular expression: {e}",
                        sluice_api::config::shown_value(&list.join(","))
                    ),
                ));
                None
            }
        }
    };
    let include_fallback = if name == DEFAULT_GROUP { ".*" } else { "" };
    let include = pattern(INCLUDE, include_fallback, errors);
    let exclude = pattern(EXCLUDE, "", errors);
    let configs: Vec<(String, String)> = config
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(&prefix)?;
            (![INCLUDE, EXCLUDE, REPLICATION_FACTOR, PARTITIONS].contains(&rest))
                .then(|| (rest.to_string(), v.clone()))
        })
        .collect();
    if errors.len() > before {
        return None;
    }
    Some(Group {
        include,
        exclude,
        topic: NewTopic {
            partitions: partitions?,
            replication_factor: replication_factor?,
            configs,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn topic(p: i32, rf: i32, configs: &[(&str, &str)]) -> Option<NewTopic> {
        Some(NewTopic {
            partitions: p,
            replication_factor: rf,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    #[test]
    fn disabled_on_the_worker_creates_nothing() {
        let c = config(&[("topic.creation.default.partitions", "3")]);
        assert!(TopicCreation::new(false, &c)
            .unwrap()
            .new_topic("t")
            .is_none());
    }

    #[test]
    fn without_keys_the_broker_defaults_apply() {
        let t = TopicCreation::new(true, &RawConfig::new()).unwrap();
        assert_eq!(t.new_topic("t"), topic(1, -1, &[]));
    }

    #[test]
    fn groups_match_in_order_then_the_default_group() {
        let c = config(&[
            ("topic.creation.groups", "compacted, big"),
            ("topic.creation.default.replication.factor", "-1"),
            ("topic.creation.default.partitions", "2"),
            ("topic.creation.default.retention.ms", "1000"),
            ("topic.creation.compacted.include", "users-.*, accounts"),
            ("topic.creation.compacted.exclude", "users-tmp"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.big.include", ".*"),
            ("topic.creation.big.partitions", "12"),
        ]);
        let t = TopicCreation::new(true, &c).unwrap();
        assert_eq!(
            t.new_topic("users-1"),
            topic(2, -1, &[("cleanup.policy", "compact")])
        );
        assert_eq!(
            t.new_topic("accounts"),
            topic(2, -1, &[("cleanup.policy", "compact")])
        );
        // Excluded from the first group, included by the second; a partial match is no match.
        assert_eq!(t.new_topic("users-tmp"), topic(12, -1, &[]));
        assert_eq!(t.new_topic("xaccounts"), topic(12, -1, &[]));
    }

    #[test]
    fn the_default_group_is_used_when_no_group_matches() {
        let c = config(&[
            ("topic.creation.groups", "g"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "4"),
            ("topic.creation.default.cleanup.policy", "delete"),
            ("topic.creation.g.include", "only-this"),
        ]);
        let t = TopicCreation::new(true, &c).unwrap();
        assert_eq!(
            t.new_topic("other"),
            topic(4, 1, &[("cleanup.policy", "delete")])
        );
    }

    #[test]
    fn kafkas_messages_for_bad_settings() {
        let e = validate(&config(&[("topic.creation.default.partitions", "0")]));
        assert_eq!(
            e,
            vec![
                (
                    "topic.creation.default.replication.factor".to_string(),
                    "Missing required configuration \"topic.creation.default.replication.factor\" which has no default value.".to_string()
                ),
                (
                    "topic.creation.default.partitions".to_string(),
                    "Invalid value 0 for configuration topic.creation.default.partitions: Value must be -1 or at least 1".to_string()
                ),
            ]
        );
        let e = validate(&config(&[
            ("topic.creation.default.partitions", "1"),
            ("topic.creation.default.replication.factor", "x"),
        ]));
        assert_eq!(e[0].1, "Invalid value x for configuration topic.creation.default.replication.factor: Not a number of type INT");
        let e = validate(&config(&[
            ("topic.creation.groups", "g"),
            ("topic.creation.default.partitions", "1"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.g.include", "(unclosed"),
        ]));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "topic.creation.g.include");
    }
}
