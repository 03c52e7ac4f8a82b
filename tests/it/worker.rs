//! WORKER.*: leases on the worker IDs of a pool, against real servers. Holders are modelled by
//! their calls: a "stopped" holder is one that stops renewing while the module clock is moved
//! forward with `IDGEN.DEBUG-CLOCK` (the `test-clock` build, which every server of this file
//! runs), so nothing here sleeps for a lease to expire.

use std::collections::BTreeSet;
use std::time::Duration;

use idgen_testkit::*;

// ---- servers with the test-clock build -------------------------------------------------------

fn start(b: ServerBuilder) -> Server {
    b.module(test_clock_module()).start()
}

fn server(name: &str) -> Server {
    start(Server::builder(name))
}

/// Moves the server's module clock `ms` further (relative to its current offset); returns the
/// server's new time as the module sees it (approximately).
fn advance(c: &mut Conn, ms: i64) -> i64 {
    let offset = c.cmd(&["IDGEN.DEBUG-CLOCK"]).int();
    c.cmd(&args!["IDGEN.DEBUG-CLOCK", offset + ms]).int();
    now_ms() + offset + ms
}

// ---- calls -------------------------------------------------------------------------------------

/// A grant: `[id, token, expires_at_ms, not_before_ms]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grant {
    id: i64,
    token: i64,
    expires: i64,
    not_before: i64,
}

fn grant(v: &Value) -> Grant {
    let g = v.ints();
    assert_eq!(g.len(), 4, "ACQUIRE reply {v:?}");
    Grant {
        id: g[0],
        token: g[1],
        expires: g[2],
        not_before: g[3],
    }
}

fn acquire(c: &mut Conn, pool: &str, ttl: i64, holder: Option<&str>, extra: &[&str]) -> Value {
    let mut cmd = vec!["WORKER.ACQUIRE".to_string(), pool.into(), ttl.to_string()];
    if let Some(h) = holder {
        cmd.extend(["HOLDER".to_string(), h.to_string()]);
    }
    cmd.extend(extra.iter().map(|s| s.to_string()));
    c.cmd(&cmd)
}

fn renew(c: &mut Conn, pool: &str, g: &Grant, ttl: i64, last_ts: Option<i64>) -> Value {
    let mut cmd = args!["WORKER.RENEW", pool, g.id, g.token, ttl].to_vec();
    if let Some(ts) = last_ts {
        cmd.extend(args!["LAST-TS", ts]);
    }
    c.cmd(&cmd)
}

fn release(c: &mut Conn, pool: &str, g: &Grant, last_ts: Option<i64>) -> Value {
    let mut cmd = args!["WORKER.RELEASE", pool, g.id, g.token].to_vec();
    if let Some(ts) = last_ts {
        cmd.extend(args!["LAST-TS", ts]);
    }
    c.cmd(&cmd)
}

/// A live lease as LIST and ROUTE show it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lease {
    id: i64,
    holder: Option<String>,
    token: i64,
    expires: i64,
    not_before: i64,
}

fn leases(v: &Value) -> Vec<Lease> {
    v.array()
        .iter()
        .map(|e| {
            let e = e.array();
            assert_eq!(e.len(), 5, "lease entry {e:?}");
            Lease {
                id: e[0].int(),
                holder: (!e[1].is_null()).then(|| e[1].as_str().to_string()),
                token: e[2].int(),
                expires: e[3].int(),
                not_before: e[4].int(),
            }
        })
        .collect()
}

fn list(c: &mut Conn, pool: &str) -> Vec<Lease> {
    leases(&c.cmd(&["WORKER.LIST", pool]))
}

fn assert_err(v: &Value, prefix: &str) {
    assert!(
        v.is_err() && v.err().starts_with(prefix),
        "expected an error starting with {prefix:?}, got {v:?}"
    );
}

fn digest(c: &mut Conn, key: &str) -> String {
    c.cmd(&["DEBUG", "DIGEST-VALUE", key]).array()[0]
        .as_str()
        .to_string()
}

/// SIGSTOPs a process; SIGCONTs it when dropped (also when the test panics).
struct Stopped(i32);

