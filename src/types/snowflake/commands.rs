//! SNOWFLAKE.* commands: declarations, argument handling, replies.

use crate::core::format::{IdFormat, Prefix, TextForm, ENCODED_MAX};
use crate::core::snowflake::{self as sf, Issued, Layout, Snowflake};
use crate::error::{Error, Result};
use crate::glue::clock::command_ms;
use crate::glue::command::{
    flag, int, key, opt, opt_str, optional, options, string, Command, KeyAccess::*,
};
use crate::glue::config;
use crate::glue::datatype::{self, replicate, reserve_command};
use crate::glue::ffi::{self, bytes, Ctx, Field, Key, RStr, Slot};
use crate::glue::opaque::opaque_secret;
use crate::glue::stats;

use super::{bits, HANDLE};

pub static COMMANDS: &[Command] = &[CREATE, NEXT, PARSE, INFO, RESERVE];

const CREATE: Command = Command {
    summary: c"Creates a snowflake ID generator with a chosen layout, epoch, worker and format",
    args: &[
        key(c"key"),
        opt_str(c"LAYOUT", c"layout"),
        opt(c"EPOCH", c"unix-ms"),
        opt(c"TIME-BITS", c"time-bits"),
        opt(c"WORKER-BITS", c"worker-bits"),
        opt(c"SEQUENCE-BITS", c"sequence-bits"),
        opt(c"TIME-UNIT", c"ms"),
        opt(c"WORKER", c"worker-id"),
        opt_str(c"FORMAT", c"format"),
        opt_str(c"PREFIX", c"prefix"),
        flag(c"OPAQUE"),
        opt_str(c"SECRET", c"hex"),
    ],
    ..Command::new(c"snowflake.create", create)
};

/// SNOWFLAKE.CREATE key [LAYOUT DEFAULT|JS-SAFE] [EPOCH ms] [TIME-BITS n] [WORKER-BITS n]
/// [SEQUENCE-BITS n] [TIME-UNIT ms] [WORKER id] [FORMAT INT|STRING|BASE32|BASE62] [PREFIX text]
/// [OPAQUE [SECRET hex]]
fn create(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let o = options(&CREATE, &args[2..])?;
    let base = match o.str("LAYOUT") {
        Some(word) => {
            // A named layout fixes the widths and the unit; EPOCH and WORKER may still be given.
            for name in ["TIME-BITS", "WORKER-BITS", "SEQUENCE-BITS", "TIME-UNIT"] {
                if o.str(name).is_some() {
                    return Err(Error::LayoutConflict(name));
                }
            }
            Layout::named(word)?
        }
        None => Layout::default(),
    };
    let layout = Layout {
        epoch: o.int("EPOCH")?.unwrap_or(base.epoch),
        time_bits: bits(
            o.int("TIME-BITS")?,
            base.time_bits,
            "TIME-BITS",
            sf::TIME_BITS_RANGE,
        )?,
        worker_bits: bits(
            o.int("WORKER-BITS")?,
            base.worker_bits,
            "WORKER-BITS",
            sf::WORKER_BITS_RANGE,
        )?,
        seq_bits: bits(
            o.int("SEQUENCE-BITS")?,
            base.seq_bits,
            "SEQUENCE-BITS",
            sf::SEQUENCE_BITS_RANGE,
        )?,
        time_unit_ms: o.int("TIME-UNIT")?.unwrap_or(base.time_unit_ms),
    };
    let worker = o.int("WORKER")?;
    let now = command_ms();
    layout.validate(Some(now))?;
    let format = o.str("FORMAT").map(IdFormat::parse).transpose()?;
    let prefix = o.str("PREFIX").map(Prefix::parse).transpose()?;
    let text = TextForm::new(format.unwrap_or_default(), prefix.unwrap_or_default())?;
    Snowflake::validate_worker(&layout, worker)?;
    let secret = opaque_secret(o.flag("OPAQUE"), o.str("SECRET"))?;
    let key = ctx.open_key(args[1], true);
    if key.value(&HANDLE, now)?.is_some() {
        return Err(Error::KeyExists);
    }
    let new = Snowflake::new(layout, worker).with_text(text);
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
    summary:
        c"Returns the next snowflake ID (or COUNT IDs) of a generator, creating it with defaults",
    complexity: c"O(1), O(N) with COUNT N",
    args: &[
        key(c"key"),
        opt(c"COUNT", c"count"),
        opt_str(c"FORMAT", c"format"),
    ],
    ..Command::new(c"snowflake.next", next)
};

