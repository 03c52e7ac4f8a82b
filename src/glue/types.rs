//! The two module data types: RDB save/load (versioned, every field validated on load), AOF
//! rewrite, digest, memory usage, free; and the reservation commands both replication and the
//! AOF receive.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use redis_module::raw;

use super::ffi::{log, Ctx, ModType, RStr};
use super::serving;
use super::stats;
use crate::core::sequence::{SeqOptions, Sequence};
use crate::core::snowflake::{Layout, Snowflake};

/// RDB encoding versions. Version 1: see `save_snowflake` / `save_seq` for the field order.
/// A key holds the core type itself (`Snowflake`, `Sequence`), boxed.
pub const SNOWFLAKE_ENCVER_1: i32 = 1;
pub const SEQ_ENCVER_1: i32 = 1;
pub const SNOWFLAKE_ENCVER: i32 = SNOWFLAKE_ENCVER_1;
pub const SEQ_ENCVER: i32 = SEQ_ENCVER_1;

pub const SNOWFLAKE_TYPE_NAME: &CStr = c"idgen-sfk";
pub const SEQ_TYPE_NAME: &CStr = c"idgen-seq";

pub const SNOWFLAKE_RESERVE: &CStr = c"SNOWFLAKE.RESERVE";
pub const SEQ_RESERVE: &CStr = c"SEQ.RESERVE";

pub static SNOWFLAKE_TYPE: ModType = ModType::new();
pub static SEQ_TYPE: ModType = ModType::new();

/// Creates both data types; called from `init`.
pub fn create_types(ctx: *mut raw::RedisModuleCtx) -> Result<(), String> {
    // Without this option a short read inside a loader (a forged or truncated RESTORE payload)
    // aborts Redis; with it the loader sees the error, refuses the value and Redis replies with
    // an error.
    unsafe {
        raw::RedisModule_SetModuleOptions.unwrap()(
            ctx,
            raw::REDISMODULE_OPTIONS_HANDLE_IO_ERRORS as i32,
        )
    };
    let sf = methods(
        load_snowflake,
        save_snowflake,
        rewrite_snowflake,
        digest_snowflake,
        free::<Snowflake>,
        mem_usage::<Snowflake>,
    );
    let seq = methods(
        load_seq,
        save_seq,
        rewrite_seq,
        digest_seq,
        free::<Sequence>,
        mem_usage::<Sequence>,
    );
    // The serving generation travels as the snowflake type's aux data, before the keyspace.
    let mut sf = sf;
    sf.aux_load = Some(serving::aux_load);
    sf.aux_save = Some(serving::aux_save);
    sf.aux_save_triggers = raw::REDISMODULE_AUX_BEFORE_RDB as i32;
    SNOWFLAKE_TYPE.create(ctx, SNOWFLAKE_TYPE_NAME, SNOWFLAKE_ENCVER, sf)?;
    SEQ_TYPE.create(ctx, SEQ_TYPE_NAME, SEQ_ENCVER, seq)
}

type LoadFn = unsafe extern "C" fn(*mut raw::RedisModuleIO, c_int) -> *mut c_void;
type SaveFn = unsafe extern "C" fn(*mut raw::RedisModuleIO, *mut c_void);
type RewriteFn = unsafe extern "C" fn(*mut raw::RedisModuleIO, RStr, *mut c_void);
type DigestFn = unsafe extern "C" fn(*mut raw::RedisModuleDigest, *mut c_void);
type FreeFn = unsafe extern "C" fn(*mut c_void);
type MemFn = unsafe extern "C" fn(*const c_void) -> usize;

fn methods(
    load: LoadFn,
    save: SaveFn,
    rewrite: RewriteFn,
    digest: DigestFn,
    free: FreeFn,
    mem: MemFn,
) -> raw::RedisModuleTypeMethods {
    let mut m: raw::RedisModuleTypeMethods = unsafe { std::mem::zeroed() };
    m.version = raw::REDISMODULE_TYPE_METHOD_VERSION as u64;
    m.rdb_load = Some(load);
    m.rdb_save = Some(save);
    m.aof_rewrite = Some(rewrite);
    m.digest = Some(digest);
    m.free = Some(free);
    m.mem_usage = Some(mem);
    m
}

unsafe extern "C" fn free<T>(value: *mut c_void) {
    drop(Box::from_raw(value as *mut T));
}

