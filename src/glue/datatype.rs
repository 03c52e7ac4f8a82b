//! Everything a replicated generator type needs from Redis, written once and generic over the
//! type: creating the data type, RDB save and validated load, AOF rewrite, digest, memory usage,
//! free, the reservation command that carries its state to replicas and the AOF, and its resume
//! after a load or a promotion. A type (see `crate::types`) implements [`Generator`] and lists
//! its commands; it keeps only its commands and its encoding.

use std::ffi::{c_char, c_int, c_void, CStr};

use redis_module::raw;

use super::barrier::barrier;
use super::command::{self, Command, CommandSet};
use super::eviction;
use super::ffi::{
    self, api, emit_aof, int, with_strings, Arg, Args, Ctx, Key, ModType, RStr, Slot, Stored,
    ValueMut,
};
use super::rdb::{RdbIn, RdbOut, Refusal};
use super::serving;
use super::stats;
use crate::core::evicted::{Record, TYPE_NAME_LEN};
use crate::core::Now;
use crate::error::{Error, Result};

/// A generator data type: its state, how it persists and replicates, how it resumes.
pub trait Generator: Stored + CommandSet {
    /// The data type's name: exactly 9 characters, part of every RDB file that holds one.
    const NAME: &'static CStr;
    /// The encoding version `save` writes; `load` accepts this one and every older one.
    const ENCVER: i32;
    /// The internal command that carries a key's reservation to replicas and the AOF:
    /// `<RESERVE> key <reservation args> <generation>`.
    const RESERVE: &'static CStr;
    /// What `parse_reservation` reads.
    type Reservation;

    /// The type's handle, set when the module loads.
    fn handle() -> &'static ModType<Self>;

    /// Writes the state (encoding `ENCVER`).
    fn save(&self, w: &mut RdbOut);
    /// Reads a state written with encoding `encver`, checking every field.
    fn load(r: &mut RdbIn, encver: i32) -> std::result::Result<Self, Refusal>;

