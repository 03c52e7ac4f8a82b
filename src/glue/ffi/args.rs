//! A command's arguments: their bytes, and integers read by Redis's rules.

use std::ffi::c_int;

use redis_module::raw;

use super::api::api;
use super::ctx::RStr;
use crate::error::{Error, Result};

/// The bytes of an argument.
pub fn bytes<'a>(s: RStr) -> &'a [u8] {
    let mut len = 0usize;
    // SAFETY: `s` is an argument of the running command; Redis returns its buffer and length,
    // valid while the command runs.
    unsafe {
        let p = api!(RedisModule_StringPtrLen)(s, &mut len);
        std::slice::from_raw_parts(p as *const u8, len)
    }
}

/// An argument as a signed 64-bit integer, Redis's rules (no spaces, no leading `+`).
pub fn int(s: RStr) -> Result<i64> {
    let mut v: i64 = 0;
    // SAFETY: `s` is an argument of the running command.
    let rc = unsafe { api!(RedisModule_StringToLongLong)(s, &mut v) };
    if rc == raw::REDISMODULE_OK as c_int {
        Ok(v)
    } else {
        Err(Error::NotInteger)
    }
}

/// An argument as an `i128` (internal commands carry values up to MAXVALUE + 1).
pub fn int128(s: RStr) -> Result<i128> {
    std::str::from_utf8(bytes(s))
        .ok()
        .and_then(|t| t.parse::<i128>().ok())
        .ok_or(Error::NotInteger)
}

/// Runs `f` with `bufs` as module strings (created here and freed after `f`), for code that
/// reads stored bytes with the parsers of command arguments.
pub fn with_strings<'a, R>(
    bufs: impl IntoIterator<Item = &'a [u8]>,
    f: impl FnOnce(&[RStr]) -> R,
) -> R {
    let strs: Vec<RStr> = bufs
        .into_iter()
        // SAFETY: a string without a context (freed below); Redis copies the bytes.
        .map(|b| unsafe {
            api!(RedisModule_CreateString)(
                std::ptr::null_mut(),
                b.as_ptr() as *const std::ffi::c_char,
                b.len(),
            )
        })
        .collect();
    let out = f(&strs);
    for s in strs {
        // SAFETY: made above without a context, used by nothing else now.
        unsafe { api!(RedisModule_FreeString)(std::ptr::null_mut(), s) };
    }
    out
}
