//! Table metadata and Debezium's schemas: the key (`<prefix>.<schema>.<table>.Key`), the row
//! (`….Value`, used by `before` and `after`), the envelope (`<topic>.Envelope`: `before`,
//! `after`, `source`, `transaction`, `op`, `ts_ms`, `ts_us`, `ts_ns`), the `source` block
//! (`io.debezium.connector.postgresql.Source`), heartbeats and transaction metadata.

use std::sync::Arc;

use sluice_api::data::{schemas, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::Topic;
use sluice_api::{ConnectError, Result};

use crate::config::Settings;
use crate::pgoutput::TupleValue;
use crate::types::{self, Kind, TypeRegistry};

/// The `source.snapshot` values (`SnapshotRecord`), in Debezium's order.
pub const SNAPSHOT_VALUES: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

fn field(b: SchemaBuilder, name: &str, s: SchemaRef) -> SchemaBuilder {
    // Names here are distinct constants or distinct column names: adding cannot fail.
    let fallback = b.clone();
    b.field(name, s).unwrap_or(fallback)
}

/// The `source` block schema.
pub fn source_schema() -> SchemaRef {
    let snapshot = SchemaBuilder::string()
        .name("io.debezium.data.Enum")
        .version(1)
        .parameter("allowed", SNAPSHOT_VALUES)
        .optional();
    let snapshot = snapshot
        .clone()
        .default_value(Value::String("false".into()))
        .unwrap_or(snapshot)
        .build();
    let mut b = SchemaBuilder::structure()
        .name("io.debezium.connector.postgresql.Source")
        .version(1);
    for (n, s) in [
        ("version", schemas::string()),
        ("connector", schemas::string()),
        ("name", schemas::string()),
        ("ts_ms", schemas::int64()),
        ("snapshot", snapshot),
        ("db", schemas::string()),
        ("sequence", schemas::optional_string()),
        ("ts_us", schemas::optional_int64()),
        ("ts_ns", schemas::optional_int64()),
        ("schema", schemas::string()),
        ("table", schemas::string()),
        ("txId", schemas::optional_int64()),
        ("lsn", schemas::optional_int64()),
        ("xmin", schemas::optional_int64()),
        ("origin", schemas::optional_string()),
        ("origin_lsn", schemas::optional_int64()),
    ] {
        b = field(b, n, s);
    }
    b.build()
}

/// The envelope's `transaction` block (`event.block`).
pub fn transaction_block_schema() -> SchemaRef {
    let mut b = SchemaBuilder::structure()
        .name("event.block")
        .version(1)
        .optional();
    b = field(b, "id", schemas::string());
    b = field(b, "total_order", schemas::int64());
    b = field(b, "data_collection_order", schemas::int64());
    b.build()
}

/// Logical decoding message key `io.debezium.connector.postgresql.MessageKey {prefix}`.
pub fn message_key_schema() -> SchemaRef {
    field(
        SchemaBuilder::structure()
            .name("io.debezium.connector.postgresql.MessageKey")
            .version(1),
        "prefix",
        schemas::optional_string(),
    )
    .build()
}

/// Logical decoding message value `io.debezium.connector.postgresql.MessageValue`:
/// `op`, `ts_ms`, `source`, `transaction`, `message {prefix, content}` (Debezium's
/// `PostgresSchemaFactory`); `content` is bytes or a string per `binary.handling.mode`.
pub fn message_value_schema(source: &SchemaRef, content_bytes: bool) -> SchemaRef {
    let content = if content_bytes {
        SchemaBuilder::bytes().optional().build()
    } else {
        schemas::optional_string()
    };
    let block = field(
        field(
            SchemaBuilder::structure()
                .name("io.debezium.connector.postgresql.Message")
                .version(1),
            "prefix",
            schemas::optional_string(),
        ),
        "content",
        content,
    )
    .build();
    let mut b = SchemaBuilder::structure()
        .name("io.debezium.connector.postgresql.MessageValue")
        .version(1);
    b = field(b, "op", schemas::string());
    b = field(b, "ts_ms", schemas::optional_int64());
    b = field(b, "source", source.clone());
    b = field(b, "transaction", transaction_block_schema());
    b = field(b, "message", block);
    b.build()
}

/// Heartbeat key `io.debezium.connector.common.ServerNameKey {serverName}`.
pub fn heartbeat_key_schema() -> SchemaRef {
    field(
        SchemaBuilder::structure()
            .name("io.debezium.connector.common.ServerNameKey")
            .version(1),
        "serverName",
        schemas::string(),
    )
    .build()
}

/// Heartbeat value `io.debezium.connector.common.Heartbeat {ts_ms}`.
pub fn heartbeat_value_schema() -> SchemaRef {
    field(
        SchemaBuilder::structure()
            .name("io.debezium.connector.common.Heartbeat")
            .version(1),
        "ts_ms",
        schemas::int64(),
    )
    .build()
}

/// Transaction topic key `io.debezium.connector.common.TransactionMetadataKey {id}`.
pub fn transaction_key_schema() -> SchemaRef {
    field(
        SchemaBuilder::structure()
            .name("io.debezium.connector.common.TransactionMetadataKey")
            .version(1),
        "id",
        schemas::string(),
    )
    .build()
}

/// Transaction topic value `io.debezium.connector.common.TransactionMetadataValue`.
pub fn transaction_value_schema() -> SchemaRef {
    let collection = field(
        field(
            SchemaBuilder::structure()
                .name("event.collection")
                .version(1),
            "data_collection",
            schemas::string(),
        ),
        "event_count",
        schemas::int64(),
    )
    .build();
    let mut b = SchemaBuilder::structure()
        .name("io.debezium.connector.common.TransactionMetadataValue")
        .version(1);
    b = field(b, "status", schemas::string());
    b = field(b, "id", schemas::string());
    b = field(b, "event_count", schemas::optional_int64());
    b = field(
        b,
        "data_collections",
        SchemaBuilder::array(collection).optional().build(),
    );
    b = field(b, "ts_ms", schemas::int64());
    b.build()
}

/// A column as the catalog describes it.
#[derive(Clone, Debug)]
pub struct CatalogColumn {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
    pub not_null: bool,
    /// Position in the primary key (1-based), if part of it.
    pub pk_position: Option<i32>,
}

/// A column of a captured table.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// The field schema; None if the column is not in events (unmapped type or excluded).
    pub schema: Option<SchemaRef>,
}

