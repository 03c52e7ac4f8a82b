//! The shared Redis machinery: arguments, keys, replies, commands, data types, persistence,
//! replication, serving generations, configuration, counters. Written once, generic over the
//! types in `crate::types`; the generator logic lives in `crate::core`. The module's own
//! commands are declared in `crate::commands`, its INFO section in `crate::info`.
//!
//! Every function here works on pointers Redis hands to the module (contexts, keys, strings,
//! I/O handles) and that are valid for the call, hence the allowed lint.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod acl;
pub mod barrier;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod config;
pub mod datatype;
pub mod eviction;
pub mod fence;
pub mod ffi;
pub mod opaque;
pub mod persistence;
pub mod rdb;
pub mod safety;
pub mod server;
pub mod serving;
pub mod stats;
