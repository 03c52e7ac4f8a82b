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

    pub fn log_warning(&self, msg: &str) {
        log(self.0, c"warning", msg);
    }
}
