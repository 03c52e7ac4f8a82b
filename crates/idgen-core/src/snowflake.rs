//! Snowflake generator: IDs of up to 63 bits made of a timestamp (ticks of TIME-UNIT ms since the
//! epoch), a worker id and a sequence.
//!
//! Pure logic: the wall clock, the node's worker id and the borrow limit are arguments, so every
//! rule is testable without Redis. Times inside the generator are ticks since its epoch (a tick
//! is a millisecond unless TIME-UNIT says otherwise); times at its interface are unix ms.
//!
//! Position: `(next_ts, next_seq)` is the smallest (timestamp, sequence) pair not yet used. The
//! generator never hands out a pair below it, so IDs of one generator strictly increase.
//!
//! Reservation: `mark` is an exclusive ceiling on the timestamps of issued IDs. A call that would
//! issue at or above it first raises it by a block; only then does the call have anything to
//! replicate. A node that resumes a generator from persisted or replicated state starts at the mark
//! (plus an optional safety gap), so it can never reissue an ID that the mark covered.
//!
//! # Layout dates and `TIME-UNIT`
//!
//! `Layout` is a layout with a tick length: the timestamp field counts ticks of `time_unit_ms`
//! (1..=86,400,000) since `epoch`. The bits may sum to less than 63. Tick `t` covers the unix
//! ms `epoch + t * unit .. epoch + (t + 1) * unit`, and every instant up to
//! `time_exhausted_at() = epoch + 2^TIME-BITS * unit` must be a valid `i64` unix ms.
//!
//! An id is safe in a JavaScript `Number` (a double) while it is at most 2^53 - 1. A layout
//! whose bits sum to at most 53 never leaves that range. For a wider layout with
//! `k = WORKER-BITS + SEQUENCE-BITS`, the first id at or above 2^53 is the first of tick
//! 2^(53 - k), so `js_safe_until() = epoch + 2^(53 - k) * unit`.
//!
//! # `LAYOUT JS-SAFE`
//!
//! TIME-BITS 38, WORKER-BITS 5, SEQUENCE-BITS 10, TIME-UNIT 10 ms, EPOCH 2024-01-01 (53 bits):
//!
//! - lifetime 2^38 ticks * 10 ms = 2,748,779,069,440 ms = 87.1 years: the time bits run out at
//!   unix ms 4,452,846,269,440 = 2111-02-08T13:44:29.440Z (18 years past the default layout's
//!   2093-09-06);
//! - 32 workers (node `idgen.worker-id` 0..=31);
//! - 1,024 ids per 10 ms tick = 102,400 ids/s per key and node before it runs ahead of the clock.
//!
//! Every id is below 2^53, whatever the clock. The alternatives at 53 bits trade workers for
//! lifetime or time resolution: 41/2/10 at 1 ms lasts to 2093-09-06 with 4 workers only;
//! 39/4/10 at 10 ms lasts to 2198 with 16 workers. The 63-bit layout 51/2/10 at 1 ms is not
//! JS-safe by construction: its ids pass 2^53 at 2^41 ms after the epoch, 2093-09-06T15:47:35.552Z.

use super::format::TextForm;
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
/// Largest `COUNT` of one `SNOWFLAKE.NEXT` call.
pub const MAX_COUNT: u32 = 10_000;
/// Reservation block bounds (ms of timestamp reserved per mark advance; at least one tick).
pub const MIN_BLOCK_MS: i64 = 50;
pub const MAX_BLOCK_MS: i64 = 1_000;

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

/// The state of one generator key. Flat (88 bytes), since every key holds one; default keys are
/// kept in a 32-byte compact form instead (`to_compact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snowflake {
    pub epoch: i64,
    pub time_bits: u8,
    pub worker_bits: u8,
    seq_bits: u8,
    /// TIME-UNIT in ms (at most one day).
    time_unit_ms: u32,
    /// The key's FORMAT and PREFIX.
    text: TextForm,
    /// The serving generation of the newest reservation this state reflects (see
    /// `glue::serving`); opaque to the core.
    pub gen: u16,
    /// Fixed worker id, or `-1` to use the serving node's `idgen.worker-id`.
    worker: i32,
    /// The next unused position, `tick << seq_bits | sequence`.
    pos: u64,
    /// Exclusive ceiling on issued ticks; replicated and persisted.
    pub mark: i64,
    /// Newest time the generator knows to be legitimate: the newest wall time seen, or the point
    /// it resumed at (ticks since epoch). It may run ahead of this by `max_borrow` at most.
    pub wall_seen: i64,
    /// The last issued id, `-1` before the first.
    pub last_id: i64,
    pub ids_issued: u64,
    /// Calls that found the clock behind (low 31 bits), and in the top bit whether `wall_seen`
    /// is a resume point the clock has not reached yet (a clock below it is then no clock step).
    behind_and_resumed: u32,
    pub borrowed_ms: u32,
}

const RESUMED: u32 = 1 << 31;

/// The compact form of a default-layout generator (see `Snowflake::to_compact`): the position,
/// the mark and newest wall time relative to it, the counters, and in `misc` the generation
/// (bits 0-15), the last id's worker (16-26, `NO_LAST` for none), the resumed flag (27), the
/// clock-behind count (28-46) and the high bits of the ids issued (47-63).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnowflakeCompact {
    pos: u64,
    mark_d: i32,
    wall_d: i32,
    ids_lo: u32,
    borrowed_ms: u32,
    misc: u64,
}

/// `SnowflakeCompact`'s last-worker value for "no id issued yet".
const NO_LAST: u64 = 0x7FF;

/// What one successful `next` call issued: `count` ids starting at `(ts, seq)`, filling each
/// millisecond's sequence space before moving to the next millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    /// The worker field, in place (`worker << SEQUENCE-BITS`).
    worker_part: i64,
    pub ts: i64,
    pub seq: u64,
    pub count: u32,
    /// WORKER-BITS + SEQUENCE-BITS, and SEQUENCE-BITS.
    ts_shift: u8,
    seq_bits: u8,
    /// The mark was raised: the caller must replicate the new reservation.
    pub advanced: bool,
    /// This call found the wall clock behind the newest time the generator knows.
    pub clock_behind: bool,
    /// Milliseconds this call borrowed ahead of the clock.
    pub borrowed_ms: u64,
}

