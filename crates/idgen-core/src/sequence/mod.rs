//! Integer sequences with bounds, increments, cycling and batch reservation.
//!
//! Pure logic. Position: `(cycles, next)`, the value the next call returns in the current cycle;
//! `next == maxvalue + 1` means the cycle is used up. Values are kept as `i128` so that
//! `maxvalue + 1` never overflows.
//!
//! Reservation: the mark is an exclusive ceiling on every value issued in the current cycle
//! (replicated as the pair `(cycles, mark)`, compared lexicographically). A call that would issue at or above it
//! first raises it by a block sized to the key's recent issue rate; only then is there something to
//! replicate. A resumed generator starts at the mark, on its own progression.
//!
//! Periods and templates (`PERIOD`, `UTC-OFFSET`, `FORMAT template`; rules in `period.rs`): a
//! per-period sequence also keeps the index of the period it issues in, and the reservation is
//! the triple `(period, cycles, mark)`, compared lexicographically. When the clock's period is
//! later than the stored one, the next call restarts the value at START in that period, in the
//! same step that records the new period, and raises the mark (so the new period is replicated
//! before any value of it is returned). The period never moves back. After a resume (a load or
//! a promotion) the first restart into a new period within the safety window starts above START
//! by the resume's gap: the lost history may have issued that many values in the new period.

mod options;
mod persist;

pub use options::{
    SeqFormat, SeqOptions, BLOCK_WINDOW_MS, COMPACT_NEXT_BITS, MAX_BLOCK, MAX_CYCLES, MIN_BLOCK,
    MIN_RATE_WINDOW_MS,
};

use crate::error::{Error, Result};
use crate::opaque::{Permutation, Secret, MIN_DOMAIN};
use crate::period::{
    effective_period, next_period_start_ms, period_exhausted, period_fields, period_index, Period,
    PeriodFields, UtcOffset,
};
use crate::template::Sink;
use crate::Now;

/// The part of a formatted, per-period or opaque sequence's state that default sequences do
/// without (boxed, so that they do not pay for it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ext {
    fmt: SeqFormat,
    /// The period the sequence issues in (0 without PERIOD). Replicated and persisted.
    index: i64,
    /// Values issued in the current period (persisted, not replicated).
    period_issued: u64,
    /// Memory only: after a resume, a restart into a new period before `pending_until` (unix
    /// ms) starts `pending_gap` steps above START.
    pending_gap: u64,
    pending_until: i64,
    /// Memory only, derived from `index`: the period's calendar fields for the template
    /// (`None` outside the calendar), and whether the template shows a date.
    fields: Option<PeriodFields>,
    dated: bool,
    /// Memory only, derived from `index`: when the next period starts (unix ms; `i64::MAX`
    /// without PERIOD). A clock before it needs no period computation.
    next_start: i64,
    /// OPAQUE: the keyed permutation of the index domain (its AES key schedule built once, when
    /// the key is created or loaded). Persisted and replicated as its secret.
    opaque: Option<Permutation>,
}

impl Ext {
    /// Moves to period `index` (keeps the cached calendar fields in step).
    fn set_index(&mut self, index: i64) {
        self.index = index;
        self.fields = match self.fmt.period {
            Some(p) => period_fields(index, p).ok(),
            None => Some(PeriodFields::default()),
        };
        self.next_start = match self.fmt.period {
            Some(p) => next_period_start_ms(index, p, self.fmt.offset),
            None => i64::MAX,
        };
    }
}

/// The state of one sequence key. Flat (104 bytes), since every key holds one; values that can be
/// MAXVALUE + 1 ("at the end") are kept as an `i64` and a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    start: i64,
    increment: i64,
    min: i64,
    max: i64,
    next: i64,
    mark: i64,
    last: i64,
    /// How often the sequence wrapped (CYCLE). The mark always belongs to the current cycle.
    pub cycles: u64,
    pub issued: u64,
    /// Recent issue rate, steps per second (persisted and replicated: it sizes blocks and gaps).
    pub rate: u32,
    /// Memory only: wall time (ms, wrapping) of the last mark advance and steps issued since.
    last_advance_wall: u32,
    steps_since_advance: u32,
    /// The serving generation of the newest reservation this state reflects (see
    /// `glue::serving`); opaque to the core.
    pub gen: u16,
    cycle: bool,
    next_at_end: bool,
    mark_at_end: bool,
    has_last: bool,
    /// PERIOD, UTC-OFFSET and FORMAT, with the period state; `None` for a plain sequence.
    ext: Option<Box<Ext>>,
}

