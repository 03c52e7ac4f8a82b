//! The committed RDB fixture of each released encoding still loads, field for field, and the
//! generators resume above their marks.

use idgen_testkit::*;

fn load_fixture(file: &str) -> Server {
    let mut server = Server::start("fixture");
    server.kill9();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    std::fs::copy(src, server.dir().join("dump.rdb")).expect("copy fixture");
    server.restart();
    server
}

/// What a fixture holds: the snowflake key's last id, last timestamp and mark.
struct Expected {
    sf_last_id: i64,
    sf_last_ts: i64,
    sf_mark: i64,
    node_id: i64,
}

/// Checks the keys every fixture holds (see tests/fixtures/README.md).
fn check_common(c: &mut Conn, want: &Expected) {
    let info = c.cmd(&["SNOWFLAKE.INFO", "fx:sf"]);
    for (field, value) in [
        ("time_bits", 42),
        ("worker_bits", 5),
        ("sequence_bits", 16),
        ("epoch", 1_600_000_000_000),
        ("worker", 3),
        ("ids_issued", 5),
        ("last_timestamp", want.sf_last_ts),
        ("reserved_until", want.sf_mark),
    ] {
        assert_eq!(info.field_int(field), value, "fx:sf {field}");
    }
    let id = c.cmd(&["SNOWFLAKE.NEXT", "fx:sf"]).int();
    assert!(id > want.sf_last_id);
    let parsed = c.cmd(&args!["SNOWFLAKE.PARSE", "fx:sf", id]);
    assert_eq!(parsed.field_int("worker"), 3);
    // Loaded state (saved in generation 0, loaded into generation 1) resumes above its mark plus
    // one default safety gap (2000 + 1000 ms).
    assert!(parsed.field_int("timestamp") >= want.sf_mark + 3_000);

    assert!(c.cmd(&["SNOWFLAKE.NEXT", "fx:node"]).int() > want.node_id);

    let info = c.cmd(&["SEQ.INFO", "fx:seq"]);
    for (field, value) in [
        ("start", 10),
        ("increment", 5),
        ("minvalue", 10),
        ("maxvalue", 1_000_000),
        ("cycle", 1),
        ("last", 40),
        ("cycles", 0),
        ("values_issued", 7),
        ("reserved_until", 50),
    ] {
        assert_eq!(info.field_int(field), value, "fx:seq {field}");
    }
    assert_eq!(c.cmd(&["SEQ.CURRENT", "fx:seq"]).int(), 40);
    let v = c.cmd(&["SEQ.NEXT", "fx:seq"]).int();
    // Above mark 50 by at least the minimum gap of 1000 steps of 5, on the progression 10 + 5k.
    assert!(v >= 50 + 1000 * 5, "{v}");
    assert_eq!((v - 10) % 5, 0, "{v}");
}

#[test]
fn encoding_v1_loads_and_resumes_above_the_marks() {
    let server = load_fixture("encoding-v1.rdb");
    let mut c = server.conn();
    check_common(
        &mut c,
        &Expected {
            sf_last_id: 409_475_715_906_600_964,
            sf_last_ts: 1_795_253_236_726,
            sf_mark: 1_795_253_236_776,
            node_id: 382_461_958_600_785_920,
        },
    );
    assert!(c.cmd(&["SEQ.NEXT", "fx:default"]).int() > 1);
}

