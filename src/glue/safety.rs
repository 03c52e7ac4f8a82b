//! The safety jump. A node that takes generator state from a load (RDB, AOF, RESTORE) or from
//! replication may know less history than was issued: `appendfsync everysec` can lose the last
//! second of the AOF, and a replica lags its primary, so the newest reservation may be missing.
//! So state that arrives from outside resumes above its mark plus a gap covering that window,
//! at the moment it arrives: O(1) per key, and nothing scans the keyspace at a load or a
//! promotion. A promoted replica therefore serves above everything its old primary issued in the
//! window, and a restarted node above everything it issued before the crash.

use super::config;

/// The gap, in ms, a snowflake generator leaves above its mark when it resumes: the window of
/// history that may have been lost, plus how far the generator may have borrowed ahead of the
/// clock in that window.
pub fn snowflake_gap_ms() -> i64 {
    match config::safety() {
        Some((window, _)) => window.saturating_add(config::max_borrow_ms()),
        None => 0,
    }
}

/// The gap, in steps, a sequence of `range_steps` steps leaves above its mark when it resumes:
/// twice its recent rate times the window (room for a rate that doubles within the window), at
/// least the configured minimum, but that minimum at most 1% of the range (at least one step),
/// so that a restart does not use up a small sequence. A burst larger than this inside the lost
/// window is not covered: the reservations that recorded it are what was lost.
pub fn sequence_gap_steps(rate_per_sec: u32, range_steps: u128) -> u64 {
    match config::safety() {
        Some((window, min_gap)) => {
            let by_rate = (2 * rate_per_sec as u128 * window as u128 / 1000).min(u64::MAX as u128);
            let floor = (min_gap as u128).min((range_steps / 100).max(1));
            by_rate.max(floor) as u64
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn gaps_follow_the_settings() {
        config::SAFETY_JUMP.store(true, Ordering::Relaxed);
        assert_eq!(snowflake_gap_ms(), 2000 + 1000);
        let big = u64::MAX as u128;
        assert_eq!(sequence_gap_steps(0, big), 1000);
        assert_eq!(sequence_gap_steps(50_000, big), 200_000);
        assert_eq!(sequence_gap_steps(u32::MAX, big), u32::MAX as u64 * 4);
        // A small range gets a small floor.
        assert_eq!(sequence_gap_steps(0, 100), 1);
        assert_eq!(sequence_gap_steps(0, 20_000), 200);
        config::SAFETY_JUMP.store(false, Ordering::Relaxed);
        assert_eq!(snowflake_gap_ms(), 0);
        assert_eq!(sequence_gap_steps(50_000, big), 0);
        config::SAFETY_JUMP.store(true, Ordering::Relaxed);
    }
}
