//! Scenario 11: Sentinel failovers of a paused primary (the fence on).

use super::*;

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
    use crate::sentinel::{Sentinel, Watcher};
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
    idgen_testkit::wait_until(
        Duration::from_secs(30),
        "sentinels to see both replicas",
        || {
            sentinels.iter().all(|s| {
                Conn::try_connect(s.port)
                    .ok()
                    .and_then(|mut c| {
                        c.try_cmd(&["SENTINEL", "replicas", crate::sentinel::MASTER])
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
        idgen_testkit::wait_until(Duration::from_secs(60), "Sentinel to fail over", || {
            watcher.current.load(std::sync::atomic::Ordering::Relaxed) != old_port
        });
        let failed_over_ms = now_ms();
        stopped.resume();
        let new_port = watcher.current.load(std::sync::atomic::Ordering::Relaxed);
        // The old primary is demoted by Sentinel once it sees it again.
        idgen_testkit::wait_until(
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
