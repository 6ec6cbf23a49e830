//! `RegexRouter`: renames the topic when the whole topic name matches `regex`, with
//! Java's `Matcher.replaceFirst` on `replacement` (`$1`, `${name}`, `\$` escapes).

use regex::Regex;
use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::Result;

use crate::util::{invalid_config, parse_config, valid_regex, whole_match_regex};

const REGEX: &str = "regex";
const REPLACEMENT: &str = "replacement";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(REGEX, ConfigType::String)
                .validator(Validator::Custom(valid_regex, "valid regex"))
                .importance(Importance::High)
                .doc("Regular expression to use for matching."),
        )
        .define(
            ConfigKey::new(REPLACEMENT, ConfigType::String)
                .importance(Importance::High)
                .doc("Replacement string."),
        )
}

#[derive(Debug)]
pub struct RegexRouter {
    whole: Regex,
    first: Regex,
    /// The replacement in the `regex` crate's syntax.
    replacement: String,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(RegexRouter::new(raw)?))
}

impl RegexRouter {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let pattern = c.string(REGEX).unwrap_or_default();
        let bad_regex =
            |e: regex::Error| invalid_config(REGEX, pattern, &format!("Invalid regex: {e}"));
        let first = Regex::new(pattern).map_err(bad_regex)?;
        let whole = whole_match_regex(pattern).map_err(bad_regex)?;
        let java = c.string(REPLACEMENT).unwrap_or_default();
        // Java only finds a bad group reference when a topic matches; we report it up front.
        let replacement = translate_replacement(java, &first)
            .map_err(|why| invalid_config(REPLACEMENT, java, &why))?;
        Ok(RegexRouter {
            whole,
            first,
            replacement,
        })
    }
}

/// Rewrites a Java replacement string into the `regex` crate's syntax.
pub(crate) fn translate_replacement(java: &str, re: &Regex) -> std::result::Result<String, String> {
    let group_count = re.captures_len() - 1;
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = chars
                    .get(i + 1)
                    .ok_or("character to be escaped is missing")?;
                if *c == '$' {
                    out.push_str("$$");
                } else {
                    out.push(*c);
                }
                i += 2;
            }
            '$' => {
                i += 1;
                match chars.get(i) {
                    None => return Err("Illegal group reference: group index is missing".into()),
                    Some('{') => {
                        let end = chars[i..]
                            .iter()
                            .position(|c| *c == '}')
                            .ok_or("named capturing group is missing trailing '}'")?;
                        let name: String = chars[i + 1..i + end].iter().collect();
                        if name.is_empty() {
                            return Err("named capturing group has 0 length name".into());
                        }
                        if !re.capture_names().flatten().any(|n| n == name) {
                            return Err(format!("No group with name {{{name}}}"));
                        }
                        out.push_str(&format!("${{{name}}}"));
                        i += end + 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let mut group = c.to_digit(10).unwrap_or(0) as usize;
                        if group > group_count {
                            return Err(format!("No group {group}"));
                        }
                        i += 1;
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let next = group * 10 + d as usize;
                            if next > group_count {
                                break;
                            }
                            group = next;
                            i += 1;
                        }
                        out.push_str(&format!("${{{group}}}"));
                    }
                    Some(_) => return Err("Illegal group reference".into()),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

impl Transform for RegexRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.whole.is_match(&record.topic) {
            let topic = self
                .first
                .replacen(&record.topic, 1, self.replacement.as_str())
                .into_owned();
            record.topic = topic.into();
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::Value;

    fn check(config: &[(&str, &str)], topic: &str, expected: Expect) {
        let mut input = value_record(None, Value::Null);
        input.topic = topic.into();
        check_with(new, config, input, expected);
    }

    fn routed(topic: &str) -> Expect {
        let mut r = value_record(None, Value::Null);
        r.topic = topic.into();
        Expect::Record(r)
    }

    #[test]
    fn routes() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("(.*)", "prefix-$1", "orig", "prefix-orig"),
            ("(.*)", "$1-suffix", "orig", "orig-suffix"),
            ("(.*)-(.*)", "$2-$1", "a-b", "b-a"),
            ("(?P<name>.*)", "x-${name}", "orig", "x-orig"),
            ("(.*)", "cost\\$1", "orig", "cost$1"),
            ("(.*)", "$10", "orig", "orig0"),
            ("(\\w+)-(\\d+)", "$1", "orders-123", "orders"),
            ("(\\w+)-(\\d+)", "$1", "orders-abc", "orders-abc"),
            // Whole-string match only.
            ("ord", "x", "orders", "orders"),
            ("orders", "x", "orders", "x"),
        ];
        for (regex, replacement, topic, want) in cases {
            check(
                &[("regex", regex), ("replacement", replacement)],
                topic,
                routed(want),
            );
        }
    }

    #[test]
    fn bad_config() {
        check(
            &[("replacement", "x")],
            "t",
            Expect::ConfigErr(
                "Missing required configuration \"regex\" which has no default value.",
            ),
        );
        check(
            &[("regex", "(.*)"), ("replacement", "$2")],
            "t",
            Expect::ConfigErr("Invalid value $2 for configuration replacement: No group 2"),
        );
        check(
            &[("regex", "(.*)"), ("replacement", "$x")],
            "t",
            Expect::ConfigErr(
                "Invalid value $x for configuration replacement: Illegal group reference",
            ),
        );
        let err =
            RegexRouter::new(&raw(&[("regex", "(unclosed"), ("replacement", "x")])).unwrap_err();
        assert!(
            err.message()
                .starts_with("Invalid value (unclosed for configuration regex: Invalid regex: "),
            "{err}"
        );
    }
}
