//! The calling context of a command, timer or event callback: its flags (where a command comes
//! from), keyspace notifications and logging through it.

use std::ffi::CStr;

use redis_module::raw;

use super::api::api;
use super::log::log;

pub type RStr = *mut raw::RedisModuleString;

/// The calling context of one command (or of a timer or event callback).
pub struct Ctx(pub *mut raw::RedisModuleCtx);

impl Ctx {
    pub fn flags(&self) -> u32 {
        // SAFETY: `self.0` is the context Redis passed to this callback.
        unsafe { api!(RedisModule_GetContextFlags)(self.0) as u32 }
    }

    /// The command came over the primary's replication link or from the AOF, not from a client.
    pub fn is_replicated_or_loading(&self) -> bool {
        self.flags() & (raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING)
            != 0
    }

    /// Emits keyspace event `event` (module class, `d` in `notify-keyspace-events`) on `key`.
    pub fn notify(&self, event: &CStr, key: RStr) {
        // SAFETY: a command context; `event` is NUL-terminated and `key` an argument of the
        // running command; Redis copies both.
        unsafe {
            api!(RedisModule_NotifyKeyspaceEvent)(
                self.0,
                raw::REDISMODULE_NOTIFY_MODULE,
                event.as_ptr(),
                key,
            )
        };
    }

    /// A server setting as `CONFIG GET name` reports it.
    pub fn config_get(&self, name: &CStr) -> Option<String> {
        // SAFETY: a context Redis passed to a callback or init; the format names two C strings,
        // both NUL-terminated and alive for the call; the reply is freed below.
        let reply = unsafe {
            api!(RedisModule_Call)(
                self.0,
                c"CONFIG".as_ptr(),
                c"cc".as_ptr(),
                c"GET".as_ptr(),
                name.as_ptr(),
            )
        };
        if reply.is_null() {
            return None;
        }
        // SAFETY: `reply` is the live reply of the call above: CONFIG GET answers a flat array
        // of name and value (a map under RESP3 is not what RedisModule_Call asks for by
        // default).
        unsafe {
            let v = api!(RedisModule_CallReplyArrayElement)(reply, 1);
            let mut len = 0usize;
            let p = if v.is_null() {
                std::ptr::null()
            } else {
                api!(RedisModule_CallReplyStringPtr)(v, &mut len)
            };
            let out = (!p.is_null()).then(|| {
                String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len))
                    .into_owned()
            });
            api!(RedisModule_FreeCallReply)(reply);
            out
        }
    }

    /// The database the context has selected.
    pub fn db(&self) -> i32 {
        // SAFETY: `self.0` is the context Redis passed to this callback.
        unsafe { api!(RedisModule_GetSelectedDb)(self.0) }
    }

    pub fn log_warning(&self, msg: &str) {
        log(self.0, c"warning", msg);
    }
}
