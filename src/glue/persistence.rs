//! What the server's settings let the module promise: its role (a replica never issues) and its
//! persistence (without AOF a restart loses what was issued since the last snapshot).
//!
//! Both are read from the server at load, at every `CONFIG SET` (server event `Config`) and at
//! every role change, and kept in one byte, [`GATE`], that the command path reads: zero on a
//! primary with AOF, so a command that issues pays one load and one branch. When it is not zero,
//! [`admit`] decides: a client's write on a replica gets `READONLY`; without AOF a type that
//! cannot prove uniqueness across a restart gets `MISCONF`, unless the operator chose
//! `idgen.allow-unsafe-persistence yes` (then it is served, and the log and `INFO` say so).
//! Snowflake keys serve without AOF: they resume above the clock after a load
//! (`Snowflake::RESUMES_BY_CLOCK`).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use redis_module::raw;

use super::barrier::barrier;
use super::config;
use super::ffi::{api, log, Ctx};
use super::stats::{PERSISTENCE_REFUSALS, REPLICA_REFUSALS};
use crate::error::{Error, Result};

/// Bit of [`GATE`]: this node is a replica.
const REPLICA: u8 = 1;
/// Bit of [`GATE`]: no AOF, and `idgen.allow-unsafe-persistence no`.
const NO_AOF: u8 = 2;

/// Why a write command may not simply run: [`REPLICA`] | [`NO_AOF`]; 0 on a primary with AOF.
static GATE: AtomicU8 = AtomicU8::new(0);
/// What the server persists, for INFO and the log.
static MODE: AtomicU8 = AtomicU8::new(Mode::AofEverysec as u8);
/// Whether the state was read once (the first reading is logged only when it is unsafe).
static READ_ONCE: AtomicBool = AtomicBool::new(false);

/// The persistence in force.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    AofAlways,
    AofEverysec,
    AofNo,
    RdbOnly,
    None,
}

impl Mode {
    fn from_u8(v: u8) -> Mode {
        match v {
            0 => Mode::AofAlways,
            1 => Mode::AofEverysec,
            2 => Mode::AofNo,
            3 => Mode::RdbOnly,
            _ => Mode::None,
        }
    }

    /// The `persistence` field of `INFO idgen`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::AofAlways => "aof-always",
            Mode::AofEverysec => "aof-everysec",
            Mode::AofNo => "aof-no",
            Mode::RdbOnly => "rdb-only",
            Mode::None => "none",
        }
    }

    /// The `never_twice` field of `INFO idgen`: whether the promise holds under this setting, and
    /// why not or within what.
    pub fn never_twice(self) -> &'static str {
        match self {
            Mode::AofAlways => "yes",
            Mode::AofEverysec => {
                "yes (a crash can lose about 1 s of AOF: the safety gap covers it, idgen.safety-window-ms)"
            }
            Mode::AofNo => {
                "yes for a server crash (the page cache keeps the AOF); a power cut can lose about 30 s"
            }
            Mode::RdbOnly => "no (a restart loses what was issued since the last snapshot)",
            Mode::None => "no (a restart loses every generator)",
        }
    }

    fn has_aof(self) -> bool {
        matches!(self, Mode::AofAlways | Mode::AofEverysec | Mode::AofNo)
    }
}

pub fn mode() -> Mode {
    Mode::from_u8(MODE.load(Ordering::Relaxed))
}

pub fn is_replica() -> bool {
    GATE.load(Ordering::Relaxed) & REPLICA != 0
}

/// The `issuing` field of `INFO idgen`: which generators this node serves now.
pub fn issuing() -> &'static str {
    let gate = GATE.load(Ordering::Relaxed);
    if gate & REPLICA != 0 {
        "none (a replica never issues)"
    } else if gate & NO_AOF != 0 {
        "snowflakes and UUIDs only (no AOF: sequences and pools refuse)"
    } else if !mode().has_aof() {
        "all (no AOF: idgen.allow-unsafe-persistence yes, sequences and pools may repeat after a restart)"
    } else {
        "all"
    }
}

