//! The worker-ID pool type (`idgen-wrk`): leases on the worker IDs `0..SIZE` of one key, fenced
//! by tokens. Its encoding, its reservation, its per-ID effects and its resume; commands are in
//! `commands.rs`, the pool logic in `crate::core::pool`.
//!
//! Unlike the generators, a pool replicates two kinds of absolute, idempotent effects: its
//! reservation (`WORKER.RESERVE`: the token mark and the longest TTL, sent when they rise) and
//! the state of one ID (`WORKER.EFFECT`: holder, token, expiry, not-before, phase, sent with
//! every grant, renewal and release). A rewritten AOF holds the reservation and one effect per
//! ID the pool has a record of.

mod commands;

use std::ffi::CStr;

use crate::core::pool::{
    self as wp, IdState, Phase, Pool, PoolOptions, PoolParts, Reservation as Marks,
};
use crate::error::{Error, Result};
use crate::glue::command::{Command, CommandSet};
use crate::glue::datatype::{reservation_args, Generator, Type};
use crate::glue::ffi::{int, int128, Args, ModType, RStr, Stored};
use crate::glue::rdb::{RdbIn, RdbOut, Refusal};

/// Encoding 1: size, grace, generation, next token, token mark, longest TTL, clock seen, resume
/// until, not-before floor, resume token, the five counters (grants, renewals, releases,
/// expiries, refusals), the number of records, then per record by ascending ID: ID, token,
/// holder (a string, empty for none), expiry, not-before, phase (0 held, 1 quarantined, 2 free).
pub const ENCVER_1: i32 = 1;

/// The internal command that carries one ID's state to replicas and the AOF.
pub const EFFECT: &CStr = c"WORKER.EFFECT";

pub static HANDLE: ModType<Pool> = ModType::new();
pub static TYPE: Type<Pool> = Type::new();

/// A pool has no compact form: its per-ID records live in ordered maps.
impl Stored for Pool {
    type Compact = ();
}

impl CommandSet for Pool {
    fn list() -> &'static [Command] {
        commands::COMMANDS
    }
}

/// A pool reservation: the options (so that a missing key is created right) and the marks.
pub struct Reservation {
    options: PoolOptions,
    marks: Marks,
}

fn phase_code(p: Phase) -> u64 {
    match p {
        Phase::Held => 0,
        Phase::Quarantined => 1,
        Phase::Free => 2,
    }
}

fn phase_of(code: u64) -> Option<Phase> {
    match code {
        0 => Some(Phase::Held),
        1 => Some(Phase::Quarantined),
        2 => Some(Phase::Free),
        _ => None,
    }
}

/// `WORKER.EFFECT` arguments after the key: size, grace, id, token, holder (empty for none),
/// expiry, not-before, phase.
pub fn effect_args<'a>(o: PoolOptions, s: &'a IdState) -> Args<'a> {
    let mut a = Args::default();
    a.push(o.size)
        .push(o.grace_ms)
        .push(s.id)
        .push(s.token)
        .push_str(s.holder.as_deref().unwrap_or(b""))
        .push(s.expires)
        .push(s.not_before)
        .push(phase_code(s.phase));
    a
}

/// Checks pool options from a command or an internal command.
pub fn options(size: i64, grace_ms: i64) -> Result<PoolOptions> {
    if !(1..=wp::MAX_SIZE as i64).contains(&size) {
        return Err(Error::OutOfRange("SIZE", 1, wp::MAX_SIZE as i64));
    }
    let o = PoolOptions {
        size: size as u32,
        grace_ms,
    };
    o.validate()?;
    Ok(o)
}

/// Parses `WORKER.EFFECT` arguments after the key (see `effect_args`).
pub fn parse_effect(args: &[RStr]) -> Result<(PoolOptions, IdState)> {
    if args.len() != 8 {
        return Err(Error::Arity);
    }
    let num = |i: usize| int(args[i]);
    let o = options(num(0)?, num(1)?)?;
    let id = num(2)?;
    if !(0..o.size as i64).contains(&id) {
        return Err(Error::OutOfRange("ID", 0, o.size as i64 - 1));
    }
    let token = num(3)?;
    if token < 1 {
        return Err(Error::OutOfRange("TOKEN", 1, i64::MAX));
    }
    let holder = crate::glue::ffi::bytes(args[4]);
    if !holder.is_empty() {
        wp::check_holder(holder)?;
    }
    let (expires, not_before) = (num(5)?, num(6)?);
    for (name, v) in [("EXPIRES", expires), ("NOT-BEFORE", not_before)] {
        if v < 0 {
            return Err(Error::OutOfRange(name, 0, i64::MAX));
        }
    }
    let phase = u64::try_from(num(7)?)
        .ok()
        .and_then(phase_of)
        .ok_or(Error::OutOfRange("PHASE", 0, 2))?;
    Ok((
        o,
        IdState {
            id: id as u32,
            token: token as u64,
            holder: (!holder.is_empty()).then(|| holder.to_vec()),
            expires,
            not_before,
            phase,
        },
    ))
}

impl Generator for Pool {
    const NAME: &'static CStr = c"idgen-wrk";
    const ENCVER: i32 = ENCVER_1;
    const RESERVE: &'static CStr = c"WORKER.RESERVE";
    type Reservation = Reservation;
    const OWNS_HEAP: bool = true;