/// Encoding 2 of sequences (compact and full forms) and the aux data on its own type.
#[test]
fn encoding_v2_loads_and_resumes_above_the_marks() {
    let server = load_fixture("encoding-v2.rdb");
    let mut c = server.conn();
    let node = c.cmd(&["SNOWFLAKE.INFO", "fx:node"]);
    assert_eq!(node.field_int("compact"), 1);
    assert_eq!(node.field_int("reserved_until"), 1_796_094_952_485);
    let info = c.cmd(&["SEQ.INFO", "fx:default"]);
    for (field, value) in [
        ("last", 2),
        ("next", 3),
        ("reserved_until", 3),
        ("compact", 1),
    ] {
        assert_eq!(info.field_int(field), value, "fx:default {field}");
    }
    assert_eq!(c.cmd(&["SEQ.INFO", "fx:seq"]).field_int("compact"), 0);
    check_common(
        &mut c,
        &Expected {
            sf_last_id: 411_240_921_649_315_844,
            sf_last_ts: 1_796_094_952_416,
            sf_mark: 1_796_094_952_466,
            node_id: 385_992_370_149_130_240,
        },
    );
    // Above mark 3 by the minimum gap of 1000 steps; still compact after issuing.
    assert!(c.cmd(&["SEQ.NEXT", "fx:default"]).int() >= 1003);
    assert_eq!(c.cmd(&["SEQ.INFO", "fx:default"]).field_int("compact"), 1);
}

/// Snowflake encoding 2 (TIME-UNIT, FORMAT, PREFIX) and sequence encoding 2's form 2 (PERIOD,
/// UTC-OFFSET, FORMAT template, the period).
#[test]
fn encoding_v3_loads_formats_and_periods() {
    let server = load_fixture("encoding-v3.rdb");
    let mut c = server.conn();
    check_common(
        &mut c,
        &Expected {
            sf_last_id: 411_246_307_622_191_108,
            sf_last_ts: 1_796_097_520_648,
            sf_mark: 1_796_097_520_698,
            node_id: 386_003_142_036_160_512,
        },
    );
    let text = |v: Value| v.as_str().to_string();
    let info = c.cmd(&["SNOWFLAKE.INFO", "fx:fmt"]);
    for (f, v) in [
        ("time_bits", 38),
        ("worker_bits", 5),
        ("sequence_bits", 10),
        ("time_unit", 10),
        ("ids_issued", 3),
        ("reserved_until", 1_796_097_520_730),
    ] {
        assert_eq!(info.field_int(f), v, "fx:fmt {f}");
    }
    assert_eq!(text(info.field("format")), "BASE62");
    assert_eq!(text(info.field("prefix")), "ord_");
    let id = text(c.cmd(&["SNOWFLAKE.NEXT", "fx:fmt"]));
    assert!(id.starts_with("ord_") && id.len() == 15, "{id}");
    assert!(id.as_str() > "ord_001NdDeDsh8", "{id}");
    let p = c.cmd(&["SNOWFLAKE.PARSE", "fx:fmt", &id]);
    assert!(p.field_int("timestamp") >= 1_796_097_520_730 + 3_000);

    let info = c.cmd(&["SNOWFLAKE.INFO", "fx:sec"]);
    assert_eq!(info.field_int("time_unit"), 1000);
    assert_eq!(info.field_int("reserved_until"), 1_796_097_521_000);
    assert_eq!(text(info.field("format")), "STRING");
    let id: i64 = text(c.cmd(&["SNOWFLAKE.NEXT", "fx:sec"])).parse().unwrap();
    assert!(id > 96_500_784_824_320);

    let info = c.cmd(&["SEQ.INFO", "fx:per"]);
    for (f, v) in [
        ("period_index", 20_788),
        ("next", 6),
        ("last", 5),
        ("reserved_until", 7),
        ("period_values_issued", 5),
        ("period_start", 1_796_054_400_000),
    ] {
        assert_eq!(info.field_int(f), v, "fx:per {f}");
    }
    assert_eq!(text(info.field("format")), "ORD{YYYY}{MM}{DD}{seq:6}");
    assert_eq!(text(info.field("utc_offset")), "+08:00");
    // Resumed above its mark by the minimum gap (1000), in its period or, on a later day, in
    // that day's period above START by the same gap.
    let v = text(c.cmd(&["SEQ.NEXT", "fx:per"]));
    assert_eq!(v.len(), 17, "{v}");
    assert!(v.as_str() >= "ORD20261201", "{v}");
    assert!(v[11..].parse::<i64>().unwrap() >= 1001, "{v}");

    assert_eq!(
        text(c.cmd(&["SEQ.INFO", "fx:tpl"]).field("format")),
        "INV-{seq:6}"
    );
    let v = text(c.cmd(&["SEQ.NEXT", "fx:tpl"]));
    assert!(v.as_str() >= "INV-001003", "{v}");
}

