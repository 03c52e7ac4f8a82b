//! UUID.* commands: declarations, argument handling, replies.

use crate::core::uuid::{self as uu, Issued, UidFormat, UuidGen};
use crate::error::{Error, Result};
use crate::glue::clock::command_ms;
use crate::glue::command::{int, key, opt, opt_str, options, string, Command, KeyAccess::*};
use crate::glue::config;
use crate::glue::datatype::{self, replicate, reserve_command};
use crate::glue::ffi::{bytes, Ctx, Field, Key, RStr, Slot};
use crate::glue::stats;

use super::{random, HANDLE};

pub static COMMANDS: &[Command] = &[CREATE, NEXT, PARSE, INFO, RESERVE];

const CREATE: Command = Command {
    summary: c"Creates a UUIDv7 / ULID generator with a chosen format and worker",
    args: &[
        key(c"key"),
        opt_str(c"FORMAT", c"format"),
        opt(c"WORKER", c"worker-id"),
    ],
    ..Command::new(c"uuid.create", create)
};

/// UUID.CREATE key [FORMAT UUID|ULID|HEX|BINARY] [WORKER n]
fn create(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let o = options(&CREATE, &args[2..])?;
    let format = o.str("FORMAT").map(UidFormat::parse).transpose()?;
    let worker = o.int("WORKER")?;
    UuidGen::validate_worker(worker)?;
    let now = command_ms();
    let key = ctx.open_key(args[1], true);
    if key.value(&HANDLE, now)?.is_some() {
        return Err(Error::KeyExists);
    }
    let mut state = datatype::create(&key, UuidGen::new(format.unwrap_or_default(), worker));
    replicate(ctx, args[1], &mut state);
    ctx.reply_ok();
    Ok(())
}

const NEXT: Command = Command {
    summary:
        c"Returns the next UUIDv7 (or COUNT of them) of a generator, creating it with defaults",
    complexity: c"O(1), O(N) with COUNT N",
    args: &[
        key(c"key"),
        opt(c"COUNT", c"count"),
        opt_str(c"FORMAT", c"format"),
    ],
    ..Command::new(c"uuid.next", next)
};

/// UUID.NEXT key [COUNT n] [FORMAT UUID|ULID|HEX|BINARY]
fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (count, format) = if args.len() == 2 {
        (None, None)
    } else {
        let o = options(&NEXT, &args[2..])?;
        let count = match o.int("COUNT")? {
            None => None,
            Some(n) if (1..=uu::MAX_COUNT as i64).contains(&n) => Some(n as u32),
            Some(_) => return Err(Error::CountRange(uu::MAX_COUNT as i64)),
        };
        (count, o.str("FORMAT").map(UidFormat::parse).transpose()?)
    };
    let key = ctx.open_key(args[1], true);
    let now = command_ms();
    let mut slot = Slot::default();
    let Some(held) = key.held(&HANDLE)? else {
        return next_new(ctx, args, &key, now, count, format);
    };
    let mut state = held.value_mut(now, &mut slot);
    datatype::serve(&mut state, now);
    let issued = issue(&mut state, now, count)?;
    if issued.advanced {
        replicate(ctx, args[1], &mut state);
    }
    reply_ids(ctx, format.unwrap_or(state.format()), &issued, count);
    Ok(())
}

/// UUID.NEXT on a missing key: creates it with the defaults, only if the call succeeds.
fn next_new(
    ctx: &Ctx,
    args: &[RStr],
    key: &Key,
    now: i64,
    count: Option<u32>,
    format: Option<UidFormat>,
) -> Result<()> {
    let mut new = UuidGen::new(UidFormat::default(), None);
    let issued = issue(&mut new, now, count)?;
    let mut state = datatype::create(key, new);
    replicate(ctx, args[1], &mut state);
    reply_ids(ctx, format.unwrap_or(state.format()), &issued, count);
    Ok(())
}

/// One step of UUID.NEXT with the node's worker id and borrow limit, behind the fence.
fn issue(state: &mut UuidGen, now: i64, count: Option<u32>) -> Result<Issued> {
    let (worker, borrow) = (config::worker_id(), config::max_borrow_ms());
    state.next_fenced(
        now,
        worker,
        count.unwrap_or(1),
        borrow,
        datatype::may_reserve,
    )
}

/// Counts the issued IDs and replies with them in `format`: one, or an array of `count`.
fn reply_ids(ctx: &Ctx, format: UidFormat, issued: &Issued, count: Option<u32>) {
    stats::UUID_IDS.add(issued.count as u64);
    if issued.clock_behind {
        stats::CLOCK_BEHIND.add(1);
    }
    if issued.borrowed_ms > 0 {
        stats::BORROWED_MS.add(issued.borrowed_ms);
    }
    let mut buf = [0u8; uu::TEXT_MAX];
    random::with(|mut rand| {
        if let Some(n) = count {
            ctx.reply_array(n as usize);
        }
        for id in issued.ids(&mut rand) {
            let len = format.encode(id, &mut buf);
            ctx.reply_bulk(&buf[..len]);
        }
    });
}

const PARSE: Command = Command {
    flags: c"readonly fast",
    arity: 3,
    key: Read,
    summary: c"Splits a UUIDv7 or ULID (any format) into its timestamp, worker and counter",
    args: &[key(c"key"), string(c"uuid")],
    ..Command::new(c"uuid.parse", parse)
};

/// UUID.PARSE key uuid
fn parse(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let stored = key.value(&HANDLE, 0)?;
    let default = UuidGen::new(UidFormat::default(), None);
    let state: &UuidGen = stored.as_deref().unwrap_or(&default);
    let (ms, counter, worker) = state.parse(uu::decode(bytes(args[2]))?)?;
    ctx.reply_fields(&[
        ("timestamp", ms.into()),
        ("worker", worker.into()),
        ("counter", (counter as i64).into()),
    ]);
    Ok(())
}

const INFO: Command = Command {
    flags: c"readonly fast",
    arity: 2,
    key: Read,
    summary: c"Shows a UUID generator's format, worker, clock state and counters",
    args: &[key(c"key")],
    ..Command::new(c"uuid.info", info)
};

/// UUID.INFO key
fn info(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let s = key.value(&HANDLE, command_ms())?.ok_or(Error::NoSuchKey)?;
    ctx.reply_fields(&[
        ("format", Field::Str(s.format().name().as_bytes())),
        ("worker", s.worker().unwrap_or(-1).into()),
        ("counter_bits", (uu::COUNTER_BITS as i64).into()),
        ("last_timestamp", s.last_ms().into()),
        ("ids_issued", (s.ids_issued as i64).into()),
        ("clock_behind", (s.clock_behind as i64).into()),
        ("borrowed_ms", (s.borrowed_ms as i64).into()),
        ("wall_seen", s.wall_seen.into()),
        ("reserved_until", s.mark.into()),
        ("time_exhausted_at", uu::MAX_TS.into()),
    ]);
    Ok(())
}

const RESERVE: Command = Command {
    arity: 7,
    internal: true,
    summary: c"Internal: raises a UUID generator's reservation (sent to replicas and the AOF)",
    args: &[
        key(c"key"),
        int(c"mark"),
        int(c"wall-seen"),
        int(c"worker"),
        string(c"format"),
        int(c"gen"),
    ],
    ..Command::new(c"uuid.reserve", reserve_command::<UuidGen>)
};
