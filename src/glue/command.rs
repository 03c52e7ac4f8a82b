//! Commands, declared once. A [`Command`] names the command, its flags, arity, key access and
//! arguments; the same declaration drives registration, the option parser ([`options`]) and what
//! Redis shows in `COMMAND INFO` / `COMMAND DOCS` (set with SetCommandInfo, which works on Redis
//! 7.0, unlike the crate's `#[command]` macro). Every command runs through [`run`]: arity check,
//! the internal-command gate, the panic barrier and the error reply.

use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use redis_module::raw;

use super::acl;
use super::barrier::message;
use super::ffi::{self, api, bytes, log, Ctx, RStr};
use super::stats;
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

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Key,
    Integer,
    String,
    /// An option that is a bare word.
    Token,
}

/// One argument, as `COMMAND DOCS` lists it and the option parser reads it.
pub struct Arg {
    pub name: &'static CStr,
    pub kind: ArgKind,
    /// The option word that precedes the value (`COUNT` in `COUNT n`).
    pub token: Option<&'static CStr>,
    pub optional: bool,
}

const fn arg(name: &'static CStr, kind: ArgKind, token: Option<&'static CStr>) -> Arg {
    Arg {
        name,
        kind,
        token,
        optional: token.is_some(),
    }
}
/// The key argument.
pub const fn key(name: &'static CStr) -> Arg {
    arg(name, ArgKind::Key, None)
}
/// A positional integer.
pub const fn int(name: &'static CStr) -> Arg {
    arg(name, ArgKind::Integer, None)
}
/// A positional string.
pub const fn string(name: &'static CStr) -> Arg {
    arg(name, ArgKind::String, None)
}
/// A positional argument that may be left out at the end (older argument lists of an internal
/// command).
pub const fn optional(a: Arg) -> Arg {
    Arg {
        optional: true,
        ..a
    }
}
/// An optional `TOKEN integer`.
pub const fn opt(token: &'static CStr, name: &'static CStr) -> Arg {
    arg(name, ArgKind::Integer, Some(token))
}
/// An optional `TOKEN string`.
pub const fn opt_str(token: &'static CStr, name: &'static CStr) -> Arg {
    arg(name, ArgKind::String, Some(token))
}
/// An optional bare `TOKEN`.
pub const fn flag(token: &'static CStr) -> Arg {
    arg(token, ArgKind::Token, Some(token))
}

pub struct Command {
    pub name: &'static CStr,
    pub handler: Handler,
    /// Redis command flags, e.g. `write deny-oom fast`.
    pub flags: &'static CStr,
    /// ACL categories beyond those the flags give (`acl_categories`), space separated without
    /// `@` (e.g. `admin dangerous`); usually none. Client commands are also put in `@idgen` at
    /// registration; internal ones are in none (see `glue::acl`).
    pub acl: &'static CStr,
    /// Redis convention: `n` exactly n arguments (with the name), `-n` at least n.
    pub arity: i32,
    pub key: KeyAccess,
    /// Accepted only from the primary's replication link and while the AOF loads.
    pub internal: bool,
    pub summary: &'static CStr,
    pub complexity: &'static CStr,
    pub args: &'static [Arg],
}

impl Command {
    /// A client command with the usual defaults (not internal).
    pub const fn new(name: &'static CStr, handler: Handler) -> Self {
        Command {
            name,
            handler,
            flags: c"write deny-oom fast",
            acl: c"",
            arity: -2,
            key: KeyAccess::Write,
            internal: false,
            summary: c"",
            complexity: c"O(1)",
            args: &[],
        }
    }
}

// ---- ACL categories, from the declaration -------------------------------------------------------

impl Command {
    /// The ACL categories a Redis user expects of the command, space separated without `@`,
    /// derived from its flags as Redis derives them for its own commands (module commands get
    /// none implicitly): `write` -> `write`, `readonly` -> `read`, then the declared extras
    /// (`acl`), then `fast` -> `fast`, else `slow`. None for an internal command.
    pub fn acl_categories(&self) -> String {
        if self.internal {
            return String::new();
        }
        let flags = self.flags.to_str().unwrap_or_default();
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        let mut words: Vec<&str> = Vec::with_capacity(4);
        if has("write") {
            words.push("write");
        }
        if has("readonly") {
            words.push("read");
        }
        words.extend(self.acl.to_str().unwrap_or_default().split_whitespace());
        words.push(if has("fast") { "fast" } else { "slow" });
        words.join(" ")
    }
}

