//! RDB I/O for the data types: typed writes, and reads that report a short or bad read instead of
//! aborting (the module sets `REDISMODULE_OPTIONS_HANDLE_IO_ERRORS`).

use redis_module::raw;

use super::ffi::api;

/// Writes one value's fields.
pub struct RdbOut(pub *mut raw::RedisModuleIO);

impl RdbOut {
    pub fn i64(&mut self, v: i64) {
        // SAFETY: `self.0` is the RDB handle Redis passed to the save callback.
        unsafe { api!(RedisModule_SaveSigned)(self.0, v) }
    }
    pub fn u64(&mut self, v: u64) {
        // SAFETY: as in `i64`.
        unsafe { api!(RedisModule_SaveUnsigned)(self.0, v) }
    }
    pub fn i128(&mut self, v: i128) {
        self.i64((v >> 64) as i64);
        self.u64(v as u64);
    }
    pub fn bool(&mut self, v: bool) {
        self.u64(v as u64);
    }
    pub fn bytes(&mut self, v: &[u8]) {
        raw::save_slice(self.0, v);
    }
}

/// Why a value was refused at load.
pub type Refusal = &'static str;
pub const TRUNCATED: Refusal = "truncated";

/// Reads one value's fields; every read checks that it fits the field.
pub struct RdbIn(pub *mut raw::RedisModuleIO);

impl RdbIn {
    pub fn i64(&mut self) -> Result<i64, Refusal> {
        raw::load_signed(self.0).map_err(|_| TRUNCATED)
    }
    pub fn u64(&mut self) -> Result<u64, Refusal> {
        raw::load_unsigned(self.0).map_err(|_| TRUNCATED)
    }
    /// An unsigned value that must fit `T` (`what` names the field when it does not).
    pub fn uint<T: TryFrom<u64>>(&mut self, what: Refusal) -> Result<T, Refusal> {
        T::try_from(self.u64()?).map_err(|_| what)
    }
    pub fn i128(&mut self) -> Result<i128, Refusal> {
        let hi = self.i64()? as i128;
        let lo = self.u64()? as i128;
        Ok((hi << 64) | lo)
    }
    pub fn bool(&mut self, what: Refusal) -> Result<bool, Refusal> {
        match self.u64()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(what),
        }
    }
    /// A string of at most `max` bytes (`what` names the field when it is longer).
    pub fn bytes(&mut self, max: usize, what: Refusal) -> Result<Vec<u8>, Refusal> {
        let b = raw::load_string_buffer(self.0).map_err(|_| TRUNCATED)?;
        let b: &[u8] = b.as_ref();
        if b.len() > max {
            return Err(what);
        }
        Ok(b.to_vec())
    }
    /// Whether the load runs while Redis loads a dataset (startup, replica sync, DEBUG RELOAD),
    /// as opposed to a RESTORE into a running dataset.
    pub fn is_dataset_load(&self) -> bool {
        // SAFETY: `self.0` is the RDB handle Redis passed to the load callback.
        let ctx = unsafe { api!(RedisModule_GetContextFromIO)(self.0) };
        super::ffi::Ctx(ctx).flags() & raw::REDISMODULE_CTX_FLAGS_LOADING != 0
    }
}
