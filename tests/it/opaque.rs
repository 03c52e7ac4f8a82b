//! OPAQUE sequences (`SEQ.CREATE ... OPAQUE [SECRET hex]`, `SEQ.DECODE`): a bijection of the
//! domain, the same mapping after a reload, a restart and a promotion, and the secret in no reply.

use std::collections::BTreeSet;

use idgen_testkit::{wait_replica_sync, Conn, Server, Value};

const SECRET: &str = "2b7e151628aed2a6abf7158809cf4f3c";
const WT: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn create(c: &mut Conn, key: &str, extra: &[&str]) {
    let mut a = vec!["SEQ.CREATE", key];
    a.extend_from_slice(extra);
    c.cmd(&a).ok();
}

fn nexts(c: &mut Conn, key: &str, n: usize) -> Vec<i64> {
    let cmds: Vec<[&str; 2]> = (0..n).map(|_| ["SEQ.NEXT", key]).collect();
    c.pipeline(&cmds).iter().map(|v| v.int()).collect()
}

fn decode(c: &mut Conn, key: &str, v: i64) -> i64 {
    c.cmd(&args!["SEQ.DECODE", key, v]).int()
}

/// Every value of `MAXVALUE 1000` exactly once, then the exhaustion error.
#[test]
fn a_small_domain_issues_each_value_once() {
    let s = Server::start("opaque-small");
    let mut c = s.conn();
    create(
        &mut c,
        "k",
        &["MAXVALUE", "1000", "OPAQUE", "SECRET", SECRET],
    );
    let vals = nexts(&mut c, "k", 1000);
    let set: BTreeSet<i64> = vals.iter().copied().collect();
    assert_eq!(set, (1..=1000).collect(), "not a permutation of 1..=1000");
    let ups = vals.windows(2).filter(|w| w[1] > w[0]).count();
    assert!((400..=600).contains(&ups), "{ups} of 999 increase");
    assert_ne!(vals[..10], (1..=10).collect::<Vec<_>>()[..]);
    for (i, v) in vals.iter().enumerate().step_by(97) {
        assert_eq!(decode(&mut c, "k", *v), i as i64 + 1);
    }
    assert_eq!(
        c.cmd(&["SEQ.NEXT", "k"]).err(),
        "ERR sequence exhausted: MAXVALUE 1000 reached"
    );
    assert_eq!(c.cmd(&["SEQ.CURRENT", "k"]).int(), vals[999]);
}

#[test]
fn batches_reply_each_public_value() {
    let s = Server::start("opaque-batch");
    let mut c = s.conn();
    create(
        &mut c,
        "k",
        &[
            "MAXVALUE", "99999999", "FORMAT", "{seq:8}", "OPAQUE", "SECRET", SECRET,
        ],
    );
    let one = c.cmd(&["SEQ.NEXT", "k"]);
    assert_eq!(one.as_str().len(), 8, "{one:?}");
    let b = c.cmd(&["SEQ.NEXTBATCH", "k", "5"]);
    let texts: Vec<String> = b.array().iter().map(|v| v.as_str().to_string()).collect();
    assert_eq!(texts.len(), 5);
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(t.len(), 8, "{t}");
        assert_eq!(decode(&mut c, "k", t.parse().unwrap()), i as i64 + 2);
    }
    assert_eq!(
        c.cmd(&["SEQ.NEXTBATCH", "k", "10001"]).err(),
        "ERR count must be between 1 and 10000 on an OPAQUE sequence (each value is replied)"
    );
    // A plain key still replies a range, and DECODE gives its values back.
    c.cmd(&["SEQ.NEXTBATCH", "plain", "20000"]).ints();
    assert_eq!(decode(&mut c, "plain", 7), 7);
}