impl Stopped {
    fn new(s: &Server) -> Stopped {
        let pid: i32 = s
            .info_field("server", "process_id")
            .and_then(|p| p.parse().ok())
            .expect("process_id");
        // SAFETY: signalling a child process of this test by its pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0, "SIGSTOP");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

// ---- leases -----------------------------------------------------------------------------------

/// The scenario: two holders on a pool of one ID. A holds it and stops (never renews
/// again); B waits, is told when the ID frees up, gets it after A's lease and the grace are over,
/// with a new token and a not-before above every timestamp A used or could have used; A's
/// renewal when it wakes up is refused with LEASELOST.
#[test]
fn stopped_holder_loses_its_id_to_the_other_and_is_fenced() {
    let s = server("wrk-stopped");
    let mut c = s.conn();
    let a = grant(&acquire(
        &mut c,
        "pool",
        5_000,
        Some("a"),
        &["SIZE", "1", "GRACE", "2000"],
    ));
    assert_eq!((a.id, a.token), (0, 1));
    // A reports timestamps it used, running 3 s ahead of the server (it borrowed).
    let r = renew(&mut c, "pool", &a, 5_000, Some(a.expires + 3_000)).ints();
    let a_expires = r[0];
    assert!(a_expires >= a.expires);
    assert_eq!(r[1], a.expires + 3_000, "not-before raised to LAST-TS");

    // B asks: the pool is full, and says when the ID frees up (A's expiry + grace).
    let full = acquire(&mut c, "pool", 5_000, Some("b"), &[]);
    assert_err(
        &full,
        "POOLFULL no worker ID is free: the next one frees up in ",
    );
    let wait: i64 = full
        .err()
        .split_whitespace()
        .rev()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 6_000 && wait <= 7_000, "{}", full.err());

    // A stops. Past its expiry, within the grace: still nobody else's.
    advance(&mut c, 5_500);
    assert_err(&acquire(&mut c, "pool", 5_000, Some("b"), &[]), "POOLFULL");
    assert!(list(&mut c, "pool").is_empty(), "A's lease is over");
    // Past the grace: B gets the ID, above all of A's timestamps.
    advance(&mut c, 2_000);
    let b = grant(&acquire(&mut c, "pool", 5_000, Some("b"), &[]));
    assert_eq!(b.id, 0);
    assert!(b.token > a.token);
    assert!(b.not_before >= a_expires, "{b:?} vs A's expiry {a_expires}");
    assert_eq!(b.not_before, a.expires + 3_000, "A's LAST-TS");
    // A wakes up: its renewal and release are refused, and change nothing.
    let before = list(&mut c, "pool");
    let lost = renew(&mut c, "pool", &a, 5_000, None);
    assert_err(&lost, "LEASELOST worker ID 0 is no longer yours");
    assert!(lost.err().contains("stop issuing"), "{}", lost.err());
    assert_err(&release(&mut c, "pool", &a, None), "LEASELOST");
    assert_eq!(list(&mut c, "pool"), before);
    let info = c.cmd(&["WORKER.INFO", "pool"]);
    assert_eq!(info.field_int("expiries"), 1);
    assert_eq!(info.field_int("refusals"), 4);
    assert_eq!(info.field_int("live"), 1);
}

#[test]
fn holder_asking_again_keeps_its_lease_then_gets_its_id_back() {
    let s = server("wrk-holder");
    let mut c = s.conn();
    let a = grant(&acquire(
        &mut c,
        "p",
        5_000,
        Some("svc-a"),
        &["GRACE", "1000"],
    ));
    let b = grant(&acquire(&mut c, "p", 5_000, Some("svc-b"), &[]));
    let anon = grant(&acquire(&mut c, "p", 5_000, None, &[]));
    assert_eq!((a.id, b.id, anon.id), (0, 1, 2));
    assert_eq!((a.token, b.token, anon.token), (1, 2, 3));
    // Same holder while it holds its lease: same ID and token, expiry raised, never lowered.
    let again = grant(&acquire(&mut c, "p", 8_000, Some("svc-a"), &[]));
    assert_eq!((again.id, again.token), (a.id, a.token));
    assert!(again.expires >= a.expires + 3_000);
    let shorter = grant(&acquire(&mut c, "p", 1_000, Some("svc-a"), &[]));
    assert_eq!(shorter.expires, again.expires);
    // Anonymous callers always get a fresh ID.
    assert_eq!(grant(&acquire(&mut c, "p", 5_000, None, &[])).id, 3);
    // After a release, the holder gets its ID back with a new token.
    release(&mut c, "p", &again, None).ok();
    let back = grant(&acquire(&mut c, "p", 5_000, Some("svc-a"), &[]));
    assert_eq!(back.id, a.id);
    assert!(back.token > anon.token);
    // Holder names are bytes: a binary name works and is listed as given.
    let bin = c.cmd(&[
        b"WORKER.ACQUIRE".as_slice(),
        b"p",
        b"5000",
        b"HOLDER",
        b"\x00\xffhost\r\n",
    ]);
    assert_eq!(grant(&bin).id, 4);
    let l = c.cmd(&["WORKER.LIST", "p"]);
    assert_eq!(l.array().len(), 5);
    assert!(!l.array()[4].array()[1].is_null());
}

#[test]
fn options_and_bounds_are_enforced_and_errors_change_nothing() {
    let s = server("wrk-bounds");
    let mut c = s.conn();
    c.cmd(&["SET", "str", "x"]).ok();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["WORKER.ACQUIRE", "p", "999"],
            "ERR TTL must be between 1000 and 86400000",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "86400001"],
            "ERR TTL must be between 1000 and 86400000",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "SIZE", "0"],
            "ERR SIZE must be between 1 and 1048576",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "SIZE", "1048577"],
            "ERR SIZE must be between 1 and 1048576",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "GRACE", "-1"],
            "ERR GRACE must be between 0 and 3600000",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "HOLDER", ""],
            "ERR HOLDER length must be between 1 and 256",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "HOLDER"],
            "ERR syntax error, option 'HOLDER' needs a value",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "SIZE", "4", "SIZE", "4"],
            "ERR syntax error, option 'SIZE' given twice",
        ),
        (
            vec!["WORKER.ACQUIRE", "p", "5000", "TTL", "4"],
            "ERR syntax error, unknown option 'TTL'",
        ),
        (vec!["WORKER.ACQUIRE", "str", "5000"], "WRONGTYPE"),
        (
            vec!["WORKER.RENEW", "p", "0", "1", "5000"],
            "LEASELOST worker ID 0 is no longer yours (the pool does not exist)",
        ),
        (vec!["WORKER.RELEASE", "p", "0", "1"], "LEASELOST"),
        (vec!["WORKER.RENEW", "str", "0", "1", "5000"], "WRONGTYPE"),
        (
            vec!["WORKER.RENEW", "p", "0", "0", "5000"],
            "ERR TOKEN must be between 1 and",
        ),
        (
            vec!["WORKER.ROUTE", "p", "k", "COUNT", "0"],
            "ERR COUNT must be between 1 and 1048576",
        ),
        (vec!["WORKER.LIST", "str"], "WRONGTYPE"),
        (vec!["WORKER.ROUTE", "str", "k"], "WRONGTYPE"),
        (vec!["WORKER.INFO", "str"], "WRONGTYPE"),
        (vec!["WORKER.INFO", "p"], "ERR no such key"),
    ];
    for (cmd, want) in &cases {
        assert_err(&c.cmd(cmd), want);
    }
    assert_eq!(
        c.cmd(&["EXISTS", "p"]).int(),
        0,
        "a refused call created the pool"
    );
    assert!(c.cmd(&["WORKER.LIST", "p"]).array().is_empty());
    assert!(c.cmd(&["WORKER.ROUTE", "p", "k"]).array().is_empty());

    let g = grant(&acquire(
        &mut c,
        "p",
        5_000,
        Some("h"),
        &["SIZE", "4", "GRACE", "100"],
    ));
    // Options are fixed at creation: the same values are accepted, others refused.
    assert_eq!(
        grant(&acquire(
            &mut c,
            "p",
            5_000,
            Some("h"),
            &["SIZE", "4", "GRACE", "100"]
        ))
        .token,
        g.token
    );
    let d = digest(&mut c, "p");
    let info = c.cmd(&["WORKER.INFO", "p"]);
    let refused: Vec<(Vec<String>, &str)> = vec![
        (
            args!["WORKER.ACQUIRE", "p", 5000, "SIZE", 5].to_vec(),
            "ERR SIZE differs from the pool's",
        ),
        (
            args!["WORKER.ACQUIRE", "p", 5000, "GRACE", 5000].to_vec(),
            "ERR GRACE differs from the pool's",
        ),
        (
            args!["WORKER.RENEW", "p", 4, g.token, 5000].to_vec(),
            "ERR ID must be between 0 and 3",
        ),
        (
            args!["WORKER.RENEW", "p", -1, g.token, 5000].to_vec(),
            "ERR ID must be between 0 and 3",
        ),
        (
            args!["WORKER.RENEW", "p", g.id, g.token, 500].to_vec(),
            "ERR TTL must be between",
        ),
        (
            args!["WORKER.RENEW", "p", g.id, g.token, 5000, "LAST-TS", -1].to_vec(),
            "ERR LAST-TS must be between 0 and",
        ),
        (
            args![
                "WORKER.RENEW",
                "p",
                g.id,
                g.token,
                5000,
                "LAST-TS",
                now_ms() * 1000
            ]
            .to_vec(),
            "ERR LAST-TS must be between 0 and",
        ),
        (
            args!["WORKER.RELEASE", "p", g.id, g.token, "LAST-TS", "x"].to_vec(),
            "ERR value is not an integer",
        ),
    ];
    for (cmd, want) in &refused {
        assert_err(&c.cmd(cmd), want);
    }
    assert_eq!(digest(&mut c, "p"), d, "a refused call changed the pool");
    assert_eq!(c.cmd(&["WORKER.INFO", "p"]), info);
    // A wrong token is LEASELOST (and counted as a refusal).
    let wrong = Grant {
        token: g.token + 1,
        ..g
    };
    assert_err(
        &renew(&mut c, "p", &wrong, 5_000, None),
        "LEASELOST worker ID 0 is no longer yours (the token is not the ID's current one)",
    );
    assert_eq!(digest(&mut c, "p"), d);
    assert_eq!(c.cmd(&["WORKER.INFO", "p"]).field_int("refusals"), 1);
    // The largest pool costs little while few IDs are used.
    grant(&acquire(&mut c, "big", 5_000, None, &["SIZE", "1048576"]));
    let mem = c.cmd(&["MEMORY", "USAGE", "big"]).int();
    assert!(mem < 1_000, "MEMORY USAGE of a pool with one lease: {mem}");
    for _ in 0..100 {
        acquire(&mut c, "big", 5_000, None, &[]);
    }
    let more = c.cmd(&["MEMORY", "USAGE", "big"]).int();
    assert!(
        more > mem + 100 * 50,
        "MEMORY USAGE grows with the records: {mem} -> {more}"
    );
}

