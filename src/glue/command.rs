//! Command registration: the per-command trampoline (arity check, panic barrier, error reply) and
//! the command metadata Redis shows in `COMMAND INFO` / `COMMAND DOCS` (set with SetCommandInfo,
//! which works on Redis 7.0, unlike the crate's `#[command]` macro).

use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use redis_module::raw;

use super::ffi::{log, Ctx, RStr};
use crate::error::{Error, Result};

pub type Handler = fn(&Ctx, &[RStr]) -> Result<()>;

/// How a command touches its key (argument 1).
#[derive(Clone, Copy)]
pub enum KeyAccess {
    /// Reads the key.
    Read,
    /// Reads and updates the key, creating it when missing (`RW ACCESS UPDATE`, as INCR).
    Write,
    /// Takes no key.
    NoKey,
}

#[derive(Clone, Copy)]
pub enum ArgKind {
    Key,
    Integer,
    /// An option that is a bare word.
    Token,
}

/// One argument, as `COMMAND DOCS` lists it.
pub struct Arg {
    pub name: &'static CStr,
    pub kind: ArgKind,
    /// The option word that precedes the value (`COUNT` in `COUNT n`).
    pub token: Option<&'static CStr>,
    pub optional: bool,
}

pub const fn key(name: &'static CStr) -> Arg {
    Arg {
        name,
        kind: ArgKind::Key,
        token: None,
        optional: false,
    }
}
pub const fn int(name: &'static CStr) -> Arg {
    Arg {
        name,
        kind: ArgKind::Integer,
        token: None,
        optional: false,
    }
}
pub const fn opt(token: &'static CStr, name: &'static CStr) -> Arg {
    Arg {
        name,
        kind: ArgKind::Integer,
        token: Some(token),
        optional: true,
    }
}
pub const fn flag(token: &'static CStr) -> Arg {
    Arg {
        name: token,
        kind: ArgKind::Token,
        token: Some(token),
        optional: true,
    }
}

pub struct Command {
    pub name: &'static CStr,
    pub handler: Handler,
    /// Redis command flags, e.g. `write deny-oom fast`.
    pub flags: &'static CStr,
    /// Redis convention: `n` exactly n arguments (with the name), `-n` at least n.
    pub arity: i32,
    pub key: KeyAccess,
    pub summary: &'static CStr,
    pub complexity: &'static CStr,
    pub args: &'static [Arg],
}

/// Runs one command: checks arity, calls the handler behind a panic barrier, replies with the
/// error if there is one. Every registered command goes through here.
pub fn run(cmd: &Command, ctx: *mut raw::RedisModuleCtx, argv: *mut RStr, argc: c_int) -> c_int {
    let ctx = Ctx(ctx);
    let argc = argc.max(0) as usize;
    let arity_ok = if cmd.arity >= 0 {
        argc == cmd.arity as usize
    } else {
        argc >= cmd.arity.unsigned_abs() as usize
    };
    if !arity_ok {
        ctx.reply_error(&Error::Arity);
        return raw::REDISMODULE_OK as c_int;
    }
    let args = unsafe { std::slice::from_raw_parts(argv, argc) };
    match catch_unwind(AssertUnwindSafe(|| (cmd.handler)(&ctx, args))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            if e.is_refusal() {
                super::stats::REFUSALS.add(1);
            }
            ctx.reply_error(&e);
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            ctx.log_warning(&format!("panic in {:?}: {msg}", cmd.name));
            ctx.reply_error(&Error::Internal(msg));
        }
    }
    raw::REDISMODULE_OK as c_int
}

/// Registers every command of `table` with its trampoline and metadata.
pub fn register_all(
    ctx: *mut raw::RedisModuleCtx,
    table: &[Command],
    trampolines: &[raw::RedisModuleCmdFunc],
) -> std::result::Result<(), String> {
    if table.len() != trampolines.len() {
        return Err("command table and trampolines differ in length".into());
    }
    for (cmd, tramp) in table.iter().zip(trampolines) {
        let key = if matches!(cmd.key, KeyAccess::NoKey) {
            0
        } else {
            1
        };
        let rc = unsafe {
            raw::RedisModule_CreateCommand.unwrap()(
                ctx,
                cmd.name.as_ptr(),
                *tramp,
                cmd.flags.as_ptr(),
                key,
                key,
                key,
            )
        };
        if rc != raw::REDISMODULE_OK as c_int {
            return Err(format!("cannot create command {:?}", cmd.name));
        }
        set_info(ctx, cmd)?;
    }
    Ok(())
}

