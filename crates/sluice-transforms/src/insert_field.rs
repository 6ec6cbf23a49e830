//! `InsertField$Key` / `InsertField$Value`: adds record metadata (topic, partition, offset,
//! timestamp) or a static string as fields.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::data::{logical, schemas, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::{
    field_value, map_put, parse_config, replace_null_with_default_key, require_map,
    require_sink_offset, require_struct, with_basics_of, SchemaCache, Side,
    REPLACE_NULL_WITH_DEFAULT,
};

const TOPIC_FIELD: &str = "topic.field";
const PARTITION_FIELD: &str = "partition.field";
const OFFSET_FIELD: &str = "offset.field";
const TIMESTAMP_FIELD: &str = "timestamp.field";
const STATIC_FIELD: &str = "static.field";
const STATIC_VALUE: &str = "static.value";
const PURPOSE: &str = "field insertion";
const OPTIONALITY_DOC: &str = "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default).";

pub fn config_def() -> ConfigDef {
    let field = |name: &str, doc: &str| {
        ConfigKey::new(name, ConfigType::String)
            .default_null()
            .importance(Importance::Medium)
            .doc(format!("{doc} {OPTIONALITY_DOC}"))
    };
    ConfigDef::new()
        .define(field(TOPIC_FIELD, "Field name for Kafka topic."))
        .define(field(PARTITION_FIELD, "Field name for Kafka partition."))
        .define(field(
            OFFSET_FIELD,
            "Field name for Kafka offset - only applicable to sink connectors.<br/>",
        ))
        .define(field(TIMESTAMP_FIELD, "Field name for record timestamp."))
        .define(field(STATIC_FIELD, "Field name for static data field."))
        .define(
            ConfigKey::new(STATIC_VALUE, ConfigType::String)
                .default_null()
                .importance(Importance::Medium)
                .doc("Static field value, if field name configured."),
        )
        .define(replace_null_with_default_key())
}

/// A field to insert: its name and whether it is optional (`name?`, the default) or
/// required (`name!`).
#[derive(Clone, Debug)]
struct InsertionSpec {
    name: String,
    optional: bool,
}

impl InsertionSpec {
    fn parse(spec: Option<&str>) -> Option<Self> {
        let spec = spec?;
        Some(if let Some(name) = spec.strip_suffix('?') {
            InsertionSpec {
                name: name.into(),
                optional: true,
            }
        } else if let Some(name) = spec.strip_suffix('!') {
            InsertionSpec {
                name: name.into(),
                optional: false,
            }
        } else {
            InsertionSpec {
                name: spec.into(),
                optional: true,
            }
        })
    }

    fn schema(&self, optional: SchemaRef, required: SchemaRef) -> SchemaRef {
        if self.optional {
            optional
        } else {
            required
        }
    }
}

#[derive(Debug)]
pub struct InsertField {
    side: Side,
    topic: Option<InsertionSpec>,
    partition: Option<InsertionSpec>,
    offset: Option<InsertionSpec>,
    timestamp: Option<InsertionSpec>,
    static_field: Option<InsertionSpec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(InsertField::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(InsertField::new(raw, Side::Value)?))
}

