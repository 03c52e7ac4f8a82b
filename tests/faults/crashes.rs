//! Scenarios 1-5: kill -9 with an AOF (power cut, `appendfsync always`), failover to a lagging
//! replica, their INCR controls, and clock steps.

use super::*;

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
pub(crate) struct FailedOver {
    pub(crate) lag_ms: i64,
    pub(crate) kill_ms: i64,
    pub(crate) promoted_ms: i64,
    pub(crate) lost: u64,
}

/// One failover to a lagging replica, as the failover scenarios run it: hold back the replication
/// stream in `proxy` and SIGSTOP the replica (`before_kill` runs then) for `lag`, kill -9 the
/// primary (`after_kill`), SIGCONT and promote the replica over `ctl` (`REPLICAOF NO ONE`, sent
/// before the SIGCONT so that it is the first thing the replica does), move the clients to it
/// (`retarget` gets its port), then restart the old primary on its port as a replica of the new
/// one through a new proxy, and wait until it is in sync. On return `primary` and `replica` have
/// swapped roles.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fail_over(
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
    assert_eq!(
        report.uid.order_violations,
        0,
        "{name}: a client saw a UUID key's values go backwards\n{}",
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