impl Issued {
    fn compose(&self, ts: i64, seq: u64) -> i64 {
        (ts << self.ts_shift) | self.worker_part | seq as i64
    }

    pub fn first(&self) -> i64 {
        self.compose(self.ts, self.seq)
    }

    /// The issued ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        let (bits, mask) = (self.seq_bits as u32, (1u64 << self.seq_bits) - 1);
        (0..self.count as u64).map(move |i| {
            let pos = self.seq + i;
            self.compose(self.ts + (pos >> bits) as i64, pos & mask)
        })
    }
}

/// A mark advance reserves `MAX_BLOCK_MS` when the previous call came within this long (a busy
/// key), else `MIN_BLOCK_MS`.
pub const BUSY_INTERVAL_MS: i64 = 250;

impl Snowflake {
    /// A new generator with the default text form; `layout` and `worker` must have been
    /// validated.
    pub fn new(layout: Layout, worker: Option<i64>) -> Self {
        Snowflake {
            epoch: layout.epoch,
            time_bits: layout.time_bits,
            worker_bits: layout.worker_bits,
            seq_bits: layout.seq_bits,
            time_unit_ms: layout.time_unit_ms as u32,
            text: TextForm::default(),
            gen: 0,
            worker: worker.map_or(-1, |w| w as i32),
            pos: 0,
            mark: 0,
            wall_seen: 0,
            last_id: -1,
            ids_issued: 0,
            behind_and_resumed: 0,
            borrowed_ms: 0,
        }
    }

    /// The same generator with the text form `text` (FORMAT and PREFIX).
    pub fn with_text(mut self, text: TextForm) -> Self {
        self.text = text;
        self
    }

    /// The key's FORMAT and PREFIX.
    pub fn text(&self) -> &TextForm {
        &self.text
    }

    pub fn seq_bits(&self) -> u8 {
        self.seq_bits
    }

    /// Calls that found the wall clock behind the newest reading seen.
    pub fn clock_behind(&self) -> u32 {
        self.behind_and_resumed & !RESUMED
    }

    fn resumed(&self) -> bool {
        self.behind_and_resumed & RESUMED != 0
    }

    fn set_resumed(&mut self, on: bool) {
        self.behind_and_resumed =
            (self.behind_and_resumed & !RESUMED) | if on { RESUMED } else { 0 };
    }

    pub fn layout(&self) -> Layout {
        Layout {
            epoch: self.epoch,
            time_bits: self.time_bits,
            worker_bits: self.worker_bits,
            seq_bits: self.seq_bits,
            time_unit_ms: self.time_unit_ms as i64,
        }
    }

    /// The fixed worker id, or `None` when the node's is used.
    pub fn worker(&self) -> Option<i64> {
        (self.worker >= 0).then_some(self.worker as i64)
    }

    /// The next unused position as (timestamp, sequence).
    pub fn next_position(&self) -> (i64, u64) {
        (
            (self.pos >> self.seq_bits()) as i64,
            self.pos & self.layout().max_seq(),
        )
    }

    /// Tick (since epoch) and worker of the last issued id, `(-1, -1)` before the first.
    pub fn last(&self) -> (i64, i64) {
        match self.layout().decompose(self.last_id) {
            Some((ts, w, _)) => (ts, w),
            None => (-1, -1),
        }
    }

    /// Checks a fixed worker id against the layout.
    pub fn validate_worker(layout: &Layout, worker: Option<i64>) -> Result<()> {
        match worker {
            Some(w) if w < 0 || w > layout.max_worker() => {
                Err(Error::OutOfRange("WORKER", 0, layout.max_worker()))
            }
            _ => Ok(()),
        }
    }

    /// Issues `count` ids. `now_unix` is the wall clock, `node_worker` the node's configured worker
    /// id, `max_borrow` how far (ms) the generator may run ahead of the newest time it knows
    /// (whole ticks of it).
    /// All or nothing: on error the state is unchanged.
    pub fn next(
        &mut self,
        now_unix: i64,
        node_worker: i64,
        count: u32,
        max_borrow: i64,
    ) -> Result<Issued> {
        self.next_fenced(now_unix, node_worker, count, max_borrow, || Ok(()))
    }

