//! `io.debezium.transforms.ExtractNewRecordState` ("unwrap"): turns a Debezium change event
//! envelope into the row it carries (`after`, or `before` for rewritten deletes), as
//! Debezium 3.x does, with the legacy `drop.tombstones` / `delete.handling.mode` keys read
//! when `delete.tombstone.handling.mode` is not set.
//!
//! Records whose value schema is not a Debezium envelope (name ending in `.Envelope`) pass
//! unchanged; truncate events are dropped; the key is never touched.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::data::{schemas, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::parse_config;

pub const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";
/// The Debezium release whose behaviour this follows; the plugin's version.
pub const DEBEZIUM_VERSION: &str = "3.6.1.Final";

const DELETE_TOMBSTONE_HANDLING_MODE: &str = "delete.tombstone.handling.mode";
const DROP_TOMBSTONES: &str = "drop.tombstones";
const DELETE_HANDLING_MODE: &str = "delete.handling.mode";
const ADD_FIELDS: &str = "add.fields";
const ADD_FIELDS_PREFIX: &str = "add.fields.prefix";
const ADD_HEADERS: &str = "add.headers";
const ADD_HEADERS_PREFIX: &str = "add.headers.prefix";
const ROUTE_BY_FIELD: &str = "route.by.field";
const DELETED_FIELD: &str = "__deleted";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(DELETE_TOMBSTONE_HANDLING_MODE, ConfigType::String)
                .default_null()
                .validator(Validator::OneOfIgnoreCase(vec![
                    "drop",
                    "tombstone",
                    "rewrite",
                    "rewrite-with-tombstone",
                    "delete-to-tombstone",
                ]))
                .importance(Importance::Medium)
                .doc("How to handle delete records. Options are: drop - records are removed (the default), tombstone - Debezium's delete event is converted into a record with null value, rewrite - a __deleted field is added to records, rewrite-with-tombstone - rewrite and keep tombstone records, delete-to-tombstone - delete events become tombstones (null value and null schema). Defaults to tombstone when neither this key nor the legacy delete.handling.mode / drop.tombstones are set."),
        )
        .define(
            ConfigKey::new(DROP_TOMBSTONES, ConfigType::Boolean)
                .default_null()
                .importance(Importance::Low)
                .doc("Legacy (Debezium ≤3.1): debezium by default generates a tombstone record to enable Kafka compaction after a delete record was generated. This record is usually filtered out to avoid duplicates as a delete record is converted to a tombstone record, too"),
        )
        .define(
            ConfigKey::new(DELETE_HANDLING_MODE, ConfigType::String)
                .default_null()
                .validator(Validator::OneOfIgnoreCase(vec!["drop", "rewrite", "none"]))
                .importance(Importance::Low)
                .doc("Legacy (Debezium ≤3.1): how to handle delete records. Options are: none - records are passed, drop - records are removed (the default), rewrite - __deleted field is added to records."),
        )
        .define(
            ConfigKey::new(ADD_FIELDS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc("Adds each field listed, prefixed with __ (or __<struct>_ if the struct is specified). Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. Optionally one can also map new field name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP. Please note that the new field name is case-sensitive."),
        )
        .define(
            ConfigKey::new(ADD_FIELDS_PREFIX, ConfigType::String)
                .default_value("__")
                .importance(Importance::Low)
                .doc("Adds this prefix to each field listed."),
        )
        .define(
            ConfigKey::new(ADD_HEADERS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc("Adds each field listed to the header,  __ (or __<struct>_ if the struct is specified). Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. Optionally one can also map new field name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP. Please note that the new field name is case-sensitive."),
        )
        .define(
            ConfigKey::new(ADD_HEADERS_PREFIX, ConfigType::String)
                .default_value("__")
                .importance(Importance::Low)
                .doc("Adds this prefix listed to each header."),
        )
        .define(
            ConfigKey::new(ROUTE_BY_FIELD, ConfigType::String)
                .default_value("")
                .importance(Importance::Low)
                .doc("The column which determines how the events will be routed, the value will replace the topic name."),
        )
}

/// What to do with deletes and tombstones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeleteMode {
    /// Drop delete events.
    Drop,
    /// Keep delete events as records with a null value (value schema kept).
    Null,
    /// Emit the `before` row with `__deleted=true`; other rows get `__deleted=false`.
    Rewrite,
    /// Turn delete events into tombstones (null value, null schema).
    ToTombstone,
}

