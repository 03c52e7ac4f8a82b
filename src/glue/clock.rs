//! The wall clock the generators are given, and a monotonic one for ages. Only this file reads
//! the system clock (or the server's reading of it).
//!
//! With the cargo feature `test-clock` (test builds only, never a release build) the module also
//! registers `IDGEN.DEBUG-CLOCK [offset-ms]`, which shifts this clock so that tests can step it
//! backwards and forwards while Redis runs.

use std::cell::Cell;

use super::ffi::api_opt;
use crate::core::Now;

/// Unix time in milliseconds, read now.
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

/// The time of the command being run, unix ms: the server's own reading for it where the server
/// offers one (`RedisModule_CachedMicroseconds`: Redis 7.2+ and Valkey take it once at the start
/// of every top-level command, and keep it for the commands inside a transaction or a script, as
/// they do for key expiry), else the clock (`now_ms`, Redis 7.0). Either is at or before the
/// real time and at or after the start of the top-level command (the transaction or script, for
/// the commands inside one); keys count on their own state, so a reading that stays the same for
/// a whole script repeats nothing (see README "The clock").
#[inline(always)]
pub fn command_ms() -> i64 {
    match api_opt!(RedisModule_CachedMicroseconds) {
        Some(cached) => {
            // SAFETY: a module API function without arguments, present on this server (checked
            // above); it reads a field of the server's state on the server's own thread.
            let ms = unsafe { cached() }.div_euclid(1000);
            #[cfg(feature = "test-clock")]
            let ms = ms + test_clock::OFFSET_MS.load(std::sync::atomic::Ordering::Relaxed);
            ms
        }
        None => now_ms(),
    }
}

/// The command's time (`command_ms`), read at its first use: a call that needs no time reads no
/// clock. One per command; every use after the first gets the same reading.
#[derive(Clone, Copy)]
pub struct CommandTime<'a>(&'a Cell<i64>);

impl<'a> CommandTime<'a> {
    /// `cell` holds the reading once taken; it must start as `CommandTime::UNREAD`.
    pub fn new(cell: &'a Cell<i64>) -> Self {
        debug_assert_eq!(cell.get(), Self::UNREAD);
        CommandTime(cell)
    }

    pub const UNREAD: i64 = i64::MIN;
}

impl Now for CommandTime<'_> {
    #[inline(always)]
    fn ms(self) -> i64 {
        match self.0.get() {
            Self::UNREAD => {
                let ms = command_ms();
                self.0.set(ms);
                ms
            }
            ms => ms,
        }
    }
}

/// Which clock `command_ms` reads on this server, for the load log line and `INFO idgen`.
pub fn command_clock() -> &'static std::ffi::CStr {
    if api_opt!(RedisModule_CachedMicroseconds).is_some() {
        c"server-cached"
    } else {
        c"clock_gettime"
    }
}

/// A monotonic clock in milliseconds (arbitrary origin): for ages, which a wall-clock step must
/// not change. Not shifted by the test clock.
pub fn monotonic_ms() -> i64 {
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
