//! SEQ.* commands: declarations, argument handling, replies.

use crate::core::sequence::{SeqOptions, Sequence};
use crate::error::{Error, Result};
use crate::glue::clock::now_ms;
use crate::glue::command::{flag, int, key, opt, options, Command, KeyAccess::*};
use crate::glue::datatype::{self, replicate, reserve_command};
use crate::glue::ffi::{self, Ctx, RStr, Slot};
use crate::glue::stats;

use super::HANDLE;

pub static COMMANDS: &[Command] = &[CREATE, NEXT, NEXTBATCH, CURRENT, SET, INFO, RESERVE];

/// Takes `count` values from the sequence at `args[1]` (created with the defaults when missing,
/// only if the call succeeds) and propagates a reservation when the mark moved.
fn take(ctx: &Ctx, args: &[RStr], count: i64) -> Result<(i64, i64)> {
    let key = ctx.open_key(args[1], true);
    let now = now_ms();
    let mut slot = Slot::default();
    let taken = match datatype::serving::<Sequence>(&key, now, &mut slot)? {
        Some(mut state) => {
            let taken = state.take(count, now)?;
            if taken.advanced {
                replicate(ctx, args[1], &mut state);
            }
            taken
        }
        None => {
            let mut new = Sequence::new(SeqOptions::default());
            let taken = new.take(count, now)?;
            replicate(ctx, args[1], &mut datatype::create(&key, new));
            taken
        }
    };
    stats::SEQ_VALUES.add(count as u64);
    Ok((taken.first, taken.last))
}

const CREATE: Command = Command {
    summary: c"Creates an integer sequence with bounds, increment and cycling",
    args: &[
        key(c"key"),
        opt(c"START", c"start"),
        opt(c"INCREMENT", c"increment"),
        opt(c"MINVALUE", c"minvalue"),
        opt(c"MAXVALUE", c"maxvalue"),
        flag(c"CYCLE"),
    ],
    ..Command::new(c"seq.create", create)
};

/// SEQ.CREATE key [START n] [INCREMENT n] [MINVALUE n] [MAXVALUE n] [CYCLE]
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
    let key = ctx.open_key(args[1], true);
    if key.value(&HANDLE, 0)?.is_some() {
        return Err(Error::KeyExists);
    }
    let mut state = datatype::create(&key, Sequence::new(opts));
    replicate(ctx, args[1], &mut state);
    ctx.reply_ok();
    Ok(())
}

const NEXT: Command = Command {
    arity: 2,
    summary: c"Returns the next value of a sequence, creating it with defaults",
    args: &[key(c"key")],
    ..Command::new(c"seq.next", next)
};

/// SEQ.NEXT key
fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (first, _) = take(ctx, args, 1)?;
    ctx.reply_int(first);
    Ok(())
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
    let (first, last) = take(ctx, args, count)?;
    ctx.reply_array(2);
    ctx.reply_int(first);
    ctx.reply_int(last);
    Ok(())
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
    match key.value(&HANDLE, 0)?.and_then(|s| s.last()) {
        Some(last) => ctx.reply_int(last),
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
    let now = now_ms();
    let mut slot = Slot::default();
    let existing = if from_client {
        datatype::serving::<Sequence>(&key, now, &mut slot)?
    } else {
        key.value_mut(&HANDLE, now, &mut slot)?
    };
    match existing {
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
    let s = key.value(&HANDLE, now_ms())?.ok_or(Error::NoSuchKey)?;
    let o = s.opts();
    ctx.reply_fields(&[
        ("start", Some(o.start)),
        ("increment", Some(o.increment)),
        ("minvalue", Some(o.min)),
        ("maxvalue", Some(o.max)),
        ("cycle", Some(o.cycle as i64)),
        ("next", s.peek()),
        ("last", s.last()),
        ("cycles", Some(s.cycles as i64)),
        ("values_issued", Some(s.issued as i64)),
        ("reserved_until", i64::try_from(s.mark()).ok()),
        ("compact", Some(s.to_compact().is_some() as i64)),
    ]);
    Ok(())
}

const RESERVE: Command = Command {
    arity: 11,
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
        int(c"gen"),
    ],
    ..Command::new(c"seq.reserve", reserve_command::<Sequence>)
};