unsafe extern "C" fn mem_usage<T>(_value: *const c_void) -> usize {
    std::mem::size_of::<T>()
}

// ---- RDB helpers ----

fn save_i(io: *mut raw::RedisModuleIO, v: i64) {
    unsafe { raw::RedisModule_SaveSigned.unwrap()(io, v) }
}
fn save_u(io: *mut raw::RedisModuleIO, v: u64) {
    unsafe { raw::RedisModule_SaveUnsigned.unwrap()(io, v) }
}
fn load_i(io: *mut raw::RedisModuleIO) -> Option<i64> {
    raw::load_signed(io).ok()
}
fn load_u(io: *mut raw::RedisModuleIO) -> Option<u64> {
    raw::load_unsigned(io).ok()
}
fn load_u8(io: *mut raw::RedisModuleIO) -> Option<u8> {
    load_u(io).and_then(|v| u8::try_from(v).ok())
}
fn load_bool(io: *mut raw::RedisModuleIO) -> Option<bool> {
    match load_u(io)? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}
fn save_i128(io: *mut raw::RedisModuleIO, v: i128) {
    save_i(io, (v >> 64) as i64);
    save_u(io, v as u64);
}
fn load_i128(io: *mut raw::RedisModuleIO) -> Option<i128> {
    let hi = load_i(io)? as i128;
    let lo = load_u(io)? as i128;
    Some((hi << 64) | lo)
}

fn refuse(io: *mut raw::RedisModuleIO, what: &str) -> *mut c_void {
    let ctx = unsafe { raw::RedisModule_GetContextFromIO.unwrap()(io) };
    log(ctx, c"warning", &format!("idgen: refusing to load {what}"));
    ptr::null_mut()
}

// ---- snowflake ----

unsafe extern "C" fn save_snowflake(io: *mut raw::RedisModuleIO, value: *mut c_void) {
    let s = &*(value as *const Snowflake);
    let (worker, pos, mark, wall_seen, last_id, ids, behind, borrowed, gen) = s.parts();
    save_i(io, s.epoch);
    save_u(io, s.time_bits as u64);
    save_u(io, s.worker_bits as u64);
    save_u(io, s.seq_bits() as u64);
    save_i(io, worker);
    save_u(io, pos);
    save_i(io, mark);
    save_i(io, wall_seen);
    save_i(io, last_id);
    save_u(io, ids);
    save_u(io, behind as u64);
    save_u(io, borrowed as u64);
    save_u(io, gen as u64);
}

fn load_u32(io: *mut raw::RedisModuleIO) -> Option<u32> {
    load_u(io).and_then(|v| u32::try_from(v).ok())
}

/// Reads a version-1 snowflake value: `Err` says what was wrong.
fn read_snowflake_v1(io: *mut raw::RedisModuleIO) -> Result<Snowflake, &'static str> {
    let truncated = "truncated";
    let layout = Layout {
        epoch: load_i(io).ok_or(truncated)?,
        time_bits: load_u8(io).ok_or(truncated)?,
        worker_bits: load_u8(io).ok_or(truncated)?,
        seq_bits: load_u8(io).ok_or(truncated)?,
    };
    Snowflake::from_parts(
        layout,
        load_i(io).ok_or(truncated)?,
        load_u(io).ok_or(truncated)?,
        load_i(io).ok_or(truncated)?,
        load_i(io).ok_or(truncated)?,
        load_i(io).ok_or(truncated)?,
        load_u(io).ok_or(truncated)?,
        load_u32(io).ok_or(truncated)?,
        load_u32(io).ok_or(truncated)?,
        load_u16(io).ok_or(truncated)?,
    )
}

fn load_u16(io: *mut raw::RedisModuleIO) -> Option<u16> {
    load_u(io).and_then(|v| u16::try_from(v).ok())
}

/// A value loaded at startup or by a replica keeps the generation it was reserved in; one that
/// comes from RESTORE carries another dataset's numbering, so it is made one behind: it resumes
/// once at its first use.
fn arrived_gen(io: *mut raw::RedisModuleIO, gen: u16) -> u16 {
    let ctx = unsafe { raw::RedisModule_GetContextFromIO.unwrap()(io) };
    if Ctx(ctx).flags() & raw::REDISMODULE_CTX_FLAGS_LOADING != 0 {
        gen
    } else {
        serving::one_behind()
    }
}

