//! The panic barrier: every function Redis calls into (commands, type methods, server events,
//! timers, INFO, config callbacks) runs behind one, so that a bug becomes a log line (and, for a
//! command, an error reply) instead of aborting Redis.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::ffi::log;

/// Runs `f`; if it panics, logs `what` with the panic message and returns `fallback`.
pub fn barrier<R>(what: &str, fallback: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            log(
                std::ptr::null_mut(),
                c"warning",
                &format!("panic in {what}: {}", message(&*panic)),
            );
            fallback
        }
    }
}

/// The text of a panic payload.
pub fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}
