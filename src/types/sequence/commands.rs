//! SEQ.* commands: declarations, argument handling, replies.

use std::cell::Cell;

use crate::core::period::{period_start_ms, Period, UtcOffset};
use crate::core::sequence::{SeqFormat, SeqOptions, Sequence, Taken};
use crate::core::template::{Template, TextBuf};
use crate::error::{Error, Result};
use crate::glue::clock::{command_ms, CommandTime};
use crate::glue::command::{
    flag, int, key, opt, opt_str, optional, options, string, Command, KeyAccess::*,
};
use crate::glue::config;
use crate::glue::datatype::{self, replicate, reserve_command};
use crate::glue::ffi::{self, Ctx, Key, RStr, Slot};
use crate::glue::opaque::opaque_secret;
use crate::glue::stats;

use super::HANDLE;

pub static COMMANDS: &[Command] = &[CREATE, NEXT, NEXTBATCH, CURRENT, SET, INFO, DECODE, RESERVE];

/// `SEQ.NEXTBATCH` on an OPAQUE key replies each value: at most this many a call.
pub const MAX_OPAQUE_BATCH: i64 = 10_000;

/// Takes `count` values from the sequence at `args[1]` (created with the defaults when missing,
/// only if the call succeeds), propagates a reservation when the mark moved, and replies: the
/// first value (`batch` false) or `[first, last]`, as integers, or as the key's FORMAT template
/// renders them (in a stack buffer: no allocation).
#[inline(always)] // into each command's trampoline: SEQ.NEXT is the hot path
fn take(ctx: &Ctx, args: &[RStr], count: i64, batch: bool) -> Result<()> {
    let key = ctx.open_key(args[1], true);
    // Read at first use: a value inside the reserved block needs no time.
    let time = Cell::new(CommandTime::UNREAD);
    let now = CommandTime::new(&time);
    let mut slot = Slot::default();
    // The key's state is used where it lies (no guard moved between branches): a missing key
    // takes its own, out-of-line path.
    let Some(held) = key.held(&HANDLE)? else {
        return take_new(ctx, args, &key, now, count, batch);
    };
    let mut state = held.value_mut(now, &mut slot);
    datatype::serve(&mut state, now);
    let taken = state.take_fenced(count, now, datatype::may_reserve)?;
    if taken.advanced {
        replicate(ctx, args[1], &mut state);
    }
    reply_taken(ctx, &state, &taken, count, batch);
    Ok(())
}

/// `take` on a missing key: creates it with the defaults, only if the call succeeds.
#[inline(never)]
fn take_new(
    ctx: &Ctx,
    args: &[RStr],
    key: &Key,
    now: CommandTime<'_>,
    count: i64,
    batch: bool,
) -> Result<()> {
    let mut new = Sequence::new(SeqOptions::default());
    let taken = new.take_fenced(count, now, datatype::may_reserve)?;
    let mut state = datatype::create(key, new);
    replicate(ctx, args[1], &mut state);
    reply_taken(ctx, &state, &taken, count, batch);
    Ok(())
}

/// Counts the taken values and replies: the first value (`batch` false) or `[first, last]`, as
/// integers, or as the key's FORMAT template renders them (in a stack buffer: no allocation).
#[inline(always)]
fn reply_taken(ctx: &Ctx, state: &Sequence, taken: &Taken, count: i64, batch: bool) {
    stats::SEQ_VALUES.add(count as u64);
    if state.opaque().is_some() {
        return reply_opaque(ctx, state, taken, count, batch);
    }
    if !state.is_formatted() {
        // The common case: integers, no text buffer.
        if batch {
            ctx.reply_array(2);
            ctx.reply_int(taken.first);
            ctx.reply_int(taken.last);
        } else {
            ctx.reply_int(taken.first);
        }
        return;
    }
    let worker = config::worker_id();
    let mut buf = TextBuf::default();
    let mut reply = |v: i64| {
        buf.clear();
        if state.render(v, worker, &mut buf) {
            ctx.reply_bulk(buf.as_bytes());
        } else {
            ctx.reply_int(v);
        }
    };
    if batch {
        ctx.reply_array(2);
        reply(taken.first);
        reply(taken.last);
    } else {
        reply(taken.first);
    }
}

/// `reply_taken` for an OPAQUE key: each value through the permutation; a batch as the array
/// of its `count` public values (they form no range).
#[inline(never)]
fn reply_opaque(ctx: &Ctx, state: &Sequence, taken: &Taken, count: i64, batch: bool) {
    let worker = config::worker_id();
    let mut buf = TextBuf::default();
    let mut reply = |v: i64| match state.public(v) {
        Ok(p) => {
            buf.clear();
            if state.render(p, worker, &mut buf) {
                ctx.reply_bulk(buf.as_bytes());
            } else {
                ctx.reply_int(p);
            }
        }
        // Not reachable: issued values are inside the domain.
        Err(e) => ctx.reply_error(&e),
    };
    if !batch {
        return reply(taken.first);
    }
    ctx.reply_array(count as usize);
    let inc = state.opts().increment;
    for i in 0..count {
        reply(taken.first + i * inc);
    }
}