/// A file written in encoding 1 and saved again by this build (sequences in encoding 2, the
/// generation on `idgen-aux`) loads again with the same state.
#[test]
fn encoding_v1_file_saved_again_loads() {
    let mut server = load_fixture("encoding-v1.rdb");
    let mut c = server.conn();
    let before: Vec<Value> = ["fx:seq", "fx:default"]
        .iter()
        .map(|k| c.cmd(&["SEQ.INFO", k]))
        .collect();
    let generation = server.info_field("idgen", "idgen_generation");
    server.shutdown_save();
    server.restart();
    let mut c = server.conn();
    for (k, b) in ["fx:seq", "fx:default"].iter().zip(before) {
        let a = c.cmd(&["SEQ.INFO", k]);
        for f in [
            "start",
            "increment",
            "minvalue",
            "maxvalue",
            "cycle",
            "reserved_until",
        ] {
            assert_eq!(a.field_int(f), b.field_int(f), "{k} {f}");
        }
    }
    // The generation survived on idgen-aux: one more load, one more generation.
    let g: u64 = generation.unwrap().parse().unwrap();
    let g2: u64 = server
        .info_field("idgen", "idgen_generation")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(g2, g + 1);
}

/// Opaque sequences (idgen-seq encoding 3, form 3): the secret loads, the same mapping decodes
/// the values issued before the save, and the keys resume above their marks.
#[test]
fn encoding_v4_loads_opaque_sequences() {
    let server = load_fixture("encoding-v4.rdb");
    let mut c = server.conn();
    let info = c.cmd(&["SEQ.INFO", "fx:opq"]);
    assert_eq!(info.field("opaque").as_str(), "7df76b0c");
    assert_eq!(info.field_int("reserved_until"), 7);
    assert_eq!(info.field_int("last"), 5);
    for (i, v) in [31813311, 37825950, 41348760, 84472305, 48773552]
        .iter()
        .enumerate()
    {
        assert_eq!(c.cmd(&args!["SEQ.DECODE", "fx:opq", v]).int(), i as i64 + 1);
    }
    assert_eq!(c.cmd(&["SEQ.CURRENT", "fx:opq"]).int(), 48773552);
    let v = c.cmd(&["SEQ.NEXT", "fx:opq"]).int();
    // Above mark 7 by at least the minimum gap of 1000 steps.
    assert!(
        c.cmd(&args!["SEQ.DECODE", "fx:opq", v]).int() >= 1007,
        "{v}"
    );
    let tpl = c.cmd(&["SEQ.INFO", "fx:opqtpl"]);
    assert_eq!(tpl.field("opaque").as_str(), "c6a13b37");
    assert_eq!(tpl.field("format").as_str(), "C{seq:6}");
    for (i, v) in [939465, 487581].iter().enumerate() {
        assert_eq!(
            c.cmd(&args!["SEQ.DECODE", "fx:opqtpl", v]).int(),
            3 * i as i64
        );
    }
    let t = c.cmd(&["SEQ.NEXT", "fx:opqtpl"]);
    let n: i64 = t.as_str()[1..].parse().unwrap();
    assert_eq!(t.as_str().len(), 7, "{t:?}");
    assert!(c.cmd(&args!["SEQ.DECODE", "fx:opqtpl", n]).int() >= 6);
}