// ---- option parsing, from the declaration ---------------------------------------------------------

/// The most optional arguments one command declares.
const MAX_OPTIONS: usize = 12;

/// The options a call gave, by their declared position; read by token.
pub struct Options {
    decl: &'static [Arg],
    given: [Option<RStr>; MAX_OPTIONS],
}

/// Parses `args` (the words after the positional arguments) as `cmd`'s declared options: unknown,
/// repeated and value-less options are refused; tokens match case-insensitively.
pub fn options(cmd: &Command, args: &[RStr]) -> Result<Options> {
    let mut out = Options {
        decl: cmd.args,
        given: [None; MAX_OPTIONS],
    };
    let mut i = 0;
    while i < args.len() {
        let word = bytes(args[i]);
        let (slot, decl) = out
            .decl
            .iter()
            .filter(|a| a.token.is_some())
            .enumerate()
            .find(|(_, a)| is_token(word, a))
            .ok_or_else(|| unknown_option(word))?;
        let token = token_str(decl);
        if out.given[slot].is_some() {
            return Err(Error::DuplicateOption(token));
        }
        if decl.kind == ArgKind::Token {
            out.given[slot] = Some(args[i]);
            i += 1;
        } else {
            out.given[slot] = Some(*args.get(i + 1).ok_or(Error::MissingValue(token))?);
            i += 2;
        }
    }
    Ok(out)
}

fn is_token(word: &[u8], a: &Arg) -> bool {
    a.token
        .is_some_and(|t| word.eq_ignore_ascii_case(t.to_bytes()))
}

fn token_str(a: &Arg) -> &'static str {
    a.token.and_then(|t| t.to_str().ok()).unwrap_or("?")
}

/// The error for a word that is no declared option: echoes at most 32 bytes of it.
fn unknown_option(word: &[u8]) -> Error {
    let shown = &word[..word.len().min(32)];
    Error::UnknownOption(String::from_utf8_lossy(shown).into_owned())
}

impl Options {
    fn given(&self, token: &str) -> Option<RStr> {
        let slot = self
            .decl
            .iter()
            .filter(|a| a.token.is_some())
            .position(|a| is_token(token.as_bytes(), a))
            .unwrap_or_else(|| panic!("option {token} is not declared"));
        self.given[slot]
    }
    /// The integer value of option `token`, if given.
    pub fn int(&self, token: &str) -> Result<Option<i64>> {
        self.given(token).map(ffi::int).transpose()
    }
    /// The bytes of option `token`'s value, if given.
    pub fn str(&self, token: &str) -> Option<&[u8]> {
        self.given(token).map(bytes)
    }
    /// Whether flag `token` was given.
    pub fn flag(&self, token: &str) -> bool {
        self.given(token).is_some()
    }
}

// ---- running a command -------------------------------------------------------------------------------

/// Runs one command: checks arity, refuses internal commands from clients, calls the handler
/// behind a panic barrier, replies with the error if there is one. Inlined into each command's
/// trampoline, where the declaration is a constant: the arity and internal checks fold, and the
/// handler is called directly (and may be inlined).
/// `resumes_by_clock`: the command's type stays unique across a restart without AOF
/// ([`CommandSet::RESUMES_BY_CLOCK`]).
#[inline(always)]
pub fn run(
    cmd: &Command,
    resumes_by_clock: bool,
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut RStr,
    argc: c_int,
) -> c_int {
    let ctx = Ctx(ctx);
    let argc = argc.max(0) as usize;
    let arity_ok = if cmd.arity >= 0 {
        argc == cmd.arity as usize
    } else {
        argc >= cmd.arity.unsigned_abs() as usize
    };
    if !arity_ok {
        fail(&ctx, Error::Arity);
    } else if cmd.internal && !ctx.is_replicated_or_loading() {
        fail(&ctx, Error::InternalCommand);
    } else if let Err(e) = match cmd.key {
        // A client's write: a replica never issues, and without AOF only a type that resumes by
        // the clock does (`persistence`).
        KeyAccess::Write if !cmd.internal => super::persistence::admit(&ctx, resumes_by_clock),
        _ => Ok(()),
    } {
        fail(&ctx, e);
    } else {
        // SAFETY: Redis passes `argc` valid argument strings for the duration of the call.
        let args = unsafe { std::slice::from_raw_parts(argv, argc) };
        // The handler's error is replied inside the barrier, where the (inlined) handler made
        // it: the success path never stores and reloads a `Result` on the stack.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // A client's write on the name of an evicted generator revives it first.
            let revived = match cmd.key {
                KeyAccess::Write if !cmd.internal => super::eviction::revive(&ctx, args[1]),
                _ => Ok(()),
            };
            if let Err(e) = revived.and_then(|()| (cmd.handler)(&ctx, args)) {
                fail(&ctx, e);
            }
        }));
        if let Err(panic) = outcome {
            fail(&ctx, panicked(&ctx, cmd, &*panic));
        }
    }
    raw::REDISMODULE_OK as c_int
}