/// A field of the envelope to copy (`add.fields` / `add.headers` entries).
#[derive(Clone, Debug)]
struct FieldRef {
    /// `None`: the envelope itself; else `source`, `transaction`.
    parent: Option<String>,
    field: String,
    new_name: String,
}

impl FieldRef {
    fn parse(prefix: &str, spec: &str) -> Result<FieldRef> {
        let mut parts = spec.split(':');
        let path = parts.next().unwrap_or_default();
        let rename = parts.next();
        if parts.next().is_some() {
            return Err(ConnectError::config(format!(
                "Unexpected field name: {spec}"
            )));
        }
        let (parent, field) = match path.split_once('.') {
            Some((p, f)) => (Some(p.to_string()), f.to_string()),
            None => {
                let parent = match path {
                    "id" | "total_order" | "data_collection_order" => Some("transaction"),
                    "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
                    _ => Some("source"),
                };
                (parent.map(str::to_string), path.to_string())
            }
        };
        let new_name = match rename {
            Some(r) => format!("{prefix}{r}"),
            None if path.contains('.') => {
                format!("{prefix}{}_{field}", parent.as_deref().unwrap_or_default())
            }
            None => format!("{prefix}{field}"),
        };
        Ok(FieldRef {
            parent,
            field,
            new_name,
        })
    }

    /// The field's schema in the envelope (made optional), if present.
    fn schema(&self, envelope: &SchemaRef) -> Option<SchemaRef> {
        let parent = match &self.parent {
            Some(p) => envelope.field(p).map(|f| f.schema.clone())?,
            None => envelope.clone(),
        };
        let f = parent
            .field(&self.field)
            .or_else(|| envelope.field(&self.field))?;
        Some(SchemaBuilder::from_schema(&f.schema).optional().build())
    }

    fn value(&self, envelope: &Struct) -> Value {
        let parent = match &self.parent {
            Some(p) => match envelope.get_without_default(p) {
                Some(Value::Struct(s)) => s.clone(),
                _ => return Value::Null,
            },
            None => envelope.clone(),
        };
        parent
            .get_without_default(&self.field)
            .or_else(|| envelope.get_without_default(&self.field))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

#[derive(Debug)]
pub struct ExtractNewRecordState {
    delete_mode: DeleteMode,
    drop_tombstones: bool,
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    route_by_field: Option<String>,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(ExtractNewRecordState::new(raw)?))
}

impl ExtractNewRecordState {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let legacy_mode = c.string(DELETE_HANDLING_MODE).map(str::to_ascii_lowercase);
        let legacy_drop = raw
            .contains_key(DROP_TOMBSTONES)
            .then(|| c.boolean(DROP_TOMBSTONES).unwrap_or(true));
        let (delete_mode, drop_tombstones) = match c
            .string(DELETE_TOMBSTONE_HANDLING_MODE)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("drop") => (DeleteMode::Drop, true),
            Some("rewrite") => (DeleteMode::Rewrite, true),
            Some("rewrite-with-tombstone") => (DeleteMode::Rewrite, false),
            Some("delete-to-tombstone") => (DeleteMode::ToTombstone, true),
            Some(_) => (DeleteMode::Null, true),
            None if legacy_mode.is_some() || legacy_drop.is_some() => (
                match legacy_mode.as_deref() {
                    Some("rewrite") => DeleteMode::Rewrite,
                    Some("none") => DeleteMode::Null,
                    _ => DeleteMode::Drop,
                },
                legacy_drop.unwrap_or(true),
            ),
            None => (DeleteMode::Null, true),
        };
        let fields = |list: &str, prefix: &str| -> Result<Vec<FieldRef>> {
            let prefix = c.string(prefix).unwrap_or("__").to_string();
            c.list(list)
                .iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| FieldRef::parse(&prefix, s.trim()))
                .collect()
        };
        Ok(ExtractNewRecordState {
            delete_mode,
            drop_tombstones,
            add_fields: fields(ADD_FIELDS, ADD_FIELDS_PREFIX)?,
            add_headers: fields(ADD_HEADERS, ADD_HEADERS_PREFIX)?,
            route_by_field: c
                .string(ROUTE_BY_FIELD)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string),
        })
    }

    fn add_headers(&self, record: &mut ConnectRecord, envelope: Option<&Struct>) {
        for h in &self.add_headers {
            match envelope {
                None => {
                    if h.parent.is_none() && h.field == "op" {
                        record.headers.add(
                            h.new_name.clone(),
                            Some(schemas::string()),
                            Value::String("d".into()),
                        );
                    }
                }
                Some(env) => {
                    if let Some(schema) = h.schema(env.schema()) {
                        record
                            .headers
                            .add(h.new_name.clone(), Some(schema), h.value(env));
                    }
                }
            }
        }
    }

    /// The row with extra fields (`add.fields`, `__deleted`).
    fn extend(&self, row: &Struct, envelope: &Struct, deleted: Option<&str>) -> Result<Struct> {
        let extra: Vec<(&FieldRef, SchemaRef)> = self
            .add_fields
            .iter()
            .filter_map(|f| f.schema(envelope.schema()).map(|s| (f, s)))
            .collect();
        if extra.is_empty() && deleted.is_none() {
            return Ok(row.clone());
        }
        let mut b = SchemaBuilder::from_schema(row.schema());
        if let Some(_d) = deleted {
            b = b.field(DELETED_FIELD, schemas::optional_string())?;
        }
        for (f, s) in &extra {
            b = b.field(f.new_name.clone(), s.clone())?;
        }
        let schema = b.build();
        let mut out = Struct::new(schema);
        let n = row.values().len();
        for (i, v) in row.values().iter().enumerate() {
            out.put_index(i, v.clone());
        }
        let mut i = n;
        if let Some(d) = deleted {
            out.put_index(i, Value::String(d.into()));
            i += 1;
        }
        for (f, _) in &extra {
            out.put_index(i, f.value(envelope));
            i += 1;
        }
        Ok(out)
    }

    fn route(&self, record: &mut ConnectRecord, row: &Struct) {
        if let Some(f) = &self.route_by_field {
            if let Some(Value::String(topic)) = row.get(f) {
                if !topic.is_empty() {
                    record.topic = topic.as_str().into();
                }
            }
        }
    }
}

