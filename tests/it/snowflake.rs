//! SNOWFLAKE.* commands against README's command reference.

use idgen_testkit::{assert_create_refusals, info_field, now_ms, Conn, Server, Value};
use std::collections::HashSet;

const DEFAULT_EPOCH: i64 = 1_704_067_200_000;
const BAD_INT: &str = "ERR value is not an integer or out of range";
const BAD_LAYOUT: &str = "ERR id was not produced by this generator's layout";

fn info(c: &mut Conn, key: &str) -> Value {
    let v = c.cmd(&["SNOWFLAKE.INFO", key]);
    assert!(!v.is_err(), "SNOWFLAKE.INFO {key}: {v:?}");
    v
}

fn next(c: &mut Conn, key: &str) -> i64 {
    c.cmd(&["SNOWFLAKE.NEXT", key]).int()
}

fn next_count(c: &mut Conn, key: &str, n: usize) -> Vec<i64> {
    let v = c.cmd(&args!["SNOWFLAKE.NEXT", key, "COUNT", n]).ints();
    assert_eq!(
        v.len(),
        n,
        "SNOWFLAKE.NEXT {key} COUNT {n} returned {} ids",
        v.len()
    );
    v
}

/// (timestamp unix ms, worker, sequence) of a PARSE reply.
fn parse(c: &mut Conn, key: &str, id: i64) -> (i64, i64, i64) {
    let v = c.cmd(&args!["SNOWFLAKE.PARSE", key, id]);
    (
        v.field_int("timestamp"),
        v.field_int("worker"),
        v.field_int("sequence"),
    )
}

/// Decodes an id by hand: (timestamp unix ms, worker, sequence).
fn decode(id: i64, epoch: i64, worker_bits: u32, seq_bits: u32) -> (i64, i64, i64) {
    let ts = (id >> (worker_bits + seq_bits)) + epoch;
    let worker = (id >> seq_bits) & ((1i64 << worker_bits) - 1);
    let seq = id & ((1i64 << seq_bits) - 1);
    (ts, worker, seq)
}

fn assert_strictly_increasing(ids: &[i64]) {
    for w in ids.windows(2) {
        assert!(
            w[0] < w[1],
            "ids not strictly increasing: {} then {}",
            w[0],
            w[1]
        );
    }
}

/// `time_bits_exhausted_at` is the last unix ms the TIME-BITS can hold: epoch + 2^bits - 1.
fn assert_exhausted_at(info: &Value, epoch: i64, time_bits: u32) {
    let at = info.field_int("time_bits_exhausted_at");
    assert_eq!(
        at,
        epoch + (1i64 << time_bits) - 1,
        "time_bits_exhausted_at"
    );
}

fn assert_err(c: &mut Conn, args: &[&str], want: &str) {
    let r = c.cmd(args);
    assert_eq!(r.err(), want, "reply to {args:?}");
}

#[test]
fn create_with_defaults() {
    let s = Server::start("sf-create-defaults");
    let mut c = s.conn();
    c.cmd(&["SNOWFLAKE.CREATE", "k"]).ok();
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("time_bits"), 41);
    assert_eq!(i.field_int("worker_bits"), 10);
    assert_eq!(i.field_int("sequence_bits"), 12);
    assert_eq!(i.field_int("epoch"), DEFAULT_EPOCH);
    assert_eq!(i.field_int("worker"), -1);
    assert_eq!(i.field_int("last_timestamp"), -1);
    assert_eq!(i.field_int("ids_issued"), 0);
    assert_exhausted_at(&i, DEFAULT_EPOCH, 41);
    for f in ["clock_behind", "borrowed_ms", "wall_seen", "reserved_until"] {
        i.field_int(f);
    }

    let before = now_ms();
    let id = next(&mut c, "k");
    let after = now_ms();
    let (ts, worker, seq) = decode(id, DEFAULT_EPOCH, 10, 12);
    assert!(
        ts >= before - 5 && ts <= after + 5,
        "timestamp {ts} not in [{before}, {after}]"
    );
    assert_eq!(worker, 0, "node worker id defaults to 0");
    assert!(seq < 4096);

    let i = info(&mut c, "k");
    assert_eq!(i.field_int("last_timestamp"), ts);
    assert_eq!(i.field_int("ids_issued"), 1);
    assert!(
        i.field_int("reserved_until") > ts,
        "reserved_until must be above issued ids: {i:?}"
    );
    let wall = i.field_int("wall_seen");
    assert!(
        wall >= before - 5 && wall <= now_ms() + 5,
        "wall_seen {wall} not near now"
    );
    assert!(i.field_int("clock_behind") >= 0);
    assert!(i.field_int("borrowed_ms") >= 0);
}

