//! Integer sequences with bounds, increments, cycling and batch reservation.
//!
//! Pure logic. Position: `(cycles, next)`, the value the next call returns in the current cycle;
//! `next == maxvalue + 1` means the cycle is used up. Values are kept as `i128` so that
//! `maxvalue + 1` never overflows.
//!
//! Reservation: `mark = (mark_cycles, mark_value)` is an exclusive ceiling, compared
//! lexicographically, on every issued `(cycle, value)`. A call that would issue at or above it
//! first raises it by a block sized to the key's recent issue rate; only then is there something to
//! replicate. A resumed generator starts at the mark, on its own progression.

use crate::error::{Error, Result};

/// Reservation block bounds, in steps (values / INCREMENT).
pub const MIN_BLOCK: u64 = 1;
pub const MAX_BLOCK: u64 = 1 << 22;
/// A block holds about this much of the key's recent issue rate.
pub const BLOCK_WINDOW_MS: u64 = 1_000;
/// The rate is measured over at least this long, so a short burst does not look like a flood.
pub const MIN_RATE_WINDOW_MS: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqOptions {
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cycle: bool,
}

impl Default for SeqOptions {
    fn default() -> Self {
        SeqOptions {
            start: 1,
            increment: 1,
            min: 1,
            max: i64::MAX,
            cycle: false,
        }
    }
}

impl SeqOptions {
    pub fn validate(&self) -> Result<()> {
        if self.min >= self.max {
            return Err(Error::MinNotBelowMax);
        }
        if self.start < self.min || self.start > self.max {
            return Err(Error::StartOutsideRange);
        }
        if self.increment < 1 || (self.increment as i128) > (self.max as i128 - self.min as i128) {
            return Err(Error::IncrementRange);
        }
        Ok(())
    }

    fn end(&self) -> i128 {
        self.max as i128 + 1
    }

