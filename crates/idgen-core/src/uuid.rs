//! UUIDv7 / ULID generator: 128-bit IDs made of a Unix-ms timestamp, an 18-bit counter, a worker
//! id and random bits (RFC 9562 section 5.7, monotonicity by section 6.2 method 1: a fixed-length
//! dedicated counter after the timestamp).
//!
//! # Layout (most significant bit first)
//!
//! | bits | width | field |
//! |---|---|---|
//! | 127..80 | 48 | `unix_ts_ms`: Unix time in ms |
//! | 79..76 | 4 | version, `0111` (7) |
//! | 75..64 | 12 | `rand_a`: the counter's high 12 bits |
//! | 63..62 | 2 | variant, `10` (RFC 9562) |
//! | 61..56 | 6 | the counter's low 6 bits |
//! | 55..46 | 10 | worker id (0..=1023) |
//! | 45..0 | 46 | random bits (a CSPRNG's, passed in) |
//!
//! So 262,144 IDs per ms and key. The counter sits above the worker and the random bits, so IDs
//! of one key strictly increase in the position `(ms, counter)` whatever the worker and the
//! random bits, and their text (UUID, HEX, ULID) sorts in issue order.
//!
//! Pure logic like `crate::snowflake`: the clock, the node's worker id, the borrow limit and the
//! random bits are arguments. Position, mark (reservation), wall time seen, borrow and resume
//! follow the snowflake generator exactly (the block and resume rules are
//! shared, `crate::reservation`), with a tick of 1 ms, epoch 0 and 18 sequence bits.

use crate::error::{Error, Result};
use crate::reservation;
pub use crate::reservation::{BUSY_INTERVAL_MS, MAX_BLOCK_MS, MIN_BLOCK_MS};
pub use crate::snowflake::MAX_COUNT;

/// The counter's width: 12 bits in `rand_a`, 6 at the top of `rand_b`.
pub const COUNTER_BITS: u32 = 18;
pub const WORKER_BITS: u8 = 10;
pub const RANDOM_BITS: u32 = 46;
pub const MAX_WORKER: i64 = (1 << WORKER_BITS) - 1;
pub const MAX_COUNTER: u64 = (1 << COUNTER_BITS) - 1;
/// The largest timestamp (ms) a key issues at: 2^45 - 1 (3084-12-12T12:41:28.831Z), so that
/// every position `ms << 18 | counter` up to the exhausted one (`MAX_TS + 1`) fits 64 bits. The
/// field holds 48 bits; `decompose` reads them all.
pub const MAX_TS: i64 = (1 << 45) - 1;
const RANDOM_MASK: u64 = (1 << RANDOM_BITS) - 1;
/// The longest text form (UUID, 36 bytes).
pub const TEXT_MAX: usize = 36;

/// How IDs are written in replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UidFormat {
    /// Canonical lowercase `8-4-4-4-12` (36 characters).
    #[default]
    Uuid,
    /// Crockford base32, 26 characters.
    Ulid,
    /// 32 lowercase hex digits.
    Hex,
    /// The 16 bytes, big-endian.
    Binary,
}

impl UidFormat {
    pub const ALL: [UidFormat; 4] = [
        UidFormat::Uuid,
        UidFormat::Ulid,
        UidFormat::Hex,
        UidFormat::Binary,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UidFormat::Uuid => "UUID",
            UidFormat::Ulid => "ULID",
            UidFormat::Hex => "HEX",
            UidFormat::Binary => "BINARY",
        }
    }

    /// The stored code (RDB): its position in `ALL`.
    pub fn code(self) -> u64 {
        Self::ALL.iter().position(|f| *f == self).unwrap_or(0) as u64
    }

    pub fn from_code(c: u64) -> Option<Self> {
        Self::ALL.get(usize::try_from(c).ok()?).copied()
    }

    /// The FORMAT option word (any case).
    pub fn parse(word: &[u8]) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|f| word.eq_ignore_ascii_case(f.name().as_bytes()))
            .ok_or(Error::UnknownUidFormat)
    }

    /// Writes `id` into `buf` in this format; returns the length. The hex forms write two digits
    /// a byte from a table (the reply path of every `UUID.NEXT`).
    pub fn encode(self, id: u128, buf: &mut [u8; TEXT_MAX]) -> usize {
        let bytes = id.to_be_bytes();
        match self {
            UidFormat::Hex => {
                hex_into(&bytes, &mut buf[..32]);
                32
            }
            UidFormat::Uuid => {
                // 8-4-4-4-12 digits: bytes 0..4, 4..6, 6..8, 8..10, 10..16.
                hex_into(&bytes[..4], &mut buf[..8]);
                buf[8] = b'-';
                hex_into(&bytes[4..6], &mut buf[9..13]);
                buf[13] = b'-';
                hex_into(&bytes[6..8], &mut buf[14..18]);
                buf[18] = b'-';
                hex_into(&bytes[8..10], &mut buf[19..23]);
                buf[23] = b'-';
                hex_into(&bytes[10..], &mut buf[24..36]);
                36
            }
            UidFormat::Ulid => {
                for (i, b) in buf.iter_mut().take(26).enumerate() {
                    *b = CROCKFORD[((id >> (5 * (25 - i))) & 31) as usize];
                }
                26
            }
            UidFormat::Binary => {
                buf[..16].copy_from_slice(&id.to_be_bytes());
                16
            }
        }
    }
}

