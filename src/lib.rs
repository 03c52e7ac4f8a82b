//! idgen: distributed unique IDs (snowflake IDs and sequences) and worker-ID leases (pools) as a
//! Redis module.
//!
//! Layers, arrows pointing down: this file (what the module registers) -> `types` (one folder per
//! data type: its commands and encoding), `commands` (the module's own commands, declared like a
//! type's) and `info` (the `INFO idgen` section) -> `glue` (the shared Redis machinery, generic
//! over the types) -> `core` (pure generator logic, clock injected) -> `error` (every error
//! reply).
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod commands;
pub use idgen_core as core;
pub use idgen_core::error;
pub mod glue;
pub mod info;
/// `commands.json` from the declarations (written and checked by a test).
#[cfg(test)]
mod reference;
pub mod types;

use glue::command::{self, Command};
use glue::datatype::Registered;
use glue::ffi::{api, log};
use redis_module::{raw, redis_module, Context, RedisString, Status};

/// Every data type of the module: adding one is a folder under `src/types` and a line here.
pub static TYPES: &[&dyn Registered] = &[
    &types::snowflake::TYPE,
    &types::sequence::TYPE,
    &types::pool::TYPE,
    &types::uuid::TYPE,
];

/// Every command the module registers (the types' and the module's own), for documentation and
/// tests.
pub fn all_commands() -> impl Iterator<Item = &'static Command> {
    TYPES
        .iter()
        .flat_map(|t| t.commands().iter())
        .chain(<commands::ModuleCommands as command::CommandSet>::list())
}

fn init(ctx: &Context, args: &[RedisString]) -> Status {
    let setup = || -> Result<(), String> {
        // CONFIG SET of the worker id announces it to the cluster at once.
        glue::config::register(ctx.ctx, args, Some(glue::cluster::worker_id_applied))?;
        // Without this option a short read inside a loader (a forged or truncated RESTORE
        // payload) aborts Redis; with it the loader sees the error and refuses the value. On
        // Valkey 9 the module also declares atomic slot migration (`glue::cluster`).
        let options = raw::REDISMODULE_OPTIONS_HANDLE_IO_ERRORS as i32
            | glue::cluster::server_options(ctx.ctx);
        // SAFETY: init's context.
        unsafe { api!(RedisModule_SetModuleOptions)(ctx.ctx, options) };
        // Before the commands, which join it.
        glue::acl::add_module_category(ctx.ctx);
        for t in TYPES {
            t.register(ctx.ctx)?;
        }
        command::register::<commands::ModuleCommands>(ctx.ctx)?;
        glue::serving::register(ctx.ctx)?;
        glue::datatype::register_aux(ctx.ctx)?;
        glue::persistence::register(ctx.ctx)?;
        glue::eviction::register(ctx.ctx)?;
        glue::cluster::register(ctx.ctx);
        glue::fence::register(ctx.ctx);
        // SAFETY: init's context; the callback is a plain function that lives forever.
        unsafe { api!(RedisModule_RegisterInfoFunc)(ctx.ctx, Some(info::info)) };
        glue::server::log_detected(ctx.ctx);
        Ok(())
    };
    match glue::barrier::barrier("init", Err("panic".into()), setup) {
        Ok(()) => Status::Ok,
        Err(e) => {
            log(ctx.ctx, c"warning", &e);
            Status::Err
        }
    }
}

// Unit tests run without Redis, so they use the system allocator; so does the memcheck build
// (feature `system-alloc`, `make memcheck`), so that valgrind sees the module's heap.
#[cfg(not(any(test, feature = "system-alloc")))]
type Alloc = redis_module::alloc::RedisAlloc;
#[cfg(not(any(test, feature = "system-alloc")))]
const ALLOC: Alloc = redis_module::alloc::RedisAlloc;
#[cfg(any(test, feature = "system-alloc"))]
type Alloc = std::alloc::System;
#[cfg(any(test, feature = "system-alloc"))]
const ALLOC: Alloc = std::alloc::System;

redis_module! {
    name: "idgen",
    version: 1,
    allocator: (Alloc, ALLOC),
    data_types: [],
    init: init,
}