    /// How many steps of INCREMENT fit between MINVALUE and MAXVALUE.
    pub fn range_steps(&self) -> u128 {
        ((self.max as i128 - self.min as i128) / self.increment as i128) as u128 + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub opts: SeqOptions,
    pub cycles: u64,
    pub next: i128,
    pub last: Option<i64>,
    pub mark_cycles: u64,
    pub mark: i128,
    /// Recent issue rate, steps per second (persisted and replicated: it sizes blocks and gaps).
    pub rate: u64,
    pub issued: u64,
    /// Memory only: wall time of the last mark advance and steps issued since.
    pub last_advance_wall: i64,
    pub steps_since_advance: u64,
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
    pub fn new(opts: SeqOptions) -> Self {
        Sequence {
            opts,
            cycles: 0,
            next: opts.start as i128,
            last: None,
            mark_cycles: 0,
            mark: opts.start as i128,
            rate: 0,
            issued: 0,
            last_advance_wall: i64::MIN,
            steps_since_advance: 0,
        }
    }

    /// The value the next call returns, or `None` when the sequence is used up (without CYCLE).
    pub fn peek(&self) -> Option<i64> {
        if self.next <= self.opts.max as i128 {
            Some(self.next as i64)
        } else if self.opts.cycle {
            Some(self.opts.min)
        } else {
            None
        }
    }

    /// Takes `count` consecutive values. All or nothing. `now` (unix ms) only sizes the
    /// reservation block; it never decides a value.
    pub fn take(&mut self, count: i64, now: i64) -> Result<Taken> {
        if count < 1 {
            return Err(Error::CountNotPositive);
        }
        let o = self.opts;
        let inc = o.increment as i128;
        let span = (count as i128 - 1) * inc;
        let (mut cycles, mut first) = (self.cycles, self.next);
        if first + span > o.max as i128 {
            if !o.cycle {
                return Err(if first > o.max as i128 {
                    Error::Exhausted(o.max)
                } else {
                    Error::NotEnoughLeft {
                        remain: (o.max as i128 - first) / inc + 1,
                        requested: count,
                    }
                });
            }
            if o.min as i128 + span > o.max as i128 {
                return Err(Error::BatchLargerThanRange);
            }
            cycles += 1;
            first = o.min as i128;
        }
        let last = first + span;

        // Commit.
        self.cycles = cycles;
        self.next = (last + inc).min(o.end());
        self.last = Some(last as i64);
        self.issued = self.issued.saturating_add(count as u64);
        self.steps_since_advance = self.steps_since_advance.saturating_add(count as u64);
        let advanced = (cycles, last) >= (self.mark_cycles, self.mark);
        if advanced {
            self.advance_mark(cycles, last, now);
        }
        Ok(Taken {
            first: first as i64,
            last: last as i64,
            advanced,
        })
    }

    /// Raises the mark above `last` by a block of about one `BLOCK_WINDOW_MS` of the recent rate.
    /// The mark stays on the progression, so a resume lands on a value the sequence could issue.
    fn advance_mark(&mut self, cycles: u64, last: i128, now: i64) {
        let elapsed = now
            .saturating_sub(self.last_advance_wall)
            .max(MIN_RATE_WINDOW_MS) as u64;
        if self.last_advance_wall != i64::MIN {
            self.rate = (self.steps_since_advance as u128 * 1000 / elapsed as u128)
                .min(u64::MAX as u128) as u64;
        }
        let block = self.block() as i128;
        self.last_advance_wall = now;
        self.steps_since_advance = 0;
        self.mark_cycles = cycles;
        self.mark = (last + self.opts.increment as i128 * (1 + block)).min(self.opts.end());
    }

    /// Steps reserved per mark advance: about `BLOCK_WINDOW_MS` of the recent rate.
    pub fn block(&self) -> u64 {
        (self.rate.saturating_mul(BLOCK_WINDOW_MS) / 1000).clamp(MIN_BLOCK, MAX_BLOCK)
    }

    /// Resumes from the mark: the next value is the first one on the sequence's progression at or
    /// above `mark + gap_steps * increment`. Used after a load, a promotion or a replicated
    /// reservation.
    pub fn resume(&mut self, gap_steps: u64) {
        let inc = self.opts.increment as i128;
        let end = self.opts.end();
        if self.mark_cycles > self.cycles {
            // The progression restarted at MINVALUE in a later cycle.
            self.cycles = self.mark_cycles;
            self.next = self.opts.min as i128;
        }
        if self.mark_cycles < self.cycles {
            return;
        }
        let floor = (self.mark + gap_steps as i128 * inc).min(end);
        if floor > self.next {
            let steps = (floor - self.next + inc - 1) / inc;
            self.next = (self.next + steps * inc).min(end);
        }
    }

    /// Applies a replicated reservation: raises the mark (never lowers it) and the rate, then
    /// resumes `gap_steps` above it.
    pub fn apply_reservation(&mut self, mark_cycles: u64, mark: i128, rate: u64, gap_steps: u64) {
        let mark = mark.clamp(self.opts.min as i128, self.opts.end());
        if (mark_cycles, mark) > (self.mark_cycles, self.mark) {
            self.mark_cycles = mark_cycles;
            self.mark = mark;
            self.rate = rate;
        }
        self.resume(gap_steps);
    }

    /// Sets the next value. Without `force`, a value below the next one is refused, since it could
    /// repeat an issued value. The mark becomes `value`: nothing at or above it has been issued in
    /// the current cycle.
    pub fn set(&mut self, value: i64, force: bool) -> Result<()> {
        if value < self.opts.min || value > self.opts.max {
            return Err(Error::ValueOutsideRange);
        }
        if !force && (value as i128) < self.next {
            return Err(Error::WouldRepeat);
        }
        self.next = value as i128;
        self.mark_cycles = self.cycles;
        self.mark = value as i128;
        Ok(())
    }

    pub fn validate_loaded(&self) -> std::result::Result<(), &'static str> {
        let o = &self.opts;
        o.validate().map_err(|_| "options")?;
        let range = o.min as i128..=o.end();
        let ok = |c: bool, f: &'static str| if c { Ok(()) } else { Err(f) };
        ok(range.contains(&self.next), "next")?;
        ok(range.contains(&self.mark), "mark")?;
        ok(self.last.is_none_or(|l| l >= o.min && l <= o.max), "last")?;
        ok(
            o.cycle || (self.cycles == 0 && self.mark_cycles == 0),
            "cycles",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seq(start: i64, increment: i64, min: i64, max: i64, cycle: bool) -> Sequence {
        let o = SeqOptions {
            start,
            increment,
            min,
            max,
            cycle,
        };
        o.validate().unwrap();
        Sequence::new(o)
    }

    #[test]
    fn option_rules() {
        let d = SeqOptions::default();
        assert!(d.validate().is_ok());
        let bad = |o: SeqOptions, e: Error| assert_eq!(o.validate(), Err(e));
        bad(
            SeqOptions {
                min: 5,
                max: 5,
                start: 5,
                ..d
            },
            Error::MinNotBelowMax,
        );
        bad(SeqOptions { start: 0, ..d }, Error::StartOutsideRange);
        bad(SeqOptions { increment: 0, ..d }, Error::IncrementRange);
        bad(
            SeqOptions {
                min: 1,
                max: 10,
                increment: 10,
                ..d
            },
            Error::IncrementRange,
        );
        assert!(SeqOptions {
            min: i64::MIN,
            max: i64::MAX,
            start: 0,
            increment: i64::MAX,
            cycle: true
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn counts_and_exhausts() {
        let mut s = seq(1, 1, 1, 3, false);
        assert_eq!(s.take(1, 0).unwrap().first, 1);
        assert_eq!(s.take(1, 0).unwrap().first, 2);
        let before = s.clone();
        assert_eq!(
            s.take(2, 0),
            Err(Error::NotEnoughLeft {
                remain: 1,
                requested: 2
            })
        );
        assert_eq!(s, before);
        assert_eq!(s.take(1, 0).unwrap().first, 3);
        assert_eq!(s.take(1, 0), Err(Error::Exhausted(3)));
        assert_eq!(s.peek(), None);
    }

    #[test]
    fn max_i64_does_not_overflow() {
        let mut s = seq(i64::MAX - 1, 1, 1, i64::MAX, false);
        assert_eq!(s.take(1, 0).unwrap().first, i64::MAX - 1);
        assert_eq!(s.take(1, 0).unwrap().first, i64::MAX);
        assert_eq!(s.take(1, 0), Err(Error::Exhausted(i64::MAX)));
    }

    #[test]
    fn cycle_restarts_at_min_and_batches_never_wrap() {
        let mut s = seq(5, 2, 1, 10, true);
        assert_eq!(s.take(1, 0).unwrap().first, 5);
        let t = s.take(3, 0).unwrap(); // 7, 9, 11 does not fit
        assert_eq!((t.first, t.last), (1, 5));
        assert_eq!(s.cycles, 1);
        assert_eq!(s.take(6, 0), Err(Error::BatchLargerThanRange));
    }

    #[test]
    fn batches_are_consecutive() {
        let mut s = seq(10, 10, 10, 1000, false);
        let a = s.take(3, 0).unwrap();
        assert_eq!((a.first, a.last), (10, 30));
        let b = s.take(1, 0).unwrap();
        assert_eq!(b.first, 40);
        assert_eq!(s.last, Some(40));
    }

    #[test]
    fn set_rules() {
        let mut s = seq(1, 1, 1, 100, false);
        s.take(10, 0).unwrap();
        assert_eq!(s.set(5, false), Err(Error::WouldRepeat));
        assert_eq!(s.set(101, true), Err(Error::ValueOutsideRange));
        s.set(50, false).unwrap();
        assert_eq!(s.take(1, 0).unwrap().first, 50);
        s.set(5, true).unwrap();
        assert_eq!(s.take(1, 0).unwrap().first, 5);
    }

    #[test]
    fn block_follows_the_rate() {
        let mut s = seq(1, 1, 1, i64::MAX, false);
        let mut now = 0;
        for _ in 0..20_000 {
            now += 1; // about 1000 per second... then faster
            for _ in 0..10 {
                s.take(1, now / 10 * 10).unwrap();
            }
        }
        assert!(s.rate > 1_000, "rate {}", s.rate);
        assert!(s.block() >= 1_000, "block {}", s.block());
    }

    #[test]
    fn resume_keeps_the_progression() {
        let mut s = seq(0, 2, 0, 1_000_000, false);
        for _ in 0..7 {
            s.take(1, 0).unwrap();
        }
        s.resume(3);
        let v = s.take(1, 0).unwrap().first;
        assert_eq!(v % 2, 0);
        assert!(v > 12);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Within a cycle, values never repeat and stay in bounds and on the progression, every
        /// value is below the mark, refusals change nothing, and a replica that only sees the
        /// reservations resumes above everything issued.
        #[test]
        fn never_repeats_and_replica_resumes_above(
            start_off in 0i64..50, inc in 1i64..7, span in 10i64..400, cycle: bool,
            ops in prop::collection::vec((1i64..40, 0i64..3000, any::<bool>()), 1..120),
            gap in 0u64..10)
        {
            let (min, max) = (-100, -100 + span);
            let start = (min + start_off).min(max);
            prop_assume!(inc <= max - min);
            let mut s = seq(start, inc, min, max, cycle);
            let mut replica = s.clone();
            let mut now = 1_000_000;
            let mut seen = std::collections::HashSet::new();
            let mut last_pos: Option<(u64, i64)> = None;
            for (count, dt, single) in ops {
                now += dt;
                let count = if single { 1 } else { count };
                let before = s.clone();
                match s.take(count, now) {
                    Ok(t) => {
                        prop_assert_eq!(t.last - t.first, (count - 1) * inc);
                        prop_assert!(t.first >= min && t.last <= max);
                        let pos = (s.cycles, t.first);
                        if let Some(lp) = last_pos { prop_assert!(pos > lp); }
                        last_pos = Some((s.cycles, t.last));
                        prop_assert!((s.cycles, t.last as i128) < (s.mark_cycles, s.mark));
                        let mut v = t.first;
                        while v <= t.last {
                            prop_assert!(seen.insert((s.cycles, v)));
                            if s.cycles == 0 { prop_assert_eq!((v - start).rem_euclid(inc), 0); }
                            v += inc;
                        }
                        if t.advanced {
                            replica.apply_reservation(s.mark_cycles, s.mark, s.rate, 0);
                        }
                        prop_assert!(s.validate_loaded().is_ok());
                    }
                    Err(_) => prop_assert_eq!(&s, &before),
                }
            }
            replica.resume(gap);
            if let Ok(t) = replica.take(1, now) {
                if let Some(lp) = last_pos {
                    prop_assert!((replica.cycles, t.first) > lp);
                }
                if replica.cycles == 0 { prop_assert_eq!((t.first - start).rem_euclid(inc), 0); }
            }
        }
    }
}