/// Opaque snowflake keys (idgen-sfk encoding 3): the secret loads, PARSE undoes the same
/// mapping for the ids issued before the save, a plain key of the same encoding loads, and the
/// keys resume above their marks.
#[test]
fn encoding_v5_loads_opaque_snowflakes() {
    let server = load_fixture("encoding-v5.rdb");
    let mut c = server.conn();
    let info = c.cmd(&["SNOWFLAKE.INFO", "fx:sfopq"]);
    assert_eq!(info.field("opaque").as_str(), "7df76b0c");
    assert_eq!(info.field_int("ids_issued"), 3);
    assert_eq!(info.field_int("reserved_until"), 1796663107048);
    let mut last = (0, -1);
    for id in [
        1338728340169874677i64,
        8256898334273671122,
        5910817237604167958,
    ] {
        let p = c.cmd(&args!["SNOWFLAKE.PARSE", "fx:sfopq", id]);
        let now = (p.field_int("timestamp"), p.field_int("sequence"));
        assert!(now > last, "{id}: {now:?} after {last:?}");
        last = now;
    }
    assert_eq!(last.0, 1796663106998);
    let fmt = c.cmd(&["SNOWFLAKE.INFO", "fx:sfopq62"]);
    assert_eq!(fmt.field("opaque").as_str(), "c6a13b37");
    assert_eq!(fmt.field("format").as_str(), "BASE62");
    let mut last = (0, -1);
    for id in ["ord_00CJ1HhOQa7", "ord_00TnWfNmuVy"] {
        let p = c.cmd(&["SNOWFLAKE.PARSE", "fx:sfopq62", id]);
        let now = (p.field_int("timestamp"), p.field_int("sequence"));
        assert!(now > last, "{id}: {now:?} after {last:?}");
        last = now;
    }
    assert_eq!(last.0, 1796663107000);
    assert!(c
        .cmd(&["SNOWFLAKE.INFO", "fx:sfplain"])
        .field("opaque")
        .is_null());
    assert_eq!(
        c.cmd(&["SNOWFLAKE.PARSE", "fx:sfplain", "388375383193419776"])
            .field_int("timestamp"),
        1796663107019
    );
    let id = c.cmd(&["SNOWFLAKE.NEXT", "fx:sfopq"]).int();
    let ts = c
        .cmd(&args!["SNOWFLAKE.PARSE", "fx:sfopq", id])
        .field_int("timestamp");
    assert!(ts >= 1796663107048, "{ts}");
}

/// An AOF written by the encoding-1 build (its reservation commands, argument for argument)
/// still loads, and every key resumes above its mark.
#[test]
fn aof_of_encoding_v1_loads_and_resumes_above_the_marks() {
    let mut server = Server::builder("fixture-aof")
        .config("appendonly yes")
        .config("aof-use-rdb-preamble no")
        .start();
    server.kill9();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aof-v1/appendonlydir");
    let dst = server.dir().join("appendonlydir");
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).unwrap();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dst.join(f.file_name())).unwrap();
    }
    server.restart();
    let mut c = server.conn();
    let info = c.cmd(&["SNOWFLAKE.INFO", "fx:sf"]);
    assert_eq!(info.field_int("worker"), 3);
    assert_eq!(info.field_int("time_bits"), 42);
    assert_eq!(info.field_int("reserved_until"), 1_796_096_191_119);
    let id = c.cmd(&["SNOWFLAKE.NEXT", "fx:sf"]).int();
    let ts = c
        .cmd(&args!["SNOWFLAKE.PARSE", "fx:sf", id])
        .field_int("timestamp");
    assert!(ts >= 1_796_096_191_119 + 3_000, "{ts}");
    let id = c.cmd(&["SNOWFLAKE.NEXT", "fx:node"]).int();
    let ts = c
        .cmd(&args!["SNOWFLAKE.PARSE", "fx:node", id])
        .field_int("timestamp");
    assert!(ts >= 1_796_096_191_123 + 3_000, "{ts}");
    let info = c.cmd(&["SEQ.INFO", "fx:seq"]);
    assert_eq!(
        (
            info.field_int("start"),
            info.field_int("increment"),
            info.field_int("maxvalue")
        ),
        (10, 5, 1_000_000)
    );
    let v = c.cmd(&["SEQ.NEXT", "fx:seq"]).int();
    assert!(v >= 50 + 1000 * 5 && (v - 10) % 5 == 0, "{v}");
    for k in ["fx:default", "fx:tail"] {
        assert!(c.cmd(&["SEQ.NEXT", k]).int() >= 3 + 1000, "{k}");
    }
}

