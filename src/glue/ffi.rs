//! The thin layer over the raw Redis module API: context, keys, arguments and replies.
//! Nothing here allocates on the per-call path.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};

use redis_module::raw;

use crate::error::{Error, Result};

pub type RStr = *mut raw::RedisModuleString;

/// The calling context of one command.
pub struct Ctx(pub *mut raw::RedisModuleCtx);

/// A module data type, created at load. The raw handle is kept for the hot path.
pub struct ModType(AtomicPtr<raw::RedisModuleType>);

impl Default for ModType {
    fn default() -> Self {
        Self::new()
    }
}

impl ModType {
    pub const fn new() -> Self {
        ModType(AtomicPtr::new(std::ptr::null_mut()))
    }

    pub fn create(
        &self,
        ctx: *mut raw::RedisModuleCtx,
        name: &CStr,
        encver: i32,
        mut methods: raw::RedisModuleTypeMethods,
    ) -> std::result::Result<(), String> {
        let t = unsafe {
            raw::RedisModule_CreateDataType.unwrap()(ctx, name.as_ptr(), encver, &mut methods)
        };
        if t.is_null() {
            return Err(format!("cannot create data type {name:?}"));
        }
        self.0.store(t, Ordering::Relaxed);
        Ok(())
    }

    fn raw(&self) -> *mut raw::RedisModuleType {
        self.0.load(Ordering::Relaxed)
    }
}

/// An open key, closed on drop.
pub struct Key(*mut raw::RedisModuleKey);

impl Drop for Key {
    fn drop(&mut self) {
        unsafe { raw::RedisModule_CloseKey.unwrap()(self.0) }
    }
}

impl Key {
    /// The key's value if it holds `ty`, `None` if the key is empty, `WRONGTYPE` otherwise.
    ///
    /// # Safety contract
    /// `T` must be the Rust type stored under `ty`.
    pub fn value<T>(&mut self, ty: &ModType) -> Result<Option<&mut T>> {
        unsafe {
            // The common case first: the key holds our type.
            if raw::RedisModule_ModuleTypeGetType.unwrap()(self.0) == ty.raw() {
                let v = raw::RedisModule_ModuleTypeGetValue.unwrap()(self.0) as *mut T;
                return Ok(Some(&mut *v));
            }
            if raw::RedisModule_KeyType.unwrap()(self.0) as isize == raw::REDISMODULE_KEYTYPE_EMPTY
            {
                Ok(None)
            } else {
                Err(Error::WrongType)
            }
        }
    }

    /// Stores `value` as the key's value (the key must be open for writing and empty or ours)
    /// and returns it.
    pub fn set<T>(&mut self, ty: &ModType, value: T) -> &mut T {
        let ptr = Box::into_raw(Box::new(value));
        unsafe {
            raw::RedisModule_ModuleTypeSetValue.unwrap()(self.0, ty.raw(), ptr as *mut c_void);
            &mut *ptr
        }
    }
}

impl Ctx {
    pub fn flags(&self) -> u32 {
        unsafe { raw::RedisModule_GetContextFlags.unwrap()(self.0) as u32 }
    }

    /// The command came over the replication link or from the AOF, not from a client.
    pub fn is_replicated_or_loading(&self) -> bool {
        self.flags() & (raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING)
            != 0
    }

    pub fn open_key(&self, name: RStr, write: bool) -> Key {
        let mode = if write {
            raw::REDISMODULE_READ | raw::REDISMODULE_WRITE
        } else {
            raw::REDISMODULE_READ
        };
        Key(unsafe { raw::RedisModule_OpenKey.unwrap()(self.0, name, mode as i32) as *mut _ })
    }

    pub fn reply_int(&self, v: i64) {
        unsafe { raw::RedisModule_ReplyWithLongLong.unwrap()(self.0, v) };
    }
    pub fn reply_ok(&self) {
        unsafe { raw::RedisModule_ReplyWithSimpleString.unwrap()(self.0, c"OK".as_ptr()) };
    }
    pub fn reply_null(&self) {
        unsafe { raw::RedisModule_ReplyWithNull.unwrap()(self.0) };
    }
    pub fn reply_array(&self, len: usize) {
        unsafe { raw::RedisModule_ReplyWithArray.unwrap()(self.0, len as _) };
    }
    /// A map under RESP3, a flat field/value array under RESP2 (Redis converts).
    pub fn reply_map(&self, pairs: usize) {
        unsafe { raw::RedisModule_ReplyWithMap.unwrap()(self.0, pairs as _) };
    }
    pub fn reply_bulk(&self, s: &str) {
        unsafe {
            raw::RedisModule_ReplyWithStringBuffer.unwrap()(
                self.0,
                s.as_ptr() as *const c_char,
                s.len(),
            )
        };
    }