    /// The reservation's arguments (after the key, without the generation): absolute and
    /// idempotent, so that applying it twice or late changes nothing.
    fn reservation<'a>(&'a self, out: &mut Args<'a>);
    /// The fields a primary and its replica agree on (`DEBUG DIGEST`).
    fn digest<'a>(&'a self, out: &mut Args<'a>);
    /// Every group of digest fields, in order, for a state that has more than `digest` holds
    /// (a pool's per-ID records). Default: the one group of `digest`.
    fn digest_groups(&self, each: &mut dyn FnMut(&Args)) {
        let mut a = Args::default();
        self.digest(&mut a);
        each(&a);
    }
    /// The commands that rebuild the whole state in a rewritten AOF (after the generation),
    /// each absolute and idempotent. Default: the reservation, which is the whole replicated
    /// state of a type whose effects are reservations only.
    fn aof_commands(&self, emit: &mut dyn FnMut(&'static CStr, &Args)) {
        emit(Self::RESERVE, &reservation_args(self));
    }
    /// Parses the reservation's arguments (after the key, without the generation).
    fn parse_reservation(args: &[RStr]) -> Result<Self::Reservation>;
    /// A new key's state for a reservation (then `apply_reservation` raises it).
    fn from_reservation(r: &Self::Reservation) -> Self;
    /// Raises the state to the reservation (never lowers anything); `LayoutMismatch` when the
    /// reservation is for other options.
    fn apply_reservation(&mut self, r: &Self::Reservation) -> Result<()>;

    /// The serving generation of the newest reservation this state reflects (low 16 bits).
    fn gen(&self) -> u16;
    fn set_gen(&mut self, gen: u16);
    /// Resumes `gaps` safety gaps above the reservation (after a load or a promotion), at
    /// server time `now` (unix ms; a pool's resume window starts then).
    fn resume_gaps(&mut self, gaps: u64, now: i64);

    /// Whether the state owns heap memory beyond its own struct (`owned_heap`). False by
    /// default, so that `MEMORY USAGE` of a fixed-size type never decodes a compact form.
    const OWNS_HEAP: bool = false;
    /// Heap bytes the state owns beyond its own struct (collections, names).
    fn owned_heap(&self) -> usize {
        0
    }
}

// ---- registration ------------------------------------------------------------------------------

/// A type as `lib.rs` lists it: registers its data type and its commands.
pub trait Registered: Sync {
    fn register(&self, ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String>;
    fn commands(&self) -> &'static [Command];
}

/// The registration of generator type `T`.
pub struct Type<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Type<T> {
    pub const fn new() -> Self {
        Type(std::marker::PhantomData)
    }
}

impl<T> Default for Type<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Generator> Registered for Type<T> {
    fn register(&self, ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
        // SAFETY: an all-zero methods table is valid (every callback absent); the used ones are
        // set below.
        let mut m: raw::RedisModuleTypeMethods = unsafe { std::mem::zeroed() };
        m.version = raw::REDISMODULE_TYPE_METHOD_VERSION as u64;
        m.rdb_load = Some(rdb_load::<T>);
        m.rdb_save = Some(rdb_save::<T>);
        m.aof_rewrite = Some(aof_rewrite::<T>);
        m.digest = Some(digest::<T>);
        m.free = Some(free::<T>);
        m.mem_usage = Some(mem_usage::<T>);
        m.unlink2 = Some(unlink2::<T>);
        serving::legacy_aux(T::NAME, &mut m);
        let t = create_type(ctx, T::NAME, T::ENCVER, &mut m)?;
        T::handle().set_raw(t);
        eviction::register_kind(T::NAME, revive::<T>, check::<T>);
        command::register::<T>(ctx)
    }
    fn commands(&self) -> &'static [Command] {
        T::list()
    }
}

/// Creates the data type that carries the RDB aux data of the serving generations
/// (`serving::aux_methods`); called from `init` after the generator types.
pub fn register_aux(ctx: *mut raw::RedisModuleCtx) -> std::result::Result<(), String> {
    let mut m = serving::aux_methods();
    create_type(ctx, serving::AUX_TYPE_NAME, serving::AUX_ENCVER, &mut m).map(|_| ())
}

/// Creates a data type (called from `init`).
pub fn create_type(
    ctx: *mut raw::RedisModuleCtx,
    name: &CStr,
    encver: i32,
    methods: &mut raw::RedisModuleTypeMethods,
) -> std::result::Result<*mut raw::RedisModuleType, String> {
    // SAFETY: called from the module's init with its context; Redis copies the methods table.
    let t = unsafe { api!(RedisModule_CreateDataType)(ctx, name.as_ptr(), encver, methods) };
    if t.is_null() {
        Err(format!("cannot create data type {name:?}"))
    } else {
        Ok(t)
    }
}

// ---- the type methods, generic over the type ---------------------------------------------------

extern "C" fn rdb_load<T: Generator>(io: *mut raw::RedisModuleIO, encver: c_int) -> *mut c_void {
    barrier("rdb_load", std::ptr::null_mut(), || {
        let mut r = RdbIn(io);
        let loaded = if (1..=T::ENCVER).contains(&encver) {
            T::load(&mut r, encver)
        } else {
            Err("an unknown encoding version")
        };
        match loaded {
            Ok(mut state) => {
                // A value loaded at startup or by a replica keeps the generation it was reserved
                // in; one that comes from RESTORE carries another dataset's numbering, so it is
                // made one behind: it resumes once at its first use.
                if !r.is_dataset_load() {
                    state.set_gen(serving::one_behind());
                }
                ffi::into_ptr(state)
            }
            Err(why) => {
                ffi::log(
                    std::ptr::null_mut(),
                    c"warning",
                    &format!(
                        "refusing to load a {:?} value (encoding {encver}): {why}",
                        T::NAME
                    ),
                );
                std::ptr::null_mut()
            }
        }
    })
}

extern "C" fn rdb_save<T: Generator>(io: *mut raw::RedisModuleIO, value: *mut c_void) {
    barrier("rdb_save", (), || {
        // SAFETY: Redis passes a value of this type, made by `into_ptr`.
        unsafe { ffi::with_ptr::<T, _>(value, |s| s.save(&mut RdbOut(io))) }
    })
}

extern "C" fn aof_rewrite<T: Generator>(
    io: *mut raw::RedisModuleIO,
    key: RStr,
    value: *mut c_void,
) {
    barrier("aof_rewrite", (), || {
        // There is no per-rewrite hook, so the generation goes before every key (idempotent).
        serving::rewrite_generation(io);
        // SAFETY: as in `rdb_save`.
        unsafe {
            ffi::with_ptr::<T, _>(value, |s| {
                s.aof_commands(&mut |cmd, args| emit_aof(io, cmd, key, args))
            })
        };
    })
}

extern "C" fn digest<T: Generator>(md: *mut raw::RedisModuleDigest, value: *mut c_void) {
    barrier("digest", (), || {
        let mut add = |a: &Args| {
            for arg in a.as_slice().iter().copied() {
                match arg {
                    Arg::Int(v) => {
                        for half in [(v >> 64) as i64, v as i64] {
                            // SAFETY: `md` is the digest handle Redis passed to this callback.
                            unsafe { api!(RedisModule_DigestAddLongLong)(md, half) };
                        }
                    }
                    // SAFETY: as above; Redis reads `b.len()` bytes from `b`.
                    Arg::Str(b) => unsafe {
                        api!(RedisModule_DigestAddStringBuffer)(
                            md,
                            b.as_ptr() as *const c_char,
                            b.len(),
                        )
                    },
                }
            }
        };
        // SAFETY: as in `rdb_save`.
        unsafe { ffi::with_ptr::<T, _>(value, |s| s.digest_groups(&mut add)) };
        // SAFETY: as above.
        unsafe { api!(RedisModule_DigestEndSequence)(md) };
    })
}

extern "C" fn free<T: Generator>(value: *mut c_void) {
    barrier("free", (), || {
        // SAFETY: Redis frees a value of this type, made by `into_ptr`, exactly once.
        unsafe { ffi::free_ptr::<T>(value) }
    })
}

extern "C" fn mem_usage<T: Generator>(value: *const c_void) -> usize {
    barrier("mem_usage", 0, || {
        let own = ffi::heap_size::<T>(value);
        if T::OWNS_HEAP {
            // SAFETY: as in `rdb_save`.
            own + unsafe { ffi::with_ptr::<T, _>(value, T::owned_heap) }
        } else {
            own
        }
    })
}

/// Redis unlinks a key of this type (any deletion): while the server can evict, its record is
/// handed to `eviction`, which keeps it if the `evicted` event follows.
extern "C" fn unlink2<T: Generator>(octx: *mut raw::RedisModuleKeyOptCtx, value: *const c_void) {
    barrier("unlink", (), || {
        if !eviction::evictable() {
            return;
        }
        // SAFETY: the key-options context Redis passed to this callback; the name it returns
        // is valid for the call.
        let (name, db) = unsafe {
            (
                api!(RedisModule_GetKeyNameFromOptCtx)(octx),
                api!(RedisModule_GetDbIdFromOptCtx)(octx),
            )
        };
        // SAFETY: as in `rdb_save`: Redis passes a live value of this type.
        if let Some(record) = unsafe { ffi::with_ptr::<T, _>(value, record_of) } {
            eviction::unlinked(db, ffi::bytes(name as RStr), record);
        }
    })
}

/// What an evicted key of this type leaves: its reservation, rendered as its reserve command
/// carries it, and that reservation's generation.
fn record_of<T: Generator>(s: &T) -> Option<Record> {
    let mut a = Args::default();
    s.reservation(&mut a);
    let mut kind = [0u8; TYPE_NAME_LEN];
    kind.copy_from_slice(&T::NAME.to_bytes()[..TYPE_NAME_LEN]);
    let args: Vec<Vec<u8>> = a
        .as_slice()
        .iter()
        .map(|v| match v {
            Arg::Int(n) => n.to_string().into_bytes(),
            Arg::Str(b) => b.to_vec(),
        })
        .collect();
    Record::new(
        kind,
        serving::reservation_gen(s.gen()) as u64,
        args.iter().map(|a| &a[..]),
    )
}

/// Revives an evicted key of this type from its record when the key is empty: the state of its
/// reservation, one safety gap (or one per load or promotion since, if more) above it, as a
/// promoted replica resumes; the reservation goes to replicas and the AOF at once.
fn revive<T: Generator>(ctx: &Ctx, name: RStr, record: &Record) -> Result<bool> {
    let key = ctx.open_key(name, true);
    if !key.is_empty() {
        return Ok(false);
    }
    let r = with_strings(record.args(), |a| T::parse_reservation(a))?;
    let mut state = T::from_reservation(&r);
    state.apply_reservation(&r)?;
    let gaps = serving::gaps_since(record.gen as u16).max(1);
    state.resume_gaps(gaps, super::clock::command_ms());
    let mut v = create(&key, state);
    replicate::<T>(ctx, name, &mut v);
    stats::RESUMES.add(1);
    Ok(true)
}

/// Whether a record's reservation parses as this type's.
fn check<T: Generator>(record: &Record) -> bool {
    with_strings(record.args(), |a| T::parse_reservation(a).is_ok())
}

// ---- reservations ------------------------------------------------------------------------------

/// A state's reservation with the generation it was made in, as the RESERVE arguments.
pub fn reservation_args<T: Generator>(s: &T) -> Args<'_> {
    let mut a = Args::default();
    s.reservation(&mut a);
    a.push(serving::reservation_gen(s.gen()));
    a
}