/// The position a period restart moves (see `Sequence::position`).
struct Position {
    index: i64,
    period_issued: u64,
    pending: (u64, i64),
    cycles: u64,
    next: i128,
    mark: i128,
}

/// A successful take: values `first, first + increment, ..., last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub first: i64,
    pub last: i64,
    /// The mark was raised: the caller must replicate the new reservation.
    pub advanced: bool,
}

impl Sequence {
    /// A new sequence; `opts` must have been validated.
    pub fn new(opts: SeqOptions) -> Self {
        Sequence {
            start: opts.start,
            increment: opts.increment,
            min: opts.min,
            max: opts.max,
            next: opts.start,
            mark: opts.start,
            last: 0,
            cycles: 0,
            issued: 0,
            rate: 0,
            last_advance_wall: 0,
            steps_since_advance: 0,
            gen: 0,
            cycle: opts.cycle,
            next_at_end: false,
            mark_at_end: false,
            has_last: false,
            ext: None,
        }
    }

    /// The same sequence with PERIOD, UTC-OFFSET and FORMAT (`fmt` validated), in the period
    /// that holds `now` (unix ms).
    pub fn with_format(mut self, fmt: SeqFormat, now: i64) -> Self {
        let index = fmt.period.map_or(0, |p| period_index(now, p, fmt.offset));
        let dated = fmt.template.as_ref().is_some_and(|t| t.has_date());
        let mut e = Box::new(Ext {
            fmt,
            index,
            period_issued: 0,
            pending_gap: 0,
            pending_until: i64::MIN,
            fields: None,
            dated,
            next_start: i64::MAX,
            opaque: self.ext.take().and_then(|e| e.opaque),
        });
        e.set_index(index);
        self.ext = Some(e);
        self
    }

    /// The same sequence with OPAQUE: its values are replied through the permutation of its
    /// index domain (MINVALUE to MAXVALUE stepping by INCREMENT) that `secret` selects. START
    /// must be on that progression.
    pub fn with_opaque(mut self, secret: Secret) -> Result<Self> {
        let o = self.opts();
        if (o.start as i128 - o.min as i128) % o.increment as i128 != 0 {
            return Err(Error::OpaqueStart);
        }
        if o.range_steps() < MIN_DOMAIN {
            return Err(Error::OpaqueDomainTooSmall(MIN_DOMAIN as i64));
        }
        let perm = Permutation::new(secret, o.range_steps())?;
        if self.ext.is_none() {
            let plain = SeqFormat {
                period: None,
                offset: UtcOffset::UTC,
                template: None,
            };
            self = self.with_format(plain, 0);
        }
        self.ext.as_mut().expect("just set").opaque = Some(perm);
        Ok(self)
    }

    /// The permutation of an OPAQUE sequence.
    pub fn opaque(&self) -> Option<&Permutation> {
        self.ext.as_ref().and_then(|e| e.opaque.as_ref())
    }

    /// The public value of `value`, a value the sequence issues (in its domain): itself, or on
    /// an OPAQUE sequence, its image under the permutation.
    #[inline]
    pub fn public(&self, value: i64) -> Result<i64> {
        match self.opaque() {
            None => Ok(value),
            Some(p) => {
                let (min, inc) = (self.min as i128, self.increment as i128);
                let index = ((value as i128 - min) / inc) as u64;
                Ok((min + p.permute(index)? as i128 * inc) as i64)
            }
        }
    }

    /// The issued value whose public value is `public` (SEQ.DECODE). On a sequence without
    /// OPAQUE, the value itself when it is between MINVALUE and MAXVALUE.
    pub fn decode(&self, public: i64) -> Result<i64> {
        let Some(p) = self.opaque() else {
            if public < self.min || public > self.max {
                return Err(Error::ValueOutsideRange);
            }
            return Ok(public);
        };
        self.check_opaque_domain(public)?;
        let (min, inc) = (self.min as i128, self.increment as i128);
        let index = ((public as i128 - min) / inc) as u64;
        Ok((min + p.invert(index)? as i128 * inc) as i64)
    }