/// The commands of a RESP file (a rewritten AOF), each as its arguments.
fn resp_commands(mut b: &[u8]) -> Vec<Vec<Vec<u8>>> {
    fn line<'a>(b: &mut &'a [u8]) -> &'a [u8] {
        let i = b.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let l = &b[..i];
        *b = &b[i + 2..];
        l
    }
    let num = |l: &[u8]| -> usize { std::str::from_utf8(&l[1..]).unwrap().parse().unwrap() };
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = num(line(&mut b));
        let mut cmd = Vec::new();
        for _ in 0..n {
            let len = num(line(&mut b));
            cmd.push(b[..len].to_vec());
            b = &b[len + 2..];
        }
        out.push(cmd);
    }
    out
}

/// The worker-ID pool (idgen-wrk encoding 1): every field comes back, as a rewritten AOF shows
/// it (the rewrite reads the state as loaded, before any call touches it), the counters as
/// saved, and the pool resumes: no grant for the longest TTL plus the grace, tokens a block
/// above the mark, the old leases (long expired) refused.
#[test]
fn pool_encoding_v1_loads_every_field_and_resumes() {
    let server = load_fixture("pool-v1.rdb");
    let mut c = server.conn();
    assert_eq!(c.cmd(&["TYPE", "fx:pool"]).as_str(), "idgen-wrk");
    let info = c.cmd(&["WORKER.INFO", "fx:pool"]);
    for (field, value) in [
        ("size", 16),
        ("grace_ms", 2_000),
        ("live", 0),
        ("free", 16),
        ("resume_wait_ms", 0),
        ("next_token", 5),
        ("grants", 4),
        ("renewals", 2),
        ("releases", 1),
        // The three leases expired since the file was written (found by INFO, not stored).
        ("expiries", 3),
        ("refusals", 1),
    ] {
        assert_eq!(info.field_int(field), value, "fx:pool {field}");
    }
    assert!(info.field("next_expiry").is_null());

    c.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]).ok();
    c.cmd(&["CONFIG", "SET", "appendonly", "yes"]).ok();
    wait_until(
        std::time::Duration::from_secs(20),
        "the AOF rewrite",
        || {
            server
                .info_field("persistence", "aof_rewrite_in_progress")
                .as_deref()
                == Some("0")
                && server
                    .info_field("persistence", "aof_rewrite_scheduled")
                    .as_deref()
                    == Some("0")
                && server.info_field("persistence", "aof_rewrites").as_deref() != Some("0")
        },
    );
    let dir = server.dir().join("appendonlydir");
    let base = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".base.aof"))
        .expect("a base AOF");
    let cmds: Vec<Vec<Vec<u8>>> = resp_commands(&std::fs::read(base).unwrap())
        .into_iter()
        .filter(|c| c[0].starts_with(b"WORKER."))
        .collect();
    let words = |s: &str| -> Vec<Vec<u8>> {
        s.split(' ')
            .map(|w| w.replace("\\0", "\0").into_bytes())
            .collect()
    };
    assert_eq!(
        cmds,
        [
            words("WORKER.RESERVE fx:pool 16 2000 1025 40000 0"),
            words("WORKER.EFFECT fx:pool 16 2000 0 1 svc-a 1796096922044 1796096882123 0"),
            words("WORKER.EFFECT fx:pool 16 2000 1 2 svc-b 1796096902016 0 0"),
            words("WORKER.EFFECT fx:pool 16 2000 2 4 \\0bin 1796096887068 1796096882456 0"),
        ]
    );

    let r = c.cmd(&["WORKER.ACQUIRE", "fx:pool", "5000"]);
    assert!(r.is_err() && r.err().starts_with("POOLRESUMING"), "{r:?}");
    let info = c.cmd(&["WORKER.INFO", "fx:pool"]);
    assert_eq!(info.field_int("next_token"), 1025 + 1024);
    let wait = info.field_int("resume_wait_ms");
    assert!(wait > 40_000 && wait <= 42_000, "{wait}");
    let r = c.cmd(&["WORKER.RENEW", "fx:pool", "0", "1", "5000"]);
    assert!(r.is_err() && r.err().starts_with("LEASELOST"), "{r:?}");
}