/// Whether a call may raise a reservation now (the reservation fence, `fence`): every type asks
/// this where a call needs a new block, before it changes anything (the core's `*_fenced` calls
/// ask it only then), so that a refused call issues nothing; calls inside the reserved block never
/// ask. Then `replicate` carries the new reservation.
pub use super::fence::may_reserve;

/// Propagates a key's reservation to replicas and the AOF (after its mark moved), and has the
/// key's form chosen again.
pub fn replicate<T: Generator>(ctx: &Ctx, key: RStr, state: &mut ValueMut<'_, T>) {
    ctx.replicate(T::RESERVE, key, &reservation_args(&**state));
    state.reshape();
    stats::RESERVATIONS.add(1);
}

/// `<TYPE>.RESERVE key <reservation> gen`: creates the key when missing, else raises its
/// reservation; never lowers anything. Internal: accepted only from the replication link and the
/// AOF (the command table marks it so).
pub fn reserve_command<T: Generator>(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (gen_arg, fields) = args[2..].split_last().ok_or(Error::Arity)?;
    let gen = int(*gen_arg)?;
    if gen < 0 {
        return Err(Error::OutOfRange("gen", 0, i64::MAX));
    }
    let r = T::parse_reservation(fields)?;
    let key = ctx.open_key(args[1], true);
    let mut slot = Slot::default();
    let mut state = match key.value_mut(T::handle(), 0, &mut slot)? {
        Some(s) => s,
        None => {
            // A revival on the primary, or a new key: an eviction record of the name is spent.
            eviction::forget(ctx, args[1]);
            key.set(T::handle(), T::from_reservation(&r))
        }
    };
    state.apply_reservation(&r)?;
    state.set_gen(gen as u16);
    state.reshape();
    drop(state);
    serving::raise(gen as u64);
    ctx.replicate_verbatim();
    ctx.reply_ok();
    Ok(())
}

