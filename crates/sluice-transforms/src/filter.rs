//! `Filter`: drops every record it is applied to. Useful only with a predicate.

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::Result;

use crate::util::parse_config;

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
}

#[derive(Debug)]
pub struct Filter;

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    parse_config(&config_def(), raw)?;
    Ok(Box::new(Filter))
}

impl Transform for Filter {
    fn apply(&self, _record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::Value;

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new, config, input, expected);
    }

    #[test]
    fn drops_everything() {
        check(&[], value_record(None, Value::Null), Expect::Dropped);
        check(
            &[("unknown.key", "ignored")],
            value_record(None, map(&[])),
            Expect::Dropped,
        );
    }
}
