//! The Connect data model: schemas, values, structs, logical types and headers.

mod headers;
pub mod logical;
mod schema;
mod value;

pub use headers::{Header, Headers};
pub use schema::{schemas, validate_value, Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use value::{java_float_to_string, SchemaAndValue, Struct, Value};