    fn handle() -> &'static ModType<Self> {
        &HANDLE
    }

    fn save(&self, w: &mut RdbOut) {
        let p = self.parts();
        w.u64(p.options.size as u64);
        w.i64(p.options.grace_ms);
        w.u64(p.gen as u64);
        w.u64(p.next_token);
        w.u64(p.token_mark);
        w.i64(p.longest_ttl_ms);
        w.i64(p.clock_seen);
        w.i64(p.resume_until);
        w.i64(p.not_before_floor);
        w.u64(p.resume_token);
        let c = p.counters;
        for v in [c.grants, c.renewals, c.releases, c.expiries, c.refusals] {
            w.u64(v);
        }
        let records: Vec<IdState> = self.records().collect();
        w.u64(records.len() as u64);
        for r in &records {
            w.u64(r.id as u64);
            w.u64(r.token);
            w.bytes(r.holder.as_deref().unwrap_or(b""));
            w.i64(r.expires);
            w.i64(r.not_before);
            w.u64(phase_code(r.phase));
        }
    }

    fn load(r: &mut RdbIn, _encver: i32) -> std::result::Result<Self, Refusal> {
        let size: u32 = r.uint("size")?;
        let grace_ms = r.i64()?;
        let gen: u16 = r.uint("generation")?;
        let mut parts = PoolParts {
            options: PoolOptions { size, grace_ms },
            gen,
            next_token: r.u64()?,
            token_mark: r.u64()?,
            longest_ttl_ms: r.i64()?,
            clock_seen: r.i64()?,
            resume_until: r.i64()?,
            not_before_floor: r.i64()?,
            resume_token: r.u64()?,
            counters: Default::default(),
        };
        let c = &mut parts.counters;
        for v in [
            &mut c.grants,
            &mut c.renewals,
            &mut c.releases,
            &mut c.expiries,
            &mut c.refusals,
        ] {
            *v = r.u64()?;
        }
        let n = r.u64()?;
        if n > size as u64 {
            return Err("record count");
        }
        // Grown as records arrive: a forged count allocates nothing ahead.
        let mut records = Vec::new();
        for _ in 0..n {
            let id: u32 = r.uint("id")?;
            let token = r.u64()?;
            let holder = r.bytes(wp::MAX_HOLDER_LEN, "holder")?;
            let expires = r.i64()?;
            let not_before = r.i64()?;
            let phase = phase_of(r.u64()?).ok_or("phase")?;
            records.push(IdState {
                id,
                token,
                holder: (!holder.is_empty()).then_some(holder),
                expires,
                not_before,
                phase,
            });
        }
        Pool::from_parts(parts, records)
    }

    fn reservation<'a>(&'a self, out: &mut Args<'a>) {
        let (o, m) = (self.options(), Pool::reservation(self));
        out.push(o.size)
            .push(o.grace_ms)
            .push(m.token_mark)
            .push(m.longest_ttl_ms);
    }

    /// What a primary and its replica agree on: the options, the marks and, per ID ever granted,
    /// its holder, token, expiry and `max(not-before, expiry)`. Not the phase (a serving node
    /// finds expiries when the pool is touched, a replica never reads its clock), nor the raw
    /// not-before (an expiry raises it to the lease's end only where it is found), nor the next
    /// token, the resume window or the counters (the serving node's own).
    fn digest<'a>(&'a self, out: &mut Args<'a>) {
        Generator::reservation(self, out);
    }

    fn digest_groups(&self, each: &mut dyn FnMut(&Args)) {
        let mut a = Args::default();
        self.digest(&mut a);
        each(&a);
        for r in self.records() {
            let mut a = Args::default();
            a.push(r.id)
                .push(r.token)
                .push_str(r.holder.as_deref().unwrap_or(b""))
                .push(r.expires)
                .push(r.not_before.max(r.expires));
            each(&a);
        }
    }

    /// The reservation, then one effect per ID the pool has a record of.
    fn aof_commands(&self, emit: &mut dyn FnMut(&'static CStr, &Args)) {
        emit(Self::RESERVE, &reservation_args(self));
        let o = self.options();
        for r in self.records() {
            emit(EFFECT, &effect_args(o, &r));
        }
    }

    fn parse_reservation(args: &[RStr]) -> Result<Reservation> {
        if args.len() != 4 {
            return Err(Error::Arity);
        }
        let options = options(int(args[0])?, int(args[1])?)?;
        let mark = int128(args[2])?;
        if !(0..=wp::MAX_TOKEN as i128 + 1).contains(&mark) {
            return Err(Error::OutOfRange("TOKEN-MARK", 0, i64::MAX));
        }
        let longest = int(args[3])?;
        if !(0..=wp::MAX_TTL_MS).contains(&longest) {
            return Err(Error::OutOfRange("LONGEST-TTL", 0, wp::MAX_TTL_MS));
        }
        Ok(Reservation {
            options,
            marks: Marks {
                token_mark: mark as u64,
                longest_ttl_ms: longest,
            },
        })
    }

    fn from_reservation(r: &Reservation) -> Self {
        Pool::new(r.options)
    }

    fn apply_reservation(&mut self, r: &Reservation) -> Result<()> {
        if self.options() != r.options {
            return Err(Error::LayoutMismatch);
        }
        Pool::apply_reservation(self, r.marks)
    }

    fn gen(&self) -> u16 {
        self.gen
    }
    fn set_gen(&mut self, gen: u16) {
        self.gen = gen;
    }
    /// Tokens resume `gaps` blocks above the mark; no ID is granted for the longest TTL plus
    /// the grace (the glue has already found the expiries and sent their events).
    fn resume_gaps(&mut self, gaps: u64, now: i64) {
        self.resume(now, gaps);
    }

    fn owned_heap(&self) -> usize {
        self.mem_usage() - std::mem::size_of::<Pool>()
    }
}
