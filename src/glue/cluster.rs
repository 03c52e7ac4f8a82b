//! Redis Cluster: worker-ID announcements over the cluster bus, `IDGEN.WORKERS`, the INFO
//! fields of clashes, and the atomic-slot-migration option of Valkey 9. The table and its rules
//! are in `crate::core::cluster`; this file moves messages in and out of it.
//!
//! Every node (primaries and replicas: a replica may be promoted) broadcasts its
//! `idgen.worker-id` from a timer once a second, and at once when `CONFIG SET` changes it. The
//! cluster-message API exists only as raw bindings in redis-module 2.0.8 and a server may lack
//! it (a NULL pointer): every use checks first. Outside cluster mode nothing is registered and
//! nothing is sent. Nothing here runs on a command's hot path.

use std::ffi::{c_char, c_int, c_uchar, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use redis_module::raw;

use super::barrier::barrier;
use super::ffi::{api, log, Ctx, RStr};
use crate::core::cluster::{self as core, Event, NodeId, Peers, NODE_ID_LEN};
use crate::error::Result;

/// Whether the node runs in cluster mode with the message API (set once, in `init`).
static ACTIVE: AtomicBool = AtomicBool::new(false);

static PEERS: Mutex<Peers> = Mutex::new(Peers::new());

fn peers() -> MutexGuard<'static, Peers> {
    // Only the main thread takes it; a panic while it was held leaves a usable table.
    PEERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn mine() -> u16 {
    super::config::worker_id() as u16
}

/// Announcements age by a monotonic clock: a wall-clock step does not age or refresh them.
fn now() -> i64 {
    super::clock::monotonic_ms()
}

/// Starts announcing when the node runs in cluster mode; called from `init`.
pub fn register(ctx: *mut raw::RedisModuleCtx) {
    if Ctx(ctx).flags() & raw::REDISMODULE_CTX_FLAGS_CLUSTER == 0 {
        return;
    }
    // SAFETY: reading the API table filled at load (see `api!`); a missing entry is None.
    let (recv, send) = unsafe {
        (
            raw::RedisModule_RegisterClusterMessageReceiver,
            raw::RedisModule_SendClusterMessage,
        )
    };
    let Some(recv) = recv else {
        log(
            ctx,
            c"warning",
            "cluster mode, but this server has no cluster-message API: worker-id clashes are not detected",
        );
        return;
    };
    if send.is_none() {
        log(
            ctx,
            c"warning",
            "cluster mode, but this server cannot send cluster messages: worker-id clashes are not detected",
        );
        return;
    }
    // SAFETY: init's context; the receiver is a plain function that lives forever.
    unsafe { recv(ctx, core::MSG_TYPE, Some(receive)) };
    ACTIVE.store(true, Ordering::Relaxed);
    // SAFETY: init's context; the timer takes no data. The first one fires soon, so that a node
    // is known to the others shortly after the bus links come up.
    unsafe { api!(RedisModule_CreateTimer)(ctx, 100, Some(tick), std::ptr::null_mut()) };
    log(
        ctx,
        c"notice",
        &format!(
            "cluster mode: announcing idgen.worker-id every {} ms and watching for clashes",
            core::ANNOUNCE_MS
        ),
    );
}

/// Broadcasts this node's worker ID.
fn announce(ctx: *mut raw::RedisModuleCtx) {
    // SAFETY: as in `register`.
    let Some(send) = (unsafe { raw::RedisModule_SendClusterMessage }) else {
        return;
    };
    let msg = core::encode(mine());
    // SAFETY: a timer's or config callback's context; a NULL target is a broadcast; Redis copies
    // the payload. A broadcast fails only without links, which the next tick retries.
    unsafe {
        send(
            ctx,
            std::ptr::null(),
            core::MSG_TYPE,
            msg.as_ptr() as *const c_char,
            msg.len() as u32,
        )
    };
}

/// Logs the clash changes of one evaluation.
fn report(ctx: *mut raw::RedisModuleCtx, events: impl IntoIterator<Item = Event>) {
    for e in events {
        match e {
            Event::Clash { node, worker } => log(
                ctx,
                c"warning",
                &format!(
                    "worker-id clash: node {} ({}) announces idgen.worker-id {worker}, the same as \
                     this node's; snowflake IDs of the two nodes can collide. Give one of them \
                     another id: CONFIG SET idgen.worker-id <n>, then CONFIG REWRITE",
                    show(&node),
                    addr(ctx, &node).unwrap_or_else(|| "address unknown".into()),
                ),
            ),
            Event::Cleared { node } => log(
                ctx,
                c"notice",
                &format!("worker-id clash with node {} is over", show(&node)),
            ),
        }
    }
}

fn show(node: &NodeId) -> &str {
    std::str::from_utf8(node).unwrap_or("?")
}

/// `ip:port` of a node, when the server knows it.
fn addr(ctx: *mut raw::RedisModuleCtx, node: &NodeId) -> Option<String> {
    // SAFETY: as in `register`.
    let info = unsafe { raw::RedisModule_GetClusterNodeInfo }?;
    let mut id = [0u8; NODE_ID_LEN + 1];
    id[..NODE_ID_LEN].copy_from_slice(node);
    let mut ip = [0 as c_char; 64];
    let mut port: c_int = 0;
    // SAFETY: `id` is NUL-terminated; `ip` holds more than the server's 46-byte address buffer;
    // master id and flags are not asked for (NULL).
    let rc = unsafe {
        info(
            ctx,
            id.as_ptr() as *const c_char,
            ip.as_mut_ptr(),
            std::ptr::null_mut(),
            &mut port,
            std::ptr::null_mut(),
        )
    };
    if rc != raw::REDISMODULE_OK as c_int {
        return None;
    }
    // SAFETY: the server wrote a NUL-terminated address into `ip` (zeroed beforehand).
    let ip = unsafe { CStr::from_ptr(ip.as_ptr()) };
    Some(format!("{}:{port}", ip.to_string_lossy()))
}

/// This node's cluster ID, when it has one.
fn my_id() -> Option<NodeId> {
    if !ACTIVE.load(Ordering::Relaxed) {
        return None;
    }
    // SAFETY: as in `register`.
    let f = unsafe { raw::RedisModule_GetMyClusterID }?;
    // SAFETY: in cluster mode the server returns its node name, at least 40 bytes.
    let p = unsafe { f() };
    if p.is_null() {
        return None;
    }
    let mut id = [0u8; NODE_ID_LEN];
    // SAFETY: as above: 40 readable bytes (not NUL-terminated).
    id.copy_from_slice(unsafe { std::slice::from_raw_parts(p as *const u8, NODE_ID_LEN) });
    Some(id)
}

extern "C" fn receive(
    ctx: *mut raw::RedisModuleCtx,
    sender: *const c_char,
    _type: u8,
    payload: *const c_uchar,
    len: u32,
) {
    barrier("the cluster message receiver", (), || {
        if sender.is_null() || (payload.is_null() && len > 0) {
            return;
        }
        let mut node = [0u8; NODE_ID_LEN];
        // SAFETY: the server passes the sender's 40-byte node name.
        node.copy_from_slice(unsafe {
            std::slice::from_raw_parts(sender as *const u8, NODE_ID_LEN)
        });
        let body = if len == 0 {
            &[][..]
        } else {
            // SAFETY: the server passes `len` bytes of payload, valid for the call.
            unsafe { std::slice::from_raw_parts(payload, len as usize) }
        };
        let Some(worker) = core::decode(body) else {
            return;
        };
        let events = peers().heard(&node, worker, now(), mine());
        report(ctx, events);
    })
}

extern "C" fn tick(ctx: *mut raw::RedisModuleCtx, _data: *mut c_void) {
    barrier("the worker-id announcement timer", (), || {
        announce(ctx);
        let events = peers().refresh(now(), mine());
        report(ctx, events);
    });
    // Re-armed outside the barrier's closure, so that a panic above cannot stop the announcements.
    // SAFETY: the timer's context; no data.
    unsafe {
        api!(RedisModule_CreateTimer)(ctx, core::ANNOUNCE_MS, Some(tick), std::ptr::null_mut())
    };
}

/// `idgen.worker-id` was set (`CONFIG SET`): announce at once and evaluate the clashes again.
pub extern "C" fn worker_id_applied(
    ctx: *mut raw::RedisModuleCtx,
    _privdata: *mut c_void,
    _err: *mut *mut raw::RedisModuleString,
) -> c_int {
    barrier("the worker-id apply callback", (), || {
        if ACTIVE.load(Ordering::Relaxed) {
            announce(ctx);
            let events = peers().refresh(now(), mine());
            report(ctx, events);
        }
    });
    raw::REDISMODULE_OK as c_int
}

/// The INFO fields: nodes heard from, how many of them announce this node's worker ID, and
/// their node IDs (comma-separated).
pub fn info_fields() -> (u64, u64, String) {
    let (now, mine) = (now(), mine());
    // INFO also runs inside a crash report, maybe while the table is held: never wait for it.
    let t = match PEERS.try_lock() {
        Ok(t) => t,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return (0, 0, "?".into()),
    };
    let clashing: Vec<&str> = t.clashes(now, mine).map(|p| show(&p.node)).collect();
    (
        t.list(now).count() as u64,
        clashing.len() as u64,
        clashing.join(","),
    )
}

/// IDGEN.WORKERS: this node, then every node heard from recently, each with its worker ID, the
/// age of its announcement and whether it clashes with this node.
pub fn workers_command(ctx: &Ctx, _args: &[RStr]) -> Result<()> {
    let (now, mine) = (now(), mine());
    let t = peers();
    let me = my_id();
    let clashes = t.clashes(now, mine).count() as i64;
    ctx.reply_array(1 + t.list(now).count());
    let entry = |node: Option<&NodeId>, worker: u16, age: i64, clash: i64, myself: i64| {
        ctx.reply_map(6);
        ctx.reply_bulk(b"node");
        match node {
            Some(n) => ctx.reply_bulk(n),
            None => ctx.reply_null(),
        }
        ctx.reply_bulk(b"addr");
        match node.and_then(|n| addr(ctx.0, n)) {
            Some(a) => ctx.reply_bulk(a.as_bytes()),
            None => ctx.reply_null(),
        }
        for (name, v) in [
            (&b"worker-id"[..], worker as i64),
            (b"age-ms", age),
            (b"clash", clash),
            (b"myself", myself),
        ] {
            ctx.reply_bulk(name);
            ctx.reply_int(v);
        }
    };
    entry(me.as_ref(), mine, 0, clashes.min(1), 1);
    for p in t.list(now) {
        let clash = (p.worker == mine) as i64;
        entry(Some(&p.node), p.worker, (now - p.heard_ms).max(0), clash, 0);
    }
    Ok(())
}

// ---- Valkey atomic slot migration --------------------------------------------------------------

/// `VALKEYMODULE_OPTIONS_HANDLE_ATOMIC_SLOT_MIGRATION` (Valkey 9.0+; not in redis-module's
/// header). Without it Valkey 9 refuses `CLUSTER MIGRATESLOTS` while the module is loaded.
const OPTIONS_HANDLE_ATOMIC_SLOT_MIGRATION: c_int = 1 << 5;

/// The module options to add on this server: the atomic-slot-migration option on Valkey 9 and
/// later (told by `valkey_version` in INFO server; on Redis that bit means nothing and is not
/// set). Logs what it found.
pub fn server_options(ctx: *mut raw::RedisModuleCtx) -> c_int {
    let Some(version) = valkey_version(ctx) else {
        return 0;
    };
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major >= 9 {
        log(
            ctx,
            c"notice",
            &format!(
                "Valkey {version}: declaring atomic slot migration support (CLUSTER MIGRATESLOTS); \
                 migrated generators resume above their marks"
            ),
        );
        OPTIONS_HANDLE_ATOMIC_SLOT_MIGRATION
    } else {
        0
    }
}

fn valkey_version(ctx: *mut raw::RedisModuleCtx) -> Option<String> {
    // SAFETY: as in `register`.
    let (get, field, free) = unsafe {
        (
            raw::RedisModule_GetServerInfo?,
            raw::RedisModule_ServerInfoGetFieldC?,
            raw::RedisModule_FreeServerInfo?,
        )
    };
    // SAFETY: init's context; the section name is a static C string.
    let info = unsafe { get(ctx, c"server".as_ptr()) };
    if info.is_null() {
        return None;
    }
    // SAFETY: `info` is live until freed below; the field name is a static C string; the value
    // is a NUL-terminated string owned by `info`, copied before it is freed.
    let v = unsafe {
        let p = field(info, c"valkey_version".as_ptr());
        let v = (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned());
        free(ctx, info);
        v
    };
    v
}
