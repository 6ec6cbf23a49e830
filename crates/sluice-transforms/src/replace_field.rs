//! `ReplaceField$Key` / `ReplaceField$Value`: filters (`exclude`, `include`) and renames
//! fields. The legacy `blacklist` / `whitelist` keys of Kafka 3.x are still accepted.

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator,
};
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::Result;

use crate::util::{
    field_value, invalid_config, java_split, parse_config, replace_null_with_default_key,
    require_map, require_struct, with_basics_of, SchemaCache, Side, REPLACE_NULL_WITH_DEFAULT,
};

const EXCLUDE: &str = "exclude";
const INCLUDE: &str = "include";
const RENAMES: &str = "renames";
const BLACKLIST: &str = "blacklist";
const WHITELIST: &str = "whitelist";
const PURPOSE: &str = "field replacement";

fn valid_renames(_name: &str, value: &Parsed) -> std::result::Result<(), String> {
    if let Parsed::List(l) = value {
        for m in l {
            if java_split(m, ':').len() != 2 {
                return Err(format!("Invalid rename mapping: {m}"));
            }
        }
    }
    Ok(())
}

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(EXCLUDE, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc("Fields to exclude. This takes precedence over the fields to include."),
        )
        .define(
            ConfigKey::new(INCLUDE, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc("Fields to include. If specified, only these fields will be used."),
        )
        .define(
            ConfigKey::new(RENAMES, ConfigType::List)
                .default_value("")
                .validator(Validator::Custom(
                    valid_renames,
                    "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>",
                ))
                .importance(Importance::Medium)
                .doc("Field rename mappings."),
        )
        .define(
            ConfigKey::new(BLACKLIST, ConfigType::List)
                .default_null()
                .importance(Importance::Low)
                .doc("Deprecated. Use exclude instead."),
        )
        .define(
            ConfigKey::new(WHITELIST, ConfigType::List)
                .default_null()
                .importance(Importance::Low)
                .doc("Deprecated. Use include instead."),
        )
        .define(replace_null_with_default_key())
}

#[derive(Debug)]
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(ReplaceField::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(ReplaceField::new(raw, Side::Value)?))
}

impl ReplaceField {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        // ConfigUtils.translateDeprecatedConfigs: the new key wins; the old one fills in.
        let mut raw = raw.clone();
        for (new, old) in [(INCLUDE, WHITELIST), (EXCLUDE, BLACKLIST)] {
            if !raw.contains_key(new) {
                if let Some(v) = raw.get(old).cloned() {
                    raw.insert(new.to_string(), v);
                }
            }
        }
        let c = parse_config(&config_def(), &raw)?;
        let mut renames = Vec::new();
        for m in c.list(RENAMES) {
            match java_split(&m, ':').as_slice() {
                [from, to] => renames.push((from.to_string(), to.to_string())),
                _ => {
                    return Err(invalid_config(
                        RENAMES,
                        &c.list(RENAMES).join(","),
                        &format!("Invalid rename mapping: {m}"),
                    ))
                }
            }
        }
        Ok(ReplaceField {
            side,
            exclude: c.list(EXCLUDE),
            include: c.list(INCLUDE),
            renames,
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }

    fn filter(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
    }

    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut b = with_basics_of(schema, SchemaBuilder::structure());
        for f in &schema.fields {
            if self.filter(&f.name) {
                b = b.field(self.renamed(&f.name), f.schema.clone())?;
            }
        }
        Ok(b.build())
    }
}

