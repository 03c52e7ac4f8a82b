//! The thin layer over the raw Redis module API: context, keys, typed key values, arguments and
//! replies. Every raw call of the module API outside type registration goes through here, so the
//! `unsafe` of the crate is concentrated in a few small, documented places. Nothing here
//! allocates on the per-call path.
//!
//! One file per thing wrapped: `api` (the API table), `log`, `ctx` (the calling context),
//! `value` (the tagged-pointer encoding of a key's value), `key` (open keys and their guards),
//! `reply`, `args` (reading arguments) and `propagate` (replication and AOF emission). This file
//! only re-exports them, so that callers name `ffi::X` whatever file holds it.

mod api;
mod args;
mod ctx;
mod key;
mod log;
mod propagate;
mod reply;
mod value;

pub(crate) use api::{api, api_opt};
pub use args::{bytes, int, int128, with_strings};
pub use ctx::{Ctx, RStr};
pub use key::{Held, Key, Slot, ValueMut, ValueRef};
pub use log::log;
pub use propagate::{emit_aof, format_for, Arg, Args, MAX_ARGS};
pub use reply::Field;
pub use value::{free_ptr, heap_size, into_ptr, with_ptr, ModType, Stored};