#[test]
fn create_with_every_option() {
    let s = Server::start("sf-create-options");
    let mut c = s.conn();
    let epoch = 1_600_000_000_000i64;
    c.cmd(&args![
        "SNOWFLAKE.CREATE",
        "k",
        "EPOCH",
        epoch,
        "TIME-BITS",
        45,
        "WORKER-BITS",
        6,
        "SEQUENCE-BITS",
        12,
        "WORKER",
        33
    ])
    .ok();
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("time_bits"), 45);
    assert_eq!(i.field_int("worker_bits"), 6);
    assert_eq!(i.field_int("sequence_bits"), 12);
    assert_eq!(i.field_int("epoch"), epoch);
    assert_eq!(i.field_int("worker"), 33);
    assert_exhausted_at(&i, epoch, 45);

    let before = now_ms();
    let ids = next_count(&mut c, "k", 50);
    let after = now_ms();
    assert_strictly_increasing(&ids);
    for &id in &ids {
        let (ts, w, seq) = decode(id, epoch, 6, 12);
        assert_eq!(w, 33, "fixed WORKER in id {id}");
        assert!(ts >= before - 5 && ts <= after + 1000, "timestamp {ts}");
        assert_eq!(parse(&mut c, "k", id), (ts, w, seq), "PARSE of {id}");
    }

    // Options in any order, WORKER-BITS 0 (only worker 0 exists).
    c.run("SNOWFLAKE.CREATE k0 SEQUENCE-BITS 12 WORKER-BITS 0 TIME-BITS 51 EPOCH 0")
        .ok();
    let i = info(&mut c, "k0");
    assert_eq!(
        (
            i.field_int("time_bits"),
            i.field_int("worker_bits"),
            i.field_int("sequence_bits"),
            i.field_int("epoch")
        ),
        (51, 0, 12, 0)
    );
    let id = next(&mut c, "k0");
    let (ts, _, seq) = decode(id, 0, 0, 12);
    assert!((ts - now_ms()).abs() < 5000, "timestamp {ts} with EPOCH 0");
    assert_eq!(parse(&mut c, "k0", id), (ts, 0, seq));

    // Bounds that are allowed.
    c.run("SNOWFLAKE.CREATE b1 TIME-BITS 55 WORKER-BITS 4 SEQUENCE-BITS 4")
        .ok();
    c.cmd(&[
        "SNOWFLAKE.CREATE",
        "b2",
        "TIME-BITS",
        "35",
        "WORKER-BITS",
        "20",
        "SEQUENCE-BITS",
        "8",
        "EPOCH",
        &(now_ms() - 1000).to_string(),
    ])
    .ok();
    c.run("SNOWFLAKE.CREATE b3 TIME-BITS 41 WORKER-BITS 0 SEQUENCE-BITS 22")
        .ok();
    c.cmd(&["SNOWFLAKE.CREATE", "b4", "WORKER", "1023"]).ok();
    c.cmd(&["SNOWFLAKE.CREATE", "b5", "WORKER", "0"]).ok();
    for k in ["b1", "b2", "b3", "b4", "b5"] {
        let a = next(&mut c, k);
        let b = next(&mut c, k);
        assert!(a < b, "{k}: {a} then {b}");
    }
    let id = next(&mut c, "b4");
    assert_eq!(decode(id, DEFAULT_EPOCH, 10, 12).1, 1023);
}

