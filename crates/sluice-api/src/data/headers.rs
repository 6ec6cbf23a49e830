//! Record headers with Connect values (`ConnectHeaders`).

use super::schema::SchemaRef;
use super::value::Value;

/// One header: key, optional schema and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// An ordered list of headers; keys may repeat, as in Kafka.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    /// Room for `additional` more headers without growing.
    pub fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
    pub fn add(&mut self, key: impl Into<String>, schema: Option<SchemaRef>, value: Value) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }
    /// The last header with this key (`Headers.lastWithName`).
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }
    /// Removes every header with this key.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn retain(&mut self, f: impl FnMut(&Header) -> bool) {
        self.0.retain(f)
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Headers {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
