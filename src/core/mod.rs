//! Pure generator logic: no FFI, no Redis, the clock passed in. Unit- and property-tested.

pub mod cluster;
pub mod fence;
pub mod format;
pub mod period;
pub mod pool;
pub mod sequence;
pub mod snowflake;

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