    /// On an OPAQUE sequence, refuses a value outside its domain (MINVALUE to MAXVALUE, stepping
    /// by INCREMENT from MINVALUE).
    fn check_opaque_domain(&self, value: i64) -> Result<()> {
        if self.opaque().is_none() {
            return Ok(());
        }
        let (min, inc) = (self.min as i128, self.increment as i128);
        if value < self.min || value > self.max || (value as i128 - min) % inc != 0 {
            return Err(Error::NotInOpaqueDomain {
                min: self.min,
                max: self.max,
                increment: self.increment,
            });
        }
        Ok(())
    }

    /// PERIOD, UTC-OFFSET and FORMAT, if the sequence has any (an OPAQUE sequence without them
    /// has none).
    pub fn format(&self) -> Option<&SeqFormat> {
        self.ext
            .as_ref()
            .map(|e| &e.fmt)
            .filter(|f| f.period.is_some() || f.template.is_some())
    }

    /// The period the sequence issues in: `Some` for a sequence with PERIOD.
    pub fn period(&self) -> Option<(Period, UtcOffset, i64)> {
        let e = self.ext.as_ref()?;
        e.fmt.period.map(|p| (p, e.fmt.offset, e.index))
    }

    /// The stored period index (0 without PERIOD): part of the reservation.
    pub fn period_index(&self) -> i64 {
        self.ext.as_ref().map_or(0, |e| e.index)
    }

    /// Values issued in the current period.
    pub fn period_issued(&self) -> u64 {
        self.ext.as_ref().map_or(0, |e| e.period_issued)
    }

    /// Whether values are replied as text (a FORMAT template).
    pub fn is_formatted(&self) -> bool {
        self.ext.as_ref().is_some_and(|e| e.fmt.template.is_some())
    }

    /// The template's text of `value` in the stored period, on `worker`, appended to `out`;
    /// false (nothing written) for a sequence without a template.
    pub fn render(&self, value: i64, worker: i64, out: &mut impl Sink) -> bool {
        let Some(e) = self.ext.as_ref() else {
            return false;
        };
        let Some(t) = e.fmt.template.as_ref() else {
            return false;
        };
        t.render(&e.fields.unwrap_or_default(), value, worker, out);
        true
    }

    /// The period the clock is in, when it is later than the stored one (a restart is due).
    fn due_period(&self, now: i64) -> Option<i64> {
        let e = self.ext.as_ref()?;
        if now < e.next_start {
            // Still in the stored period (or a clock stepped back): no restart.
            return None;
        }
        let p = e.fmt.period?;
        let (index, restarted) = effective_period(e.index, period_index(now, p, e.fmt.offset));
        restarted.then_some(index)
    }

    /// Moves the sequence into period `index`: the value restarts at START (above it by the
    /// pending gap of a recent resume), the mark with it.
    fn restart_in(&mut self, index: i64, now: i64) {
        let (start, inc) = (self.start as i128, self.increment as i128);
        let e = self.ext.as_mut().expect("a period sequence");
        let gap = if now < e.pending_until {
            e.pending_gap
        } else {
            0
        };
        e.set_index(index);
        e.period_issued = 0;
        e.pending_gap = 0;
        e.pending_until = i64::MIN;
        self.cycles = 0;
        let first = (start + gap as i128 * inc).min(self.end());
        self.set_next(first);
        self.set_mark(first);
    }

    /// Moves a per-period sequence into the clock's period when that is later than the stored
    /// one (before `SEQ.SET` on a serving node); true when it moved (the caller replicates the
    /// reservation).
    pub fn move_to_period(&mut self, now: i64) -> bool {
        match self.due_period(now) {
            Some(index) => {
                self.restart_in(index, now);
                true
            }
            None => false,
        }
    }

    pub fn opts(&self) -> SeqOptions {
        SeqOptions {
            start: self.start,
            increment: self.increment,
            min: self.min,
            max: self.max,
            cycle: self.cycle,
        }
    }

    fn end(&self) -> i128 {
        self.max as i128 + 1
    }

