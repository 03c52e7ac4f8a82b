//! The snowflake type's safety gaps: how far a generator resumes above its mark, and above the
//! clock, after a load or a promotion (the safety jump, `glue::safety`). Applied in its
//! `Generator::resume_gaps`.

use crate::core::snowflake as sf;
use crate::glue::config;
use crate::glue::safety::fence_window_ms;

/// The gap, in ms, a snowflake generator leaves above its mark when it resumes: the window of
/// history that may have been lost, plus how far the generator may have borrowed ahead of the
/// clock in that window.
pub fn gap_ms() -> i64 {
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
pub fn clock_gap_ms() -> i64 {
    match config::safety() {
        Some(_) => config::max_borrow_ms()
            .saturating_add(sf::MAX_BLOCK_MS)
            .saturating_add(fence_window_ms().unwrap_or(0)),
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
        assert_eq!(gap_ms(), 2000 + 1000);
        assert_eq!(clock_gap_ms(), 1000 + 1000);
        config::SAFETY_JUMP.store(false, Ordering::Relaxed);
        assert_eq!(gap_ms(), 0);
        config::SAFETY_JUMP.store(true, Ordering::Relaxed);
    }

    #[test]
    fn the_fence_widens_the_gaps() {
        let _one = TEST_SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        config::RESERVE_MIN_REPLICAS.store(1, Ordering::Relaxed);
        config::RESERVE_MAX_LAG_MS.store(2000, Ordering::Relaxed);
        // From the mark: the window and the borrow; from the clock: W + max-borrow + one block.
        assert_eq!(gap_ms(), 2000 + 1000);
        assert_eq!(clock_gap_ms(), 3300 + 1000 + 1000);
        config::RESERVE_MIN_REPLICAS.store(0, Ordering::Relaxed);
    }
}
