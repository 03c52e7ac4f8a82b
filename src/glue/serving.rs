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
//! O(1) per key (`datatype::serving`): nothing scans the keyspace at a load or a promotion.

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};

use redis_module::raw;

use super::barrier::barrier;
use super::eviction;
use super::ffi::{api, int, log, Ctx, RStr};
use super::rdb::{RdbIn, RdbOut};
use crate::error::{Error, Result};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The internal command that carries the generation to replicas and the AOF.
pub const GENERATION_COMMAND: &CStr = c"IDGEN.GENERATION";

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

/// The generation a reservation carries: the full current one when the key serves in it (the
/// key stores only its low 16 bits), else the key's own.
pub fn reservation_gen(key_gen: u16) -> i64 {
    if key_gen == current() {
        current_full() as i64
    } else {
        key_gen as i64
    }
}

/// Starts a new generation and propagates it right away (from a timer: propagation needs a
/// command-like context).
fn begin(ctx: *mut raw::RedisModuleCtx) {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    // SAFETY: an event callback's context; the timer takes no data.
    unsafe { api!(RedisModule_CreateTimer)(ctx, 0, Some(propagate), std::ptr::null_mut()) };
}

extern "C" fn propagate(ctx: *mut raw::RedisModuleCtx, _data: *mut c_void) {
    barrier("the generation timer", (), || {
        // SAFETY: the timer's context; the format is one integer, passed.
        unsafe {
            api!(RedisModule_Replicate)(
                ctx,
                GENERATION_COMMAND.as_ptr(),
                c"l".as_ptr(),
                current_full() as i64,
            )
        };
    })
}

/// Writes the current generation into a rewritten AOF.
pub fn rewrite_generation(io: *mut raw::RedisModuleIO) {
    // SAFETY: the AOF rewrite handle Redis passed to the callback; the format is one integer.
    unsafe {
        api!(RedisModule_EmitAOF)(
            io,
            GENERATION_COMMAND.as_ptr(),
            c"l".as_ptr(),
            current_full() as i64,
        )
    };
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
    barrier("the loading event", (), || {
        if subevent == raw::REDISMODULE_SUBEVENT_LOADING_ENDED && is_primary(ctx) {
            begin(ctx);
        }
    })
}

extern "C" fn on_role_changed(
    ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    _data: *mut c_void,
) {
    barrier("the role-changed event", (), || {
        super::persistence::refresh(ctx);
        if subevent == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_MASTER {
            begin(ctx);
        }
    })
}

/// The server events the module subscribes to.
const EVENTS: [u64; 2] = [
    raw::REDISMODULE_EVENT_LOADING,
    raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED,
];

/// The first event ID that Redis and Valkey number differently (Redis 18/19: cluster slot
/// migration and trim; Valkey 18/19: authentication attempt and atomic slot migration).
const FIRST_DIVERGENT_EVENT: u64 = 18;

// Every subscribed event means the same on Redis and Valkey.
const _: () = {
    let mut i = 0;
    while i < EVENTS.len() {
        assert!(EVENTS[i] < FIRST_DIVERGENT_EVENT);
        i += 1;
    }
};

/// The subscribed events as the load log names them.
pub const EVENT_NAMES: &str = "loading (3), replication role changed (0)";
const _: () = assert!(
    raw::REDISMODULE_EVENT_LOADING == 3 && raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED == 0
);

/// Subscribes to loads and role changes; called from `init`. The aux-data carrier
/// (`aux_methods`) is created where data types are (`datatype::register_aux`).
pub fn register(ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
    let events: [(u64, raw::RedisModuleEventCallback); 2] = [
        (EVENTS[0], Some(on_loading)),
        (EVENTS[1], Some(on_role_changed)),
    ];
    for (id, callback) in events {
        let event = raw::RedisModuleEvent { id, dataver: 1 };
        // SAFETY: init's context; the callbacks are plain functions that live forever.
        let rc = unsafe { api!(RedisModule_SubscribeToServerEvent)(ctx, event, callback) };
        if rc != raw::REDISMODULE_OK as c_int {
            return Err(format!("cannot subscribe to server event {id}"));
        }
    }
    Ok(())
}

/// The type methods of the aux-data carrier (`AUX_TYPE_NAME`): the generation saved before the
/// keyspace and loaded back.
pub fn aux_methods() -> raw::RedisModuleTypeMethods {
    // SAFETY: an all-zero methods table is valid (every callback absent).
    let mut m: raw::RedisModuleTypeMethods = unsafe { std::mem::zeroed() };
    m.version = raw::REDISMODULE_TYPE_METHOD_VERSION as u64;
    m.aux_load = Some(aux_load);
    m.aux_save = Some(aux_save);
    m.aux_save_triggers = raw::REDISMODULE_AUX_BEFORE_RDB as c_int;
    m
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

// ---- RDB aux data --------------------------------------------------------------------------------

/// The aux data (the serving generation, before the keyspace) rides on a data type of its own
/// that never holds a key, so its version moves independently of every generator type's.
pub const AUX_TYPE_NAME: &CStr = c"idgen-aux";
/// Aux encoding version 1: the generation as one unsigned integer.
pub const AUX_ENCVER_1: i32 = 1;
/// Aux encoding version 2: the generation, then the records of evicted generators
/// (`eviction::save`).
pub const AUX_ENCVER_2: i32 = 2;
pub const AUX_ENCVER: i32 = AUX_ENCVER_2;

/// The generator type that carried the aux data before it had a type of its own (encoding 1 of
/// `idgen-sfk`): files written then still hold it there, so that type keeps a loader for it.
const LEGACY_AUX_CARRIER: &CStr = c"idgen-sfk";

/// Gives the legacy aux carrier its loader (no saver: new files use `idgen-aux`).
pub fn legacy_aux(type_name: &CStr, m: &mut raw::RedisModuleTypeMethods) {
    if type_name == LEGACY_AUX_CARRIER {
        m.aux_load = Some(aux_load);
    }
}

extern "C" fn aux_save(io: *mut raw::RedisModuleIO, _when: c_int) {
    barrier("aux_save", (), || {
        let mut w = RdbOut(io);
        w.u64(current_full());
        eviction::save(&mut w);
    })
}

/// Reads the aux data: versions 1 and 2 from `idgen-aux`, and version 1 from the legacy carrier,
/// whose encoding-1 files are the only ones that hold it there.
extern "C" fn aux_load(io: *mut raw::RedisModuleIO, encver: c_int, _when: c_int) -> c_int {
    barrier("aux_load", raw::REDISMODULE_ERR as c_int, || {
        let mut r = RdbIn(io);
        let loaded = match encver {
            AUX_ENCVER_1 => r.u64().map(raise),
            AUX_ENCVER_2 => r.u64().map(raise).and_then(|()| eviction::load(&mut r)),
            _ => Err("an unknown aux encoding version"),
        };
        match loaded {
            Ok(()) => raw::REDISMODULE_OK as c_int,
            Err(why) => {
                log(
                    std::ptr::null_mut(),
                    c"warning",
                    &format!("refusing the idgen aux data (encoding {encver}): {why}"),
                );
                raw::REDISMODULE_ERR as c_int
            }
        }
    })
}