#[test]
fn a_pool_of_1024_fills_and_drains() {
    let s = server("wrk-1024");
    let mut c = s.conn();
    let mut grants = Vec::new();
    for i in 0..1024 {
        let g = grant(&acquire(&mut c, "p", 60_000, None, &[]));
        assert_eq!(
            (g.id, g.token),
            (i, i + 1),
            "IDs from the lowest, tokens from 1"
        );
        grants.push(g);
    }
    let full = acquire(&mut c, "p", 60_000, None, &[]);
    assert_err(&full, "POOLFULL");
    let info = c.cmd(&["WORKER.INFO", "p"]);
    assert_eq!(
        (
            info.field_int("live"),
            info.field_int("free"),
            info.field_int("size")
        ),
        (1024, 0, 1024)
    );
    let listed = list(&mut c, "p");
    assert_eq!(listed.len(), 1024);
    assert!(listed
        .iter()
        .zip(&grants)
        .all(|(l, g)| l.id == g.id && l.token == g.token));
    // Drained in reverse: each release frees its ID at once, the next grant takes the lowest.
    for g in grants.iter().rev() {
        release(&mut c, "p", g, None).ok();
    }
    let info = c.cmd(&["WORKER.INFO", "p"]);
    assert_eq!(
        (
            info.field_int("live"),
            info.field_int("free"),
            info.field_int("quarantined")
        ),
        (0, 1024, 0)
    );
    assert_eq!(info.field_int("releases"), 1024);
    let t = now_ms();
    let again = grant(&acquire(&mut c, "p", 60_000, None, &[]));
    assert_eq!(again.id, 0);
    assert_eq!(again.token, 1025);
    assert!(again.not_before >= t - 1_000 && again.not_before <= again.expires - 60_000);
}

