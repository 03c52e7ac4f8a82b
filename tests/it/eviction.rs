//! Eviction: a generator key that Redis evicts under `maxmemory` never reissues a value. Its
//! name resumes above everything it issued, under `allkeys-lru`, `allkeys-lfu` and
//! `allkeys-random`, after a restart (AOF and RDB), on a replica and after its promotion; a
//! pool grants none of the IDs that were leased. `DEL` and `FLUSHALL` stay what they were: a
//! fresh generator. With no records kept (`idgen.max-eviction-records 0`) an evicted sequence
//! starts again at 1: the check can fail.

use std::collections::HashSet;

use idgen_testkit::{info_field, wait_replica_sync, wait_until, Conn, Server, Value};
use std::time::Duration;

const SEQ: &str = "ev:seq";
const SF: &str = "ev:sf";
const UID: &str = "ev:uuid";
const POOL: &str = "ev:pool";
const NAMES: [&str; 4] = [SEQ, SF, UID, POOL];

fn idgen(c: &mut Conn, field: &str) -> i64 {
    info_field(c, "idgen", &format!("idgen_{field}"))
        .unwrap_or_else(|| panic!("INFO idgen_{field}"))
        .parse()
        .unwrap()
}

/// What the generators issued: every value, and the highest of each ordered key.
#[derive(Default)]
struct Issued {
    seen: HashSet<String>,
    max_seq: i64,
    max_sf: i64,
    max_uuid: String,
    max_token: i64,
}

impl Issued {
    /// Issues `n` values from each generator (and leases every ID of the pool when `lease`),
    /// recording them; returns how many values repeated what was recorded before.
    fn issue(&mut self, c: &mut Conn, n: usize) -> usize {
        let mut repeats = 0;
        let mut add = |seen: &mut HashSet<String>, v: String| {
            if !seen.insert(v) {
                repeats += 1;
            }
        };
        for _ in 0..n {
            let v = c.cmd(&["SEQ.NEXT", SEQ]).int();
            assert!(v > self.max_seq, "{SEQ}: {v} after {}", self.max_seq);
            self.max_seq = v;
            add(&mut self.seen, format!("seq:{v}"));
        }
        for v in c.cmd(&args!["SNOWFLAKE.NEXT", SF, "COUNT", n]).ints() {
            assert!(v > self.max_sf, "{SF}: {v} after {}", self.max_sf);
            self.max_sf = v;
            add(&mut self.seen, format!("sf:{v}"));
        }
        let uuids = c.cmd(&args!["UUID.NEXT", UID, "COUNT", n, "FORMAT", "HEX"]);
        for u in uuids.array() {
            let u = u.as_str().to_string();
            assert!(u > self.max_uuid, "{UID}: {u} after {}", self.max_uuid);
            self.max_uuid = u.clone();
            // The position (time, counter, worker) is what a reissue repeats: the random bits
            // differ.
            add(&mut self.seen, format!("uuid:{}", &u[..20]));
        }
        repeats
    }

    /// Leases every ID of the 4-ID pool (TTL 2 s); records the tokens.
    fn lease_all(&mut self, c: &mut Conn) {
        for _ in 0..4 {
            let g = c.cmd(&["WORKER.ACQUIRE", POOL, "2000", "SIZE", "4", "GRACE", "0"]);
            let token = g.ints()[1];
            assert!(token > self.max_token);
            self.max_token = token;
        }
    }
}

fn create(c: &mut Conn) {
    c.cmd(&["SNOWFLAKE.CREATE", SF, "WORKER", "5"]).ok();
    c.cmd(&["UUID.CREATE", UID, "WORKER", "5"]).ok();
    c.cmd(&["SEQ.CREATE", SEQ]).ok();
}

/// Fills the server with junk, then lowers `maxmemory` below what it holds under `policy` until
/// every key is evicted (`allkeys-*`), or every generator key of `NAMES` (`volatile-*`); restores `maxmemory 0`. Returns the keys evicted by Redis.
fn evict_all(c: &mut Conn, policy: &str) -> i64 {
    let before = info_field(c, "stats", "evicted_keys")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]).ok();
    let junk: Vec<Vec<String>> = (0..5000)
        .map(|i| args!["SET", format!("junk:{i}"), "x".repeat(100)].to_vec())
        .collect();
    c.pipeline(&junk);
    c.cmd(&["CONFIG", "SET", "maxmemory", "200000"]);
    wait_until(
        Duration::from_secs(20),
        "every generator key evicted",
        || {
            // Each command lets Redis evict (a write is refused with OOM meanwhile).
            c.cmd(&["SET", "trigger", "x"]);
            if policy.starts_with("allkeys-") {
                // Every key is evictable: wait for all of them (the tests' own names too).
                c.cmd(&["DBSIZE"]) == Value::Int(0)
            } else {
                NAMES.iter().all(|k| c.cmd(&["EXISTS", k]) == Value::Int(0))
            }
        },
    );
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]).ok();
    info_field(c, "stats", "evicted_keys")
        .unwrap()
        .parse::<i64>()
        .unwrap()
        - before
}

