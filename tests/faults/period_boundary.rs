//! Scenario 8: a per-period sequence across a period boundary under a power cut, and its INCR
//! control.

use super::*;

// ---------------------------------------------------------------------------------------------
// Scenario 7: a per-period key across period boundaries (and its INCR control)
// ---------------------------------------------------------------------------------------------

/// Boundary crossings of scenario 7, one per kill.
const PERIOD_CYCLES: u32 = 6;
/// How long before the boundary the module clock is set, and when after it the server is killed.
const BEFORE_BOUNDARY: Duration = Duration::from_millis(1500);
const KILL_AFTER_BOUNDARY: Duration = Duration::from_millis(300);

struct PeriodRun {
    report: period::PeriodReport,
    timeline: Vec<String>,
    server: Server,
}

/// Each cycle: the module clock set to 1.5 s before the next local midnight of a later day, load
/// across the boundary, kill -9 0.3 s after it, the AOF cut back by `EVERYSEC_LOST` (so the
/// reservation that carried the new period is lost), restart with the clients held until the
/// module clock is set again (a restarted server's test clock starts at offset 0).
fn period_scenario(name: &str, control: bool) -> PeriodRun {
    use period::{check, next_midnight, PeriodLoad, CREATE};
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

fn period_line(name: &str, r: &period::PeriodReport) -> String {
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