#[test]
fn create_validation_errors() {
    let s = Server::start("sf-create-errors");
    let mut c = s.conn();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            args!["TIME-BITS", 34, "WORKER-BITS", 17, "SEQUENCE-BITS", 12].to_vec(),
            "ERR TIME-BITS must be between 35 and 55".into(),
        ),
        (
            args!["TIME-BITS", 56, "WORKER-BITS", 0, "SEQUENCE-BITS", 7].to_vec(),
            "ERR TIME-BITS must be between 35 and 55".into(),
        ),
        (
            args!["TIME-BITS", 37, "WORKER-BITS", 21, "SEQUENCE-BITS", 5].to_vec(),
            "ERR WORKER-BITS must be between 0 and 20".into(),
        ),
        (
            args!["TIME-BITS", 52, "WORKER-BITS", -1, "SEQUENCE-BITS", 12].to_vec(),
            "ERR WORKER-BITS must be between 0 and 20".into(),
        ),
        (
            args!["TIME-BITS", 50, "WORKER-BITS", 10, "SEQUENCE-BITS", 3].to_vec(),
            "ERR SEQUENCE-BITS must be between 4 and 22".into(),
        ),
        (
            args!["TIME-BITS", 35, "WORKER-BITS", 5, "SEQUENCE-BITS", 23].to_vec(),
            "ERR SEQUENCE-BITS must be between 4 and 22".into(),
        ),
        (
            args!["TIME-BITS", 42].to_vec(),
            "ERR TIME-BITS + WORKER-BITS + SEQUENCE-BITS must be at most 63, got 64".into(),
        ),
        (
            args!["EPOCH", now_ms() + 3_600_000].to_vec(),
            "ERR EPOCH must not be in the future".into(),
        ),
        (
            args!["EPOCH", -1].to_vec(),
            "ERR EPOCH must not be negative".into(),
        ),
        (
            args!["WORKER", 1024].to_vec(),
            "ERR WORKER must be between 0 and 1023".into(),
        ),
        (
            args!["WORKER", -1].to_vec(),
            "ERR WORKER must be between 0 and 1023".into(),
        ),
        (
            args![
                "TIME-BITS",
                46,
                "WORKER-BITS",
                5,
                "SEQUENCE-BITS",
                12,
                "WORKER",
                32
            ]
            .to_vec(),
            "ERR WORKER must be between 0 and 31".into(),
        ),
        (args!["EPOCH", "abc"].to_vec(), BAD_INT.into()),
        (
            args!["EPOCH", "99999999999999999999"].to_vec(),
            BAD_INT.into(),
        ),
        (args!["TIME-BITS", "4x"].to_vec(), BAD_INT.into()),
        (args!["WORKER", "1.5"].to_vec(), BAD_INT.into()),
        (args!["SEQUENCE-BITS", ""].to_vec(), BAD_INT.into()),
        (
            args!["foo", 1].to_vec(),
            "ERR syntax error, unknown option 'foo'".into(),
        ),
        (
            args!["ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd", 1].to_vec(),
            "ERR syntax error, unknown option 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'".into(),
        ),
        (
            args!["EPOCH"].to_vec(),
            "ERR syntax error, option 'EPOCH' needs a value".into(),
        ),
        (
            args!["EPOCH", 0, "WORKER"].to_vec(),
            "ERR syntax error, option 'WORKER' needs a value".into(),
        ),
        (
            args!["EPOCH", 0, "EPOCH", 0].to_vec(),
            "ERR syntax error, option 'EPOCH' given twice".into(),
        ),
        (
            args!["TIME-BITS", 41, "TIME-BITS", 41].to_vec(),
            "ERR syntax error, option 'TIME-BITS' given twice".into(),
        ),
    ];
    assert_create_refusals(&mut c, "SNOWFLAKE.CREATE", cases);
}

