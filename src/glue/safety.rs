//! The safety jump. A node that takes generator state from a load (RDB, AOF, RESTORE) or from
//! replication may know less history than was issued: `appendfsync everysec` can lose the last
//! second of the AOF, and a replica lags its primary, so the newest reservation may be missing.
//! So state that arrives from outside resumes above its mark plus a gap covering that window,
//! at the moment it arrives: O(1) per key, and nothing scans the keyspace at a load or a
//! promotion. A promoted replica therefore serves above everything its old primary issued in the
//! window, and a restarted node above everything it issued before the crash.

use super::config;
use crate::core::fence;
use crate::core::sequence as seq;
use crate::core::snowflake as sf;

/// The gap, in ms, a snowflake generator leaves above its mark when it resumes: the window of
/// history that may have been lost, plus how far the generator may have borrowed ahead of the
/// clock in that window.
pub fn snowflake_gap_ms() -> i64 {
    match config::safety() {
        Some((window, _)) => window.saturating_add(config::max_borrow_ms()),
        None => 0,
    }
}

/// The gap, in ms, a resumed snowflake generator also leaves above the clock (whatever its
/// mark: an idle key's mark is old). A reservation that was lost (a cut AOF tail, a replica
/// behind, a fenced primary cut off) was made at a clock no later than this node's clock at the
/// resume (plus, with the fence on, the fence's window `W` after the cut: a promotion can come
/// sooner than that), and reached at most `max-borrow-ms` plus one block (`MAX_BLOCK_MS`)
/// above its clock. Assumes the nodes' clocks agree to well within this gap.
pub fn snowflake_clock_gap_ms() -> i64 {
    match config::safety() {
        Some(_) => config::max_borrow_ms()
            .saturating_add(sf::MAX_BLOCK_MS)
            .saturating_add(fence_window_ms().unwrap_or(0)),
        None => 0,
    }
}

/// With the fence on, the longest a primary may go on reserving after its replicas stopped
/// acknowledging it (`core::fence::window_ms`); `None` when the fence is off.
pub fn fence_window_ms() -> Option<i64> {
    (config::reserve_min_replicas() > 0).then(|| fence::window_ms(config::reserve_max_lag_ms()))
}

/// The history (ms) a sequence's resume gap covers: the safety window, and with the fence on the
/// stretch a cut-off old primary can issue that the promoted replica never saw: the lag its
/// replica may have been behind while the fence was open (`reserve-max-lag-ms` plus the
/// judgment's age), the fence's window after the cut, and the last block it reserved
/// (`BLOCK_WINDOW_MS` of its rate).
pub fn sequence_window_ms(window: i64) -> i64 {
    match fence_window_ms() {
        Some(w) => window.max(
            config::reserve_max_lag_ms()
                .saturating_add(fence::STALE_MS)
                .saturating_add(w)
                .saturating_add(seq::BLOCK_WINDOW_MS as i64),
        ),
        None => window,
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
            let window = sequence_window_ms(window);
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

    /// The settings are process-wide: the tests that change them run one at a time.
    static SETTINGS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn gaps_follow_the_settings() {
        let _one = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        config::SAFETY_JUMP.store(true, Ordering::Relaxed);
        assert_eq!(snowflake_gap_ms(), 2000 + 1000);
        assert_eq!(snowflake_clock_gap_ms(), 1000 + 1000);
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

    #[test]
    fn the_fence_widens_the_gaps() {
        let _one = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        config::RESERVE_MIN_REPLICAS.store(1, Ordering::Relaxed);
        config::RESERVE_MAX_LAG_MS.store(2000, Ordering::Relaxed);
        let w = fence::window_ms(2000);
        assert_eq!(w, 3300);
        assert_eq!(fence_window_ms(), Some(3300));
        // From the mark: the window and the borrow; from the clock: W + max-borrow + one block.
        assert_eq!(snowflake_gap_ms(), 2000 + 1000);
        assert_eq!(snowflake_clock_gap_ms(), 3300 + 1000 + 1000);
        // Twice the rate over lag + stale + W + one block window: 2 x 6.6 s of the rate.
        assert_eq!(sequence_window_ms(2000), 2000 + 300 + 3300 + 1000);
        assert_eq!(sequence_gap_steps(1000, u64::MAX as u128), 13_200);
        config::RESERVE_MIN_REPLICAS.store(0, Ordering::Relaxed);
        assert_eq!(fence_window_ms(), None);
        assert_eq!(sequence_window_ms(2000), 2000);
    }
}