/// A server with AOF (the setting under which sequences may issue), maxmemory off until the test
/// evicts.
fn server(name: &str) -> Server {
    Server::builder(name)
        .config("appendonly yes")
        .config("appendfsync always")
        .start()
}

fn evicted_names_resume_above(policy: &str, lazy: bool) {
    let s = server(&format!("evict-{policy}"));
    let mut c = s.conn();
    if lazy {
        // The value is freed in the background: the unlink still comes first, on this thread.
        c.cmd(&["CONFIG", "SET", "lazyfree-lazy-eviction", "yes"])
            .ok();
    }
    create(&mut c);
    let mut issued = Issued::default();
    assert_eq!(issued.issue(&mut c, 500), 0);
    issued.lease_all(&mut c);
    let evicted = evict_all(&mut c, policy);
    assert!(evicted >= 4, "{policy}: {evicted} keys evicted");
    assert!(idgen(&mut c, "evicted_generators") >= 4);
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    // The next calls resume above everything issued: no value again.
    assert_eq!(issued.issue(&mut c, 500), 0, "{policy}: repeats");
    // The pool grants none of the IDs leased before: it waits out the longest TTL.
    let r = c.cmd(&["WORKER.ACQUIRE", POOL, "2000", "SIZE", "4", "GRACE", "0"]);
    assert!(
        r.is_err() && r.err().starts_with("POOLRESUMING"),
        "{policy}: a revived pool granted {r:?}"
    );
    assert_eq!(idgen(&mut c, "revived_generators"), 4);
    assert_eq!(idgen(&mut c, "eviction_records"), 0);
    wait_until(Duration::from_secs(10), "the pool to grant again", || {
        !c.cmd(&["WORKER.ACQUIRE", POOL, "2000"]).is_err()
    });
    assert!(s
        .log()
        .contains(&format!("maxmemory-policy {policy} can evict")));
}

#[test]
fn evicted_generators_never_repeat_under_allkeys_lru() {
    evicted_names_resume_above("allkeys-lru", false);
}

#[test]
fn evicted_generators_never_repeat_under_allkeys_lfu() {
    evicted_names_resume_above("allkeys-lfu", false);
}

#[test]
fn evicted_generators_never_repeat_under_allkeys_random_with_lazy_free() {
    evicted_names_resume_above("allkeys-random", true);
}

#[test]
fn volatile_policies_evict_generators_with_a_ttl() {
    let s = server("evict-volatile");
    let mut c = s.conn();
    create(&mut c);
    let mut issued = Issued::default();
    issued.issue(&mut c, 100);
    issued.lease_all(&mut c);
    for k in NAMES {
        c.cmd(&["EXPIRE", k, "3600"]);
    }
    evict_all(&mut c, "volatile-lru");
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    assert_eq!(issued.issue(&mut c, 100), 0);
}

