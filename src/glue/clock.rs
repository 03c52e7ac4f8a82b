//! The wall clock the generators are given. Only this file reads the system clock.
//!
//! With the cargo feature `test-clock` (test builds only, never a release build) the module also
//! registers `IDGEN.DEBUG-CLOCK [offset-ms]`, which shifts this clock so that tests can step it
//! backwards and forwards while Redis runs.

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let ms = ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000;
    #[cfg(feature = "test-clock")]
    let ms = ms + test_clock::OFFSET_MS.load(std::sync::atomic::Ordering::Relaxed);
    ms
}

/// Monotonic milliseconds (not shifted by the test clock): for timing the module's own timers,
/// such as the age of the reservation fence's judgment.
pub fn mono_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

#[cfg(feature = "test-clock")]
pub mod test_clock {
    use std::sync::atomic::{AtomicI64, Ordering};

    use crate::error::{Error, Result};
    use crate::glue::ffi::{int, Ctx, RStr};

    pub static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

    /// IDGEN.DEBUG-CLOCK [offset-ms]: sets the offset added to the wall clock (when given) and
    /// replies with the offset in force.
    pub fn debug_clock(ctx: &Ctx, args: &[RStr]) -> Result<()> {
        match args.len() {
            1 => {}
            2 => OFFSET_MS.store(int(args[1])?, Ordering::Relaxed),
            _ => return Err(Error::Arity),
        }
        ctx.reply_int(OFFSET_MS.load(Ordering::Relaxed));
        Ok(())
    }
}