/// SNOWFLAKE.NEXT key [COUNT n] [FORMAT INT|STRING|BASE32|BASE62]
#[inline(always)] // into its trampoline: the common call is the hot path
fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (count, format) = if args.len() == 2 {
        (None, None)
    } else {
        next_options(args)?
    };
    let key = ctx.open_key(args[1], true);
    let now = command_ms();
    let mut slot = Slot::default();
    // The key's state is used where it lies (no guard moved between branches): a missing key
    // takes its own, out-of-line path.
    let Some(held) = key.held(&HANDLE)? else {
        return next_new(ctx, args, &key, now, count, format);
    };
    let mut state = held.value_mut(now, &mut slot);
    datatype::serve(&mut state, now);
    let issued = issue(&mut state, now, count)?;
    if issued.advanced {
        replicate(ctx, args[1], &mut state);
    }
    reply_ids(ctx, &state, &issued, count, format);
    Ok(())
}

/// SNOWFLAKE.NEXT on a missing key: creates it with the defaults, only if the call succeeds.
#[inline(never)]
fn next_new(
    ctx: &Ctx,
    args: &[RStr],
    key: &Key,
    now: i64,
    count: Option<u32>,
    format: Option<IdFormat>,
) -> Result<()> {
    let mut new = Snowflake::new(Layout::default(), None);
    let issued = issue(&mut new, now, count)?;
    let mut state = datatype::create(key, new);
    replicate(ctx, args[1], &mut state);
    reply_ids(ctx, &state, &issued, count, format);
    Ok(())
}

/// One step of SNOWFLAKE.NEXT: `count` IDs (default 1) with the node's worker id and borrow
/// limit, asking the reservation fence when a new block is needed.
#[inline(always)]
fn issue(state: &mut Snowflake, now: i64, count: Option<u32>) -> Result<Issued> {
    let (worker, borrow) = (config::worker_id(), config::max_borrow_ms());
    state.next_fenced(
        now,
        worker,
        count.unwrap_or(1),
        borrow,
        datatype::may_reserve,
    )
}

/// Counts the issued IDs and replies with them: one, or an array of `count`, as integers or in
/// `format` (default: the key's own).
#[inline(always)]
fn reply_ids(
    ctx: &Ctx,
    state: &Snowflake,
    issued: &Issued,
    count: Option<u32>,
    format: Option<IdFormat>,
) {
    stats::SNOWFLAKE_IDS.add(issued.count as u64);
    if issued.clock_behind {
        stats::CLOCK_BEHIND.add(1);
    }
    if issued.borrowed_ms > 0 {
        stats::BORROWED_MS.add(issued.borrowed_ms);
    }
    if state.opaque().is_some() {
        return reply_opaque(ctx, state, issued, count, format);
    }
    let format = format.unwrap_or(state.text().format);
    if !format.is_text() {
        // The common case: integers, no text buffer.
        return each_id(ctx, issued, count, |id| ctx.reply_int(id));
    }
    let text = TextForm {
        format,
        prefix: state.text().prefix,
    };
    // Text forms are encoded into a stack buffer, one reply per id: no allocation per id.
    let mut buf = [0u8; ENCODED_MAX];
    let reply = |id: i64| {
        let len = text.encode(id, &mut buf);
        ctx.reply_bulk(&buf[..len]);
    };
    each_id(ctx, issued, count, reply);
}

/// Replies with the issued IDs through `reply`: the one ID, or an array of `count`.
#[inline(always)]
fn each_id(ctx: &Ctx, issued: &Issued, count: Option<u32>, mut reply: impl FnMut(i64)) {
    match count {
        None => reply(issued.first()),
        Some(n) => {
            ctx.reply_array(n as usize);
            for id in issued.ids() {
                reply(id);
            }
        }
    }
}

/// `reply_ids` for an OPAQUE key: each id through the permutation, then as the format asks.
#[cold]
#[inline(never)]
fn reply_opaque(
    ctx: &Ctx,
    state: &Snowflake,
    issued: &Issued,
    count: Option<u32>,
    format: Option<IdFormat>,
) {
    let text = TextForm {
        format: format.unwrap_or(state.text().format),
        prefix: state.text().prefix,
    };
    let mut buf = [0u8; ENCODED_MAX];
    let reply = |id: i64| {
        let id = state.public(id);
        if text.format.is_text() {
            let len = text.encode(id, &mut buf);
            ctx.reply_bulk(&buf[..len]);
        } else {
            ctx.reply_int(id);
        }
    };
    each_id(ctx, issued, count, reply);
}