unsafe extern "C" fn load_snowflake(io: *mut raw::RedisModuleIO, encver: c_int) -> *mut c_void {
    if encver != SNOWFLAKE_ENCVER_1 {
        return refuse(io, &format!("snowflake encoding version {encver}"));
    }
    match read_snowflake_v1(io) {
        Ok(mut state) => {
            state.gen = arrived_gen(io, state.gen);
            Box::into_raw(Box::new(state)) as *mut c_void
        }
        Err(why) => refuse(io, &format!("a snowflake value: {why}")),
    }
}

/// The reservation of a snowflake generator as the arguments of `SNOWFLAKE.RESERVE` after the key.
fn snowflake_reserve_args(s: &Snowflake) -> [i64; 8] {
    [
        s.mark,
        s.wall_seen,
        s.epoch,
        s.time_bits as i64,
        s.worker_bits as i64,
        s.seq_bits() as i64,
        s.worker().unwrap_or(-1),
        reservation_gen(s.gen),
    ]
}

/// The generation a reservation carries: the full current one when the key serves in it (the
/// key stores only its low 16 bits), else the key's own.
fn reservation_gen(key_gen: u16) -> i64 {
    if key_gen == serving::current() {
        serving::current_full() as i64
    } else {
        key_gen as i64
    }
}

/// Calls `$emit` (`RedisModule_Replicate` or `RedisModule_EmitAOF`, both variadic, on `$target`)
/// with `SNOWFLAKE.RESERVE key <reservation of $s>`.
macro_rules! emit_snowflake_reserve {
    ($emit:expr, $target:expr, $key:expr, $s:expr) => {{
        let a = snowflake_reserve_args($s);
        $emit(
            $target,
            SNOWFLAKE_RESERVE.as_ptr(),
            c"sllllllll".as_ptr(),
            $key,
            a[0],
            a[1],
            a[2],
            a[3],
            a[4],
            a[5],
            a[6],
            a[7],
        );
    }};
}

/// Writes the current generation into a rewritten AOF (before every key's reservation: there is
/// no per-rewrite hook, and the command is idempotent).
unsafe fn rewrite_generation(io: *mut raw::RedisModuleIO) {
    raw::RedisModule_EmitAOF.unwrap()(
        io,
        c"IDGEN.GENERATION".as_ptr(),
        c"l".as_ptr(),
        serving::current_full() as i64,
    );
}

unsafe extern "C" fn rewrite_snowflake(io: *mut raw::RedisModuleIO, key: RStr, value: *mut c_void) {
    rewrite_generation(io);
    emit_snowflake_reserve!(
        raw::RedisModule_EmitAOF.unwrap(),
        io,
        key,
        &*(value as *const Snowflake)
    );
}

/// Propagates the generator's reservation to replicas and the AOF.
pub fn replicate_snowflake(ctx: &Ctx, key: RStr, s: &Snowflake) {
    unsafe { emit_snowflake_reserve!(raw::RedisModule_Replicate.unwrap(), ctx.0, key, s) };
    stats::RESERVATIONS.add(1);
}

/// The digest covers what replication carries (layout, worker, mark), so a primary and its
/// replica agree.
unsafe extern "C" fn digest_snowflake(md: *mut raw::RedisModuleDigest, value: *mut c_void) {
    let s = &*(value as *const Snowflake);
    let a = snowflake_reserve_args(s);
    for v in [a[0], a[2], a[3], a[4], a[5], a[6]] {
        raw::RedisModule_DigestAddLongLong.unwrap()(md, v);
    }
    raw::RedisModule_DigestEndSequence.unwrap()(md);
}

// ---- sequence ----

unsafe extern "C" fn save_seq(io: *mut raw::RedisModuleIO, value: *mut c_void) {
    let s = &*(value as *const Sequence);
    let o = s.opts();
    save_i(io, o.start);
    save_i(io, o.increment);
    save_i(io, o.min);
    save_i(io, o.max);
    save_u(io, o.cycle as u64);
    save_u(io, s.cycles);
    save_i128(io, s.next_value());
    save_u(io, s.last().is_some() as u64);
    save_i(io, s.last().unwrap_or(0));
    // Version 1 stored the mark's cycle separately; it is always the current cycle.
    save_u(io, s.cycles);
    save_i128(io, s.mark());
    save_u(io, s.rate as u64);
    save_u(io, s.issued);
    save_u(io, s.gen as u64);
}