/// Logs a handler's panic; the error to reply with.
#[cold]
#[inline(never)]
fn panicked(ctx: &Ctx, cmd: &Command, panic: &(dyn std::any::Any + Send)) -> Error {
    let msg = message(panic);
    ctx.log_warning(&format!("panic in {:?}: {msg}", cmd.name));
    Error::Internal(msg)
}

/// Replies with a command's error (and counts a refusal).
#[inline(never)]
fn fail(ctx: &Ctx, e: Error) {
    if e.is_refusal() {
        stats::REFUSALS.add(1);
    }
    ctx.reply_error(&e);
}

/// A set of commands: a type's, or the module's own.
pub trait CommandSet: 'static {
    fn list() -> &'static [Command];
    /// Whether the set's type stays unique across a restart that lost its newest reservations
    /// because it resumes above the clock (snowflakes): it then serves without AOF.
    const RESUMES_BY_CLOCK: bool = false;
}

/// The most commands one set holds.
pub const MAX_COMMANDS: usize = 16;

extern "C" fn trampoline<S: CommandSet, const I: usize>(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut RStr,
    argc: c_int,
) -> c_int {
    run(&S::list()[I], S::RESUMES_BY_CLOCK, ctx, argv, argc)
}

/// One trampoline per slot of a set: Redis gives a command no user data, so each command's
/// function knows its declaration by its set and index.
const fn trampolines<S: CommandSet>() -> [raw::RedisModuleCmdFunc; MAX_COMMANDS] {
    [
        Some(trampoline::<S, 0>),
        Some(trampoline::<S, 1>),
        Some(trampoline::<S, 2>),
        Some(trampoline::<S, 3>),
        Some(trampoline::<S, 4>),
        Some(trampoline::<S, 5>),
        Some(trampoline::<S, 6>),
        Some(trampoline::<S, 7>),
        Some(trampoline::<S, 8>),
        Some(trampoline::<S, 9>),
        Some(trampoline::<S, 10>),
        Some(trampoline::<S, 11>),
        Some(trampoline::<S, 12>),
        Some(trampoline::<S, 13>),
        Some(trampoline::<S, 14>),
        Some(trampoline::<S, 15>),
    ]
}

