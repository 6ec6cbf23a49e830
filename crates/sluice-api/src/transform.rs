//! Single message transforms and predicates.
//!
//! Transforms and predicates are synchronous and do no I/O. They see a [`ConnectRecord`],
//! never source offsets.

use crate::error::Result;
use crate::record::ConnectRecord;

/// A transform (`Transformation`): returns the new record, or `None` to drop it.
pub trait Transform: Send + Sync {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>>;
}

/// A predicate (`Predicate`), deciding whether a transform applies.
pub trait Predicate: Send + Sync {
    fn test(&self, record: &ConnectRecord) -> bool;
}