#[test]
fn create_existing_key_is_busykey() {
    let s = Server::start("sf-busykey");
    let mut c = s.conn();
    c.cmd(&["SNOWFLAKE.CREATE", "k", "EPOCH", "1600000000000"])
        .ok();
    let id = next(&mut c, "k");
    let before = info(&mut c, "k");
    assert_err(
        &mut c,
        &["SNOWFLAKE.CREATE", "k"],
        "BUSYKEY generator already exists",
    );
    assert_err(
        &mut c,
        &["SNOWFLAKE.CREATE", "k", "EPOCH", "0"],
        "BUSYKEY generator already exists",
    );
    let after = info(&mut c, "k");
    assert_eq!(before, after, "failed CREATE changed the generator");
    assert!(next(&mut c, "k") > id);

    // A key created implicitly by NEXT is just as existing.
    next(&mut c, "implicit");
    assert_err(
        &mut c,
        &["SNOWFLAKE.CREATE", "implicit"],
        "BUSYKEY generator already exists",
    );
}

#[test]
fn next_single_and_count_strictly_increasing_and_unique() {
    let s = Server::start("sf-next");
    let mut c = s.conn();
    let mut all = Vec::new();
    for round in 0..5 {
        for _ in 0..20 {
            all.push(next(&mut c, "k"));
        }
        let one = c.cmd(&["SNOWFLAKE.NEXT", "k", "COUNT", "1"]);
        assert_eq!(
            one.array().len(),
            1,
            "COUNT 1 gives an array of one: {one:?}"
        );
        all.extend(one.ints());
        let n = if round == 2 { 10_000 } else { 700 };
        let batch = next_count(&mut c, "k", n);
        assert_strictly_increasing(&batch);
        all.extend(batch);
    }
    assert_strictly_increasing(&all);
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len());
    assert!(all.iter().all(|&id| id > 0));
    assert_eq!(info(&mut c, "k").field_int("ids_issued"), all.len() as i64);

    // Two keys are independent generators; pipelined calls still increase.
    let replies = c.pipeline(&vec![args!["SNOWFLAKE.NEXT", "k"]; 200]);
    let ids: Vec<i64> = replies.iter().map(Value::int).collect();
    assert!(ids[0] > *all.last().unwrap());
    assert_strictly_increasing(&ids);
}

#[test]
fn next_count_bounds() {
    let s = Server::start("sf-next-count");
    let mut c = s.conn();
    next(&mut c, "k");
    let before = info(&mut c, "k").field_int("ids_issued");
    for bad in ["0", "-1", "10001", "100000"] {
        assert_err(
            &mut c,
            &["SNOWFLAKE.NEXT", "k", "COUNT", bad],
            "ERR COUNT must be between 1 and 10000",
        );
    }
    for bad in ["abc", "1.5", "", "99999999999999999999"] {
        assert_err(&mut c, &["SNOWFLAKE.NEXT", "k", "COUNT", bad], BAD_INT);
    }
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "k", "COUNT"],
        "ERR syntax error, option 'COUNT' needs a value",
    );
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "k", "COUNT", "2", "COUNT", "2"],
        "ERR syntax error, option 'COUNT' given twice",
    );
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "k", "LIMIT", "2"],
        "ERR syntax error, unknown option 'LIMIT'",
    );
    // Errors change nothing, also not on a missing key.
    assert_eq!(info(&mut c, "k").field_int("ids_issued"), before);
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "missing", "COUNT", "0"],
        "ERR COUNT must be between 1 and 10000",
    );
    assert_eq!(c.cmd(&["EXISTS", "missing"]).int(), 0);
    assert_eq!(next_count(&mut c, "k", 10_000).len(), 10_000);
}

#[test]
fn next_creates_missing_key_with_defaults() {
    let s = Server::start("sf-implicit");
    let mut c = s.conn();
    assert_eq!(c.cmd(&["EXISTS", "k"]).int(), 0);
    let id = next(&mut c, "k");
    assert_eq!(c.cmd(&["EXISTS", "k"]).int(), 1);
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("time_bits"), 41);
    assert_eq!(i.field_int("worker_bits"), 10);
    assert_eq!(i.field_int("sequence_bits"), 12);
    assert_eq!(i.field_int("epoch"), DEFAULT_EPOCH);
    assert_eq!(i.field_int("worker"), -1);
    assert_eq!(i.field_int("ids_issued"), 1);
    let (ts, _, _) = decode(id, DEFAULT_EPOCH, 10, 12);
    assert!((ts - now_ms()).abs() < 5000);

    let ids = next_count(&mut c, "k2", 3);
    assert_strictly_increasing(&ids);
    assert_eq!(info(&mut c, "k2").field_int("ids_issued"), 3);
}