/// The `unsafe_persistence` field of `INFO idgen`.
pub fn policy() -> &'static str {
    if config::allow_unsafe_persistence() {
        "warn"
    } else {
        "refuse"
    }
}

/// Whether a client's write command may run now. Inlined into every write command's path: on a
/// primary with AOF it is one load and one branch.
#[inline(always)]
pub fn admit(ctx: &Ctx, resumes_by_clock: bool) -> Result<()> {
    if GATE.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    judge(ctx, resumes_by_clock)
}

#[cold]
#[inline(never)]
fn judge(ctx: &Ctx, resumes_by_clock: bool) -> Result<()> {
    // What the primary or the AOF sends is applied as it is.
    if ctx.is_replicated_or_loading() {
        return Ok(());
    }
    let gate = GATE.load(Ordering::Relaxed);
    if gate & REPLICA != 0 {
        REPLICA_REFUSALS.add(1);
        return Err(Error::ReadOnlyReplica);
    }
    if gate & NO_AOF != 0 && !resumes_by_clock {
        PERSISTENCE_REFUSALS.add(1);
        return Err(Error::UnsafePersistence);
    }
    Ok(())
}

/// Reads the role and the persistence from the server and logs a change (and an unsafe first
/// reading). Called at load, at every config change and at every role change.
pub fn refresh(ctx: *mut raw::RedisModuleCtx) {
    let flags = Ctx(ctx).flags();
    let replica = flags & raw::REDISMODULE_CTX_FLAGS_SLAVE != 0;
    let mode = if flags & raw::REDISMODULE_CTX_FLAGS_AOF != 0 {
        match Ctx(ctx).config_get(c"appendfsync").as_deref() {
            Some("always") => Mode::AofAlways,
            Some("no") => Mode::AofNo,
            _ => Mode::AofEverysec,
        }
    } else if flags & raw::REDISMODULE_CTX_FLAGS_RDB != 0 {
        Mode::RdbOnly
    } else {
        Mode::None
    };
    // Without AOF the gate stays open when the operator accepts the risk, so that the command
    // path costs the same as with AOF.
    let refuse = !mode.has_aof() && !config::allow_unsafe_persistence();
    let gate = if replica { REPLICA } else { 0 } | if refuse { NO_AOF } else { 0 };
    let old_mode = Mode::from_u8(MODE.swap(mode as u8, Ordering::Relaxed));
    GATE.store(gate, Ordering::Relaxed);
    let first = !READ_ONCE.swap(true, Ordering::Relaxed);
    if (first && !mode.has_aof()) || (!first && old_mode != mode) {
        let level = if mode.has_aof() {
            c"notice"
        } else {
            c"warning"
        };
        log(ctx, level, &describe(mode));
    }
}

/// The log line for a persistence setting.
fn describe(mode: Mode) -> String {
    let mut s = format!(
        "persistence {}: never twice {}",
        mode.name(),
        mode.never_twice()
    );
    if !mode.has_aof() {
        if config::allow_unsafe_persistence() {
            s.push_str(
                "; idgen.allow-unsafe-persistence yes: sequences and pools are served anyway and may repeat after a restart",
            );
        } else {
            s.push_str(
                "; sequences and pools refuse to issue (MISCONF) until AOF is on: CONFIG SET appendonly yes",
            );
        }
    }
    s
}

extern "C" fn on_config_change(
    ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    _subevent: u64,
    _data: *mut c_void,
) {
    barrier("the config-change event", (), || {
        refresh(ctx);
        super::eviction::refresh(ctx);
    })
}

/// Reads the state once and subscribes to config changes; role changes reach [`refresh`] from
/// `serving`'s role-change callback (one callback per event and module). Called from `init`.
pub fn register(ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
    refresh(ctx);
    let event = raw::RedisModuleEvent {
        id: raw::REDISMODULE_EVENT_CONFIG,
        dataver: 1,
    };
    // SAFETY: init's context; the callback is a plain function that lives forever.
    let rc =
        unsafe { api!(RedisModule_SubscribeToServerEvent)(ctx, event, Some(on_config_change)) };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err("cannot subscribe to the config-change server event".into());
    }
    Ok(())
}
