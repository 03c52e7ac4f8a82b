//! The Redis glue: arguments, keys, replies, replication, persistence, configuration, INFO.
//! Generator logic lives in `crate::core`.
//!
//! Every function here works on pointers Redis hands to the module (contexts, keys, strings,
//! I/O handles) and that are valid for the call, hence the allowed lint.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod clock;
pub mod command;
pub mod config;
pub mod ffi;
pub mod safety;
pub mod seq_cmd;
pub mod serving;
pub mod snowflake_cmd;
pub mod stats;
pub mod types;
