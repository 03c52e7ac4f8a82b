//! The committed RDB fixture of each released encoding still loads, field for field, and the
//! generators resume above their marks.

mod common;

use common::*;

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

#[test]
fn encoding_v1_loads_and_resumes_above_the_marks() {
    let server = load_fixture("encoding-v1.rdb");
    let mut c = server.conn();

    let info = c.cmd(&["SNOWFLAKE.INFO", "fx:sf"]);
    for (field, want) in [
        ("time_bits", 42),
        ("worker_bits", 5),
        ("sequence_bits", 16),
        ("epoch", 1_600_000_000_000),
        ("worker", 3),
        ("ids_issued", 5),
        ("last_timestamp", 1_795_253_236_726),
        ("reserved_until", 1_795_253_236_776),
    ] {
        assert_eq!(info.field_int(field), want, "fx:sf {field}");
    }
    let id = c.cmd(&["SNOWFLAKE.NEXT", "fx:sf"]).int();
    assert!(id > 409_475_715_906_600_964);
    let parsed = c.cmd(&args!["SNOWFLAKE.PARSE", "fx:sf", id]);
    assert_eq!(parsed.field_int("worker"), 3);
    // Loaded state (saved in generation 0, loaded into generation 1) resumes above its mark plus
    // one default safety gap (2000 + 1000 ms).
    assert!(parsed.field_int("timestamp") >= 1_795_253_236_776 + 3_000);

    assert!(c.cmd(&["SNOWFLAKE.NEXT", "fx:node"]).int() > 382_461_958_600_785_920);

    let info = c.cmd(&["SEQ.INFO", "fx:seq"]);
    for (field, want) in [
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
        assert_eq!(info.field_int(field), want, "fx:seq {field}");
    }
    assert_eq!(c.cmd(&["SEQ.CURRENT", "fx:seq"]).int(), 40);
    let v = c.cmd(&["SEQ.NEXT", "fx:seq"]).int();
    // Above mark 50 by at least the minimum gap of 1000 steps of 5, on the progression 10 + 5k.
    assert!(v >= 50 + 1000 * 5, "{v}");
    assert_eq!((v - 10) % 5, 0, "{v}");

    assert!(c.cmd(&["SEQ.NEXT", "fx:default"]).int() > 1);
}