/// WORKER.ROUTE ranks the live IDs by the documented hash; a client computing it from LIST
/// gets the same answer.
#[test]
fn route_follows_the_documented_hash() {
    const M: u64 = u64::MAX;
    fn weight(key: &[u8], id: i64) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut m = key.to_vec();
        m.push(0);
        m.extend(id.to_string().bytes());
        for b in m {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3) & M;
        }
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
    assert_eq!(
        weight(b"order:42", 1023),
        0x7852_e89b_6881_e8d3,
        "known answer"
    );
    let s = server("wrk-route");
    let mut c = s.conn();
    let grants: Vec<Grant> = (0..40)
        .map(|_| grant(&acquire(&mut c, "p", 60_000, None, &[])))
        .collect();
    for g in grants.iter().step_by(3) {
        release(&mut c, "p", g, None).ok();
    }
    let live: Vec<i64> = list(&mut c, "p").iter().map(|l| l.id).collect();
    assert_eq!(live.len(), 26);
    for k in 0..300 {
        let key = format!("task:{k}");
        let mut want = live.clone();
        want.sort_by_key(|&id| std::cmp::Reverse((weight(key.as_bytes(), id), id)));
        let count = 1 + k % 4;
        let got: Vec<i64> = leases(&c.cmd(&args!["WORKER.ROUTE", "p", key, "COUNT", count]))
            .iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(got, want[..count], "{key}");
    }
    // The reply has the shape of LIST's entries.
    let one = leases(&c.cmd(&["WORKER.ROUTE", "p", "order:42"]));
    assert_eq!(one.len(), 1);
    assert!(list(&mut c, "p").contains(&one[0]));
    assert_eq!(
        leases(&c.cmd(&["WORKER.ROUTE", "p", "x", "COUNT", "1000"])).len(),
        26
    );
}