#[test]
fn parse_round_trip_with_node_worker_id() {
    let s = Server::builder("sf-parse-node-worker")
        .module_arg("idgen.worker-id", "7")
        .start();
    let mut c = s.conn();
    let before = now_ms();
    let mut ids = vec![next(&mut c, "k")];
    ids.extend(next_count(&mut c, "k", 300));
    let after = now_ms();
    let mut prev = (i64::MIN, i64::MIN);
    for &id in &ids {
        let (ts, w, seq) = parse(&mut c, "k", id);
        assert_eq!(
            (ts, w, seq),
            decode(id, DEFAULT_EPOCH, 10, 12),
            "PARSE of {id}"
        );
        assert_eq!(w, 7, "worker of {id} must be the node's idgen.worker-id");
        assert!(
            ts >= before - 5 && ts <= after + 1000,
            "timestamp {ts} not near now"
        );
        assert!((ts, seq) > prev, "(timestamp, sequence) must increase");
        prev = (ts, seq);
    }
    // Key with a fixed WORKER ignores the node's id.
    c.cmd(&["SNOWFLAKE.CREATE", "fixed", "WORKER", "5"]).ok();
    let id = next(&mut c, "fixed");
    assert_eq!(parse(&mut c, "fixed", id).1, 5);
}

#[test]
fn parse_errors_and_missing_key() {
    let s = Server::start("sf-parse-errors");
    let mut c = s.conn();
    c.cmd(&["SNOWFLAKE.CREATE", "fixed", "WORKER", "5"]).ok();
    let id = next(&mut c, "fixed");
    assert_err(&mut c, &["SNOWFLAKE.PARSE", "fixed", "-1"], BAD_LAYOUT);
    assert_err(
        &mut c,
        &["SNOWFLAKE.PARSE", "fixed", &i64::MIN.to_string()],
        BAD_LAYOUT,
    );
    // Same id but worker field 6 instead of 5.
    let other_worker = (id & !(1023 << 12)) | (6 << 12);
    assert_err(
        &mut c,
        &["SNOWFLAKE.PARSE", "fixed", &other_worker.to_string()],
        BAD_LAYOUT,
    );
    for bad in ["abc", "1.0", "9223372036854775808", ""] {
        assert_err(&mut c, &["SNOWFLAKE.PARSE", "fixed", bad], BAD_INT);
    }

    // Missing key: default layout, and PARSE does not create it.
    let crafted = (1000i64 << 22) | (3 << 12) | 9;
    assert_eq!(
        parse(&mut c, "missing", crafted),
        (DEFAULT_EPOCH + 1000, 3, 9)
    );
    assert_eq!(c.cmd(&["EXISTS", "missing"]).int(), 0);
    // Node-worker key: any worker field is accepted.
    let w1023 = (5i64 << 22) | (1023 << 12);
    assert_eq!(
        parse(&mut c, "missing", w1023),
        (DEFAULT_EPOCH + 5, 1023, 0)
    );
    assert_eq!(parse(&mut c, "missing", 0), (DEFAULT_EPOCH, 0, 0));
    assert_eq!(
        parse(&mut c, "missing", i64::MAX),
        (DEFAULT_EPOCH + (1i64 << 41) - 1, 1023, 4095)
    );
}

#[test]
fn info_missing_key_and_ids_issued() {
    let s = Server::start("sf-info");
    let mut c = s.conn();
    assert_err(&mut c, &["SNOWFLAKE.INFO", "missing"], "ERR no such key");
    assert_eq!(c.cmd(&["EXISTS", "missing"]).int(), 0);
    c.cmd(&["SNOWFLAKE.CREATE", "k"]).ok();
    next(&mut c, "k");
    next_count(&mut c, "k", 5);
    next_count(&mut c, "k", 10_000);
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("ids_issued"), 10_006);
    let last = i.field_int("last_timestamp");
    assert!(i.field_int("reserved_until") > last);
    assert!(
        last <= now_ms() + 1000,
        "last_timestamp {last} too far ahead"
    );
    let keys: Vec<String> = i.pairs().into_iter().map(|(k, _)| k).collect();
    for f in [
        "time_bits",
        "worker_bits",
        "sequence_bits",
        "epoch",
        "worker",
        "last_timestamp",
        "ids_issued",
        "clock_behind",
        "borrowed_ms",
        "wall_seen",
        "reserved_until",
        "time_bits_exhausted_at",
    ] {
        assert!(
            keys.iter().any(|k| k == f),
            "SNOWFLAKE.INFO lacks {f}: {keys:?}"
        );
    }
    assert_eq!(
        info_field(&mut c, "idgen", "idgen_snowflake_ids_issued").as_deref(),
        Some("10006")
    );
}

