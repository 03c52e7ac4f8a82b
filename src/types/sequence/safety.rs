//! The sequence type's safety gap: how far a sequence resumes above its mark after a load or a
//! promotion (the safety jump, `glue::safety`), from its recent rate. Applied in its
//! `Generator::resume_gaps`.

use crate::core::fence;
use crate::core::sequence as seq;
use crate::glue::config;
use crate::glue::safety::fence_window_ms;

/// The history (ms) a sequence's resume gap covers: the safety window, and with the fence on the
/// stretch a cut-off old primary can issue that the promoted replica never saw: the lag its
/// replica may have been behind while the fence was open (`reserve-max-lag-ms` plus the
/// judgment's age), the fence's window after the cut, and the last block it reserved
/// (`BLOCK_WINDOW_MS` of its rate).
pub fn window_ms(window: i64) -> i64 {
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
pub fn gap_steps(rate_per_sec: u32, range_steps: u128) -> u64 {
    match config::safety() {
        Some((window, min_gap)) => {
            let window = window_ms(window);
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
    use crate::glue::safety::TEST_SETTINGS;
    use std::sync::atomic::Ordering;

    #[test]
    fn gaps_follow_the_settings() {
        let _one = TEST_SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        config::SAFETY_JUMP.store(true, Ordering::Relaxed);
        let big = u64::MAX as u128;
        assert_eq!(gap_steps(0, big), 1000);
        assert_eq!(gap_steps(50_000, big), 200_000);
        assert_eq!(gap_steps(u32::MAX, big), u32::MAX as u64 * 4);
        // A small range gets a small floor.
        assert_eq!(gap_steps(0, 100), 1);
        assert_eq!(gap_steps(0, 20_000), 200);
        config::SAFETY_JUMP.store(false, Ordering::Relaxed);
        assert_eq!(gap_steps(50_000, big), 0);
        config::SAFETY_JUMP.store(true, Ordering::Relaxed);
    }

    #[test]
    fn the_fence_widens_the_gap() {
        let _one = TEST_SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        config::RESERVE_MIN_REPLICAS.store(1, Ordering::Relaxed);
        config::RESERVE_MAX_LAG_MS.store(2000, Ordering::Relaxed);
        // Twice the rate over lag + stale + W + one block window: 2 x 6.6 s of the rate.
        assert_eq!(window_ms(2000), 2000 + 300 + 3300 + 1000);
        assert_eq!(gap_steps(1000, u64::MAX as u128), 13_200);
        config::RESERVE_MIN_REPLICAS.store(0, Ordering::Relaxed);
        assert_eq!(window_ms(2000), 2000);
    }
}