/// The two lowercase hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    t
};

/// Writes `bytes` as lowercase hex into `out` (twice as long).
#[inline]
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[*b as usize]);
    }
}

/// Crockford's base32 alphabet (ascending in ASCII, so text order is numeric order).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn hex_digit(c: u8) -> Option<u128> {
    (c as char).to_digit(16).map(|d| d as u128)
}

fn crockford_digit(c: u8) -> Option<u128> {
    let c = c.to_ascii_uppercase();
    CROCKFORD.iter().position(|x| *x == c).map(|d| d as u128)
}

/// Reads an ID in any format, told apart by length: 36 (UUID, any case), 32 (HEX), 26 (ULID,
/// any case, first character at most `7`) or 16 (BINARY). Only a version-7 UUID with the RFC
/// variant is accepted (`NotUuid7` otherwise).
pub fn decode(text: &[u8]) -> Result<u128> {
    let id = match text.len() {
        36 => {
            let mut v = 0u128;
            for (i, c) in text.iter().enumerate() {
                if matches!(i, 8 | 13 | 18 | 23) {
                    if *c != b'-' {
                        return Err(Error::NotUuid7);
                    }
                } else {
                    v = v << 4 | hex_digit(*c).ok_or(Error::NotUuid7)?;
                }
            }
            v
        }
        32 => text.iter().try_fold(0u128, |v, c| {
            Ok::<_, Error>(v << 4 | hex_digit(*c).ok_or(Error::NotUuid7)?)
        })?,
        26 => {
            if crockford_digit(text[0]).ok_or(Error::NotUuid7)? > 7 {
                return Err(Error::NotUuid7);
            }
            text.iter().try_fold(0u128, |v, c| {
                Ok::<_, Error>(v << 5 | crockford_digit(*c).ok_or(Error::NotUuid7)?)
            })?
        }
        16 => u128::from_be_bytes(text.try_into().map_err(|_| Error::NotUuid7)?),
        _ => return Err(Error::NotUuid7),
    };
    if decompose(id).is_none() {
        return Err(Error::NotUuid7);
    }
    Ok(id)
}

/// The 128 bits of the ID at `(ms, counter)` for `worker`, with the low 46 bits of `random`.
pub fn compose(ms: i64, counter: u64, worker: i64, random: u64) -> u128 {
    (ms as u128) << 80
        | 0x7 << 76
        | ((counter >> 6) as u128) << 64
        | 0b10 << 62
        | ((counter & 0x3F) as u128) << 56
        | ((worker as u128) & 0x3FF) << 46
        | (random & RANDOM_MASK) as u128
}

/// `(unix ms, counter, worker)` of a version-7 RFC-variant ID, `None` for any other.
pub fn decompose(id: u128) -> Option<(i64, u64, i64)> {
    if (id >> 76) & 0xF != 7 || (id >> 62) & 0b11 != 0b10 {
        return None;
    }
    let ms = (id >> 80) as i64;
    let counter = (((id >> 64) & 0xFFF) as u64) << 6 | ((id >> 56) & 0x3F) as u64;
    let worker = ((id >> 46) & 0x3FF) as i64;
    Some((ms, counter, worker))
}

/// The state of one UUID key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidGen {
    format: UidFormat,
    /// The serving generation of the newest reservation this state reflects; opaque here.
    pub gen: u16,
    /// Fixed worker id, or `-1` for the serving node's `idgen.worker-id`.
    worker: i32,
    /// The next unused position, `ms << COUNTER_BITS | counter`.
    pos: u64,
    /// Exclusive ceiling on issued ms; replicated and persisted.
    pub mark: i64,
    /// Newest time known to be legitimate (the newest wall time seen, or a resume point).
    pub wall_seen: i64,
    /// The position of the last issued ID, `-1` before the first (or after a replicated move).
    last_pos: i64,
    pub ids_issued: u64,
    pub clock_behind: u32,
    /// Whether `wall_seen` is a resume point the clock has not reached (then a clock below it is
    /// no clock step).
    resumed: bool,
    pub borrowed_ms: u32,
}

