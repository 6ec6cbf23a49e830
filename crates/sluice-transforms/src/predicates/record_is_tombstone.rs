//! `RecordIsTombstone`: true when the record value is null.

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Predicate;
use sluice_api::Result;

use crate::util::parse_config;

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
}

#[derive(Debug)]
pub struct RecordIsTombstone;

pub fn new(raw: &RawConfig) -> Result<Box<dyn Predicate>> {
    parse_config(&config_def(), raw)?;
    Ok(Box::new(RecordIsTombstone))
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::raw;
    use sluice_api::data::{schemas, Value};

    fn check(schema: bool, value: Value, expected: bool) {
        let p = new(&raw(&[])).unwrap();
        let r = ConnectRecord {
            value_schema: schema.then(schemas::optional_string),
            value,
            ..ConnectRecord::default()
        };
        assert_eq!(p.test(&r), expected);
    }

    #[test]
    fn tombstones() {
        check(false, Value::Null, true);
        check(true, Value::Null, true);
        check(false, Value::from("x"), false);
        check(true, Value::from(""), false);
    }
}
