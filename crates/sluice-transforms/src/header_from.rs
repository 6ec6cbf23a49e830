//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields of the key or value into
//! headers.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::{
    field_value, map_get, map_remove, non_empty_list, parse_config, replace_null_with_default_key,
    require_map, require_struct, with_basics_of, SchemaCache, Side, REPLACE_NULL_WITH_DEFAULT,
};

const FIELDS: &str = "fields";
const HEADERS: &str = "headers";
const OPERATION: &str = "operation";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELDS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list, "non-empty list"))
                .importance(Importance::High)
                .doc("Field names in the record whose values are to be copied or moved to headers."),
        )
        .define(
            ConfigKey::new(HEADERS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list, "non-empty list"))
                .importance(Importance::High)
                .doc("Header names, in the same order as the field names listed in the fields configuration property."),
        )
        .define(
            ConfigKey::new(OPERATION, ConfigType::String)
                .validator(Validator::OneOf(vec!["move", "copy"]))
                .importance(Importance::High)
                .doc("Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value)."),
        )
        .define(replace_null_with_default_key())
}

#[derive(Debug)]
pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    mv: bool,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(HeaderFrom::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(HeaderFrom::new(raw, Side::Value)?))
}

impl HeaderFrom {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let fields = c.list(FIELDS);
        let headers = c.list(HEADERS);
        if fields.len() != headers.len() {
            return Err(ConnectError::config(format!(
                "'{FIELDS}' config must have the same number of elements as '{HEADERS}' config."
            )));
        }
        Ok(HeaderFrom {
            side,
            fields,
            headers,
            mv: c.string(OPERATION) == Some("move"),
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }

    fn purpose(&self) -> &'static str {
        if self.mv {
            "header move"
        } else {
            "header copy"
        }
    }

    fn moved_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut b = with_basics_of(schema, SchemaBuilder::structure());
        for f in &schema.fields {
            if !self.fields.contains(&f.name) {
                b = b.field(f.name.clone(), f.schema.clone())?;
            }
        }
        Ok(b.build())
    }
}

impl Transform for HeaderFrom {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let entries = require_map(&value, self.purpose())?;
                let mut updated = entries.clone();
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let v = map_get(entries, field).cloned().unwrap_or(Value::Null);
                    if self.mv {
                        map_remove(&mut updated, field);
                    }
                    record.headers.add(header.clone(), None, v);
                }
                self.side.set(&mut record, None, Value::Map(updated));
            }
            Some(schema) => {
                let s = require_struct(&value, self.purpose())?;
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let f = schema
                        .field(field)
                        .ok_or_else(|| ConnectError::data(format!("Unknown field: {field}")))?;
                    let v = field_value(s, field, self.replace_null_with_default);
                    record
                        .headers
                        .add(header.clone(), Some(f.schema.clone()), v);
                }
                if self.mv {
                    let moved = self
                        .cache
                        .get_or_build(&schema, || self.moved_schema(&schema))?;
                    let mut out = Struct::new(moved.clone());
                    for f in &moved.fields {
                        out.put(
                            &f.name,
                            field_value(s, &f.name, self.replace_null_with_default),
                        )?;
                    }
                    self.side.set(&mut record, Some(moved), Value::Struct(out));
                } else {
                    self.side.set(&mut record, Some(schema), value);
                }
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

    fn cfg(op: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            ("fields", "field1,field2"),
            ("headers", "inserted1,inserted2"),
            ("operation", op),
        ]
    }

    #[test]
    fn schemaless() {
        let v = map(&[
            ("field1", "a".into()),
            ("field2", Value::Int32(2)),
            ("other", "o".into()),
        ]);
        let mut input = value_record(None, v.clone());
        input.headers.add("existing", None, "x".into());
        let mut copied = input.clone();
        copied.headers.add("inserted1", None, "a".into());
        copied.headers.add("inserted2", None, Value::Int32(2));
        check(&cfg("copy"), input.clone(), Expect::Record(copied.clone()));
        let mut moved = copied;
        moved.value = map(&[("other", "o".into())]);
        check(&cfg("move"), input, Expect::Record(moved));
    }

    #[test]
    fn with_schema() {
        let s = SchemaBuilder::structure()
            .name("n")
            .field("field1", schemas::string())
            .unwrap()
            .field("field2", schemas::int32())
            .unwrap()
            .field("other", schemas::string())
            .unwrap()
            .build();
        let input = value_record(
            Some(s.clone()),
            sv(
                &s,
                &[
                    ("field1", "a".into()),
                    ("field2", Value::Int32(2)),
                    ("other", "o".into()),
                ],
            ),
        );
        let mut copied = input.clone();
        copied
            .headers
            .add("inserted1", Some(schemas::string()), "a".into());
        copied
            .headers
            .add("inserted2", Some(schemas::int32()), Value::Int32(2));
        check(&cfg("copy"), input.clone(), Expect::Record(copied.clone()));
        let ms = SchemaBuilder::structure()
            .name("n")
            .field("other", schemas::string())
            .unwrap()
            .build();
        let mut moved = copied;
        moved.value_schema = Some(ms.clone());
        moved.value = sv(&ms, &[("other", "o".into())]);
        check(&cfg("move"), input, Expect::Record(moved));
    }

    #[test]
    fn errors() {
        check(
            &cfg("move"),
            value_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [header move], found: java.lang.String"),
        );
        check(
            &cfg("copy"),
            value_record(Some(schemas::string()), "x".into()),
            Expect::DataErr(
                "Only Struct objects supported for [header copy], found: java.lang.String",
            ),
        );
        let s = struct_schema(&[("field1", schemas::string())]);
        check(
            &cfg("copy"),
            value_record(Some(s.clone()), sv(&s, &[("field1", "a".into())])),
            Expect::DataErr("Unknown field: field2"),
        );
    }

    #[test]
    fn bad_config() {
        let r = || value_record(None, Value::Null);
        check(
            &[("fields", "a,b"), ("headers", "h"), ("operation", "copy")],
            r(),
            Expect::ConfigErr(
                "'fields' config must have the same number of elements as 'headers' config.",
            ),
        );
        check(
            &[("fields", "a"), ("headers", "h"), ("operation", "steal")],
            r(),
            Expect::ConfigErr("Invalid value steal for configuration operation: String must be one of: move, copy"),
        );
        check(
            &[("fields", "a"), ("headers", "h")],
            r(),
            Expect::ConfigErr(
                "Missing required configuration \"operation\" which has no default value.",
            ),
        );
    }

    #[test]
    fn key_side() {
        let input = key_record(None, map(&[("field1", "a".into())]));
        let mut out = input.clone();
        out.key = map(&[]);
        out.headers.add("h", None, "a".into());
        check_with(
            new_key,
            &[
                ("fields", "field1"),
                ("headers", "h"),
                ("operation", "move"),
            ],
            input,
            Expect::Record(out),
        );
    }
}
