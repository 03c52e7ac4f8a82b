//! The module's own commands, not tied to a data type: declared here like a type's
//! (`types/*/commands.rs`), registered from `lib.rs`. Their handlers stay with their logic:
//! IDGEN.GENERATION in `glue::serving`, IDGEN.WORKERS in `glue::cluster`, and (test builds with
//! the `test-clock` feature only) IDGEN.DEBUG-CLOCK in `glue::clock`.

#[cfg(feature = "test-clock")]
use crate::glue::clock;
use crate::glue::command::{int, key, string, Command, CommandSet, KeyAccess};
use crate::glue::{cluster, eviction, serving};

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
        summary: c"Internal: raises the serving generation (sent to replicas and the AOF after a load or promotion)",
        args: &[int(c"generation")],
        ..Command::new(c"idgen.generation", serving::generation_command)
    },
    Command {
        arity: -4,
        key: KeyAccess::Write,
        internal: true,
        summary: c"Internal: keeps the record of an evicted generator (sent to replicas and the AOF when the primary evicts one)",
        args: &[
            key(c"key"),
            string(c"type"),
            int(c"generation"),
            string(c"reservation"),
        ],
        ..Command::new(c"idgen.evicted", eviction::evicted_command)
    },
    Command {
        flags: c"readonly",
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
        acl: c"admin dangerous",
        arity: -1,
        key: KeyAccess::NoKey,
        summary: c"Test builds only: shows or sets the offset added to the module's clock",
        args: &[],
        ..Command::new(c"idgen.debug-clock", clock::test_clock::debug_clock)
    },
];