/// SNOWFLAKE.NEXT's options (COUNT, FORMAT), when any are given.
#[inline(never)]
fn next_options(args: &[RStr]) -> Result<(Option<u32>, Option<IdFormat>)> {
    if args.len() == 4 && bytes(args[2]).eq_ignore_ascii_case(b"FORMAT") {
        // The common formatted call, without the general option parser.
        return Ok((None, Some(IdFormat::parse(bytes(args[3]))?)));
    }
    let o = options(&NEXT, &args[2..])?;
    let count = match o.int("COUNT")? {
        None => None,
        Some(n) if (1..=sf::MAX_COUNT as i64).contains(&n) => Some(n as u32),
        Some(_) => return Err(Error::CountRange(sf::MAX_COUNT as i64)),
    };
    Ok((count, o.str("FORMAT").map(IdFormat::parse).transpose()?))
}

const PARSE: Command = Command {
    flags: c"readonly fast",
    arity: -3,
    key: Read,
    summary: c"Splits a snowflake ID (in the key's format, or the one given) into its timestamp, worker and sequence",
    args: &[key(c"key"), string(c"id"), opt_str(c"FORMAT", c"format")],
    ..Command::new(c"snowflake.parse", parse)
};

/// SNOWFLAKE.PARSE key id [FORMAT INT|STRING|BASE32|BASE62]
fn parse(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let format = options(&PARSE, &args[3..])?
        .str("FORMAT")
        .map(IdFormat::parse)
        .transpose()?;
    let key = ctx.open_key(args[1], false);
    let stored = key.value(&HANDLE, 0)?;
    let default = Snowflake::new(Layout::default(), None);
    let state: &Snowflake = stored.as_deref().unwrap_or(&default);
    let id = match format.unwrap_or(state.text().format) {
        // An integer as Redis reads one (a negative one is no id of any layout).
        IdFormat::Int => ffi::int(args[2])?,
        f => state.text().decode(bytes(args[2]), Some(f))?,
    };
    // An OPAQUE key's public id is first mapped back to the id it issued.
    let (ts, worker, seq) = state.parse(state.issued(id)?)?;
    ctx.reply_fields(&[
        ("timestamp", ts.into()),
        ("worker", worker.into()),
        ("sequence", (seq as i64).into()),
    ]);
    Ok(())
}

const INFO: Command = Command {
    flags: c"readonly fast",
    arity: 2,
    key: Read,
    summary: c"Shows a snowflake generator's layout, clock state and counters",
    args: &[key(c"key")],
    ..Command::new(c"snowflake.info", info)
};

/// SNOWFLAKE.INFO key
fn info(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let s = key.value(&HANDLE, command_ms())?.ok_or(Error::NoSuchKey)?;
    let layout = s.layout();
    let unix = |ts: i64| layout.tick_start_ms(ts);
    let last_ts = s.last().0;
    let prefix = s.text().prefix;
    ctx.reply_fields(&[
        ("time_bits", (s.time_bits as i64).into()),
        ("worker_bits", (s.worker_bits as i64).into()),
        ("sequence_bits", (s.seq_bits() as i64).into()),
        ("time_unit", layout.time_unit_ms.into()),
        ("epoch", s.epoch.into()),
        ("worker", s.worker().unwrap_or(-1).into()),
        ("format", Field::Str(s.text().format.name().as_bytes())),
        (
            "prefix",
            (!prefix.is_empty()).then_some(prefix.as_bytes()).into(),
        ),
        (
            "last_timestamp",
            (if last_ts < 0 { -1 } else { unix(last_ts) }).into(),
        ),
        ("ids_issued", (s.ids_issued as i64).into()),
        ("clock_behind", (s.clock_behind() as i64).into()),
        ("borrowed_ms", (s.borrowed_ms as i64).into()),
        ("wall_seen", unix(s.wall_seen).into()),
        ("reserved_until", unix(s.mark).into()),
        ("time_bits_exhausted_at", s.exhausted_at().into()),
        ("js_safe_until", layout.js_safe_until().into()),
        ("compact", (s.to_compact().is_some() as i64).into()),
        // The secret's fingerprint, never the secret.
        ("opaque", s.opaque().map(|p| p.fingerprint_bytes()).into()),
    ]);
    Ok(())
}

const RESERVE: Command = Command {
    // 10 from AOF files written before TIME-UNIT and FORMAT, 13 before OPAQUE, 14 now (see
    // `RESERVE_FIELDS`).
    arity: -10,
    internal: true,
    summary: c"Internal: raises a snowflake generator's reservation (sent to replicas and the AOF)",
    args: &[
        key(c"key"),
        int(c"mark"),
        int(c"wall-seen"),
        int(c"epoch"),
        int(c"time-bits"),
        int(c"worker-bits"),
        int(c"sequence-bits"),
        int(c"worker"),
        optional(int(c"time-unit")),
        optional(string(c"format")),
        optional(string(c"prefix")),
        optional(string(c"opaque-secret")),
        int(c"gen"),
    ],
    ..Command::new(c"snowflake.reserve", reserve_command::<Snowflake>)
};