/// Registers every command of set `S` with its metadata and ACL categories.
pub fn register<S: CommandSet>(ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
    let list = S::list();
    if list.len() > MAX_COMMANDS {
        return Err(format!("more than {MAX_COMMANDS} commands in one set"));
    }
    for (cmd, func) in list.iter().zip(trampolines::<S>()) {
        let key = if matches!(cmd.key, KeyAccess::NoKey) {
            0
        } else {
            1
        };
        // SAFETY: init's context; the name and flags are static C strings.
        let rc = unsafe {
            api!(RedisModule_CreateCommand)(
                ctx,
                cmd.name.as_ptr(),
                func,
                cmd.flags.as_ptr(),
                key,
                key,
                key,
            )
        };
        if rc != raw::REDISMODULE_OK as c_int {
            return Err(format!("cannot create command {:?}", cmd.name));
        }
        // SAFETY: init's context; the command was just created.
        let command = unsafe { api!(RedisModule_GetCommand)(ctx, cmd.name.as_ptr()) };
        if command.is_null() {
            return Err(format!("cannot find command {:?}", cmd.name));
        }
        set_info(ctx, command, cmd)?;
        acl::set_categories(ctx, command, cmd.name, &cmd.acl_categories(), cmd.internal);
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
fn set_info(
    ctx: *mut raw::RedisModuleCtx,
    command: *mut raw::RedisModuleCommand,
    cmd: &Command,
) -> std::result::Result<(), String> {
    // One key at argument 1 (RO, or RW like INCR), or none; a zeroed entry ends the list.
    // SAFETY: the key-spec struct is plain data; all-zero is its "end of list" value.
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
    // SAFETY: as above, the terminating zeroed entry.
    let mut specs = [spec, unsafe { std::mem::zeroed() }];

    let mut args: Vec<raw::RedisModuleCommandArg> = cmd
        .args
        .iter()
        .map(|a| {
            // SAFETY: the argument struct is plain data; zero means "no flags, no sub-args".
            let mut r: raw::RedisModuleCommandArg = unsafe { std::mem::zeroed() };
            r.name = a.name.as_ptr();
            r.type_ = match a.kind {
                ArgKind::Key => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_KEY,
                ArgKind::Integer => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_INTEGER,
                ArgKind::String => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_STRING,
                ArgKind::Token => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_PURE_TOKEN,
            };
            r.key_spec_index = if a.kind == ArgKind::Key { 0 } else { -1 };
            r.token = a.token.map_or(std::ptr::null(), |t| t.as_ptr());
            r.flags = if a.optional {
                raw::REDISMODULE_CMD_ARG_OPTIONAL as c_int
            } else {
                0
            };
            r
        })
        .collect();
    // SAFETY: the terminating zeroed entry.
    args.push(unsafe { std::mem::zeroed() });

    // The server copies all of it (strings, key specs, arguments: `RM_SetCommandInfo` in Redis
    // 7.0+ and Valkey), so it lives on this stack and is freed on return. (It was leaked once:
    // valgrind counted 1,944 bytes in 27 blocks definitely lost per load, `make memcheck`.)
    let mut info = raw::RedisModuleCommandInfo {
        version: &INFO_VERSION,
        summary: cmd.summary.as_ptr(),
        complexity: cmd.complexity.as_ptr(),
        since: c"0.1.0".as_ptr(),
        history: std::ptr::null_mut(),
        tips: std::ptr::null(),
        arity: cmd.arity,
        key_specs: specs.as_mut_ptr(),
        args: args.as_mut_ptr(),
    };
    // SAFETY: `command` belongs to this module; `info` and everything it points to (the static
    // strings, `specs`, `args`) outlive the call, and the server copies what it keeps.
    let rc = unsafe { api!(RedisModule_SetCommandInfo)(command, &mut info) };
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Every command's categories are exactly those it was registered with before they were
    /// derived from its flags (COMMAND INFO shows them on Redis 7.2+ and Valkey).
    #[test]
    fn categories_follow_the_flags() {
        let mut expected = BTreeMap::from([
            ("idgen.evicted", ""),
            ("idgen.generation", ""),
            ("idgen.workers", "read slow"),
            ("seq.create", "write fast"),
            ("seq.next", "write fast"),
            ("seq.nextbatch", "write fast"),
            ("seq.current", "read fast"),
            ("seq.set", "write fast"),
            ("seq.info", "read fast"),
            ("seq.decode", "read fast"),
            ("seq.reserve", ""),
            ("snowflake.create", "write fast"),
            ("snowflake.next", "write fast"),
            ("snowflake.parse", "read fast"),
            ("snowflake.info", "read fast"),
            ("snowflake.reserve", ""),
            ("uuid.create", "write fast"),
            ("uuid.next", "write fast"),
            ("uuid.parse", "read fast"),
            ("uuid.info", "read fast"),
            ("uuid.reserve", ""),
            ("worker.acquire", "write slow"),
            ("worker.renew", "write fast"),
            ("worker.release", "write fast"),
            ("worker.list", "read slow"),
            ("worker.route", "read slow"),
            ("worker.info", "read slow"),
            ("worker.reserve", ""),
            ("worker.effect", ""),
        ]);
        if cfg!(feature = "test-clock") {
            expected.insert("idgen.debug-clock", "admin dangerous fast");
        }
        let actual: BTreeMap<&str, String> = crate::all_commands()
            .map(|c| (c.name.to_str().unwrap(), c.acl_categories()))
            .collect();
        let actual: BTreeMap<&str, &str> = actual.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(actual, expected);
    }
}
