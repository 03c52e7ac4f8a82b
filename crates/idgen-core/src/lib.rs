//! Pure generator logic: no FFI, no Redis, the clock passed in. Unit- and property-tested.
//!
//! The module crate (`idgen`, the cdylib) re-exports this crate as `idgen::core` and its errors as
//! `idgen::error`. Nothing here depends on `redis-module`, so `cargo test -p idgen-core` needs no
//! libclang and no Redis.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod calendar;
pub mod cluster;
pub mod error;
pub mod evicted;
pub mod fence;
pub mod format;
pub mod period;
pub mod pool;
pub mod reservation;
pub mod sequence;
pub mod snowflake;
pub mod template;
pub mod uuid;

#[cfg(test)]
mod fixture;

/// A reading of the wall clock, unix ms, for a step that may need one. A number is a reading
/// already taken; the glue passes one that reads the clock at its first use, so that a step that
/// needs no time (a sequence value inside its reserved block) reads no clock.
pub trait Now: Copy {
    fn ms(self) -> i64;
}

impl Now for i64 {
    #[inline(always)]
    fn ms(self) -> i64 {
        self
    }
}
