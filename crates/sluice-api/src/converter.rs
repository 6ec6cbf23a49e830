//! Converters between Connect data and the bytes stored in Kafka.
//!
//! Converters are synchronous and do no I/O.

use crate::data::{Headers, SchemaAndValue, SchemaRef, Value};
use crate::error::Result;

/// Whether a converter handles record keys or values (`isKey` in `configure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConverterRole {
    Key,
    Value,
    Header,
}

/// Converts record keys or values (`org.apache.kafka.connect.storage.Converter`).
pub trait Converter: Send + Sync {
    /// Connect data to bytes; `None` for a null (tombstone) result.
    // Named after Kafka's `fromConnectData`, which converts *from* Connect data.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect(
        &self,
        topic: &str,
        headers: &mut Headers,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;
    /// [`from_connect`](Self::from_connect) taking the value by ownership, so a converter
    /// whose output is the value's own buffer (a UTF-8 string, bytes) can hand it over without
    /// copying. The runtime calls this on its hot path; the default converts the borrowed value.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_owned(
        &self,
        topic: &str,
        headers: &mut Headers,
        schema: Option<&SchemaRef>,
        value: Value,
    ) -> Result<Option<Vec<u8>>> {
        self.from_connect(topic, headers, schema, &value)
    }
    /// Bytes (or a null) to Connect data.
    fn to_connect(
        &self,
        topic: &str,
        headers: &Headers,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue>;
}

/// Converts header values (`org.apache.kafka.connect.storage.HeaderConverter`).
pub trait HeaderConverter: Send + Sync {
    /// Kafka's `fromConnectHeader`.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;
    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue>;
}