/// `uuid-v1.rdb` (UUID encoding 1, see tests/fixtures/README.md): `fx:uuid` (FORMAT HEX,
/// WORKER 9, 5 IDs) and `fx:node` (defaults, 1 ID) load field for field and resume above their
/// marks plus one default safety gap.
#[test]
fn uuid_encoding_v1_loads_and_resumes_above_the_marks() {
    let server = load_fixture("uuid-v1.rdb");
    let mut c = server.conn();
    let last = u128::from_str_radix("01a250c54c4c7000840246497c782e5a", 16).unwrap();
    for (key, format, worker, ids, last_ts, mark) in [
        ("fx:uuid", "HEX", 9, 5, 1_796_651_437_132, 1_796_651_437_182),
        (
            "fx:node",
            "UUID",
            -1,
            1,
            1_796_651_437_165,
            1_796_651_437_215,
        ),
    ] {
        let info = c.cmd(&["UUID.INFO", key]);
        assert_eq!(info.field("format").as_str(), format, "{key}");
        for (field, value) in [
            ("worker", worker),
            ("ids_issued", ids),
            ("last_timestamp", last_ts),
            ("reserved_until", mark),
        ] {
            assert_eq!(info.field_int(field), value, "{key} {field}");
        }
        let next = c.cmd(&["UUID.NEXT", key, "FORMAT", "HEX"]);
        let id = u128::from_str_radix(next.as_str(), 16).unwrap();
        assert!(id > last, "{key}");
        assert!(
            (id >> 80) as i64 >= mark + 3_000,
            "{key}: not above mark + gap"
        );
    }
}

/// `aux-v2.rdb` (idgen-aux v2: generation 0 and one eviction record) loads: the record of
/// `fx:seq` (evicted after issuing 10..40 by 5) revives it with its options, above 40 plus a
/// gap; `fx:keep` is an ordinary key.
#[test]
fn aux_encoding_v2_loads_the_eviction_records() {
    let server = load_fixture("aux-v2.rdb");
    let mut c = server.conn();
    let records = info_field(&mut c, "idgen", "idgen_eviction_records");
    assert_eq!(records.as_deref(), Some("1"));
    assert_eq!(c.cmd(&["EXISTS", "fx:seq"]), Value::Int(0));
    assert!(c.cmd(&["SEQ.NEXT", "fx:keep"]).int() > 1);
    let v = c.cmd(&["SEQ.NEXT", "fx:seq"]).int();
    assert!(v > 40 + 5 * 1000 - 5, "fx:seq revived at {v}");
    assert_eq!((v - 10) % 5, 0, "fx:seq keeps START 10 INCREMENT 5: {v}");
    let info = c.cmd(&["SEQ.INFO", "fx:seq"]);
    assert_eq!(info.field_int("start"), 10);
    assert_eq!(info.field_int("increment"), 5);
    let records = info_field(&mut c, "idgen", "idgen_eviction_records");
    assert_eq!(records.as_deref(), Some("0"));
}