fn is_envelope(schema: Option<&SchemaRef>) -> bool {
    schema
        .and_then(|s| s.name.as_deref())
        .is_some_and(|n| n.ends_with(".Envelope"))
}

impl Transform for ExtractNewRecordState {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if record.value.is_null() {
            self.add_headers(&mut record, None);
            return Ok((!self.drop_tombstones).then_some(record));
        }
        if !is_envelope(record.value_schema.as_ref()) {
            return Ok(Some(record));
        }
        let Value::Struct(envelope) = std::mem::take(&mut record.value) else {
            return Err(ConnectError::data(
                "Only Struct objects supported for [Read record to unwrap], found a non-struct value",
            ));
        };
        self.add_headers(&mut record, Some(&envelope));
        let row_schema = envelope.schema().field("after").map(|f| f.schema.clone());
        let after = match envelope.get_without_default("after") {
            Some(Value::Struct(s)) => Some(s.clone()),
            _ => None,
        };
        let before = match envelope.get_without_default("before") {
            Some(Value::Struct(s)) => Some(s.clone()),
            _ => None,
        };
        match (after, before) {
            (Some(after), _) => {
                let deleted = (self.delete_mode == DeleteMode::Rewrite).then_some("false");
                let row = self.extend(&after, &envelope, deleted)?;
                self.route(&mut record, &row);
                record.value_schema = Some(row.schema().clone());
                record.value = Value::Struct(row);
                Ok(Some(record))
            }
            // Truncate (neither image): dropped, as Debezium does.
            (None, None) => Ok(None),
            (None, Some(before)) => match self.delete_mode {
                DeleteMode::Drop => Ok(None),
                DeleteMode::ToTombstone => {
                    record.value_schema = None;
                    record.value = Value::Null;
                    Ok(Some(record))
                }
                DeleteMode::Null => {
                    self.route(&mut record, &before);
                    record.value_schema = row_schema;
                    record.value = Value::Null;
                    Ok(Some(record))
                }
                DeleteMode::Rewrite => {
                    let row = self.extend(&before, &envelope, Some("true"))?;
                    self.route(&mut record, &before);
                    record.value_schema = Some(row.schema().clone());
                    record.value = Value::Struct(row);
                    Ok(Some(record))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{check_with, raw, Expect};
    use sluice_api::data::Headers;

    fn row_schema() -> SchemaRef {
        SchemaBuilder::structure()
            .name("srv.public.t.Value")
            .optional()
            .field("id", schemas::int32())
            .unwrap()
            .field("name", schemas::optional_string())
            .unwrap()
            .build()
    }

    fn source_schema() -> SchemaRef {
        SchemaBuilder::structure()
            .name("io.debezium.connector.postgresql.Source")
            .field("ts_ms", schemas::int64())
            .unwrap()
            .field("table", schemas::string())
            .unwrap()
            .build()
    }

    fn envelope_schema() -> SchemaRef {
        SchemaBuilder::structure()
            .name("srv.public.t.Envelope")
            .version(2)
            .field("before", row_schema())
            .unwrap()
            .field("after", row_schema())
            .unwrap()
            .field("source", source_schema())
            .unwrap()
            .field("op", schemas::string())
            .unwrap()
            .field("ts_ms", schemas::optional_int64())
            .unwrap()
            .build()
    }

    fn row(id: i32, name: &str) -> Struct {
        let mut s = Struct::new(row_schema());
        s.put("id", Value::Int32(id)).unwrap();
        s.put("name", Value::String(name.into())).unwrap();
        s
    }

    fn event(op: &str, before: Option<Struct>, after: Option<Struct>) -> ConnectRecord {
        let mut src = Struct::new(source_schema());
        src.put("ts_ms", Value::Int64(1000)).unwrap();
        src.put("table", Value::String("t".into())).unwrap();
        let mut e = Struct::new(envelope_schema());
        e.put("before", before.map_or(Value::Null, Value::Struct))
            .unwrap();
        e.put("after", after.map_or(Value::Null, Value::Struct))
            .unwrap();
        e.put("source", Value::Struct(src)).unwrap();
        e.put("op", Value::String(op.into())).unwrap();
        e.put("ts_ms", Value::Int64(2000)).unwrap();
        ConnectRecord {
            topic: "srv.public.t".into(),
            key: Value::Int32(1),
            key_schema: Some(schemas::int32()),
            value_schema: Some(envelope_schema()),
            value: Value::Struct(e),
            ..ConnectRecord::default()
        }
    }

    fn tombstone() -> ConnectRecord {
        ConnectRecord {
            topic: "srv.public.t".into(),
            key: Value::Int32(1),
            key_schema: Some(schemas::int32()),
            ..ConnectRecord::default()
        }
    }

    fn unwrapped(row: Struct) -> ConnectRecord {
        ConnectRecord {
            topic: "srv.public.t".into(),
            key: Value::Int32(1),
            key_schema: Some(schemas::int32()),
            value_schema: Some(row.schema().clone()),
            value: Value::Struct(row),
            ..ConnectRecord::default()
        }
    }

    fn with_fields(r: Struct, extra: &[(&str, SchemaRef, Value)]) -> Struct {
        let mut b = SchemaBuilder::from_schema(r.schema());
        for (n, s, _) in extra {
            b = b.field(*n, s.clone()).unwrap();
        }
        let mut out = Struct::new(b.build());
        for (i, v) in r.values().iter().enumerate() {
            out.put_index(i, v.clone());
        }
        for (n, _, v) in extra {
            out.put(n, v.clone()).unwrap();
        }
        out
    }

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new, config, input, expected)
    }

    #[test]
    fn inserts_updates_and_reads_become_the_after_row() {
        for op in ["c", "u", "r"] {
            check(
                &[],
                event(op, None, Some(row(1, "a"))),
                Expect::Record(unwrapped(row(1, "a"))),
            );
        }
    }

    #[test]
    fn delete_and_tombstone_modes() {
        let delete = || event("d", Some(row(1, "a")), None);
        let null_delete = ConnectRecord {
            value_schema: Some(row_schema()),
            value: Value::Null,
            ..tombstone()
        };
        let rewritten = unwrapped(with_fields(
            row(1, "a"),
            &[(
                DELETED_FIELD,
                schemas::optional_string(),
                Value::String("true".into()),
            )],
        ));
        type Case<'a> = (Vec<(&'a str, &'a str)>, Expect, Expect);
        let cases: Vec<Case<'_>> = vec![
            // Default (3.x): tombstone mode.
            (vec![], Expect::Record(null_delete.clone()), Expect::Dropped),
            (
                vec![("delete.tombstone.handling.mode", "tombstone")],
                Expect::Record(null_delete.clone()),
                Expect::Dropped,
            ),
            (
                vec![("delete.tombstone.handling.mode", "drop")],
                Expect::Dropped,
                Expect::Dropped,
            ),
            (
                vec![("delete.tombstone.handling.mode", "rewrite")],
                Expect::Record(rewritten.clone()),
                Expect::Dropped,
            ),
            (
                vec![("delete.tombstone.handling.mode", "rewrite-with-tombstone")],
                Expect::Record(rewritten.clone()),
                Expect::Record(tombstone()),
            ),
            (
                vec![("delete.tombstone.handling.mode", "delete-to-tombstone")],
                Expect::Record(tombstone()),
                Expect::Dropped,
            ),
            // Legacy keys.
            (
                vec![("drop.tombstones", "false")],
                Expect::Dropped,
                Expect::Record(tombstone()),
            ),
            (
                vec![("delete.handling.mode", "drop")],
                Expect::Dropped,
                Expect::Dropped,
            ),
            (
                vec![
                    ("delete.handling.mode", "none"),
                    ("drop.tombstones", "false"),
                ],
                Expect::Record(null_delete.clone()),
                Expect::Record(tombstone()),
            ),
            (
                vec![("delete.handling.mode", "rewrite")],
                Expect::Record(rewritten.clone()),
                Expect::Dropped,
            ),
        ];
        for (cfg, on_delete, on_tombstone) in cases {
            check(&cfg, delete(), on_delete);
            check(&cfg, tombstone(), on_tombstone);
        }
    }

