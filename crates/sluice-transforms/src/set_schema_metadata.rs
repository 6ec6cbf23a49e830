//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the schema name and/or version.

use std::sync::Arc;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::data::{Schema, SchemaType, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::{
    field_value, parse_config, replace_null_with_default_key, require_schema, SchemaCache, Side,
    REPLACE_NULL_WITH_DEFAULT,
};

const SCHEMA_NAME: &str = "schema.name";
const SCHEMA_VERSION: &str = "schema.version";
const PURPOSE: &str = "updating schema metadata";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(SCHEMA_NAME, ConfigType::String)
                .default_null()
                .importance(Importance::High)
                .doc("Schema name to set."),
        )
        .define(
            ConfigKey::new(SCHEMA_VERSION, ConfigType::Int)
                .default_null()
                .importance(Importance::High)
                .doc("Schema version to set."),
        )
        .define(replace_null_with_default_key())
}

#[derive(Debug)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(SetSchemaMetadata::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(SetSchemaMetadata::new(raw, Side::Value)?))
}

impl SetSchemaMetadata {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let name = c.string(SCHEMA_NAME).map(str::to_string);
        let version = c.int(SCHEMA_VERSION);
        if name.is_none() && version.is_none() {
            return Err(ConnectError::config(
                "Neither schema name nor version configured",
            ));
        }
        Ok(SetSchemaMetadata {
            side,
            name,
            version,
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }
}

impl Transform for SetSchemaMetadata {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let schema = require_schema(self.side.schema(&record), PURPOSE)?;
        let updated = self.cache.get_or_build(schema, || {
            Ok(Arc::new(Schema {
                name: self.name.clone().or_else(|| schema.name.clone()),
                version: self.version.or(schema.version),
                key_schema: if schema.schema_type == SchemaType::Map {
                    schema.key_schema.clone()
                } else {
                    None
                },
                value_schema: if matches!(schema.schema_type, SchemaType::Map | SchemaType::Array) {
                    schema.value_schema.clone()
                } else {
                    None
                },
                ..(**schema).clone()
            }))
        })?;
        let (_, value) = self.side.take(&mut record);
        // A struct must carry the new schema too (`updateSchemaIn`).
        let value = match value {
            Value::Struct(s) => {
                let mut out = Struct::new(updated.clone());
                for f in &updated.fields {
                    out.put(
                        &f.name,
                        field_value(&s, &f.name, self.replace_null_with_default),
                    )?;
                }
                Value::Struct(out)
            }
            other => other,
        };
        self.side.set(&mut record, Some(updated), value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::{schemas, SchemaBuilder};

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new_value, config, input, expected);
    }

    #[test]
    fn sets_name_and_version() {
        let cases: &[(Cfg<'_>, Option<&str>, Option<i32>)] = &[
            (&[("schema.name", "foo")], Some("foo"), Some(3)),
            (&[("schema.version", "42")], Some("orig"), Some(42)),
            (
                &[("schema.name", "foo"), ("schema.version", "42")],
                Some("foo"),
                Some(42),
            ),
        ];
        for (cfg, name, version) in cases {
            let s = SchemaBuilder::string().name("orig").version(3).build();
            let mut want = SchemaBuilder::string();
            if let Some(n) = name {
                want = want.name(*n);
            }
            if let Some(v) = version {
                want = want.version(*v);
            }
            check(
                cfg,
                value_record(Some(s), "x".into()),
                Expect::Record(value_record(Some(want.build()), "x".into())),
            );
        }
    }

    #[test]
    fn struct_value_follows_schema() {
        let s = struct_schema(&[("a", schemas::int32())]);
        let ws = SchemaBuilder::from_schema(&s).name("foo").build();
        check(
            &[("schema.name", "foo")],
            value_record(Some(s.clone()), sv(&s, &[("a", Value::Int32(1))])),
            Expect::Record(value_record(
                Some(ws.clone()),
                sv(&ws, &[("a", Value::Int32(1))]),
            )),
        );
        let tomb = value_record(Some(s), Value::Null);
        let mut out = tomb.clone();
        out.value_schema = Some(ws);
        check(&[("schema.name", "foo")], tomb, Expect::Record(out));
    }

    #[test]
    fn replace_null_with_default() {
        let f = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(4))
            .unwrap()
            .build();
        let s = struct_schema(&[("a", f)]);
        let ws = SchemaBuilder::from_schema(&s).version(2).build();
        let input = value_record(Some(s.clone()), sv(&s, &[]));
        check(
            &[("schema.version", "2")],
            input.clone(),
            Expect::Record(value_record(
                Some(ws.clone()),
                sv(&ws, &[("a", Value::Int32(4))]),
            )),
        );
        check(
            &[
                ("schema.version", "2"),
                ("replace.null.with.default", "false"),
            ],
            input,
            Expect::Record(value_record(Some(ws.clone()), sv(&ws, &[]))),
        );
    }

    #[test]
    fn errors() {
        check(
            &[("schema.name", "foo")],
            value_record(None, "x".into()),
            Expect::DataErr("Schema required for [updating schema metadata]"),
        );
        check(
            &[],
            value_record(None, Value::Null),
            Expect::ConfigErr("Neither schema name nor version configured"),
        );
        check(
            &[("schema.version", "x")],
            value_record(None, Value::Null),
            Expect::ConfigErr(
                "Invalid value x for configuration schema.version: Not a number of type INT",
            ),
        );
    }

    #[test]
    fn key_side() {
        let s = schemas::int32();
        let ws = SchemaBuilder::int32().name("k").build();
        check_with(
            new_key,
            &[("schema.name", "k")],
            key_record(Some(s), Value::Int32(1)),
            Expect::Record(key_record(Some(ws), Value::Int32(1))),
        );
    }
}
