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
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let ms = ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000;
    #[cfg(feature = "test-clock")]
    let ms = ms + test_clock::OFFSET_MS.load(std::sync::atomic::Ordering::Relaxed);
    ms
}

#[cfg(feature = "test-clock")]
pub mod test_clock {
    use std::ffi::c_int;
    use std::sync::atomic::{AtomicI64, Ordering};

    use redis_module::raw;

    use crate::glue::ffi::{int, Ctx, RStr};

    pub static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

    /// IDGEN.DEBUG-CLOCK [offset-ms]: sets the offset added to the wall clock (when given) and
    /// replies with the offset in force.
    extern "C" fn debug_clock(
        ctx: *mut raw::RedisModuleCtx,
        argv: *mut RStr,
        argc: c_int,
    ) -> c_int {
        let ctx = Ctx(ctx);
        let args = unsafe { std::slice::from_raw_parts(argv, argc.max(0) as usize) };
        match args.len() {
            1 => {}
            2 => match int(args[1]) {
                Ok(v) => OFFSET_MS.store(v, Ordering::Relaxed),
                Err(e) => {
                    ctx.reply_error(&e);
                    return raw::REDISMODULE_OK as c_int;
                }
            },
            _ => {
                ctx.reply_error(&crate::error::Error::Arity);
                return raw::REDISMODULE_OK as c_int;
            }
        }
        ctx.reply_int(OFFSET_MS.load(Ordering::Relaxed));
        raw::REDISMODULE_OK as c_int
    }

    pub fn register(ctx: *mut raw::RedisModuleCtx) -> Result<(), String> {
        let rc = unsafe {
            raw::RedisModule_CreateCommand.unwrap()(
                ctx,
                c"idgen.debug-clock".as_ptr(),
                Some(debug_clock),
                c"admin fast".as_ptr(),
                0,
                0,
                0,
            )
        };
        if rc != raw::REDISMODULE_OK as c_int {
            return Err("cannot create idgen.debug-clock".into());
        }
        Ok(())
    }
}
