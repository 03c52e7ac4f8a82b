//! A sequence's persisted forms: the compact word of a default sequence and the checked
//! rebuild from persisted fields (RDB load, RESTORE).

use super::options::{SeqFormat, SeqOptions, COMPACT_NEXT_BITS, MAX_CYCLES};
use super::Sequence;

impl Sequence {
    /// The compact form of this state, a word of at most 63 bits, when it has one: default
    /// options, first cycle, a next value below 2^33, a reservation block of one step (a key
    /// issuing fewer than about two values a second), the mark at most one step ahead, and the
    /// last value (if known) just below the next. A compact sequence keeps no separate count of
    /// issued values: `issued` reads as the values passed since START (issued or skipped by a
    /// resume).
    ///
    /// Bits: 0 has-last, 1 mark-ahead, 2 rate, 3 timed, 4-5 steps since the last advance,
    /// 6-13 the last advance's wall time in 1024 ms units (mod 256), 14-29 generation,
    /// 30-62 next value.
    pub fn to_compact(&self) -> Option<u64> {
        let next = self.next as u64;
        let fits = self.rate <= 1
            && self.opts() == SeqOptions::default()
            && self.ext.is_none()
            && self.cycles == 0
            && !self.next_at_end
            && !self.mark_at_end
            && (1..1u64 << COMPACT_NEXT_BITS).contains(&next)
            && (self.mark == self.next || self.mark == self.next + 1)
            && (!self.has_last || self.last == self.next - 1)
            && self.steps_since_advance <= 3;
        fits.then_some(
            self.has_last as u64
                | ((self.mark != self.next) as u64) << 1
                | (self.rate as u64) << 2
                | ((self.last_advance_wall != 0) as u64) << 3
                | (self.steps_since_advance as u64) << 4
                | (((self.last_advance_wall >> 10) & 0xFF) as u64) << 6
                | (self.gen as u64) << 14
                | next << 30,
        )
    }

    /// The state a compact word stands for. `now` (unix ms) places the last advance's coarse
    /// wall time (memory-only, it sizes the next block) at its most recent possible moment.
    pub fn from_compact(w: u64, now: i64) -> Self {
        let mut s = Sequence::new(SeqOptions::default());
        s.next = (w >> 30) as i64;
        s.mark = s.next + ((w >> 1) & 1) as i64;
        s.has_last = w & 1 == 1;
        s.last = if s.has_last { s.next - 1 } else { 0 };
        s.issued = (s.next - 1) as u64;
        s.rate = ((w >> 2) & 1) as u32;
        s.steps_since_advance = ((w >> 4) & 3) as u32;
        s.gen = (w >> 14) as u16;
        if (w >> 3) & 1 == 1 {
            let unit_now = (now as u32) >> 10;
            let behind = unit_now.wrapping_sub(((w >> 6) & 0xFF) as u32) & 0xFF;
            s.last_advance_wall = (unit_now.wrapping_sub(behind) << 10).max(1);
        }
        s
    }

    /// Adds persisted PERIOD, UTC-OFFSET, FORMAT and period state to a sequence from
    /// `from_parts`, checking them against its options.
    pub fn with_format_parts(
        mut self,
        fmt: SeqFormat,
        index: i64,
        period_issued: u64,
    ) -> std::result::Result<Self, &'static str> {
        fmt.validate(&self.opts()).map_err(|_| "format")?;
        if fmt.period.is_none() && index != 0 {
            return Err("period index");
        }
        self = self.with_format(fmt, 0);
        let e = self.ext.as_mut().expect("just set");
        e.set_index(index);
        e.period_issued = period_issued;
        Ok(self)
    }

    /// Rebuilds a sequence from persisted fields, checking every one; `Err` names the first field
    /// out of range.
    pub fn from_parts(
        opts: SeqOptions,
        cycles: u64,
        next: i128,
        last: Option<i64>,
        mark: i128,
        rate: u32,
        issued: u64,
    ) -> std::result::Result<Self, &'static str> {
        opts.validate().map_err(|_| "options")?;
        let range = opts.min as i128..=opts.max as i128 + 1;
        let ok = |c: bool, f: &'static str| if c { Ok(()) } else { Err(f) };
        ok(range.contains(&next), "next")?;
        ok(range.contains(&mark), "mark")?;
        ok(last.is_none_or(|l| l >= opts.min && l <= opts.max), "last")?;
        ok(opts.cycle || cycles == 0, "cycles")?;
        ok(cycles <= MAX_CYCLES, "cycles")?;
        let mut s = Sequence::new(opts);
        s.cycles = cycles;
        s.set_next(next);
        s.set_mark(mark);
        s.last = last.unwrap_or(0);
        s.has_last = last.is_some();
        s.rate = rate;
        s.issued = issued;
        Ok(s)
    }
}