// ---- serving -------------------------------------------------------------------------------------

/// The state at `key` on a serving node, first resumed above its reservation if it has not
/// served in the current generation. `None` when the key is empty.
pub fn serving<'k, T: Generator>(
    key: &'k Key,
    now: impl Now,
    slot: &'k mut Slot<T>,
) -> Result<Option<ValueMut<'k, T>>> {
    Ok(key.held(T::handle())?.map(|h| {
        let mut s = h.value_mut(now, slot);
        serve(&mut s, now);
        s
    }))
}

/// Resumes a key's state above its reservation if it has not served in the current generation:
/// `serving` for a guard the caller built (`Key::held`, `Held::value_mut`). The hot paths do
/// that themselves so that the guard is built where it is used, never copied.
#[inline(always)]
pub fn serve<T: Generator>(state: &mut ValueMut<'_, T>, now: impl Now) {
    let gaps = serving::gaps_since(state.gen());
    if gaps > 0 {
        state.resume_gaps(gaps, now.ms());
        state.set_gen(serving::current());
        stats::RESUMES.add(1);
    }
}

/// Stores a new state, serving in the current generation, in the empty `key`.
pub fn create<'k, T: Generator>(key: &'k Key, mut state: T) -> ValueMut<'k, T> {
    state.set_gen(serving::current());
    key.set(T::handle(), state)
}