static INFO_VERSION: raw::RedisModuleCommandInfoVersion = raw::RedisModuleCommandInfoVersion {
    version: 1,
    sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
    sizeof_keyspec: std::mem::size_of::<raw::RedisModuleCommandKeySpec>(),
    sizeof_arg: std::mem::size_of::<raw::RedisModuleCommandArg>(),
};

/// Sets arity, key spec, summary, complexity and argument docs. The structures are built once
/// at load and leaked (Redis keeps pointers into them).
fn set_info(ctx: *mut raw::RedisModuleCtx, cmd: &Command) -> std::result::Result<(), String> {
    let command = unsafe { raw::RedisModule_GetCommand.unwrap()(ctx, cmd.name.as_ptr()) };
    if command.is_null() {
        return Err(format!("cannot find command {:?}", cmd.name));
    }
    // One key at argument 1 (RO, or RW like INCR), or none; a zeroed entry ends the list.
    let mut spec: raw::RedisModuleCommandKeySpec = unsafe { std::mem::zeroed() };
    let flags = match cmd.key {
        KeyAccess::Read => Some(raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS),
        KeyAccess::Write => Some(
            raw::REDISMODULE_CMD_KEY_RW
                | raw::REDISMODULE_CMD_KEY_ACCESS
                | raw::REDISMODULE_CMD_KEY_UPDATE,
        ),
        KeyAccess::NoKey => None,
    };
    if let Some(flags) = flags {
        spec.flags = flags as u64;
        spec.begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
        spec.bs.index.pos = 1;
        spec.find_keys_type = raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_RANGE;
        spec.fk.range.lastkey = 0;
        spec.fk.range.keystep = 1;
        spec.fk.range.limit = 0;
    }
    let specs = Box::leak(Box::new([spec, unsafe { std::mem::zeroed() }]));

    let mut args: Vec<raw::RedisModuleCommandArg> = cmd
        .args
        .iter()
        .map(|a| {
            let mut r: raw::RedisModuleCommandArg = unsafe { std::mem::zeroed() };
            r.name = a.name.as_ptr();
            r.type_ = match a.kind {
                ArgKind::Key => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_KEY,
                ArgKind::Integer => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_INTEGER,
                ArgKind::Token => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_PURE_TOKEN,
            };
            r.key_spec_index = if matches!(a.kind, ArgKind::Key) {
                0
            } else {
                -1
            };
            r.token = a.token.map_or(std::ptr::null(), |t| t.as_ptr());
            r.flags = if a.optional {
                raw::REDISMODULE_CMD_ARG_OPTIONAL as c_int
            } else {
                0
            };
            r
        })
        .collect();
    args.push(unsafe { std::mem::zeroed() });
    let args = args.leak();

    let info = Box::leak(Box::new(raw::RedisModuleCommandInfo {
        version: &INFO_VERSION,
        summary: cmd.summary.as_ptr(),
        complexity: cmd.complexity.as_ptr(),
        since: c"0.1.0".as_ptr(),
        history: std::ptr::null_mut(),
        tips: std::ptr::null(),
        arity: cmd.arity,
        key_specs: specs.as_mut_ptr(),
        args: args.as_mut_ptr(),
    }));
    let rc = unsafe { raw::RedisModule_SetCommandInfo.unwrap()(command, info) };
    if rc != raw::REDISMODULE_OK as c_int {
        log(
            ctx,
            c"warning",
            &format!("SetCommandInfo failed for {:?}", cmd.name),
        );
        return Err(format!("cannot set command info of {:?}", cmd.name));
    }
    Ok(())
}