#[test]
fn worker_id_module_arg_and_config() {
    let s = Server::builder("sf-worker-config")
        .module_arg("idgen.worker-id", "7")
        .start();
    let mut c = s.conn();
    let g = c.cmd(&["CONFIG", "GET", "idgen.worker-id"]);
    assert_eq!(g.field("idgen.worker-id").as_str(), "7");
    let a = next(&mut c, "k");
    assert_eq!(parse(&mut c, "k", a).1, 7);

    c.cmd(&["CONFIG", "SET", "idgen.worker-id", "9"]).ok();
    let g = c.cmd(&["CONFIG", "GET", "idgen.worker-id"]);
    assert_eq!(g.field("idgen.worker-id").as_str(), "9");
    let b = next(&mut c, "k");
    assert!(b > a);
    assert_eq!(parse(&mut c, "k", b).1, 9);
    assert_eq!(
        info_field(&mut c, "idgen", "idgen_worker_id").as_deref(),
        Some("9")
    );

    for bad in ["1024", "-1", "abc", "99999999999999999999"] {
        let r = c.cmd(&["CONFIG", "SET", "idgen.worker-id", bad]);
        assert!(
            r.err().starts_with("ERR"),
            "CONFIG SET idgen.worker-id {bad}: {r:?}"
        );
    }
    c.cmd(&["CONFIG", "SET", "idgen.worker-id", "1023"]).ok();
    c.cmd(&["CONFIG", "SET", "idgen.worker-id", "0"]).ok();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "idgen.worker-id"])
            .field("idgen.worker-id")
            .as_str(),
        "0"
    );

    let g = c.cmd(&["CONFIG", "GET", "idgen.max-borrow-ms"]);
    assert_eq!(g.field("idgen.max-borrow-ms").as_str(), "1000");
    c.cmd(&["CONFIG", "SET", "idgen.max-borrow-ms", "3600000"])
        .ok();
    c.cmd(&["CONFIG", "SET", "idgen.max-borrow-ms", "0"]).ok();
    for bad in ["3600001", "-1", "x"] {
        let r = c.cmd(&["CONFIG", "SET", "idgen.max-borrow-ms", bad]);
        assert!(
            r.err().starts_with("ERR"),
            "CONFIG SET idgen.max-borrow-ms {bad}: {r:?}"
        );
    }
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "idgen.max-borrow-ms"])
            .field("idgen.max-borrow-ms")
            .as_str(),
        "0"
    );
}

#[test]
fn default_worker_id_config_is_zero() {
    let s = Server::builder("sf-worker-default")
        .module_arg("idgen.max-borrow-ms", "250")
        .start();
    let mut c = s.conn();
    let g = c.cmd(&["CONFIG", "GET", "idgen.*"]);
    assert_eq!(g.field("idgen.worker-id").as_str(), "0");
    assert_eq!(g.field("idgen.max-borrow-ms").as_str(), "250");
}

#[test]
fn node_worker_id_must_fit_key_worker_bits() {
    let s = Server::start("sf-worker-fit");
    let mut c = s.conn();
    c.run("SNOWFLAKE.CREATE k TIME-BITS 48 WORKER-BITS 5 SEQUENCE-BITS 10")
        .ok();
    c.cmd(&["CONFIG", "SET", "idgen.worker-id", "1000"]).ok();
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "k"],
        "ERR idgen.worker-id 1000 does not fit the key's 5 WORKER-BITS",
    );
    assert_eq!(info(&mut c, "k").field_int("ids_issued"), 0);
    c.cmd(&["CONFIG", "SET", "idgen.worker-id", "31"]).ok();
    let id = next(&mut c, "k");
    assert_eq!(decode(id, DEFAULT_EPOCH, 5, 10).1, 31);
    assert_eq!(parse(&mut c, "k", id).1, 31);
}

