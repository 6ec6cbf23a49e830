//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its
//! fields (nested fields with `field.syntax.version=V2`).

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::data::Value;
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::field_path::{syntax_version_key, SingleFieldPath, SyntaxVersion, FIELD_SYNTAX_VERSION};
use crate::util::{
    parse_config, replace_null_with_default_key, require_map_or_null, require_struct_or_null, Side,
    REPLACE_NULL_WITH_DEFAULT,
};

const FIELD: &str = "field";
const PURPOSE: &str = "field extraction";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELD, ConfigType::String)
                .importance(Importance::Medium)
                .doc("Field name to extract."),
        )
        .define(replace_null_with_default_key())
        .define(syntax_version_key())
}

#[derive(Debug)]
pub struct ExtractField {
    side: Side,
    original_path: String,
    path: SingleFieldPath,
    replace_null_with_default: bool,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(ExtractField::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(ExtractField::new(raw, Side::Value)?))
}

impl ExtractField {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let version = SyntaxVersion::from_config(c.string(FIELD_SYNTAX_VERSION).unwrap_or("V1"))?;
        let original_path = c.string(FIELD).unwrap_or_default().to_string();
        Ok(ExtractField {
            side,
            path: SingleFieldPath::new(&original_path, version)?,
            original_path,
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
        })
    }
}

impl Transform for ExtractField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.side.value(&record);
        let (schema, extracted) = match self.side.schema(&record) {
            None => {
                let extracted = require_map_or_null(value, PURPOSE)?
                    .map_or(Value::Null, |m| self.path.value_from_map(m));
                (None, extracted)
            }
            Some(schema) => {
                let value = require_struct_or_null(value, PURPOSE)?;
                let field = self.path.field_from(schema)?.ok_or_else(|| {
                    ConnectError::data(format!("Unknown field: {}", self.original_path))
                })?;
                let extracted = value.map_or(Value::Null, |s| {
                    self.path
                        .value_from_struct(s, self.replace_null_with_default)
                });
                (Some(field.schema.clone()), extracted)
            }
        };
        self.side.set(&mut record, schema, extracted);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::{schemas, SchemaBuilder};

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new_key, config, input, expected);
    }

    fn with_key(schema: Option<sluice_api::data::SchemaRef>, key: Value) -> Expect {
        Expect::Record(key_record(schema, key))
    }

    #[test]
    fn schemaless() {
        let key = map(&[("magic", Value::Int32(42))]);
        check(
            &[("field", "magic")],
            key_record(None, key.clone()),
            with_key(None, Value::Int32(42)),
        );
        check(
            &[("field", "nonexistent")],
            key_record(None, key),
            with_key(None, Value::Null),
        );
        check(
            &[("field", "magic")],
            key_record(None, Value::Null),
            with_key(None, Value::Null),
        );
        let nested = map(&[
            ("magic", map(&[("foo", Value::Int32(42))])),
            ("a.b", Value::Int32(1)),
        ]);
        let v2 = &[("field", "magic.foo"), ("field.syntax.version", "v2")];
        check(
            v2,
            key_record(None, nested.clone()),
            with_key(None, Value::Int32(42)),
        );
        check(
            &[("field", "`a.b`"), ("field.syntax.version", "V2")],
            key_record(None, nested.clone()),
            with_key(None, Value::Int32(1)),
        );
        check(
            &[("field", "a.b")],
            key_record(None, nested.clone()),
            with_key(None, Value::Int32(1)),
        );
        check(
            &[("field", "magic.bar"), ("field.syntax.version", "V2")],
            key_record(None, nested),
            with_key(None, Value::Null),
        );
    }

    #[test]
    fn with_schema() {
        let s = struct_schema(&[("magic", schemas::int32())]);
        check(
            &[("field", "magic")],
            key_record(Some(s.clone()), sv(&s, &[("magic", Value::Int32(42))])),
            with_key(Some(schemas::int32()), Value::Int32(42)),
        );
        check(
            &[("field", "magic")],
            key_record(Some(s.clone()), Value::Null),
            with_key(Some(schemas::int32()), Value::Null),
        );
        check(
            &[("field", "nonexistent")],
            key_record(Some(s.clone()), sv(&s, &[("magic", Value::Int32(42))])),
            Expect::DataErr("Unknown field: nonexistent"),
        );
        let outer = struct_schema(&[("magic", s.clone())]);
        let v = sv(&outer, &[("magic", sv(&s, &[("magic", Value::Int32(42))]))]);
        check(
            &[("field", "magic.magic"), ("field.syntax.version", "V2")],
            key_record(Some(outer.clone()), v.clone()),
            with_key(Some(schemas::int32()), Value::Int32(42)),
        );
        check(
            &[
                ("field", "magic.nonexistent"),
                ("field.syntax.version", "V2"),
            ],
            key_record(Some(outer), v),
            Expect::DataErr("Unknown field: magic.nonexistent"),
        );
    }

    #[test]
    fn replace_null_with_default() {
        let f = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(5))
            .unwrap()
            .build();
        let s = struct_schema(&[("a", f.clone())]);
        let input = key_record(Some(s.clone()), sv(&s, &[]));
        check(
            &[("field", "a")],
            input.clone(),
            with_key(Some(f.clone()), Value::Int32(5)),
        );
        check(
            &[("field", "a"), ("replace.null.with.default", "false")],
            input,
            with_key(Some(f), Value::Null),
        );
    }

    #[test]
    fn errors() {
        check(
            &[("field", "a")],
            key_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"),
        );
        check(
            &[("field", "a")],
            key_record(Some(schemas::string()), "x".into()),
            Expect::DataErr(
                "Only Struct objects supported for [field extraction], found: java.lang.String",
            ),
        );
        check(
            &[],
            key_record(None, Value::Null),
            Expect::ConfigErr(
                "Missing required configuration \"field\" which has no default value.",
            ),
        );
        check(
            &[("field", "a"), ("field.syntax.version", "V3")],
            key_record(None, Value::Null),
            Expect::ConfigErr("Invalid value V3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"),
        );
        check(
            &[("field", "`a"), ("field.syntax.version", "V2")],
            key_record(None, Value::Null),
            Expect::ConfigErr("Incomplete backtick pair in path: [`a], consider adding a backslash before backtick at position 0 to escape it"),
        );
    }

    #[test]
    fn value_side() {
        let input = value_record(None, map(&[("a", "x".into())]));
        let mut out = input.clone();
        out.value = "x".into();
        check_with(new_value, &[("field", "a")], input, Expect::Record(out));
    }
}
