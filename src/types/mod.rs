//! The module's data types, one folder each: its commands and its encoding. Everything else a
//! type needs from Redis is in `crate::glue::datatype`, generic over the type. Adding a type is a
//! new folder here and one line in `lib.rs`'s `TYPES`.

pub mod pool;
pub mod sequence;
pub mod snowflake;
pub mod uuid;