#[test]
fn wrongtype() {
    let s = Server::start("sf-wrongtype");
    let mut c = s.conn();
    const WT: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    c.cmd(&["SET", "str", "x"]).ok();
    assert_err(&mut c, &["SNOWFLAKE.NEXT", "str"], WT);
    assert_err(&mut c, &["SNOWFLAKE.NEXT", "str", "COUNT", "2"], WT);
    assert_err(&mut c, &["SNOWFLAKE.PARSE", "str", "1"], WT);
    assert_err(&mut c, &["SNOWFLAKE.INFO", "str"], WT);
    let r = c.cmd(&["SNOWFLAKE.CREATE", "str"]);
    assert!(r.is_err(), "CREATE over a string key: {r:?}");
    assert_eq!(c.cmd(&["GET", "str"]).as_str(), "x");

    next(&mut c, "sf");
    assert_err(&mut c, &["GET", "sf"], WT);
    assert_err(&mut c, &["LPUSH", "sf", "x"], WT);
    assert_err(&mut c, &["SEQ.NEXT", "sf"], WT);
    assert_err(&mut c, &["SEQ.INFO", "sf"], WT);
    c.cmd(&["SEQ.NEXT", "seq"]).int();
    assert_err(&mut c, &["SNOWFLAKE.NEXT", "seq"], WT);
    assert_err(&mut c, &["SNOWFLAKE.INFO", "seq"], WT);
    assert_eq!(info(&mut c, "sf").field_int("ids_issued"), 1);
}

#[test]
fn options_are_case_insensitive() {
    let s = Server::start("sf-case");
    let mut c = s.conn();
    c.run("snowflake.create k epoch 1600000000000 Time-Bits 45 worker-bits 6 sequence-BITS 12 wOrKeR 3")
    .ok();
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("epoch"), 1_600_000_000_000);
    assert_eq!(i.field_int("time_bits"), 45);
    assert_eq!(i.field_int("worker_bits"), 6);
    assert_eq!(i.field_int("worker"), 3);
    let ids = c.cmd(&["snowflake.next", "k", "count", "3"]).ints();
    assert_eq!(ids.len(), 3);
    assert_strictly_increasing(&ids);
    let ids = c.cmd(&["SnowFlake.Next", "k", "Count", "2"]).ints();
    assert_eq!(ids.len(), 2);
}

#[test]
fn borrow_limit_refuses_instead_of_running_ahead() {
    let s = Server::start("sf-borrow");
    let mut c = s.conn();
    // 16 ids per millisecond: 10000 ids need ~625 ms of timestamps.
    c.run("SNOWFLAKE.CREATE k TIME-BITS 49 WORKER-BITS 10 SEQUENCE-BITS 4")
        .ok();
    c.cmd(&["CONFIG", "SET", "idgen.max-borrow-ms", "0"]).ok();
    let refusals_before: i64 = info_field(&mut c, "idgen", "idgen_refusals")
        .expect("idgen_refusals in INFO idgen")
        .parse()
        .unwrap();
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "k", "COUNT", "10000"],
        "ERR clock: the generator would run more than idgen.max-borrow-ms (0) ahead of the clock, retry later",
    );
    assert_eq!(
        info(&mut c, "k").field_int("ids_issued"),
        0,
        "a refusal issued ids"
    );
    let refusals_after: i64 = info_field(&mut c, "idgen", "idgen_refusals")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        refusals_after > refusals_before,
        "idgen_refusals did not count the refusal"
    );

    // With the default budget the same request borrows time and succeeds.
    c.cmd(&["CONFIG", "SET", "idgen.max-borrow-ms", "1000"])
        .ok();
    let start = now_ms();
    let ids = next_count(&mut c, "k", 10_000);
    assert_strictly_increasing(&ids);
    let last_ts = decode(*ids.last().unwrap(), DEFAULT_EPOCH, 10, 4).0;
    assert!(
        last_ts >= start + 500,
        "10000 ids at 16/ms must borrow time: {last_ts} vs {start}"
    );
    assert!(last_ts <= now_ms() + 1000, "ran more than 1000 ms ahead");
    assert!(info(&mut c, "k").field_int("borrowed_ms") > 0);
}

