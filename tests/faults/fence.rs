//! Scenario 10: the fence's availability cost (the only replica stopped).

use super::*;

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
    idgen_testkit::wait_until(Duration::from_secs(10), "the fence to open", || {
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
        idgen_testkit::wait_until(
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
