//! Kafka Connect's built-in single message transforms (SMTs) and predicates
//! (`org.apache.kafka.connect.transforms.*`), one file each, with Kafka 3.9's config keys,
//! defaults, validators and error messages.
//!
//! Each transform works on schema'd data (Struct) and schemaless data (Map), exists as
//! `$Key` / `$Value` plugins where Kafka has both, and is built from its own config keys
//! (the `transforms.<alias>.` prefix already stripped). [`transform_plugins`] and
//! [`predicate_plugins`] are the explicit lists the runtime registers. Debezium's
//! `io.debezium.transforms.ExtractNewRecordState` is built in too, for the CDC connectors.
//!
//! What this crate must not do: no I/O, no offsets, no retries or error tolerance, no
//! chaining. A transform sees one [`ConnectRecord`](sluice_api::record::ConnectRecord)
//! (which carries no source offsets) and returns the new record, `None` to drop it, or an
//! error; the runtime owns the transformation chain, predicates' `negate`, retries and the
//! dead letter queue.

mod date_format;
mod field_path;
#[cfg(test)]
mod testutil;
mod util;

pub mod cast;
pub mod drop_headers;
pub mod extract_field;
pub mod extract_new_record_state;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod hoist_field;
pub mod insert_field;
pub mod insert_header;
pub mod mask_field;
pub mod predicates;
pub mod regex_router;
pub mod replace_field;
pub mod set_schema_metadata;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod value_to_key;

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::plugin::{PredicatePlugin, TransformPlugin};
use sluice_api::transform::{Predicate, Transform};
use sluice_api::Result;

pub use util::Side;

/// The Kafka release whose transforms these reimplement; reported as the plugins' version.
pub const KAFKA_VERSION: &str = "3.9.0";

const fn transform(
    class: &'static str,
    config_def: fn() -> ConfigDef,
    new: fn(&RawConfig) -> Result<Box<dyn Transform>>,
) -> TransformPlugin {
    TransformPlugin {
        class,
        version: KAFKA_VERSION,
        config_def,
        new,
    }
}

const fn predicate(
    class: &'static str,
    config_def: fn() -> ConfigDef,
    new: fn(&RawConfig) -> Result<Box<dyn Predicate>>,
) -> PredicatePlugin {
    PredicatePlugin {
        class,
        version: KAFKA_VERSION,
        config_def,
        new,
    }
}

/// Every built-in transform, keyed by Kafka's class name.
pub fn transform_plugins() -> Vec<TransformPlugin> {
    vec![
        transform(
            "org.apache.kafka.connect.transforms.Cast$Key",
            cast::config_def,
            cast::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.Cast$Value",
            cast::config_def,
            cast::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.DropHeaders",
            drop_headers::config_def,
            drop_headers::new,
        ),
        transform(
            "org.apache.kafka.connect.transforms.ExtractField$Key",
            extract_field::config_def,
            extract_field::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.ExtractField$Value",
            extract_field::config_def,
            extract_field::new_value,
        ),
        TransformPlugin {
            class: extract_new_record_state::CLASS,
            version: extract_new_record_state::DEBEZIUM_VERSION,
            config_def: extract_new_record_state::config_def,
            new: extract_new_record_state::new,
        },
        transform(
            "org.apache.kafka.connect.transforms.Filter",
            filter::config_def,
            filter::new,
        ),
        transform(
            "org.apache.kafka.connect.transforms.Flatten$Key",
            flatten::config_def,
            flatten::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.Flatten$Value",
            flatten::config_def,
            flatten::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.HeaderFrom$Key",
            header_from::config_def,
            header_from::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.HeaderFrom$Value",
            header_from::config_def,
            header_from::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.HoistField$Key",
            hoist_field::config_def,
            hoist_field::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.HoistField$Value",
            hoist_field::config_def,
            hoist_field::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.InsertField$Key",
            insert_field::config_def,
            insert_field::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.InsertField$Value",
            insert_field::config_def,
            insert_field::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.InsertHeader",
            insert_header::config_def,
            insert_header::new,
        ),
        transform(
            "org.apache.kafka.connect.transforms.MaskField$Key",
            mask_field::config_def,
            mask_field::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.MaskField$Value",
            mask_field::config_def,
            mask_field::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.RegexRouter",
            regex_router::config_def,
            regex_router::new,
        ),
        transform(
            "org.apache.kafka.connect.transforms.ReplaceField$Key",
            replace_field::config_def,
            replace_field::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
            replace_field::config_def,
            replace_field::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
            set_schema_metadata::config_def,
            set_schema_metadata::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
            set_schema_metadata::config_def,
            set_schema_metadata::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.TimestampConverter$Key",
            timestamp_converter::config_def,
            timestamp_converter::new_key,
        ),
        transform(
            "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            timestamp_converter::config_def,
            timestamp_converter::new_value,
        ),
        transform(
            "org.apache.kafka.connect.transforms.TimestampRouter",
            timestamp_router::config_def,
            timestamp_router::new,
        ),
        transform(
            "org.apache.kafka.connect.transforms.ValueToKey",
            value_to_key::config_def,
            value_to_key::new,
        ),
    ]
}