    #[test]
    fn rewrite_marks_live_rows() {
        let want = unwrapped(with_fields(
            row(1, "a"),
            &[(
                DELETED_FIELD,
                schemas::optional_string(),
                Value::String("false".into()),
            )],
        ));
        check(
            &[("delete.tombstone.handling.mode", "rewrite")],
            event("u", Some(row(1, "z")), Some(row(1, "a"))),
            Expect::Record(want),
        );
    }

    #[test]
    fn add_fields_and_headers() {
        let want_row = with_fields(
            row(1, "a"),
            &[
                (
                    "__op",
                    schemas::optional_string(),
                    Value::String("c".into()),
                ),
                (
                    "__table",
                    schemas::optional_string(),
                    Value::String("t".into()),
                ),
                (
                    "__source_ts_ms",
                    schemas::optional_int64(),
                    Value::Int64(1000),
                ),
                ("__EVENT_TS", schemas::optional_int64(), Value::Int64(2000)),
            ],
        );
        let mut want = unwrapped(want_row);
        let mut headers = Headers::new();
        headers.add(
            "__op",
            Some(schemas::optional_string()),
            Value::String("c".into()),
        );
        want.headers = headers;
        check(
            &[
                ("add.fields", "op,table,source.ts_ms,ts_ms:EVENT_TS"),
                ("add.headers", "op"),
            ],
            event("c", None, Some(row(1, "a"))),
            Expect::Record(want),
        );
        // A tombstone kept gets __op=d.
        let mut t = tombstone();
        t.headers
            .add("__op", Some(schemas::string()), Value::String("d".into()));
        check(
            &[("add.headers", "op"), ("drop.tombstones", "false")],
            tombstone(),
            Expect::Record(t),
        );
    }

    #[test]
    fn route_by_field_and_passthrough() {
        let mut want = unwrapped(row(1, "orders"));
        want.topic = "orders".into();
        check(
            &[("route.by.field", "name")],
            event("c", None, Some(row(1, "orders"))),
            Expect::Record(want),
        );
        // Not an envelope (a heartbeat): unchanged.
        let hb = ConnectRecord {
            topic: "__debezium-heartbeat.srv".into(),
            value_schema: Some(source_schema()),
            value: Value::Struct(Struct::new(source_schema())),
            ..ConnectRecord::default()
        };
        check(&[], hb.clone(), Expect::Record(hb));
        // Truncates are dropped.
        check(&[], event("t", None, None), Expect::Dropped);
        assert!(
            ExtractNewRecordState::new(&raw(&[("delete.tombstone.handling.mode", "bogus")]))
                .is_err()
        );
    }
}
