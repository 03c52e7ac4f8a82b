//! The behaviour tests: one test binary (`cargo test --release --test it`), one module per
//! topic. They start real server processes (`$IDGEN_SERVER`, else `redis-server` from PATH)
//! with the module (`target/release/libidgen.so`, or `$IDGEN_MODULE`) through the harness crate
//! `idgen-testkit` (crates/testkit). `worker` and `periods` load the test-clock build into their
//! own servers (`ServerBuilder::module`), so the other modules keep the release build.
//!
//! Run one module with a filter: `cargo test --release --test it seq::` (`cluster::` is
//! `make test-cluster`).

// `args!` (the harness's command-building macro) in every module.
#[macro_use]
extern crate idgen_testkit;

mod acl;
mod cluster;
mod docs;
mod eviction;
mod fixture;
mod formats;
mod opaque;
mod opaque_snowflake;
mod periods;
mod persistence;
mod protocol;
mod reference;
mod replication;
mod seq;
mod server_settings;
mod snowflake;
mod types;
mod uuid;
mod worker;
