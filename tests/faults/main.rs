//! Fault injection (issue 3): crashes, simulated power cuts, failovers with replication lag,
//! clock steps and bad input, each under load from several clients, with every value a client
//! received recorded and checked for repeats.
//!
//! | test | scenario |
//! |---|---|
//! | `aof_everysec_power_cut_never_repeats` | 1: kill -9 under load with `appendfsync everysec`, the AOF cut back by the last second of writes (what a power cut takes), restart |
//! | (1-3 and 5) | the load: 4 clients, pipelines of 1-4 commands: SNOWFLAKE.NEXT (single, COUNT, three layouts), SEQ.NEXT and SEQ.NEXTBATCH (two sequences), UUID.NEXT `FORMAT HEX` (single, COUNT; the node's worker and a fixed `WORKER`; also in 4, 9 and 11), and an idle sequence that gets a burst just before each fault |
//! | `aof_always_kill9_never_repeats` | 2: kill -9 under load with `appendfsync always` (nothing cut: every reply was fsynced first) |
//! | `failover_to_lagging_replica_never_repeats` | 3: primary + replica, the replication stream held back 0.4-1.5 s, kill -9 the primary, promote the replica, the old primary rejoins as a replica |
//! | `clock_steps_never_repeat_and_stay_increasing` | 4: the module clock stepped -10 s, 0, -1 h (DEBUG RELOAD meanwhile), +1 h, 0 (test-clock build) |
//! | `control_incr_repeats_after_*` | 5: scenarios 1 and 3 with plain INCR: must find repeats (the injections lose history) |
//! | `fuzz_random_arguments`, `fuzz_restore_payloads`, `truncated_rdb_fails_startup_cleanly`, `fuzz_forged_aof` | 6: bad input: client commands from clients, DUMP payloads, dump.rdb files, and the internal commands in forged AOF files |
//! | `pool_kill9_aof_always_never_double_grants`, `pool_failover_never_double_grants` | 7: worker-ID pool: holders acquire, renew, release and stop under kill -9 (`appendfsync always`) and under failovers to a lagging replica; every tenure recorded (see `faults/pool.rs`) |
//! | `period_boundary_power_cut_never_repeats` | 8: a per-period sequence with a FORMAT template, the test clock shifted to 1.5 s before local midnight, kill -9 0.3 s after the boundary with the AOF cut back by its last second (the new period's first reservation lost), restart; every formatted value recorded |
//! | `control_incr_per_date_repeats_after_power_cut` | 8's control: `INCR order:<date>` under the same injections |
//! | `split_brain_fenced_never_repeats`, `split_brain_unfenced_repeats` | 9: split brain: a primary and two replicas (distinct worker IDs), both replication links cut in both directions (`Proxy::cut`), a replica promoted, idgen and INCR clients on both sides for 3, 15 and 60 s (fence on; 3 and 15 s fence off), the old primary rejoins; fence on: no repeats, fence off: repeats (the checker can fail); INCR repeats in both |
//! | `fence_refuses_new_blocks_while_the_replica_is_stopped` | 10: the fence's availability side: the only replica SIGSTOPped: reserved blocks served, then NOREPLICAS (also WORKER.ACQUIRE), served again after SIGCONT |
//! | `sentinel_failovers_of_a_paused_primary_never_repeat` | 11: three `redis-sentinel`s, a primary and two replicas (fence on), clients that follow Sentinel; the primary SIGSTOPped until Sentinel fails over, then resumed (it serves its waiting clients until demoted); 3 cycles |
//! | `soak::randomized_fault_soak` (ignored: `make soak`, and 3 minutes in `make test-all`) | 12: the randomized soak: a primary and two replicas behind relays (fence on, AOF everysec, test clock), the idgen mix, pool holders and an INCR client following the primary; for `SOAK_SECONDS` the nemesis (`faults/nemesis.rs`) picks at random with the seed among kill -9 with the AOF cut, SIGSTOP with a promotion, partition, clock step, promotion of a lagging replica, eviction pressure, `DEBUG RELOAD`, `CONFIG SET` of module settings (`SOAK_NEMESES` chooses); no repeat, no order going back, no double grant, INCR repeats; then `soak_cluster::resharding_soak`: a 3+3 cluster, one hash tag's snowflake, sequence, UUID and INCR keys moved between the primaries with MIGRATE at random under cluster clients for `SOAK_CLUSTER_SECONDS` |
//! | `churn_of_generator_keys_returns_memory` | 13: churn: 200,000 keys of each type (snowflake, sequence, UUID, pool; pipelined) created and deleted 20 times under an ID load (the same names every round), the deletion rotating eviction (`maxmemory` below use, allkeys-lru / allkeys-random), DEL, UNLINK, FLUSHALL ASYNC; `used_memory_rss` and `used_memory` after round 20 within 10% of after round 4, the warm-up (each settled, then MEMORY PURGE); no crash; the `INFO idgen` eviction-record fields in the line (`faults/churn.rs`) |
//!
//! A value counts as received only once its whole reply was read; a client whose connection
//! breaks reconnects and goes on. `ids_checked` counts values (a batch counts each of its values),
//! `repeats` values received more than once, `errors` error replies and broken connections,
//! `refusals` `ERR clock` replies. The UUID keys are counted apart (`faults/uid.rs`):
//! `uuid_checked`, `uuid_repeats` (the same UUID twice, over all keys), `uuid_position_repeats`
//! (the same timestamp, counter and worker twice within a key: a UUID's low 46 bits are random,
//! so a reissued position shows here, not as a repeated UUID) and `uuid_order_violations` (a
//! client saw a key's UUIDs, compared as u128, not increase).
//!
//! Each scenario prints one line `faults: scenario=<name> cycles=<n> ids_checked=<n>
//! repeats=<n> errors=<n> ... uuid_checked=<n> uuid_repeats=<n> ...` and appends it to `target/faults/summary.txt`.
//!
//! Environment: `FAULTS_SPLITS=<s,s,..>` sets scenario 9's split lengths (seconds);
//! `FAULTS_SEED=<n>` replays a run's random choices (the seed is in every line);
//! `FAULTS_MODULE_ARGS="idgen.safety-jump no"` passes module arguments to the load scenarios'
//! servers (with the safety jump off, scenarios 1 and 3 find repeats: they can fail);
//! `IDGEN_TEST_CLOCK_MODULE=<path>` names a test-clock build (else scenario 4 builds one with
//! `cargo build --release --features test-clock --target-dir target/test-clock`).
//!
//! The scenarios run one at a time (they are timing-sensitive and each brings its own load).
//! Every server is killed when its test ends (the harness SIGKILLs on drop).
//!
//! Layout: this file holds the budgets and what every scenario shares; the scenarios are in one
//! file per topic (`churn`, `crashes`, `fuzz_commands`, `fuzz_restore`, `startup_files`,
//! `pool_scenarios`, `period_boundary`, `split_brain`, `fence`, `sentinel_failover`, `soak`,
//! `soak_cluster`), the machinery in the others (`aof`, `fuzz`, `load`, `nemesis`, `period`,
//! `pool`, `proxy`, `sentinel`, `uid`, `util`). The harness is the `idgen-testkit` crate (crates/testkit).

