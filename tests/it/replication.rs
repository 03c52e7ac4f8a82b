//! Replication: replicas receive only reservations, stay digest-equal, never repeat after
//! promotion, and refuse writes while they are replicas.

use idgen_testkit::{info, now_ms, wait_replica_sync, Conn, Server, Value};
use std::collections::BTreeMap;

/// `INFO commandstats` as command name -> calls.
fn command_calls(c: &mut Conn) -> BTreeMap<String, i64> {
    info(c, "commandstats")
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

fn calls(m: &BTreeMap<String, i64>, cmd: &str) -> i64 {
    m.get(cmd).copied().unwrap_or(0)
}

fn pair(name: &str) -> (Server, Server) {
    let primary = Server::builder(&format!("{name}-primary"))
        .module_arg("idgen.worker-id", "1")
        .start();
    let replica = Server::builder(&format!("{name}-replica"))
        .module_arg("idgen.worker-id", "2")
        .replicaof(primary.port())
        .start();
    wait_replica_sync(&primary, &replica);
    (primary, replica)
}

fn debug_digest(c: &mut Conn) -> String {
    c.cmd(&["DEBUG", "DIGEST"]).as_str().to_string()
}

fn assert_same_data(primary: &Server, replica: &Server, keys: &[&str]) {
    wait_replica_sync(primary, replica);
    let (mut p, mut r) = (primary.conn(), replica.conn());
    assert_eq!(p.cmd(&["DBSIZE"]), r.cmd(&["DBSIZE"]), "DBSIZE");
    for k in keys {
        let pd = p.cmd(&["DEBUG", "DIGEST-VALUE", k]);
        let rd = r.cmd(&["DEBUG", "DIGEST-VALUE", k]);
        assert_eq!(
            pd, rd,
            "DIGEST-VALUE of {k} differs between primary and replica"
        );
    }
    let pd = debug_digest(&mut p);
    assert_ne!(pd, "0".repeat(40), "empty dataset");
    assert_eq!(pd, debug_digest(&mut r), "DEBUG DIGEST differs");
}

#[test]
fn replica_gets_only_reservations_and_equal_digest() {
    let primary = Server::builder("repl-digest-primary")
        .module_arg("idgen.worker-id", "1")
        .start();
    let mut p = primary.conn();
    // Before the replica exists: reaches it through the full sync.
    p.run("SNOWFLAKE.CREATE sf-custom EPOCH 1600000000000 TIME-BITS 45 WORKER-BITS 6 SEQUENCE-BITS 12 WORKER 9")
    .ok();
    p.cmd(&["SNOWFLAKE.NEXT", "sf-custom", "COUNT", "100"])
        .ints();
    p.run("SEQ.CREATE seq-custom START 10 INCREMENT 3 MINVALUE -50 MAXVALUE 1000000 CYCLE")
        .ok();
    p.cmd(&["SEQ.NEXTBATCH", "seq-custom", "20"]).ints();

    let replica = Server::builder("repl-digest-replica")
        .module_arg("idgen.worker-id", "2")
        .replicaof(primary.port())
        .start();
    wait_replica_sync(&primary, &replica);
    let keys = [
        "sf-custom",
        "sf-implicit",
        "seq-custom",
        "seq-implicit",
        "seq-set",
    ];
    assert_same_data(&primary, &replica, &keys[..1]);

    // Streamed through the replication link.
    for _ in 0..20 {
        p.cmd(&["SNOWFLAKE.NEXT", "sf-custom"]).int();
    }
    p.cmd(&["SNOWFLAKE.NEXT", "sf-implicit", "COUNT", "1000"])
        .ints();
    p.run("SNOWFLAKE.CREATE sf-new WORKER-BITS 4 TIME-BITS 47 SEQUENCE-BITS 12")
        .ok();
    for _ in 0..20 {
        p.cmd(&["SEQ.NEXT", "seq-custom"]).int();
    }
    p.cmd(&["SEQ.NEXTBATCH", "seq-custom", "500"]).ints();
    p.cmd(&["SEQ.NEXT", "seq-implicit"]).int();
    p.cmd(&["SEQ.CREATE", "seq-new", "MAXVALUE", "10"]).ok();
    p.cmd(&["SEQ.SET", "seq-set", "1000"]).ok();
    p.cmd(&["SEQ.NEXT", "seq-set"]).int();
    p.cmd(&["SEQ.SET", "seq-set", "5000"]).ok();
    p.cmd(&["SEQ.SET", "seq-set", "7", "FORCE"]).ok();
    p.cmd(&["SEQ.NEXTBATCH", "seq-set", "3"]).ints();
    assert_same_data(&primary, &replica, &keys);

    let mut r = replica.conn();
    // Before any reader runs on the replica: only replicated commands are counted.
    let stats = command_calls(&mut r);
    let allowed = [
        "snowflake.reserve",
        "seq.reserve",
        "seq.set",
        "snowflake.create",
        "seq.create",
    ];
    for name in stats.keys() {
        if name.starts_with("snowflake.") || name.starts_with("seq.") {
            assert!(
                allowed.contains(&name.as_str()),
                "{name} ran on the replica: {stats:?}"
            );
        }
    }
    for cmd in ["snowflake.next", "seq.next", "seq.nextbatch"] {
        assert_eq!(calls(&stats, cmd), 0, "{cmd} ran on the replica: {stats:?}");
    }
    assert!(
        calls(&stats, "snowflake.reserve") > 0,
        "no snowflake.reserve on the replica: {stats:?}"
    );
    assert!(
        calls(&stats, "seq.reserve") > 0,
        "no seq.reserve on the replica: {stats:?}"
    );

    for k in ["sf-custom", "sf-implicit", "sf-new"] {
        let names = [
            "time_bits",
            "worker_bits",
            "sequence_bits",
            "epoch",
            "worker",
        ];
        let pi = p.cmd(&["SNOWFLAKE.INFO", k]);
        let ri = r.cmd(&["SNOWFLAKE.INFO", k]);
        for f in names {
            assert_eq!(pi.field_int(f), ri.field_int(f), "{k}.{f} on the replica");
        }
    }
    for k in ["seq-custom", "seq-implicit", "seq-new", "seq-set"] {
        let pi = p.cmd(&["SEQ.INFO", k]);
        let ri = r.cmd(&["SEQ.INFO", k]);
        for f in ["start", "increment", "minvalue", "maxvalue", "cycle"] {
            assert_eq!(pi.field_int(f), ri.field_int(f), "{k}.{f} on the replica");
        }
    }
}

#[test]
fn many_next_calls_need_few_reservations() {
    let (primary, replica) = pair("repl-few");
    let mut p = primary.conn();
    let mut r = replica.conn();
    p.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    p.cmd(&["SEQ.NEXT", "seq"]).int();
    wait_replica_sync(&primary, &replica);
    let before = command_calls(&mut r);

    const N: i64 = 2000;
    let sf_cmds = vec![args!["SNOWFLAKE.NEXT", "sf"]; N as usize];
    let seq_cmds = vec![args!["SEQ.NEXT", "seq"]; N as usize];
    let ids: Vec<i64> = p.pipeline(&sf_cmds).iter().map(Value::int).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let vals: Vec<i64> = p.pipeline(&seq_cmds).iter().map(Value::int).collect();
    assert_eq!(vals, (2..N + 2).collect::<Vec<_>>());
    // Round trips too.
    for _ in 0..200 {
        p.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
        p.cmd(&["SEQ.NEXT", "seq"]).int();
    }
    wait_replica_sync(&primary, &replica);
    let after = command_calls(&mut r);
    let total = N + 200;
    for cmd in ["snowflake.reserve", "seq.reserve"] {
        let d = calls(&after, cmd) - calls(&before, cmd);
        assert!(
            d * 20 <= total,
            "{total} calls caused {d} {cmd} on the replica (expected at most {})",
            total / 20
        );
    }
    assert_same_data(&primary, &replica, &["sf", "seq"]);
}

#[test]
fn promoted_replica_continues_above_primary() {
    let (primary, replica) = pair("repl-promote");
    let mut p = primary.conn();
    p.cmd(&["SNOWFLAKE.CREATE", "sf-fixed", "WORKER", "9"]).ok();
    // 16 ids per ms: runs ahead of the clock, so after a quick promotion only the replicated
    // reservation (not the clock) keeps the new primary above these ids.
    p.run("SNOWFLAKE.CREATE sf-fast TIME-BITS 49 WORKER-BITS 10 SEQUENCE-BITS 4")
        .ok();
    p.cmd(&["SEQ.CREATE", "seq-cycle", "MAXVALUE", "500", "CYCLE"])
        .ok();
    let mut sf_max = BTreeMap::new();
    for k in ["sf-fixed", "sf-node", "sf-fast"] {
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(p.cmd(&["SNOWFLAKE.NEXT", k]).int());
        }
        let n = if k == "sf-fast" { "9000" } else { "3000" };
        ids.extend(p.cmd(&["SNOWFLAKE.NEXT", k, "COUNT", n]).ints());
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{k}: not increasing");
        sf_max.insert(k, *ids.last().unwrap());
    }
    let fast = p.cmd(&args!["SNOWFLAKE.PARSE", "sf-fast", sf_max["sf-fast"]]);
    assert!(
        fast.field_int("timestamp") > now_ms() + 200,
        "sf-fast did not run ahead of the clock: {fast:?}"
    );
    let mut seq_pos = BTreeMap::new();
    for k in ["seq-cycle", "seq-node"] {
        for _ in 0..50 {
            p.cmd(&["SEQ.NEXT", k]).int();
        }
        p.cmd(&["SEQ.NEXTBATCH", k, "460"]).ints();
        p.cmd(&["SEQ.NEXT", k]).int();
        let i = p.cmd(&["SEQ.INFO", k]);
        seq_pos.insert(k, (i.field_int("cycles"), i.field_int("last")));
    }
    assert_eq!(
        seq_pos["seq-cycle"].0, 1,
        "seq-cycle should have wrapped once"
    );
    wait_replica_sync(&primary, &replica);

    let mut r = replica.conn();
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    for (k, max) in &sf_max {
        let id = r.cmd(&["SNOWFLAKE.NEXT", k]).int();
        assert!(
            id > *max,
            "{k}: promoted replica issued {id}, primary had issued up to {max}"
        );
        let ids = r.cmd(&["SNOWFLAKE.NEXT", k, "COUNT", "100"]).ints();
        assert!(ids[0] > id);
    }
    let id = r.cmd(&["SNOWFLAKE.NEXT", "sf-node"]).int();
    let parsed = r.cmd(&args!["SNOWFLAKE.PARSE", "sf-node", id]);
    assert_eq!(
        parsed.field_int("worker"),
        2,
        "the promoted node uses its own worker id"
    );
    let id = r.cmd(&["SNOWFLAKE.NEXT", "sf-fixed"]).int();
    let parsed = r.cmd(&args!["SNOWFLAKE.PARSE", "sf-fixed", id]);
    assert_eq!(parsed.field_int("worker"), 9);
    for (k, pos) in &seq_pos {
        let v = r.cmd(&["SEQ.NEXT", k]).int();
        let cycles = r.cmd(&["SEQ.INFO", k]).field_int("cycles");
        assert!(
            (cycles, v) > *pos,
            "{k}: promoted replica issued (cycle {cycles}, {v}), primary was at {pos:?}"
        );
        let (first, _) = {
            let b = r.cmd(&["SEQ.NEXTBATCH", k, "5"]).ints();
            (b[0], b[1])
        };
        let cycles2 = r.cmd(&["SEQ.INFO", k]).field_int("cycles");
        assert!((cycles2, first) > (cycles, v));
    }
}

