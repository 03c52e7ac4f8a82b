//! SEQ.* commands: argument parsing, key access, replies, reservation propagation.

use super::clock::now_ms;
use super::ffi::{int, int128, parse_options, Ctx, RStr};
use super::safety;
use super::serving::{self, fresh, serving_value};
use super::stats;
use super::types::{replicate_seq, SEQ_TYPE};
use crate::core::sequence::{SeqOptions, Sequence};
use crate::error::{Error, Result};

impl serving::Served for Sequence {
    fn gen_mut(&mut self) -> &mut u16 {
        &mut self.gen
    }
    fn resume_gaps(&mut self, gaps: u64) {
        let gap = safety::sequence_gap_steps(self.rate, self.opts().range_steps());
        self.resume(gap.saturating_mul(gaps));
    }
}

/// Takes `count` values from the sequence at `args[1]` (created with the defaults when missing,
/// only if the call succeeds) and propagates a reservation when the mark moved.
fn take(ctx: &Ctx, args: &[RStr], count: i64) -> Result<(i64, i64)> {
    let mut key = ctx.open_key(args[1], true);
    let now = now_ms();
    let (taken, state) = match serving_value::<Sequence>(&mut key, &SEQ_TYPE)? {
        Some(state) => (state.take(count, now)?, state),
        None => {
            let mut new = fresh(Sequence::new(SeqOptions::default()));
            let taken = new.take(count, now)?;
            (taken, key.set(&SEQ_TYPE, new))
        }
    };
    if taken.advanced {
        replicate_seq(ctx, args[1], state);
    }
    stats::SEQ_VALUES.add(count as u64);
    Ok((taken.first, taken.last))
}

/// SEQ.CREATE key [START n] [INCREMENT n] [MINVALUE n] [MAXVALUE n] [CYCLE]
pub fn create(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let [start, increment, min, max, cycle] = parse_options(
        &args[2..],
        ["START", "INCREMENT", "MINVALUE", "MAXVALUE", "CYCLE"],
        &["CYCLE"],
    )?;
    let d = SeqOptions::default();
    let min = min.unwrap_or(d.min);
    let opts = SeqOptions {
        start: start.unwrap_or(min),
        increment: increment.unwrap_or(d.increment),
        min,
        max: max.unwrap_or(d.max),
        cycle: cycle.is_some(),
    };
    opts.validate()?;
    let mut key = ctx.open_key(args[1], true);
    if key.value::<Sequence>(&SEQ_TYPE)?.is_some() {
        return Err(Error::KeyExists);
    }
    let state = key.set(&SEQ_TYPE, fresh(Sequence::new(opts)));
    replicate_seq(ctx, args[1], state);
    ctx.reply_ok();
    Ok(())
}

/// SEQ.NEXT key
pub fn next(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (first, _) = take(ctx, args, 1)?;
    ctx.reply_int(first);
    Ok(())
}

/// SEQ.NEXTBATCH key count
pub fn nextbatch(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let count = int(args[2])?;
    if count < 1 {
        return Err(Error::CountNotPositive);
    }
    let (first, last) = take(ctx, args, count)?;
    ctx.reply_array(2);
    ctx.reply_int(first);
    ctx.reply_int(last);
    Ok(())
}

/// SEQ.CURRENT key
pub fn current(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let mut key = ctx.open_key(args[1], false);
    match key.value::<Sequence>(&SEQ_TYPE)?.and_then(|s| s.last()) {
        Some(last) => ctx.reply_int(last),
        None => ctx.reply_null(),
    }
    Ok(())
}

/// SEQ.SET key value [FORCE]
pub fn set(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let value = int(args[2])?;
    let [force] = parse_options(&args[3..], ["FORCE"], &["FORCE"])?;
    let force = force.is_some();
    // What replication and the AOF send is absolute (always with FORCE). A client's SET on a
    // serving node resumes the key first (so "could repeat" is judged above the safety gap) and
    // then serves in the current generation; a replicated one only applies the value.
    let from_client = !ctx.is_replicated_or_loading();
    let mut key = ctx.open_key(args[1], true);
    let existing = if from_client {
        serving_value::<Sequence>(&mut key, &SEQ_TYPE)?
    } else {
        key.value::<Sequence>(&SEQ_TYPE)?
    };
    match existing {
        Some(state) => state.set(value, force)?,
        None => {
            let mut new = fresh(Sequence::new(SeqOptions::default()));
            new.set(value, force)?;
            key.set(&SEQ_TYPE, new);
        }
    }
    ctx.replicate_set_force(args[1], args[2]);
    ctx.reply_ok();
    Ok(())
}

/// SEQ.INFO key
pub fn info(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let mut key = ctx.open_key(args[1], false);
    let s = key.value::<Sequence>(&SEQ_TYPE)?.ok_or(Error::NoSuchKey)?;
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
    ]);
    Ok(())
}

/// SEQ.RESERVE key cycles mark rate start increment minvalue maxvalue cycle gen
/// (internal: what replicas and the AOF receive). Creates the key when missing, else raises its
/// mark; never lowers anything. `gen` is the serving generation the reservation was made in.
pub fn reserve(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let mark = int128(args[3])?;
    let mut v = [0i64; 8];
    for (slot, i) in v.iter_mut().zip([2, 4, 5, 6, 7, 8, 9, 10]) {
        *slot = int(args[i])?;
    }
    let [cycles, rate, start, increment, min, max, cycle, gen] = v;
    for (name, v, max) in [
        ("cycles", cycles, i64::MAX),
        ("rate", rate, i64::MAX),
        ("cycle", cycle, 1),
        ("gen", gen, i64::MAX),
    ] {
        if v < 0 || v > max {
            return Err(Error::OutOfRange(name, 0, max));
        }
    }
    let opts = SeqOptions {
        start,
        increment,
        min,
        max,
        cycle: cycle == 1,
    };
    opts.validate()?;
    let (cycles, rate) = (cycles as u64, rate.min(u32::MAX as i64) as u32);
    Sequence::check_reservation(&opts, cycles, mark)?;
    let mut key = ctx.open_key(args[1], true);
    let state = match key.value::<Sequence>(&SEQ_TYPE)? {
        Some(s) if s.opts() != opts => return Err(Error::LayoutMismatch),
        Some(s) => s,
        None => key.set(&SEQ_TYPE, Sequence::new(opts)),
    };
    state.apply_reservation(cycles, mark, rate);
    state.gen = gen as u16;
    serving::raise(gen as u64);
    ctx.replicate_verbatim();
    ctx.reply_ok();
    Ok(())
}
