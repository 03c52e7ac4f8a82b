//! Module configuration: the `idgen.*` settings, registered through Redis 7's module config API
//! (CONFIG GET/SET/REWRITE, redis.conf lines, `MODULE LOADEX ... CONFIG`), and module arguments.
//!
//! How they combine: a module argument (`loadmodule libidgen.so idgen.worker-id 3`) becomes the
//! setting's *default*; a config line (`idgen.worker-id 9` in redis.conf) overrides it, and
//! `CONFIG SET` changes it at run time. `CONFIG REWRITE` writes a config line for every setting
//! that differs from its default (and removes the line of one set back to it), so after a restart
//! the node runs with what was in force when the file was rewritten.

use std::ffi::{c_char, c_int, c_longlong, c_uint, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use redis_module::{raw, RedisString};

use super::barrier::barrier;
use super::ffi::api;

/// `idgen.worker-id`: the worker id this node writes into snowflake IDs of keys without WORKER.
pub static WORKER_ID: AtomicI64 = AtomicI64::new(0);
pub const WORKER_ID_DEFAULT: i64 = 0;
pub const WORKER_ID_MAX: i64 = 1023;

/// `idgen.max-borrow-ms`: how far a snowflake generator may run ahead of the newest wall time it
/// has seen when its sequence space is used up.
pub static MAX_BORROW_MS: AtomicI64 = AtomicI64::new(1000);
pub const MAX_BORROW_MS_DEFAULT: i64 = 1000;
pub const MAX_BORROW_MS_MAX: i64 = 3_600_000;

/// `idgen.safety-jump`: whether a generator leaves a safety gap above its mark when it resumes
/// after a load or a promotion.
pub static SAFETY_JUMP: AtomicBool = AtomicBool::new(true);
pub const SAFETY_JUMP_DEFAULT: bool = true;

/// `idgen.safety-window-ms`: how much recent history a load or a promotion may have lost
/// (`appendfsync everysec` loses up to about a second, a replica lags its primary).
pub static SAFETY_WINDOW_MS: AtomicI64 = AtomicI64::new(2000);
pub const SAFETY_WINDOW_MS_DEFAULT: i64 = 2000;
pub const SAFETY_WINDOW_MS_MAX: i64 = 3_600_000;

/// `idgen.safety-min-gap`: the smallest gap, in steps, a sequence leaves when it resumes.
pub static SAFETY_MIN_GAP: AtomicI64 = AtomicI64::new(1000);
pub const SAFETY_MIN_GAP_DEFAULT: i64 = 1000;
pub const SAFETY_MIN_GAP_MAX: i64 = 1 << 40;

/// `idgen.reserve-min-replicas`: a node raises a generator's reservation only while at least
/// this many replicas acknowledged its replication stream within `idgen.reserve-max-lag-ms`
/// (the reservation fence, `fence`). 0: off.
pub static RESERVE_MIN_REPLICAS: AtomicI64 = AtomicI64::new(0);
pub const RESERVE_MIN_REPLICAS_DEFAULT: i64 = 0;
pub const RESERVE_MIN_REPLICAS_MAX: i64 = 64;

/// `idgen.reserve-max-lag-ms`: how recent a replica's acknowledgement must be, and how old the
/// writes it must have acknowledged may be, for it to count (see `core::fence`).
pub static RESERVE_MAX_LAG_MS: AtomicI64 = AtomicI64::new(2000);
pub const RESERVE_MAX_LAG_MS_DEFAULT: i64 = 2000;
pub const RESERVE_MAX_LAG_MS_MIN: i64 = 1000;
pub const RESERVE_MAX_LAG_MS_MAX: i64 = 60_000;

/// `idgen.allow-unsafe-persistence`: without AOF, serve sequences and pools anyway (and say so in
/// the log and `INFO`) instead of refusing with `MISCONF` (`glue::persistence`).
pub static ALLOW_UNSAFE_PERSISTENCE: AtomicBool = AtomicBool::new(false);
pub const ALLOW_UNSAFE_PERSISTENCE_DEFAULT: bool = false;

/// `idgen.max-eviction-records`: how many records of evicted generators the module keeps
/// (`eviction`); beyond it the oldest is dropped.
pub static MAX_EVICTION_RECORDS: AtomicI64 = AtomicI64::new(MAX_EVICTION_RECORDS_DEFAULT);
pub const MAX_EVICTION_RECORDS_DEFAULT: i64 = 1_000_000;
pub const MAX_EVICTION_RECORDS_MAX: i64 = 100_000_000;

/// The integer settings as (name without prefix, variable, default, min, max).
pub const SETTINGS: [(&str, &AtomicI64, i64, i64, i64); 7] = [
    ("worker-id", &WORKER_ID, WORKER_ID_DEFAULT, 0, WORKER_ID_MAX),
    (
        "max-borrow-ms",
        &MAX_BORROW_MS,
        MAX_BORROW_MS_DEFAULT,
        0,
        MAX_BORROW_MS_MAX,
    ),
    (
        "safety-window-ms",
        &SAFETY_WINDOW_MS,
        SAFETY_WINDOW_MS_DEFAULT,
        0,
        SAFETY_WINDOW_MS_MAX,
    ),
    (
        "safety-min-gap",
        &SAFETY_MIN_GAP,
        SAFETY_MIN_GAP_DEFAULT,
        0,
        SAFETY_MIN_GAP_MAX,
    ),
    (
        "reserve-min-replicas",
        &RESERVE_MIN_REPLICAS,
        RESERVE_MIN_REPLICAS_DEFAULT,
        0,
        RESERVE_MIN_REPLICAS_MAX,
    ),
    (
        "reserve-max-lag-ms",
        &RESERVE_MAX_LAG_MS,
        RESERVE_MAX_LAG_MS_DEFAULT,
        RESERVE_MAX_LAG_MS_MIN,
        RESERVE_MAX_LAG_MS_MAX,
    ),
    (
        "max-eviction-records",
        &MAX_EVICTION_RECORDS,
        MAX_EVICTION_RECORDS_DEFAULT,
        0,
        MAX_EVICTION_RECORDS_MAX,
    ),
];

/// The yes/no settings as (name without prefix, variable, default).
pub const FLAGS: [(&str, &AtomicBool, bool); 2] = [
    ("safety-jump", &SAFETY_JUMP, SAFETY_JUMP_DEFAULT),
    (
        "allow-unsafe-persistence",
        &ALLOW_UNSAFE_PERSISTENCE,
        ALLOW_UNSAFE_PERSISTENCE_DEFAULT,
    ),
];

pub fn worker_id() -> i64 {
    WORKER_ID.load(Ordering::Relaxed)
}

pub fn reserve_min_replicas() -> i64 {
    RESERVE_MIN_REPLICAS.load(Ordering::Relaxed)
}

pub fn reserve_max_lag_ms() -> i64 {
    RESERVE_MAX_LAG_MS.load(Ordering::Relaxed)
}

pub fn allow_unsafe_persistence() -> bool {
    ALLOW_UNSAFE_PERSISTENCE.load(Ordering::Relaxed)
}

pub fn max_eviction_records() -> i64 {
    MAX_EVICTION_RECORDS.load(Ordering::Relaxed)
}

pub fn max_borrow_ms() -> i64 {
    MAX_BORROW_MS.load(Ordering::Relaxed)
}

/// The safety window and minimum gap, or `None` when the safety jump is off.
pub fn safety() -> Option<(i64, i64)> {
    SAFETY_JUMP.load(Ordering::Relaxed).then(|| {
        (
            SAFETY_WINDOW_MS.load(Ordering::Relaxed),
            SAFETY_MIN_GAP.load(Ordering::Relaxed),
        )
    })
}

/// Parses module arguments given as `name value` pairs, `name` with or without the `idgen.`
/// prefix, into per-setting defaults. Unknown names, odd argument counts and out-of-range values
/// are refused, so that a typo in redis.conf stops the load instead of being ignored.
fn module_arg_defaults(
    args: &[RedisString],
) -> Result<([i64; SETTINGS.len()], [bool; FLAGS.len()]), String> {
    let mut ints = SETTINGS.map(|(_, _, d, _, _)| d);
    let mut flags = FLAGS.map(|(_, _, d)| d);
    if !args.len().is_multiple_of(2) {
        return Err("module arguments must be name value pairs".into());
    }
    for pair in args.chunks(2) {
        let name = pair[0].to_string_lossy();
        let bare = match name.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("idgen.") => &name[6..],
            _ => &name[..],
        };
        let raw = pair[1].to_string_lossy();
        if let Some(i) = FLAGS
            .iter()
            .position(|(n, ..)| n.eq_ignore_ascii_case(bare))
        {
            flags[i] = match raw.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(format!("module argument '{name}' must be yes or no")),
            };
            continue;
        }
        let i = SETTINGS
            .iter()
            .position(|(n, ..)| n.eq_ignore_ascii_case(bare))
            .ok_or_else(|| format!("unknown module argument '{name}'"))?;
        let (_, _, _, min, max) = SETTINGS[i];
        let value: i64 = raw
            .parse()
            .map_err(|_| format!("module argument '{name}' needs an integer"))?;
        if value < min || value > max {
            return Err(format!(
                "module argument '{name}' must be between {min} and {max}"
            ));
        }
        ints[i] = value;
    }
    Ok((ints, flags))
}