    /// The value the next call takes in the current cycle; MAXVALUE + 1 when the cycle is used up.
    pub fn next_value(&self) -> i128 {
        if self.next_at_end {
            self.end()
        } else {
            self.next as i128
        }
    }

    fn set_next(&mut self, v: i128) {
        self.next_at_end = v > self.max as i128;
        self.next = if self.next_at_end { self.max } else { v as i64 };
    }

    /// The mark: every value issued in the current cycle is below it. May be MAXVALUE + 1.
    pub fn mark(&self) -> i128 {
        if self.mark_at_end {
            self.end()
        } else {
            self.mark as i128
        }
    }

    fn set_mark(&mut self, v: i128) {
        self.mark_at_end = v > self.max as i128;
        self.mark = if self.mark_at_end { self.max } else { v as i64 };
    }

    /// The last value issued, if any.
    pub fn last(&self) -> Option<i64> {
        self.has_last.then_some(self.last)
    }

    /// The value the next call returns, or `None` when the sequence is used up (without CYCLE).
    pub fn peek(&self) -> Option<i64> {
        if !self.next_at_end {
            Some(self.next)
        } else if self.cycle {
            Some(self.min)
        } else {
            None
        }
    }

    /// Takes `count` consecutive values. All or nothing. `now` (unix ms) sizes the reservation
    /// block and, for a per-period sequence, decides the period: a later period restarts the
    /// value at START first (a batch never spans two periods).
    pub fn take(&mut self, count: i64, now: impl Now) -> Result<Taken> {
        self.take_fenced(count, now, || Ok(()))
    }

