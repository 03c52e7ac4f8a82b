//! The `INFO idgen` section: the module-wide counters (`glue::stats`) and what the module reads
//! from its settings, serving generation, reservation fence, cluster peers, clock, ACL support,
//! and what the server's role and persistence let it promise. It sits above everything it reads, so none of them depends on it; `lib.rs` registers
//! it.

use std::ffi::CStr;

use redis_module::raw;

use crate::glue::barrier::barrier;
use crate::glue::ffi::api;
use crate::glue::stats::{
    BORROWED_MS, CLOCK_BEHIND, FENCE_REFUSALS, PERSISTENCE_REFUSALS, POOL_EXPIRIES, POOL_GRANTS,
    POOL_RELEASES, POOL_RENEWALS, REFUSALS, REPLICA_REFUSALS, RESERVATIONS, RESUMES, SEQ_VALUES,
    SNOWFLAKE_IDS, UUID_IDS,
};
use crate::glue::{acl, clock, cluster, config, eviction, fence, persistence, serving};

/// The `INFO idgen` callback.
pub extern "C" fn info(ctx: *mut raw::RedisModuleInfoCtx, for_crash_report: i32) {
    barrier("INFO", (), || fill_info(ctx, for_crash_report))
}

fn fill_info(ctx: *mut raw::RedisModuleInfoCtx, _for_crash_report: i32) {
    let fields: [(&CStr, u64); 18] = [
        (c"snowflake_ids_issued", SNOWFLAKE_IDS.get()),
        (c"seq_values_issued", SEQ_VALUES.get()),
        (c"uuid_ids_issued", UUID_IDS.get()),
        (c"clock_behind", CLOCK_BEHIND.get()),
        (c"borrowed_ms", BORROWED_MS.get()),
        (c"refusals", REFUSALS.get()),
        (c"reservations", RESERVATIONS.get()),
        (c"resumes", RESUMES.get()),
        (c"pool_grants", POOL_GRANTS.get()),
        (c"pool_renewals", POOL_RENEWALS.get()),
        (c"pool_releases", POOL_RELEASES.get()),
        (c"pool_expiries", POOL_EXPIRIES.get()),
        (c"worker_id", config::worker_id() as u64),
        (c"generation", serving::current_full()),
        (c"fence_min_replicas", config::reserve_min_replicas() as u64),
        (c"fence_replicas_acked", fence::acked_now() as u64),
        (c"fence_open", fence::open() as u64),
        (c"fence_refusals", FENCE_REFUSALS.get()),
    ];
    let (peers, clashes, clash_nodes) = cluster::info_fields();
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
            clock::command_clock().as_ptr(),
        );
        // What the module could do about ACL categories on this server (`glue::acl`).
        api!(RedisModule_InfoAddFieldCString)(
            ctx,
            c"acl_categories".as_ptr(),
            acl::support().as_cstr().as_ptr(),
        );
        let category = if acl::module_category_added() {
            acl::MODULE_CATEGORY
        } else {
            c"none"
        };
        api!(RedisModule_InfoAddFieldCString)(
            ctx,
            c"acl_module_category".as_ptr(),
            category.as_ptr(),
        );
        // What the server's role and persistence let the module promise (`glue::persistence`).
        let mode = persistence::mode();
        for (name, text) in [
            (c"persistence", mode.name()),
            (c"never_twice", mode.never_twice()),
            (c"unsafe_persistence", persistence::policy()),
            (c"issuing", persistence::issuing()),
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
        // Evicted generators and their records (`glue::eviction`).
        let (policy, evictable) = eviction::policy();
        let policy = std::ffi::CString::new(policy).unwrap_or_default();
        api!(RedisModule_InfoAddFieldCString)(ctx, c"maxmemory_policy".as_ptr(), policy.as_ptr());
        let (held, bytes, dropped) = eviction::info_numbers();
        for (name, v) in [
            (c"eviction_possible", evictable as u64),
            (c"evicted_generators", eviction::EVICTED.get()),
            (c"revived_generators", eviction::REVIVED.get()),
            (c"eviction_records", held),
            (c"eviction_records_bytes", bytes),
            (c"eviction_records_dropped", dropped),
        ] {
            api!(RedisModule_InfoAddFieldULongLong)(ctx, name.as_ptr(), v);
        }
    }
}