#[test]
fn options_and_errors() {
    let s = Server::start("opaque-errors");
    let mut c = s.conn();
    let bad = "ERR SECRET must be 32 hex digits (a 128-bit AES key)";
    for secret in [
        &SECRET[..31],
        &format!("{SECRET}00"),
        "zz7e151628aed2a6abf7158809cf4f3c",
        "",
    ] {
        assert_eq!(
            c.cmd(&["SEQ.CREATE", "k", "OPAQUE", "SECRET", secret])
                .err(),
            bad
        );
    }
    assert_eq!(
        c.cmd(&["SEQ.CREATE", "k", "SECRET", SECRET]).err(),
        "ERR SECRET needs OPAQUE"
    );
    assert_eq!(
        c.run("SEQ.CREATE k START 5 INCREMENT 3 MINVALUE 1 OPAQUE")
            .err(),
        "ERR OPAQUE needs START to be MINVALUE plus a multiple of INCREMENT"
    );
    assert_eq!(
        c.run("SEQ.CREATE k MAXVALUE 999 OPAQUE").err(),
        "ERR OPAQUE needs at least 1000 values between MINVALUE and MAXVALUE (stepping by INCREMENT)"
    );
    assert_eq!(
        c.cmd(&["EXISTS", "k"]).int(),
        0,
        "a refused CREATE created the key"
    );
    create(
        &mut c,
        "k",
        &[
            "MINVALUE",
            "10",
            "MAXVALUE",
            "1000000",
            "INCREMENT",
            "10",
            "OPAQUE",
        ],
    );
    let v = c.cmd(&["SEQ.NEXT", "k"]).int();
    assert!(v % 10 == 0 && (10..=1_000_000).contains(&v), "{v}");
    assert_eq!(decode(&mut c, "k", v), 10);
    let domain = "ERR value is not in the opaque sequence's domain: 10 to 1000000 stepping by 10";
    for v in ["15", "0", "1000010"] {
        assert_eq!(c.cmd(&["SEQ.DECODE", "k", v]).err(), domain);
    }
    assert_eq!(c.cmd(&["SEQ.SET", "k", "15"]).err(), domain);
    assert_eq!(
        c.cmd(&["SEQ.DECODE", "k", "x"]).err(),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        c.cmd(&["SEQ.DECODE", "missing", "1"]).err(),
        "ERR no such key"
    );
    c.cmd(&["SET", "str", "x"]).ok();
    assert_eq!(c.cmd(&["SEQ.DECODE", "str", "1"]).err(), WT);
    assert!(c
        .cmd(&["SEQ.DECODE", "k"])
        .err()
        .contains("wrong number of arguments"));
    create(&mut c, "p", &["MAXVALUE", "100"]);
    assert_eq!(
        c.cmd(&["SEQ.DECODE", "p", "101"]).err(),
        "ERR value must be between MINVALUE and MAXVALUE"
    );
}

fn fingerprint(c: &mut Conn, key: &str) -> String {
    c.cmd(&["SEQ.INFO", key])
        .field("opaque")
        .as_str()
        .to_string()
}

/// The secret is shown nowhere: SEQ.INFO shows its 8-digit fingerprint, INFO nothing.
#[test]
fn the_secret_is_in_no_reply() {
    let s = Server::start("opaque-secret");
    let mut c = s.conn();
    create(&mut c, "k", &["OPAQUE", "SECRET", &SECRET.to_uppercase()]);
    c.cmd(&["SEQ.NEXT", "k"]).int();
    // AES-128(secret, 0^128) starts 7df76b0c (the key check value).
    assert_eq!(fingerprint(&mut c, "k"), "7df76b0c");
    assert!(c.cmd(&["SEQ.INFO", "plain"]).is_err());
    create(&mut c, "plain", &[]);
    assert!(c.cmd(&["SEQ.INFO", "plain"]).field("opaque").is_null());
    let replies = [
        c.cmd(&["SEQ.INFO", "k"]),
        c.cmd(&["INFO", "everything"]),
        c.cmd(&["SEQ.CREATE", "k", "OPAQUE", "SECRET", SECRET]),
        c.cmd(&["SEQ.SET", "k", "0"]),
        c.cmd(&["SEQ.DECODE", "k", "-1"]),
        c.cmd(&[
            "SEQ.RESERVE",
            "k",
            "0",
            "1",
            "0",
            "1",
            "1",
            "1",
            "9",
            "0",
            "NONE",
            "0",
            "",
            "0",
            SECRET,
            "0",
        ]),
        c.cmd(&["COMMAND", "DOCS", "seq.create"]),
        c.cmd(&["OBJECT", "ENCODING", "k"]),
    ];
    for r in replies {
        let text = format!("{r:?}").to_lowercase();
        assert!(!text.contains(&SECRET[..12]), "secret in {text}");
    }
    assert!(
        !s.log().to_lowercase().contains(&SECRET[..12]),
        "secret in the log"
    );
}