/// What one successful `next` issued: `count` consecutive positions from `(ts, counter)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    pub ts: i64,
    pub counter: u64,
    pub count: u32,
    pub worker: i64,
    /// The mark was raised: the caller must replicate the reservation.
    pub advanced: bool,
    pub clock_behind: bool,
    pub borrowed_ms: u64,
}

impl Issued {
    /// The issued IDs in order, each with random bits from `random`.
    pub fn ids<'a>(
        &'a self,
        random: &'a mut impl FnMut() -> u64,
    ) -> impl Iterator<Item = u128> + 'a {
        let start = (self.ts as u64) << COUNTER_BITS | self.counter;
        (0..self.count as u64).map(move |i| {
            let p = start + i;
            compose(
                (p >> COUNTER_BITS) as i64,
                p & MAX_COUNTER,
                self.worker,
                random(),
            )
        })
    }
}

impl UuidGen {
    /// A new generator; `worker` must have been validated (`validate_worker`).
    pub fn new(format: UidFormat, worker: Option<i64>) -> Self {
        UuidGen {
            format,
            gen: 0,
            worker: worker.map_or(-1, |w| w as i32),
            pos: 0,
            mark: 0,
            wall_seen: 0,
            last_pos: -1,
            ids_issued: 0,
            clock_behind: 0,
            resumed: false,
            borrowed_ms: 0,
        }
    }

    pub fn format(&self) -> UidFormat {
        self.format
    }

    /// The fixed worker id, or `None` when the node's is used.
    pub fn worker(&self) -> Option<i64> {
        (self.worker >= 0).then_some(self.worker as i64)
    }

    pub fn validate_worker(worker: Option<i64>) -> Result<()> {
        match worker {
            Some(w) if !(0..=MAX_WORKER).contains(&w) => {
                Err(Error::OutOfRange("WORKER", 0, MAX_WORKER))
            }
            _ => Ok(()),
        }
    }

    /// The next unused position as (ms, counter).
    pub fn next_position(&self) -> (i64, u64) {
        ((self.pos >> COUNTER_BITS) as i64, self.pos & MAX_COUNTER)
    }

    /// The ms of the last issued ID, `-1` when unknown.
    pub fn last_ms(&self) -> i64 {
        if self.last_pos < 0 {
            -1
        } else {
            self.last_pos >> COUNTER_BITS
        }
    }

    /// Issues `count` IDs' positions. `now` is the wall clock (unix ms), `node_worker` the node's
    /// worker id, `max_borrow` how far (ms) the key may run ahead of the newest time it knows.
    /// `may_reserve` is asked first when the call reaches the mark; a refusal changes nothing.
    /// All or nothing: on error the state is unchanged.
    pub fn next_fenced(
        &mut self,
        now: i64,
        node_worker: i64,
        count: u32,
        max_borrow: i64,
        may_reserve: impl FnOnce() -> Result<()>,
    ) -> Result<Issued> {
        debug_assert!(count >= 1);
        let worker = self.worker().unwrap_or(node_worker);
        if !(0..=MAX_WORKER).contains(&worker) {
            return Err(Error::WorkerDoesNotFit {
                worker,
                bits: WORKER_BITS,
            });
        }
        let now = now.max(0);
        let max_borrow = max_borrow.max(0);
        let (mut ts, mut counter) = self.next_position();
        if now > ts {
            ts = now;
            counter = 0;
        }
        let end = counter + count as u64 - 1;
        let last_ts = ts + (end >> COUNTER_BITS) as i64;
        let base = now.max(self.wall_seen);
        reservation::check_take(last_ts, MAX_TS, base, max_borrow, self.mark, may_reserve)?;
        // Commit.
        let clock_behind = now < self.wall_seen && !self.resumed;
        let borrowed = (last_ts - base.max(self.last_ms())).max(0) as u64;
        let block = reservation::block_ms(now.saturating_sub(self.wall_seen));
        self.resumed = self.resumed && now < self.wall_seen;
        self.wall_seen = base;
        let start = (ts as u64) << COUNTER_BITS | counter;
        self.pos = start + count as u64;
        self.last_pos = (self.pos - 1) as i64;
        self.ids_issued += count as u64;
        self.clock_behind = self.clock_behind.saturating_add(clock_behind as u32);
        self.borrowed_ms = self
            .borrowed_ms
            .saturating_add(borrowed.min(u32::MAX as u64) as u32);
        let advanced = last_ts >= self.mark;
        if advanced {
            self.mark = (last_ts + block).min(MAX_TS + 1);
        }
        Ok(Issued {
            ts,
            counter,
            count,
            worker,
            advanced,
            clock_behind,
            borrowed_ms: borrowed,
        })
    }

