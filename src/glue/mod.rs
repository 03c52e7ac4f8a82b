//! The shared Redis machinery: arguments, keys, replies, commands, data types, persistence,
//! replication, serving generations, configuration, INFO. Written once, generic over the types
//! in `crate::types`; the generator logic lives in `crate::core`.
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
pub mod fence;
pub mod ffi;
pub mod persistence;
pub mod rdb;
pub mod safety;
pub mod server;
pub mod serving;
pub mod stats;

use command::{int, Command, CommandSet, KeyAccess};

/// The module's own commands (not tied to a type).
pub struct ModuleCommands;

impl CommandSet for ModuleCommands {
    fn list() -> &'static [Command] {
        MODULE_COMMANDS
    }
}

static MODULE_COMMANDS: &[Command] = &[
    Command {
        arity: 2,
        key: KeyAccess::NoKey,
        internal: true,
        acl: c"",
        summary: c"Internal: raises the serving generation (sent to replicas and the AOF after a load or promotion)",
        args: &[int(c"generation")],
        ..Command::new(c"idgen.generation", serving::generation_command)
    },
    Command {
        flags: c"readonly",
        acl: c"read slow",
        arity: 1,
        key: KeyAccess::NoKey,
        summary: c"Lists the worker id this node and every other cluster node announced, with worker-id clashes",
        complexity: c"O(N) where N is the number of cluster nodes",
        args: &[],
        ..Command::new(c"idgen.workers", cluster::workers_command)
    },
    #[cfg(feature = "test-clock")]
    Command {
        flags: c"admin fast",
        acl: c"admin dangerous fast",
        arity: -1,
        key: KeyAccess::NoKey,
        summary: c"Test builds only: shows or sets the offset added to the module's clock",
        args: &[],
        ..Command::new(c"idgen.debug-clock", clock::test_clock::debug_clock)
    },
];