impl InsertField {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let t = InsertField {
            side,
            topic: InsertionSpec::parse(c.string(TOPIC_FIELD)),
            partition: InsertionSpec::parse(c.string(PARTITION_FIELD)),
            offset: InsertionSpec::parse(c.string(OFFSET_FIELD)),
            timestamp: InsertionSpec::parse(c.string(TIMESTAMP_FIELD)),
            static_field: InsertionSpec::parse(c.string(STATIC_FIELD)),
            static_value: c.string(STATIC_VALUE).map(str::to_string),
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        };
        if t.topic.is_none()
            && t.partition.is_none()
            && t.offset.is_none()
            && t.timestamp.is_none()
            && t.static_field.is_none()
        {
            return Err(ConnectError::config("No field insertion configured"));
        }
        if let (Some(f), None) = (&t.static_field, &t.static_value) {
            return Err(ConnectError::config(format!(
                "Invalid value null for configuration {STATIC_VALUE}: No value specified for static field: {}",
                f.name
            )));
        }
        Ok(t)
    }

    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut b = with_basics_of(schema, SchemaBuilder::structure());
        for f in &schema.fields {
            b = b.field(f.name.clone(), f.schema.clone())?;
        }
        if let Some(s) = &self.topic {
            b = b.field(
                s.name.clone(),
                s.schema(schemas::optional_string(), schemas::string()),
            )?;
        }
        if let Some(s) = &self.partition {
            b = b.field(
                s.name.clone(),
                s.schema(schemas::optional_int32(), schemas::int32()),
            )?;
        }
        if let Some(s) = &self.offset {
            b = b.field(
                s.name.clone(),
                s.schema(schemas::optional_int64(), schemas::int64()),
            )?;
        }
        if let Some(s) = &self.timestamp {
            b = b.field(
                s.name.clone(),
                s.schema(
                    logical::timestamp_builder().optional().build(),
                    logical::timestamp_builder().build(),
                ),
            )?;
        }
        if let Some(s) = &self.static_field {
            b = b.field(
                s.name.clone(),
                s.schema(schemas::optional_string(), schemas::string()),
            )?;
        }
        Ok(b.build())
    }

    /// The (name, value) pairs to insert, in Kafka's order.
    fn insertions(&self, record: &ConnectRecord) -> Result<Vec<(&str, Value)>> {
        let mut out = Vec::new();
        if let Some(s) = &self.topic {
            out.push((s.name.as_str(), Value::String(record.topic.to_string())));
        }
        if let (Some(s), Some(p)) = (&self.partition, record.kafka_partition) {
            out.push((s.name.as_str(), Value::Int32(p)));
        }
        if let Some(s) = &self.offset {
            out.push((
                s.name.as_str(),
                Value::Int64(require_sink_offset(record, PURPOSE)?),
            ));
        }
        if let (Some(s), Some(ts)) = (&self.timestamp, record.timestamp) {
            out.push((s.name.as_str(), Value::Int64(ts)));
        }
        if let (Some(s), Some(v)) = (&self.static_field, &self.static_value) {
            out.push((s.name.as_str(), Value::String(v.clone())));
        }
        Ok(out)
    }
}