extern "C" fn get_int(_name: *const c_char, privdata: *mut c_void) -> c_longlong {
    // SAFETY: `privdata` is the `&'static AtomicI64` registered with this setting.
    let var = unsafe { &*(privdata as *const AtomicI64) };
    var.load(Ordering::Relaxed)
}

extern "C" fn set_int(
    _name: *const c_char,
    value: c_longlong,
    privdata: *mut c_void,
    _err: *mut *mut raw::RedisModuleString,
) -> c_int {
    barrier("a config setter", raw::REDISMODULE_ERR as c_int, || {
        // SAFETY: as in `get_int`. Redis checked the range registered with the setting.
        let var = unsafe { &*(privdata as *const AtomicI64) };
        var.store(value, Ordering::Relaxed);
        raw::REDISMODULE_OK as c_int
    })
}

extern "C" fn get_bool(_name: *const c_char, privdata: *mut c_void) -> c_int {
    // SAFETY: `privdata` is the `&'static AtomicBool` registered with this setting.
    let var = unsafe { &*(privdata as *const AtomicBool) };
    var.load(Ordering::Relaxed) as c_int
}

extern "C" fn set_bool(
    _name: *const c_char,
    value: c_int,
    privdata: *mut c_void,
    _err: *mut *mut raw::RedisModuleString,
) -> c_int {
    barrier("a config setter", raw::REDISMODULE_ERR as c_int, || {
        // SAFETY: as in `get_bool`.
        let var = unsafe { &*(privdata as *const AtomicBool) };
        var.store(value != 0, Ordering::Relaxed);
        raw::REDISMODULE_OK as c_int
    })
}

