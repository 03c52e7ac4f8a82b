//! When a node starts serving a generator it may know less history than it issued: it loaded an
//! RDB or AOF, or it was a replica that got promoted. Every key remembers the serving generation
//! it last served in; a key whose generation is not the current one resumes from its mark before
//! it serves again. This is lazy and O(1) per key: nothing scans the keyspace at a load or a
//! promotion.

use std::sync::atomic::{AtomicU64, Ordering};

use redis_module::raw;

use super::config;

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

/// The safety gap, in ms, a snowflake generator leaves above its mark when it resumes: the
/// window of history the node may have lost, plus how far the generator may have borrowed
/// ahead of the clock in that window.
pub fn snowflake_gap_ms() -> i64 {
    match config::safety() {
        Some((window, _)) => window.saturating_add(config::max_borrow_ms()),
        None => 0,
    }
}

/// The safety gap, in steps, a sequence leaves above its mark when it resumes: its recent rate
/// times the window, at least the configured minimum.
pub fn sequence_gap_steps(rate_per_sec: u64) -> u64 {
    match config::safety() {
        Some((window, min_gap)) => {
            let by_rate = (rate_per_sec as u128 * window as u128 / 1000).min(u64::MAX as u128);
            (by_rate as u64).max(min_gap as u64)
        }
        None => 0,
    }
}
