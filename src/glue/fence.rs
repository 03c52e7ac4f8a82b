//! The reservation fence: a node raises a generator's reservation (the rare mark advance, never
//! the per-call path) only while `idgen.reserve-min-replicas` replicas have acknowledged its
//! replication stream within `idgen.reserve-max-lag-ms`. A partitioned old primary therefore
//! stops reserving shortly after its replicas stop acknowledging it, and issues at most what it
//! had reserved by then; the promoted replica's resume gap (`safety`) covers that.
//!
//! The replica health is judged off the hot path: a timer reads `INFO replication` every
//! `fence::TICK_MS` and stores the count of replicas that acknowledged in time
//! (`crate::core::fence` says how it is judged). The reservation point (`may_reserve`) reads that
//! count and the judgment's age; a judgment older than `fence::STALE_MS` (a stopped or starved
//! node) counts as none.

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Mutex;

use redis_module::raw;

use super::barrier::barrier;
use super::clock::monotonic_ms;
use super::config;
use super::ffi::{api, Ctx};
use super::stats;
use crate::core::fence::{self, parse_replica, Judge, Replica};
use crate::error::{Error, Result};

/// Replicas that counted at the last judgment.
static ACKED: AtomicU32 = AtomicU32::new(0);
/// When that judgment was made (monotonic ms; 0: never, or the fence is off).
static JUDGED_AT: AtomicI64 = AtomicI64::new(0);
/// The offset history (used by the timer only, on the main thread).
static JUDGE: Mutex<Judge> = Mutex::new(Judge::new());

/// Whether this node may raise a reservation now. Called only where a call needs a new block,
/// before it changes anything; a refusal is counted in `fence_refusals`.
pub fn may_reserve() -> Result<()> {
    let need = config::reserve_min_replicas();
    if need == 0 {
        return Ok(());
    }
    let have = acked_now();
    if have as i64 >= need {
        return Ok(());
    }
    stats::FENCE_REFUSALS.add(1);
    Err(Error::NoReplicas {
        have,
        need,
        max_lag_ms: config::reserve_max_lag_ms(),
    })
}

/// Replicas acknowledged at the last judgment, 0 when it is too old to use or the fence is off.
pub fn acked_now() -> u32 {
    let at = JUDGED_AT.load(Ordering::Relaxed);
    if at == 0 || monotonic_ms() - at > fence::STALE_MS {
        return 0;
    }
    ACKED.load(Ordering::Relaxed)
}

/// Whether a call that needs a new block would be allowed now (for INFO).
pub fn open() -> bool {
    let need = config::reserve_min_replicas();
    need == 0 || acked_now() as i64 >= need
}

/// Starts the fence timer; called from `init`.
pub fn register(ctx: *mut raw::RedisModuleCtx) {
    arm(ctx);
}

fn arm(ctx: *mut raw::RedisModuleCtx) {
    // SAFETY: a context Redis passed to init or to the timer; the timer takes no data.
    unsafe {
        api!(RedisModule_CreateTimer)(
            ctx,
            fence::TICK_MS as raw::mstime_t,
            Some(tick),
            std::ptr::null_mut(),
        )
    };
}

extern "C" fn tick(ctx: *mut raw::RedisModuleCtx, _data: *mut c_void) {
    barrier("the fence timer", (), || {
        // Re-armed first, so that nothing below can stop the fence from being judged again.
        arm(ctx);
        judge(ctx);
    })
}

fn judge(ctx: *mut raw::RedisModuleCtx) {
    let mut j = JUDGE.lock().unwrap_or_else(|e| e.into_inner());
    if config::reserve_min_replicas() == 0
        || Ctx(ctx).flags() & raw::REDISMODULE_CTX_FLAGS_MASTER == 0
    {
        j.clear();
        ACKED.store(0, Ordering::Relaxed);
        JUDGED_AT.store(0, Ordering::Relaxed);
        return;
    }
    let (offset, replicas) = read_replication(ctx);
    let now = monotonic_ms();
    let n = j.judge(now, offset, &replicas, config::reserve_max_lag_ms());
    ACKED.store(n, Ordering::Relaxed);
    JUDGED_AT.store(now.max(1), Ordering::Relaxed);
}

/// `master_repl_offset` and the `slaveN` lines of `INFO replication`.
fn read_replication(ctx: *mut raw::RedisModuleCtx) -> (i64, Vec<Replica>) {
    // SAFETY: the timer's context; the section name is a C string; the data is freed below.
    let info = unsafe { api!(RedisModule_GetServerInfo)(ctx, c"replication".as_ptr()) };
    if info.is_null() {
        return (0, Vec::new());
    }
    let signed = |field: &CStr| {
        let mut err: c_int = 0;
        // SAFETY: `info` is live until freed below; the field name is a C string.
        let v =
            unsafe { api!(RedisModule_ServerInfoGetFieldSigned)(info, field.as_ptr(), &mut err) };
        (err == 0).then_some(v)
    };
    let offset = signed(c"master_repl_offset").unwrap_or(0);
    let count = signed(c"connected_slaves").unwrap_or(0).clamp(0, 1024);
    let mut replicas = Vec::new();
    for i in 0..count {
        let Ok(name) = std::ffi::CString::new(format!("slave{i}")) else {
            continue;
        };
        // SAFETY: as above; the returned string lives as long as `info`.
        let line = unsafe { api!(RedisModule_ServerInfoGetFieldC)(info, name.as_ptr()) };
        if line.is_null() {
            continue;
        }
        // SAFETY: a NUL-terminated string owned by `info`, read before it is freed.
        let text = unsafe { CStr::from_ptr(line) }.to_string_lossy();
        if let Some(r) = parse_replica(&text) {
            replicas.push(r);
        }
    }
    // SAFETY: `info` came from GetServerInfo with this context and is freed once.
    unsafe { api!(RedisModule_FreeServerInfo)(ctx, info) };
    (offset, replicas)
}
