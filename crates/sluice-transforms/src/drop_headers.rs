//! `DropHeaders`: removes every header whose key is listed in `headers`.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::Result;

use crate::util::{non_empty_list, parse_config};

const HEADERS: &str = "headers";

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(HEADERS, ConfigType::List)
            .validator(Validator::Custom(non_empty_list, "non-empty list"))
            .importance(Importance::High)
            .doc("The name of the headers to be removed."),
    )
}

#[derive(Debug)]
pub struct DropHeaders {
    headers: Vec<String>,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(DropHeaders::new(raw)?))
}

impl DropHeaders {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        Ok(DropHeaders {
            headers: c.list(HEADERS),
        })
    }
}

impl Transform for DropHeaders {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
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

    fn with_headers(keys: &[&str]) -> ConnectRecord {
        let mut r = value_record(None, Value::Null);
        for (i, k) in keys.iter().enumerate() {
            r.headers.add(*k, None, Value::Int32(i as i32));
        }
        r
    }

    #[test]
    fn drops() {
        let input = with_headers(&["a", "b", "a", "c"]);
        let mut out = value_record(None, Value::Null);
        out.headers.add("b", None, Value::Int32(1));
        check(&[("headers", "a,c")], input.clone(), Expect::Record(out));
        check(&[("headers", "x")], input.clone(), Expect::Record(input));
        check(
            &[("headers", "a")],
            with_headers(&[]),
            Expect::Record(with_headers(&[])),
        );
    }

    #[test]
    fn bad_config() {
        check(
            &[],
            with_headers(&[]),
            Expect::ConfigErr(
                "Missing required configuration \"headers\" which has no default value.",
            ),
        );
        check(
            &[("headers", "")],
            with_headers(&[]),
            Expect::ConfigErr("Invalid value  for configuration headers: Empty list"),
        );
    }
}
