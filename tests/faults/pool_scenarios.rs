//! Scenario 7: the worker-ID pool under kill -9 and failovers (the checker in `pool.rs`).

use super::*;
use crate::crashes::{fail_over, FailedOver};

// ---------------------------------------------------------------------------------------------
// Scenario 7: the worker-ID pool
// ---------------------------------------------------------------------------------------------

/// Creates the pool with one lease of the longest TTL the holders use, released at once: the
/// pool's longest TTL (which sizes its resume window, and is replicated) covers every later
/// grant from the start.
pub(crate) fn pool_setup(c: &mut Conn) {
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
    counts: &crate::pool::Counts,
    extra: &str,
    servers: &[&Server],
) {
    let v = crate::pool::check(tenures);
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
    let v = crate::pool::check(&good);
    assert_eq!(
        (v.leases, v.overlaps, v.tokens_reused, v.not_before_low),
        (3, 0, 0, 0),
        "{v:?}"
    );
    let overlap = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(0, 2, Some("b"), 1_900, 3_000, 2_000),
    ];
    assert_eq!(crate::pool::check(&overlap).overlaps, 1);
    let low = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(0, 2, Some("b"), 2_500, 3_000, 1_999),
    ];
    assert_eq!(crate::pool::check(&low).not_before_low, 1);
    let reused = [
        t(0, 1, Some("a"), 1_000, 2_000, 0),
        t(1, 1, Some("a"), 2_500, 3_000, 2_000),
    ];
    assert_eq!(crate::pool::check(&reused).tokens_reused, 1);
    let anon = [
        t(0, 1, None, 1_000, 2_000, 0),
        t(0, 1, None, 2_500, 3_000, 2_000),
    ];
    assert_eq!(crate::pool::check(&anon).tokens_reused, 1);
}
