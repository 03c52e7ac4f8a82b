//! idgen: distributed unique IDs (snowflake IDs and sequences) as a Redis module.
//!
//! `core` holds the generator logic (pure Rust, clock injected), `glue` the Redis side, `error`
//! every error reply. This file is the table of what the module registers.

pub mod core;
pub mod error;
pub mod glue;

use std::ffi::c_int;

use glue::command::{flag, int, key, opt, Command, KeyAccess::*};
use glue::{seq_cmd as seq, snowflake_cmd as sf};
use redis_module::{raw, redis_module, Context, RedisString, Status};

pub static COMMANDS: [Command; 13] = [
    Command {
        name: c"snowflake.create",
        handler: sf::create,
        flags: c"write deny-oom fast",
        arity: -2,
        key: Write,
        summary: c"Creates a snowflake ID generator with a chosen layout, epoch and worker",
        complexity: c"O(1)",
        args: &[
            key(c"key"),
            opt(c"EPOCH", c"unix-ms"),
            opt(c"TIME-BITS", c"time-bits"),
            opt(c"WORKER-BITS", c"worker-bits"),
            opt(c"SEQUENCE-BITS", c"sequence-bits"),
            opt(c"WORKER", c"worker-id"),
        ],
    },
    Command {
        name: c"snowflake.next",
        handler: sf::next,
        flags: c"write deny-oom fast",
        arity: -2,
        key: Write,
        summary: c"Returns the next snowflake ID (or COUNT IDs) of a generator, creating it with defaults",
        complexity: c"O(1), O(N) with COUNT N",
        args: &[key(c"key"), opt(c"COUNT", c"count")],
    },
    Command {
        name: c"snowflake.parse",
        handler: sf::parse,
        flags: c"readonly fast",
        arity: 3,
        key: Read,
        summary: c"Splits a snowflake ID into its timestamp, worker and sequence",
        complexity: c"O(1)",
        args: &[key(c"key"), int(c"id")],
    },
    Command {
        name: c"snowflake.info",
        handler: sf::info,
        flags: c"readonly fast",
        arity: 2,
        key: Read,
        summary: c"Shows a snowflake generator's layout, clock state and counters",
        complexity: c"O(1)",
        args: &[key(c"key")],
    },
    Command {
        name: c"snowflake.reserve",
        handler: sf::reserve,
        flags: c"write deny-oom fast",
        arity: 10,
        key: Write,
        summary: c"Internal: raises a snowflake generator's reservation (sent to replicas and the AOF)",
        complexity: c"O(1)",
        args: &[
            key(c"key"),
            int(c"mark"),
            int(c"wall-seen"),
            int(c"epoch"),
            int(c"time-bits"),
            int(c"worker-bits"),
            int(c"sequence-bits"),
            int(c"worker"),
            int(c"gen"),
        ],
    },
    Command {
        name: c"seq.create",
        handler: seq::create,
        flags: c"write deny-oom fast",
        arity: -2,
        key: Write,
        summary: c"Creates an integer sequence with bounds, increment and cycling",
        complexity: c"O(1)",
        args: &[
            key(c"key"),
            opt(c"START", c"start"),
            opt(c"INCREMENT", c"increment"),
            opt(c"MINVALUE", c"minvalue"),
            opt(c"MAXVALUE", c"maxvalue"),
            flag(c"CYCLE"),
        ],
    },
    Command {
        name: c"seq.next",
        handler: seq::next,
        flags: c"write deny-oom fast",
        arity: 2,
        key: Write,
        summary: c"Returns the next value of a sequence, creating it with defaults",
        complexity: c"O(1)",
        args: &[key(c"key")],
    },
    Command {
        name: c"seq.nextbatch",
        handler: seq::nextbatch,
        flags: c"write deny-oom fast",
        arity: 3,
        key: Write,
        summary: c"Reserves count consecutive values of a sequence and returns the first and the last",
        complexity: c"O(1)",
        args: &[key(c"key"), int(c"count")],
    },
    Command {
        name: c"seq.current",
        handler: seq::current,
        flags: c"readonly fast",
        arity: 2,
        key: Read,
        summary: c"Returns the last value a sequence issued",
        complexity: c"O(1)",
        args: &[key(c"key")],
    },
    Command {
        name: c"seq.set",
        handler: seq::set,
        flags: c"write deny-oom fast",
        arity: -3,
        key: Write,
        summary: c"Sets the value the next SEQ.NEXT returns",
        complexity: c"O(1)",
        args: &[key(c"key"), int(c"value"), flag(c"FORCE")],
    },
    Command {
        name: c"seq.info",
        handler: seq::info,
        flags: c"readonly fast",
        arity: 2,
        key: Read,
        summary: c"Shows a sequence's options and counters",
        complexity: c"O(1)",
        args: &[key(c"key")],
    },
    Command {
        name: c"seq.reserve",
        handler: seq::reserve,
        flags: c"write deny-oom fast",
        arity: 11,
        key: Write,
        summary: c"Internal: raises a sequence's reservation (sent to replicas and the AOF)",
        complexity: c"O(1)",
        args: &[
            key(c"key"),
            int(c"cycles"),
            int(c"mark"),
            int(c"rate"),
            int(c"start"),
            int(c"increment"),
            int(c"minvalue"),
            int(c"maxvalue"),
            int(c"cycle"),
            int(c"gen"),
        ],
    },
    Command {
        name: c"idgen.generation",
        handler: glue::serving::generation_command,
        flags: c"write deny-oom fast",
        arity: 2,
        key: NoKey,
        summary: c"Internal: raises the serving generation (sent to replicas and the AOF after a load or promotion)",
        complexity: c"O(1)",
        args: &[int(c"generation")],
    },
];