impl Transform for InsertField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() {
            // Tombstones pass through untouched.
            return Ok(Some(record));
        }
        let inserts = self.insertions(&record)?;
        match self.side.schema(&record).cloned() {
            None => {
                let mut updated = require_map(self.side.value(&record), PURPOSE)?.clone();
                for (name, v) in inserts {
                    map_put(&mut updated, name, v);
                }
                self.side.set(&mut record, None, Value::Map(updated));
            }
            Some(_) => {
                let value = require_struct(self.side.value(&record), PURPOSE)?;
                let updated_schema = self
                    .cache
                    .get_or_build(value.schema(), || self.updated_schema(value.schema()))?;
                let mut updated = Struct::new(updated_schema.clone());
                for f in &value.schema().fields {
                    updated.put(
                        &f.name,
                        field_value(value, &f.name, self.replace_null_with_default),
                    )?;
                }
                for (name, v) in inserts {
                    updated.put(name, v)?;
                }
                self.side
                    .set(&mut record, Some(updated_schema), Value::Struct(updated));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn check(side: Side, config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        let new = match side {
            Side::Key => new_key,
            Side::Value => new_value,
        };
        check_with(new, config, input, expected);
    }

    const ALL: &[(&str, &str)] = &[
        ("topic.field", "topic_field!"),
        ("partition.field", "partition_field"),
        ("timestamp.field", "timestamp_field?"),
        ("static.field", "instance_id"),
        ("static.value", "my-instance-id"),
    ];

    fn sink(mut r: ConnectRecord) -> ConnectRecord {
        r.kafka_offset = Some(42);
        r
    }

    #[test]
    fn schemaless() {
        let mut input = value_record(None, map(&[("magic", Value::Int64(42))]));
        input.timestamp = Some(1_483_425_001_864);
        let mut out = input.clone();
        out.value = map(&[
            ("magic", Value::Int64(42)),
            ("topic_field", "test".into()),
            ("partition_field", Value::Int32(0)),
            ("timestamp_field", Value::Int64(1_483_425_001_864)),
            ("instance_id", "my-instance-id".into()),
        ]);
        check(Side::Value, ALL, input, Expect::Record(out));
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::structure()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", schemas::optional_int64())
            .unwrap()
            .build();
        let mut input = value_record(
            Some(schema.clone()),
            sv(&schema, &[("magic", Value::Int64(42))]),
        );
        input.timestamp = Some(1_483_425_001_864);
        let out_schema = SchemaBuilder::structure()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", schemas::optional_int64())
            .unwrap()
            .field("topic_field", schemas::string())
            .unwrap()
            .field("partition_field", schemas::optional_int32())
            .unwrap()
            .field(
                "timestamp_field",
                logical::timestamp_builder().optional().build(),
            )
            .unwrap()
            .field("instance_id", schemas::optional_string())
            .unwrap()
            .build();
        let mut out = input.clone();
        out.value_schema = Some(out_schema.clone());
        out.value = sv(
            &out_schema,
            &[
                ("magic", Value::Int64(42)),
                ("topic_field", "test".into()),
                ("partition_field", Value::Int32(0)),
                ("timestamp_field", Value::Int64(1_483_425_001_864)),
                ("instance_id", "my-instance-id".into()),
            ],
        );
        check(Side::Value, ALL, input, Expect::Record(out));
    }

    #[test]
    fn key_side_and_offset() {
        let cfg = &[("offset.field", "off"), ("topic.field", "t")];
        let input = sink(key_record(None, map(&[])));
        let mut out = input.clone();
        out.key = map(&[("t", "test".into()), ("off", Value::Int64(42))]);
        check(Side::Key, cfg, input, Expect::Record(out));
        check(
            Side::Key,
            cfg,
            key_record(None, map(&[])),
            Expect::DataErr("Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"),
        );
    }

    #[test]
    fn tombstones_and_bad_values() {
        let cfg = &[("topic.field", "t")];
        let tomb = value_record(None, Value::Null);
        check(Side::Value, cfg, tomb.clone(), Expect::Record(tomb));
        let schema = struct_schema(&[("a", schemas::int32())]);
        let tomb = value_record(Some(schema), Value::Null);
        check(Side::Value, cfg, tomb.clone(), Expect::Record(tomb));
        check(
            Side::Value,
            cfg,
            value_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [field insertion], found: java.lang.String"),
        );
        check(
            Side::Value,
            cfg,
            value_record(Some(schemas::string()), "x".into()),
            Expect::DataErr(
                "Only Struct objects supported for [field insertion], found: java.lang.String",
            ),
        );
    }

    #[test]
    fn missing_metadata_is_skipped() {
        let cfg = &[("partition.field", "p"), ("timestamp.field", "ts")];
        let mut input = value_record(None, map(&[]));
        input.kafka_partition = None;
        check(Side::Value, cfg, input.clone(), Expect::Record(input));
    }

    #[test]
    fn replace_null_with_default() {
        let opt_with_default = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(7))
            .unwrap()
            .build();
        let schema = struct_schema(&[("a", opt_with_default)]);
        let input = value_record(Some(schema.clone()), sv(&schema, &[]));
        for (flag, want) in [("true", Value::Int32(7)), ("false", Value::Null)] {
            let t = InsertField::new(
                &raw(&[
                    ("static.field", "s"),
                    ("static.value", "v"),
                    ("replace.null.with.default", flag),
                ]),
                Side::Value,
            )
            .unwrap();
            let out = t.apply(input.clone()).unwrap().unwrap();
            let Value::Struct(s) = out.value else {
                panic!()
            };
            assert_eq!(s.get_without_default("a"), Some(&want));
            assert_eq!(s.get("s"), Some(&Value::from("v")));
        }
    }

    #[test]
    fn bad_config() {
        let input = value_record(None, map(&[]));
        check(
            Side::Value,
            &[],
            input.clone(),
            Expect::ConfigErr("No field insertion configured"),
        );
        check(
            Side::Value,
            &[("static.field", "s")],
            input.clone(),
            Expect::ConfigErr("Invalid value null for configuration static.value: No value specified for static field: s"),
        );
        check(
            Side::Value,
            &[("topic.field", "t"), ("replace.null.with.default", "maybe")],
            input,
            Expect::ConfigErr("Invalid value maybe for configuration replace.null.with.default: Expected value to be either true or false"),
        );
    }

    #[test]
    fn schema_is_cached() {
        let schema = struct_schema(&[("a", schemas::int32())]);
        let t = InsertField::new(&raw(&[("topic.field", "t")]), Side::Value).unwrap();
        let r = value_record(Some(schema.clone()), sv(&schema, &[("a", Value::Int32(1))]));
        let a = t.apply(r.clone()).unwrap().unwrap().value_schema.unwrap();
        let b = t.apply(r).unwrap().unwrap().value_schema.unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b));
    }
}