#[test]
fn time_bits_exhausted() {
    let s = Server::start("sf-exhausted");
    let mut c = s.conn();
    // 2^35 ms after 1970 is in 1971.
    c.run("SNOWFLAKE.CREATE k EPOCH 0 TIME-BITS 35 WORKER-BITS 10 SEQUENCE-BITS 18")
        .ok();
    assert_exhausted_at(&info(&mut c, "k"), 0, 35);
    assert_err(
        &mut c,
        &["SNOWFLAKE.NEXT", "k"],
        "ERR time bits exhausted: the generator's TIME-BITS cannot hold the current timestamp",
    );
    assert_eq!(info(&mut c, "k").field_int("ids_issued"), 0);
    assert_eq!(info(&mut c, "k").field_int("last_timestamp"), -1);
}

/// The generators take the command's time: the server's own reading for each top-level command
/// where it offers one (Redis 7.2+, Valkey), else the clock (Redis 7.0); `INFO idgen` says which.
/// Either way each command of a pipeline gets its own time: a command after a 60 ms pause in the
/// same pipeline (one event-loop pass) carries a timestamp at least 60 ms later. Inside
/// MULTI/EXEC or a script the cached reading stays the transaction's, and the key keeps
/// counting on its own timestamp: IDs still strictly increase.
#[test]
fn each_command_gets_its_own_time() {
    let s = Server::start("sf-command-clock");
    let mut c = s.conn();
    let server = idgen_testkit::info(&mut c, "server");
    let redis_version = server
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .expect("redis_version");
    let mut v = redis_version
        .trim()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap());
    let (major, minor) = (v.next().unwrap(), v.next().unwrap());
    // Valkey reports redis_version 7.2.4.
    let cached = (major, minor) >= (7, 2);
    let clock = info_field(&mut c, "idgen", "idgen_command_clock").unwrap();
    assert_eq!(
        clock,
        if cached {
            "server-cached"
        } else {
            "clock_gettime"
        }
    );

    let before = now_ms();
    let r = c.pipeline(&[
        args!["SNOWFLAKE.NEXT", "k"].to_vec(),
        args!["DEBUG", "SLEEP", "0.06"].to_vec(),
        args!["SNOWFLAKE.NEXT", "k"].to_vec(),
        args!["SEQ.NEXT", "q"].to_vec(),
    ]);
    let after = now_ms();
    let (a, b) = (r[0].int(), r[2].int());
    let (ta, _, _) = decode(a, DEFAULT_EPOCH, 10, 12);
    let (tb, _, _) = decode(b, DEFAULT_EPOCH, 10, 12);
    assert!(
        tb - ta >= 60,
        "the command after DEBUG SLEEP 0.06 got {tb}, the one before {ta}: not its own time"
    );
    assert!(
        before <= ta && tb <= after,
        "{before} <= {ta} .. {tb} <= {after}"
    );
    assert_eq!(r[3].int(), 1);

    // In a transaction the reading may be the transaction's: IDs still strictly increase.
    let r = c.pipeline(&[
        args!["MULTI"].to_vec(),
        args!["SNOWFLAKE.NEXT", "k"].to_vec(),
        args!["DEBUG", "SLEEP", "0.01"].to_vec(),
        args!["SNOWFLAKE.NEXT", "k", "COUNT", "5000"].to_vec(),
        args!["SNOWFLAKE.NEXT", "k"].to_vec(),
        args!["EXEC"].to_vec(),
    ]);
    let exec = r[5].array();
    let mut ids = vec![exec[0].int()];
    ids.extend(exec[2].ints());
    ids.push(exec[3].int());
    assert!(ids[0] > b);
    assert_strictly_increasing(&ids);
}