/// A captured table and its schemas.
#[derive(Clone, Debug)]
pub struct TableSchema {
    pub schema_name: String,
    pub table_name: String,
    /// `<schema>.<table>`, the transaction metadata's `data_collection`.
    pub data_collection: String,
    pub topic: Topic,
    /// Columns in table (and tuple) order.
    pub columns: Vec<Column>,
    /// Key columns (indexes into `columns`), in key order.
    pub key_columns: Vec<usize>,
    pub key_schema: Option<SchemaRef>,
    /// Value row columns (indexes into `columns`).
    pub value_columns: Vec<usize>,
    pub value_schema: SchemaRef,
    pub envelope: SchemaRef,
}

impl TableSchema {
    /// Builds the schemas of `schema.table` from its columns.
    pub fn build(
        s: &Settings,
        registry: &TypeRegistry,
        source: &SchemaRef,
        schema_name: &str,
        table_name: &str,
        catalog: &[CatalogColumn],
    ) -> Result<TableSchema> {
        let prefix = format!(
            "{}{d}{schema_name}{d}{table_name}",
            s.topic_prefix,
            d = s.topic_delimiter
        );
        let topic = s.data_topic(schema_name, table_name);
        let schema_prefix = adjust_schema_name(&prefix);
        let mut columns = Vec::with_capacity(catalog.len());
        for c in catalog {
            let kind = registry.resolve(c.type_oid, c.type_modifier);
            let schema = types::schema_builder(&kind, s).map(|b| {
                if c.not_null {
                    b.required().build()
                } else {
                    b.optional().build()
                }
            });
            columns.push(Column {
                name: c.name.clone(),
                kind,
                schema,
            });
        }
        let key_columns: Vec<usize> = match s.custom_key(schema_name, table_name) {
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let i = catalog.iter().position(|c| &c.name == n).ok_or_else(|| {
                        ConnectError::config(format!(
                            "message.key.columns names column {n} of {schema_name}.{table_name}, which has no such column (columns: {})",
                            catalog.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    })?;
                    out.push(i);
                }
                out
            }
            None => {
                let mut pk: Vec<(i32, usize)> = catalog
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.pk_position.map(|p| (p, i)))
                    .collect();
                pk.sort_unstable();
                pk.into_iter().map(|(_, i)| i).collect()
            }
        };
        let key_schema = if key_columns.is_empty() {
            None
        } else {
            let mut b = SchemaBuilder::structure().name(format!("{schema_prefix}.Key"));
            for &i in &key_columns {
                if let Some(fs) = &columns[i].schema {
                    b = field(b, &columns[i].name, fs.clone());
                }
            }
            Some(b.build())
        };
        let value_columns: Vec<usize> = (0..columns.len())
            .filter(|&i| {
                columns[i].schema.is_some()
                    && s.column_included(schema_name, table_name, &columns[i].name)
            })
            .collect();
        let mut vb = SchemaBuilder::structure()
            .name(format!("{schema_prefix}.Value"))
            .optional();
        for &i in &value_columns {
            if let Some(fs) = &columns[i].schema {
                vb = field(vb, &columns[i].name, fs.clone());
            }
        }
        let value_schema = vb.build();
        let mut eb = SchemaBuilder::structure()
            .name(format!("{}.Envelope", adjust_schema_name(&topic)))
            .version(2);
        eb = field(eb, "before", value_schema.clone());
        eb = field(eb, "after", value_schema.clone());
        eb = field(eb, "source", source.clone());
        eb = field(eb, "transaction", transaction_block_schema());
        eb = field(eb, "op", schemas::string());
        eb = field(eb, "ts_ms", schemas::optional_int64());
        eb = field(eb, "ts_us", schemas::optional_int64());
        eb = field(eb, "ts_ns", schemas::optional_int64());
        Ok(TableSchema {
            schema_name: schema_name.to_string(),
            table_name: table_name.to_string(),
            data_collection: format!("{schema_name}.{table_name}"),
            topic: Arc::from(topic.as_str()),
            columns,
            key_columns,
            key_schema,
            value_columns,
            value_schema,
            envelope: eb.build(),
        })
    }

    fn cell(&self, i: usize, tuple: &[TupleValue], s: &Settings) -> Result<Value> {
        let col = &self.columns[i];
        let Some(schema) = &col.schema else {
            return Ok(Value::Null);
        };
        match tuple.get(i) {
            None | Some(TupleValue::Null) => Ok(fallback(schema)),
            Some(TupleValue::Unchanged) => Ok(types::toast_placeholder(&col.kind, s)),
            Some(TupleValue::Text(t)) => types::convert(&col.kind, schema, t, s).map_err(|e| {
                ConnectError::data(format!(
                    "Column {}.{}.{}: {e}",
                    self.schema_name, self.table_name, col.name
                ))
            }),
            Some(TupleValue::Binary(b)) => Ok(Value::Bytes(b.clone())),
        }
    }

    /// The row struct of a tuple.
    pub fn row(&self, tuple: &[TupleValue], s: &Settings) -> Result<Value> {
        let mut st = Struct::new(self.value_schema.clone());
        for (pos, &i) in self.value_columns.iter().enumerate() {
            st.put_index(pos, self.cell(i, tuple, s)?);
        }
        Ok(Value::Struct(st))
    }

    /// The key struct of a tuple (Value::Null for tables without a key).
    pub fn key(&self, tuple: &[TupleValue], s: &Settings) -> Result<Value> {
        let Some(ks) = &self.key_schema else {
            return Ok(Value::Null);
        };
        let mut st = Struct::new(ks.clone());
        let mut pos = 0;
        for &i in &self.key_columns {
            if self.columns[i].schema.is_some() {
                st.put_index(pos, self.cell(i, tuple, s)?);
                pos += 1;
            }
        }
        Ok(Value::Struct(st))
    }
}