impl Transform for ReplaceField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.side.schema(&record) {
            None => {
                let entries = require_map(value, PURPOSE)?;
                let mut updated = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    // Java casts keys to String; a non-string key is skipped by the filter.
                    let Some(name) = k.as_str() else { continue };
                    if self.filter(name) {
                        updated.push((Value::from(self.renamed(name)), v.clone()));
                    }
                }
                self.side.set(&mut record, None, Value::Map(updated));
            }
            Some(_) => {
                let value = require_struct(value, PURPOSE)?;
                let schema = self
                    .cache
                    .get_or_build(value.schema(), || self.updated_schema(value.schema()))?;
                let mut updated = Struct::new(schema.clone());
                for (f, original) in schema.fields.iter().zip(
                    value
                        .schema()
                        .fields
                        .iter()
                        .filter(|f| self.filter(&f.name)),
                ) {
                    updated.put(
                        &f.name,
                        field_value(value, &original.name, self.replace_null_with_default),
                    )?;
                }
                self.side
                    .set(&mut record, Some(schema), Value::Struct(updated));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::schemas;

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new_value, config, input, expected);
    }

    fn abcd() -> Value {
        map(&[
            ("dont", "whatever".into()),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", "etc".into()),
        ])
    }

    #[test]
    fn schemaless() {
        let cases: Vec<(&[(&str, &str)], Value)> = vec![
            (
                &[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")],
                map(&[
                    ("xyz", Value::Int32(42)),
                    ("bar", Value::Boolean(true)),
                    ("etc", "etc".into()),
                ]),
            ),
            (
                &[("include", "abc,foo")],
                map(&[("abc", Value::Int32(42)), ("foo", Value::Boolean(true))]),
            ),
            (
                &[("whitelist", "abc,foo")],
                map(&[("abc", Value::Int32(42)), ("foo", Value::Boolean(true))]),
            ),
            (
                &[("blacklist", "dont,etc")],
                map(&[("abc", Value::Int32(42)), ("foo", Value::Boolean(true))]),
            ),
            // The new key wins over the legacy one.
            (
                &[("include", "abc"), ("whitelist", "foo")],
                map(&[("abc", Value::Int32(42))]),
            ),
            // Exclusion takes precedence over inclusion.
            (
                &[("include", "abc,foo"), ("exclude", "foo")],
                map(&[("abc", Value::Int32(42))]),
            ),
            (&[], abcd()),
        ];
        for (cfg, want) in cases {
            let input = value_record(None, abcd());
            let mut out = input.clone();
            out.value = want;
            check(cfg, input, Expect::Record(out));
        }
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::structure()
            .name("n")
            .field("dont", schemas::string())
            .unwrap()
            .field("abc", schemas::int32())
            .unwrap()
            .field("foo", schemas::boolean())
            .unwrap()
            .field("etc", schemas::string())
            .unwrap()
            .build();
        let value = sv(
            &schema,
            &[
                ("dont", "whatever".into()),
                ("abc", Value::Int32(42)),
                ("foo", Value::Boolean(true)),
                ("etc", "etc".into()),
            ],
        );
        let out_schema = SchemaBuilder::structure()
            .name("n")
            .field("xyz", schemas::int32())
            .unwrap()
            .field("bar", schemas::boolean())
            .unwrap()
            .field("etc", schemas::string())
            .unwrap()
            .build();
        let input = value_record(Some(schema), value);
        let mut out = input.clone();
        out.value_schema = Some(out_schema.clone());
        out.value = sv(
            &out_schema,
            &[
                ("xyz", Value::Int32(42)),
                ("bar", Value::Boolean(true)),
                ("etc", "etc".into()),
            ],
        );
        check(
            &[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")],
            input,
            Expect::Record(out),
        );
    }

    #[test]
    fn tombstone_and_errors() {
        let tomb = value_record(Some(struct_schema(&[("a", schemas::int32())])), Value::Null);
        check(&[("exclude", "a")], tomb.clone(), Expect::Record(tomb));
        check(
            &[("exclude", "a")],
            value_record(None, Value::Int32(1)),
            Expect::DataErr("Only Map objects supported in absence of schema for [field replacement], found: java.lang.Integer"),
        );
        check(
            &[("renames", "a:b:c")],
            value_record(None, map(&[])),
            Expect::ConfigErr(
                "Invalid value a:b:c for configuration renames: Invalid rename mapping: a:b:c",
            ),
        );
        check(
            &[("renames", "abc")],
            value_record(None, map(&[])),
            Expect::ConfigErr(
                "Invalid value abc for configuration renames: Invalid rename mapping: abc",
            ),
        );
    }

    #[test]
    fn key_side() {
        let input = key_record(None, map(&[("a", Value::Int32(1)), ("b", Value::Int32(2))]));
        let mut out = input.clone();
        out.key = map(&[("c", Value::Int32(1))]);
        check_with(
            new_key,
            &[("exclude", "b"), ("renames", "a:c")],
            input,
            Expect::Record(out),
        );
    }

    #[test]
    fn replace_null_with_default() {
        let f = SchemaBuilder::string()
            .optional()
            .default_value("d".into())
            .unwrap()
            .build();
        let schema = struct_schema(&[("a", f.clone())]);
        let input = value_record(Some(schema.clone()), sv(&schema, &[]));
        let out_schema = struct_schema(&[("b", f)]);
        for (flag, want) in [("true", Value::from("d")), ("false", Value::Null)] {
            let mut out = input.clone();
            out.value_schema = Some(out_schema.clone());
            let mut s = Struct::new(out_schema.clone());
            s.put("b", want).unwrap();
            out.value = Value::Struct(s);
            check(
                &[("renames", "a:b"), ("replace.null.with.default", flag)],
                input.clone(),
                Expect::Record(out),
            );
        }
    }
}