/// The same mapping after DEBUG RELOAD and a restart; a drawn secret differs per key.
#[test]
fn the_mapping_survives_reload_and_restart() {
    let mut s = Server::builder("opaque-reload")
        .config("appendonly yes")
        .start();
    let mut c = s.conn();
    create(&mut c, "k", &["OPAQUE", "SECRET", SECRET]);
    create(&mut c, "drawn", &["OPAQUE"]);
    create(&mut c, "drawn2", &["OPAQUE"]);
    assert_ne!(fingerprint(&mut c, "drawn"), fingerprint(&mut c, "drawn2"));
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    let first = nexts(&mut c, "k", 50);
    let drawn = nexts(&mut c, "drawn", 50);
    seen.extend(&first);
    let probe = |c: &mut Conn| -> Vec<i64> {
        first
            .iter()
            .chain(&drawn[..5])
            .map(|v| decode(c, "k", *v))
            .collect()
    };
    let before = probe(&mut c);
    let prints = (fingerprint(&mut c, "k"), fingerprint(&mut c, "drawn"));
    c.cmd(&["DEBUG", "RELOAD"]).ok();
    assert_eq!(probe(&mut c), before, "DEBUG RELOAD changed the mapping");
    seen.extend(nexts(&mut c, "k", 50));
    s.restart();
    let mut c = s.conn();
    assert_eq!(probe(&mut c), before, "a restart (AOF) changed the mapping");
    assert_eq!(
        (fingerprint(&mut c, "k"), fingerprint(&mut c, "drawn")),
        prints
    );
    for (i, v) in drawn.iter().enumerate() {
        assert_eq!(decode(&mut c, "drawn", *v), i as i64 + 1);
    }
    let after = nexts(&mut c, "k", 50);
    for v in &after {
        assert!(seen.insert(*v), "{v} repeated after the restart");
    }
    let dump = c.cmd(&["DUMP", "k"]);
    c.cmd(&["DEL", "k"]).int();
    let Value::Bulk(payload) = dump else {
        panic!("DUMP: {dump:?}")
    };
    c.cmd(&[b"RESTORE".as_slice(), b"k", b"0", &payload]).ok();
    assert_eq!(
        decode(&mut c, "k", first[0]),
        1,
        "RESTORE of a DUMP keeps the secret"
    );
}

/// A replica gets the secret with the reservation; promoted, it continues with the same mapping.
#[test]
fn a_promoted_replica_keeps_the_mapping() {
    let primary = Server::builder("opaque-repl-primary").start();
    let replica = Server::builder("opaque-repl-replica")
        .replicaof(primary.port())
        .start();
    wait_replica_sync(&primary, &replica);
    let mut p = primary.conn();
    create(&mut p, "k", &["MAXVALUE", "99999999", "OPAQUE"]);
    let issued = nexts(&mut p, "k", 300);
    wait_replica_sync(&primary, &replica);
    let mut r = replica.conn();
    assert_eq!(
        p.cmd(&["DEBUG", "DIGEST-VALUE", "k"]),
        r.cmd(&["DEBUG", "DIGEST-VALUE", "k"])
    );
    assert_eq!(fingerprint(&mut p, "k"), fingerprint(&mut r, "k"));
    for (i, v) in issued.iter().enumerate().step_by(23) {
        assert_eq!(decode(&mut r, "k", *v), i as i64 + 1, "replica decodes {v}");
    }
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    let mut seen: BTreeSet<i64> = issued.iter().copied().collect();
    for v in nexts(&mut r, "k", 300) {
        assert!(seen.insert(v), "the promoted replica repeated {v}");
        assert!(
            decode(&mut r, "k", v) > 300,
            "{v} decodes below the primary's position"
        );
    }
}
