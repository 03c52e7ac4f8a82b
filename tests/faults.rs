//! Fault injection (issue 3): crashes, simulated power cuts, failovers with replication lag,
//! clock steps and bad input, each under load from several clients, with every value a client
//! received recorded and checked for repeats.
//!
//! | test | scenario |
//! |---|---|
//! | `aof_everysec_power_cut_never_repeats` | 1: kill -9 under load with `appendfsync everysec`, the AOF cut back by the last second of writes (what a power cut takes), restart |
//! | (1-3 and 5) | the load: 4 clients, pipelines of 1-4 commands: SNOWFLAKE.NEXT (single, COUNT, three layouts), SEQ.NEXT and SEQ.NEXTBATCH (two sequences), and an idle sequence that gets a burst just before each fault |
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
//!
//! A value counts as received only once its whole reply was read; a client whose connection
//! breaks reconnects and goes on. `ids_checked` counts values (a batch counts each of its values),
//! `repeats` values received more than once, `errors` error replies and broken connections,
//! `refusals` `ERR clock` replies.
//!
//! Each scenario prints one line `faults: scenario=<name> cycles=<n> ids_checked=<n>
//! repeats=<n> errors=<n> ...` and appends it to `target/faults/summary.txt`.
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
mod common;

mod faults {
    pub mod aof;
    pub mod fuzz;
    pub mod load;
    pub mod period;
    pub mod pool;
    pub mod proxy;
    pub mod sentinel;
    pub mod util;
}

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::crash::crash_lines as crash_lines_of;
use common::dump::{forge, split_dump};
use common::{
    free_port, generator_of, info_field, module_commands, module_path, now_ms, test_clock_module,
    try_generator_of, try_info_field, wait_replica_sync, Conn, Generator, Server, Value,
};
use faults::aof::{incr_file, truncate, Sampler};
use faults::fuzz;
use faults::load::{check, Load, Report, Workload};
use faults::pool::{PoolLoad, Tenure, POOL_GRACE_MS, POOL_KEY, POOL_SIZE};
use faults::proxy::Proxy;
use faults::util::{
    crash_lines, crash_lines_in, pid, seed, serial, start_with_module, summary, wait_link_up,
    with_env_module_args, Rng, Stopped,
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
    format!(
        "faults: scenario={name} cycles={cycles} ids_checked={} repeats={} errors={} refusals={} \
         order_violations={} ok_replies={}{extra}{by_key}",
        r.ids_checked,
        r.repeats,
        r.errors(),
        r.refusals,
        r.order_violations,
        r.ok_replies
    )
}