/// Every built-in predicate, keyed by Kafka's class name.
pub fn predicate_plugins() -> Vec<PredicatePlugin> {
    vec![
        predicate(
            "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            predicates::has_header_key::config_def,
            predicates::has_header_key::new,
        ),
        predicate(
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            predicates::record_is_tombstone::config_def,
            predicates::record_is_tombstone::new,
        ),
        predicate(
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            predicates::topic_name_matches::config_def,
            predicates::topic_name_matches::new,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{raw, st, struct_schema};
    use sluice_api::data::{schemas, Value};
    use sluice_api::plugin::aliases;
    use sluice_api::record::ConnectRecord;

    fn build_transform(class: &str, config: &[(&str, &str)]) -> Box<dyn Transform> {
        let plugin = transform_plugins()
            .into_iter()
            .find(|p| p.class == class)
            .unwrap();
        (plugin.new)(&raw(config)).unwrap()
    }

    fn build_predicate(class: &str, config: &[(&str, &str)]) -> Box<dyn Predicate> {
        let plugin = predicate_plugins()
            .into_iter()
            .find(|p| p.class == class)
            .unwrap();
        (plugin.new)(&raw(config)).unwrap()
    }

    /// One stage of a chain: the transform, and its predicate with `negate`.
    type Stage = (Box<dyn Transform>, Option<(Box<dyn Predicate>, bool)>);

    /// The runtime's chain logic (`TransformationStage.apply`), for the test only: a stage
    /// applies iff it has no predicate or `negate XOR predicate.test(record)`; `None` drops.
    fn run_chain(chain: &[Stage], mut record: ConnectRecord) -> Option<ConnectRecord> {
        for (transform, predicate) in chain {
            let applies = predicate
                .as_ref()
                .is_none_or(|(p, negate)| *negate ^ p.test(&record));
            if applies {
                record = transform.apply(record).unwrap()?;
            }
        }
        Some(record)
    }

    #[test]
    fn chain_of_common_transforms() {
        let p = "org.apache.kafka.connect.transforms.";
        let chain: Vec<Stage> = vec![
            (
                build_transform(
                    &format!("{p}InsertField$Value"),
                    &[
                        ("static.field", "source"),
                        ("static.value", "sluice"),
                        ("topic.field", "origin!"),
                    ],
                ),
                None,
            ),
            (
                build_transform(
                    &format!("{p}ReplaceField$Value"),
                    &[("exclude", "internal"), ("renames", "name:full_name")],
                ),
                None,
            ),
            (
                build_transform(&format!("{p}MaskField$Value"), &[("fields", "ssn")]),
                None,
            ),
            (
                build_transform(&format!("{p}ValueToKey"), &[("fields", "id")]),
                None,
            ),
            (
                build_transform(&format!("{p}ExtractField$Key"), &[("field", "id")]),
                None,
            ),
            (
                build_transform(
                    &format!("{p}TimestampRouter"),
                    &[
                        ("topic.format", "${topic}-${timestamp}"),
                        ("timestamp.format", "yyyyMMdd"),
                    ],
                ),
                None,
            ),
            (
                build_transform(&format!("{p}Filter"), &[]),
                Some((
                    build_predicate(
                        &format!("{p}predicates.TopicNameMatches"),
                        &[("pattern", "orders-.*")],
                    ),
                    true,
                )),
            ),
        ];

        let schema = struct_schema(&[
            ("id", schemas::int64()),
            ("name", schemas::string()),
            ("ssn", schemas::string()),
            ("internal", schemas::optional_string()),
        ]);
        let input = |topic: &str| ConnectRecord {
            topic: topic.into(),
            kafka_partition: Some(3),
            value_schema: Some(schema.clone()),
            value: Value::Struct(st(
                &schema,
                &[
                    ("id", Value::Int64(7)),
                    ("name", "Ada".into()),
                    ("ssn", "123-45-6789".into()),
                    ("internal", "x".into()),
                ],
            )),
            timestamp: Some(1_483_425_001_864), // 2017-01-03T06:30:01.864Z
            ..ConnectRecord::default()
        };

        let out_schema = struct_schema(&[
            ("id", schemas::int64()),
            ("full_name", schemas::string()),
            ("ssn", schemas::string()),
            ("origin", schemas::string()),
            ("source", schemas::optional_string()),
        ]);
        let expected = ConnectRecord {
            topic: "orders-20170103".into(),
            kafka_partition: Some(3),
            key_schema: Some(schemas::int64()),
            key: Value::Int64(7),
            value_schema: Some(out_schema.clone()),
            value: Value::Struct(st(
                &out_schema,
                &[
                    ("id", Value::Int64(7)),
                    ("full_name", "Ada".into()),
                    ("ssn", "".into()),
                    ("origin", "orders".into()),
                    ("source", "sluice".into()),
                ],
            )),
            timestamp: Some(1_483_425_001_864),
            ..ConnectRecord::default()
        };
        assert_eq!(run_chain(&chain, input("orders")), Some(expected));
        // Topics the negated predicate does not match are filtered out.
        assert_eq!(run_chain(&chain, input("audit")), None);
    }

    #[test]
    fn registry_lists_kafka_classes() {
        let transforms = transform_plugins();
        assert_eq!(transforms.len(), 27);
        let predicates = predicate_plugins();
        assert_eq!(predicates.len(), 3);
        // Debezium's unwrap transform is the one built-in from outside Kafka.
        for t in transforms
            .iter()
            .filter(|t| t.class != extract_new_record_state::CLASS)
        {
            assert!(
                t.class.starts_with("org.apache.kafka.connect.transforms."),
                "{}",
                t.class
            );
            assert_eq!(t.version, KAFKA_VERSION);
            // Every plugin's own ConfigDef validates its defaults without crashing.
            let _ = (t.config_def)().validate(&raw(&[]));
        }
        let mut classes: Vec<&str> = transforms.iter().map(|t| t.class).collect();
        classes.dedup();
        assert_eq!(classes.len(), 27);
        assert_eq!(aliases(predicates[2].class), vec!["TopicNameMatches"]);
        assert_eq!(
            aliases("org.apache.kafka.connect.transforms.Filter"),
            vec!["Filter"]
        );
    }
}