    /// `next`, asking `may_reserve` first when the call needs a new block (its last timestamp
    /// reaches the mark): a refusal is returned as is and changes nothing. Calls inside the
    /// reserved block never ask.
    #[inline(always)]
    pub fn next_fenced(
        &mut self,
        now_unix: i64,
        node_worker: i64,
        count: u32,
        max_borrow: i64,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Issued> {
        debug_assert!(count >= 1);
        if count == 1 {
            if let Some(issued) = self.next_one(now_unix, node_worker, max_borrow) {
                return Ok(issued);
            }
        }
        self.next_general(now_unix, node_worker, count, max_borrow, may_reserve)
    }

    /// The common call without the general step's arithmetic: one id, TIME-UNIT 1 ms, the clock
    /// at or past the newest time seen, inside the reserved block and inside the millisecond's
    /// sequence space, nothing borrowed, the same worker as the last id. `None` when any of that
    /// does not hold; the general step then decides. When `Some`, the result and the new state are
    /// exactly the general step's (`the_fast_step_is_the_general_step` checks it).
    #[inline(always)]
    fn next_one(&mut self, now_unix: i64, node_worker: i64, max_borrow: i64) -> Option<Issued> {
        if self.time_unit_ms != 1 {
            return None;
        }
        let now = now_unix.saturating_sub(self.epoch);
        if now < self.wall_seen {
            return None;
        }
        let (sb, wb) = (self.seq_bits as u32, self.worker_bits as u32);
        let worker = if self.worker >= 0 {
            self.worker as i64
        } else {
            node_worker
        };
        if (worker as u64) >> wb != 0 {
            return None; // negative or too wide: the general step refuses it
        }
        let pos_ts = (self.pos >> sb) as i64;
        let (ts, seq) = if now > pos_ts {
            (now, 0)
        } else {
            let seq = self.pos & ((1u64 << sb) - 1);
            // Further in the last id's millisecond (so not at a position a resume or a full
            // millisecond moved to), on its worker, within the borrow limit.
            if self.last_id >> sb != (pos_ts << wb) | worker || pos_ts - now > max_borrow.max(0) {
                return None;
            }
            (pos_ts, seq)
        };
        if ts >= self.mark {
            return None;
        }
        self.wall_seen = now;
        self.pos = ((ts as u64) << sb) + seq + 1;
        self.last_id = (ts << (wb + sb)) | (worker << sb) | seq as i64;
        self.ids_issued += 1;
        self.behind_and_resumed &= !RESUMED;
        Some(Issued {
            worker_part: worker << sb,
            ts_shift: self.worker_bits + self.seq_bits,
            seq_bits: self.seq_bits,
            ts,
            seq,
            count: 1,
            advanced: false,
            clock_behind: false,
            borrowed_ms: 0,
        })
    }

    /// `next_fenced` for any call. Kept out of line: the fast step is the common one.
    #[inline(never)]
    fn next_general(
        &mut self,
        now_unix: i64,
        node_worker: i64,
        count: u32,
        max_borrow: i64,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Issued> {
        let layout = self.layout();
        let worker = self.worker().unwrap_or(node_worker);
        if worker < 0 || worker > layout.max_worker() {
            return Err(Error::WorkerDoesNotFit {
                worker,
                bits: layout.worker_bits,
            });
        }
        let now = layout.tick_at(now_unix);
        let max_borrow = layout.ticks_floor(max_borrow);
        let unit = layout.time_unit_ms;
        let seq_bits = self.seq_bits() as u32;
        let seq_mask = layout.max_seq();
        let (mut ts, mut seq) = ((self.pos >> seq_bits) as i64, self.pos & seq_mask);
        if now > ts {
            ts = now;
            seq = 0;
        }
        // A worker change inside a millisecond moves on to the next one, so that ids keep
        // strictly increasing (only possible when the node's worker id is used).
        if seq > 0 && self.worker < 0 && worker != self.last().1 {
            ts += 1;
            seq = 0;
        }
        let end = seq + count as u64 - 1;
        let last_ts = ts + (end >> seq_bits) as i64;
        let last_seq = end & seq_mask;

        if last_ts > layout.max_ts() {
            return Err(Error::TimeBitsExhausted);
        }
        let base = now.max(self.wall_seen);
        if last_ts > base.saturating_add(max_borrow) {
            return Err(Error::BorrowLimit(max_borrow));
        }
        if last_ts >= self.mark {
            may_reserve()?;
        }

        // Commit.
        let clock_behind = now < self.wall_seen && !self.resumed();
        let last_ts_before = if self.last_id < 0 {
            -1
        } else {
            self.last_id >> (self.worker_bits + self.seq_bits())
        };
        let borrowed = (last_ts - base.max(last_ts_before)).max(0) as u64;
        let busy = now.saturating_sub(self.wall_seen).saturating_mul(unit) <= BUSY_INTERVAL_MS;
        let still_resumed = self.resumed() && now < self.wall_seen;
        self.wall_seen = base;
        self.pos = ((last_ts as u64) << seq_bits) + last_seq + 1;
        self.last_id = layout.compose(last_ts, worker, last_seq);
        self.ids_issued += count as u64;
        self.behind_and_resumed = (self.clock_behind() + clock_behind as u32).min(!RESUMED);
        self.set_resumed(still_resumed);
        let borrowed = borrowed.saturating_mul(unit as u64);
        self.borrowed_ms = self
            .borrowed_ms
            .saturating_add(borrowed.min(u32::MAX as u64) as u32);
        let advanced = last_ts >= self.mark;
        if advanced {
            let block_ms = if busy { MAX_BLOCK_MS } else { MIN_BLOCK_MS };
            let block = layout.ticks_floor(block_ms).max(1);
            self.mark = (last_ts + block).min(layout.max_ts() + 1);
        }
        Ok(Issued {
            worker_part: worker << layout.seq_bits,
            ts_shift: layout.worker_bits + layout.seq_bits,
            seq_bits: layout.seq_bits,
            ts,
            seq,
            count,
            advanced,
            clock_behind,
            borrowed_ms: borrowed,
        })
    }

    /// Resumes from the mark: after this no issued timestamp is below `mark + gap_ms` (in whole
    /// ticks, rounded up). Used when state arrives from replication (with no gap) and in tests.
    /// Running ahead of the clock up to the resume point does not count as borrowing.
    pub fn resume(&mut self, gap_ms: i64) {
        self.resume_above(gap_ms, None);
    }

    /// `resume`, and when `clock` is `Some((now_unix, clock_gap_ms))` also above the clock: after
    /// this no issued timestamp is below `max(mark + gap_ms, now + clock_gap_ms)`. The mark alone
    /// is not enough after a lost history: a key idle for longer than the gap has an old mark,
    /// and the reservations that a burst made just before a crash (or before a failover, or
    /// while a fenced primary was cut off) are the ones lost; each reached at most its own clock
    /// plus the borrow and one block, and that clock was below this node's clock now.
    pub fn resume_above(&mut self, gap_ms: i64, clock: Option<(i64, i64)>) {
        let l = self.layout();
        let mut floor = self.mark.saturating_add(l.ticks_ceil(gap_ms));
        if let Some((now, clock_gap_ms)) = clock {
            floor = floor.max(l.tick_at(now).saturating_add(l.ticks_ceil(clock_gap_ms)));
        }
        let floor = floor.min(l.max_ts() + 1);
        if floor > self.next_position().0 {
            self.pos = (floor as u64) << self.seq_bits();
        }
        if floor > self.wall_seen {
            self.wall_seen = floor;
            self.set_resumed(true);
        }
    }

    /// Applies a replicated reservation: raises the mark and the wall time seen (never lowers
    /// them) and moves the position up to the mark. The safety gap comes at the first use on a
    /// serving node (`resume`).
    pub fn apply_reservation(&mut self, mark: i64, wall_seen: i64) {
        self.mark = self.mark.max(mark.min(self.layout().max_ts() + 1));
        self.wall_seen = self.wall_seen.max(wall_seen);
        let before = self.pos;
        self.resume(0);
        if self.pos != before {
            // The position moved past ids this node never saw issued: which one was last is no
            // longer known here.
            self.last_id = -1;
        }
    }

    /// The compact form of this state (32 bytes instead of 88), when it has one: the default
    /// layout with the node's worker and the default text form (FORMAT INT, no PREFIX), a key
    /// that is not busy (its mark at most one small block ahead: a busy key stays in the full
    /// form, so its calls pay no decoding), the newest wall time within 2^31 ms of the position,
    /// the last id (if any) just before the position, and counters that fit.
    pub fn to_compact(&self) -> Option<SnowflakeCompact> {
        let ts = (self.pos >> DEFAULT_SEQUENCE_BITS) as i64;
        if self.mark - ts > MIN_BLOCK_MS
            || self.worker >= 0
            || self.layout() != Layout::default()
            || self.text != TextForm::default()
        {
            return None;
        }
        let mark_d = i32::try_from(self.mark - ts).ok()?;
        let wall_d = i32::try_from(self.wall_seen - ts).ok()?;
        let last_worker = match self.layout().decompose(self.last_id) {
            None => NO_LAST,
            Some((lts, w, lseq)) => {
                let before = self.pos.checked_sub(1)?;
                if before != ((lts as u64) << DEFAULT_SEQUENCE_BITS) + lseq {
                    return None;
                }
                w as u64
            }
        };
        let behind = self.clock_behind() as u64;
        if self.ids_issued >> 48 != 0 || behind >> 19 != 0 {
            return None;
        }
        Some(SnowflakeCompact {
            pos: self.pos,
            mark_d,
            wall_d,
            ids_lo: self.ids_issued as u32,
            borrowed_ms: self.borrowed_ms,
            misc: self.gen as u64
                | last_worker << 16
                | (self.resumed() as u64) << 27
                | behind << 28
                | (self.ids_issued >> 32) << 47,
        })
    }

    /// The state a compact form stands for.
    pub fn from_compact(c: &SnowflakeCompact) -> Self {
        let mut s = Snowflake::new(Layout::default(), None);
        let ts = (c.pos >> DEFAULT_SEQUENCE_BITS) as i64;
        s.pos = c.pos;
        s.mark = ts + c.mark_d as i64;
        s.wall_seen = ts + c.wall_d as i64;
        s.gen = c.misc as u16;
        let last_worker = (c.misc >> 16) & 0x7FF;
        if last_worker != NO_LAST && c.pos > 0 {
            let before = c.pos - 1;
            let (lts, lseq) = ((before >> DEFAULT_SEQUENCE_BITS) as i64, before & 0xFFF);
            s.last_id = s.layout().compose(lts, last_worker as i64, lseq);
        }
        s.ids_issued = (c.misc >> 47) << 32 | c.ids_lo as u64;
        s.behind_and_resumed = ((c.misc >> 28) & 0x7FFFF) as u32;
        s.set_resumed((c.misc >> 27) & 1 == 1);
        s.borrowed_ms = c.borrowed_ms;
        s
    }

    /// Decomposes an id under this generator's layout into (unix ms of its tick's start,
    /// worker, sequence).
    pub fn parse(&self, id: i64) -> Result<(i64, i64, u64)> {
        let layout = self.layout();
        let (ts, worker, seq) = layout.decompose(id).ok_or(Error::ForeignId)?;
        if matches!(self.worker(), Some(w) if w != worker) {
            return Err(Error::ForeignId);
        }
        Ok((layout.tick_start_ms(ts), worker, seq))
    }

    /// The last unix ms the time bits can hold; after it the generator is exhausted.
    pub fn exhausted_at(&self) -> i64 {
        self.layout().time_exhausted_at().saturating_sub(1)
    }

    /// Rebuilds a generator from persisted fields, checking every one; `Err` names the first
    /// field out of range.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        layout: Layout,
        text: TextForm,
        worker: i64,
        pos: u64,
        mark: i64,
        wall_seen: i64,
        last_id: i64,
        ids_issued: u64,
        clock_behind: u32,
        borrowed_ms: u32,
        gen: u16,
    ) -> std::result::Result<Self, &'static str> {
        layout.validate(None).map_err(|_| "layout")?;
        let fixed = (worker != -1).then_some(worker);
        Self::validate_worker(&layout, fixed).map_err(|_| "worker")?;
        let end = ((layout.max_ts() + 1) as u64) << layout.seq_bits;
        let ok = |c: bool, f: &'static str| if c { Ok(()) } else { Err(f) };
        ok(pos <= end, "position")?;
        ok((0..=layout.max_ts() + 1).contains(&mark), "mark")?;
        ok(wall_seen >= 0, "wall_seen")?;
        ok(last_id >= -1, "last_id")?;
        TextForm::new(text.format, text.prefix).map_err(|_| "text form")?;
        let mut s = Snowflake::new(layout, fixed).with_text(text);
        s.pos = pos;
        s.mark = mark;
        s.wall_seen = wall_seen;
        s.last_id = last_id;
        s.ids_issued = ids_issued;
        s.behind_and_resumed = clock_behind.min(!RESUMED);
        s.borrowed_ms = borrowed_ms;
        s.gen = gen;
        ok(s.last().0 < mark || last_id == -1, "mark below last id")?;
        ok(
            last_id == -1 || s.last().1 == s.worker().unwrap_or(s.last().1),
            "last id worker",
        )?;
        Ok(s)
    }

