//! The reservation rules the time-ordered generators share (`snowflake`, `uuid`): how big a block
//! a mark advance reserves, and where a generator resumes after a load, a promotion or a
//! replicated reservation, and whether a take may go ahead. Each generator counts in its own
//! ticks; these work in any.

use crate::error::{Error, Result};

/// Reservation block bounds (ms of timestamp reserved per mark advance; at least one tick).
pub const MIN_BLOCK_MS: i64 = 50;
pub const MAX_BLOCK_MS: i64 = 1_000;
/// A mark advance reserves `MAX_BLOCK_MS` when the previous call came within this long (a busy
/// key), else `MIN_BLOCK_MS`.
pub const BUSY_INTERVAL_MS: i64 = 250;

/// The block (ms) a mark advance reserves, for a key whose previous call was `idle_ms` ago.
#[inline(always)]
pub fn block_ms(idle_ms: i64) -> i64 {
    if idle_ms <= BUSY_INTERVAL_MS {
        MAX_BLOCK_MS
    } else {
        MIN_BLOCK_MS
    }
}

/// Where a generator resumes (in its ticks): `gap` above its mark, and at or above
/// `clock_floor` (the clock plus its gap) when given, never past `end` (the exhausted tick).
#[inline]
pub fn resume_floor(mark: i64, gap: i64, clock_floor: Option<i64>, end: i64) -> i64 {
    let floor = mark.saturating_add(gap);
    clock_floor.map_or(floor, |c| floor.max(c)).min(end)
}

/// Whether a take whose last tick is `last_ts` may go ahead, before anything changes: within the
/// time bits (`max_ts`), at most `max_borrow` ahead of `base` (the newer of the clock and the wall
/// time the key has seen), and, when it reaches `mark`, with the reservation fence's consent.
#[inline]
pub fn check_take(
    last_ts: i64,
    max_ts: i64,
    base: i64,
    max_borrow: i64,
    mark: i64,
    may_reserve: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if last_ts > max_ts {
        return Err(Error::TimeBitsExhausted);
    }
    if last_ts > base.saturating_add(max_borrow) {
        return Err(Error::BorrowLimit(max_borrow));
    }
    if last_ts >= mark {
        may_reserve()?;
    }
    Ok(())
}
