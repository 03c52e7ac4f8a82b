//! SNOWFLAKE.* commands: argument parsing, key access, replies, reservation propagation.

use super::clock::now_ms;
use super::config;
use super::ffi::{int, parse_options, Ctx, RStr};
use super::safety;
use super::serving::{self, fresh, serving_value};
use super::stats;
use super::types::{replicate_snowflake, SNOWFLAKE_TYPE};
use crate::core::snowflake::{self as sf, Layout, Snowflake};
use crate::error::{Error, Result};

fn bits(v: Option<i64>, default: u8, name: &'static str, (lo, hi): (u8, u8)) -> Result<u8> {
    match v {
        None => Ok(default),
        Some(b) if b < lo as i64 || b > hi as i64 => {
            Err(Error::OutOfRange(name, lo as i64, hi as i64))
        }
        Some(b) => Ok(b as u8),
    }
}

impl serving::Served for Snowflake {
    fn gen_mut(&mut self) -> &mut u16 {
        &mut self.gen
    }
    fn resume_gaps(&mut self, gaps: u64) {
        self.resume(safety::snowflake_gap_ms().saturating_mul(gaps as i64));
    }
}

/// SNOWFLAKE.CREATE key [EPOCH ms] [TIME-BITS n] [WORKER-BITS n] [SEQUENCE-BITS n] [WORKER id]
pub fn create(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let [epoch, tb, wb, sb, worker] = parse_options(
        &args[2..],
        [
            "EPOCH",
            "TIME-BITS",
            "WORKER-BITS",
            "SEQUENCE-BITS",
            "WORKER",
        ],
        &[],
    )?;
    let layout = Layout {
        epoch: epoch.unwrap_or(sf::DEFAULT_EPOCH_MS),
        time_bits: bits(tb, sf::DEFAULT_TIME_BITS, "TIME-BITS", sf::TIME_BITS_RANGE)?,
        worker_bits: bits(
            wb,
            sf::DEFAULT_WORKER_BITS,
            "WORKER-BITS",
            sf::WORKER_BITS_RANGE,
        )?,
        seq_bits: bits(
            sb,
            sf::DEFAULT_SEQUENCE_BITS,
            "SEQUENCE-BITS",
            sf::SEQUENCE_BITS_RANGE,
        )?,
    };
    layout.validate(Some(now_ms()))?;
    Snowflake::validate_worker(&layout, worker)?;
    let mut key = ctx.open_key(args[1], true);
    if key.value::<Snowflake>(&SNOWFLAKE_TYPE)?.is_some() {
        return Err(Error::KeyExists);
    }
    let state = key.set(&SNOWFLAKE_TYPE, fresh(Snowflake::new(layout, worker)));
    replicate_snowflake(ctx, args[1], state);
    ctx.reply_ok();
    Ok(())
}

/// SNOWFLAKE.NEXT key [COUNT n]
pub fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let count = match args.len() {
        2 => None,
        _ => {
            let [count] = parse_options(&args[2..], ["COUNT"], &[])?;
            match count {
                Some(n) if (1..=sf::MAX_COUNT as i64).contains(&n) => Some(n as u32),
                _ => return Err(Error::CountRange(sf::MAX_COUNT as i64)),
            }
        }
    };
    let mut key = ctx.open_key(args[1], true);
    let now = now_ms();
    let (worker, borrow) = (config::worker_id(), config::max_borrow_ms());
    let n = count.unwrap_or(1);
    let (issued, state) = match serving_value::<Snowflake>(&mut key, &SNOWFLAKE_TYPE)? {
        Some(state) => (state.next(now, worker, n, borrow)?, state),
        None => {
            // A missing key is created with the defaults, but only if the call succeeds.
            let mut new = fresh(Snowflake::new(Layout::default(), None));
            let issued = new.next(now, worker, n, borrow)?;
            (issued, key.set(&SNOWFLAKE_TYPE, new))
        }
    };
    if issued.advanced {
        replicate_snowflake(ctx, args[1], state);
    }
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

/// SNOWFLAKE.PARSE key id
pub fn parse(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let id = int(args[2])?;
    let mut key = ctx.open_key(args[1], false);
    let parsed = match key.value::<Snowflake>(&SNOWFLAKE_TYPE)? {
        Some(state) => state.parse(id)?,
        None => Snowflake::new(Layout::default(), None).parse(id)?,
    };
    let (ts, worker, seq) = parsed;
    ctx.reply_fields(&[
        ("timestamp", Some(ts)),
        ("worker", Some(worker)),
        ("sequence", Some(seq as i64)),
    ]);
    Ok(())
}

/// SNOWFLAKE.INFO key
pub fn info(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let mut key = ctx.open_key(args[1], false);
    let s = key
        .value::<Snowflake>(&SNOWFLAKE_TYPE)?
        .ok_or(Error::NoSuchKey)?;
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
    ]);
    Ok(())
}

/// SNOWFLAKE.RESERVE key mark wall-seen epoch time-bits worker-bits sequence-bits worker gen
/// (internal: what replicas and the AOF receive). Creates the key when missing, else raises its
/// mark; never lowers anything. `gen` is the serving generation the reservation was made in.
pub fn reserve(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let mut v = [0i64; 8];
    for (slot, arg) in v.iter_mut().zip(&args[2..]) {
        *slot = int(*arg)?;
    }
    let [mark, wall_seen, epoch, tb, wb, sb, worker, gen] = v;
    let layout = Layout {
        epoch,
        time_bits: bits(Some(tb), 0, "TIME-BITS", sf::TIME_BITS_RANGE)?,
        worker_bits: bits(Some(wb), 0, "WORKER-BITS", sf::WORKER_BITS_RANGE)?,
        seq_bits: bits(Some(sb), 0, "SEQUENCE-BITS", sf::SEQUENCE_BITS_RANGE)?,
    };
    layout.validate(None)?;
    let worker = (worker != -1).then_some(worker);
    Snowflake::validate_worker(&layout, worker)?;
    for (name, v) in [("mark", mark), ("wall-seen", wall_seen), ("gen", gen)] {
        if v < 0 {
            return Err(Error::OutOfRange(name, 0, i64::MAX));
        }
    }
    let mut key = ctx.open_key(args[1], true);
    let state = match key.value::<Snowflake>(&SNOWFLAKE_TYPE)? {
        Some(s) if s.layout() != layout || s.worker() != worker => {
            return Err(Error::LayoutMismatch)
        }
        Some(s) => s,
        None => key.set(&SNOWFLAKE_TYPE, Snowflake::new(layout, worker)),
    };
    state.apply_reservation(mark, wall_seen);
    state.gen = gen as u16;
    serving::raise(gen as u64);
    ctx.replicate_verbatim();
    ctx.reply_ok();
    Ok(())
}
