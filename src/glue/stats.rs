//! Module-wide counters shown in `INFO idgen`.

use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, Ordering};

use redis_module::raw;

use super::ffi::api;

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

/// The `INFO idgen` callback.
pub extern "C" fn info(ctx: *mut raw::RedisModuleInfoCtx, for_crash_report: i32) {
    super::barrier::barrier("INFO", (), || fill_info(ctx, for_crash_report))
}

fn fill_info(ctx: *mut raw::RedisModuleInfoCtx, _for_crash_report: i32) {
    let fields: [(&CStr, u64); 17] = [
        (c"snowflake_ids_issued", SNOWFLAKE_IDS.get()),
        (c"seq_values_issued", SEQ_VALUES.get()),
        (c"clock_behind", CLOCK_BEHIND.get()),
        (c"borrowed_ms", BORROWED_MS.get()),
        (c"refusals", REFUSALS.get()),
        (c"reservations", RESERVATIONS.get()),
        (c"resumes", RESUMES.get()),
        (c"pool_grants", POOL_GRANTS.get()),
        (c"pool_renewals", POOL_RENEWALS.get()),
        (c"pool_releases", POOL_RELEASES.get()),
        (c"pool_expiries", POOL_EXPIRIES.get()),
        (c"worker_id", super::config::worker_id() as u64),
        (c"generation", super::serving::current_full()),
        (
            c"fence_min_replicas",
            super::config::reserve_min_replicas() as u64,
        ),
        (c"fence_replicas_acked", super::fence::acked_now() as u64),
        (c"fence_open", super::fence::open() as u64),
        (c"fence_refusals", FENCE_REFUSALS.get()),
    ];
    let (peers, clashes, clash_nodes) = super::cluster::info_fields();
    let clash_nodes = std::ffi::CString::new(clash_nodes).unwrap_or_default();
    // SAFETY: the INFO context Redis passed to the callback; names are static C strings and
    // the value strings NUL-terminated (Redis copies them).
    unsafe {
        api!(RedisModule_InfoAddSection)(ctx, c"".as_ptr());
        for (name, v) in fields {
            api!(RedisModule_InfoAddFieldULongLong)(ctx, name.as_ptr(), v);
        }
        api!(RedisModule_InfoAddFieldULongLong)(ctx, c"worker_peers".as_ptr(), peers);
        api!(RedisModule_InfoAddFieldULongLong)(ctx, c"worker_clashes".as_ptr(), clashes);
        api!(RedisModule_InfoAddFieldCString)(
            ctx,
            c"worker_clash_nodes".as_ptr(),
            clash_nodes.as_ptr(),
        );
        // Where the generators' time comes from on this server (`glue::clock`).
        api!(RedisModule_InfoAddFieldCString)(
            ctx,
            c"command_clock".as_ptr(),
            super::clock::command_clock().as_ptr(),
        );
        // What the module could do about ACL categories on this server (`glue::acl`).
        api!(RedisModule_InfoAddFieldCString)(
            ctx,
            c"acl_categories".as_ptr(),
            super::acl::support().as_cstr().as_ptr(),
        );
        let category = if super::acl::module_category_added() {
            super::acl::MODULE_CATEGORY
        } else {
            c"none"
        };
        api!(RedisModule_InfoAddFieldCString)(
            ctx,
            c"acl_module_category".as_ptr(),
            category.as_ptr(),
        );
        // What the server's role and persistence let the module promise (`glue::persistence`).
        let mode = super::persistence::mode();
        for (name, text) in [
            (c"persistence", mode.name()),
            (c"never_twice", mode.never_twice()),
            (c"unsafe_persistence", super::persistence::policy()),
            (c"issuing", super::persistence::issuing()),
        ] {
            let text = std::ffi::CString::new(text).unwrap_or_default();
            api!(RedisModule_InfoAddFieldCString)(ctx, name.as_ptr(), text.as_ptr());
        }
        api!(RedisModule_InfoAddFieldULongLong)(
            ctx,
            c"replica_refusals".as_ptr(),
            REPLICA_REFUSALS.get(),
        );
        api!(RedisModule_InfoAddFieldULongLong)(
            ctx,
            c"persistence_refusals".as_ptr(),
            PERSISTENCE_REFUSALS.get(),
        );
    }
}
