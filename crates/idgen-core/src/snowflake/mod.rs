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

mod layout;

pub use layout::{
    Layout, DEFAULT_EPOCH_MS, DEFAULT_SEQUENCE_BITS, DEFAULT_TIME_BITS, DEFAULT_TIME_UNIT_MS,
    DEFAULT_WORKER_BITS, JS_MAX_SAFE_INTEGER, SEQUENCE_BITS_RANGE, TIME_BITS_RANGE,
    TIME_UNIT_RANGE, WORKER_BITS_RANGE,
};

use crate::error::{Error, Result};
use crate::format::TextForm;
use crate::opaque::{Permutation, Secret};
use crate::reservation;

/// Largest `COUNT` of one `SNOWFLAKE.NEXT` call.
pub const MAX_COUNT: u32 = 10_000;
pub use crate::reservation::{BUSY_INTERVAL_MS, MAX_BLOCK_MS, MIN_BLOCK_MS};

/// The state of one generator key. Flat (96 bytes; an OPAQUE key boxes its permutation), since
/// every key holds one; default keys are kept in a 32-byte compact form instead (`to_compact`).
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
    /// OPAQUE: the keyed permutation of the layout's `2^(time+worker+sequence bits)` ids that
    /// maps issued ids to public ones (boxed: plain keys pay one pointer). The state stays in
    /// issue order; only replies are mapped.
    opaque: Option<Box<Permutation>>,
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

/// `Permutation::permute` of an issued id (in the domain by construction), out of line: the
/// plain key's reply path stays small.
#[cold]
#[inline(never)]
fn permute(p: &Permutation, id: i64) -> i64 {
    p.permute(id as u64).map_or(id, |v| v as i64)
}

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
            opaque: None,
        }
    }

    /// The same generator with OPAQUE: its public ids are FF1 (radix 2, exactly the layout's
    /// width in bits, so no cycle-walking) of the ids it issues.
    pub fn with_opaque(mut self, secret: Secret) -> Result<Self> {
        let n = 1u128 << self.layout().total_bits();
        self.opaque = Some(Box::new(Permutation::new(secret, n)?));
        Ok(self)
    }

    /// The key's permutation, for an OPAQUE key.
    pub fn opaque(&self) -> Option<&Permutation> {
        self.opaque.as_deref()
    }

    /// The public id of an issued id (itself for a key without OPAQUE).
    #[inline]
    pub fn public(&self, id: i64) -> i64 {
        match &self.opaque {
            None => id,
            Some(p) => permute(p, id),
        }
    }

    /// The issued id behind a public id: the inverse of `public`. An id outside the layout's
    /// width is `ForeignId`.
    pub fn issued(&self, public: i64) -> Result<i64> {
        let Some(p) = &self.opaque else {
            return Ok(public);
        };
        if public < 0 || public as u128 >= p.size() {
            return Err(Error::ForeignId);
        }
        Ok(p.invert(public as u64)? as i64)
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

        let base = now.max(self.wall_seen);
        reservation::check_take(
            last_ts,
            layout.max_ts(),
            base,
            max_borrow,
            self.mark,
            may_reserve,
        )?;

        // Commit.
        let clock_behind = now < self.wall_seen && !self.resumed();
        let last_ts_before = if self.last_id < 0 {
            -1
        } else {
            self.last_id >> (self.worker_bits + self.seq_bits())
        };
        let borrowed = (last_ts - base.max(last_ts_before)).max(0) as u64;
        let block_ms =
            reservation::block_ms(now.saturating_sub(self.wall_seen).saturating_mul(unit));
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
        let floor = reservation::resume_floor(
            self.mark,
            l.ticks_ceil(gap_ms),
            clock.map(|(now, clock_gap_ms)| {
                l.tick_at(now).saturating_add(l.ticks_ceil(clock_gap_ms))
            }),
            l.max_ts() + 1,
        );
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

    /// The compact form of this state (32 bytes instead of 96), when it has one: the default
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
            || self.opaque.is_some()
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
mod tests;
