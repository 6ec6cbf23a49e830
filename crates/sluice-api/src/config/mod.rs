//! Kafka's `ConfigDef`: every key defined once (name, type, default, validator, importance,
//! group, documentation, dependents). That definition drives parsing, validation, the REST
//! `config/validate` response and the generated docs.

mod def;
mod value;

pub use def::{
    parse_list, shown_value, ConfigDef, ConfigKey, ConfigType, DefaultValue, Importance, Validator,
    ValidatorFn, Width, MAX_SHOWN_VALUE,
};
pub use value::{with_prefix, Config, ConfigErrors, ConfigValue, Parsed};

/// Raw configuration: string keys and values, as in a `.properties` file or a REST body.
pub type RawConfig = std::collections::BTreeMap<String, String>;
