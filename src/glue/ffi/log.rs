//! The server log, and the C text it and error replies are given (without NULs, CR or LF).

use std::ffi::CStr;

use redis_module::raw;

use super::api::api;

/// `msg` as a C string: NULs, CR and LF dropped (they would cut or break a reply or log line).
pub(super) fn c_text(msg: &str) -> Vec<u8> {
    let mut text: Vec<u8> = msg
        .bytes()
        .filter(|&b| b != 0 && b != b'\r' && b != b'\n')
        .collect();
    text.push(0);
    text
}

/// Logs at `level` (`warning`, `notice`, ...). `ctx` may be null (then Redis logs without a
/// module context).
pub fn log(ctx: *mut raw::RedisModuleCtx, level: &CStr, msg: &str) {
    let text = c_text(&format!("idgen: {msg}"));
    // SAFETY: Redis accepts a null context here; both strings are NUL-terminated.
    unsafe { api!(RedisModule_Log)(ctx, level.as_ptr(), c"%s".as_ptr(), text.as_ptr()) };
}
