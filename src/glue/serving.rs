//! When a node starts serving a generator it may know less history than it issued: it loaded an
//! RDB or AOF, or it was a replica that got promoted. Every key remembers the serving generation
//! it last served in; a key whose generation is not the current one resumes from its mark before
//! it serves again. This is lazy and O(1) per key: nothing scans the keyspace at a load or a
//! promotion.

use std::sync::atomic::{AtomicU64, Ordering};

use redis_module::raw;

/// Keys loaded from RDB or created by a replicated reservation carry this generation, so their
/// first use on a serving node always resumes from the mark.
pub const STALE: u64 = 0;

static SERVING_GEN: AtomicU64 = AtomicU64::new(1);

pub fn current() -> u64 {
    SERVING_GEN.load(Ordering::Relaxed)
}

/// Role change: a promotion to primary starts a new serving generation.
pub extern "C" fn on_role_changed(
    _ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    _data: *mut std::ffi::c_void,
) {
    if subevent == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_MASTER {
        SERVING_GEN.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn subscribe(ctx: *mut raw::RedisModuleCtx) -> Result<(), String> {
    let event = raw::RedisModuleEvent {
        id: raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED,
        dataver: 1,
    };
    let rc = unsafe {
        raw::RedisModule_SubscribeToServerEvent.unwrap()(ctx, event, Some(on_role_changed))
    };
    if rc != raw::REDISMODULE_OK as i32 {
        return Err("cannot subscribe to role changes".into());
    }
    Ok(())
}

/// The extra gap, in ms, a snowflake generator leaves above its mark when it resumes.
pub fn snowflake_gap_ms() -> i64 {
    0
}

/// The extra gap, in steps, a sequence leaves above its mark when it resumes.
pub fn sequence_gap_steps(_rate_per_sec: u64) -> u64 {
    0
}
