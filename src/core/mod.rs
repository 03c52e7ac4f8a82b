//! Pure generator logic: no FFI, no Redis, the clock passed in. Unit- and property-tested.

pub mod cluster;
pub mod fence;
pub mod format;
pub mod period;
pub mod pool;
pub mod sequence;
pub mod snowflake;
