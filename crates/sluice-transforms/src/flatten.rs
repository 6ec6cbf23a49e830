//! `Flatten$Key` / `Flatten$Value`: flattens nested structs (or maps) into one level, joining
//! field names with `delimiter`.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::data::{Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::{
    copy_schema_basics, require_map, require_map_or_null, require_struct_or_null, with_basics_of,
    MapEntries, SchemaCache, Side,
};

const DELIMITER: &str = "delimiter";
const PURPOSE: &str = "flattening";

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(DELIMITER, ConfigType::String)
            .default_value(".")
            .importance(Importance::Medium)
            .doc("Delimiter to insert between field names from the input record when generating field names for the output record"),
    )
}

#[derive(Debug)]
pub struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(Flatten::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(Flatten::new(raw, Side::Value)?))
}

impl Flatten {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = crate::util::parse_config(&config_def(), raw)?;
        let delimiter = c.string(DELIMITER).unwrap_or(".").to_string();
        Ok(Flatten {
            side,
            delimiter,
            cache: SchemaCache::new(),
        })
    }

    fn field_name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(&self, entries: &MapEntries, prefix: &str, out: &mut MapEntries) -> Result<()> {
        for (k, v) in entries {
            let key = match k {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let name = self.field_name(prefix, &key);
            match v {
                Value::Null
                | Value::Int8(_)
                | Value::Int16(_)
                | Value::Int32(_)
                | Value::Int64(_)
                | Value::Float32(_)
                | Value::Float64(_)
                | Value::Boolean(_)
                | Value::String(_)
                | Value::Bytes(_)
                | Value::Array(_) => out.push((Value::String(name), v.clone())),
                Value::Map(_) => {
                    let inner = require_map(v, PURPOSE)?;
                    self.flatten_map(inner, &name, out)?;
                }
                Value::Struct(_) => {
                    return Err(ConnectError::data(format!(
                        "Flatten transformation does not support {} for record without schemas (for field {name}).",
                        v.java_class_name()
                    )))
                }
            }
        }
        Ok(())
    }

    fn build_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut builder: SchemaBuilder,
        optional: bool,
        default_from_parent: Option<&Struct>,
    ) -> Result<SchemaBuilder> {
        for f in &schema.fields {
            let name = self.field_name(prefix, &f.name);
            let field_optional = optional || f.schema.optional;
            let default = match &f.schema.default {
                Some(d) => Some(d.clone()),
                None => default_from_parent.and_then(|p| p.get(&f.name).cloned()),
            }
            .filter(|d| !d.is_null());
            if f.schema.schema_type == SchemaType::Struct {
                let parent = match &default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                builder = self.build_schema(&f.schema, &name, builder, field_optional, parent)?;
            } else {
                let mut fb = copy_schema_basics(&f.schema);
                if field_optional {
                    fb = fb.optional();
                }
                if let Some(d) = default {
                    fb = fb.default_value(d)?;
                }
                builder = builder.field(name, fb.build())?;
            }
        }
        Ok(builder)
    }

    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let builder = with_basics_of(schema, SchemaBuilder::structure());
        let default = match &schema.default {
            Some(Value::Struct(s)) => Some(s),
            _ => None,
        };
        let mut builder = self.build_schema(schema, "", builder, schema.optional, default)?;
        if schema.optional {
            builder = builder.optional();
        }
        Ok(builder.build())
    }

    fn flatten_struct(&self, s: &Struct, prefix: &str, out: &mut Struct) -> Result<()> {
        for f in &s.schema().fields {
            let name = self.field_name(prefix, &f.name);
            if f.schema.schema_type == SchemaType::Struct {
                if let Some(Value::Struct(inner)) = s.get(&f.name) {
                    self.flatten_struct(inner, &name, out)?;
                }
            } else {
                out.put(&name, s.get(&f.name).cloned().unwrap_or(Value::Null))?;
            }
        }
        Ok(())
    }
}

