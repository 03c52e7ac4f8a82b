//! Module-wide counters, shown in `INFO idgen` (`crate::info`). Only the counters: this file
//! reads nothing else, so every layer of glue may count into it.

use std::sync::atomic::{AtomicU64, Ordering};

pub struct Counter(AtomicU64);

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Counter {
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    /// Commands run on the Redis main thread only, so a plain load and store suffices (no
    /// locked read-modify-write on the hot path).
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub static SNOWFLAKE_IDS: Counter = Counter::new();
pub static SEQ_VALUES: Counter = Counter::new();
pub static UUID_IDS: Counter = Counter::new();
pub static CLOCK_BEHIND: Counter = Counter::new();
pub static BORROWED_MS: Counter = Counter::new();
pub static REFUSALS: Counter = Counter::new();
pub static RESERVATIONS: Counter = Counter::new();
pub static RESUMES: Counter = Counter::new();
pub static POOL_GRANTS: Counter = Counter::new();
pub static POOL_RENEWALS: Counter = Counter::new();
pub static POOL_RELEASES: Counter = Counter::new();
pub static POOL_EXPIRIES: Counter = Counter::new();
/// Calls refused by the reservation fence (`NOREPLICAS`).
pub static FENCE_REFUSALS: Counter = Counter::new();
/// Client writes refused on a replica (`READONLY`).
pub static REPLICA_REFUSALS: Counter = Counter::new();
/// Calls refused for want of AOF (`MISCONF`).
pub static PERSISTENCE_REFUSALS: Counter = Counter::new();
