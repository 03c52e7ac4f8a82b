//! What the server's settings let the module promise: a replica never issues (whatever
//! `replica-read-only` says), and without AOF sequences and pools refuse rather than repeat
//! after a restart (`MISCONF`), unless `idgen.allow-unsafe-persistence yes`; snowflake keys
//! resume above the clock and keep serving. `INFO idgen` says which holds.
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use idgen_testkit::{info_field, module_commands, wait_replica_sync, Conn, Server, Value};

fn idgen(c: &mut Conn, field: &str) -> String {
    info_field(c, "idgen", &format!("idgen_{field}")).unwrap_or_else(|| panic!("INFO {field}"))
}

fn assert_code(v: &Value, code: &str, what: &str) {
    assert!(
        v.is_err() && v.err().starts_with(&format!("{code} ")),
        "{what}: expected a {code} error, got {v:?}"
    );
}

/// A call of every client command that writes, with arguments that pass its arity and parser,
/// on keys `seq`, `sf` and `pool`. A new write command must be added here (the test fails).
fn write_calls(c: &mut Conn) -> Vec<Vec<String>> {
    let known: &[&[&str]] = &[
        &["SNOWFLAKE.CREATE", "sf2"],
        &["SNOWFLAKE.NEXT", "sf"],
        &["SEQ.CREATE", "seq2"],
        &["SEQ.NEXT", "seq"],
        &["SEQ.NEXTBATCH", "seq", "10"],
        &["SEQ.SET", "seq", "100000"],
        &["WORKER.ACQUIRE", "pool", "30000"],
        &["WORKER.RENEW", "pool", "0", "1", "30000"],
        &["WORKER.RELEASE", "pool", "0", "1"],
        &["UUID.CREATE", "uuid2"],
        &["UUID.NEXT", "uuid"],
    ];
    let writes: Vec<String> = module_commands(c)
        .into_iter()
        .filter(|m| !m.internal && m.flags.iter().any(|f| f == "write"))
        .map(|m| m.name)
        .collect();
    for w in &writes {
        assert!(
            known.iter().any(|k| k[0].eq_ignore_ascii_case(w)),
            "write command {w} has no call in write_calls: add one"
        );
    }
    known
        .iter()
        .map(|k| k.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn without_aof_sequences_and_pools_refuse_snowflakes_serve() {
    let s = Server::builder("settings-rdb")
        .refuse_unsafe_persistence()
        .config("save 3600 1")
        .start();
    let mut c = s.conn();
    assert_eq!(idgen(&mut c, "persistence"), "rdb-only");
    assert!(idgen(&mut c, "never_twice").starts_with("no ("));
    assert_eq!(idgen(&mut c, "unsafe_persistence"), "refuse");
    assert!(idgen(&mut c, "issuing").starts_with("snowflakes and UUIDs only"));
    for call in [
        &["SEQ.NEXT", "s"][..],
        &["SEQ.NEXTBATCH", "s", "5"],
        &["SEQ.CREATE", "s"],
        &["SEQ.SET", "s", "5"],
        &["WORKER.ACQUIRE", "p", "30000"],
    ] {
        let v = c.cmd(call);
        assert_code(&v, "MISCONF", &format!("{call:?}"));
        assert!(v.err().contains("CONFIG SET appendonly yes"), "{v:?}");
    }
    assert_eq!(
        c.cmd(&["EXISTS", "s", "p"]).int(),
        0,
        "a refusal changes nothing"
    );
    assert_eq!(idgen(&mut c, "persistence_refusals"), "5");
    // Reads stay allowed; snowflakes serve (they resume above the clock).
    assert!(c.cmd(&["SEQ.CURRENT", "s"]).is_null());
    assert!(c.cmd(&["SNOWFLAKE.NEXT", "f"]).int() > 0);
    // UUID keys too (they resume above the clock like snowflakes).
    assert_eq!(c.cmd(&["UUID.NEXT", "uu"]).as_str().len(), 36);
    assert!(s.log().contains("persistence rdb-only"), "logged once");

    // The same without any snapshot.
    let n = Server::builder("settings-none")
        .refuse_unsafe_persistence()
        .start();
    let mut c = n.conn();
    assert_eq!(idgen(&mut c, "persistence"), "none");
    assert_code(&c.cmd(&["SEQ.NEXT", "s"]), "MISCONF", "no persistence");
}

/// A crash after a snapshot: by default snowflakes repeat nothing and sequences issue nothing;
/// with `idgen.allow-unsafe-persistence yes` a sequence resumes from the snapshot plus the safety
/// gap and repeats what was issued beyond it, as the docs say (the control: the check can fail).
#[test]
fn rdb_only_crash_after_a_snapshot() {
    let mut s = Server::builder("settings-crash")
        .refuse_unsafe_persistence()
        .config("save 3600 1")
        .start();
    let mut c = s.conn();
    let mut seen = HashSet::new();
    let mut take = |c: &mut Conn, n: usize| -> usize {
        (0..n / 1000)
            .map(|_| {
                let v = c.cmd(&["SNOWFLAKE.NEXT", "f", "COUNT", "1000"]);
                v.ints().into_iter().filter(|id| !seen.insert(*id)).count()
            })
            .sum()
    };
    let mut repeats = take(&mut c, 5000);
    c.cmd(&["SAVE"]).ok();
    repeats += take(&mut c, 50_000);
    assert_code(&c.cmd(&["SEQ.NEXT", "s"]), "MISCONF", "sequence");
    s.kill9();
    s.restart();
    let mut c = s.conn();
    repeats += take(&mut c, 50_000);
    assert_eq!(repeats, 0, "snowflake IDs repeated after the restart");
    assert_code(
        &c.cmd(&["SEQ.NEXT", "s"]),
        "MISCONF",
        "sequence after the restart",
    );

    // The warn setting: served, and the restart repeats (gap 1000, window 0: what a fast burst
    // after the snapshot does with any gap).
    let mut w = Server::builder("settings-warn")
        .config("save 3600 1")
        .module_arg("idgen.safety-window-ms", "0")
        .module_arg("idgen.safety-min-gap", "1000")
        .start();
    let mut c = w.conn();
    assert_eq!(idgen(&mut c, "unsafe_persistence"), "warn");
    assert!(idgen(&mut c, "issuing").starts_with("all (no AOF"));
    let batch = |c: &mut Conn, n: i64| {
        let r = c.cmd(&["SEQ.NEXTBATCH", "s", &n.to_string()]).ints();
        (r[0], r[1])
    };
    batch(&mut c, 3000);
    c.cmd(&["SAVE"]).ok();
    let (_, last) = batch(&mut c, 20_000);
    w.kill9();
    w.restart();
    let mut c = w.conn();
    let (first, _) = batch(&mut c, 10);
    assert!(
        first <= last,
        "with the warn setting the sequence resumed at {first}, above the {last} issued before the crash"
    );
}

#[test]
fn appendonly_switched_at_run_time() {
    let s = Server::builder("settings-switch")
        .refuse_unsafe_persistence()
        .start();
    let mut c = s.conn();
    assert_code(&c.cmd(&["SEQ.NEXT", "s"]), "MISCONF", "no AOF");
    c.cmd(&["CONFIG", "SET", "appendonly", "yes"]).ok();
    assert_eq!(idgen(&mut c, "persistence"), "aof-everysec");
    assert_eq!(idgen(&mut c, "never_twice").split(' ').next(), Some("yes"));
    assert_eq!(idgen(&mut c, "issuing"), "all");
    assert_eq!(c.cmd(&["SEQ.NEXT", "s"]).int(), 1);
    c.cmd(&["CONFIG", "SET", "appendfsync", "always"]).ok();
    assert_eq!(idgen(&mut c, "persistence"), "aof-always");
    c.cmd(&["CONFIG", "SET", "appendonly", "no"]).ok();
    assert_eq!(idgen(&mut c, "persistence"), "none");
    assert_code(&c.cmd(&["SEQ.NEXT", "s"]), "MISCONF", "AOF turned off");
    // The operator's choice, at run time too.
    c.cmd(&["CONFIG", "SET", "idgen.allow-unsafe-persistence", "yes"])
        .ok();
    assert_eq!(c.cmd(&["SEQ.NEXT", "s"]).int(), 2);
    c.cmd(&["CONFIG", "SET", "idgen.allow-unsafe-persistence", "no"])
        .ok();
    assert_code(&c.cmd(&["SEQ.NEXT", "s"]), "MISCONF", "refusing again");
    c.cmd(&["CONFIG", "SET", "appendonly", "yes"]).ok();
    assert_eq!(c.cmd(&["SEQ.NEXT", "s"]).int(), 3);
    let log = s.log();
    assert!(
        log.contains("persistence aof-always"),
        "each change is logged"
    );
    assert!(log.contains("persistence none"), "each change is logged");
}

/// A replica with `replica-read-only no` refuses every client write of the module with READONLY
/// while its primary serves under load, reads still work there, and once promoted it issues
/// above everything the primary issued.
#[test]
fn writable_replica_never_issues_until_promoted() {
    let primary = Server::builder("settings-primary")
        .config("appendonly yes")
        .module_arg("idgen.worker-id", "1")
        .start();
    let replica = Server::builder("settings-replica")
        .config("appendonly yes")
        .config("replica-read-only no")
        .module_arg("idgen.worker-id", "2")
        .replicaof(primary.port())
        .start();
    let mut p = primary.conn();
    p.cmd(&["SEQ.NEXT", "seq"]).int();
    p.cmd(&["SNOWFLAKE.CREATE", "sf", "WORKER", "5"]).ok();
    p.cmd(&["WORKER.ACQUIRE", "pool", "30000"]);
    wait_replica_sync(&primary, &replica);

    // Load on the primary meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let port = primary.port();
    let load = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut c = Conn::connect(port);
            let mut got = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                got.extend(c.cmd(&["SEQ.NEXTBATCH", "seq", "100"]).ints());
            }
            got
        })
    };
    let mut r = replica.conn();
    assert!(idgen(&mut r, "issuing").starts_with("none"));
    let calls = write_calls(&mut r);
    let mut refused = 0;
    for _round in 0..50 {
        for call in &calls {
            assert_code(&r.cmd(call), "READONLY", &format!("{call:?} on a replica"));
            refused += 1;
        }
    }
    // Plain Redis writes are still the server's business (replica-read-only no).
    r.cmd(&["SET", "tmp", "1"]).ok();
    for read in [
        &["SEQ.CURRENT", "seq"][..],
        &["SEQ.INFO", "seq"],
        &["SNOWFLAKE.INFO", "sf"],
        &["WORKER.LIST", "pool"],
        &["WORKER.INFO", "pool"],
    ] {
        assert!(!r.cmd(read).is_err(), "{read:?} is a read");
    }
    assert_eq!(idgen(&mut r, "replica_refusals"), refused.to_string());
    stop.store(true, Ordering::Relaxed);
    let mut issued = load.join().unwrap();
    assert!(!issued.is_empty());
    // NEXTBATCH replies [first, last]: the values are the ranges.
    let ranges: Vec<(i64, i64)> = issued.chunks(2).map(|w| (w[0], w[1])).collect();
    let top = ranges.iter().map(|r| r.1).max().unwrap();
    issued.clear();
    let mut values = HashSet::new();
    for (a, b) in &ranges {
        for v in *a..=*b {
            assert!(values.insert(v), "the primary repeated {v}");
        }
    }
    wait_replica_sync(&primary, &replica);

    // Promoted: it issues, above everything the primary issued.
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    assert_eq!(idgen(&mut r, "issuing"), "all");
    let next = r.cmd(&["SEQ.NEXT", "seq"]).int();
    assert!(
        next > top,
        "promoted replica issued {next}, not above {top}"
    );
    assert!(r.cmd(&["SNOWFLAKE.NEXT", "sf"]).int() > 0);
    // A pool resumes after a promotion: it grants nothing while a lease it never heard of may
    // still be in use (POOLRESUMING), but it no longer answers as a replica.
    let acquire = r.cmd(&["WORKER.ACQUIRE", "pool", "30000"]);
    assert!(
        !acquire.is_err() || acquire.err().starts_with("POOLRESUMING "),
        "{acquire:?}"
    );
}
