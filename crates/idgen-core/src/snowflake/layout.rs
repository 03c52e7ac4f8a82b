//! The bit layout of a snowflake ID: epoch, time/worker/sequence bits and tick length, the
//! named layouts (`LAYOUT DEFAULT`, `LAYOUT JS-SAFE`), and composing and decomposing an ID.
//! See the parent module for the layouts' dates.

use crate::error::{Error, Result};

pub const DEFAULT_EPOCH_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
pub const DEFAULT_TIME_BITS: u8 = 41;
pub const DEFAULT_WORKER_BITS: u8 = 10;
pub const DEFAULT_SEQUENCE_BITS: u8 = 12;
pub const DEFAULT_TIME_UNIT_MS: i64 = 1;
pub const TIME_BITS_RANGE: (u8, u8) = (35, 55);
pub const WORKER_BITS_RANGE: (u8, u8) = (0, 20);
pub const SEQUENCE_BITS_RANGE: (u8, u8) = (4, 22);
/// TIME-UNIT bounds in ms: one millisecond to one day.
pub const TIME_UNIT_RANGE: (i64, i64) = (1, 86_400_000);
/// The largest integer a double (a JavaScript `Number`) holds exactly.
pub const JS_MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Bit layout, epoch and tick length of a generator: the one description of a layout (`LAYOUT`,
/// `TIME-BITS`, `WORKER-BITS`, `SEQUENCE-BITS`, `TIME-UNIT`, `EPOCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout {
    pub epoch: i64,
    pub time_bits: u8,
    pub worker_bits: u8,
    pub seq_bits: u8,
    /// The length of one tick of the timestamp field, in ms.
    pub time_unit_ms: i64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            epoch: DEFAULT_EPOCH_MS,
            time_bits: DEFAULT_TIME_BITS,
            worker_bits: DEFAULT_WORKER_BITS,
            seq_bits: DEFAULT_SEQUENCE_BITS,
            time_unit_ms: DEFAULT_TIME_UNIT_MS,
        }
    }
}

impl Layout {
    /// `LAYOUT JS-SAFE`: 38/5/10 bits at 10 ms from 2024-01-01; ids stay below 2^53 (module docs).
    pub const JS_SAFE: Layout = Layout {
        epoch: DEFAULT_EPOCH_MS,
        time_bits: 38,
        worker_bits: 5,
        seq_bits: 10,
        time_unit_ms: 10,
    };

    /// Parses a LAYOUT option word (`DEFAULT`, `JS-SAFE`), case-insensitively.
    pub fn named(word: &[u8]) -> Result<Layout> {
        if word.eq_ignore_ascii_case(b"DEFAULT") {
            Ok(Layout::default())
        } else if word.eq_ignore_ascii_case(b"JS-SAFE") {
            Ok(Layout::JS_SAFE)
        } else {
            Err(Error::UnknownLayout)
        }
    }

    /// Checks the widths, the unit and the epoch. `now` is the wall clock in unix ms, or `None`
    /// to skip the "not in the future" rule (replicated and loaded layouts were checked where
    /// they were made).
    pub fn validate(&self, now: Option<i64>) -> Result<()> {
        let check = |name, v: u8, (lo, hi): (u8, u8)| {
            if v < lo || v > hi {
                Err(Error::OutOfRange(name, lo as i64, hi as i64))
            } else {
                Ok(())
            }
        };
        check("TIME-BITS", self.time_bits, TIME_BITS_RANGE)?;
        check("WORKER-BITS", self.worker_bits, WORKER_BITS_RANGE)?;
        check("SEQUENCE-BITS", self.seq_bits, SEQUENCE_BITS_RANGE)?;
        let (lo, hi) = TIME_UNIT_RANGE;
        if self.time_unit_ms < lo || self.time_unit_ms > hi {
            return Err(Error::OutOfRange("TIME-UNIT", lo, hi));
        }
        let sum = self.total_bits();
        if sum > 63 {
            return Err(Error::BitsSumOver63(sum));
        }
        if self.epoch < 0 {
            return Err(Error::EpochNegative);
        }
        let span = self.span_ms();
        if span > i64::MAX as i128 {
            return Err(Error::TimeSpanTooLong {
                time_bits: self.time_bits,
                unit_ms: self.time_unit_ms,
            });
        }
        // The instant the time bits run out must itself be a valid unix ms.
        let latest_epoch = i64::MAX - span as i64;
        if self.epoch > latest_epoch {
            return Err(Error::OutOfRange("EPOCH", 0, latest_epoch));
        }
        if matches!(now, Some(now) if self.epoch > now) {
            return Err(Error::EpochInFuture);
        }
        Ok(())
    }