/// The value of a NOT NULL column absent from a tuple (a key-only old tuple), as Debezium's
/// value converters fall back: zero, false, the empty string; null where it has none.
fn fallback(schema: &SchemaRef) -> Value {
    use sluice_api::data::SchemaType as T;
    if schema.optional {
        return Value::Null;
    }
    match schema.schema_type {
        T::Int8 => Value::Int8(0),
        T::Int16 => Value::Int16(0),
        T::Int32 => Value::Int32(0),
        T::Int64 => Value::Int64(0),
        T::Float32 => Value::Float32(0.0),
        T::Float64 => Value::Float64(0.0),
        T::Boolean => Value::Boolean(false),
        T::String => Value::String(String::new()),
        T::Bytes if schema.name.as_deref() == Some(sluice_api::data::logical::DECIMAL_NAME) => {
            Value::Bytes(vec![0])
        }
        T::Bytes => Value::Bytes(Vec::new()),
        T::Array => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// Debezium's default schema name adjustment (`schema.name.adjustment.mode=none`) keeps the
/// name; topic characters were already sanitized.
fn adjust_schema_name(name: &str) -> String {
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_and_envelope_field_order() {
        let src = source_schema();
        let names: Vec<&str> = src.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "version",
                "connector",
                "name",
                "ts_ms",
                "snapshot",
                "db",
                "sequence",
                "ts_us",
                "ts_ns",
                "schema",
                "table",
                "txId",
                "lsn",
                "xmin",
                "origin",
                "origin_lsn"
            ]
        );
        let raw: sluice_api::config::RawConfig = [
            ("topic.prefix", "dbserver1"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.dbname", "d"),
            ("plugin.name", "pgoutput"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Settings::parse(&raw).unwrap();
        let mut reg = TypeRegistry::default();
        reg.types.insert(
            23,
            crate::types::TypeRow {
                name: "int4".into(),
                typtype: 'b',
                elem: 0,
                base: 0,
                typmod: -1,
                category: 'N',
            },
        );
        let t = TableSchema::build(
            &s,
            &reg,
            &src,
            "inventory",
            "customers",
            &[CatalogColumn {
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1,
                not_null: true,
                pk_position: Some(1),
            }],
        )
        .unwrap();
        let names: Vec<&str> = t.envelope.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "before",
                "after",
                "source",
                "transaction",
                "op",
                "ts_ms",
                "ts_us",
                "ts_ns"
            ]
        );
        assert_eq!(
            t.envelope.name.as_deref(),
            Some("dbserver1.inventory.customers.Envelope")
        );
        assert_eq!(
            t.key_schema.as_ref().unwrap().name.as_deref(),
            Some("dbserver1.inventory.customers.Key")
        );
        assert_eq!(&*t.topic, "dbserver1.inventory.customers");
    }
}