/// Registers every setting with the module arguments as defaults, then lets Redis apply the
/// config lines (`RedisModule_LoadConfigs`). Called first thing in `init`. `worker_id_applied`
/// runs when `idgen.worker-id` is applied (the cluster layer announces it there); it is handed in
/// by the caller, so that the settings depend on no layer that reads them.
pub fn register(
    ctx: *mut raw::RedisModuleCtx,
    args: &[RedisString],
    worker_id_applied: raw::RedisModuleConfigApplyFunc,
) -> Result<(), String> {
    let (ints, flags) = module_arg_defaults(args)?;
    let flags_default = raw::REDISMODULE_CONFIG_DEFAULT as c_uint;
    for ((name, var, _, min, max), default) in SETTINGS.iter().zip(ints) {
        let cname = CString::new(*name).map_err(|e| e.to_string())?;
        var.store(default, Ordering::Relaxed);
        // SAFETY: init's context; Redis copies the name; `var` is a static that outlives the
        // module, handed back to the callbacks as `privdata`.
        let rc = unsafe {
            api!(RedisModule_RegisterNumericConfig)(
                ctx,
                cname.as_ptr(),
                default,
                flags_default,
                *min,
                *max,
                Some(get_int),
                Some(set_int),
                // CONFIG SET of the worker id announces it to the cluster at once.
                if std::ptr::eq(*var, &WORKER_ID) {
                    worker_id_applied
                } else {
                    None
                },
                *var as *const AtomicI64 as *mut c_void,
            )
        };
        if rc != raw::REDISMODULE_OK as c_int {
            return Err(format!("cannot register setting idgen.{name}"));
        }
    }
    for ((name, var, _), default) in FLAGS.iter().zip(flags) {
        let cname = CString::new(*name).map_err(|e| e.to_string())?;
        var.store(default, Ordering::Relaxed);
        // SAFETY: as above, for a yes/no setting.
        let rc = unsafe {
            api!(RedisModule_RegisterBoolConfig)(
                ctx,
                cname.as_ptr(),
                default as c_int,
                flags_default,
                Some(get_bool),
                Some(set_bool),
                None,
                *var as *const AtomicBool as *mut c_void,
            )
        };
        if rc != raw::REDISMODULE_OK as c_int {
            return Err(format!("cannot register setting idgen.{name}"));
        }
    }
    // SAFETY: init's context, after every setting is registered.
    if unsafe { api!(RedisModule_LoadConfigs)(ctx) } != raw::REDISMODULE_OK as c_int {
        return Err("a config line for an idgen setting was refused".into());
    }
    Ok(())
}
