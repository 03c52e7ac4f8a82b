//! Generators that Redis evicts (`maxmemory` with an `allkeys-*` policy, or `volatile-*` on a key
//! with a TTL) never reissue a value: the module keeps a record of what the evicted key held (its
//! type, its newest reservation and that reservation's serving generation, `core::evicted`), and
//! the next write command on that name revives the key from the record, one safety gap above the
//! reservation, as a promotion would (`datatype::revive`).
//!
//! How an eviction is seen: Redis calls the type's `unlink2` with the key's name and value just
//! before it deletes the key, whatever the reason (`datatype::unlink2` hands the reservation to
//! [`unlinked`], which keeps it as the one pending unlink), then, for an eviction only, sends the
//! keyspace event `evicted` (class `e`; modules receive it whatever `notify-keyspace-events`
//! says). [`on_evicted`] turns the pending unlink of that name into a record. A `DEL`, `UNLINK`,
//! expiry or overwrite sends no `evicted` event, so it leaves no record: the user asked for a
//! fresh generator. Unlinks are only kept while the server can evict (a `maxmemory` and a policy
//! other than `noeviction`), so that a `DEL` costs nothing otherwise.
//!
//! Records reach replicas and the AOF as `IDGEN.EVICTED key type gen reservation...` (internal),
//! after the eviction's own `DEL`; a revival sends the type's reservation, whose creation of the
//! key takes the record on the receiver too ([`forget`]). They persist in the RDB aux data
//! (`serving`'s encoding 2), so a restart and a full sync keep them; `FLUSHALL` / `FLUSHDB` forget
//! the records of what they flush. At most `idgen.max-eviction-records` are kept; beyond that the
//! oldest record is dropped (counted in `INFO` and logged once).

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

use redis_module::raw;

use super::barrier::barrier;
use super::config;
use super::ffi::{api, bytes, int, log, Args, Ctx, RStr};
use super::rdb::{RdbIn, RdbOut, Refusal};
use super::stats::Counter;
use crate::core::evicted::{Record, Records, MAX_ARGS, MAX_ARG_LEN, MAX_NAME_LEN, TYPE_NAME_LEN};
use crate::error::{Error, Result};

/// The internal command that carries a record to replicas and the AOF.
pub const EVICTED_COMMAND: &CStr = c"IDGEN.EVICTED";

/// Revives the key `name` (open it for writing) from `record` when it is empty: `Ok(true)` when it
/// did. Written once, generic over the type (`datatype::revive`).
pub type Reviver = fn(&Ctx, RStr, &Record) -> Result<bool>;
/// Whether a record's reservation parses as the type's (checked where records come in).
pub type Checker = fn(&Record) -> bool;

struct Kind {
    name: [u8; TYPE_NAME_LEN],
    revive: Reviver,
    check: Checker,
}

static KINDS: Mutex<Vec<Kind>> = Mutex::new(Vec::new());
static RECORDS: LazyLock<Mutex<Records>> = LazyLock::new(|| Mutex::new(Records::new()));
/// How many records are held: the command path reads only this while it is 0.
static HELD: AtomicUsize = AtomicUsize::new(0);
/// The last unlink of a generator while the server can evict: (db, name, record).
static PENDING: Mutex<Option<(i32, Vec<u8>, Record)>> = Mutex::new(None);
/// Whether the server can evict now (a `maxmemory` and a policy other than `noeviction`).
static EVICTABLE: AtomicBool = AtomicBool::new(false);
/// The `maxmemory-policy` last read, for INFO and to log a change once.
static POLICY: Mutex<String> = Mutex::new(String::new());
static DROP_LOGGED: AtomicBool = AtomicBool::new(false);

/// Generators evicted (records made) since the module loaded.
pub static EVICTED: Counter = Counter::new();
/// Generators revived from a record since the module loaded.
pub static REVIVED: Counter = Counter::new();

fn records() -> MutexGuard<'static, Records> {
    // The commands and callbacks run on Redis's main thread; a poisoned lock (a panic caught by a
    // barrier while it was held) still guards consistent data: every change is one call.
    RECORDS.lock().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &'static Mutex<T>) -> MutexGuard<'static, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn limit() -> usize {
    config::max_eviction_records().max(0) as usize
}

/// Registers a generator type (from `datatype`, at load).
pub fn register_kind(name: &CStr, revive: Reviver, check: Checker) {
    let mut n = [0u8; TYPE_NAME_LEN];
    n.copy_from_slice(&name.to_bytes()[..TYPE_NAME_LEN]);
    lock(&KINDS).push(Kind {
        name: n,
        revive,
        check,
    });
}

fn kind(name: &[u8]) -> Option<(Reviver, Checker)> {
    lock(&KINDS)
        .iter()
        .find(|k| k.name == name)
        .map(|k| (k.revive, k.check))
}

/// Whether a record is one this module can revive: a known type whose reserve command parses
/// its reservation (`Record::new` kept the limits).
fn is_valid(r: &Record) -> bool {
    kind(&r.kind).is_some_and(|(_, check)| check(r))
}