// `args!` (the harness's command-building macro) in every module.
#[macro_use]
extern crate idgen_testkit;

// The machinery.
mod aof;
mod fuzz;
mod load;
mod nemesis;
mod period;
mod pool;
mod proxy;
mod sentinel;
mod uid;
mod util;

// The scenarios.
mod churn;
mod crashes;
mod fence;
mod fuzz_checks;
mod fuzz_commands;
mod fuzz_restore;
mod period_boundary;
mod pool_scenarios;
mod sentinel_failover;
mod soak;
mod soak_cluster;
mod split_brain;
mod startup_files;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use aof::{incr_file, truncate, Sampler};
use idgen_testkit::crash::crash_lines as crash_lines_of;
use idgen_testkit::dump::{forge, split_dump};
use idgen_testkit::{
    free_port, generator_of, info_field, module_commands, module_path, now_ms, test_clock_module,
    try_generator_of, try_info_field, wait_replica_sync, Conn, Generator, Server, Value,
};
use load::{check, with_env_module_args, Load, Report, Workload};
use pool::{PoolLoad, Tenure, POOL_GRACE_MS, POOL_KEY, POOL_SIZE};
use proxy::Proxy;
use util::{
    crash_lines, crash_lines_in, pid, seed, serial, start_with_module, summary, wait_link_up, Rng,
    Stopped,
};

