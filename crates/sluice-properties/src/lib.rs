//! Java `.properties` files, read exactly as `java.util.Properties.load(Reader)` reads them.
//!
//! Kafka Connect worker and connector configs are `.properties` files, and users keep the
//! files they have. Every quirk of the JDK parser is therefore part of the contract: which
//! lines are comments, how continuations and escapes work, where a key ends. The reader in
//! [`parse`] is a port of the JDK 17 `LineReader`/`load0`/`loadConvert` trio, checked case
//! by case against the real JDK; [`to_string`] writes the way `Properties.store` escapes.
//!
//! Input is UTF-8 (a leading byte order mark is skipped). This crate does only text: it
//! knows nothing about what any key means, and it must not grow config validation.

mod error;
mod read;
mod write;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::{PropertiesError, SyntaxProblem};
pub use write::to_string;

/// One `key=value` assignment, with the 1-based line of the file where its logical line
/// starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// The assignments of a properties file, in file order.
///
/// A key may appear more than once; as in Java, the last assignment wins ([`get`],
/// [`to_map`]), but all of them are kept so callers can warn about duplicates.
///
/// Equality compares the `(key, value)` sequence only: where an entry came from (its line)
/// is not part of the value, so `parse(&to_string(&p)) == p` holds.
///
/// [`get`]: Properties::get
/// [`to_map`]: Properties::to_map
#[derive(Debug, Clone, Default)]
pub struct Properties {
    entries: Vec<Entry>,
}

impl Properties {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every assignment in file order, duplicates included.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends an assignment; it overrides any earlier one for the same key, as a later
    /// line in a file would. Its line is the line it will have when written by
    /// [`to_string`].
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let line = self.entries.len() + 1;
        self.entries.push(Entry {
            key: key.into(),
            value: value.into(),
            line,
        });
    }

    /// The value of the last assignment to `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// `(key, value)` pairs in file order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
    }

    /// Number of assignments, duplicates included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What Java's `Properties` object would hold: one value per key, the last one wins.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Properties {}

impl From<Properties> for BTreeMap<String, String> {
    fn from(props: Properties) -> Self {
        props
            .entries
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Properties::new();
        for (k, v) in iter {
            props.push(k, v);
        }
        props
    }
}

/// Parses properties text the way `java.util.Properties.load(Reader)` does.
///
/// A leading UTF-8 byte order mark (U+FEFF) is skipped. Errors name the line.
pub fn parse(text: &str) -> Result<Properties, PropertiesError> {
    read::parse(text).map_err(|(line, problem)| PropertiesError::Syntax {
        path: None,
        line,
        problem,
    })
}

/// Reads and parses a properties file. Errors name the file (and the line where that applies).
///
/// Java's `Properties.load(InputStream)`, which Kafka uses for worker and connector files, reads
/// ISO-8859-1, while users (and Kafka's own seed files with Chinese comments) write UTF-8. A file
/// that is valid UTF-8 is read as UTF-8; any other file is read as ISO-8859-1, as Java would, so
/// a file with a Latin-1 byte (even in a comment) runs here as it runs on Kafka.
pub fn load(path: &Path) -> Result<Properties, PropertiesError> {
    let bytes = std::fs::read(path).map_err(|source| PropertiesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = decode(&bytes);
    read::parse(&text).map_err(|(line, problem)| PropertiesError::Syntax {
        path: Some(path.to_path_buf()),
        line,
        problem,
    })
}

/// UTF-8 when the bytes are valid UTF-8, otherwise ISO-8859-1 (each byte is the code point).
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => std::borrow::Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}