    /// `next_fenced` without a fence.
    pub fn next(
        &mut self,
        now: i64,
        node_worker: i64,
        count: u32,
        max_borrow: i64,
    ) -> Result<Issued> {
        self.next_fenced(now, node_worker, count, max_borrow, || Ok(()))
    }

    /// Resumes above the mark plus `gap_ms`, and when `clock` is `Some((now, clock_gap_ms))`
    /// also above `now + clock_gap_ms` (see `Snowflake::resume_above`).
    pub fn resume_above(&mut self, gap_ms: i64, clock: Option<(i64, i64)>) {
        let floor = reservation::resume_floor(
            self.mark,
            gap_ms.max(0),
            clock.map(|(now, clock_gap)| now.max(0).saturating_add(clock_gap.max(0))),
            MAX_TS + 1,
        );
        if floor > self.next_position().0 {
            self.pos = (floor as u64) << COUNTER_BITS;
        }
        if floor > self.wall_seen {
            self.wall_seen = floor;
            self.resumed = true;
        }
    }

    pub fn resume(&mut self, gap_ms: i64) {
        self.resume_above(gap_ms, None);
    }

    /// Applies a replicated reservation: raises the mark and wall time seen (never lowers them)
    /// and moves the position up to the mark.
    pub fn apply_reservation(&mut self, mark: i64, wall_seen: i64) {
        self.mark = self.mark.max(mark.min(MAX_TS + 1));
        self.wall_seen = self.wall_seen.max(wall_seen);
        let before = self.pos;
        self.resume(0);
        if self.pos != before {
            self.last_pos = -1;
        }
    }

    /// Decomposes an ID into (unix ms, counter, worker); refuses one of another worker when the
    /// key has a fixed one.
    pub fn parse(&self, id: u128) -> Result<(i64, u64, i64)> {
        let (ms, counter, worker) = decompose(id).ok_or(Error::NotUuid7)?;
        if matches!(self.worker(), Some(w) if w != worker) {
            return Err(Error::ForeignId);
        }
        Ok((ms, counter, worker))
    }

    /// The persisted fields, in `from_parts` order (after the format).
    #[allow(clippy::type_complexity)]
    pub fn parts(&self) -> (i64, u64, i64, i64, i64, u64, u32, bool, u32, u16) {
        (
            self.worker as i64,
            self.pos,
            self.mark,
            self.wall_seen,
            self.last_pos,
            self.ids_issued,
            self.clock_behind,
            self.resumed,
            self.borrowed_ms,
            self.gen,
        )
    }

    /// Rebuilds a generator from persisted fields, checking every one; `Err` names the first
    /// field out of range.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        format: UidFormat,
        worker: i64,
        pos: u64,
        mark: i64,
        wall_seen: i64,
        last_pos: i64,
        ids_issued: u64,
        clock_behind: u32,
        resumed: bool,
        borrowed_ms: u32,
        gen: u16,
    ) -> std::result::Result<Self, &'static str> {
        let ok = |c: bool, f: &'static str| if c { Ok(()) } else { Err(f) };
        let fixed = (worker != -1).then_some(worker);
        Self::validate_worker(fixed).map_err(|_| "worker")?;
        ok(pos <= ((MAX_TS + 1) as u64) << COUNTER_BITS, "position")?;
        ok((0..=MAX_TS + 1).contains(&mark), "mark")?;
        ok(wall_seen >= 0, "wall_seen")?;
        // In i128: the exhausted position, (MAX_TS + 1) << COUNTER_BITS, is 2^63.
        ok(
            last_pos >= -1 && (last_pos as i128) < pos as i128,
            "last position",
        )?;
        ok(
            last_pos < 0 || (last_pos >> COUNTER_BITS) < mark,
            "mark below last id",
        )?;
        let mut s = UuidGen::new(format, fixed);
        s.pos = pos;
        s.mark = mark;
        s.wall_seen = wall_seen;
        s.last_pos = last_pos;
        s.ids_issued = ids_issued;
        s.clock_behind = clock_behind;
        s.resumed = resumed;
        s.borrowed_ms = borrowed_ms;
        s.gen = gen;
        Ok(s)
    }
}

#[cfg(test)]
mod tests;