    /// Replies with a map of name -> integer (or nil for `None`).
    pub fn reply_fields(&self, fields: &[(&str, Option<i64>)]) {
        self.reply_map(fields.len());
        for (name, v) in fields {
            self.reply_bulk(name);
            match v {
                Some(v) => self.reply_int(*v),
                None => self.reply_null(),
            }
        }
    }

    pub fn reply_error(&self, e: &Error) {
        if matches!(e, Error::Arity) {
            unsafe { raw::RedisModule_WrongArity.unwrap()(self.0) };
            return;
        }
        let mut text = e.to_string().into_bytes();
        // Redis takes a C string; a NUL inside would cut it, so drop any.
        text.retain(|&b| b != 0 && b != b'\r' && b != b'\n');
        text.push(0);
        unsafe { raw::RedisModule_ReplyWithError.unwrap()(self.0, text.as_ptr() as *const c_char) };
    }

    /// Propagates this command as it was called (for absolute, idempotent commands).
    pub fn replicate_verbatim(&self) {
        unsafe { raw::RedisModule_ReplicateVerbatim.unwrap()(self.0) };
    }

    /// Propagates `SEQ.SET key value FORCE`: absolute, whatever the receiver's state.
    pub fn replicate_set_force(&self, key: RStr, value: RStr) {
        unsafe {
            raw::RedisModule_Replicate.unwrap()(
                self.0,
                c"SEQ.SET".as_ptr(),
                c"ssc".as_ptr(),
                key,
                value,
                c"FORCE".as_ptr(),
            )
        };
    }

    pub fn log_warning(&self, msg: &str) {
        log(self.0, c"warning", msg);
    }
}

pub fn log(ctx: *mut raw::RedisModuleCtx, level: &CStr, msg: &str) {
    let mut text: Vec<u8> = msg.bytes().filter(|&b| b != 0).collect();
    text.push(0);
    unsafe {
        raw::RedisModule_Log.unwrap()(ctx, level.as_ptr(), c"%s".as_ptr(), text.as_ptr());
    }
}

/// The bytes of an argument.
pub fn bytes<'a>(s: RStr) -> &'a [u8] {
    let mut len = 0usize;
    unsafe {
        let p = raw::RedisModule_StringPtrLen.unwrap()(s, &mut len);
        std::slice::from_raw_parts(p as *const u8, len)
    }
}

/// An argument as a signed 64-bit integer, Redis's rules (no spaces, no leading `+`).
pub fn int(s: RStr) -> Result<i64> {
    let mut v: i64 = 0;
    let rc = unsafe { raw::RedisModule_StringToLongLong.unwrap()(s, &mut v) };
    if rc == raw::REDISMODULE_OK as i32 {
        Ok(v)
    } else {
        Err(Error::NotInteger)
    }
}

/// An argument as an `i128` (used by internal commands for values up to MAXVALUE + 1).
pub fn int128(s: RStr) -> Result<i128> {
    std::str::from_utf8(bytes(s))
        .ok()
        .and_then(|t| t.parse::<i128>().ok())
        .ok_or(Error::NotInteger)
}

/// Case-insensitive match of an argument against an upper-case option name.
pub fn is_option(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// The error for an argument that is no known option: echoes at most 32 bytes of it.
pub fn unknown_option(arg: &[u8]) -> Error {
    let shown = &arg[..arg.len().min(32)];
    Error::UnknownOption(String::from_utf8_lossy(shown).into_owned())
}

/// Parses `NAME value` options. `names` are the upper-case options that take an integer value,
/// `flags` those that take none. Returns, per name/flag in order, the value (flags give 1).
/// Rejects unknown, repeated and value-less options.
pub fn parse_options<const N: usize>(
    args: &[RStr],
    names: [&'static str; N],
    flags: &[&'static str],
) -> Result<[Option<i64>; N]> {
    let mut out = [None; N];
    let mut i = 0;
    while i < args.len() {
        let arg = bytes(args[i]);
        let idx = names
            .iter()
            .position(|n| is_option(arg, n))
            .ok_or_else(|| unknown_option(arg))?;
        if out[idx].is_some() {
            return Err(Error::DuplicateOption(names[idx]));
        }
        if flags.contains(&names[idx]) {
            out[idx] = Some(1);
            i += 1;
        } else {
            let v = args.get(i + 1).ok_or(Error::MissingValue(names[idx]))?;
            out[idx] = Some(int(*v)?);
            i += 2;
        }
    }
    Ok(out)
}