// ---- budget: cycle counts and durations ----

/// Load client threads per scenario.
const CLIENTS: usize = 4;
/// Kill/restart cycles of the AOF scenarios (1, 2 and the INCR control).
const AOF_CYCLES: u32 = 10;
/// Load per AOF cycle, from the moment the clients are served again until the kill.
const AOF_LOAD: Duration = Duration::from_millis(1500);
/// The idle key `seq:burst` gets a burst this long before each kill of the AOF scenarios (and
/// during the replication lag of the failover scenarios): traffic that jumps from nothing to a
/// high rate inside the window a fault loses.
const BURST_BEFORE_FAULT: Duration = Duration::from_millis(600);
/// What a power cut takes from an `appendfsync everysec` AOF: the writes of the last second
/// (everysec fsyncs once a second). Below `idgen.safety-window-ms` (2000), the guarantee's
/// condition.
const EVERYSEC_LOST: Duration = Duration::from_millis(1000);
/// Failover cycles (scenario 3 and the INCR control).
const FAILOVER_CYCLES: u32 = 10;
/// Load per failover cycle before the replica is stopped.
const FAILOVER_LOAD: Duration = Duration::from_millis(1000);
/// How long the replication stream is held back (and the replica stopped) before the primary is
/// killed, cycle after cycle: the replication lag the promoted replica has. It must stay below
/// `idgen.safety-window-ms` (2000 by default): the safety jump covers that much lost history, no
/// more; that is the guarantee's condition. Lags above one reservation block (up to 1 s of IDs)
/// are what the jump is for: below that the last replicated mark already covers the lost
/// stretch.
const REPLICA_LAGS: [Duration; 4] = [
    Duration::from_millis(1500),
    Duration::from_millis(400),
    Duration::from_millis(1200),
    Duration::from_millis(800),
];
/// Clock offsets (ms) set with IDGEN.DEBUG-CLOCK during load, each held this long: back 10 s,
/// back to 0, back 1 h (with a DEBUG RELOAD in the middle), forward 1 h, back to 0.
const CLOCK_STEPS: [i64; 5] = [-10_000, 0, -3_600_000, 3_600_000, 0];
const CLOCK_HOLD: Duration = Duration::from_millis(1500);
/// Random argument vectors sent to the module's commands.
const FUZZ_VECTORS: u32 = 30_000;
/// One in this many of them is an internal command's (sent by a client: only a clean reply is
/// checked).
const FUZZ_INTERNAL_EVERY: u32 = 10;
/// Forged AOF files a server is started on (the first holds the edge cases).
const FUZZ_AOF_FILES: u32 = 300;
/// Most commands in one forged AOF file.
const FUZZ_AOF_MAX_VECTORS: i64 = 60;
/// Mutated DUMP payloads given to RESTORE, per data type.
const FUZZ_RESTORES_PER_TYPE: u32 = 3_000;
/// After this many server crashes in the RESTORE fuzz, stop (and fail).
const FUZZ_MAX_CRASHES: usize = 5;
/// Places at which the truncated-RDB test cuts a dump.rdb.
const RDB_CUTS: usize = 24;

/// Pool scenarios (7): holder threads with names and without.
const POOL_NAMED: usize = 5;
const POOL_ANONYMOUS: usize = 2;
/// Kill/restart cycles and failover cycles of the pool scenarios, and the load per cycle.
const POOL_AOF_CYCLES: u32 = 6;
const POOL_FAILOVER_CYCLES: u32 = 5;
const POOL_LOAD: Duration = Duration::from_millis(2000);
/// Replication lags of the pool failovers (any lag is covered: the promoted pool grants nothing
/// for its longest TTL plus the grace).
const POOL_LAGS: [Duration; 3] = [
    Duration::from_millis(600),
    Duration::from_millis(300),
    Duration::from_millis(900),
];
/// Least number of leases a pool scenario must have checked.
const POOL_MIN_LEASES: u64 = 200;

