//! Scenario 9: split brain, with and without the reservation fence.

use super::*;

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
