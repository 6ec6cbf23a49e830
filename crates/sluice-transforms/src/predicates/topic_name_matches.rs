//! `TopicNameMatches`: true when the whole topic name matches `pattern`.

use regex::Regex;
use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator,
};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Predicate;
use sluice_api::Result;

use crate::util::{invalid_config, parse_config, valid_regex, whole_match_regex};

const PATTERN: &str = "pattern";

/// `CompositeValidator.of(new NonEmptyString(), new RegexValidator())`.
fn non_empty_regex(name: &str, value: &Parsed) -> std::result::Result<(), String> {
    if let Parsed::Str(s) = value {
        if s.is_empty() {
            return Err("String must be non-empty".into());
        }
    }
    valid_regex(name, value)
}

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(PATTERN, ConfigType::String)
            .validator(Validator::Custom(
                non_empty_regex,
                "non-empty string, valid regex",
            ))
            .importance(Importance::Medium)
            .doc("A Java regular expression for matching against the name of a record's topic."),
    )
}

#[derive(Debug)]
pub struct TopicNameMatches {
    pattern: Regex,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Predicate>> {
    Ok(Box::new(TopicNameMatches::new(raw)?))
}

impl TopicNameMatches {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let p = c.string(PATTERN).unwrap_or_default();
        let pattern = whole_match_regex(p)
            .map_err(|e| invalid_config(PATTERN, p, &format!("Invalid regex: {e}")))?;
        Ok(TopicNameMatches { pattern })
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.is_match(&record.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::raw;

    fn check(pattern: &str, topic: &str, expected: bool) {
        let p = new(&raw(&[("pattern", pattern)])).unwrap();
        let r = ConnectRecord {
            topic: topic.into(),
            ..ConnectRecord::default()
        };
        assert_eq!(p.test(&r), expected, "{pattern} ~ {topic}");
    }

    #[test]
    fn matches_whole_topic() {
        for (pattern, topic, want) in [
            ("my-prefix-.*", "my-prefix-foo", true),
            ("my-prefix-.*", "your-prefix-foo", false),
            ("foo", "foo", true),
            ("foo", "foobar", false),
            ("foo|bar", "bar", true),
            (".*", "", true),
        ] {
            check(pattern, topic, want);
        }
    }

    #[test]
    fn bad_config() {
        let Err(e) = new(&raw(&[])) else { panic!() };
        assert_eq!(
            e.message(),
            "Missing required configuration \"pattern\" which has no default value."
        );
        let Err(e) = new(&raw(&[("pattern", "")])) else {
            panic!()
        };
        assert_eq!(
            e.message(),
            "Invalid value  for configuration pattern: String must be non-empty"
        );
        let Err(e) = new(&raw(&[("pattern", "[")])) else {
            panic!()
        };
        assert!(
            e.message()
                .starts_with("Invalid value [ for configuration pattern: Invalid regex: "),
            "{e}"
        );
    }
}