// ---- persistence and replication --------------------------------------------------------------

/// Leases, their holders, tokens and expiries, as the digest covers them.
fn populate(c: &mut Conn) -> (Vec<Grant>, String) {
    let a = grant(&acquire(c, "pool", 30_000, Some("a"), &["GRACE", "1000"]));
    let b = grant(&acquire(c, "pool", 20_000, Some("b"), &[]));
    let x = grant(&acquire(c, "pool", 10_000, None, &[]));
    renew(c, "pool", &a, 40_000, Some(now_ms())).ints();
    release(c, "pool", &x, Some(now_ms())).ok();
    let d = digest(c, "pool");
    (vec![a, b, x], d)
}

/// After a load: the same leases; renewals work with the old tokens; ACQUIRE waits out the
/// resume window (longest TTL + grace), then grants above the old mark with a not-before above
/// anything a lost grant could have used.
fn check_resumed(c: &mut Conn, grants: &[Grant], d: &str, before: &[Lease]) {
    assert_eq!(digest(c, "pool"), d, "digest after the load");
    assert_eq!(list(c, "pool"), before);
    let r = acquire(c, "pool", 5_000, Some("c"), &[]);
    assert_err(&r, "POOLRESUMING");
    let wait = c.cmd(&["WORKER.INFO", "pool"]).field_int("resume_wait_ms");
    assert!(
        wait > 39_000 && wait <= 41_000,
        "window: longest TTL 40 s + grace 1 s: {wait}"
    );
    // The live leases renew meanwhile, with their tokens.
    renew(c, "pool", &grants[0], 40_000, None).ints();
    renew(c, "pool", &grants[1], 20_000, None).ints();
    let t = advance(c, 41_000);
    let g = grant(&acquire(c, "pool", 5_000, Some("c"), &[]));
    assert!(
        g.token >= 1025 + 1024,
        "tokens resume a block above the mark: {g:?}"
    );
    assert!(g.not_before >= t - 41_000 + 40_000 - 2_000, "{g:?} at {t}");
}

#[test]
fn restart_from_rdb_keeps_leases() {
    let mut s = server("wrk-rdb");
    let mut c = s.conn();
    let (grants, d) = populate(&mut c);
    let before = list(&mut c, "pool");
    assert_eq!(before.len(), 2);
    c.cmd(&["SAVE"]).ok();
    s.kill9();
    s.restart();
    check_resumed(&mut s.conn(), &grants, &d, &before);
}

fn wait_rewrite_done(s: &Server) {
    wait_until(Duration::from_secs(20), "AOF rewrite to finish", || {
        s.info_field("persistence", "aof_rewrite_in_progress")
            .as_deref()
            == Some("0")
            && s.info_field("persistence", "aof_rewrite_scheduled")
                .as_deref()
                == Some("0")
    });
}

fn aof_restart(name: &str, preamble: &str, rewrite: bool) {
    let mut s = start(
        Server::builder(name)
            .config("appendonly yes")
            .config("appendfsync always")
            .config(&format!("aof-use-rdb-preamble {preamble}")),
    );
    wait_rewrite_done(&s);
    let mut c = s.conn();
    let (grants, d) = populate(&mut c);
    let before = list(&mut c, "pool");
    if rewrite {
        c.cmd(&["BGREWRITEAOF"]);
        wait_rewrite_done(&s);
        // Changes after the rewrite land in the increment.
        renew(&mut c, "pool", &grants[1], 20_000, None).ints();
    }
    let before = if rewrite {
        list(&mut c, "pool")
    } else {
        before
    };
    let d = if rewrite { digest(&mut c, "pool") } else { d };
    drop(c);
    s.kill9();
    s.restart();
    check_resumed(&mut s.conn(), &grants, &d, &before);
}