/// Whether unlinks must be kept (the server can evict now).
#[inline]
pub fn evictable() -> bool {
    EVICTABLE.load(Ordering::Relaxed)
}

/// A generator key is being unlinked (from the type's `unlink2`, only while [`evictable`]): kept
/// until the `evicted` event says whether it was an eviction.
pub fn unlinked(db: i32, name: &[u8], record: Record) {
    *lock(&PENDING) = Some((db, name.to_vec(), record));
}

fn set_held(r: &Records) {
    HELD.store(r.len(), Ordering::Relaxed);
}

/// Keeps a record; logs the first drop to the bound.
fn keep(db: i32, name: &[u8], record: Record) {
    let mut r = records();
    let dropped = r.insert(db, name, record, limit());
    set_held(&r);
    drop(r);
    if dropped > 0 && !DROP_LOGGED.swap(true, Ordering::Relaxed) {
        log(
            std::ptr::null_mut(),
            c"warning",
            &format!(
                "eviction records are at idgen.max-eviction-records ({}): the oldest are dropped, and a generator whose record was dropped starts afresh when it is used again (INFO idgen eviction_records_dropped)",
                limit()
            ),
        );
    }
}

/// The keyspace-event callback for `evicted`.
extern "C" fn on_evicted(
    ctx: *mut raw::RedisModuleCtx,
    _type: c_int,
    _event: *const std::ffi::c_char,
    key: *mut raw::RedisModuleString,
) -> c_int {
    barrier("the evicted event", 0, || {
        let ctx = Ctx(ctx);
        let db = ctx.db();
        let name = bytes(key);
        let pending = lock(&PENDING).take();
        let Some((pdb, pname, record)) = pending else {
            return 0;
        };
        if pdb != db || pname != name {
            return 0;
        }
        EVICTED.add(1);
        if EVICTED.get() == 1 {
            log(
                ctx.0,
                c"notice",
                "a generator key was evicted (maxmemory): its reservation is kept, and the name resumes above it when it is used again",
            );
        }
        // To replicas and the AOF first, borrowing the record.
        if ctx.flags() & raw::REDISMODULE_CTX_FLAGS_MASTER != 0 {
            let mut a = Args::default();
            a.push_str(&record.kind).push(record.gen);
            for arg in record.args() {
                a.push_str(arg);
            }
            ctx.replicate(EVICTED_COMMAND, key, &a);
        }
        keep(db, name, record);
        0
    })
}

/// Revives `name` from its record, if it has one and is empty: called for every client write
/// command before its handler; one load while no record is held.
#[inline(always)]
pub fn revive(ctx: &Ctx, name: RStr) -> Result<()> {
    if HELD.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    revive_held(ctx, name)
}

#[cold]
#[inline(never)]
fn revive_held(ctx: &Ctx, name: RStr) -> Result<()> {
    let db = ctx.db();
    let key = bytes(name);
    let Some(record) = records().get(db, key).cloned() else {
        return Ok(());
    };
    let Some((revive, _)) = kind(&record.kind) else {
        return Ok(());
    };
    if revive(ctx, name, &record)? {
        let mut r = records();
        r.take(db, key);
        set_held(&r);
        REVIVED.add(1);
    }
    Ok(())
}

/// The key `name` was created from a reservation (a replica or the AOF applying a revival): its
/// record, if any, is spent.
pub fn forget(ctx: &Ctx, name: RStr) {
    if HELD.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut r = records();
    r.take(ctx.db(), bytes(name));
    set_held(&r);
}

/// `IDGEN.EVICTED key type gen reservation...` (internal: what replicas and the AOF receive when
/// a generator is evicted): keeps the record.
pub fn evicted_command(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    if args.len() < 4 || args.len() - 4 > MAX_ARGS {
        return Err(Error::Arity);
    }
    let kind_name = bytes(args[2]);
    let gen = int(args[3])?;
    if gen < 0 {
        return Err(Error::OutOfRange("generation", 0, i64::MAX));
    }
    let mut kind = [0u8; TYPE_NAME_LEN];
    if kind_name.len() != TYPE_NAME_LEN {
        return Err(Error::BadEvictionRecord);
    }
    kind.copy_from_slice(kind_name);
    let record = Record::new(kind, gen as u64, args[4..].iter().map(|a| bytes(*a)))
        .ok_or(Error::BadEvictionRecord)?;
    if !is_valid(&record) {
        return Err(Error::BadEvictionRecord);
    }
    let name = bytes(args[1]);
    if name.len() > MAX_NAME_LEN {
        return Err(Error::BadEvictionRecord);
    }
    keep(ctx.db(), name, record);
    ctx.replicate_verbatim();
    ctx.reply_ok();
    Ok(())
}

// ---- flushes ----------------------------------------------------------------------------------