#[test]
fn records_survive_a_restart_from_the_aof_and_from_the_rdb() {
    let mut s = server("evict-restart");
    let mut c = s.conn();
    create(&mut c);
    let mut issued = Issued::default();
    issued.issue(&mut c, 300);
    issued.lease_all(&mut c);
    evict_all(&mut c, "allkeys-random");
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    // kill -9: the records come back from the AOF (IDGEN.EVICTED after the eviction's DEL).
    s.restart();
    let mut c = s.conn();
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    // A rewrite (RDB preamble: the records in the aux data) and DEBUG RELOAD (RDB).
    c.cmd(&["BGREWRITEAOF"]);
    wait_until(Duration::from_secs(10), "the AOF rewrite", || {
        info_field(&mut c, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
    });
    c.cmd(&["DEBUG", "RELOAD"]).ok();
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    s.restart();
    let mut c = s.conn();
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    assert_eq!(issued.issue(&mut c, 300), 0, "repeats after restarts");
    // The revivals reached the AOF: a restart keeps the keys and only the record of the pool,
    // which nothing used since.
    s.restart();
    let mut c = s.conn();
    assert_eq!(idgen(&mut c, "eviction_records"), 1);
    for k in [SEQ, SF, UID] {
        assert_eq!(
            c.cmd(&["EXISTS", k]),
            Value::Int(1),
            "{k} after the restart"
        );
    }
    assert_eq!(
        issued.issue(&mut c, 300),
        0,
        "repeats after the last restart"
    );
}

#[test]
fn records_reach_the_replica_and_serve_after_its_promotion() {
    let primary = server("evict-primary");
    let replica = Server::builder("evict-replica")
        .config("appendonly yes")
        .replicaof(primary.port())
        .start();
    wait_replica_sync(&primary, &replica);
    let mut p = primary.conn();
    create(&mut p);
    let mut issued = Issued::default();
    issued.issue(&mut p, 400);
    issued.lease_all(&mut p);
    evict_all(&mut p, "allkeys-lru");
    wait_replica_sync(&primary, &replica);
    let mut r = replica.conn();
    assert_eq!(idgen(&mut r, "eviction_records"), 4);
    for k in NAMES {
        assert_eq!(r.cmd(&["EXISTS", k]), Value::Int(0), "{k} on the replica");
    }
    // One name revived on the primary: the replica gets the key and spends the record.
    issued.issue_seq_only(&mut p, 10);
    wait_replica_sync(&primary, &replica);
    assert_eq!(idgen(&mut r, "eviction_records"), 3);
    assert_eq!(r.cmd(&["EXISTS", SEQ]), Value::Int(1));
    // The replica is promoted: every name resumes above what the primary issued.
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    assert_eq!(issued.issue(&mut r, 400), 0, "repeats after the promotion");
    let g = r.cmd(&["WORKER.ACQUIRE", POOL, "2000"]);
    assert!(g.is_err() && g.err().starts_with("POOLRESUMING"), "{g:?}");
}

impl Issued {
    fn issue_seq_only(&mut self, c: &mut Conn, n: usize) {
        for _ in 0..n {
            let v = c.cmd(&["SEQ.NEXT", SEQ]).int();
            assert!(v > self.max_seq);
            self.max_seq = v;
            assert!(self.seen.insert(format!("seq:{v}")));
        }
    }
}

#[test]
fn del_and_flushall_still_give_a_fresh_generator() {
    let s = server("evict-del");
    let mut c = s.conn();
    c.cmd(&["CONFIG", "SET", "maxmemory", "100000000"]).ok();
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
        .ok();
    for _ in 0..10 {
        c.cmd(&["SEQ.NEXT", "d"]);
    }
    c.cmd(&["DEL", "d"]);
    assert_eq!(c.cmd(&["SEQ.NEXT", "d"]).int(), 1, "DEL: a fresh sequence");
    c.cmd(&["UNLINK", "d"]);
    assert_eq!(
        c.cmd(&["SEQ.NEXT", "d"]).int(),
        1,
        "UNLINK: a fresh sequence"
    );
    assert_eq!(idgen(&mut c, "eviction_records"), 0);
    // Records are forgotten by FLUSHALL.
    create(&mut c);
    let mut issued = Issued::default();
    issued.issue(&mut c, 10);
    evict_all(&mut c, "allkeys-lru");
    assert_eq!(idgen(&mut c, "eviction_records"), 4);
    c.cmd(&["FLUSHALL"]).ok();
    assert_eq!(idgen(&mut c, "eviction_records"), 0);
    assert_eq!(
        c.cmd(&["SEQ.NEXT", SEQ]).int(),
        1,
        "FLUSHALL: a fresh sequence"
    );
}

#[test]
fn without_records_an_evicted_sequence_repeats() {
    let s = Server::builder("evict-control")
        .config("appendonly yes")
        .module_arg("idgen.max-eviction-records", "0")
        .start();
    let mut c = s.conn();
    let first: Vec<i64> = (0..50).map(|_| c.cmd(&["SEQ.NEXT", SEQ]).int()).collect();
    evict_all(&mut c, "allkeys-lru");
    assert_eq!(idgen(&mut c, "eviction_records_dropped"), 1);
    let again: Vec<i64> = (0..50).map(|_| c.cmd(&["SEQ.NEXT", SEQ]).int()).collect();
    assert_eq!(first, again, "the control must repeat");
}

#[test]
fn records_are_bounded_and_checked() {
    let s = Server::builder("evict-bound")
        .config("appendonly yes")
        .module_arg("idgen.max-eviction-records", "2")
        .start();
    let mut c = s.conn();
    for k in ["b1", "b2", "b3"] {
        c.cmd(&["SEQ.NEXT", k]);
    }
    evict_all(&mut c, "allkeys-random");
    assert_eq!(idgen(&mut c, "eviction_records"), 2);
    assert_eq!(idgen(&mut c, "eviction_records_dropped"), 1);
    assert!(idgen(&mut c, "eviction_records_bytes") > 0);
    assert!(s.log().contains("idgen.max-eviction-records (2)"));
    // The internal command is refused from a client.
    let r = c.cmd(&["IDGEN.EVICTED", "x", "idgen-seq", "0", "1"]);
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn a_revived_name_keeps_its_type() {
    let s = server("evict-type");
    let mut c = s.conn();
    create(&mut c);
    Issued::default().issue(&mut c, 5);
    evict_all(&mut c, "allkeys-lru");
    // The name is the snowflake key's: a sequence command revives it and gets WRONGTYPE.
    let r = c.cmd(&["SEQ.NEXT", SF]);
    assert!(r.is_err() && r.err().starts_with("WRONGTYPE"), "{r:?}");
    assert_eq!(c.cmd(&["EXISTS", SF]), Value::Int(1));
    let info = c.cmd(&["SNOWFLAKE.INFO", SF]);
    assert_eq!(info.field_int("worker"), 5);
}