#[test]
fn restart_from_aof_keeps_leases() {
    aof_restart("wrk-aof", "yes", false);
}

#[test]
fn restart_from_rewritten_aof_keeps_leases() {
    aof_restart("wrk-aof-rewrite", "no", true);
    aof_restart("wrk-aof-rewrite-rdb", "yes", true);
}

#[test]
fn dump_restore_keeps_leases_and_resumes() {
    let s = server("wrk-dump");
    let mut c = s.conn();
    let (grants, d) = populate(&mut c);
    let before = list(&mut c, "pool");
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", s.port())).unwrap();
    let mut con = client.get_connection().unwrap();
    let dump: Vec<u8> = redis::cmd("DUMP").arg("pool").query(&mut con).unwrap();
    c.cmd(&["DEL", "pool"]).int();
    let r: String = redis::cmd("RESTORE")
        .arg("pool")
        .arg(0)
        .arg(&dump)
        .query(&mut con)
        .unwrap();
    assert_eq!(r, "OK");
    check_resumed(&mut c, &grants, &d, &before);
}

/// A replica holds the primary's leases (digest-equal, also after expiries the primary found),
/// refuses the writers, serves LIST/ROUTE/INFO, and after promotion keeps the leases.
#[test]
fn replica_follows_the_leases() {
    let primary = server("wrk-repl-primary");
    let replica = start(Server::builder("wrk-repl-replica").replicaof(primary.port()));
    wait_replica_sync(&primary, &replica);
    let (mut p, mut r) = (primary.conn(), replica.conn());
    let (grants, d) = populate(&mut p);
    let short = grant(&acquire(&mut p, "pool", 1_000, Some("short"), &[]));
    advance(&mut p, 2_500);
    // The primary finds the short lease expired (and a quarantine ended) at this call.
    renew(&mut p, "pool", &grants[0], 40_000, None).ints();
    wait_replica_sync(&primary, &replica);
    assert_ne!(digest(&mut p, "pool"), d);
    assert_eq!(digest(&mut p, "pool"), digest(&mut r, "pool"));
    assert_eq!(
        p.cmd(&["DEBUG", "DIGEST"]).as_str(),
        r.cmd(&["DEBUG", "DIGEST"]).as_str()
    );
    advance(&mut r, 2_500);
    assert_eq!(list(&mut r, "pool"), list(&mut p, "pool"));
    assert!(!list(&mut r, "pool").iter().any(|l| l.id == short.id));
    assert_eq!(
        r.cmd(&["WORKER.ROUTE", "pool", "t", "COUNT", "3"]),
        p.cmd(&["WORKER.ROUTE", "pool", "t", "COUNT", "3"])
    );
    assert_err(&acquire(&mut r, "pool", 5_000, None, &[]), "READONLY");
    assert_err(&renew(&mut r, "pool", &grants[0], 5_000, None), "READONLY");
    assert_eq!(r.cmd(&["WORKER.INFO", "pool"]).field_int("size"), 1024);
    // Promoted: the leases renew with their tokens.
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    renew(&mut r, "pool", &grants[0], 40_000, None).ints();
    assert_err(&acquire(&mut r, "pool", 5_000, None, &[]), "POOLRESUMING");
}