    pub fn total_bits(&self) -> u32 {
        self.time_bits as u32 + self.worker_bits as u32 + self.seq_bits as u32
    }

    /// Milliseconds the time bits cover: 2^TIME-BITS * TIME-UNIT.
    fn span_ms(&self) -> i128 {
        (1i128 << self.time_bits.min(64)) * self.time_unit_ms as i128
    }

    /// The largest tick the time bits hold.
    pub fn max_ts(&self) -> i64 {
        (1i64 << self.time_bits) - 1
    }
    pub fn max_worker(&self) -> i64 {
        (1i64 << self.worker_bits) - 1
    }
    pub fn max_seq(&self) -> u64 {
        (1u64 << self.seq_bits) - 1
    }

    /// The largest id the layout can compose.
    pub fn max_id(&self) -> i64 {
        ((1i128 << self.total_bits().min(63)) - 1) as i64
    }

    pub fn compose(&self, ts: i64, worker: i64, seq: u64) -> i64 {
        (ts << (self.worker_bits + self.seq_bits)) | (worker << self.seq_bits) | seq as i64
    }

    /// Splits an id into (tick since epoch, worker, sequence); `None` for an id the layout
    /// cannot compose (negative, or above `max_id`).
    pub fn decompose(&self, id: i64) -> Option<(i64, i64, u64)> {
        if id < 0 || id > self.max_id() {
            return None;
        }
        let seq = (id as u64) & self.max_seq();
        let worker = (id >> self.seq_bits) & self.max_worker();
        let ts = id >> (self.worker_bits + self.seq_bits);
        Some((ts, worker, seq))
    }

    /// The tick (timestamp field value) of a unix ms; negative before the epoch.
    #[inline]
    pub fn tick_at(&self, unix_ms: i64) -> i64 {
        if self.time_unit_ms == 1 {
            return unix_ms.saturating_sub(self.epoch);
        }
        (unix_ms as i128 - self.epoch as i128).div_euclid(self.time_unit_ms.max(1) as i128) as i64
    }

    /// The first unix ms of a tick.
    pub fn tick_start_ms(&self, tick: i64) -> i64 {
        clamp_i64(self.epoch as i128 + tick as i128 * self.time_unit_ms as i128)
    }

    /// Ticks covering at least `ms` milliseconds (rounded up).
    pub fn ticks_ceil(&self, ms: i64) -> i64 {
        let u = self.time_unit_ms.max(1);
        ms.max(0) / u + (ms.max(0) % u != 0) as i64
    }

    /// Whole ticks within `ms` milliseconds (rounded down).
    pub fn ticks_floor(&self, ms: i64) -> i64 {
        ms.max(0) / self.time_unit_ms.max(1)
    }

    /// The first unix ms whose tick does not fit TIME-BITS: `epoch + 2^TIME-BITS * unit`.
    pub fn time_exhausted_at(&self) -> i64 {
        clamp_i64(self.epoch as i128 + self.span_ms())
    }

    /// Whether every id of the layout is at most 2^53 - 1 (bits sum to 53 or less).
    pub fn is_js_safe(&self) -> bool {
        self.total_bits() <= 53
    }

    /// The first unix ms at which an id can be above 2^53 - 1, `None` when no id ever is.
    /// May be before the time bits run out by a lot (default layout: 24.8 days after the epoch).
    pub fn js_safe_until(&self) -> Option<i64> {
        if self.is_js_safe() {
            return None;
        }
        let k = self.worker_bits as u32 + self.seq_bits as u32;
        // The first id of tick t is t << k; ids of tick 0 reach 2^k - 1.
        let tick: i128 = if k >= 53 { 0 } else { 1i128 << (53 - k) };
        Some(clamp_i64(
            self.epoch as i128 + tick * self.time_unit_ms as i128,
        ))
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}