/// Well-formed SNOWFLAKE.RESERVE and SEQ.RESERVE (exact arity) sent by a client to a replica:
/// refused like every write, with READONLY.
fn internal_reservations_from_client_on_replica(r: &mut Conn) {
    for cmd in [
        [
            "SNOWFLAKE.RESERVE",
            "sf",
            "1",
            "1",
            "1704067200000",
            "41",
            "10",
            "12",
            "-1",
            "1",
        ]
        .as_slice(),
        &[
            "SEQ.RESERVE",
            "seq",
            "0",
            "100",
            "0",
            "1",
            "1",
            "1",
            "9223372036854775807",
            "0",
            "1",
        ],
    ] {
        // internal command from a client
        let e = r.cmd(cmd);
        assert!(
            e.err().starts_with("READONLY "),
            "{cmd:?} on a replica: {e:?}"
        );
    }
}

#[test]
fn replica_refuses_writes() {
    let (primary, replica) = pair("repl-readonly");
    let mut p = primary.conn();
    let sf = p.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    p.cmd(&["SEQ.NEXT", "seq"]).int();
    wait_replica_sync(&primary, &replica);
    let mut r = replica.conn();
    for cmd in [
        vec!["SNOWFLAKE.NEXT", "sf"],
        vec!["SNOWFLAKE.NEXT", "sf", "COUNT", "5"],
        vec!["SNOWFLAKE.NEXT", "missing"],
        vec!["SNOWFLAKE.CREATE", "new"],
        vec!["SEQ.NEXT", "seq"],
        vec!["SEQ.NEXT", "missing"],
        vec!["SEQ.NEXTBATCH", "seq", "5"],
        vec!["SEQ.CREATE", "new"],
        vec!["SEQ.SET", "seq", "100"],
        vec!["SEQ.SET", "seq", "100", "FORCE"],
    ] {
        let e = r.cmd(&cmd);
        assert!(
            e.err().starts_with("READONLY "),
            "{cmd:?} on a replica: {e:?}"
        );
    }
    internal_reservations_from_client_on_replica(&mut r);
    // Readers work on the replica.
    assert!(!r.cmd(&["SNOWFLAKE.INFO", "sf"]).is_err());
    assert!(!r.cmd(&["SEQ.INFO", "seq"]).is_err());
    let parsed = r.cmd(&args!["SNOWFLAKE.PARSE", "sf", sf]);
    assert_eq!(
        parsed.field_int("worker"),
        1,
        "id was made by the primary (worker 1)"
    );
    let cur = r.cmd(&["SEQ.CURRENT", "seq"]);
    assert!(!cur.is_err(), "SEQ.CURRENT on a replica: {cur:?}");
    assert_eq!(r.cmd(&["SEQ.CURRENT", "missing"]), Value::Null);
    assert_eq!(r.cmd(&["EXISTS", "missing", "new"]).int(), 0);
    assert_same_data(&primary, &replica, &["sf", "seq"]);
}