/// The grant the replica never received: B's lease exists only on the dead primary. The
/// promoted replica does not know it, refuses every grant for the longest TTL plus the grace,
/// then hands the ID out with a higher token and above B's expiry; B is told it lost the ID.
#[test]
fn promotion_after_a_lost_grant_never_grants_the_id_twice() {
    let mut primary = server("wrk-lost-primary");
    let replica = start(Server::builder("wrk-lost-replica").replicaof(primary.port()));
    wait_replica_sync(&primary, &replica);
    let mut p = primary.conn();
    let a = grant(&acquire(
        &mut p,
        "pool",
        10_000,
        Some("a"),
        &["GRACE", "500"],
    ));
    wait_replica_sync(&primary, &replica);

    // The replica stops hearing from the primary: stopped, and its link cut.
    let stopped = Stopped::new(&replica);
    p.cmd(&["CLIENT", "KILL", "TYPE", "replica"]).int();
    let b = grant(&acquire(&mut p, "pool", 10_000, Some("b"), &[]));
    assert_eq!(b.id, 1);
    drop(p);
    primary.kill9();
    drop(stopped);

    let mut r = replica.conn();
    assert!(
        list(&mut r, "pool").iter().all(|l| l.id != b.id),
        "the grant reached the replica"
    );
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    let promoted_at = now_ms();
    // Within the window: no grant at all (B's lease may be live), while A renews.
    assert_err(
        &acquire(&mut r, "pool", 10_000, Some("c"), &[]),
        "POOLRESUMING",
    );
    advance(&mut r, 5_000);
    assert_err(
        &acquire(&mut r, "pool", 10_000, Some("c"), &[]),
        "POOLRESUMING",
    );
    renew(&mut r, "pool", &a, 10_000, None).ints();
    // B renews: the promoted replica never granted its token.
    assert_err(
        &renew(&mut r, "pool", &b, 10_000, None),
        "LEASELOST worker ID 1",
    );
    // After the window: C gets B's ID, with a higher token, after B's lease and grace, above
    // every timestamp B could have used.
    advance(&mut r, 6_000);
    let c = grant(&acquire(&mut r, "pool", 10_000, Some("c"), &[]));
    assert_eq!(c.id, b.id);
    assert!(c.token > b.token, "{c:?} vs {b:?}");
    let granted_at = c.expires - 10_000;
    assert!(
        granted_at >= b.expires + 500,
        "granted at {granted_at}, B's lease until {}",
        b.expires
    );
    assert!(
        c.not_before >= b.expires,
        "{c:?} vs B's expiry {}",
        b.expires
    );
    assert!(granted_at >= promoted_at);
}

// ---- internal commands, events, protocol ------------------------------------------------------

#[test]
fn internal_commands_are_refused_from_clients() {
    let s = server("wrk-internal");
    let mut c = s.conn();
    let g = grant(&acquire(&mut c, "pool", 5_000, Some("a"), &[]));
    let d = digest(&mut c, "pool");
    let forged: Vec<Vec<String>> = vec![
        args![
            "WORKER.RESERVE",
            "pool",
            1024,
            5000,
            "9223372036854775807",
            86400000,
            0
        ]
        .to_vec(),
        args![
            "WORKER.EFFECT",
            "pool",
            1024,
            5000,
            g.id,
            g.token + 10,
            "x",
            9_000_000_000_000i64,
            0,
            0
        ]
        .to_vec(),
        args!["WORKER.EFFECT", "new", 1024, 5000, 0, 1, "", 1, 1, 0].to_vec(),
    ];
    for cmd in &forged {
        assert_err(&c.cmd(cmd), "ERR internal command");
    }
    c.cmd(&["MULTI"]).ok();
    c.cmd(&forged[1]);
    let exec = c.cmd(&["EXEC"]);
    assert!(exec.array()[0].is_err(), "{exec:?}");
    let lua = c.cmd(&[
        "EVAL",
        "return redis.call('WORKER.EFFECT', 'new', 1024, 5000, 0, 1, '', 1, 1, 0)",
        "0",
    ]);
    assert!(lua.is_err(), "{lua:?}");
    assert_eq!(digest(&mut c, "pool"), d);
    assert_eq!(c.cmd(&["EXISTS", "new"]).int(), 0);
    renew(&mut c, "pool", &g, 5_000, None).ints();
}

#[test]
fn keyspace_events_follow_membership() {
    let s = start(Server::builder("wrk-events").config("notify-keyspace-events Kd"));
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", s.port())).unwrap();
    let mut sub = client.get_connection().unwrap();
    let mut ps = sub.as_pubsub();
    ps.psubscribe("__keyspace@0__:*").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut c = s.conn();
    let a = grant(&acquire(&mut c, "pool", 1_000, Some("a"), &["GRACE", "0"]));
    let b = grant(&acquire(&mut c, "pool", 5_000, Some("b"), &[]));
    renew(&mut c, "pool", &b, 5_000, None).ints();
    release(&mut c, "pool", &b, None).ok();
    advance(&mut c, 1_500);
    // A refused call that finds A's lease expired still reports the expiry.
    assert_err(&renew(&mut c, "pool", &a, 5_000, None), "LEASELOST");
    let mut got = Vec::new();
    for _ in 0..5 {
        let m = ps.get_message().unwrap();
        assert_eq!(m.get_channel_name(), "__keyspace@0__:pool");
        got.push(m.get_payload::<String>().unwrap());
    }
    assert_eq!(
        got,
        [
            "idgen.worker.acquire",
            "idgen.worker.acquire",
            "idgen.worker.renew",
            "idgen.worker.release",
            "idgen.worker.expire"
        ]
    );
}

fn wrong_arity(cmd: &str) -> String {
    format!("ERR wrong number of arguments for '{cmd}' command")
}