/// The details a failing assertion shows.
fn details(r: &Report, timeline: &[String]) -> String {
    format!(
        "examples:\n  {}\norder examples:\n  {}\nmalformed replies:\n  {}\nerror replies by kind: {:?}\ntimeline (unix ms):\n  {}",
        r.examples.join("\n  "),
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
    assert!(
        r.ids_checked >= MIN_IDS_CHECKED,
        "{name}: only {} values checked",
        r.ids_checked
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios 1, 2 (and 5): kill -9 with an AOF
// ---------------------------------------------------------------------------------------------

struct Run {
    cycles: u32,
    report: Report,
    timeline: Vec<String>,
    extra: String,
    servers: Vec<Server>,
}

/// Load against one server with `appendonly yes`; `AOF_CYCLES` times: a burst on the idle key
/// `seq:burst` for the last `BURST_BEFORE_FAULT`, kill -9 under load, cut the AOF back by
/// `EVERYSEC_LOST` when `power_cut`, restart; the clients reconnect and go on.
fn aof_scenario(name: &str, fsync: &str, power_cut: bool, workload: Workload) -> Run {
    let mut server = with_env_module_args(Server::builder(name))
        .config("appendonly yes")
        .config(&format!("appendfsync {fsync}"))
        // No rewrite during the run: the incr file being sampled stays the same.
        .config("auto-aof-rewrite-percentage 0")
        .config("crash-memcheck-enabled no")
        .start();
    workload.setup(&mut server.conn());
    let load = Load::start(workload, server.port(), CLIENTS, seed());
    let sampler = Sampler::start();
    let mut timeline = Vec::new();
    let mut cut_bytes = 0u64;
    for cycle in 0..AOF_CYCLES {
        load.set_cycle(cycle);
        if power_cut {
            sampler.watch(incr_file(server.dir()));
        }
        load.wait_progress(
            20,
            Duration::from_secs(20),
            "clients to be served after a restart",
        );
        thread::sleep(AOF_LOAD - BURST_BEFORE_FAULT);
        load.set_burst(true);
        thread::sleep(BURST_BEFORE_FAULT);
        let at = Instant::now();
        let kill_ms = now_ms();
        server.kill9();
        load.set_burst(false);
        load.set_cycle(cycle + 1);
        let mut note = format!("cycle {cycle}: kill -9 at {kill_ms}");
        if power_cut {
            let (size, age) = sampler.size_before(at, EVERYSEC_LOST);
            let cut = truncate(&incr_file(server.dir()), size);
            cut_bytes += cut;
            note += &format!(
                ", AOF cut back {cut} bytes to {size} (its size {} ms before the kill)",
                age.as_millis()
            );
        }
        server.restart();
        note += &format!(", serving again at {}", now_ms());
        timeline.push(note);
    }
    load.set_cycle(AOF_CYCLES);
    load.wait_progress(
        20,
        Duration::from_secs(20),
        "clients to be served after the last restart",
    );
    thread::sleep(Duration::from_millis(300));
    let (w, logs) = load.stop();
    drop(sampler);
    Run {
        cycles: AOF_CYCLES,
        report: check(w, logs),
        timeline,
        extra: if power_cut {
            format!(" aof_bytes_cut={cut_bytes}")
        } else {
            String::new()
        },
        servers: vec![server],
    }
}

/// Scenario 1: `appendfsync everysec`, kill -9 plus the loss of the last second of AOF writes.
#[test]
fn aof_everysec_power_cut_never_repeats() {
    let _serial = serial();
    let name = "aof-everysec";
    let run = aof_scenario("faults-aof-everysec", "everysec", true, Workload::Idgen);
    summary(&report_line(name, run.cycles, &run.report, &run.extra));
    let servers: Vec<&Server> = run.servers.iter().collect();
    assert_idgen_clean(name, &run.report, &run.timeline, &servers);
}

/// Scenario 2: `appendfsync always`, plain kill -9 (every reply was fsynced first, so nothing
/// may be cut).
#[test]
fn aof_always_kill9_never_repeats() {
    let _serial = serial();
    let name = "aof-always";
    let run = aof_scenario("faults-aof-always", "always", false, Workload::Idgen);
    summary(&report_line(name, run.cycles, &run.report, &run.extra));
    let servers: Vec<&Server> = run.servers.iter().collect();
    assert_idgen_clean(name, &run.report, &run.timeline, &servers);
}

// ---------------------------------------------------------------------------------------------
// Scenario 3 (and 5): failover with replication lag
// ---------------------------------------------------------------------------------------------

/// When the steps of a `fail_over` happened (unix ms), and the replication bytes lost with the
/// primary.
struct FailedOver {
    lag_ms: i64,
    kill_ms: i64,
    promoted_ms: i64,
    lost: u64,
}

/// One failover to a lagging replica, as the failover scenarios run it: hold back the replication
/// stream in `proxy` and SIGSTOP the replica (`before_kill` runs then) for `lag`, kill -9 the
/// primary (`after_kill`), SIGCONT and promote the replica over `ctl` (`REPLICAOF NO ONE`, sent
/// before the SIGCONT so that it is the first thing the replica does), move the clients to it
/// (`retarget` gets its port), then restart the old primary on its port as a replica of the new
/// one through a new proxy, and wait until it is in sync. On return `primary` and `replica` have
/// swapped roles.
#[allow(clippy::too_many_arguments)]
fn fail_over(
    primary: &mut Server,
    replica: &mut Server,
    proxy: &mut Proxy,
    ctl: &mut Conn,
    lag: Duration,
    before_kill: impl FnOnce(),
    after_kill: impl FnOnce(),
    retarget: impl FnOnce(u16),
) -> FailedOver {
    let lag_ms = now_ms();
    proxy.hold();
    let stopped = Stopped::new(pid(replica));
    before_kill();
    thread::sleep(lag);
    let kill_ms = now_ms();
    primary.kill9();
    after_kill();
    ctl.send(&[vec!["REPLICAOF", "NO", "ONE"]])
        .expect("send REPLICAOF NO ONE");
    stopped.resume();
    let r = ctl.read_value().expect("REPLICAOF NO ONE reply");
    assert_eq!(r, Value::Simple("OK".into()), "REPLICAOF NO ONE");
    retarget(replica.port());
    let promoted_ms = now_ms();
    std::mem::swap(primary, replica);
    // The old primary comes back on its port (clients no longer connect there: they hold the
    // target lock while connecting) and becomes a replica of the new primary.
    replica.restart();
    let old = std::mem::replace(proxy, Proxy::start(primary.port()));
    let lost = old.close();
    let r = replica.conn().cmd(&[
        "REPLICAOF".to_string(),
        "127.0.0.1".into(),
        proxy.port().to_string(),
    ]);
    assert!(
        matches!(&r, Value::Simple(s) if s.starts_with("OK")),
        "REPLICAOF of the old primary: {r:?}"
    );
    wait_link_up(replica, Duration::from_secs(30));
    FailedOver {
        lag_ms,
        kill_ms,
        promoted_ms,
        lost,
    }
}

/// A primary and a replica (same `idgen.worker-id`, so snowflake IDs of both nodes share the
/// worker bits and only the reservation keeps them apart), load on the primary, no WAIT. The
/// replica replicates through a `Proxy`. `FAILOVER_CYCLES` times: hold back the replication
/// stream in the proxy and SIGSTOP the replica for a lag from `REPLICA_LAGS` while the load
/// goes on (with a burst on the idle key `seq:burst` meanwhile), kill -9 the primary (the held stream is lost with it), SIGCONT and promote the
/// replica (`REPLICAOF NO ONE`), move the clients to it, and bring the old primary back on its
/// port as a replica of the new one through a new proxy (without persistence it comes back
/// empty and full-syncs).
fn failover_scenario(name: &str, workload: Workload) -> Run {
    let builder = |role: &str| {
        with_env_module_args(Server::builder(&format!("{name}-{role}")))
            .config("crash-memcheck-enabled no")
    };
    let mut primary = builder("a").start();
    let mut proxy = Proxy::start(primary.port());
    let mut replica = builder("b").replicaof(proxy.port()).start();
    wait_link_up(&replica, Duration::from_secs(20));
    workload.setup(&mut primary.conn());
    let load = Load::start(workload, primary.port(), CLIENTS, seed());
    let mut timeline = Vec::new();
    let mut dropped_bytes = 0;
    for cycle in 0..FAILOVER_CYCLES {
        let lag = REPLICA_LAGS[cycle as usize % REPLICA_LAGS.len()];
        load.set_cycle(cycle);
        load.wait_progress(
            20,
            Duration::from_secs(20),
            "clients to be served by the new primary",
        );
        thread::sleep(FAILOVER_LOAD);

        let mut ctl = Conn::try_connect_with_timeout(replica.port(), Duration::from_secs(10))
            .expect("connect to the replica");
        let FailedOver {
            lag_ms,
            kill_ms,
            promoted_ms,
            lost,
        } = fail_over(
            &mut primary,
            &mut replica,
            &mut proxy,
            &mut ctl,
            lag,
            || load.set_burst(true),
            || {
                load.set_burst(false);
                load.set_cycle(cycle + 1);
            },
            |port| load.set_target(port),
        );
        dropped_bytes += lost;
        timeline.push(format!(
            "cycle {cycle}: stream held and replica {} stopped at {lag_ms} ({} ms), primary {} \
             killed at {kill_ms} ({lost} stream bytes lost), promoted at {promoted_ms}, old primary in \
             sync at {}",
            primary.port(),
            lag.as_millis(),
            replica.port(),
            now_ms()
        ));
    }
    load.set_cycle(FAILOVER_CYCLES);
    load.wait_progress(
        20,
        Duration::from_secs(20),
        "clients to be served after the last failover",
    );
    thread::sleep(Duration::from_millis(300));
    let (w, logs) = load.stop();
    Run {
        cycles: FAILOVER_CYCLES,
        report: check(w, logs),
        timeline,
        extra: format!(
            " replica_lag_ms={} stream_bytes_lost={dropped_bytes}",
            REPLICA_LAGS
                .iter()
                .map(|l| l.as_millis().to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        servers: vec![primary, replica],
    }
}

/// Scenario 3: failovers to a lagging replica never repeat a value.
#[test]
fn failover_to_lagging_replica_never_repeats() {
    let _serial = serial();
    let name = "failover";
    let run = failover_scenario("faults-failover", Workload::Idgen);
    summary(&report_line(name, run.cycles, &run.report, &run.extra));
    let servers: Vec<&Server> = run.servers.iter().collect();
    assert_idgen_clean(name, &run.report, &run.timeline, &servers);
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: the INCR control
// ---------------------------------------------------------------------------------------------

fn assert_control_repeats(name: &str, run: &Run) {
    summary(&report_line(name, run.cycles, &run.report, &run.extra));
    assert!(
        run.report.malformed.is_empty(),
        "{name}: malformed replies {:?}",
        run.report.malformed
    );
    // The same injections must make plain INCR repeat values: otherwise they lose nothing and
    // the idgen scenarios' zero proves nothing.
    assert!(
        run.report.repeats > 0,
        "{name}: INCR repeated nothing: the injection lost no history, so the checker proves \
         nothing\n{}",
        details(&run.report, &run.timeline)
    );
}

/// Scenario 5 for scenario 1: the same power cuts make INCR repeat values.
#[test]
fn control_incr_repeats_after_power_cut() {
    let _serial = serial();
    let run = aof_scenario("faults-control-aof", "everysec", true, Workload::Incr);
    assert_control_repeats("control-incr-aof-everysec", &run);
}

/// Scenario 5 for scenario 3: the same failovers make INCR repeat values.
#[test]
fn control_incr_repeats_after_failover() {
    let _serial = serial();
    let run = failover_scenario("faults-control-failover", Workload::Incr);
    assert_control_repeats("control-incr-failover", &run);
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: clock steps
// ---------------------------------------------------------------------------------------------

/// Scenario 4: the module's clock stepped back 10 s, back 1 h (with a DEBUG RELOAD while it is
/// back), forward 1 h and back to 0 under load (test-clock build). No value twice, and each
/// client sees each generator's values strictly increasing. Refusals are allowed and counted.
#[test]
fn clock_steps_never_repeat_and_stay_increasing() {
    let _serial = serial();
    let name = "clock";
    let module = test_clock_module();
    let server = start_with_module(
        &module,
        with_env_module_args(Server::builder("faults-clock")).config("crash-memcheck-enabled no"),
    );
    let mut c = server.conn();
    assert_eq!(
        c.cmd(&["IDGEN.DEBUG-CLOCK"]),
        Value::Int(0),
        "IDGEN.DEBUG-CLOCK missing: {} is not the test-clock build",
        module.display()
    );
    Workload::Idgen.setup(&mut c);
    let load = Load::start(Workload::Idgen, server.port(), CLIENTS, seed());
    load.wait_progress(20, Duration::from_secs(20), "clients to be served");
    thread::sleep(Duration::from_millis(500));
    let mut timeline = Vec::new();
    let mut per_step = Vec::new();
    for (i, &offset) in CLOCK_STEPS.iter().enumerate() {
        load.set_cycle(i as u32 + 1);
        let before = load.snowflake_counts();
        let r = c.cmd(&["IDGEN.DEBUG-CLOCK".to_string(), offset.to_string()]);
        assert_eq!(r, Value::Int(offset), "IDGEN.DEBUG-CLOCK {offset}");
        timeline.push(format!(
            "step {}: offset {offset} ms at {}",
            i + 1,
            now_ms()
        ));
        if offset == -3_600_000 {
            thread::sleep(CLOCK_HOLD / 2);
            c.cmd(&["DEBUG", "RELOAD"]).ok();
            timeline.push(format!("DEBUG RELOAD at {}", now_ms()));
            thread::sleep(CLOCK_HOLD / 2);
        } else {
            thread::sleep(CLOCK_HOLD);
        }
        let after = load.snowflake_counts();
        per_step.push(format!(
            "{offset}:{}/{}",
            after.0 - before.0,
            after.1 - before.1
        ));
    }
    let (w, logs) = load.stop();
    let report = check(w, logs);
    summary(&report_line(
        name,
        CLOCK_STEPS.len() as u32,
        &report,
        &format!(" snowflake_ok/refused_per_offset={}", per_step.join(",")),
    ));
    assert_idgen_clean(name, &report, &timeline, &[&server]);
    assert_eq!(
        report.order_violations,
        0,
        "{name}: a client saw a generator's values go backwards\n{}",
        details(&report, &timeline)
    );
    let errors: Vec<_> = report
        .error_kinds
        .keys()
        .filter(|k| k.as_str() != "LOADING")
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: unexpected error replies (only `ERR clock` refusals are expected)\n{}",
        details(&report, &timeline)
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 6: bad input
// ---------------------------------------------------------------------------------------------

/// A command line split on whitespace into arguments.
fn words(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace()
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

/// The refusals README documents for issuing from a generator that exists (the `idgen_refusals`
/// of INFO idgen): the clock limit, exhausted time bits, a worker id that does not fit, an
/// exhausted sequence, not enough values left, a batch larger than the range; and a worker-ID
/// pool's: full, resuming after a load (what every pool does at its first use after one), a
/// lease that is not the caller's, tokens exhausted (a damaged reservation).
const ISSUE_REFUSALS: [&str; 10] = [
    "ERR clock: ",
    "ERR time bits exhausted",
    "ERR idgen.worker-id ",
    "ERR sequence exhausted",
    "ERR not enough values left",
    "ERR count is larger than the sequence's whole range",
    "POOLFULL ",
    "POOLRESUMING ",
    "LEASELOST ",
    "ERR fencing tokens exhausted",
];

/// An error reply that is one of `ISSUE_REFUSALS`.
fn check_issue_refusal(e: &str) -> Result<(), String> {
    if ISSUE_REFUSALS.iter().any(|r| e.starts_with(r)) {
        Ok(())
    } else {
        Err(format!("not a documented refusal: {e:?}"))
    }
}

/// A valid error reply: starts with an upper-case code, and is not the panic barrier's.
fn check_error(e: &str) -> Result<(), String> {
    let code = e.split_whitespace().next().unwrap_or("");
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("error without a code: {e:?}"));
    }
    if e.contains("internal error") {
        return Err(format!("panic caught in the module: {e:?}"));
    }
    Ok(())
}

fn show(v: &[Vec<u8>]) -> String {
    v.iter()
        .map(|a| {
            if a.len() > 40 {
                format!(
                    "<{} bytes {:?}...>",
                    a.len(),
                    String::from_utf8_lossy(&a[..8])
                )
            } else {
                format!("{:?}", String::from_utf8_lossy(a))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Per key, the last few successful vectors that named it (to reproduce a finding).
struct History(std::collections::HashMap<Vec<u8>, Vec<String>>);

impl History {
    fn push(&mut self, key: &[u8], v: &[Vec<u8>]) {
        let h = self.0.entry(key.to_vec()).or_default();
        h.push(show(v));
        if h.len() > 6 {
            h.remove(0);
        }
    }

    fn of(&self, key: &[u8]) -> String {
        self.0
            .get(key)
            .map(|h| h.join("\n      "))
            .unwrap_or_default()
    }
}

/// `DUMP key` then `RESTORE` of it under another name: what the module would write to an RDB
/// must load again. `Err` has the refusal.
fn round_trips(c: &mut Conn, key: &[u8]) -> Result<(), String> {
    match c.cmd(&[b"DUMP".as_slice(), key]) {
        Value::Bulk(payload) => {
            let r = c.cmd(&[
                b"RESTORE".as_slice(),
                b"fz:probe",
                b"0",
                payload.as_slice(),
                b"REPLACE",
            ]);
            c.cmd(&["DEL", "fz:probe"]);
            if r == Value::Simple("OK".into()) {
                Ok(())
            } else {
                Err(format!("{r:?}"))
            }
        }
        other => Err(format!("DUMP: {other:?}")),
    }
}

/// Every key of the server (`KEYS *`: the fuzz servers hold a handful).
fn all_keys(c: &mut Conn) -> Vec<Vec<u8>> {
    match c.cmd(&["KEYS", "*"]) {
        Value::Array(keys) => keys
            .into_iter()
            .map(|k| match k {
                Value::Bulk(b) => b,
                other => panic!("KEYS: {other:?}"),
            })
            .collect(),
        other => panic!("KEYS: {other:?}"),
    }
}

/// An INFO reply as `field=value ...`.
fn show_map(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Map(_) => v
            .pairs()
            .iter()
            .map(|(k, v)| match v {
                Value::Int(i) => format!("{k}={i}"),
                Value::Null => format!("{k}=nil"),
                other => format!("{k}={other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => format!("{other:?}"),
    }
}

/// Keys whose value differs between primary and replica, with both INFOs.
fn diverged_keys(p: &mut Conn, r: &mut Conn, history: &History) -> Vec<(Vec<u8>, String)> {
    let mut out = Vec::new();
    for key in all_keys(p) {
        let key = key.as_slice();
        let a = p.cmd(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", key]);
        let b = r.cmd(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", key]);
        if a != b {
            let info_cmd = generator_of(p, key).map_or("SNOWFLAKE.INFO", Generator::info_cmd);
            let info_cmd = info_cmd.as_bytes();
            let text = format!(
                "{:?}: primary {}\n    replica {}\n    last commands on it:\n      {}",
                String::from_utf8_lossy(key),
                show_map(&p.cmd(&[info_cmd, key])),
                show_map(&r.cmd(&[info_cmd, key])),
                history.of(key)
            );
            out.push((key.to_vec(), text));
        }
    }
    out
}

/// Scenario 6a: random argument vectors across every client command (random arity, huge and
/// negative numbers, binary junk, unknown options) on a primary with a replica, over RESP2 and
/// RESP3: only valid replies or coded errors, both servers stay up; every state the commands
/// leave behind loads again (DUMP/RESTORE after each successful command, DEBUG RELOAD at the
/// end) and the replica holds the same data (DEBUG DIGEST every 1000 vectors). One vector in
/// `FUZZ_INTERNAL_EVERY` is an internal command's, as a client would send it: only a clean reply
/// (a coded error, or any reply while clients may still run them) is required, and nothing
/// depends on whether it ran (see `fuzz::client_internal_vector`). Their parsers are fuzzed
/// through forged AOF files (`fuzz_forged_aof`).
#[test]
fn fuzz_random_arguments() {
    let _serial = serial();
    let name = "fuzz-args";
    let primary = Server::builder("faults-fuzz-primary")
        .config("crash-memcheck-enabled no")
        .start();
    let replica = Server::builder("faults-fuzz-replica")
        .config("crash-memcheck-enabled no")
        .replicaof(primary.port())
        .start();
    wait_link_up(&replica, Duration::from_secs(20));
    let mut c2 = primary.conn();
    let mut c3 = primary.conn3();
    let mut r = replica.conn();
    c2.cmd(&["SET", "fz:str", "x"]).ok();
    c2.cmd(&["RPUSH", "fz:list", "a"]).int();
    let mut rng = Rng::new(seed() ^ 0xf022);
    let (mut ok, mut errors) = (0u64, 0u64);
    let (mut internal, mut internal_refused) = (0u64, 0u64);
    let mut problems: Vec<String> = Vec::new();
    let mut history = History(Default::default());
    let mut unloadable: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut broken: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut diverged: std::collections::HashSet<Vec<u8>> = Default::default();
    // Hand-picked edge cases first (so that what they find is found in every run; the internal
    // commands among them go to the forged AOF instead), then the random vectors, one in
    // `FUZZ_INTERNAL_EVERY` an internal command's.
    let edge: Vec<Vec<Vec<u8>>> = fuzz::EDGE_VECTORS
        .iter()
        .map(|line| words(line))
        .filter(|v| !fuzz::is_internal(&v[0]))
        .collect();
    let n_edge = edge.len();
    let vectors = edge.into_iter().chain((0..FUZZ_VECTORS).map(|i| {
        if i % FUZZ_INTERNAL_EVERY == FUZZ_INTERNAL_EVERY - 1 {
            fuzz::client_internal_vector(&mut rng)
        } else {
            fuzz::vector(&mut rng)
        }
    }));
    for (i, v) in vectors.enumerate() {
        let conn = if i % 4 == 3 { &mut c3 } else { &mut c2 };
        let reply = conn.try_cmd(&v).unwrap_or_else(|e| {
            panic!(
                "{name}: connection lost on vector {i} ({e}): {}\ncrash: {:?}\nlog:\n{}",
                show(&v),
                crash_lines(&primary),
                primary.log_tail()
            )
        });
        match &reply {
            // internal command from a client: a clean reply is all that is asked. Whether it
            // ran is not relied on: its key is deleted, its generation changes nothing.
            _ if fuzz::is_internal(&v[0]) => {
                internal += 1;
                if let Value::Error(e) = &reply {
                    internal_refused += 1;
                    if let Err(why) = check_error(e) {
                        problems.push(format!("invalid reply to {}: {why}", show(&v)));
                    }
                }
                c2.cmd(&[b"DEL".as_slice(), fuzz::CLIENT_INTERNAL_KEY]);
            }
            Value::Error(e) => {
                errors += 1;
                if let Err(why) = check_error(e) {
                    problems.push(format!("invalid reply to {}: {why}", show(&v)));
                }
            }
            _ => {
                ok += 1;
                if let Some(key) = v.get(1) {
                    history.push(key, &v);
                    let t = generator_of(&mut c2, key);
                    if t == Some(Generator::Snowflake) && !broken.contains(key) {
                        let info = c2.cmd(&[b"SNOWFLAKE.INFO".as_slice(), key]);
                        if let Err(e) = snowflake_invariants(&info) {
                            broken.insert(key.clone());
                            problems.push(format!(
                                "after {} (reply {reply:?}): {e}; last commands on it:\n      {}",
                                show(&v),
                                history.of(key)
                            ));
                        }
                    }
                    if t.is_some() && !unloadable.contains(key) {
                        if let Err(e) = round_trips(&mut c2, key) {
                            unloadable.insert(key.clone());
                            problems.push(format!(
                                "after {} (reply {reply:?}) the key's value no longer loads \
                                 (DUMP/RESTORE: {e}); last commands on it:\n      {}",
                                show(&v),
                                history.of(key)
                            ));
                        }
                    }
                }
            }
        }
        if i % 1000 == 999 || i + 1 == n_edge {
            assert_eq!(c2.cmd(&["PING"]), Value::Simple("PONG".into()), "PING");
            wait_replica_sync(&primary, &replica);
            if c2.cmd(&["DEBUG", "DIGEST"]) != r.cmd(&["DEBUG", "DIGEST"]) {
                for (key, d) in diverged_keys(&mut c2, &mut r, &history) {
                    if diverged.insert(key) {
                        problems.push(format!("primary and replica differ after vector {i}: {d}"));
                    }
                }
            }
        }
    }

    // What the commands left behind is readable and usable, and the dataset reloads.
    let mut keys_left = 0;
    for key in all_keys(&mut c2) {
        let key = key.as_slice();
        let Some(t) = generator_of(&mut c2, key) else {
            continue;
        };
        keys_left += 1;
        for cmd in [t.info_cmd().as_bytes(), t.next_cmd().as_bytes()] {
            let v = c2.cmd(&[cmd, key]);
            if let Value::Error(e) = &v {
                if let Err(why) = check_error(e) {
                    problems.push(format!(
                        "after the fuzz, {} {:?}: {why}",
                        String::from_utf8_lossy(cmd),
                        String::from_utf8_lossy(key)
                    ));
                }
            }
        }
    }
    let reload = c2.cmd(&["DEBUG", "RELOAD"]);
    if reload != Value::Simple("OK".into()) {
        problems.push(format!(
            "DEBUG RELOAD after the fuzz: {reload:?} (the dataset is gone); log: {:?}",
            primary
                .log_tail()
                .lines()
                .filter(|l| l.contains("idgen") || l.contains("RDB"))
                .collect::<Vec<_>>()
        ));
    }
    for s in [&primary, &replica] {
        let crashes = crash_lines(s);
        if !crashes.is_empty() {
            problems.push(format!("crash: {crashes:?}"));
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={} ids_checked=0 repeats=0 errors={errors} \
         ok_replies={ok} internal_from_client={internal} internal_refused={internal_refused} \
         keys_left={keys_left} problems={}",
        FUZZ_VECTORS as usize + n_edge,
        problems.len()
    ));
    assert!(
        problems.is_empty(),
        "{name}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn restore(c: &mut Conn, key: &[u8], payload: &[u8]) -> std::io::Result<Value> {
    c.try_cmd(&[b"RESTORE".as_slice(), key, b"0", payload, b"REPLACE"])
}

/// What SNOWFLAKE.INFO of any generator must satisfy: its unix times are representable
/// (`time_bits_exhausted_at` is exactly epoch + 2^TIME-BITS x TIME-UNIT - 1, not saturated), and
/// the last
/// issued timestamp is below the reservation. `Err` says which does not hold.
fn snowflake_invariants(info: &Value) -> Result<(), String> {
    let epoch = info.field_int("epoch") as i128;
    let bits = info.field_int("time_bits");
    let exhausted = info.field_int("time_bits_exhausted_at") as i128;
    let unit = info.field_int("time_unit") as i128;
    let true_exhausted = epoch + (1i128 << bits.clamp(0, 64)) * unit - 1;
    if exhausted != true_exhausted {
        return Err(format!(
            "EPOCH {epoch} + 2^{bits} x {unit} overflows the unix-ms range: time_bits_exhausted_at is \
             {exhausted}, not {true_exhausted} (INFO {})",
            show_map(info)
        ));
    }
    let (last, mark) = (
        info.field_int("last_timestamp"),
        info.field_int("reserved_until"),
    );
    if last != -1 && last >= mark {
        return Err(format!(
            "last_timestamp not below reserved_until: {}",
            show_map(info)
        ));
    }
    Ok(())
}

/// Checks a generator key (restored from a mutated payload, or loaded from a forged AOF): INFO,
/// NEXT, PARSE, CURRENT answer without a panic, an error reply passes `refusal`, the invariants
/// INFO shows hold after a NEXT, and what the module saves of it loads again (RESTORE into
/// `probe`, which is left behind). `Err` says what is wrong.
fn check_generator(
    c: &mut Conn,
    key: &[u8],
    probe: &[u8],
    refusal: fn(&str) -> Result<(), String>,
) -> std::io::Result<Result<(), String>> {
    let t = match try_generator_of(c, key)? {
        Ok(t) => t,
        Err(other) => return Ok(Err(format!("the key has type {other:?}"))),
    };
    let coded = |v: &Value| -> Result<(), String> {
        match v {
            Value::Error(e) => refusal(e),
            _ => Ok(()),
        }
    };
    let on = |cmd: &'static str| [cmd.as_bytes(), key];
    match t {
        Generator::Snowflake => {
            let info = c.try_cmd(&on("SNOWFLAKE.INFO"))?;
            if info.is_err() {
                return Ok(Err(format!("SNOWFLAKE.INFO: {info:?}")));
            }
            // FORMAT INT: whatever format the restored key has, the checks read integers.
            let one = c.try_cmd(&[b"SNOWFLAKE.NEXT".as_slice(), key, b"FORMAT", b"INT"])?;
            if let Err(e) = coded(&one) {
                return Ok(Err(format!("SNOWFLAKE.NEXT: {e}")));
            }
            let many = c.try_cmd(&[
                b"SNOWFLAKE.NEXT".as_slice(),
                key,
                b"COUNT",
                b"5",
                b"FORMAT",
                b"INT",
            ])?;
            if let Err(e) = coded(&many) {
                return Ok(Err(format!("SNOWFLAKE.NEXT COUNT 5: {e}")));
            }
            if let Value::Array(ids) = &many {
                let ids: Vec<i64> = ids.iter().map(Value::int).collect();
                if ids.len() != 5 || ids.windows(2).any(|w| w[0] >= w[1]) {
                    return Ok(Err(format!("COUNT 5 not increasing: {ids:?}")));
                }
            }
            let after = c.try_cmd(&on("SNOWFLAKE.INFO"))?;
            if let Value::Int(id) = one {
                let id_arg = id.to_string();
                let p = c.try_cmd(&[
                    b"SNOWFLAKE.PARSE".as_slice(),
                    key,
                    id_arg.as_bytes(),
                    b"FORMAT",
                    b"INT",
                ])?;
                if p.is_err() {
                    return Ok(Err(format!("PARSE of its own id {id}: {p:?}")));
                }
                let (ts, mark) = (p.field_int("timestamp"), after.field_int("reserved_until"));
                if ts >= mark {
                    return Ok(Err(format!(
                        "id {id} has timestamp {ts}, not below reserved_until {mark}: {after:?}"
                    )));
                }
            }
            if let Err(e) = snowflake_invariants(&after) {
                return Ok(Err(e));
            }
        }
        Generator::Seq => {
            let info = c.try_cmd(&on("SEQ.INFO"))?;
            if info.is_err() {
                return Ok(Err(format!("SEQ.INFO: {info:?}")));
            }
            let (min, max, inc) = (
                info.field_int("minvalue"),
                info.field_int("maxvalue"),
                info.field_int("increment"),
            );
            let one = c.try_cmd(&on("SEQ.NEXT"))?;
            if let Err(e) = coded(&one) {
                return Ok(Err(format!("SEQ.NEXT: {e}")));
            }
            if let Value::Int(v) = one {
                if v < min || v > max {
                    return Ok(Err(format!("SEQ.NEXT {v} outside [{min}, {max}]")));
                }
            }
            let batch = c.try_cmd(&[b"SEQ.NEXTBATCH".as_slice(), key, b"3"])?;
            if let Err(e) = coded(&batch) {
                return Ok(Err(format!("SEQ.NEXTBATCH: {e}")));
            }
            if let Value::Array(ab) = &batch {
                let (a, b) = (ab[0].int(), ab[1].int());
                if (b as i128 - a as i128) != 2 * inc as i128 || a < min || b > max {
                    return Ok(Err(format!(
                        "SEQ.NEXTBATCH 3 gave [{a}, {b}], increment {inc}"
                    )));
                }
            }
            let cur = c.try_cmd(&on("SEQ.CURRENT"))?;
            if let Err(e) = coded(&cur) {
                return Ok(Err(format!("SEQ.CURRENT: {e}")));
            }
            let after = c.try_cmd(&on("SEQ.INFO"))?;
            if let (Value::Int(last), Value::Int(mark)) =
                (after.field("last"), after.field("reserved_until"))
            {
                let took = !one.is_err() || !batch.is_err();
                if took && last >= mark {
                    return Ok(Err(format!("last not below reserved_until: {after:?}")));
                }
            }
        }
        Generator::Pool => {
            let info = c.try_cmd(&on("WORKER.INFO"))?;
            if info.is_err() {
                return Ok(Err(format!("WORKER.INFO: {info:?}")));
            }
            let (size, next_token) = (info.field_int("size"), info.field_int("next_token"));
            let list = c.try_cmd(&on("WORKER.LIST"))?;
            let Value::Array(entries) = &list else {
                return Ok(Err(format!("WORKER.LIST: {list:?}")));
            };
            let mut last_id = -1;
            for e in entries {
                let Value::Array(f) = e else {
                    return Ok(Err(format!("WORKER.LIST entry {e:?}")));
                };
                let (id, token) = (f[0].int(), f[2].int());
                // (next_token 2^63, every token handed out, shows as 2^63-1.)
                let above = token >= next_token && next_token != i64::MAX;
                if id <= last_id || id >= size || token < 1 || above {
                    return Ok(Err(format!(
                        "WORKER.LIST entry {f:?} (size {size}, next token {next_token})"
                    )));
                }
                // (One holder name on two live leases is not checked: effects from a damaged AOF
                // can leave that, and each lease is still fenced by its own token.)
                last_id = id;
            }
            let calls: [&[&[u8]]; 5] = [
                &[b"WORKER.ACQUIRE", key, b"1000"],
                &[b"WORKER.ACQUIRE", key, b"1000", b"HOLDER", b"svc-a"],
                &[b"WORKER.RENEW", key, b"0", b"1", b"1000"],
                &[b"WORKER.RELEASE", key, b"0", b"1"],
                &[b"WORKER.ROUTE", key, b"task", b"COUNT", b"3"],
            ];
            for cmd in calls {
                let r = c.try_cmd(cmd)?;
                if let Err(e) = coded(&r) {
                    let shown: Vec<_> = cmd.iter().map(|a| String::from_utf8_lossy(a)).collect();
                    return Ok(Err(format!("{shown:?}: {e}")));
                }
            }
            // Used once (resumed): tokens only go up.
            let after = c.try_cmd(&on("WORKER.INFO"))?;
            if after.is_err() || after.field_int("next_token") < next_token {
                return Ok(Err(format!(
                    "WORKER.INFO after use: {after:?} (was {info:?})"
                )));
            }
        }
    }
    // What the module saves now must load again.
    let Value::Bulk(dump) = c.try_cmd(&on("DUMP"))? else {
        return Ok(Err("DUMP of the key failed".into()));
    };
    let again = restore(c, probe, &dump)?;
    if again != Value::Simple("OK".into()) {
        return Ok(Err(format!("its own DUMP does not RESTORE: {again:?}")));
    }
    Ok(Ok(()))
}

/// Scenario 6b: at least `FUZZ_RESTORES_PER_TYPE` mutated DUMP payloads of each data type
/// (flipped bytes, truncations, random and boundary 64-bit values in fields, other opcodes,
/// missing and extra fields, other encoding versions, the other type's id, fields mixed from
/// two values), the footer recomputed: each is refused or loads into a state that works and
/// passes validation, and the server never crashes.
#[test]
fn fuzz_restore_payloads() {
    let _serial = serial();
    let name = "fuzz-restore";
    let mut server = Server::builder("faults-restore")
        .config("crash-memcheck-enabled no")
        .start();
    let mut c = server.conn();
    let setup = [
        "SNOWFLAKE.CREATE src:sf:fresh",
        "SNOWFLAKE.NEXT src:sf:used COUNT 10000",
        "SNOWFLAKE.CREATE src:sf:custom EPOCH 1600000000000 TIME-BITS 45 WORKER-BITS 6 SEQUENCE-BITS 12 WORKER 9",
        "SNOWFLAKE.NEXT src:sf:custom COUNT 100",
        "SNOWFLAKE.CREATE src:sf:narrow TIME-BITS 55 WORKER-BITS 0 SEQUENCE-BITS 8",
        "SNOWFLAKE.NEXT src:sf:narrow COUNT 2000",
        "SEQ.CREATE src:seq:fresh START 5 INCREMENT 5 MINVALUE 5 MAXVALUE 1000000",
        "SEQ.NEXTBATCH src:seq:used 1000",
        "SEQ.CREATE src:seq:cycle START 10 INCREMENT 3 MINVALUE -50 MAXVALUE 1000 CYCLE",
        "SEQ.NEXTBATCH src:seq:cycle 300",
        "SEQ.NEXTBATCH src:seq:cycle 300",
        "SEQ.SET src:seq:set 9223372036854775000",
        "SEQ.NEXT src:seq:set",
        "WORKER.ACQUIRE src:wrk:fresh 5000",
        "WORKER.RELEASE src:wrk:fresh 0 1",
        "WORKER.ACQUIRE src:wrk:used 30000 HOLDER svc-a GRACE 1000",
        "WORKER.ACQUIRE src:wrk:used 20000 HOLDER svc-b",
        "WORKER.ACQUIRE src:wrk:used 10000",
        "WORKER.RENEW src:wrk:used 0 1 40000",
        "WORKER.RELEASE src:wrk:used 2 3",
        "WORKER.ACQUIRE src:wrk:used 5000 HOLDER svc-c",
        "WORKER.ACQUIRE src:wrk:big 60000 SIZE 1048576 GRACE 0 HOLDER big",
        "WORKER.ACQUIRE src:wrk:one 1000 SIZE 1 HOLDER only",
    ];
    for line in setup {
        let r = c.run(line);
        assert!(!r.is_err(), "{line}: {r:?}");
    }
    let dump = |c: &mut Conn, key: &str| match c.cmd(&["DUMP", key]) {
        Value::Bulk(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    };
    // (type, DUMP bodies of its source keys, RDB version of their footer)
    type Sources<'a> = Vec<(&'a str, Vec<Vec<u8>>, [u8; 2])>;
    let mut sources: Sources = Vec::new();
    for (ty, keys) in [
        (
            "snowflake",
            &[
                "src:sf:fresh",
                "src:sf:used",
                "src:sf:custom",
                "src:sf:narrow",
            ][..],
        ),
        (
            "sequence",
            &[
                "src:seq:fresh",
                "src:seq:used",
                "src:seq:cycle",
                "src:seq:set",
            ][..],
        ),
        (
            "pool",
            &[
                "src:wrk:fresh",
                "src:wrk:used",
                "src:wrk:big",
                "src:wrk:one",
            ][..],
        ),
    ] {
        let mut bodies = Vec::new();
        let mut version = [0u8; 2];
        for key in keys {
            let payload = dump(&mut c, key);
            let (body, v) = split_dump(&payload);
            // The footer is recomputed right, and the value layout is understood.
            assert_eq!(forge(&body, v), payload, "CRC64 of DUMP {key}");
            let parsed = fuzz::ModValue::parse(&body).unwrap_or_else(|| {
                panic!("DUMP {key} is not a module value of integers and strings")
            });
            assert_eq!(
                fuzz::ModValue::parse(&parsed.encode()),
                Some(parsed.clone()),
                "re-encoding DUMP {key}"
            );
            assert_eq!(parsed.rdb_type, 7, "RDB_TYPE_MODULE_2");
            bodies.push(body);
            version = v;
        }
        sources.push((ty, bodies, version));
    }
    let module_id = |bodies: &[Vec<u8>]| fuzz::ModValue::parse(&bodies[0]).unwrap().module_id;
    let ids: Vec<u64> = sources.iter().map(|s| module_id(&s.1)).collect();

    let mut rng = Rng::new(seed() ^ 0x4e57);
    let mut crashes: Vec<String> = Vec::new();
    let mut invalid: Vec<String> = Vec::new();
    let (mut accepted, mut refused) = (0u64, 0u64);
    let mut log_offset = 0usize;
    let mut tried = 0u64;
    'types: for (ti, (ty, bodies, version)) in sources.iter().enumerate() {
        // Systematic first (every field at every boundary value, every truncation, every field
        // missing: the same in every run), then random mutations.
        let systematic: Vec<(usize, String, Vec<u8>)> = bodies
            .iter()
            .enumerate()
            .flat_map(|(src, b)| {
                fuzz::systematic(b)
                    .into_iter()
                    .map(move |(what, body)| (src, what, body))
            })
            .collect();
        let random = (0..FUZZ_RESTORES_PER_TYPE).map(|_| {
            let src = rng.below(bodies.len() as u64) as usize;
            let other = ids[(ti + 1 + rng.below(ids.len() as u64 - 1) as usize) % ids.len()];
            let (what, body) = fuzz::mutate(&mut rng, &bodies[src], bodies, other);
            (src, what, body)
        });
        let all: Vec<(usize, String, Vec<u8>)> = systematic.into_iter().chain(random).collect();
        for (i, (src, what, body)) in all.into_iter().enumerate() {
            tried += 1;
            let payload = forge(&body, *version);
            let repro = format!(
                "{ty} source {src}, mutation {i}: {what}; payload {}",
                fuzz::hex(&payload)
            );
            let outcome = restore(&mut c, b"victim", &payload).and_then(|r| match r {
                Value::Simple(s) if s == "OK" => {
                    accepted += 1;
                    check_generator(&mut c, b"victim", b"victim:again", check_error).map(
                        |checked| {
                            if let Err(e) = checked {
                                invalid.push(format!("{repro}\n    accepted, then: {e}"));
                            }
                        },
                    )
                }
                Value::Error(e) => {
                    refused += 1;
                    if !e.starts_with("ERR") {
                        invalid.push(format!("{repro}\n    refused with {e:?}"));
                    }
                    Ok(())
                }
                other => {
                    invalid.push(format!("{repro}\n    RESTORE replied {other:?}"));
                    Ok(())
                }
            });
            let alive = outcome.is_ok() && matches!(c.try_cmd(&["PING"]), Ok(Value::Simple(_)));
            if !alive {
                let log = fs::read_to_string(server.dir().join("redis.log")).unwrap_or_default();
                let new = &log[log_offset.min(log.len())..];
                let why = crash_lines_of(new);
                crashes.push(format!("{repro}\n    server died: {}", why.join(" | ")));
                if crashes.len() >= FUZZ_MAX_CRASHES {
                    break 'types;
                }
                server.restart();
                log_offset = fs::metadata(server.dir().join("redis.log"))
                    .map(|m| m.len() as usize)
                    .unwrap_or(0);
                c = server.conn();
            }
            let _ = c.try_cmd(&["DEL", "victim", "victim:again"]);
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={tried} ids_checked=0 repeats=0 errors={refused} \
         accepted={accepted} crashes={} invalid={}",
        crashes.len(),
        invalid.len()
    ));
    assert!(
        crashes.is_empty(),
        "{name}: RESTORE of a mutated payload crashed the server ({} times; stopped after \
         {FUZZ_MAX_CRASHES}):\n{}",
        crashes.len(),
        crashes.join("\n")
    );
    assert!(
        invalid.is_empty(),
        "{name}: {} payloads misbehaved:\n{}",
        invalid.len(),
        invalid
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// How a server started on a damaged dump.rdb or a forged AOF ended its startup.
#[derive(Clone, Copy, Debug)]
enum Startup {
    /// It answered PING: it loaded the file.
    Served,
    /// It exited by itself.
    Exited(std::process::ExitStatus),
    /// Its load had failed (the log says so) but it did not exit: Redis 7.0 then runs its
    /// built-in RDB check, whose module-value parser (`rdbLoadCheckModuleValue`) loops forever
    /// when the file ends right where it expects an opcode (it never tests for a read error).
    /// A Redis bug, after the module refused the value; killed by the test.
    HungAfterRefusing,
    /// Neither of the above within 10 s.
    Stuck,
}

/// The log lines with which Redis reports a failed RDB load.
const LOAD_FAILED: [&str; 4] = [
    "Short read or OOM loading DB",
    "Internal error in RDB reading",
    "Wrong RDB checksum",
    "Fatal error loading",
];

/// A redis-server the test starts itself, with the module, on a prepared directory (a damaged
/// dump.rdb, a forged AOF); SIGKILLed on drop unless it exited.
struct Trial {
    child: Child,
    port: u16,
    log: PathBuf,
    how: Startup,
}

impl Trial {
    /// Starts redis-server on `dir` with `config` and waits until it exits, serves, or hangs
    /// after a failed load (bounded: 10 s).
    fn start(dir: &Path, config: &[&str]) -> Trial {
        let port = free_port();
        let log = dir.join("redis.log");
        let child = Command::new(common::server_binary())
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &dir.display().to_string(),
                "--logfile",
                &log.display().to_string(),
                "--save",
                "",
                "--crash-memcheck-enabled",
                "no",
            ])
            .args(config)
            .args(["--loadmodule", &module_path().display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let mut t = Trial {
            child,
            port,
            log,
            how: Startup::Stuck,
        };
        t.how = t.wait_startup();
        t
    }

    fn wait_startup(&mut self) -> Startup {
        let start = Instant::now();
        let mut failed_at: Option<Instant> = None;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Startup::Exited(s);
            }
            // A short timeout: a server stuck while loading accepts connections but never
            // answers.
            if let Ok(mut c) = Conn::try_connect_with_timeout(self.port, Duration::from_millis(200))
            {
                if c.send(&[vec!["PING"]]).is_ok() {
                    if let Ok(Value::Simple(p)) = c.read_value() {
                        if p == "PONG" {
                            return Startup::Served;
                        }
                    }
                }
            }
            if failed_at.is_none() {
                let text = self.log_text();
                if LOAD_FAILED.iter().any(|w| text.contains(w)) {
                    failed_at = Some(Instant::now());
                }
            }
            if failed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
                return Startup::HungAfterRefusing;
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Startup::Stuck;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server (unless it exited) and returns its whole log.
    fn stop(mut self) -> String {
        self.kill();
        self.log_text()
    }

    fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts redis-server with the module on `dir` (which holds dump.rdb) and waits until it
/// exits, serves, or hangs after a failed load (bounded). Returns how, and its log.
fn start_on_rdb(dir: &Path) -> (Startup, String) {
    let t = Trial::start(dir, &["--appendonly", "no"]);
    let how = t.how;
    (how, t.stop())
}

/// Scenario 6c: a dump.rdb cut short anywhere makes startup fail cleanly: the server never
/// serves, exits, its log says why, and it does not crash (a module reading past the end of its
/// value must report an error, not abort). One exception is Redis's, not the module's: when the
/// cut falls where a module value's next opcode would be, the load fails as it should (the
/// module refuses the value, the log says so) and then Redis 7.0's own RDB check loops forever
/// (see `Startup::HungAfterRefusing`); those cuts are counted (`hung_in_redis_rdb_check`), not
/// failed.
#[test]
fn truncated_rdb_fails_startup_cleanly() {
    let _serial = serial();
    let name = "truncated-rdb";
    let mut s = Server::start("faults-rdb");
    let mut c = s.conn();
    for line in [
        "SNOWFLAKE.NEXT rdb:sf COUNT 500",
        "SNOWFLAKE.CREATE rdb:sf2 EPOCH 1600000000000 TIME-BITS 45 WORKER-BITS 6 SEQUENCE-BITS 12 WORKER 9",
        "SNOWFLAKE.NEXT rdb:sf2",
        "SEQ.NEXTBATCH rdb:seq 1000",
        "SEQ.CREATE rdb:seq2 START 10 INCREMENT 3 MINVALUE -50 MAXVALUE 1000 CYCLE",
        "SEQ.NEXTBATCH rdb:seq2 100",
    ] {
        assert!(!c.run(line).is_err(), "{line}");
    }
    c.cmd(&["SAVE"]).ok();
    s.kill9();
    let rdb = fs::read(s.dir().join("dump.rdb")).expect("read dump.rdb");
    let n = rdb.len();

    let base = s.dir().join("cuts");
    // The whole file loads (the test's own start works).
    let whole = base.join("whole");
    fs::create_dir_all(&whole).unwrap();
    fs::write(whole.join("dump.rdb"), &rdb).unwrap();
    let (how, log) = start_on_rdb(&whole);
    assert!(
        matches!(how, Startup::Served),
        "the untruncated dump.rdb does not load:\n{log}"
    );

    let mut cuts: Vec<usize> = vec![0, 5, 9, n - 9, n - 8, n - 1];
    let mut rng = Rng::new(seed() ^ 0x7db);
    while cuts.len() < RDB_CUTS {
        cuts.push(rng.range(1, n as i64 - 1) as usize);
    }
    // Every position in the last module value, too: reads past the end of a value.
    cuts.extend((n.saturating_sub(60)..n).step_by(3));
    cuts.sort_unstable();
    cuts.dedup();
    let mut failures = Vec::new();
    let mut hung = Vec::new();
    for &cut in &cuts {
        let dir = base.join(format!("cut-{cut}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("dump.rdb"), &rdb[..cut]).unwrap();
        let (how, log) = start_on_rdb(&dir);
        let crashes = crash_lines_in(&dir.join("redis.log"));
        let says_why = LOAD_FAILED.iter().any(|w| log.contains(w));
        let problem = match how {
            Startup::Served => Some("came up serving".to_string()),
            Startup::Stuck => Some("neither served nor exited within 10 s".into()),
            Startup::Exited(s) if s.success() => Some("exited with success".into()),
            _ if !crashes.is_empty() => Some(format!("crashed: {}", crashes.join(" | "))),
            _ if !says_why => Some("log does not say why".into()),
            Startup::HungAfterRefusing => {
                hung.push(cut);
                None
            }
            Startup::Exited(_) => None,
        };
        if let Some(p) = problem {
            let tail: Vec<&str> = log.lines().rev().take(6).collect();
            failures.push(format!(
                "cut at {cut} of {n} bytes: {p}; log tail: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={} ids_checked=0 repeats=0 errors=0 bad_startups={} \
         hung_in_redis_rdb_check={}",
        cuts.len(),
        failures.len(),
        hung.len()
    ));
    if !hung.is_empty() {
        println!(
            "{name}: at cuts {hung:?} the load failed as it should, then Redis's own RDB check \
             hung (Redis 7.0 rdbLoadCheckModuleValue); the test killed it"
        );
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} truncated dump.rdb files did not fail cleanly (rdb {}):\n{}",
        failures.len(),
        cuts.len(),
        fuzz::hex(&rdb),
        failures.join("\n")
    );
}

/// Writes a Redis 7 multi-part AOF into `dir`: `appendonlydir/` with a manifest that names one
/// incr file (no base: 7.0.15 loads such a manifest) holding `aof`.
fn write_aof(dir: &Path, aof: &[u8]) {
    let aof_dir = dir.join("appendonlydir");
    fs::create_dir_all(&aof_dir).unwrap();
    fs::write(
        aof_dir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    fs::write(aof_dir.join("appendonly.aof.1.incr.aof"), aof).unwrap();
}

/// The line Redis 7.0 logs for each command of an AOF that replied with an error.
const AOF_COMMAND_ERROR: &str = "sending an error to its AOF-loading-client";

/// Every generator of a server that loaded a forged AOF answers INFO without an error and NEXT
/// (and the rest of `check_generator`) with at most a documented refusal. Returns how many keys
/// were checked, or what is wrong.
fn check_loaded(port: u16) -> Result<usize, String> {
    let mut c = Conn::try_connect(port).map_err(|e| format!("connect after the load: {e}"))?;
    let lost = |e: std::io::Error| format!("connection lost while checking ({e})");
    let keys = match c.try_cmd(&["KEYS", "*"]).map_err(lost)? {
        Value::Array(keys) => keys,
        other => return Err(format!("KEYS: {other:?}")),
    };
    let mut checked = 0;
    for key in keys {
        let Value::Bulk(key) = key else {
            return Err(format!("KEYS gave {key:?}"));
        };
        if try_generator_of(&mut c, &key).map_err(lost)?.is_err() {
            continue;
        }
        checked += 1;
        check_generator(&mut c, &key, b"fz:probe", check_issue_refusal)
            .map_err(lost)?
            .map_err(|e| format!("{:?}: {e}", String::from_utf8_lossy(&key)))?;
        let _ = c.try_cmd(&["DEL", "fz:probe"]);
    }
    Ok(checked)
}

/// Scenario 6d: forged AOF files, so that the internal commands' parsers run as they do when a
/// server loads its AOF (from a client those commands are not to be relied on). Each file holds
/// internal-command vectors (exact arity with valid values, one value replaced, one argument too
/// many or too few, random arguments), client commands and well-formed plain Redis commands;
/// the first holds the edge cases; one in eight is cut at a random byte, one in 25 holds an
/// unknown command (which stops the load). A server started on it
/// either loads it, and then every generator answers INFO, NEXT, PARSE, CURRENT with at most a
/// documented refusal and round-trips through DUMP/RESTORE (`check_generator`), or it refuses
/// to start (exits with an error). Never a crash, a caught panic or a hang (every wait is
/// bounded).
///
/// What Redis 7.0.15 does with an AOF, as observed:
/// - A command that replies with an error does not stop the load: Redis logs `== CRITICAL ==
///   This server is sending an error to its AOF-loading-client: '<error>' after processing the
///   command '<name>'` and goes on with the next command (counted as `command_errors`).
/// - The loader does no arity check: it calls the command's function directly. The module checks
///   argc itself (wrong arities are refused like any error), but a Redis built-in with too few
///   arguments crashes Redis itself (`GET` alone: SIGSEGV in `lookupKey`). So only the module's
///   commands get wrong arities here; the plain commands are well-formed.
/// - An unknown command name stops the load: `Unknown command '<name>' reading the append only
///   file`, exit 1. Bytes that are not RESP: `Bad file format reading the append only file`,
///   exit 1. A file cut inside its last command loads up to the cut with `aof-load-truncated
///   yes` (the default).
/// - A manifest may name only an incr file (no base).
#[test]
fn fuzz_forged_aof() {
    let _serial = serial();
    let name = "fuzz-aof";
    // The arities the vectors are built for are the server's.
    {
        let s = Server::start("faults-aof-arity");
        let mut c = s.conn();
        // The fuzzer knows every command the module declares: a new one must be taught to it.
        let mut server: Vec<String> = module_commands(&mut c)
            .into_iter()
            .map(|m| m.name)
            .collect();
        let mut known: Vec<String> = fuzz::CLIENT_COMMANDS
            .iter()
            .chain(fuzz::INTERNAL_COMMANDS.iter())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        server.sort();
        known.sort();
        assert_eq!(
            server, known,
            "the fuzzer's command lists against the module's"
        );
        for cmd in fuzz::INTERNAL_COMMANDS {
            let r = c.cmd(&["COMMAND", "INFO", cmd]);
            // A negative arity is a minimum: the RESERVE commands also take the longer argument
            // lists of newer options; the fuzzer builds the released, shortest ones.
            let arity = r.array()[0].array()[1].int();
            assert_eq!(
                arity.unsigned_abs(),
                fuzz::internal_arity(cmd) as u64,
                "arity of {cmd} (COMMAND INFO)"
            );
        }
    }
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/itest")
        .join(format!("faults-aof-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let mut rng = Rng::new(seed() ^ 0xa0f5);
    let mut problems: Vec<String> = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    let (mut loaded, mut refused, mut keys_checked, mut cut_files) = (0u64, 0u64, 0usize, 0u64);
    let (mut vectors, mut internal, mut command_errors) = (0usize, 0usize, 0usize);
    let mut internal_errors = 0usize;
    for file in 0..FUZZ_AOF_FILES {
        let mut cmds: Vec<Vec<Vec<u8>>> = vec![words("SELECT 0")];
        let mut reserved = fuzz::Reserved::default();
        if file == 0 {
            cmds.extend(fuzz::EDGE_VECTORS.iter().map(|l| words(l)));
        } else {
            for _ in 0..rng.range(5, FUZZ_AOF_MAX_VECTORS) {
                let key = rng.pick(&fuzz::KEYS).to_vec();
                cmds.push(match rng.below(20) {
                    0..=12 => fuzz::internal_vector(&mut rng, &mut reserved),
                    13..=16 => fuzz::vector(&mut rng),
                    17 => vec![b"SET".to_vec(), key, b"x".to_vec()],
                    18 => vec![b"RPUSH".to_vec(), key, b"a".to_vec()],
                    _ => vec![b"DEL".to_vec(), key],
                });
            }
        }
        if file > 0 && rng.chance(1, 25) {
            // A command this server does not have: the load must stop, cleanly.
            let at = 1 + rng.below(cmds.len() as u64) as usize;
            cmds.insert(at, words("IDGEN.NOSUCHCOMMAND fz:k"));
        }
        vectors += cmds.len() - 1;
        internal += cmds.iter().filter(|v| fuzz::is_internal(&v[0])).count();
        let mut aof = common::client::packed(&cmds);
        let mut what = String::new();
        if file > 0 && rng.chance(1, 8) {
            let cut = rng.below(aof.len() as u64) as usize;
            what = format!(", cut to {cut} of {} bytes", aof.len());
            aof.truncate(cut);
            cut_files += 1;
        }
        let dir = base.join(format!("aof-{file}"));
        write_aof(&dir, &aof);
        let trial = Trial::start(
            &dir,
            &["--appendonly", "yes", "--aof-load-truncated", "yes"],
        );
        let port = trial.port;
        let exited = matches!(trial.how, Startup::Exited(_));
        let mut problem = match trial.how {
            Startup::Served => {
                loaded += 1;
                match check_loaded(port) {
                    Ok(n) => {
                        keys_checked += n;
                        None
                    }
                    Err(e) => Some(e),
                }
            }
            Startup::Exited(s) if s.success() => Some("exited with success, never served".into()),
            Startup::Exited(_) => {
                refused += 1;
                None
            }
            Startup::HungAfterRefusing => Some("a load failed and the server did not exit".into()),
            Startup::Stuck => Some("neither served nor exited within 10 s".into()),
        };
        let log = trial.stop();
        for l in log.lines().filter(|l| l.contains(AOF_COMMAND_ERROR)) {
            command_errors += 1;
            let cmd = l.rsplit_once("the command '").map_or("", |(_, c)| c);
            if fuzz::is_internal(cmd.trim_end_matches('\'').as_bytes()) {
                internal_errors += 1;
            }
        }
        let crashes = crash_lines_of(&log);
        if !crashes.is_empty() {
            problem = Some(format!("crash: {}", crashes.join(" | ")));
        }
        if let Some(p) = problem {
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            problems.push(format!(
                "file {file} ({}{what}): {p}\n    log tail: {}\n    commands:\n      {}",
                dir.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n      "),
                cmds.iter()
                    .map(|v| show(v))
                    .collect::<Vec<_>>()
                    .join("\n      ")
            ));
        } else {
            if let Some(r) = trial_refusal(&log).filter(|_| exited) {
                if refusals.len() < 5 && !refusals.contains(&r) {
                    refusals.push(r);
                }
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={FUZZ_AOF_FILES} ids_checked=0 repeats=0 errors={refused} \
         loaded={loaded} refused={refused} cut_files={cut_files} vectors={vectors} \
         internal_vectors={internal} internal_errors={internal_errors} \
         command_errors={command_errors} keys_checked={keys_checked} \
         problems={}",
        problems.len()
    ));
    if !refusals.is_empty() {
        println!("{name}: startups refused with: {}", refusals.join(" | "));
    }
    assert!(
        problems.is_empty(),
        "{name}: {} of {FUZZ_AOF_FILES} forged AOF files misbehaved (kept under {}):\n{}",
        problems.len(),
        base.display(),
        problems.join("\n")
    );
    let _ = fs::remove_dir_all(&base);
}

/// Why a server refused to start on its AOF: the last warning (`#`) line of its log.
fn trial_refusal(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| l.contains(" # "))
        .map(|l| l.split_once(" # ").map_or(l, |(_, m)| m).to_string())
}

// ---------------------------------------------------------------------------------------------
// Scenario 7: the worker-ID pool
// ---------------------------------------------------------------------------------------------

/// Creates the pool with one lease of the longest TTL the holders use, released at once: the
/// pool's longest TTL (which sizes its resume window, and is replicated) covers every later
/// grant from the start.
fn pool_setup(c: &mut Conn) {
    let g = c.cmd(&[
        "WORKER.ACQUIRE".to_string(),
        POOL_KEY.into(),
        "1500".into(),
        "SIZE".into(),
        POOL_SIZE.to_string(),
        "GRACE".into(),
        POOL_GRACE_MS.to_string(),
    ]);
    let g = g.ints();
    let r = c.cmd(&[
        "WORKER.RELEASE".to_string(),
        POOL_KEY.into(),
        g[0].to_string(),
        g[1].to_string(),
    ]);
    r.ok();
}

fn pool_verdict(
    name: &str,
    cycles: u32,
    tenures: &[Tenure],
    counts: &faults::pool::Counts,
    extra: &str,
    servers: &[&Server],
) {
    let v = faults::pool::check(tenures);
    summary(&format!(
        "faults: scenario={name} cycles={cycles} leases_checked={} tenures={} ids_reused={} \
         overlaps={} tokens_reused={} not_before_low={} grants={} renewals={} releases={} \
         fenced={} stops={} stops_fenced={} abandoned={} pool_full={} resuming={} io_errors={} \
         other_errors={:?}{extra}",
        v.leases,
        tenures.len(),
        v.ids_reused,
        v.overlaps,
        v.tokens_reused,
        v.not_before_low,
        counts.grants,
        counts.renewals,
        counts.releases,
        counts.fenced,
        counts.stops,
        counts.stops_fenced,
        counts.abandoned,
        counts.pool_full,
        counts.resuming,
        counts.io_errors,
        counts.other_errors,
    ));
    for s in servers {
        let crashes = crash_lines(s);
        assert!(crashes.is_empty(), "{name}: a server crashed:\n{crashes:?}");
    }
    assert!(
        counts.malformed.is_empty(),
        "{name}: malformed replies {:?}",
        counts.malformed
    );
    assert_eq!(
        (v.overlaps, v.tokens_reused, v.not_before_low),
        (0, 0, 0),
        "{name}: two holders shared an ID, a token was reused, or a not-before was low:\n  {}",
        v.examples.join("\n  ")
    );
    assert!(
        v.leases >= POOL_MIN_LEASES,
        "{name}: only {} leases checked",
        v.leases
    );
    assert_eq!(
        v.ids_reused, POOL_SIZE as u64,
        "{name}: every ID should change hands"
    );
    assert!(
        counts.resuming > 0,
        "{name}: no grant was held back by a resume window"
    );
    assert!(
        counts.stops_fenced > 0,
        "{name}: no stopped holder was fenced"
    );
}

/// Scenario 7a: holders under kill -9 with `appendfsync always`. After each restart the pool
/// resumes: no grant for its longest TTL plus the grace, renewals go on.
#[test]
fn pool_kill9_aof_always_never_double_grants() {
    let _serial = serial();
    let name = "pool-aof-always";
    let mut server = Server::builder("faults-pool-aof")
        .config("appendonly yes")
        .config("appendfsync always")
        .config("crash-memcheck-enabled no")
        .start();
    pool_setup(&mut server.conn());
    let load = PoolLoad::start(server.port(), POOL_NAMED, POOL_ANONYMOUS, seed());
    let mut timeline = Vec::new();
    for cycle in 0..POOL_AOF_CYCLES {
        load.wait_grants(
            20,
            Duration::from_secs(20),
            "holders to get leases after a restart",
        );
        thread::sleep(POOL_LOAD);
        let kill_ms = now_ms();
        server.kill9();
        server.restart();
        timeline.push(format!(
            "cycle {cycle}: kill -9 at {kill_ms}, serving again at {}",
            now_ms()
        ));
    }
    load.wait_grants(
        20,
        Duration::from_secs(20),
        "holders to get leases after the last restart",
    );
    thread::sleep(Duration::from_millis(300));
    let (tenures, counts) = load.stop();
    println!("{name} timeline:\n  {}", timeline.join("\n  "));
    pool_verdict(name, POOL_AOF_CYCLES, &tenures, &counts, "", &[&server]);
}

/// Scenario 7b: holders on a primary whose replica lags (stream held in the proxy, replica
/// stopped), the primary killed, the replica promoted: grants and renewals the replica never
/// received are lost. The promoted pool grants nothing for its longest TTL plus the grace, so no
/// lost lease's ID goes to another holder while it may be in use; a lost grant's holder is told
/// LEASELOST. The old primary comes back as a replica of the new one.
#[test]
fn pool_failover_never_double_grants() {
    let _serial = serial();
    let name = "pool-failover";
    let builder = |role: &str| {
        Server::builder(&format!("faults-pool-failover-{role}")).config("crash-memcheck-enabled no")
    };
    let mut primary = builder("a").start();
    let mut proxy = Proxy::start(primary.port());
    let mut replica = builder("b").replicaof(proxy.port()).start();
    wait_link_up(&replica, Duration::from_secs(20));
    pool_setup(&mut primary.conn());
    wait_replica_sync(&primary, &replica);
    let load = PoolLoad::start(primary.port(), POOL_NAMED, POOL_ANONYMOUS, seed());
    let mut timeline = Vec::new();
    let mut lost_bytes = 0;
    for cycle in 0..POOL_FAILOVER_CYCLES {
        let lag = POOL_LAGS[cycle as usize % POOL_LAGS.len()];
        load.wait_grants(
            20,
            Duration::from_secs(20),
            "holders to get leases from the new primary",
        );
        thread::sleep(POOL_LOAD);
        let mut ctl = Conn::try_connect_with_timeout(replica.port(), Duration::from_secs(10))
            .expect("connect to the replica");
        let FailedOver {
            lag_ms,
            kill_ms,
            promoted_ms,
            lost,
        } = fail_over(
            &mut primary,
            &mut replica,
            &mut proxy,
            &mut ctl,
            lag,
            || {},
            || {},
            |port| load.set_target(port),
        );
        lost_bytes += lost;
        timeline.push(format!(
            "cycle {cycle}: stream held at {lag_ms} ({} ms), primary killed at {kill_ms} ({lost} \
             stream bytes lost), promoted at {promoted_ms}, old primary in sync at {}",
            lag.as_millis(),
            now_ms()
        ));
    }
    load.wait_grants(
        20,
        Duration::from_secs(20),
        "holders to get leases after the last failover",
    );
    thread::sleep(Duration::from_millis(300));
    let (tenures, counts) = load.stop();
    println!("{name} timeline:\n  {}", timeline.join("\n  "));
    assert!(
        lost_bytes > 0,
        "{name}: the failovers lost no replication stream"
    );
    pool_verdict(
        name,
        POOL_FAILOVER_CYCLES,
        &tenures,
        &counts,
        &format!(" stream_bytes_lost={lost_bytes}"),
        &[&primary, &replica],
    );
}

/// The pool checker fails on what it must catch: an ID granted while an earlier lease on it was
/// in use, a not-before below an earlier use, a token seen twice.
#[test]
fn pool_checker_catches_double_grants() {
    let t = |id, token, holder: Option<&str>, start, end, nb| Tenure {
        id,
        token,
        holder: holder.map(String::from),
        start,
        end,
        not_before: nb,
    };
    let good = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(0, 3, Some("b"), 2_300, 3_000, 2_000),
        t(1, 2, None, 1_000, 5_000, 0),
        t(0, 3, Some("b"), 2_300, 3_500, 2_000),
    ];
    let v = faults::pool::check(&good);
    assert_eq!(
        (v.leases, v.overlaps, v.tokens_reused, v.not_before_low),
        (3, 0, 0, 0),
        "{v:?}"
    );
    let overlap = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(0, 2, Some("b"), 1_900, 3_000, 2_000),
    ];
    assert_eq!(faults::pool::check(&overlap).overlaps, 1);
    let low = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(0, 2, Some("b"), 2_500, 3_000, 1_999),
    ];
    assert_eq!(faults::pool::check(&low).not_before_low, 1);
    let reused = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(1, 1, Some("a"), 2_500, 3_000, 2_000),
    ];
    assert_eq!(faults::pool::check(&reused).tokens_reused, 1);
    let anon = [
        t(0, 1, None, 1_000, 2_000, 0),
        t(0, 1, None, 2_500, 3_000, 2_000),
    ];
    assert_eq!(faults::pool::check(&anon).tokens_reused, 1);
}

// ---------------------------------------------------------------------------------------------
// Scenario 7: a per-period key across period boundaries (and its INCR control)
// ---------------------------------------------------------------------------------------------

/// Boundary crossings of scenario 7, one per kill.
const PERIOD_CYCLES: u32 = 6;
/// How long before the boundary the module clock is set, and when after it the server is killed.
const BEFORE_BOUNDARY: Duration = Duration::from_millis(1500);
const KILL_AFTER_BOUNDARY: Duration = Duration::from_millis(300);

struct PeriodRun {
    report: faults::period::PeriodReport,
    timeline: Vec<String>,
    server: Server,
}

/// Each cycle: the module clock set to 1.5 s before the next local midnight of a later day, load
/// across the boundary, kill -9 0.3 s after it, the AOF cut back by `EVERYSEC_LOST` (so the
/// reservation that carried the new period is lost), restart with the clients held until the
/// module clock is set again (a restarted server's test clock starts at offset 0).
fn period_scenario(name: &str, control: bool) -> PeriodRun {
    use faults::period::{check, next_midnight, PeriodLoad, CREATE};
    let module = test_clock_module();
    let mut server = start_with_module(
        &module,
        with_env_module_args(Server::builder(name))
            .config("appendonly yes")
            .config("appendfsync everysec")
            .config("auto-aof-rewrite-percentage 0")
            .config("crash-memcheck-enabled no"),
    );
    let mut c = server.conn();
    assert_eq!(
        c.cmd(&["IDGEN.DEBUG-CLOCK"]),
        Value::Int(0),
        "test-clock build"
    );
    c.run(CREATE).ok();
    let load = PeriodLoad::start(server.port(), CLIENTS, seed() ^ 0x9e71, control);
    let sampler = Sampler::start();
    let mut timeline = Vec::new();
    load.wait_progress(20, Duration::from_secs(20), "clients to be served");
    for cycle in 0..PERIOD_CYCLES {
        let boundary = next_midnight(now_ms() + (cycle as i64 + 1) * 86_400_000);
        let offset = boundary - BEFORE_BOUNDARY.as_millis() as i64 - now_ms();
        load.shared()
            .offset
            .store(offset, std::sync::atomic::Ordering::Relaxed);
        server.conn().cmd(&args!["IDGEN.DEBUG-CLOCK", offset]).int();
        sampler.watch(incr_file(server.dir()));
        thread::sleep(BEFORE_BOUNDARY + KILL_AFTER_BOUNDARY);
        let at = Instant::now();
        server.kill9();
        let (size, age) = sampler.size_before(at, EVERYSEC_LOST);
        let cut = truncate(&incr_file(server.dir()), size);
        load.pause(true);
        server.restart();
        server.conn().cmd(&args!["IDGEN.DEBUG-CLOCK", offset]).int();
        load.pause(false);
        timeline.push(format!(
            "cycle {cycle}: boundary {boundary} (module clock), killed {} ms after it, AOF cut back \
             {cut} bytes (its size {} ms before the kill)",
            KILL_AFTER_BOUNDARY.as_millis(),
            age.as_millis()
        ));
        load.wait_progress(
            20,
            Duration::from_secs(20),
            "clients to be served after a restart",
        );
        thread::sleep(Duration::from_millis(700));
    }
    let logs = load.stop();
    drop(sampler);
    PeriodRun {
        report: check(logs),
        timeline,
        server,
    }
}

fn period_line(name: &str, r: &faults::period::PeriodReport) -> String {
    format!(
        "faults: scenario={name} cycles={PERIOD_CYCLES} ids_checked={} repeats={} errors={} \
         periods={} malformed={}",
        r.values_checked,
        r.repeats,
        r.errors.values().sum::<u64>() + r.io_errors,
        r.periods,
        r.malformed.len()
    )
}

/// Scenario 7: no formatted value of a per-period key is handed out twice across period
/// boundaries, kills and power cuts.
#[test]
fn period_boundary_power_cut_never_repeats() {
    let _serial = serial();
    let name = "period-boundary";
    let run = period_scenario("faults-period", false);
    summary(&period_line(name, &run.report));
    let r = &run.report;
    let crashes = crash_lines(&run.server);
    assert!(crashes.is_empty(), "{name}: a server crashed:\n{crashes:?}");
    let why = format!(
        "examples:\n  {}\nmalformed:\n  {}\nerrors: {:?}\ntimeline:\n  {}",
        r.examples.join("\n  "),
        r.malformed.join("\n  "),
        r.errors,
        run.timeline.join("\n  ")
    );
    assert!(r.malformed.is_empty(), "{name}: malformed replies\n{why}");
    assert_eq!(
        r.repeats, 0,
        "{name}: a formatted value was handed out twice\n{why}"
    );
    assert!(
        r.values_checked >= MIN_IDS_CHECKED,
        "{name}: too few values\n{why}"
    );
    assert!(
        r.periods > PERIOD_CYCLES as usize,
        "{name}: the load did not cross the boundaries\n{why}"
    );
    let unexpected: Vec<_> = r
        .errors
        .keys()
        .filter(|k| k.as_str() != "LOADING")
        .collect();
    assert!(unexpected.is_empty(), "{name}: error replies\n{why}");
}

/// Scenario 7's control: the everyday per-date counter repeats under the same injections.
#[test]
fn control_incr_per_date_repeats_after_power_cut() {
    let _serial = serial();
    let run = period_scenario("faults-period-control", true);
    let name = "control-incr-per-date";
    summary(&period_line(name, &run.report));
    assert!(
        run.report.malformed.is_empty(),
        "{:?}",
        run.report.malformed
    );
    assert!(
        run.report.repeats > 0,
        "{name}: INCR repeated nothing: the injection lost no history\n{:?}",
        run.timeline
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 9: split brain (the reservation fence, issue 11)
// ---------------------------------------------------------------------------------------------

/// How long each split lasts, cycle after cycle, with the fence on (the 60 s split is one cycle).
const SPLITS_FENCED: [Duration; 3] = [
    Duration::from_secs(3),
    Duration::from_secs(15),
    Duration::from_secs(60),
];
/// The same without the fence (the run that shows the repeats the fence prevents).
const SPLITS_UNFENCED: [Duration; 2] = [Duration::from_secs(3), Duration::from_secs(15)];
/// Load on the primary before each split.
const SPLIT_LOAD: Duration = Duration::from_millis(1500);
/// Clients per workload and side (idgen and INCR on both sides of the split).
const SPLIT_CLIENTS: usize = 2;

struct SplitRun {
    cycles: u32,
    idgen: Report,
    incr: Report,
    timeline: Vec<String>,
    servers: Vec<Server>,
}

/// One node of the split scenario with the proxy its replication link runs through (none for
/// the primary).
struct Node {
    server: Server,
    link: Option<Proxy>,
}

fn replicaof(node: &mut Node, primary_port: u16) {
    let proxy = Proxy::start(primary_port);
    let r = node.server.conn().cmd(&[
        "REPLICAOF".to_string(),
        "127.0.0.1".into(),
        proxy.port().to_string(),
    ]);
    assert!(
        matches!(&r, Value::Simple(s) if s.starts_with("OK")),
        "REPLICAOF: {r:?}"
    );
    if let Some(old) = node.link.replace(proxy) {
        old.close();
    }
}

/// A primary and two replicas (distinct `idgen.worker-id`s 1..3, each replica linked through a
/// `Proxy`), idgen and INCR load on the primary. Each cycle: both replication links are cut in
/// both directions (the primary is alone on its side; it still sees its replicas "connected"),
/// the first replica is promoted and the second follows it, the clients on the primary move to
/// the new primary while new clients go on using the old one for the split's duration, then the
/// old primary rejoins as a replica of the new one (and full-syncs). Every value received on
/// either side is checked; `fence` sets `idgen.reserve-min-replicas 1`.
/// The split durations: `default`, or `$FAULTS_SPLITS` (seconds, comma-separated) to measure
/// other lengths (README's partition row comes from runs with `FAULTS_SPLITS=3`, `15`, `60`).
fn splits_or_env(default: &[Duration]) -> Vec<Duration> {
    match std::env::var("FAULTS_SPLITS") {
        Ok(v) => v
            .split(',')
            .map(|s| Duration::from_secs(s.trim().parse().expect("FAULTS_SPLITS: seconds")))
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn split_scenario(name: &str, fence: bool, splits: &[Duration]) -> SplitRun {
    let builder = |role: &str, worker: u32| {
        with_env_module_args(Server::builder(&format!("{name}-{role}")))
            .config("crash-memcheck-enabled no")
            .config("repl-diskless-sync-delay 0")
            .module_arg("idgen.worker-id", &worker.to_string())
            .module_arg("idgen.reserve-min-replicas", if fence { "1" } else { "0" })
    };
    let primary = builder("a", 1).start();
    let mut nodes = vec![Node {
        server: primary,
        link: None,
    }];
    for (role, worker) in [("b", 2), ("c", 3)] {
        let proxy = Proxy::start(nodes[0].server.port());
        let server = builder(role, worker).replicaof(proxy.port()).start();
        nodes.push(Node {
            server,
            link: Some(proxy),
        });
    }
    for n in &nodes[1..] {
        wait_link_up(&n.server, Duration::from_secs(20));
    }
    Workload::Idgen.setup(&mut nodes[0].server.conn());
    let port0 = nodes[0].server.port();
    let main = [
        Load::start(Workload::Idgen, port0, SPLIT_CLIENTS, seed()),
        Load::start(Workload::Incr, port0, SPLIT_CLIENTS, seed() ^ 0x5151),
    ];
    let (mut idgen_logs, mut incr_logs) = (Vec::new(), Vec::new());
    let mut timeline = Vec::new();
    for (cycle, split) in splits.iter().enumerate() {
        let cycle = cycle as u32;
        for l in &main {
            l.set_cycle(cycle);
        }
        main[0].wait_progress(20, Duration::from_secs(20), "clients to be served");
        main[1].wait_progress(20, Duration::from_secs(20), "INCR clients to be served");
        thread::sleep(SPLIT_LOAD);

        // The partition: the primary (nodes[0]) loses both replicas, in both directions.
        let cut_ms = now_ms();
        for n in &nodes[1..] {
            n.link.as_ref().expect("a replica's link").cut();
        }
        let r = nodes[1].server.conn().run("REPLICAOF NO ONE");
        assert_eq!(r, Value::Simple("OK".into()), "REPLICAOF NO ONE");
        let promoted_ms = now_ms();
        let new_port = nodes[1].server.port();
        replicaof(&mut nodes[2], new_port);
        // The clients of the primary move to the new one (their connections are closed); new
        // clients keep using the old primary on its side of the split.
        for l in &main {
            l.set_target(new_port);
        }
        nodes[0].server.conn().run("CLIENT KILL TYPE normal");
        let old_port = nodes[0].server.port();
        let stale = [
            Load::start(
                Workload::Idgen,
                old_port,
                SPLIT_CLIENTS,
                seed().wrapping_add(7 + cycle as u64),
            ),
            Load::start(
                Workload::Incr,
                old_port,
                SPLIT_CLIENTS,
                seed().wrapping_add(77 + cycle as u64),
            ),
        ];
        for l in &stale {
            l.set_cycle(cycle);
        }
        thread::sleep(*split);

        // The old primary rejoins as a replica of the new one.
        let [si, sc] = stale;
        let (_, li) = si.stop();
        let (_, lc) = sc.stop();
        let old_ok: u64 = li.iter().map(|l| l.ok).sum();
        let old_refused: u64 = li
            .iter()
            .map(|l| l.error_kinds.get("NOREPLICAS").copied().unwrap_or(0))
            .sum();
        idgen_logs.extend(li);
        incr_logs.extend(lc);
        let rejoin_ms = now_ms();
        replicaof(&mut nodes[0], new_port);
        wait_link_up(&nodes[0].server, Duration::from_secs(60));
        timeline.push(format!(
            "cycle {cycle}: cut at {cut_ms} ({} ms split), port {new_port} promoted at \
             {promoted_ms}; old primary {old_port}: {old_ok} idgen replies, {old_refused} \
             NOREPLICAS; rejoined at {rejoin_ms}, in sync at {}",
            split.as_millis(),
            now_ms()
        ));
        // The new primary first; the old one is now the last replica.
        let old = nodes.remove(0);
        nodes.push(old);
        nodes[0].link.take().map(Proxy::close);
    }
    for l in &main {
        l.set_cycle(splits.len() as u32);
    }
    main[0].wait_progress(20, Duration::from_secs(30), "clients after the last split");
    thread::sleep(Duration::from_millis(300));
    let [mi, mc] = main;
    let (_, li) = mi.stop();
    let (_, lc) = mc.stop();
    idgen_logs.extend(li);
    incr_logs.extend(lc);
    SplitRun {
        cycles: splits.len() as u32,
        idgen: check(Workload::Idgen, idgen_logs),
        incr: check(Workload::Incr, incr_logs),
        timeline,
        servers: nodes.into_iter().map(|n| n.server).collect(),
    }
}

fn split_lines(name: &str, run: &SplitRun, splits: &[Duration]) {
    let secs: Vec<String> = splits.iter().map(|d| d.as_secs().to_string()).collect();
    let extra = format!(
        " splits_s={} noreplicas={}",
        secs.join(","),
        run.idgen
            .error_kinds
            .get("NOREPLICAS")
            .copied()
            .unwrap_or(0)
    );
    summary(&report_line(name, run.cycles, &run.idgen, &extra));
    summary(&report_line(
        &format!("{name}-incr-control"),
        run.cycles,
        &run.incr,
        &format!(" splits_s={}", secs.join(",")),
    ));
    for t in &run.timeline {
        println!("  {t}");
    }
}

/// Scenario 9: split brain with the fence on: no value received twice on either side; plain
/// INCR under the same splits repeats (the control).
#[test]
fn split_brain_fenced_never_repeats() {
    let _serial = serial();
    let name = "split-brain-fenced";
    let splits = splits_or_env(&SPLITS_FENCED);
    let run = split_scenario("faults-split-fenced", true, &splits);
    split_lines(name, &run, &splits);
    let servers: Vec<&Server> = run.servers.iter().collect();
    assert_idgen_clean(name, &run.idgen, &run.timeline, &servers);
    assert!(
        run.idgen
            .error_kinds
            .get("NOREPLICAS")
            .copied()
            .unwrap_or(0)
            > 0,
        "{name}: the cut-off primary never refused a new block\n{}",
        details(&run.idgen, &run.timeline)
    );
    assert!(
        run.incr.repeats > 0,
        "{name}: INCR repeated nothing: the split lost no history\n{}",
        details(&run.incr, &run.timeline)
    );
}

/// Scenario 9 without the fence: the same splits make sequences and fixed-worker snowflake keys
/// repeat (the checker can fail), and INCR.
#[test]
fn split_brain_unfenced_repeats() {
    let _serial = serial();
    let name = "split-brain-unfenced";
    let splits = splits_or_env(&SPLITS_UNFENCED);
    let run = split_scenario("faults-split-unfenced", false, &splits);
    split_lines(name, &run, &splits);
    assert!(
        run.idgen.repeats > 0,
        "{name}: no repeats without the fence: the split lost no history, so the fenced run's \
         zero proves nothing\n{}",
        details(&run.idgen, &run.timeline)
    );
    assert!(run.incr.repeats > 0, "{name}: INCR repeated nothing");
}

// ---------------------------------------------------------------------------------------------
// Scenario 10: the fence's availability cost
// ---------------------------------------------------------------------------------------------

/// Stop/resume cycles of the availability scenario, and how long the replica stays stopped.
const AVAIL_CYCLES: u32 = 3;
const AVAIL_STOPPED: Duration = Duration::from_secs(5);

/// What one client saw of the fence, on a primary whose only replica is stopped and resumed.
#[derive(Default, Debug)]
struct Avail {
    /// Values served after the replica stopped, before the first refusal (from reserved blocks
    /// and while the fence had not yet closed).
    served_after_stop: u64,
    /// Time from the stop to the first NOREPLICAS (ms).
    first_refusal_ms: Vec<i64>,
    /// Time from SIGCONT to the first value served again (ms).
    back_ms: Vec<i64>,
    refusals: u64,
    values: Vec<i64>,
    sf_ids: Vec<i64>,
}

/// Scenario 10: with the fence on (`idgen.reserve-min-replicas 1`) and the only replica stopped
/// (SIGSTOP), the primary goes on serving from its reserved blocks, then refuses calls that need
/// a new block with NOREPLICAS (and WORKER.ACQUIRE too), and serves again once the replica is
/// back. No value twice.
#[test]
fn fence_refuses_new_blocks_while_the_replica_is_stopped() {
    let _serial = serial();
    let name = "fence-availability";
    let primary = with_env_module_args(Server::builder("faults-avail-a"))
        .config("crash-memcheck-enabled no")
        .module_arg("idgen.reserve-min-replicas", "1")
        .start();
    let replica = Server::builder("faults-avail-b")
        .config("repl-diskless-sync-delay 0")
        .replicaof(primary.port())
        .start();
    wait_link_up(&replica, Duration::from_secs(20));
    let mut c = primary.conn();
    common::wait_until(Duration::from_secs(10), "the fence to open", || {
        info_field(&mut c, "idgen", "idgen_fence_open").as_deref() == Some("1")
    });
    c.run("SNOWFLAKE.CREATE sf:avail WORKER 9").ok();
    let mut a = Avail::default();
    let call = |c: &mut Conn, a: &mut Avail| -> bool {
        let r = c.cmd(&["SEQ.NEXTBATCH", "seq:avail", "10"]);
        let s = c.cmd(&["SNOWFLAKE.NEXT", "sf:avail"]);
        let mut ok = true;
        for v in [r, s] {
            match v {
                Value::Array(items) => {
                    let (first, last) = (items[0].int(), items[1].int());
                    a.values.extend(first..=last);
                }
                Value::Int(id) => a.sf_ids.push(id),
                Value::Error(e) => {
                    assert!(e.starts_with("NOREPLICAS "), "{name}: unexpected error {e}");
                    a.refusals += 1;
                    ok = false;
                }
                other => panic!("{name}: unexpected reply {other:?}"),
            }
        }
        ok
    };
    for cycle in 0..AVAIL_CYCLES {
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            assert!(call(&mut c, &mut a), "{name}: refused with the replica up");
        }
        let stopped = Stopped::new(pid(&replica));
        let stop_at = Instant::now();
        let mut refused_at = None;
        while stop_at.elapsed() < AVAIL_STOPPED {
            if call(&mut c, &mut a) {
                if refused_at.is_none() {
                    a.served_after_stop += 1;
                }
            } else if refused_at.is_none() {
                refused_at = Some(stop_at.elapsed());
            }
            thread::sleep(Duration::from_millis(1));
        }
        let refused_at = refused_at.unwrap_or_else(|| {
            panic!(
                "{name}: cycle {cycle}: no refusal in {AVAIL_STOPPED:?} with the replica stopped"
            )
        });
        a.first_refusal_ms.push(refused_at.as_millis() as i64);
        assert_eq!(
            info_field(&mut c, "idgen", "idgen_fence_open").as_deref(),
            Some("0")
        );
        let r = c.cmd(&["WORKER.ACQUIRE", "pool:avail", "5000"]);
        assert!(
            r.is_err() && r.err().starts_with("NOREPLICAS"),
            "{name}: WORKER.ACQUIRE while fenced: {r:?}"
        );
        stopped.resume();
        let back = Instant::now();
        common::wait_until(
            Duration::from_secs(10),
            "the primary to serve again",
            || call(&mut c, &mut a),
        );
        a.back_ms.push(back.elapsed().as_millis() as i64);
        let r = c.cmd(&["WORKER.ACQUIRE", "pool:avail", "5000"]);
        assert!(
            !r.is_err(),
            "{name}: WORKER.ACQUIRE after the return: {r:?}"
        );
    }
    let fence_refusals: u64 = info_field(&mut c, "idgen", "idgen_fence_refusals")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let ids_checked = (a.values.len() + a.sf_ids.len()) as u64;
    let mut vs = a.values.clone();
    vs.sort_unstable();
    vs.dedup();
    let mut ss = a.sf_ids.clone();
    ss.sort_unstable();
    ss.dedup();
    let repeats = ids_checked - (vs.len() + ss.len()) as u64;
    summary(&format!(
        "faults: scenario={name} cycles={AVAIL_CYCLES} ids_checked={ids_checked} repeats={repeats} \
         refusals={} fence_refusals={fence_refusals} served_after_stop={} \
         first_refusal_after_stop_ms={:?} served_again_after_resume_ms={:?}",
        a.refusals, a.served_after_stop, a.first_refusal_ms, a.back_ms
    ));
    assert_eq!(repeats, 0, "{name}: values received twice");
    assert!(
        a.served_after_stop > 0,
        "{name}: nothing served from the reserved blocks"
    );
    assert!(
        fence_refusals >= a.refusals,
        "{name}: INFO idgen fence_refusals {fence_refusals}"
    );
    assert!(crash_lines(&primary).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Scenario 11: Sentinel failovers of a paused primary (the fence on)
// ---------------------------------------------------------------------------------------------

/// Failover cycles of the Sentinel scenario, Sentinel's `down-after-milliseconds`, and the load
/// before each pause.
const SENTINEL_CYCLES: u32 = 3;
const SENTINEL_DOWN_AFTER_MS: u64 = 1000;
const SENTINEL_LOAD: Duration = Duration::from_millis(1500);

/// Scenario 11: a primary, two replicas (distinct worker IDs, the fence on) and three
/// `redis-sentinel`s; the load finds the primary through Sentinel. Each cycle the primary is
/// paused (SIGSTOP) past `down-after-milliseconds`, Sentinel fails over, and the old primary is
/// resumed as soon as Sentinel names the new one: it first answers what its clients sent while
/// it was paused (from its reserved blocks; new blocks are refused: its fence judgment is stale,
/// then its replicas' acknowledgements are), until Sentinel demotes it. No value twice; INCR
/// under the same load is reported as a control.
#[test]
fn sentinel_failovers_of_a_paused_primary_never_repeat() {
    use faults::sentinel::{Sentinel, Watcher};
    use std::sync::Arc;
    let _serial = serial();
    let name = "sentinel";
    let builder = |role: &str, worker: u32| {
        with_env_module_args(Server::builder(&format!("faults-sentinel-{role}")))
            .config_file()
            .config("crash-memcheck-enabled no")
            .config("repl-diskless-sync-delay 0")
            .module_arg("idgen.worker-id", &worker.to_string())
            .module_arg("idgen.reserve-min-replicas", "1")
    };
    let first = builder("a", 1).start();
    let mut servers = vec![first];
    for (role, worker) in [("b", 2), ("c", 3)] {
        let port = servers[0].port();
        servers.push(builder(role, worker).replicaof(port).start());
    }
    for r in &servers[1..] {
        wait_link_up(r, Duration::from_secs(20));
    }
    let port0 = servers[0].port();
    Workload::Idgen.setup(&mut servers[0].conn());
    let sentinels: Vec<Sentinel> = (0..3)
        .map(|i| {
            Sentinel::start(
                &format!("faults-sentinel-s{i}"),
                port0,
                SENTINEL_DOWN_AFTER_MS,
            )
        })
        .collect();
    // Let the sentinels find the replicas and each other.
    common::wait_until(
        Duration::from_secs(30),
        "sentinels to see both replicas",
        || {
            sentinels.iter().all(|s| {
                Conn::try_connect(s.port)
                    .ok()
                    .and_then(|mut c| {
                        c.try_cmd(&["SENTINEL", "replicas", faults::sentinel::MASTER])
                            .ok()
                    })
                    .is_some_and(|v| matches!(v, Value::Array(a) if a.len() == 2))
            })
        },
    );
    let loads = vec![
        Arc::new(Load::start(Workload::Idgen, port0, CLIENTS, seed())),
        Arc::new(Load::start(Workload::Incr, port0, 2, seed() ^ 0x5e)),
    ];
    let watcher = Watcher::start(
        sentinels.iter().map(|s| s.port).collect(),
        loads.clone(),
        port0,
    );
    let mut timeline = Vec::new();
    for cycle in 0..SENTINEL_CYCLES {
        for l in &loads {
            l.set_cycle(cycle);
        }
        loads[0].wait_progress(20, Duration::from_secs(30), "clients to be served");
        thread::sleep(SENTINEL_LOAD);
        let old_port = watcher.current.load(std::sync::atomic::Ordering::Relaxed);
        let old = servers
            .iter()
            .find(|s| s.port() == old_port)
            .expect("the primary Sentinel names is one of ours");
        let paused_ms = now_ms();
        let stopped = Stopped::new(pid(old));
        common::wait_until(Duration::from_secs(60), "Sentinel to fail over", || {
            watcher.current.load(std::sync::atomic::Ordering::Relaxed) != old_port
        });
        let failed_over_ms = now_ms();
        stopped.resume();
        let new_port = watcher.current.load(std::sync::atomic::Ordering::Relaxed);
        // The old primary is demoted by Sentinel once it sees it again.
        common::wait_until(
            Duration::from_secs(60),
            "the old primary to be demoted",
            || {
                Conn::try_connect(old_port)
                    .ok()
                    // Sentinel kills normal clients when it reconfigures the node: a reset
                    // connection is polled again.
                    .and_then(|mut c| try_info_field(&mut c, "replication", "master_link_status"))
                    .as_deref()
                    == Some("up")
            },
        );
        timeline.push(format!(
            "cycle {cycle}: primary {old_port} paused at {paused_ms}, Sentinel named {new_port} \
             at {failed_over_ms} (resumed then), old primary in sync as a replica at {}",
            now_ms()
        ));
    }
    for l in &loads {
        l.set_cycle(SENTINEL_CYCLES);
    }
    loads[0].wait_progress(
        20,
        Duration::from_secs(30),
        "clients after the last failover",
    );
    thread::sleep(Duration::from_millis(300));
    drop(watcher);
    let mut it = loads.into_iter().map(|l| {
        Arc::try_unwrap(l)
            .unwrap_or_else(|_| panic!("the watcher still holds a load"))
            .stop()
    });
    let (wi, li) = it.next().unwrap();
    let (wc, lc) = it.next().unwrap();
    let idgen = check(wi, li);
    let incr = check(wc, lc);
    let extra = format!(
        " noreplicas={}",
        idgen.error_kinds.get("NOREPLICAS").copied().unwrap_or(0)
    );
    summary(&report_line(name, SENTINEL_CYCLES, &idgen, &extra));
    summary(&report_line(
        "sentinel-incr-control",
        SENTINEL_CYCLES,
        &incr,
        "",
    ));
    for t in &timeline {
        println!("  {t}");
    }
    let refs: Vec<&Server> = servers.iter().collect();
    assert_idgen_clean(name, &idgen, &timeline, &refs);
    drop(sentinels);
}