    /// `take`, asking `may_reserve` first when the call needs a new block (it reaches the mark or
    /// starts a new cycle): a refusal is returned as is and changes nothing. Calls inside the
    /// reserved block never ask.
    #[inline(always)]
    pub fn take_fenced(
        &mut self,
        count: i64,
        now: impl Now,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Taken> {
        // The common call, inlined into the command: values of a plain sequence inside its
        // reserved block.
        if count >= 1 && self.ext.is_none() {
            if let Some(t) = self.take_fast(count) {
                return Ok(t);
            }
        }
        self.take_any(count, now, may_reserve)
    }

    /// `take_fenced` for any call.
    #[inline(never)]
    fn take_any(
        &mut self,
        count: i64,
        now: impl Now,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Taken> {
        if count < 1 {
            return Err(Error::CountNotPositive);
        }
        if self.ext.is_none() {
            // `take_fenced` tried the fast step already.
            return self.take_general(count, now, may_reserve);
        }
        let now = now.ms();
        let due = self.due_period(now);
        let e = self.ext.as_ref().expect("checked above");
        if e.dated {
            // A template with a date renders only inside the calendar (1970..=9999).
            let ok = match (due, e.fmt.period) {
                (Some(index), Some(p)) => period_fields(index, p).is_ok(),
                _ => e.fields.is_some(),
            };
            if !ok {
                return Err(Error::OutsideCalendar);
            }
        }
        let saved = due.map(|_| self.position());
        if let Some(index) = due {
            self.restart_in(index, now);
        }
        match self.take_in_period(count, now, may_reserve) {
            Ok(t) => {
                let e = self.ext.as_mut().expect("checked above");
                e.period_issued = e.period_issued.saturating_add(count as u64);
                Ok(t)
            }
            Err(err) => {
                if let Some(saved) = saved {
                    self.set_position(saved);
                }
                Err(match (err, self.period()) {
                    (Error::Exhausted(max), Some((p, offset, index))) => {
                        period_exhausted(max, index, p, offset)
                    }
                    (err, _) => err,
                })
            }
        }
    }

    /// What a period restart changes, to undo it when the take that needed it is refused.
    fn position(&self) -> Position {
        let e = self.ext.as_ref().expect("a period sequence");
        Position {
            index: e.index,
            period_issued: e.period_issued,
            pending: (e.pending_gap, e.pending_until),
            cycles: self.cycles,
            next: self.next_value(),
            mark: self.mark(),
        }
    }

    fn set_position(&mut self, p: Position) {
        let e = self.ext.as_mut().expect("a period sequence");
        e.set_index(p.index);
        e.period_issued = p.period_issued;
        (e.pending_gap, e.pending_until) = p.pending;
        self.cycles = p.cycles;
        self.set_next(p.next);
        self.set_mark(p.mark);
    }

    /// `take` within the stored period; `count` is at least 1 (`take_any` checked it).
    fn take_in_period(
        &mut self,
        count: i64,
        now: impl Now,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Taken> {
        match self.take_fast(count) {
            Some(t) => Ok(t),
            None => self.take_general(count, now, may_reserve),
        }
    }

    /// The common call: `count` (at least 1) values inside the reserved block, in the same
    /// cycle; what `take_general` does then, without its checks. `None` (nothing changed)
    /// otherwise. `the_fast_step_is_the_general_step` checks that the two agree.
    #[inline(always)]
    fn take_fast(&mut self, count: i64) -> Option<Taken> {
        debug_assert!(count >= 1);
        if self.next_at_end {
            return None;
        }
        let inc = self.increment as i128;
        let last = self.next as i128 + (count as i128 - 1) * inc;
        if last > self.max as i128 || !(self.mark_at_end || last < self.mark as i128) {
            return None;
        }
        let first = self.next;
        self.record(last, count);
        Some(Taken {
            first,
            last: last as i64,
            advanced: false,
        })
    }

    /// Records a take of `count` values ending at `last` (in the current cycle): the next value,
    /// the last one issued and the counters.
    #[inline(always)]
    fn record(&mut self, last: i128, count: i64) {
        self.set_next(last + self.increment as i128);
        self.last = last as i64;
        self.has_last = true;
        self.issued = self.issued.saturating_add(count as u64);
        self.steps_since_advance = self
            .steps_since_advance
            .saturating_add(count.min(u32::MAX as i64) as u32);
    }

    /// The general step: any take within the stored period. Kept out of line: the fast step is the
    /// common one.
    #[inline(never)]
    fn take_general(
        &mut self,
        count: i64,
        now: impl Now,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Taken> {
        let (max, inc) = (self.max as i128, self.increment as i128);
        let span = (count as i128 - 1) * inc;
        let (mut cycles, mut first) = (self.cycles, self.next_value());
        if first + span > max {
            if !self.cycle {
                return Err(if first > max {
                    Error::Exhausted(self.max)
                } else {
                    Error::NotEnoughLeft {
                        remain: (max - first) / inc + 1,
                        requested: count,
                    }
                });
            }
            if self.min as i128 + span > max {
                return Err(Error::BatchLargerThanRange);
            }
            if cycles >= MAX_CYCLES {
                return Err(Error::Exhausted(self.max));
            }
            cycles += 1;
            first = self.min as i128;
        }
        let last = first + span;
        if cycles != self.cycles || last >= self.mark() {
            may_reserve()?;
        }

        // Commit.
        let wrapped = cycles != self.cycles;
        self.cycles = cycles;
        self.record(last, count);
        let advanced = wrapped || last >= self.mark();
        if advanced {
            self.advance_mark(last, now.ms());
        }
        Ok(Taken {
            first: first as i64,
            last: last as i64,
            advanced,
        })
    }

    /// Raises the mark above `last` by a block of about one `BLOCK_WINDOW_MS` of the recent rate.
    /// The mark stays on the progression, so a resume lands on a value the sequence could issue.
    fn advance_mark(&mut self, last: i128, now: i64) {
        let now = now as u32;
        if self.last_advance_wall != 0 {
            let elapsed = now
                .wrapping_sub(self.last_advance_wall)
                .max(MIN_RATE_WINDOW_MS as u32);
            self.rate = (self.steps_since_advance as u64 * 1000 / elapsed as u64)
                .min(u32::MAX as u64) as u32;
        }
        self.last_advance_wall = now.max(1);
        self.steps_since_advance = 0;
        let block = self.block() as i128;
        self.set_mark(last + self.increment as i128 * (1 + block));
    }

    /// Steps reserved per mark advance: about `BLOCK_WINDOW_MS` of the recent rate.
    pub fn block(&self) -> u64 {
        (self.rate as u64 * BLOCK_WINDOW_MS / 1000).clamp(MIN_BLOCK, MAX_BLOCK)
    }

    /// Resumes from the mark: the next value is the first one on the sequence's progression at or
    /// above `mark + gap_steps * increment`. Used when state arrives from a load or from
    /// replication.
    pub fn resume(&mut self, gap_steps: u64) {
        let inc = self.increment as i128;
        let floor = (self.mark() + gap_steps as i128 * inc).min(self.end());
        let next = self.next_value();
        if floor > next {
            let steps = (floor - next + inc - 1) / inc;
            self.set_next(next + steps * inc);
        }
    }

    /// `resume`, and for a per-period sequence: a restart into a new period before `until`
    /// (unix ms) starts `gap_steps` above START, since the lost history may have issued that
    /// many values in the new period already.
    pub fn resume_until(&mut self, gap_steps: u64, until: i64) {
        self.resume(gap_steps);
        if let Some(e) = self.ext.as_mut() {
            if e.fmt.period.is_some() && gap_steps > 0 {
                e.pending_gap = gap_steps;
                e.pending_until = until;
            }
        }
    }

    /// Checks a reservation `(cycles, mark)` against this sequence's options.
    pub fn check_reservation(opts: &SeqOptions, cycles: u64, mark: i128) -> Result<()> {
        if !(opts.min as i128..=opts.max as i128 + 1).contains(&mark) {
            return Err(Error::OutOfRange("mark", opts.min, opts.max));
        }
        if cycles > MAX_CYCLES || (!opts.cycle && cycles != 0) {
            return Err(Error::OutOfRange(
                "cycles",
                0,
                if opts.cycle { i64::MAX } else { 0 },
            ));
        }
        Ok(())
    }

    /// Applies a replicated reservation `(period, cycles, mark)`, checked with
    /// `check_reservation`: raises the mark (never lowers it; marks compare as triples), takes the
    /// rate and moves the position up to the mark. A later period restarts the position at START
    /// (or MINVALUE in a later cycle). The safety gap comes at the first use on a serving node
    /// (`resume`).
    pub fn apply_reservation(&mut self, index: i64, cycles: u64, mark: i128, rate: u32) {
        let mark = mark.clamp(self.min as i128, self.end());
        let own = self.period_index();
        if self.ext.is_some() && index > own {
            let e = self.ext.as_mut().expect("checked");
            e.set_index(index);
            e.period_issued = 0;
            self.cycles = cycles;
            let first = if cycles > 0 { self.min } else { self.start };
            self.set_next(first as i128);
            self.set_mark(mark);
            self.rate = rate;
            self.has_last = false;
        } else if index == own && (cycles, mark) > (self.cycles, self.mark()) {
            if cycles > self.cycles {
                // The progression restarted at MINVALUE in a later cycle.
                self.cycles = cycles;
                self.set_next(self.min as i128);
            }
            self.set_mark(mark);
            self.rate = rate;
        }
        let before = self.next_value();
        self.resume(0);
        if self.next_value() != before {
            // The position moved past values this node never saw issued: which one was last is
            // no longer known here.
            self.has_last = false;
        }
    }

    /// `set` on a serving node: a per-period sequence first moves into the clock's period when
    /// that is later than the stored one, so that the value is the one the next `take` returns.
    /// All or nothing; `Ok(true)` when the period moved (the caller replicates the reservation).
    pub fn set_at(&mut self, value: i64, force: bool, now: i64) -> Result<bool> {
        if value < self.min || value > self.max {
            return Err(Error::ValueOutsideRange);
        }
        self.check_opaque_domain(value)?;
        let Some(index) = self.due_period(now) else {
            return self.set(value, force).map(|_| false);
        };
        let saved = self.position();
        self.restart_in(index, now);
        match self.set(value, force) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.set_position(saved);
                Err(e)
            }
        }
    }

    /// Sets the next value. Without `force`, a value below the next one is refused, since it could
    /// repeat an issued value. The mark becomes `value`: nothing at or above it has been issued in
    /// the current cycle.
    pub fn set(&mut self, value: i64, force: bool) -> Result<()> {
        if value < self.min || value > self.max {
            return Err(Error::ValueOutsideRange);
        }
        self.check_opaque_domain(value)?;
        if !force && (value as i128) < self.next_value() {
            return Err(Error::WouldRepeat);
        }
        self.set_next(value as i128);
        self.set_mark(value as i128);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