impl Transform for Flatten {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.side.schema(&record).cloned() {
            None => {
                let mut out = Vec::new();
                if let Some(entries) = require_map_or_null(value, PURPOSE)? {
                    self.flatten_map(entries, "", &mut out)?;
                }
                self.side.set(&mut record, None, Value::Map(out));
            }
            Some(schema) => {
                let value = require_struct_or_null(value, PURPOSE)?;
                let updated = self
                    .cache
                    .get_or_build(&schema, || self.updated_schema(&schema))?;
                let out = match value {
                    None => Value::Null,
                    Some(s) => {
                        let mut out = Struct::new(updated.clone());
                        self.flatten_struct(s, "", &mut out)?;
                        Value::Struct(out)
                    }
                };
                self.side.set(&mut record, Some(updated), out);
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

    #[test]
    fn schemaless_nested() {
        let input = value_record(
            None,
            map(&[
                (
                    "A",
                    map(&[(
                        "B",
                        map(&[("int8", Value::Int8(8)), ("string", "s".into())]),
                    )]),
                ),
                ("arr", Value::Array(vec![Value::Int32(1)])),
                ("n", Value::Null),
            ]),
        );
        let mut out = input.clone();
        out.value = map(&[
            ("A.B.int8", Value::Int8(8)),
            ("A.B.string", "s".into()),
            ("arr", Value::Array(vec![Value::Int32(1)])),
            ("n", Value::Null),
        ]);
        check(&[], input.clone(), Expect::Record(out.clone()));
        out.value = map(&[
            ("A#B#int8", Value::Int8(8)),
            ("A#B#string", "s".into()),
            ("arr", Value::Array(vec![Value::Int32(1)])),
            ("n", Value::Null),
        ]);
        check(&[("delimiter", "#")], input, Expect::Record(out));
    }

    #[test]
    fn with_schema_nested() {
        let b = struct_schema(&[("int8", schemas::int8()), ("string", schemas::string())]);
        let a = struct_schema(&[("B", b.clone())]);
        let top = SchemaBuilder::structure()
            .name("top")
            .field("A", a.clone())
            .unwrap()
            .field("opt", SchemaBuilder::struct_opt(&b))
            .unwrap()
            .field("x", schemas::int32())
            .unwrap()
            .build();
        let bv = sv(&b, &[("int8", Value::Int8(8)), ("string", "s".into())]);
        let input = value_record(
            Some(top.clone()),
            sv(&top, &[("A", sv(&a, &[("B", bv)])), ("x", Value::Int32(1))]),
        );
        let ws = SchemaBuilder::structure()
            .name("top")
            .field("A_B_int8", schemas::int8())
            .unwrap()
            .field("A_B_string", schemas::string())
            .unwrap()
            .field("opt_int8", schemas::optional_int8())
            .unwrap()
            .field("opt_string", schemas::optional_string())
            .unwrap()
            .field("x", schemas::int32())
            .unwrap()
            .build();
        let mut out = input.clone();
        out.value_schema = Some(ws.clone());
        out.value = sv(
            &ws,
            &[
                ("A_B_int8", Value::Int8(8)),
                ("A_B_string", "s".into()),
                ("x", Value::Int32(1)),
            ],
        );
        check(&[("delimiter", "_")], input, Expect::Record(out));
    }

    #[test]
    fn optional_struct_null_and_tombstone() {
        let s = SchemaBuilder::structure()
            .optional()
            .field("a", struct_schema(&[("b", schemas::int32())]))
            .unwrap()
            .build();
        check(
            &[],
            value_record(Some(s.clone()), Value::Null),
            Expect::Record(value_record(Some(s), Value::Null)),
        );
        let tomb = value_record(None, Value::Null);
        check(&[], tomb.clone(), Expect::Record(tomb));
    }

    #[test]
    fn errors() {
        let inner = struct_schema(&[("x", schemas::int32())]);
        check(
            &[],
            value_record(None, map(&[("s", sv(&inner, &[("x", Value::Int32(1))]))])),
            Expect::DataErr("Flatten transformation does not support class org.apache.kafka.connect.data.Struct for record without schemas (for field s)."),
        );
        check(
            &[],
            value_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [flattening], found: java.lang.String"),
        );
        check(
            &[],
            value_record(Some(schemas::string()), "x".into()),
            Expect::DataErr(
                "Only Struct objects supported for [flattening], found: java.lang.String",
            ),
        );
    }

    #[test]
    fn key_side() {
        let input = key_record(None, map(&[("a", map(&[("b", Value::Int32(1))]))]));
        let mut out = input.clone();
        out.key = map(&[("a.b", Value::Int32(1))]);
        check_with(new_key, &[], input, Expect::Record(out));
    }

    trait OptStruct {
        fn struct_opt(s: &SchemaRef) -> SchemaRef;
    }
    impl OptStruct for SchemaBuilder {
        fn struct_opt(s: &SchemaRef) -> SchemaRef {
            SchemaBuilder::from_schema(s).optional().build()
        }
    }
}
