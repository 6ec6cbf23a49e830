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