/// (name, arity, writer?) of every WORKER command a client may call, and the internal ones.
const COMMANDS: [(&str, i64, bool); 6] = [
    ("worker.acquire", -3, true),
    ("worker.renew", -5, true),
    ("worker.release", -4, true),
    ("worker.list", 2, false),
    ("worker.route", -3, false),
    ("worker.info", 2, false),
];
const INTERNAL: [(&str, i64); 2] = [("worker.reserve", 7), ("worker.effect", 10)];

#[test]
fn commands_declare_arity_flags_keys_and_docs() {
    let s = server("wrk-proto");
    let mut c = s.conn();
    c.cmd(&["SET", "str", "x"]).ok();
    let all = COMMANDS
        .iter()
        .map(|&(n, a, _)| (n, a))
        .chain(INTERNAL.iter().copied());
    for (cmd, arity) in all {
        let min = arity.unsigned_abs() as usize;
        for n in 1..min {
            let mut v = vec![cmd.to_string(), "k".to_string()];
            v.extend((2..n).map(|i| i.to_string()));
            v.truncate(n);
            assert_eq!(c.cmd(&v).err(), wrong_arity(cmd), "{v:?}");
        }
        if arity > 0 {
            let mut v = vec![cmd.to_string(), "k".to_string()];
            v.extend((2..=min).map(|i| i.to_string()));
            assert_eq!(c.cmd(&v).err(), wrong_arity(cmd), "{v:?}");
        }
        let info = c.cmd(&["COMMAND", "INFO", cmd]);
        let e = info.array()[0].array();
        assert_eq!(e[0].as_str(), cmd);
        assert_eq!(e[1].int(), arity, "arity of {cmd}");
        assert_eq!(
            (e[3].int(), e[4].int(), e[5].int()),
            (1, 1, 1),
            "{cmd} keys"
        );
        let flags: BTreeSet<String> = e[2]
            .array()
            .iter()
            .map(|f| f.as_str().to_string())
            .collect();
        let writer = COMMANDS.iter().find(|x| x.0 == cmd).is_none_or(|x| x.2);
        if writer {
            assert!(
                flags.contains("write") && flags.contains("denyoom"),
                "{cmd} {flags:?}"
            );
        } else {
            assert!(
                flags.contains("readonly") && !flags.contains("write"),
                "{cmd} {flags:?}"
            );
        }
        // ACQUIRE may find many leases expired (and create the pool): not `fast`.
        if COMMANDS.iter().any(|x| x.0 == cmd) {
            assert_eq!(
                flags.contains("fast"),
                ["worker.renew", "worker.release"].contains(&cmd),
                "{cmd} {flags:?}"
            );
        }
        let docs = c.cmd(&["COMMAND", "DOCS", cmd]);
        let entries = docs.pairs();
        assert_eq!(entries.len(), 1, "{cmd}: {docs:?}");
        assert_eq!(entries[0].1.field("module").as_str(), "idgen");
        assert!(!entries[0].1.field("summary").as_str().is_empty());
    }
    let on_a_string: [&[&str]; 6] = [
        &["WORKER.ACQUIRE", "str", "5000"],
        &["WORKER.RENEW", "str", "0", "1", "5000"],
        &["WORKER.RELEASE", "str", "0", "1"],
        &["WORKER.LIST", "str"],
        &["WORKER.ROUTE", "str", "task"],
        &["WORKER.INFO", "str"],
    ];
    for cmd in on_a_string {
        assert_err(&c.cmd(cmd), "WRONGTYPE");
    }
    assert_eq!(
        c.cmd(&[
            "COMMAND",
            "GETKEYS",
            "WORKER.ROUTE",
            "pool",
            "task",
            "COUNT",
            "2"
        ])
        .array()[0]
            .as_str(),
        "pool"
    );
    // INFO is a map under RESP3 with the contract's fields, in order.
    grant(&acquire(&mut c, "pool", 5_000, None, &[]));
    let info = c.cmd(&["WORKER.INFO", "pool"]);
    let names: Vec<String> = info.pairs().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "size",
            "grace_ms",
            "live",
            "quarantined",
            "free",
            "next_expiry",
            "resume_wait_ms",
            "next_token",
            "grants",
            "renewals",
            "releases",
            "expiries",
            "refusals"
        ]
    );
    assert_eq!(info.field_int("next_token"), 2);
    let idgen = s.info_field("idgen", "idgen_pool_grants");
    assert_eq!(idgen.as_deref(), Some("1"));
}
