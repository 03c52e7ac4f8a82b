//! Replies to the running command's client: integers, strings, arrays, maps, errors.

use std::ffi::c_char;

use super::api::api;
use super::ctx::Ctx;
use super::log::c_text;
use crate::error::Error;

impl Ctx {
    pub fn reply_int(&self, v: i64) {
        // SAFETY: replies go to the running command's client.
        unsafe { api!(RedisModule_ReplyWithLongLong)(self.0, v) };
    }
    pub fn reply_ok(&self) {
        // SAFETY: as in `reply_int`; the status text is a static C string.
        unsafe { api!(RedisModule_ReplyWithSimpleString)(self.0, c"OK".as_ptr()) };
    }
    pub fn reply_null(&self) {
        // SAFETY: as in `reply_int`.
        unsafe { api!(RedisModule_ReplyWithNull)(self.0) };
    }
    pub fn reply_array(&self, len: usize) {
        // SAFETY: as in `reply_int`; the caller then replies `len` elements.
        unsafe { api!(RedisModule_ReplyWithArray)(self.0, len as _) };
    }
    /// A map under RESP3, a flat field/value array under RESP2 (Redis converts).
    pub fn reply_map(&self, pairs: usize) {
        // SAFETY: as in `reply_int`; the caller then replies `pairs` key/value pairs.
        unsafe { api!(RedisModule_ReplyWithMap)(self.0, pairs as _) };
    }
    pub fn reply_bulk(&self, s: &[u8]) {
        // SAFETY: as in `reply_int`; Redis copies the bytes.
        unsafe {
            api!(RedisModule_ReplyWithStringBuffer)(self.0, s.as_ptr() as *const c_char, s.len())
        };
    }

    /// Replies with a map of name -> integer, string or nil.
    pub fn reply_fields(&self, fields: &[(&str, Field)]) {
        self.reply_map(fields.len());
        for (name, v) in fields {
            self.reply_bulk(name.as_bytes());
            match v {
                Field::Int(v) => self.reply_int(*v),
                Field::Str(s) => self.reply_bulk(s),
                Field::Nil => self.reply_null(),
            }
        }
    }

    pub fn reply_error(&self, e: &Error) {
        if matches!(e, Error::Arity) {
            // SAFETY: as in `reply_int`.
            unsafe { api!(RedisModule_WrongArity)(self.0) };
            return;
        }
        let text = c_text(&e.to_string());
        // SAFETY: as in `reply_int`; `text` is NUL-terminated and Redis copies it.
        unsafe { api!(RedisModule_ReplyWithError)(self.0, text.as_ptr() as *const c_char) };
    }
}

/// The value of one field of an INFO-like map reply.
pub enum Field<'a> {
    Int(i64),
    Str(&'a [u8]),
    Nil,
}

impl From<i64> for Field<'_> {
    fn from(v: i64) -> Self {
        Field::Int(v)
    }
}

impl From<Option<i64>> for Field<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Field::Nil, Field::Int)
    }
}

impl<'a> From<Option<&'a [u8]>> for Field<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        v.map_or(Field::Nil, Field::Str)
    }
}