    /// The persisted fields, in `from_parts` order (after the layout).
    #[allow(clippy::type_complexity)]
    pub fn parts(&self) -> (i64, u64, i64, i64, i64, u64, u32, u32, u16) {
        (
            self.worker as i64,
            self.pos,
            self.mark,
            self.wall_seen,
            self.last_id,
            self.ids_issued,
            self.clock_behind(),
            self.borrowed_ms,
            self.gen,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const E: i64 = DEFAULT_EPOCH_MS;

    fn gen() -> Snowflake {
        Snowflake::new(Layout::default(), None)
    }

    #[test]
    fn state_is_88_bytes() {
        assert_eq!(std::mem::size_of::<Snowflake>(), 88);
        assert_eq!(std::mem::size_of::<SnowflakeCompact>(), 32);
    }

    #[test]
    fn default_layout_is_valid_and_composes() {
        let l = Layout::default();
        l.validate(Some(E)).unwrap();
        let id = l.compose(5, 3, 7);
        assert_eq!(id, (5 << 22) | (3 << 12) | 7);
        assert_eq!(l.decompose(id), Some((5, 3, 7)));
        assert_eq!(l.decompose(-1), None);
    }

    #[test]
    fn layout_rules() {
        let l = Layout {
            time_bits: 34,
            worker_bits: 17,
            ..Layout::default()
        };
        assert_eq!(
            l.validate(None),
            Err(Error::OutOfRange("TIME-BITS", 35, 55))
        );
        let l = Layout {
            seq_bits: 13,
            ..Layout::default()
        };
        assert_eq!(l.validate(None), Err(Error::BitsSumOver63(64)));
        let l = Layout {
            epoch: E + 10,
            ..Layout::default()
        };
        assert_eq!(l.validate(Some(E)), Err(Error::EpochInFuture));
        assert_eq!(l.validate(None), Ok(()));
        let l = Layout {
            epoch: i64::MAX - 5,
            ..Layout::default()
        };
        assert!(l.validate(None).is_err());
    }

    fn refuse() -> Result<()> {
        Err(Error::NoReplicas {
            have: 0,
            need: 1,
            max_lag_ms: 2000,
        })
    }

    #[test]
    fn the_fence_is_asked_only_for_a_new_block_and_a_refusal_changes_nothing() {
        let mut g = gen();
        // A new key needs a block: refused, unchanged.
        let before = g.clone();
        assert!(matches!(
            g.next_fenced(E + 1000, 5, 1, 1000, refuse),
            Err(Error::NoReplicas { .. })
        ));
        assert_eq!(g, before);
        let i = g.next_fenced(E + 1000, 5, 1, 1000, || Ok(())).unwrap();
        assert!(i.advanced);
        // Inside the block: never asked.
        let mut asked = false;
        let j = g
            .next_fenced(E + 1001, 5, 3, 1000, || {
                asked = true;
                refuse()
            })
            .unwrap();
        assert!(!asked && !j.advanced);
        // Past the mark: asked, refused, nothing changed, no ID issued.
        let before = g.clone();
        let past = E + g.mark + 5;
        assert!(g.next_fenced(past, 5, 1, 1000, refuse).is_err());
        assert_eq!(g, before);
    }

    #[test]
    fn resume_above_the_clock() {
        let mut g = gen();
        g.next(E + 1000, 5, 1, 1000).unwrap();
        let mark = g.mark;
        // An idle key resumed much later: from the mark only, the clock is above the floor...
        let mut a = g.clone();
        a.resume_above(3000, None);
        assert_eq!(a.next(E + 60_000, 5, 1, 1000).unwrap().ts, 60_000);
        assert!(mark + 3000 < 60_000);
        // ...from the clock too: nothing below now + the clock gap.
        let mut b = g.clone();
        b.resume_above(3000, Some((E + 60_000, 2000)));
        assert_eq!(b.next(E + 60_000, 5, 1, 1000).unwrap().ts, 62_000);
        // A key whose mark is ahead of the clock keeps the mark's floor.
        let mut c = g.clone();
        c.resume_above(3000, Some((E + 500, 2000)));
        assert_eq!(c.next(E + 500, 5, 1, 1000).unwrap().ts, mark + 3000);
    }

    #[test]
    fn first_id_uses_the_clock_and_reserves() {
        let mut g = gen();
        let i = g.next(E + 1000, 5, 1, 1000).unwrap();
        assert_eq!(i.first(), Layout::default().compose(1000, 5, 0));
        assert!(i.advanced);
        assert!(g.mark > 1000);
        let j = g.next(E + 1000, 5, 1, 1000).unwrap();
        assert_eq!(j.first(), i.first() + 1);
        assert!(!j.advanced);
    }

    #[test]
    fn exhausted_millisecond_borrows_the_next() {
        let mut g = gen();
        let i = g.next(E + 10, 0, 4096, 1000).unwrap();
        assert_eq!(i.borrowed_ms, 0);
        let j = g.next(E + 10, 0, 1, 1000).unwrap();
        assert_eq!(j.ts, 11);
        assert_eq!(j.seq, 0);
        assert_eq!(j.borrowed_ms, 1);
        assert_eq!(g.borrowed_ms, 1);
    }

    #[test]
    fn borrow_limit_refuses_and_changes_nothing() {
        let mut g = gen();
        g.next(E + 10, 0, 4096, 2).unwrap();
        g.next(E + 10, 0, 4096, 2).unwrap();
        g.next(E + 10, 0, 4096, 2).unwrap();
        let before = g.clone();
        assert_eq!(g.next(E + 10, 0, 1, 2), Err(Error::BorrowLimit(2)));
        assert_eq!(g, before);
        // The clock catching up lets it go on.
        assert!(g.next(E + 11, 0, 1, 2).is_ok());
    }

    #[test]
    fn count_batches_are_all_or_nothing() {
        let mut g = gen();
        let before = g.clone();
        assert_eq!(g.next(E + 10, 0, 10_000, 1), Err(Error::BorrowLimit(1)));
        assert_eq!(g, before);
        let i = g.next(E + 10, 0, 10_000, 2).unwrap();
        let ids: Vec<i64> = i.ids().collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn clock_step_back_keeps_counting_on_own_timestamp() {
        let mut g = gen();
        let a = g.next(E + 10_000, 0, 1, 1000).unwrap().first();
        let b = g.next(E + 5_000, 0, 1, 1000).unwrap();
        assert!(b.first() > a);
        assert!(b.clock_behind);
        assert_eq!(b.ts, 10_000);
        assert_eq!(g.clock_behind(), 1);
    }

    #[test]
    fn worker_change_inside_a_millisecond_stays_increasing() {
        let mut g = gen();
        let a = g.next(E + 10, 9, 1, 1000).unwrap().first();
        let b = g.next(E + 10, 2, 1, 1000).unwrap().first();
        assert!(b > a);
    }

    #[test]
    fn worker_must_fit() {
        let layout = Layout {
            time_bits: 46,
            worker_bits: 5,
            ..Layout::default()
        };
        let mut g = Snowflake::new(layout, None);
        assert_eq!(
            g.next(E, 40, 1, 1000),
            Err(Error::WorkerDoesNotFit {
                worker: 40,
                bits: 5
            })
        );
        let g = Snowflake::new(layout, Some(3));
        assert!(Snowflake::validate_worker(&layout, Some(32)).is_err());
        assert!(Snowflake::validate_worker(&layout, g.worker()).is_ok());
    }

    #[test]
    fn time_bits_run_out() {
        let mut g = gen();
        let max = Layout::default().max_ts();
        assert_eq!(
            g.next(E + max + 1, 0, 1, 1000),
            Err(Error::TimeBitsExhausted)
        );
        assert!(g.next(E + max, 0, 1, 1000).is_ok());
    }

    #[test]
    fn resume_starts_at_the_mark() {
        let mut g = gen();
        let a = g.next(E + 100, 0, 1, 1000).unwrap().first();
        let mark = g.mark;
        g.resume(0);
        let b = g.next(E + 100, 0, 1, 1000).unwrap();
        assert!(b.first() > a);
        assert_eq!(b.ts, mark);
        assert!(b.advanced, "resuming at the mark must reserve again");
        // Running ahead of the clock up to the resume point is not borrowing.
        assert_eq!(b.borrowed_ms, 0);
    }

    #[test]
    fn running_ahead_after_a_resume_is_no_clock_step() {
        let mut g = gen();
        g.next(E + 100, 0, 1, 1000).unwrap();
        g.resume(3000);
        for _ in 0..5 {
            let i = g.next(E + 101, 0, 1, 1000).unwrap();
            assert!(!i.clock_behind);
        }
        // Once the clock passed the resume point, a step back is a clock step again.
        g.next(E + 10_000, 0, 1, 1000).unwrap();
        assert!(g.next(E + 9_000, 0, 1, 1000).unwrap().clock_behind);
        assert_eq!(g.clock_behind(), 1);
    }

    #[test]
    fn default_keys_have_a_compact_form() {
        let mut g = gen();
        assert!(g.to_compact().is_some(), "a new key");
        let t = E + 10_000_000_000;
        g.next(t, 7, 3, 1000).unwrap();
        let c = g.to_compact().expect("after issuing");
        assert_eq!(Snowflake::from_compact(&c), g);
        g.resume(3000);
        assert!(g.to_compact().is_none(), "resumed, before issuing");
        g.next(t + 10_000, 7, 1, 1000).unwrap();
        assert!(g.to_compact().is_some(), "issued again");
        g.next(t + 10_060, 7, 1, 1000).unwrap();
        assert!(g.to_compact().is_none(), "busy: a large block");
        assert!(Snowflake::new(Layout::default(), Some(3))
            .to_compact()
            .is_none());
    }

    #[test]
    fn reservation_never_lowers() {
        let mut g = gen();
        g.apply_reservation(500, 400);
        g.apply_reservation(300, 200);
        assert_eq!(
            (g.mark, g.wall_seen, g.next_position()),
            (500, 500, (500, 0))
        );
        g.apply_reservation(500, 400);
        g.resume(30);
        assert_eq!(g.next_position(), (530, 0));
        g.apply_reservation(500, 400);
        g.resume(30);
        assert_eq!(
            g.next_position(),
            (530, 0),
            "replaying a reservation is idempotent"
        );
    }

    #[test]
    fn parse_checks_fixed_worker() {
        let g = Snowflake::new(Layout::default(), Some(3));
        let id = Layout::default().compose(7, 3, 1);
        assert_eq!(g.parse(id), Ok((E + 7, 3, 1)));
        assert_eq!(
            g.parse(Layout::default().compose(7, 4, 1)),
            Err(Error::ForeignId)
        );
        assert_eq!(g.parse(-5), Err(Error::ForeignId));
    }

    /// `YYYY-MM-DD hh:mm:ss.mmm` UTC, for date assertions.
    fn utc(ms: i64) -> String {
        use crate::period::{civil_from_days, DAY_MS};
        let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
        let t = ms.rem_euclid(DAY_MS);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
            t / 3_600_000,
            t / 60_000 % 60,
            t / 1000 % 60,
            t % 1000
        )
    }

    #[test]
    fn layout_words_and_js_safe_dates() {
        assert_eq!(Layout::named(b"js-safe"), Ok(Layout::JS_SAFE));
        assert_eq!(Layout::named(b"DEFAULT"), Ok(Layout::default()));
        assert_eq!(Layout::named(b"fast"), Err(Error::UnknownLayout));

        let js = Layout::JS_SAFE;
        js.validate(Some(DEFAULT_EPOCH_MS)).unwrap();
        assert_eq!(js.total_bits(), 53);
        assert!(js.is_js_safe());
        assert_eq!(js.js_safe_until(), None);
        assert_eq!(js.max_id(), JS_MAX_SAFE_INTEGER);
        assert_eq!(js.time_exhausted_at(), 4_452_846_269_440);
        assert_eq!(utc(js.time_exhausted_at()), "2111-02-08 13:44:29.440");
        assert_eq!(1u64 << js.worker_bits, 32);
        assert_eq!((1i64 << js.seq_bits) * 1000 / js.time_unit_ms, 102_400);

        let def = Layout::default();
        def.validate(None).unwrap();
        assert_eq!(utc(def.time_exhausted_at()), "2093-09-06 15:47:35.552");
        assert_eq!(def.js_safe_until(), Some(DEFAULT_EPOCH_MS + (1 << 31)));
        assert_eq!(utc(def.js_safe_until().unwrap()), "2024-01-25 20:31:23.648");

        // The 63-bit 51/2/10 layout of the old note: JS-safe until 2093, then not.
        let wide = Layout {
            time_bits: 51,
            worker_bits: 2,
            seq_bits: 10,
            ..def
        };
        wide.validate(None).unwrap();
        assert_eq!(
            utc(wide.js_safe_until().unwrap()),
            "2093-09-06 15:47:35.552"
        );
        // The 53-bit alternatives named in the docs.
        let ms1 = Layout {
            time_bits: 41,
            worker_bits: 2,
            seq_bits: 10,
            ..def
        };
        assert_eq!(utc(ms1.time_exhausted_at()), "2093-09-06 15:47:35.552");
        let long = Layout {
            time_bits: 39,
            worker_bits: 4,
            ..js
        };
        assert_eq!(&utc(long.time_exhausted_at())[..10], "2198-03-18");
    }

    #[test]
    fn layout_rules_with_time_unit() {
        let def = Layout::default();
        let with = |f: &dyn Fn(&mut Layout)| {
            let mut l = def;
            f(&mut l);
            l.validate(Some(DEFAULT_EPOCH_MS))
        };
        assert_eq!(
            with(&|l| l.time_unit_ms = 0),
            Err(Error::OutOfRange("TIME-UNIT", 1, 86_400_000))
        );
        assert_eq!(
            with(&|l| l.time_unit_ms = 86_400_001),
            Err(Error::OutOfRange("TIME-UNIT", 1, 86_400_000))
        );
        assert_eq!(with(&|l| l.seq_bits = 13), Err(Error::BitsSumOver63(64)));
        assert_eq!(with(&|l| l.seq_bits = 4), Ok(()), "sums below 63 are fine");
        assert_eq!(
            with(&|l| l.time_bits = 34),
            Err(Error::OutOfRange("TIME-BITS", 35, 55))
        );
        assert_eq!(with(&|l| l.epoch = -1), Err(Error::EpochNegative));
        assert_eq!(with(&|l| l.epoch += 1), Err(Error::EpochInFuture));
        let long = |l: &mut Layout| {
            l.time_bits = 45;
            l.worker_bits = 4;
            l.seq_bits = 4;
            l.time_unit_ms = 86_400_000;
        };
        assert_eq!(
            with(&long),
            Err(Error::TimeSpanTooLong {
                time_bits: 45,
                unit_ms: 86_400_000
            })
        );
        // 2^55 ms leaves room for epochs up to i64::MAX - 2^55.
        let late = Layout {
            time_bits: 55,
            worker_bits: 4,
            seq_bits: 4,
            epoch: i64::MAX - (1 << 55) + 1,
            ..def
        };
        assert_eq!(
            late.validate(None),
            Err(Error::OutOfRange("EPOCH", 0, i64::MAX - (1 << 55)))
        );
        let last = Layout {
            epoch: i64::MAX - (1 << 55),
            ..late
        };
        assert_eq!(last.validate(None), Ok(()));
        assert_eq!(last.time_exhausted_at(), i64::MAX);
    }

    #[test]
    fn a_busy_key_takes_the_fast_step() {
        let mut g = Snowflake::new(Layout::default(), None);
        let now = DEFAULT_EPOCH_MS + 5_000;
        g.next(now, 3, 1, 1000).unwrap(); // the first call reserves: the general step
                                          // Later calls in the same millisecond, and in the next one, inside the block.
        for t in [now, now, now + 1, now + 1] {
            let i = g.next_one(t, 3, 1000).expect("the fast step applies");
            assert_eq!(i.first(), g.last_id);
        }
        // Not for a clock behind the newest time seen, a new worker, or a wider unit.
        assert!(g.clone().next_one(now, 3, 1000).is_none());
        assert!(g.clone().next_one(now + 1, 4, 1000).is_none());
        let mut slow = Snowflake::new(
            Layout {
                time_unit_ms: 10,
                ..Layout::default()
            },
            None,
        );
        slow.next(now, 3, 1, 1000).unwrap();
        assert!(slow.next_one(now, 3, 1000).is_none());
    }

    fn any_layout() -> impl Strategy<Value = Layout> {
        (
            35u8..=55,
            0u8..=20,
            4u8..=22,
            prop_oneof![Just(1i64), Just(10), Just(1000), 1i64..=86_400_000],
            prop_oneof![Just(0i64), Just(DEFAULT_EPOCH_MS), 0i64..4_000_000_000_000],
        )
            .prop_map(|(t, w, s, u, e)| Layout {
                epoch: e,
                time_bits: t,
                worker_bits: w,
                seq_bits: s,
                time_unit_ms: u,
            })
    }

    #[derive(Debug, Clone)]
    enum Op {
        Tick(i64),
        Next(u32),
        Resume(i64),
        Worker(i64),
        /// The clock set near the key's own state: its newest wall time (`false`, -2..60 ms)
        /// or its mark (`true`, -2..2 ms), where the edge cases of a step are.
        Near(bool, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (-3_600_000i64..3_600_000).prop_map(Op::Tick),
            2 => (0i64..3).prop_map(Op::Tick),
            8 => prop_oneof![Just(1u32), 1u32..5000].prop_map(Op::Next),
            1 => (0i64..5000).prop_map(Op::Resume),
            1 => (-1i64..9).prop_map(Op::Worker),
            2 => (any::<bool>(), -2i64..60).prop_map(|(m, d)| Op::Near(m, if m { d % 3 } else { d })),
        ]
    }

    /// A clock reading `d` ms from the start of the key's mark tick or newest-wall-time tick.
    fn near(g: &Snowflake, at_mark: bool, d: i64) -> i64 {
        let tick = if at_mark { g.mark } else { g.wall_seen };
        (g.layout().tick_start_ms(tick) + d).max(0)
    }

    fn small_layout() -> impl Strategy<Value = Layout> {
        prop_oneof![
            Just(Layout::default()),
            Just(Layout {
                epoch: 0,
                time_bits: 55,
                worker_bits: 4,
                seq_bits: 4,
                time_unit_ms: 1,
            }),
            Just(Layout {
                epoch: E,
                time_bits: 43,
                worker_bits: 2,
                seq_bits: 18,
                time_unit_ms: 1,
            }),
            Just(Layout::JS_SAFE),
            Just(Layout {
                epoch: E,
                time_bits: 40,
                worker_bits: 3,
                seq_bits: 6,
                time_unit_ms: 1000,
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Under any clock (steps back and forward), resumes and worker changes, every issued id
        /// is strictly greater than the one before, stays below the mark, and refusals change
        /// nothing; the compact form, where there is one, round-trips the whole state.
        #[test]
        fn ids_strictly_increase_under_any_clock(layout in small_layout(),
                                                 ops in prop::collection::vec(op(), 1..200),
                                                 max_borrow in 0i64..50) {
            let mut g = Snowflake::new(layout, None);
            let mut now = E + 1_000_000;
            let mut worker = 0;
            let mut last = -1i64;
            let mut issued = 0u64;
            for op in ops {
                match op {
                    Op::Tick(d) => now = (now + d).max(0),
                    Op::Near(at_mark, d) => now = near(&g, at_mark, d),
                    Op::Worker(w) => worker = w,
                    Op::Resume(gap) => { g.resume(gap); }
                    Op::Next(n) => {
                        let before = g.clone();
                        match g.next(now, worker, n, max_borrow) {
                            Ok(i) => {
                                for id in i.ids() {
                                    prop_assert!(id > last, "id {} after {}", id, last);
                                    let (ts, w, _) = layout.decompose(id).unwrap();
                                    prop_assert!(ts < g.mark);
                                    prop_assert_eq!(w, worker);
                                    last = id;
                                }
                                issued += n as u64;
                                let (l, p) = (g.layout(), g.parts());
                                let back = Snowflake::from_parts(l, *g.text(), p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7, p.8);
                                prop_assert_eq!(back.map(|b| (b.layout(), b.parts())), Ok((l, p)));
                            }
                            Err(_) => prop_assert_eq!(&g, &before),
                        }
                    }
                }
                // A key keeps the compact form whenever it has one: it must stand for exactly
                // this state.
                if let Some(c) = g.to_compact() {
                    prop_assert_eq!(&Snowflake::from_compact(&c), &g);
                    g = Snowflake::from_compact(&c);
                }
            }
            prop_assert_eq!(g.ids_issued, issued);
        }

        /// The fast step for one id, where it applies, gives exactly what the general step
        /// gives: the same ids and flags, the same state after. States come from any history
        /// (clock steps, resumes, worker changes, replicated reservations).
        #[test]
        fn the_fast_step_is_the_general_step(layout in small_layout(),
                                             ops in prop::collection::vec(op(), 1..200),
                                             max_borrow in prop_oneof![Just(0i64), 0i64..50, Just(-1)],
                                             fixed in prop_oneof![Just(None), (0i64..3).prop_map(Some)]) {
            let mut g = Snowflake::new(layout, fixed);
            let mut now = E + 1_000_000;
            let mut worker = 0;
            for op in ops {
                match op {
                    Op::Tick(d) => now = (now + d).max(0),
                    Op::Near(at_mark, d) => now = near(&g, at_mark, d),
                    Op::Worker(w) => worker = w,
                    Op::Resume(gap) if gap % 3 == 0 => { let (m, w) = (g.mark + gap % 7, g.wall_seen + gap % 5); g.apply_reservation(m, w); }
                    Op::Resume(gap) => g.resume(gap),
                    Op::Next(n) => {
                        // The limit may change between calls (CONFIG SET idgen.max-borrow-ms).
                        let max_borrow = max_borrow + n as i64 % 3 - 1;
                        let mut general = g.clone();
                        let want = general.next_general(now, worker, 1, max_borrow, || Ok(()));
                        let mut quick = g.clone();
                        match quick.next_one(now, worker, max_borrow) {
                            Some(got) => {
                                prop_assert_eq!(Ok(got), want);
                                prop_assert_eq!(&quick, &general);
                            }
                            None => prop_assert_eq!(&quick, &g),
                        }
                        let _ = g.next(now, worker, n, max_borrow);
                    }
                }
            }
        }

        /// `js_safe_until` is exactly the first instant whose tick can compose an id above
        /// 2^53 - 1; `time_exhausted_at` the first whose tick does not fit.
        #[test]
        fn layout_dates(l in any_layout()) {
            if l.validate(None).is_err() {
                // Only the span rule can refuse these layouts.
                prop_assert!(l.total_bits() > 63 || (1i128 << l.time_bits) * l.time_unit_ms as i128 + l.epoch as i128 > i64::MAX as i128);
                return Ok(());
            }
            let k = l.worker_bits as u32 + l.seq_bits as u32;
            let max_of_tick = |t: i64| ((t as i128) << k) | ((1i128 << k) - 1);
            let end = l.time_exhausted_at();
            prop_assert_eq!(l.tick_at(end), 1i64 << l.time_bits);
            prop_assert_eq!(l.tick_at(end - 1), (1i64 << l.time_bits) - 1);
            prop_assert_eq!(l.tick_start_ms(l.tick_at(end)), end);
            prop_assert!(max_of_tick((1i64 << l.time_bits) - 1) <= l.max_id() as i128);
            match l.js_safe_until() {
                None => {
                    prop_assert!(l.total_bits() <= 53);
                    prop_assert!(l.max_id() <= JS_MAX_SAFE_INTEGER);
                }
                Some(at) => {
                    prop_assert!(at >= l.epoch && at < end);
                    let t = l.tick_at(at);
                    prop_assert_eq!(l.tick_start_ms(t), at);
                    prop_assert!(max_of_tick(t) > JS_MAX_SAFE_INTEGER as i128);
                    prop_assert!(t == 0 || max_of_tick(t - 1) <= JS_MAX_SAFE_INTEGER as i128);
                }
            }
        }

        /// A replica that only sees the reservations, when promoted, never issues an id the
        /// primary issued.
        #[test]
        fn promoted_replica_starts_above_everything(ops in prop::collection::vec(op(), 1..150),
                                                    gap in 0i64..100) {
            let mut primary = Snowflake::new(Layout::default(), Some(1));
            let mut replica = Snowflake::new(Layout::default(), Some(1));
            let mut now = E + 5_000_000;
            let mut last = -1;
            for op in ops {
                match op {
                    Op::Tick(d) => now += d,
                    Op::Next(n) => if let Ok(i) = primary.next(now, 0, n, 30) {
                        last = i.ids().last().unwrap();
                        if i.advanced {
                            replica.apply_reservation(primary.mark, primary.wall_seen);
                        }
                    },
                    _ => {}
                }
            }
            replica.resume(gap);
            // Even with the clock far behind, the promoted replica's first id is above.
            if let Ok(i) = replica.next(now - 3_600_000, 0, 1, 1000) {
                prop_assert!(i.first() > last);
            }
        }

        /// A node restarted from a state whose newest reservations were lost (an AOF tail cut
        /// after an idle stretch, then a burst) resumes above every id issued before, however
        /// old the durable mark is, as long as the clock did not go back across the restart.
        #[test]
        fn resume_above_the_clock_covers_a_lost_tail(
            idle in 0i64..60_000,
            burst in prop::collection::vec((0i64..5, 1u32..5000), 1..40),
            restart_after in 0i64..50,
            borrow in 0i64..1000,
        ) {
            let mut g = Snowflake::new(Layout::default(), None);
            let mut now = E + 5_000_000;
            g.next(now, 3, 1, borrow).unwrap();
            let durable = g.clone();
            now += idle;
            let mut last = -1;
            for (dt, n) in burst {
                now += dt;
                if let Ok(i) = g.next(now, 3, n, borrow) {
                    last = i.ids().last().unwrap();
                }
            }
            // The crash: only `durable` survives; the node resumes a little later.
            let mut restarted = durable;
            now += restart_after;
            restarted.resume_above(0, Some((now, borrow + MAX_BLOCK_MS)));
            if let Ok(i) = restarted.next(now, 3, 1, borrow) {
                prop_assert!(i.first() > last, "{} <= {}", i.first(), last);
            }
        }
    }
}