/// Reads a version-1 sequence value: `Err` says what was wrong.
fn read_seq_v1(io: *mut raw::RedisModuleIO) -> Result<Sequence, &'static str> {
    let truncated = "truncated";
    let opts = SeqOptions {
        start: load_i(io).ok_or(truncated)?,
        increment: load_i(io).ok_or(truncated)?,
        min: load_i(io).ok_or(truncated)?,
        max: load_i(io).ok_or(truncated)?,
        cycle: load_bool(io).ok_or(truncated)?,
    };
    let cycles = load_u(io).ok_or(truncated)?;
    let next = load_i128(io).ok_or(truncated)?;
    let has_last = load_bool(io).ok_or(truncated)?;
    let last = load_i(io).ok_or(truncated)?;
    if load_u(io).ok_or(truncated)? != cycles {
        return Err("mark cycle");
    }
    let mark = load_i128(io).ok_or(truncated)?;
    let rate = load_u32(io).ok_or(truncated)?;
    let issued = load_u(io).ok_or(truncated)?;
    let gen = load_u16(io).ok_or(truncated)?;
    let mut s = Sequence::from_parts(
        opts,
        cycles,
        next,
        has_last.then_some(last),
        mark,
        rate,
        issued,
    )?;
    s.gen = gen;
    Ok(s)
}

unsafe extern "C" fn load_seq(io: *mut raw::RedisModuleIO, encver: c_int) -> *mut c_void {
    if encver != SEQ_ENCVER_1 {
        return refuse(io, &format!("sequence encoding version {encver}"));
    }
    match read_seq_v1(io) {
        Ok(mut state) => {
            state.gen = arrived_gen(io, state.gen);
            Box::into_raw(Box::new(state)) as *mut c_void
        }
        Err(why) => refuse(io, &format!("a sequence value: {why}")),
    }
}

/// The sequence's mark as a NUL-terminated decimal (it can be MAXVALUE + 1, beyond i64).
fn i128_cstr(v: i128, buf: &mut [u8; 48]) -> *const std::ffi::c_char {
    use std::io::Write;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "{v}\0");
    buf.as_ptr() as *const std::ffi::c_char
}

fn seq_reserve_args(s: &Sequence) -> [i64; 8] {
    let o = s.opts();
    [
        s.cycles as i64,
        s.rate as i64,
        o.start,
        o.increment,
        o.min,
        o.max,
        o.cycle as i64,
        reservation_gen(s.gen),
    ]
}

/// Calls `$emit` (`RedisModule_Replicate` or `RedisModule_EmitAOF`, both variadic, on `$target`)
/// with `SEQ.RESERVE key <reservation of $s>`.
macro_rules! emit_seq_reserve {
    ($emit:expr, $target:expr, $key:expr, $s:expr) => {{
        let s: &Sequence = $s;
        let a = seq_reserve_args(s);
        let mut buf = [0u8; 48];
        $emit(
            $target,
            SEQ_RESERVE.as_ptr(),
            c"slclllllll".as_ptr(),
            $key,
            a[0],
            i128_cstr(s.mark(), &mut buf),
            a[1],
            a[2],
            a[3],
            a[4],
            a[5],
            a[6],
            a[7],
        );
    }};
}

unsafe extern "C" fn rewrite_seq(io: *mut raw::RedisModuleIO, key: RStr, value: *mut c_void) {
    rewrite_generation(io);
    emit_seq_reserve!(
        raw::RedisModule_EmitAOF.unwrap(),
        io,
        key,
        &*(value as *const Sequence)
    );
}

/// Propagates the sequence's reservation to replicas and the AOF.
pub fn replicate_seq(ctx: &Ctx, key: RStr, s: &Sequence) {
    unsafe { emit_seq_reserve!(raw::RedisModule_Replicate.unwrap(), ctx.0, key, s) };
    stats::RESERVATIONS.add(1);
}

unsafe extern "C" fn digest_seq(md: *mut raw::RedisModuleDigest, value: *mut c_void) {
    let s = &*(value as *const Sequence);
    let a = seq_reserve_args(s);
    for v in [
        a[0],
        (s.mark() >> 64) as i64,
        s.mark() as i64,
        a[2],
        a[3],
        a[4],
        a[5],
        a[6],
    ] {
        raw::RedisModule_DigestAddLongLong.unwrap()(md, v);
    }
    raw::RedisModule_DigestEndSequence.unwrap()(md);
}
