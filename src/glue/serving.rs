//! Serving generations: when a key must resume above its mark, and by how much.
//!
//! A node that takes a generator's state from a load (RDB, AOF) or that is promoted may know less
//! history than was issued: `appendfsync everysec` can lose the last second of the AOF, a replica
//! lags its primary. So a key resumes above its mark by a safety gap (`safety`). That jump is
//! recorded durably only by the key's next reservation, which a later fault can lose too; the next
//! load would then compute the same floor again and reissue what was issued from it.
//!
//! Hence the generation `G`: it goes up by one at every load on a primary and at every promotion,
//! and is propagated at once (`IDGEN.GENERATION`) and kept in RDB aux data. Every reservation
//! carries the generation it was made in, and a key keeps the generation of its newest one. At its
//! first use on a serving node, a key whose generation is behind resumes at
//! `mark + gap x (G - key generation)`: one gap for every load or promotion since its newest
//! durable reservation, each of which may have issued from an unrecorded floor. This is lazy and
//! O(1) per key: nothing scans the keyspace at a load or a promotion.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

use redis_module::raw;

use super::ffi::{int, Ctx, Key, ModType, RStr};
use super::stats;
use crate::error::{Error, Result};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The largest number of gaps one resume adds (a key idle across many loads).
pub const MAX_GAPS: u64 = 1024;

/// Keys store the generation's low 16 bits; differences are taken modulo 2^16.
pub fn current() -> u16 {
    GENERATION.load(Ordering::Relaxed) as u16
}

pub fn current_full() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Raises the generation to at least `g` (from a reservation, the RDB or `IDGEN.GENERATION`).
pub fn raise(g: u64) {
    GENERATION.fetch_max(g, Ordering::Relaxed);
}

/// How many gaps a key last reserved in generation `key_gen` must leave now: 0 if it is current.
pub fn gaps_since(key_gen: u16) -> u64 {
    (current().wrapping_sub(key_gen) as u64).min(MAX_GAPS)
}

/// A generation that is one behind the current one, for state that must resume once at its first
/// use whatever its origin (a RESTOREd value carries another dataset's numbering).
pub fn one_behind() -> u16 {
    current().wrapping_sub(1)
}

/// A generator state kept in a key: its generation, and how it resumes by a number of gaps.
pub trait Served {
    fn gen_mut(&mut self) -> &mut u16;
    /// Resumes `gaps` safety gaps above the mark.
    fn resume_gaps(&mut self, gaps: u64);
}

/// The generator of type `ty` at `key`, on a serving node: first resumed above its mark if it
/// has not served in the current generation. `None` when the key is empty.
pub fn serving_value<'k, T: Served>(key: &'k mut Key, ty: &ModType) -> Result<Option<&'k mut T>> {
    let Some(s) = key.value::<T>(ty)? else {
        return Ok(None);
    };
    let gaps = gaps_since(*s.gen_mut());
    if gaps > 0 {
        s.resume_gaps(gaps);
        *s.gen_mut() = current();
        stats::RESUMES.add(1);
    }
    Ok(Some(s))
}

/// A new generator, serving in the current generation.
pub fn fresh<T: Served>(mut state: T) -> T {
    *state.gen_mut() = current();
    state
}

/// Starts a new generation and propagates it right away (from a timer: propagation needs a
/// command-like context).
fn begin(ctx: *mut raw::RedisModuleCtx) {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    unsafe {
        raw::RedisModule_CreateTimer.unwrap()(ctx, 0, Some(propagate), std::ptr::null_mut());
    }
}

extern "C" fn propagate(ctx: *mut raw::RedisModuleCtx, _data: *mut c_void) {
    unsafe {
        raw::RedisModule_Replicate.unwrap()(
            ctx,
            c"IDGEN.GENERATION".as_ptr(),
            c"l".as_ptr(),
            current_full() as i64,
        );
    }
}

fn is_primary(ctx: *mut raw::RedisModuleCtx) -> bool {
    Ctx(ctx).flags() & raw::REDISMODULE_CTX_FLAGS_MASTER != 0
}

extern "C" fn on_loading(
    ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    _data: *mut c_void,
) {
    if subevent == raw::REDISMODULE_SUBEVENT_LOADING_ENDED && is_primary(ctx) {
        begin(ctx);
    }
}

extern "C" fn on_role_changed(
    ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    _data: *mut c_void,
) {
    if subevent == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_MASTER {
        begin(ctx);
    }
}

/// Subscribes to loads and role changes; called from `init`.
pub fn subscribe(ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
    let events: [(u64, raw::RedisModuleEventCallback); 2] = [
        (raw::REDISMODULE_EVENT_LOADING, Some(on_loading)),
        (
            raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED,
            Some(on_role_changed),
        ),
    ];
    for (id, callback) in events {
        let event = raw::RedisModuleEvent { id, dataver: 1 };
        let rc = unsafe { raw::RedisModule_SubscribeToServerEvent.unwrap()(ctx, event, callback) };
        if rc != raw::REDISMODULE_OK as i32 {
            return Err(format!("cannot subscribe to server event {id}"));
        }
    }
    Ok(())
}

/// IDGEN.GENERATION g (internal: what replicas and the AOF receive when a generation begins).
/// Raises the generation, never lowers it.
pub fn generation_command(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let g = int(args[1])?;
    if g < 0 {
        return Err(Error::OutOfRange("generation", 0, i64::MAX));
    }
    raise(g as u64);
    ctx.replicate_verbatim();
    ctx.reply_int(current_full() as i64);
    Ok(())
}

/// RDB aux data (before the keyspace): the generation.
///
/// # Safety
/// Called by Redis with a valid RDB I/O handle.
pub unsafe extern "C" fn aux_save(io: *mut raw::RedisModuleIO, _when: i32) {
    raw::RedisModule_SaveUnsigned.unwrap()(io, current_full());
}

/// Reads the aux data written by `aux_save`.
///
/// # Safety
/// Called by Redis with a valid RDB I/O handle.
pub unsafe extern "C" fn aux_load(io: *mut raw::RedisModuleIO, encver: i32, _when: i32) -> i32 {
    if encver != 1 {
        return raw::REDISMODULE_ERR as i32;
    }
    match raw::load_unsigned(io) {
        Ok(g) => {
            raise(g);
            raw::REDISMODULE_OK as i32
        }
        Err(_) => raw::REDISMODULE_ERR as i32,
    }
}
