//! `ValueToKey`: replaces the record key with a new key built from fields of the value.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::{
    field_value, map_get, non_empty_list, parse_config, replace_null_with_default_key, require_map,
    require_struct, SchemaCache, REPLACE_NULL_WITH_DEFAULT,
};

const FIELDS: &str = "fields";
const PURPOSE: &str = "copying fields from value to key";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELDS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list, "non-empty list"))
                .importance(Importance::High)
                .doc("Field names on the record value to extract as the record key."),
        )
        .define(replace_null_with_default_key())
}

#[derive(Debug)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(ValueToKey::new(raw)?))
}

impl ValueToKey {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        Ok(ValueToKey {
            fields: c.list(FIELDS),
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }

    fn key_schema(&self, value_schema: &SchemaRef) -> Result<SchemaRef> {
        let mut b = SchemaBuilder::structure();
        for f in &self.fields {
            let from_value = value_schema
                .field(f)
                .ok_or_else(|| ConnectError::data(format!("Field does not exist: {f}")))?;
            b = b.field(f.clone(), from_value.schema.clone())?;
        }
        Ok(b.build())
    }
}

impl Transform for ValueToKey {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if record.value_schema.is_none() {
            let value = require_map(&record.value, PURPOSE)?;
            let key = self
                .fields
                .iter()
                .map(|f| {
                    (
                        Value::from(f.as_str()),
                        map_get(value, f).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            record.key_schema = None;
            record.key = Value::Map(key);
        } else {
            let value = require_struct(&record.value, PURPOSE)?;
            let key_schema = self
                .cache
                .get_or_build(value.schema(), || self.key_schema(value.schema()))?;
            let mut key = Struct::new(key_schema.clone());
            for f in &self.fields {
                key.put(f, field_value(value, f, self.replace_null_with_default))?;
            }
            record.key_schema = Some(key_schema);
            record.key = Value::Struct(key);
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
        check_with(new, config, input, expected);
    }

    #[test]
    fn schemaless() {
        let input = value_record(
            None,
            map(&[
                ("a", Value::Int32(1)),
                ("b", Value::Int32(2)),
                ("c", Value::Int32(3)),
            ]),
        );
        let mut out = input.clone();
        out.key = map(&[
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("z", Value::Null),
        ]);
        check(&[("fields", "a,b,z")], input, Expect::Record(out));
    }

    #[test]
    fn with_schema() {
        let s = struct_schema(&[
            ("a", schemas::int32()),
            ("b", schemas::int32()),
            ("c", schemas::int32()),
        ]);
        let input = value_record(
            Some(s.clone()),
            sv(
                &s,
                &[
                    ("a", Value::Int32(1)),
                    ("b", Value::Int32(2)),
                    ("c", Value::Int32(3)),
                ],
            ),
        );
        let ks = struct_schema(&[("a", schemas::int32()), ("b", schemas::int32())]);
        let mut out = input.clone();
        out.key_schema = Some(ks.clone());
        out.key = sv(&ks, &[("a", Value::Int32(1)), ("b", Value::Int32(2))]);
        check(&[("fields", "a,b")], input.clone(), Expect::Record(out));
        check(
            &[("fields", "not_exist")],
            input,
            Expect::DataErr("Field does not exist: not_exist"),
        );
    }

    #[test]
    fn errors() {
        check(
            &[("fields", "a")],
            value_record(None, Value::Null),
            Expect::DataErr("Only Map objects supported in absence of schema for [copying fields from value to key], found: null"),
        );
        check(
            &[("fields", "a")],
            value_record(Some(schemas::string()), "x".into()),
            Expect::DataErr("Only Struct objects supported for [copying fields from value to key], found: java.lang.String"),
        );
        check(
            &[],
            value_record(None, map(&[])),
            Expect::ConfigErr(
                "Missing required configuration \"fields\" which has no default value.",
            ),
        );
        check(
            &[("fields", "")],
            value_record(None, map(&[])),
            Expect::ConfigErr("Invalid value  for configuration fields: Empty list"),
        );
    }

    #[test]
    fn replace_null_with_default() {
        let f = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(9))
            .unwrap()
            .build();
        let s = struct_schema(&[("a", f.clone())]);
        let ks = struct_schema(&[("a", f)]);
        let input = value_record(Some(s.clone()), sv(&s, &[]));
        for (flag, want) in [("true", Value::Int32(9)), ("false", Value::Null)] {
            let mut out = input.clone();
            out.key_schema = Some(ks.clone());
            let mut k = Struct::new(ks.clone());
            k.put("a", want).unwrap();
            out.key = Value::Struct(k);
            check(
                &[("fields", "a"), ("replace.null.with.default", flag)],
                input.clone(),
                Expect::Record(out),
            );
        }
    }
}
