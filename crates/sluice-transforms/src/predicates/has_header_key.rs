//! `HasHeaderKey`: true when the record has at least one header named `name`.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Predicate;
use sluice_api::Result;

use crate::util::parse_config;

const NAME: &str = "name";

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(NAME, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::Medium)
            .doc("The header name."),
    )
}

#[derive(Debug)]
pub struct HasHeaderKey {
    name: String,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Predicate>> {
    Ok(Box::new(HasHeaderKey::new(raw)?))
}

impl HasHeaderKey {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        Ok(HasHeaderKey {
            name: c.string(NAME).unwrap_or_default().to_string(),
        })
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::raw;
    use sluice_api::data::{Headers, Value};

    fn check(name: &str, headers: &[&str], expected: bool) {
        let p = new(&raw(&[("name", name)])).unwrap();
        let mut h = Headers::new();
        for k in headers {
            h.add(*k, None, Value::Null);
        }
        let r = ConnectRecord {
            headers: h,
            ..ConnectRecord::default()
        };
        assert_eq!(p.test(&r), expected);
    }

    #[test]
    fn tests_header_presence() {
        check("foo", &[], false);
        check("foo", &["foo"], true);
        check("foo", &["bar", "foo", "foo"], true);
        check("foo", &["bar", "FOO"], false);
    }

    #[test]
    fn bad_config() {
        let Err(e) = new(&raw(&[])) else { panic!() };
        assert_eq!(
            e.message(),
            "Missing required configuration \"name\" which has no default value."
        );
        let Err(e) = new(&raw(&[("name", "")])) else {
            panic!()
        };
        assert_eq!(
            e.message(),
            "Invalid value  for configuration name: String must be non-empty"
        );
    }
}
