//! Worker and connector configuration definitions and validation.

pub mod connector;
pub mod providers;
pub mod validate;
pub mod worker;