const CREATE: Command = Command {
    summary:
        c"Creates an integer sequence with bounds, increment, cycling, periods and a text format",
    args: &[
        key(c"key"),
        opt(c"START", c"start"),
        opt(c"INCREMENT", c"increment"),
        opt(c"MINVALUE", c"minvalue"),
        opt(c"MAXVALUE", c"maxvalue"),
        flag(c"CYCLE"),
        opt_str(c"PERIOD", c"period"),
        opt_str(c"UTC-OFFSET", c"offset"),
        opt_str(c"FORMAT", c"template"),
        flag(c"OPAQUE"),
        opt_str(c"SECRET", c"hex"),
    ],
    ..Command::new(c"seq.create", create)
};

/// SEQ.CREATE key [START n] [INCREMENT n] [MINVALUE n] [MAXVALUE n] [CYCLE]
/// [PERIOD HOUR|DAY|MONTH|YEAR] [UTC-OFFSET +hh:mm] [FORMAT template] [OPAQUE [SECRET hex]]
fn create(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let o = options(&CREATE, &args[2..])?;
    let d = SeqOptions::default();
    let min = o.int("MINVALUE")?.unwrap_or(d.min);
    let opts = SeqOptions {
        start: o.int("START")?.unwrap_or(min),
        increment: o.int("INCREMENT")?.unwrap_or(d.increment),
        min,
        max: o.int("MAXVALUE")?.unwrap_or(d.max),
        cycle: o.flag("CYCLE"),
    };
    opts.validate()?;
    let period = o.str("PERIOD").map(Period::parse).transpose()?;
    let offset = o.str("UTC-OFFSET").map(UtcOffset::parse).transpose()?;
    let template = o
        .str("FORMAT")
        .map(|src| Template::new(src, period, opts.min, opts.max))
        .transpose()?;
    let given = period.is_some() || offset.is_some() || template.is_some();
    let fmt = SeqFormat {
        period,
        offset: offset.unwrap_or_default(),
        template,
    };
    fmt.validate(&opts)?;
    if offset.is_some() && period.is_none() {
        return Err(Error::OffsetNeedsPeriod);
    }
    let secret = opaque_secret(o.flag("OPAQUE"), o.str("SECRET"))?;
    let now = command_ms();
    let key = ctx.open_key(args[1], true);
    if key.value(&HANDLE, 0)?.is_some() {
        return Err(Error::KeyExists);
    }
    let new = Sequence::new(opts);
    let new = if given {
        new.with_format(fmt, now)
    } else {
        new
    };
    let new = match secret {
        Some(secret) => new.with_opaque(secret)?,
        None => new,
    };
    let mut state = datatype::create(&key, new);
    replicate(ctx, args[1], &mut state);
    ctx.reply_ok();
    Ok(())
}

const NEXT: Command = Command {
    arity: 2,
    summary:
        c"Returns the next value of a sequence (its text with FORMAT), creating it with defaults",
    args: &[key(c"key")],
    ..Command::new(c"seq.next", next)
};

/// SEQ.NEXT key
#[inline(always)]
fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    take(ctx, args, 1, false)
}

const NEXTBATCH: Command = Command {
    arity: 3,
    summary: c"Reserves count consecutive values of a sequence and returns the first and the last",
    args: &[key(c"key"), int(c"count")],
    ..Command::new(c"seq.nextbatch", nextbatch)
};

/// SEQ.NEXTBATCH key count
fn nextbatch(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let count = ffi::int(args[2])?;
    if count < 1 {
        return Err(Error::CountNotPositive);
    }
    if count > MAX_OPAQUE_BATCH && is_opaque(ctx, args[1])? {
        return Err(Error::OpaqueBatch(MAX_OPAQUE_BATCH));
    }
    take(ctx, args, count, true)
}

/// Whether the key holds an OPAQUE sequence.
fn is_opaque(ctx: &Ctx, name: RStr) -> Result<bool> {
    let key = ctx.open_key(name, false);
    Ok(key.value(&HANDLE, 0)?.is_some_and(|s| s.opaque().is_some()))
}

const CURRENT: Command = Command {
    flags: c"readonly fast",
    arity: 2,
    key: Read,
    summary: c"Returns the last value a sequence issued",
    args: &[key(c"key")],
    ..Command::new(c"seq.current", current)
};

/// SEQ.CURRENT key
fn current(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let Some(s) = key.value(&HANDLE, 0)? else {
        ctx.reply_null();
        return Ok(());
    };
    match s.last() {
        Some(last) => ctx.reply_int(s.public(last)?),
        None => ctx.reply_null(),
    }
    Ok(())
}

