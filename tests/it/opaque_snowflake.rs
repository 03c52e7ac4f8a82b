//! OPAQUE snowflake keys (`SNOWFLAKE.CREATE ... OPAQUE [SECRET hex]`): distinct public ids in
//! the layout's width, scrambled order, `SNOWFLAKE.PARSE` undoing the permutation, the same
//! mapping after a reload and a promotion, and the secret in no reply.

use std::collections::HashSet;

use idgen_testkit::{wait_replica_sync, Conn, Server};

const SECRET: &str = "2b7e151628aed2a6abf7158809cf4f3c";

fn nexts(c: &mut Conn, key: &str, n: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let k = (n - out.len()).min(10_000).to_string();
        out.extend(c.cmd(&["SNOWFLAKE.NEXT", key, "COUNT", &k]).ints());
    }
    out
}

/// (timestamp, worker, sequence) of a public id.
fn parse(c: &mut Conn, key: &str, id: i64) -> (i64, i64, i64) {
    let r = c.cmd(&args!["SNOWFLAKE.PARSE", key, id]);
    (
        r.field("timestamp").int(),
        r.field("worker").int(),
        r.field("sequence").int(),
    )
}

/// 100,000 ids: distinct, in [0, 2^63), about half of consecutive ones increase, and PARSE
/// gives them back in issue order.
#[test]
fn opaque_ids_are_distinct_scrambled_and_parse_in_order() {
    let s = Server::start("sf-opaque-ids");
    let mut c = s.conn();
    c.cmd(&["SNOWFLAKE.CREATE", "k", "OPAQUE", "SECRET", SECRET])
        .ok();
    let ids = nexts(&mut c, "k", 100_000);
    let set: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "a repeated public id");
    assert!(ids.iter().all(|&id| id >= 0), "a negative id");
    let ups = ids.windows(2).filter(|w| w[1] > w[0]).count();
    let frac = ups as f64 / (ids.len() - 1) as f64;
    eprintln!(
        "opaque snowflake: {ups} of {} consecutive ids increase ({frac:.4})",
        ids.len() - 1
    );
    assert!((0.48..0.52).contains(&frac), "{frac}");
    let mut last = (i64::MIN, 0, -1);
    for &id in ids.iter().step_by(37).chain(ids.last()) {
        let (ts, w, seq) = parse(&mut c, "k", id);
        assert!(
            (ts, seq) > (last.0, last.2),
            "{id}: {ts}/{seq} after {last:?}"
        );
        last = (ts, w, seq);
    }
    // Text formats carry the permuted integer: STRING is its decimal text.
    let t = c.cmd(&["SNOWFLAKE.NEXT", "k", "FORMAT", "STRING"]);
    let id: i64 = t.as_str().parse().unwrap();
    assert!(parse(&mut c, "k", id).0 >= last.0);
    let b = c.cmd(&["SNOWFLAKE.NEXT", "k", "FORMAT", "BASE62"]);
    let r = c.cmd(&["SNOWFLAKE.PARSE", "k", b.as_str(), "FORMAT", "BASE62"]);
    assert!(r.field("timestamp").int() >= last.0);
    // A narrower layout keeps its width, PREFIX text included.
    c.run("SNOWFLAKE.CREATE js LAYOUT JS-SAFE FORMAT STRING PREFIX o_ OPAQUE")
        .ok();
    for v in c.cmd(&["SNOWFLAKE.NEXT", "js", "COUNT", "1000"]).array() {
        let id: i64 = v.as_str().strip_prefix("o_").unwrap().parse().unwrap();
        assert!(id < 1 << 53, "{id}");
    }
    // A plain key is unchanged: ids increase, PARSE reads them as they are.
    let plain = nexts(&mut c, "plain", 1000);
    assert!(plain.windows(2).all(|w| w[1] > w[0]));
}

#[test]
fn options_errors_and_the_secret_in_no_reply() {
    let s = Server::start("sf-opaque-errors");
    let mut c = s.conn();
    let bad = "ERR SECRET must be 32 hex digits (a 128-bit AES key)";
    for secret in [&SECRET[..31], "zz7e151628aed2a6abf7158809cf4f3c", ""] {
        assert_eq!(
            c.cmd(&["SNOWFLAKE.CREATE", "k", "OPAQUE", "SECRET", secret])
                .err(),
            bad
        );
    }
    assert_eq!(
        c.cmd(&["SNOWFLAKE.CREATE", "k", "SECRET", SECRET]).err(),
        "ERR SECRET needs OPAQUE"
    );
    assert_eq!(c.cmd(&["EXISTS", "k"]).int(), 0);
    c.cmd(&["SNOWFLAKE.CREATE", "k", "OPAQUE", "SECRET", SECRET])
        .ok();
    c.cmd(&["SNOWFLAKE.NEXT", "k"]).int();
    let info = c.cmd(&["SNOWFLAKE.INFO", "k"]);
    assert_eq!(info.field("opaque").as_str(), "7df76b0c");
    assert_eq!(info.field("compact").int(), 0);
    c.cmd(&["SNOWFLAKE.NEXT", "plain"]).int();
    assert!(c
        .cmd(&["SNOWFLAKE.INFO", "plain"])
        .field("opaque")
        .is_null());
    assert_eq!(
        c.cmd(&["SNOWFLAKE.PARSE", "k", "-1"]).err(),
        "ERR id was not produced by this generator's layout"
    );
    for r in [info, c.cmd(&["INFO", "everything"])] {
        let text = format!("{r:?}").to_lowercase();
        assert!(!text.contains(&SECRET[..12]), "secret in {text}");
    }
    assert!(!s.log().to_lowercase().contains(&SECRET[..12]));
}

/// The same mapping after DEBUG RELOAD, and on a promoted replica.
#[test]
fn the_mapping_survives_reload_and_promotion() {
    let primary = Server::builder("sf-opaque-primary").start();
    let replica = Server::builder("sf-opaque-replica")
        .replicaof(primary.port())
        .start();
    wait_replica_sync(&primary, &replica);
    let mut p = primary.conn();
    p.cmd(&["SNOWFLAKE.CREATE", "k", "OPAQUE"]).ok();
    let issued = nexts(&mut p, "k", 3000);
    let before: Vec<_> = issued
        .iter()
        .step_by(101)
        .map(|&id| parse(&mut p, "k", id))
        .collect();
    p.cmd(&["DEBUG", "RELOAD"]).ok();
    let probe = |c: &mut Conn| -> Vec<_> {
        issued
            .iter()
            .step_by(101)
            .map(|&id| parse(c, "k", id))
            .collect()
    };
    assert_eq!(probe(&mut p), before, "DEBUG RELOAD changed the mapping");
    let mut seen: HashSet<i64> = issued.iter().copied().collect();
    seen.extend(nexts(&mut p, "k", 1000));
    wait_replica_sync(&primary, &replica);
    let mut r = replica.conn();
    assert_eq!(
        p.cmd(&["SNOWFLAKE.INFO", "k"]).field("opaque"),
        r.cmd(&["SNOWFLAKE.INFO", "k"]).field("opaque")
    );
    assert_eq!(probe(&mut r), before, "the replica maps differently");
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    let last = before.last().unwrap().0;
    for id in nexts(&mut r, "k", 3000) {
        assert!(seen.insert(id), "the promoted replica repeated {id}");
        assert!(id >= 0);
    }
    let id = r.cmd(&["SNOWFLAKE.NEXT", "k"]).int();
    assert!(parse(&mut r, "k", id).0 >= last);
}
