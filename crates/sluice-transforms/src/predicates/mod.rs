//! Predicates (KIP-585): decide whether a transform applies to a record.

pub mod has_header_key;
pub mod record_is_tombstone;
pub mod topic_name_matches;
