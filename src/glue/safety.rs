//! The safety jump, its generic part. A node that takes generator state from a load (RDB, AOF,
//! RESTORE) or from replication may know less history than was issued: `appendfsync everysec`
//! can lose the last second of the AOF, and a replica lags its primary, so the newest reservation
//! may be missing. So state that arrives from outside resumes above its mark plus a gap covering
//! that window, at the moment it arrives: O(1) per key, and nothing scans the keyspace at a load
//! or a promotion. A promoted replica therefore serves above everything its old primary issued in
//! the window, and a restarted node above everything it issued before the crash.
//!
//! How large a gap is depends on the type: each type computes its own in its folder
//! (`types/snowflake/safety.rs`, `types/sequence/safety.rs`) and applies it in
//! `Generator::resume_gaps`. What they share is here: the settings (`config::safety`) and the
//! fence's window.

use super::config;
use crate::core::fence;

/// With the fence on, the longest a primary may go on reserving after its replicas stopped
/// acknowledging it (`core::fence::window_ms`); `None` when the fence is off.
pub fn fence_window_ms() -> Option<i64> {
    (config::reserve_min_replicas() > 0).then(|| fence::window_ms(config::reserve_max_lag_ms()))
}

/// The settings are process-wide: the unit tests that change them (here and in the types'
/// `safety` files) hold this lock, one at a time.
#[cfg(test)]
pub static TEST_SETTINGS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn the_fence_window_follows_the_settings() {
        let _one = TEST_SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        config::RESERVE_MIN_REPLICAS.store(1, Ordering::Relaxed);
        config::RESERVE_MAX_LAG_MS.store(2000, Ordering::Relaxed);
        let w = fence::window_ms(2000);
        assert_eq!(w, 3300);
        assert_eq!(fence_window_ms(), Some(3300));
        config::RESERVE_MIN_REPLICAS.store(0, Ordering::Relaxed);
        assert_eq!(fence_window_ms(), None);
    }
}
