//! A sequence's options (`START`, `INCREMENT`, `MINVALUE`, `MAXVALUE`, `CYCLE`) and its
//! PERIOD, UTC-OFFSET and FORMAT template, with the limits they are checked against.

use crate::error::{Error, Result};
use crate::period::{Period, UtcOffset};
use crate::template::Template;

/// Reservation block bounds, in steps (values / INCREMENT).
pub const MIN_BLOCK: u64 = 1;
pub const MAX_BLOCK: u64 = 1 << 22;
/// A block holds about this much of the key's recent issue rate.
pub const BLOCK_WINDOW_MS: u64 = 1_000;
/// The cycle counter stops here (it travels as a signed 64-bit integer); only forged state gets
/// near it.
pub const MAX_CYCLES: u64 = i64::MAX as u64;
/// A compact sequence's next value stays below 2^COMPACT_NEXT_BITS.
pub const COMPACT_NEXT_BITS: u32 = 33;
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

    /// How many steps of INCREMENT fit between MINVALUE and MAXVALUE.
    pub fn range_steps(&self) -> u128 {
        ((self.max as i128 - self.min as i128) / self.increment as i128) as u128 + 1
    }
}

/// A sequence's PERIOD, UTC-OFFSET and FORMAT template (options set at CREATE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqFormat {
    pub period: Option<Period>,
    pub offset: UtcOffset,
    pub template: Option<Template>,
}

impl SeqFormat {
    /// Checks the options together (the template itself was checked by `Template::new`): a
    /// PERIOD needs a template (integers would repeat across periods), an offset a PERIOD.
    pub fn validate(&self, opts: &SeqOptions) -> Result<()> {
        if self.period.is_some() && self.template.is_none() {
            return Err(Error::PeriodNeedsFormat);
        }
        if self.period.is_none() && self.offset != UtcOffset::UTC {
            return Err(Error::OffsetNeedsPeriod);
        }
        if let Some(t) = &self.template {
            t.validate(self.period, opts.min, opts.max)?;
        }
        Ok(())
    }
}