extern "C" fn trampoline<const I: usize>(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    glue::command::run(&COMMANDS[I], ctx, argv, argc)
}

const TRAMPOLINES: [raw::RedisModuleCmdFunc; 13] = [
    Some(trampoline::<0>),
    Some(trampoline::<1>),
    Some(trampoline::<2>),
    Some(trampoline::<3>),
    Some(trampoline::<4>),
    Some(trampoline::<5>),
    Some(trampoline::<6>),
    Some(trampoline::<7>),
    Some(trampoline::<8>),
    Some(trampoline::<9>),
    Some(trampoline::<10>),
    Some(trampoline::<11>),
    Some(trampoline::<12>),
];

fn init(ctx: &Context, args: &[RedisString]) -> Status {
    let setup = || -> Result<(), String> {
        glue::config::apply_module_args(args)?;
        glue::types::create_types(ctx.ctx)?;
        glue::command::register_all(ctx.ctx, &COMMANDS, &TRAMPOLINES)?;
        glue::serving::subscribe(ctx.ctx)?;
        unsafe { raw::RedisModule_RegisterInfoFunc.unwrap()(ctx.ctx, Some(glue::stats::info)) };
        #[cfg(feature = "test-clock")]
        glue::clock::test_clock::register(ctx.ctx)?;
        Ok(())
    };
    match setup() {
        Ok(()) => Status::Ok,
        Err(e) => {
            ctx.log_warning(&format!("idgen: {e}"));
            Status::Err
        }
    }
}

// Unit tests run without Redis, so they use the system allocator.
#[cfg(not(test))]
type Alloc = redis_module::alloc::RedisAlloc;
#[cfg(not(test))]
const ALLOC: Alloc = redis_module::alloc::RedisAlloc;
#[cfg(test)]
type Alloc = std::alloc::System;
#[cfg(test)]
const ALLOC: Alloc = std::alloc::System;

redis_module! {
    name: "idgen",
    version: 1,
    allocator: (Alloc, ALLOC),
    data_types: [],
    init: init,
    configurations: [
        i64: [
            ["worker-id", &glue::config::WORKER_ID, glue::config::WORKER_ID_DEFAULT, 0,
             glue::config::WORKER_ID_MAX, redis_module::configuration::ConfigurationFlags::DEFAULT, None],
            ["max-borrow-ms", &glue::config::MAX_BORROW_MS, glue::config::MAX_BORROW_MS_DEFAULT, 0,
             glue::config::MAX_BORROW_MS_MAX, redis_module::configuration::ConfigurationFlags::DEFAULT, None],
            ["safety-window-ms", &glue::config::SAFETY_WINDOW_MS, glue::config::SAFETY_WINDOW_MS_DEFAULT, 0,
             glue::config::SAFETY_WINDOW_MS_MAX, redis_module::configuration::ConfigurationFlags::DEFAULT, None],
            ["safety-min-gap", &glue::config::SAFETY_MIN_GAP, glue::config::SAFETY_MIN_GAP_DEFAULT, 0,
             glue::config::SAFETY_MIN_GAP_MAX, redis_module::configuration::ConfigurationFlags::DEFAULT, None],
        ],
        string: [],
        bool: [
            ["safety-jump", &glue::config::SAFETY_JUMP, glue::config::SAFETY_JUMP_DEFAULT,
             redis_module::configuration::ConfigurationFlags::DEFAULT, None],
        ],
        enum: [],
        module_args_as_configuration: false,
    ]
}