/// Least number of values a load scenario must have checked, so that a load that did nothing
/// cannot pass.
const MIN_IDS_CHECKED: u64 = 10_000;
/// The same for the UUID keys (about a sixth of the requests).
const MIN_UUIDS_CHECKED: u64 = 1_000;
/// The same for the OPAQUE sequence `seq:opaque` (about 7% of the idgen requests).
const MIN_OPAQUE_CHECKED: u64 = 500;

fn report_line(name: &str, cycles: u32, r: &Report, extra: &str) -> String {
    let by_key = if r.repeats_by_key.is_empty() {
        String::new()
    } else {
        let keys: Vec<String> = r
            .repeats_by_key
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect();
        format!(" repeats_by_key={}", keys.join(","))
    };
    let uid_by_key = if r.uid.repeats_by_key.is_empty() {
        String::new()
    } else {
        let keys: Vec<String> = r
            .uid
            .repeats_by_key
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect();
        format!(" uuid_position_repeats_by_key={}", keys.join(","))
    };
    format!(
        "faults: scenario={name} cycles={cycles} ids_checked={} repeats={} errors={} refusals={} \
         order_violations={} ok_replies={} uuid_checked={} uuid_repeats={} \
         uuid_position_repeats={} uuid_order_violations={} opaque_checked={} opaque_repeats={} \
         sf_opaque_checked={} sf_opaque_repeats={}{extra}{by_key}{uid_by_key}",
        r.ids_checked,
        r.repeats,
        r.errors(),
        r.refusals,
        r.order_violations,
        r.ok_replies,
        r.uid.checked,
        r.uid.repeats,
        r.uid.position_repeats,
        r.uid.order_violations,
        r.opaque_checked,
        r.repeats_by_key.get("seq:opaque").copied().unwrap_or(0),
        r.sf_opaque_checked,
        r.repeats_by_key.get("sf:opaque").copied().unwrap_or(0),
    )
}

/// The details a failing assertion shows.
fn details(r: &Report, timeline: &[String]) -> String {
    format!(
        "examples:\n  {}\nuuid examples:\n  {}\norder examples:\n  {}\nmalformed replies:\n  {}\nerror replies by kind: {:?}\ntimeline (unix ms):\n  {}",
        r.examples.join("\n  "),
        r.uid.examples.join("\n  "),
        r.order_examples.join("\n  "),
        r.malformed.join("\n  "),
        r.error_kinds,
        timeline.join("\n  ")
    )
}

/// What every idgen load scenario asserts: no repeats, values on their progression, well-formed
/// replies, enough values checked, no crash.
fn assert_idgen_clean(name: &str, r: &Report, timeline: &[String], servers: &[&Server]) {
    for s in servers {
        let crashes = crash_lines(s);
        assert!(crashes.is_empty(), "{name}: a server crashed:\n{crashes:?}");
    }
    assert!(
        r.malformed.is_empty(),
        "{name}: malformed replies\n{}",
        details(r, timeline)
    );
    assert_eq!(
        r.repeats,
        0,
        "{name}: idgen handed out values twice\n{}",
        details(r, timeline)
    );
    assert_eq!(
        r.off_progression,
        0,
        "{name}: sequence values off their progression\n{}",
        details(r, timeline)
    );
    assert_eq!(
        (r.uid.repeats, r.uid.position_repeats),
        (0, 0),
        "{name}: a UUID key handed out a UUID (or a position) twice\n{}",
        details(r, timeline)
    );
    assert!(
        r.uid.checked >= MIN_UUIDS_CHECKED,
        "{name}: only {} UUIDs checked",
        r.uid.checked
    );
    assert!(
        r.opaque_checked >= MIN_OPAQUE_CHECKED,
        "{name}: only {} values of the OPAQUE sequence checked",
        r.opaque_checked
    );
    assert!(
        r.sf_opaque_checked >= MIN_OPAQUE_CHECKED,
        "{name}: only {} IDs of the OPAQUE snowflake key checked",
        r.sf_opaque_checked
    );
    assert!(
        r.ids_checked >= MIN_IDS_CHECKED,
        "{name}: only {} values checked",
        r.ids_checked
    );
}