const SET: Command = Command {
    arity: -3,
    summary: c"Sets the value the next SEQ.NEXT returns",
    args: &[key(c"key"), int(c"value"), flag(c"FORCE")],
    ..Command::new(c"seq.set", set)
};

/// SEQ.SET key value [FORCE]
fn set(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let value = ffi::int(args[2])?;
    let force = options(&SET, &args[3..])?.flag("FORCE");
    // What replication and the AOF send is absolute (always with FORCE). A client's SET on a
    // serving node resumes the key first (so "could repeat" is judged above the safety gap) and
    // then serves in the current generation; a replicated one only applies the value.
    let from_client = !ctx.is_replicated_or_loading();
    let key = ctx.open_key(args[1], true);
    let now = command_ms();
    let mut slot = Slot::default();
    let existing = if from_client {
        datatype::serving::<Sequence>(&key, now, &mut slot)?
    } else {
        key.value_mut(&HANDLE, now, &mut slot)?
    };
    match existing {
        // A per-period sequence moves into the clock's period first (on a serving node), and
        // that move travels as a reservation before the SET.
        Some(mut state) if from_client => {
            if state.set_at(value, force, now)? {
                replicate(ctx, args[1], &mut state);
            }
        }
        Some(mut state) => state.set(value, force)?,
        None => {
            let mut new = Sequence::new(SeqOptions::default());
            new.set(value, force)?;
            datatype::create(&key, new);
        }
    }
    ctx.replicate_with_word(c"SEQ.SET", args[1], args[2], c"FORCE");
    ctx.reply_ok();
    Ok(())
}

const INFO: Command = Command {
    flags: c"readonly fast",
    arity: 2,
    key: Read,
    summary: c"Shows a sequence's options and counters",
    args: &[key(c"key")],
    ..Command::new(c"seq.info", info)
};

/// SEQ.INFO key
fn info(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let s = key.value(&HANDLE, command_ms())?.ok_or(Error::NoSuchKey)?;
    let o = s.opts();
    let f = s.format();
    let period = s.period();
    let offset = period.map(|(_, off, _)| off.to_string());
    ctx.reply_fields(&[
        ("start", o.start.into()),
        ("increment", o.increment.into()),
        ("minvalue", o.min.into()),
        ("maxvalue", o.max.into()),
        ("cycle", (o.cycle as i64).into()),
        ("next", s.peek().into()),
        ("last", s.last().into()),
        ("cycles", (s.cycles as i64).into()),
        ("values_issued", (s.issued as i64).into()),
        ("reserved_until", i64::try_from(s.mark()).ok().into()),
        ("compact", (s.to_compact().is_some() as i64).into()),
        (
            "format",
            f.and_then(|f| f.template.as_ref())
                .map(|t| t.source().as_bytes())
                .into(),
        ),
        ("period", period.map(|(p, _, _)| p.name().as_bytes()).into()),
        ("utc_offset", offset.as_deref().map(str::as_bytes).into()),
        ("period_index", period.map(|(_, _, i)| i).into()),
        (
            "period_start",
            period.map(|(p, off, i)| period_start_ms(i, p, off)).into(),
        ),
        (
            "period_values_issued",
            period.map(|_| s.period_issued() as i64).into(),
        ),
        // The secret's fingerprint, never the secret.
        ("opaque", s.opaque().map(|p| p.fingerprint_bytes()).into()),
    ]);
    Ok(())
}

const DECODE: Command = Command {
    flags: c"readonly fast",
    arity: 3,
    key: Read,
    summary: c"Returns the issue-order value behind a public value of an OPAQUE sequence",
    args: &[key(c"key"), int(c"value")],
    ..Command::new(c"seq.decode", decode)
};

/// SEQ.DECODE key value
fn decode(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let value = ffi::int(args[2])?;
    let key = ctx.open_key(args[1], false);
    let s = key.value(&HANDLE, 0)?.ok_or(Error::NoSuchKey)?;
    ctx.reply_int(s.decode(value)?);
    Ok(())
}

const RESERVE: Command = Command {
    // 11 from AOF files written before PERIOD and FORMAT, 15 before OPAQUE, 16 now (see
    // `RESERVE_FIELDS`).
    arity: -11,
    internal: true,
    summary: c"Internal: raises a sequence's reservation (sent to replicas and the AOF)",
    args: &[
        key(c"key"),
        int(c"cycles"),
        int(c"mark"),
        int(c"rate"),
        int(c"start"),
        int(c"increment"),
        int(c"minvalue"),
        int(c"maxvalue"),
        int(c"cycle"),
        optional(string(c"period")),
        optional(int(c"utc-offset-minutes")),
        optional(string(c"template")),
        optional(int(c"period-index")),
        optional(string(c"opaque-secret")),
        int(c"gen"),
    ],
    ..Command::new(c"seq.reserve", reserve_command::<Sequence>)
};
