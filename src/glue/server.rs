//! The server the module runs on (Redis 7.0, Redis 8, Valkey 9, ...) and what differs between
//! them, detected at load and logged once: never decided by version numbers where the API can
//! be probed (a missing API is a NULL pointer in the module API table).
//!
//! Known differences and how the module handles them:
//! - ACL categories: `SetCommandACLCategories` (Redis 7.2+, Valkey) and `AddACLCategory` (Redis
//!   7.4+, Valkey) are probed in `glue::acl`; without them the commands are in no category.
//! - Server events: Redis and Valkey number the events alike up to 17 and differently from 18
//!   (Redis: cluster slot migration and trim; Valkey: authentication attempt and atomic slot
//!   migration). The module subscribes only to events below 18 (checked at compile time in
//!   `glue::serving`), so each ID means the same on both.
//! - The command clock: `RedisModule_CachedMicroseconds` (Redis 7.2+, Valkey) gives the time the
//!   server read for the command; on 7.0 the module reads the clock itself (`glue::clock`).
//! - Valkey reports `redis_version:7.2.4` (its Redis-compatibility level) beside
//!   `valkey_version`; the name and version logged here come from `server_name` and
//!   `valkey_version` when present.

use std::ffi::c_char;

use redis_module::raw;

use super::ffi::{api, api_opt, log};

/// The name and version of the server, from `INFO server`: `valkey 9.1.2 (redis_version
/// 7.2.4)` or `redis 8.2.3`; `None` if the server would not tell.
pub fn name_and_version(ctx: *mut raw::RedisModuleCtx) -> Option<String> {
    let text = info_server(ctx)?;
    let field = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|r| r.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        })
    };
    let redis_version = field("redis_version")?;
    Some(match (field("server_name"), field("valkey_version")) {
        (Some(name), Some(v)) => format!("{name} {v} (redis_version {redis_version})"),
        (Some(name), None) => format!("{name} {redis_version}"),
        (None, _) => format!("redis {redis_version}"),
    })
}

/// `INFO server` through `RedisModule_Call`, as text.
fn info_server(ctx: *mut raw::RedisModuleCtx) -> Option<String> {
    let call = api_opt!(RedisModule_Call)?;
    // SAFETY: init's context; the format `c` takes one C string, passed; the reply is freed
    // below.
    let reply = unsafe { call(ctx, c"INFO".as_ptr(), c"c".as_ptr(), c"server".as_ptr()) };
    if reply.is_null() {
        return None;
    }
    let mut len = 0usize;
    // SAFETY: a live reply; the pointer (NULL for a non-string reply) is valid until the reply
    // is freed, and the bytes are copied before that.
    let text = unsafe {
        let p: *const c_char = api!(RedisModule_CallReplyStringPtr)(reply, &mut len);
        let t = (!p.is_null())
            .then(|| String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)))
            .map(|t| t.into_owned());
        api!(RedisModule_FreeCallReply)(reply);
        t
    };
    text
}

/// Logs, once at load, the server and what the module detected about it.
pub fn log_detected(ctx: *mut raw::RedisModuleCtx) {
    let server = name_and_version(ctx).unwrap_or_else(|| "an unknown server".to_string());
    log(
        ctx,
        c"notice",
        &format!(
            "running on {server}; {}; server events: {} (IDs numbered alike on Redis and \
             Valkey); keyspace events in the module class; command clock: {}",
            super::acl::describe(),
            super::serving::EVENT_NAMES,
            super::clock::command_clock().to_string_lossy()
        ),
    );
}