extern "C" fn on_flush(
    _ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    data: *mut c_void,
) {
    barrier("the flush event", (), || {
        if subevent != raw::REDISMODULE_SUBEVENT_FLUSHDB_START || data.is_null() {
            return;
        }
        // SAFETY: for this event Redis passes a `RedisModuleFlushInfo`, valid for the call.
        let db = unsafe { (*(data as *const raw::RedisModuleFlushInfo)).dbnum };
        let mut r = records();
        r.clear((db >= 0).then_some(db));
        set_held(&r);
        *lock(&PENDING) = None;
    })
}

// ---- the eviction policy ---------------------------------------------------------------------

/// Reads `maxmemory-policy` and `maxmemory`; logs a policy that can evict generator keys when it
/// is first seen. Called at load and at every config change.
pub fn refresh(ctx: *mut raw::RedisModuleCtx) {
    let c = Ctx(ctx);
    let policy = c.config_get(c"maxmemory-policy").unwrap_or_default();
    let maxmemory: u64 = c
        .config_get(c"maxmemory")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let evicts = policy != "noeviction" && !policy.is_empty();
    EVICTABLE.store(evicts && maxmemory > 0, Ordering::Relaxed);
    let mut last = lock(&POLICY);
    if *last != policy {
        if evicts {
            let which = if policy.starts_with("allkeys-") {
                "every generator key"
            } else {
                "generator keys that carry a TTL"
            };
            log(
                ctx,
                c"warning",
                &format!(
                    "maxmemory-policy {policy} can evict {which}: an evicted generator is kept as a record (its reservation) and resumes above it when used again, at most idgen.max-eviction-records of them (INFO idgen eviction_records); noeviction keeps generator keys in memory, and so does a volatile-* policy while they carry no TTL"
                ),
            );
        }
        *last = policy;
    }
}

/// Subscribes to evictions and flushes and reads the policy; called from `init`.
pub fn register(ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
    // SAFETY: init's context; the callback is a plain function that lives forever.
    let rc = unsafe {
        api!(RedisModule_SubscribeToKeyspaceEvents)(
            ctx,
            raw::REDISMODULE_NOTIFY_EVICTED,
            Some(on_evicted),
        )
    };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err("cannot subscribe to evicted keyspace events".into());
    }
    let event = raw::RedisModuleEvent {
        id: raw::REDISMODULE_EVENT_FLUSHDB,
        dataver: 1,
    };
    // SAFETY: as above.
    let rc = unsafe { api!(RedisModule_SubscribeToServerEvent)(ctx, event, Some(on_flush)) };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err("cannot subscribe to the flush server event".into());
    }
    refresh(ctx);
    Ok(())
}

// ---- INFO ---------------------------------------------------------------------------------------

/// (records held, their bytes, records dropped to the bound).
pub fn info_numbers() -> (u64, u64, u64) {
    let r = records();
    (r.len() as u64, r.bytes() as u64, r.dropped())
}

/// The `maxmemory-policy` in force, and whether it can evict generator keys now.
pub fn policy() -> (String, bool) {
    (lock(&POLICY).clone(), evictable())
}

// ---- RDB aux data -----------------------------------------------------------------------------

/// Writes every record, oldest first: the count, then per record the database, the name, the
/// type, the generation, the number of reservation arguments and each of them.
pub fn save(w: &mut RdbOut) {
    let r = records();
    w.u64(r.len() as u64);
    for (db, name, rec) in r.iter() {
        w.i64(db as i64);
        w.bytes(name);
        w.bytes(&rec.kind);
        w.u64(rec.gen);
        w.u64(rec.args().count() as u64);
        for a in rec.args() {
            w.bytes(a);
        }
    }
}

/// Reads what `save` wrote, checking every field; keeps the records.
pub fn load(r: &mut RdbIn) -> std::result::Result<(), Refusal> {
    let n = r.u64()?;
    if n > config::MAX_EVICTION_RECORDS_MAX as u64 {
        return Err("eviction record count");
    }
    for _ in 0..n {
        let db = r.i64()?;
        let db = i32::try_from(db)
            .ok()
            .filter(|d| *d >= 0)
            .ok_or("eviction record database")?;
        let name = r.bytes(MAX_NAME_LEN, "eviction record name")?;
        let kind_name = r.bytes(TYPE_NAME_LEN, "eviction record type")?;
        let kind: [u8; TYPE_NAME_LEN] = kind_name.try_into().map_err(|_| "eviction record type")?;
        let gen = r.u64()?;
        let nargs = r.u64()?;
        if nargs > MAX_ARGS as u64 {
            return Err("eviction record arguments");
        }
        let mut args: Vec<Vec<u8>> = Vec::new();
        for _ in 0..nargs {
            args.push(r.bytes(MAX_ARG_LEN, "eviction record argument")?);
        }
        let record = Record::new(kind, gen, args.iter().map(|a| &a[..]))
            .ok_or("eviction record arguments")?;
        if !is_valid(&record) {
            return Err("eviction record reservation");
        }
        keep(db, &name, record);
    }
    Ok(())
}
