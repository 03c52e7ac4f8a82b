//! SNOWFLAKE.* commands: declarations, argument handling, replies.

use crate::core::snowflake::{self as sf, Layout, Snowflake};
use crate::error::{Error, Result};
use crate::glue::clock::now_ms;
use crate::glue::command::{int, key, opt, options, Command, KeyAccess::*};
use crate::glue::config;
use crate::glue::datatype::{self, replicate, reserve_command};
use crate::glue::ffi::{self, Ctx, RStr, Slot};
use crate::glue::stats;

use super::{bits, HANDLE};

pub static COMMANDS: &[Command] = &[CREATE, NEXT, PARSE, INFO, RESERVE];

const CREATE: Command = Command {
    summary: c"Creates a snowflake ID generator with a chosen layout, epoch and worker",
    args: &[
        key(c"key"),
        opt(c"EPOCH", c"unix-ms"),
        opt(c"TIME-BITS", c"time-bits"),
        opt(c"WORKER-BITS", c"worker-bits"),
        opt(c"SEQUENCE-BITS", c"sequence-bits"),
        opt(c"WORKER", c"worker-id"),
    ],
    ..Command::new(c"snowflake.create", create)
};

/// SNOWFLAKE.CREATE key [EPOCH ms] [TIME-BITS n] [WORKER-BITS n] [SEQUENCE-BITS n] [WORKER id]
fn create(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let o = options(&CREATE, &args[2..])?;
    let layout = Layout {
        epoch: o.int("EPOCH")?.unwrap_or(sf::DEFAULT_EPOCH_MS),
        time_bits: bits(
            o.int("TIME-BITS")?,
            sf::DEFAULT_TIME_BITS,
            "TIME-BITS",
            sf::TIME_BITS_RANGE,
        )?,
        worker_bits: bits(
            o.int("WORKER-BITS")?,
            sf::DEFAULT_WORKER_BITS,
            "WORKER-BITS",
            sf::WORKER_BITS_RANGE,
        )?,
        seq_bits: bits(
            o.int("SEQUENCE-BITS")?,
            sf::DEFAULT_SEQUENCE_BITS,
            "SEQUENCE-BITS",
            sf::SEQUENCE_BITS_RANGE,
        )?,
    };
    let worker = o.int("WORKER")?;
    let now = now_ms();
    layout.validate(Some(now))?;
    Snowflake::validate_worker(&layout, worker)?;
    let key = ctx.open_key(args[1], true);
    if key.value(&HANDLE, now)?.is_some() {
        return Err(Error::KeyExists);
    }
    let mut state = datatype::create(&key, Snowflake::new(layout, worker));
    replicate(ctx, args[1], &mut state);
    ctx.reply_ok();
    Ok(())
}

const NEXT: Command = Command {
    summary:
        c"Returns the next snowflake ID (or COUNT IDs) of a generator, creating it with defaults",
    complexity: c"O(1), O(N) with COUNT N",
    args: &[key(c"key"), opt(c"COUNT", c"count")],
    ..Command::new(c"snowflake.next", next)
};

/// SNOWFLAKE.NEXT key [COUNT n]
fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let count = match args.len() {
        2 => None,
        _ => match options(&NEXT, &args[2..])?.int("COUNT")? {
            Some(n) if (1..=sf::MAX_COUNT as i64).contains(&n) => Some(n as u32),
            _ => return Err(Error::CountRange(sf::MAX_COUNT as i64)),
        },
    };
    let key = ctx.open_key(args[1], true);
    let now = now_ms();
    let (worker, borrow) = (config::worker_id(), config::max_borrow_ms());
    let n = count.unwrap_or(1);
    let mut slot = Slot::default();
    let issued = match datatype::serving::<Snowflake>(&key, now, &mut slot)? {
        Some(mut state) => {
            let issued = state.next(now, worker, n, borrow)?;
            if issued.advanced {
                replicate(ctx, args[1], &mut state);
            }
            issued
        }
        None => {
            // A missing key is created with the defaults, but only if the call succeeds.
            let mut new = Snowflake::new(Layout::default(), None);
            let issued = new.next(now, worker, n, borrow)?;
            replicate(ctx, args[1], &mut datatype::create(&key, new));
            issued
        }
    };
    stats::SNOWFLAKE_IDS.add(n as u64);
    if issued.clock_behind {
        stats::CLOCK_BEHIND.add(1);
    }
    if issued.borrowed_ms > 0 {
        stats::BORROWED_MS.add(issued.borrowed_ms);
    }
    match count {
        None => ctx.reply_int(issued.first()),
        Some(n) => {
            ctx.reply_array(n as usize);
            for id in issued.ids() {
                ctx.reply_int(id);
            }
        }
    }
    Ok(())
}

const PARSE: Command = Command {
    flags: c"readonly fast",
    arity: 3,
    key: Read,
    summary: c"Splits a snowflake ID into its timestamp, worker and sequence",
    args: &[key(c"key"), int(c"id")],
    ..Command::new(c"snowflake.parse", parse)
};

/// SNOWFLAKE.PARSE key id
fn parse(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let id = ffi::int(args[2])?;
    let key = ctx.open_key(args[1], false);
    let (ts, worker, seq) = match key.value(&HANDLE, 0)? {
        Some(state) => state.parse(id)?,
        None => Snowflake::new(Layout::default(), None).parse(id)?,
    };
    ctx.reply_fields(&[
        ("timestamp", Some(ts)),
        ("worker", Some(worker)),
        ("sequence", Some(seq as i64)),
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
    let s = key.value(&HANDLE, now_ms())?.ok_or(Error::NoSuchKey)?;
    let unix = |ts: i64| ts.saturating_add(s.epoch);
    let last_ts = s.last().0;
    ctx.reply_fields(&[
        ("time_bits", Some(s.time_bits as i64)),
        ("worker_bits", Some(s.worker_bits as i64)),
        ("sequence_bits", Some(s.seq_bits() as i64)),
        ("epoch", Some(s.epoch)),
        ("worker", Some(s.worker().unwrap_or(-1))),
        (
            "last_timestamp",
            Some(if last_ts < 0 { -1 } else { unix(last_ts) }),
        ),
        ("ids_issued", Some(s.ids_issued as i64)),
        ("clock_behind", Some(s.clock_behind() as i64)),
        ("borrowed_ms", Some(s.borrowed_ms as i64)),
        ("wall_seen", Some(unix(s.wall_seen))),
        ("reserved_until", Some(unix(s.mark))),
        ("time_bits_exhausted_at", Some(s.exhausted_at())),
        ("compact", Some(s.to_compact().is_some() as i64)),
    ]);
    Ok(())
}

const RESERVE: Command = Command {
    arity: 10,
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
        int(c"gen"),
    ],
    ..Command::new(c"snowflake.reserve", reserve_command::<Snowflake>)
};
