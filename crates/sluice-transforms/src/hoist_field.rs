//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a struct (or map) with
//! one field.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::data::{SchemaBuilder, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::Result;

use crate::util::{parse_config, SchemaCache, Side};

const FIELD: &str = "field";

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(FIELD, ConfigType::String)
            .importance(Importance::Medium)
            .doc("Field name for the single field that will be created in the resulting Struct or Map."),
    )
}

#[derive(Debug)]
pub struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(HoistField::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(HoistField::new(raw, Side::Value)?))
}

impl HoistField {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        Ok(HoistField {
            side,
            field: c.string(FIELD).unwrap_or_default().to_string(),
            cache: SchemaCache::new(),
        })
    }
}

impl Transform for HoistField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let hoisted = Value::Map(vec![(Value::from(self.field.as_str()), value)]);
                self.side.set(&mut record, None, hoisted);
            }
            Some(schema) => {
                let updated = self.cache.get_or_build(&schema, || {
                    Ok(SchemaBuilder::structure()
                        .field(self.field.clone(), schema.clone())?
                        .build())
                })?;
                let mut s = Struct::new(updated.clone());
                s.put(&self.field, value)?;
                self.side.set(&mut record, Some(updated), Value::Struct(s));
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
        check_with(new_key, config, input, expected);
    }

    #[test]
    fn schemaless() {
        check(
            &[("field", "magic")],
            key_record(None, Value::Int32(42)),
            Expect::Record(key_record(None, map(&[("magic", Value::Int32(42))]))),
        );
        check(
            &[("field", "magic")],
            key_record(None, Value::Null),
            Expect::Record(key_record(None, map(&[("magic", Value::Null)]))),
        );
    }

    #[test]
    fn with_schema() {
        let s = struct_schema(&[("magic", schemas::int32())]);
        check(
            &[("field", "magic")],
            key_record(Some(schemas::int32()), Value::Int32(42)),
            Expect::Record(key_record(
                Some(s.clone()),
                sv(&s, &[("magic", Value::Int32(42))]),
            )),
        );
        let opt = struct_schema(&[("magic", schemas::optional_int32())]);
        check(
            &[("field", "magic")],
            key_record(Some(schemas::optional_int32()), Value::Null),
            Expect::Record(key_record(Some(opt.clone()), sv(&opt, &[]))),
        );
        check(
            &[("field", "magic")],
            key_record(Some(schemas::int32()), Value::Null),
            Expect::DataErr(
                "Invalid value: null used for required field: \"magic\", schema type: INT32",
            ),
        );
    }

    #[test]
    fn value_side_and_config() {
        let mut out = value_record(None, map(&[("v", "x".into())]));
        out.value_schema = None;
        check_with(
            new_value,
            &[("field", "v")],
            value_record(None, "x".into()),
            Expect::Record(out),
        );
        check(
            &[],
            key_record(None, Value::Null),
            Expect::ConfigErr(
                "Missing required configuration \"field\" which has no default value.",
            ),
        );
    }
}
