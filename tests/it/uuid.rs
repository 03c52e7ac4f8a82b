//! UUID.* commands: formats and their order, the RFC 9562 layout (checked by Python's `uuid`
//! too), PARSE round trips and refusals, COUNT, resume after RESTORE / DEBUG RELOAD / restart,
//! a promoted replica, and wrong types.

use idgen_testkit::{now_ms, wait_replica_sync, Conn, Server, Value};

const BAD_UUID: &str = "BADUUID not a version-7 UUID: give 36 (UUID), 32 (HEX), 26 (ULID) characters or 16 bytes (BINARY) of a version-7, RFC-variant ID";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn texts(v: &Value) -> Vec<String> {
    v.array().iter().map(|x| x.as_str().to_string()).collect()
}

fn hex_of(s: &str) -> u128 {
    u128::from_str_radix(&s.replace('-', ""), 16).unwrap_or_else(|_| panic!("not hex: {s}"))
}

fn parse(c: &mut Conn, key: &str, id: &[u8]) -> (i64, i64, i64) {
    let v = c.cmd(&[b"UUID.PARSE".as_slice(), key.as_bytes(), id]);
    (
        v.field_int("timestamp"),
        v.field_int("worker"),
        v.field_int("counter"),
    )
}

fn strictly_increasing<T: PartialOrd + std::fmt::Debug>(v: &[T]) {
    for w in v.windows(2) {
        assert!(w[0] < w[1], "not increasing: {:?} then {:?}", w[0], w[1]);
    }
}

#[test]
fn formats_layout_and_order() {
    let s = Server::builder("uuid-formats")
        .module_arg("idgen.worker-id", "5")
        .start();
    let mut c = s.conn();
    let before = now_ms();
    let one = c.cmd(&["UUID.NEXT", "u"]).as_str().to_string();
    assert_eq!(one.len(), 36);
    assert_eq!(one, one.to_lowercase());
    let dashes: Vec<usize> = one.match_indices('-').map(|(i, _)| i).collect();
    assert_eq!(dashes, [8, 13, 18, 23]);
    let v = hex_of(&one);
    assert_eq!((v >> 76) & 0xF, 7, "version");
    assert_eq!((v >> 62) & 0b11, 0b10, "variant");
    let ms = (v >> 80) as i64;
    assert!(ms >= before && ms <= now_ms() + 1, "{ms} vs {before}");
    assert_eq!((v >> 46) & 0x3FF, 5, "worker");

    // Every text format, in issue order, also across formats and calls.
    let mut all: Vec<u128> = vec![v];
    let mut uuids = Vec::new();
    for _ in 0..3 {
        let u = texts(&c.cmd(&["UUID.NEXT", "u", "COUNT", "1000"]));
        assert!(u.iter().all(|x| x.len() == 36));
        strictly_increasing(&u);
        all.extend(u.iter().map(|x| hex_of(x)));
        uuids.extend(u);
        let h = texts(&c.cmd(&["UUID.NEXT", "u", "COUNT", "500", "FORMAT", "hex"]));
        assert!(h.iter().all(|x| x.len() == 32 && *x == x.to_lowercase()));
        strictly_increasing(&h);
        all.extend(h.iter().map(|x| hex_of(x)));
        let l = texts(&c.cmd(&["UUID.NEXT", "u", "COUNT", "500", "FORMAT", "ULID"]));
        assert!(l.iter().all(|x| x.len() == 26 && x.as_bytes()[0] <= b'7'));
        strictly_increasing(&l);
        for x in &l {
            // Crockford base32 of the 128 bits.
            let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
            let n = x.bytes().fold(0u128, |n, ch| {
                n << 5 | alphabet.find(ch as char).expect("crockford") as u128
            });
            all.push(n);
        }
        let b = c.cmd(&["UUID.NEXT", "u", "COUNT", "3", "FORMAT", "BINARY"]);
        for x in b.array() {
            let Value::Bulk(bytes) = x else {
                panic!("{x:?}")
            };
            all.push(u128::from_be_bytes(bytes.as_slice().try_into().unwrap()));
        }
    }
    strictly_increasing(&all);
    assert_eq!(c.cmd(&["UUID.INFO", "u"]).field_int("ids_issued"), 6010);

    // Python's uuid module agrees: version 7, RFC 4122 variant.
    let script = "import sys, uuid\nfor line in sys.stdin:\n    u = uuid.UUID(line.strip())\n    assert u.version == 7 and u.variant == uuid.RFC_4122, line\nprint('ok')";
    let mut py = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    py.stdin
        .take()
        .unwrap()
        .write_all(uuids.join("\n").as_bytes())
        .unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn create_info_and_refusals() {
    let s = Server::start("uuid-create");
    let mut c = s.conn();
    c.cmd(&["UUID.CREATE", "k", "FORMAT", "ulid", "WORKER", "1023"])
        .ok();
    assert_eq!(
        c.cmd(&["UUID.CREATE", "k"]).err(),
        "BUSYKEY generator already exists"
    );
    let id = c.cmd(&["UUID.NEXT", "k"]).as_str().to_string();
    assert_eq!(id.len(), 26);
    let i = c.cmd(&["UUID.INFO", "k"]);
    assert_eq!(i.field("format").as_str(), "ULID");
    assert_eq!(i.field_int("worker"), 1023);
    assert_eq!(i.field_int("ids_issued"), 1);
    assert!(i.field_int("reserved_until") > i.field_int("last_timestamp"));
    assert_eq!(parse(&mut c, "k", id.as_bytes()).1, 1023);
    for (args, want) in [
        (
            vec!["FORMAT", "INT"],
            "ERR FORMAT must be UUID, ULID, HEX or BINARY",
        ),
        (
            vec!["WORKER", "1024"],
            "ERR WORKER must be between 0 and 1023",
        ),
        (
            vec!["WORKER", "-2"],
            "ERR WORKER must be between 0 and 1023",
        ),
        (
            vec!["BOGUS", "1"],
            "ERR syntax error, unknown option 'BOGUS'",
        ),
    ] {
        let mut cmd = vec!["UUID.CREATE", "n"];
        cmd.extend(args);
        assert_eq!(c.cmd(&cmd).err(), want, "{cmd:?}");
        assert_eq!(c.cmd(&["EXISTS", "n"]).int(), 0);
    }
    assert_eq!(c.cmd(&["UUID.INFO", "missing"]).err(), "ERR no such key");
    // COUNT has SNOWFLAKE.NEXT's limit.
    for n in ["0", "10001", "-1"] {
        assert_eq!(
            c.cmd(&["UUID.NEXT", "k", "COUNT", n]).err(),
            "ERR COUNT must be between 1 and 10000"
        );
    }
    assert_eq!(
        c.cmd(&["UUID.NEXT", "k", "COUNT", "10000"]).array().len(),
        10000
    );
}

#[test]
fn parse_round_trips_and_refusals() {
    let s = Server::builder("uuid-parse")
        .module_arg("idgen.worker-id", "77")
        .start();
    let mut c = s.conn();
    for format in ["UUID", "ULID", "HEX", "BINARY"] {
        let ids = c.cmd(&["UUID.NEXT", "p", "COUNT", "3", "FORMAT", format]);
        let mut last = (0, 0, -1);
        for id in ids.array() {
            let Value::Bulk(b) = id else { panic!("{id:?}") };
            let (ts, w, counter) = parse(&mut c, "p", b);
            assert_eq!(w, 77);
            assert!((ts, counter) > (last.0, last.2), "{format}");
            last = (ts, w, counter);
            if format != "BINARY" {
                // Any case parses alike.
                let lower = String::from_utf8_lossy(b).to_lowercase();
                assert_eq!(parse(&mut c, "p", lower.as_bytes()), last);
            }
        }
    }
    // A missing key parses too (with the defaults).
    let id = c.cmd(&["UUID.NEXT", "p"]).as_str().to_string();
    assert_eq!(parse(&mut c, "nokey", id.as_bytes()).1, 77);
    for bad in [
        "550e8400-e29b-41d4-a716-446655440000", // version 4
        "017f22e2-79b0-7cc3-f8c4-dc0c0c07398f", // variant not RFC
        "not-a-uuid",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV", // a ULID whose bits are not version 7
        "",
    ] {
        assert_eq!(c.cmd(&["UUID.PARSE", "p", bad]).err(), BAD_UUID, "{bad}");
    }
    // A key with a fixed worker refuses another worker's IDs.
    c.cmd(&["UUID.CREATE", "w3", "WORKER", "3"]).ok();
    assert_eq!(
        c.cmd(&["UUID.PARSE", "w3", &id]).err(),
        "ERR id was not produced by this generator's layout"
    );
}

#[test]
fn wrong_types() {
    let s = Server::start("uuid-wrongtype");
    let mut c = s.conn();
    c.cmd(&["SET", "str", "x"]).ok();
    c.cmd(&["UUID.NEXT", "u"]).as_str();
    c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    for cmd in [
        vec!["UUID.NEXT", "str"],
        vec!["UUID.NEXT", "sf"],
        vec!["UUID.CREATE", "sf"],
        vec!["UUID.INFO", "sf"],
        vec!["SNOWFLAKE.NEXT", "u"],
        vec!["SEQ.NEXT", "u"],
        vec!["GET", "u"],
    ] {
        assert_eq!(c.cmd(&cmd).err(), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(c.cmd(&["TYPE", "u"]).as_str(), "idgen-uid");
}

/// The largest UUID issued so far on `key` (hex value), after `n` more.
fn issue(c: &mut Conn, key: &str, n: usize) -> u128 {
    let ids = texts(&c.cmd(&args!["UUID.NEXT", key, "COUNT", n]));
    strictly_increasing(&ids);
    hex_of(ids.last().unwrap())
}

fn next(c: &mut Conn, key: &str) -> u128 {
    hex_of(c.cmd(&["UUID.NEXT", key]).as_str())
}

#[test]
fn resumes_after_restore_reload_and_restart() {
    let mut s = Server::builder("uuid-resume")
        .config("enable-debug-command yes")
        .start();
    let mut c = s.conn();
    c.cmd(&["UUID.CREATE", "fixed", "WORKER", "9", "FORMAT", "HEX"])
        .ok();
    let mut top = std::collections::BTreeMap::new();
    for k in ["u", "fixed"] {
        // A busy key (its mark a whole block ahead of the clock). At 262,144 IDs a ms a key
        // cannot be driven ahead of the clock by calls of COUNT 10000; the core's tests cover
        // borrowing.
        for _ in 0..30 {
            issue(&mut c, k, 10_000);
        }
        top.insert(k, issue(&mut c, k, 1));
    }
    let mark = c.cmd(&["UUID.INFO", "u"]).field_int("reserved_until");
    assert!(
        mark > (top["u"] >> 80) as i64 + 100,
        "a busy key reserves a big block"
    );

    let Value::Bulk(dump) = c.cmd(&["DUMP", "u"]) else {
        panic!("DUMP")
    };
    c.cmd(&[b"RESTORE".as_slice(), b"copy", b"0", &dump]).ok();
    assert!(next(&mut c, "copy") > top["u"], "RESTORE");
    c.cmd(&[b"RESTORE".as_slice(), b"u", b"0", &dump, b"REPLACE"])
        .ok();
    assert!(next(&mut c, "u") > top["u"], "RESTORE REPLACE");

    c.cmd(&["DEBUG", "RELOAD"]).ok();
    for k in ["u", "fixed"] {
        let id = next(&mut c, k);
        assert!(id > top[k], "{k} after DEBUG RELOAD");
        top.insert(k, issue(&mut c, k, 100));
    }
    assert_eq!(
        c.cmd(&["UUID.INFO", "fixed"]).field("format").as_str(),
        "HEX"
    );
    drop(c);
    s.shutdown_save();
    s.restart();
    let mut c = s.conn();
    for k in ["u", "fixed"] {
        assert!(next(&mut c, k) > top[k], "{k} after restart");
    }
    assert_eq!(c.cmd(&["UUID.INFO", "fixed"]).field_int("worker"), 9);
}

#[test]
fn promoted_replica_issues_above_the_primary() {
    let primary = Server::builder("uuid-promote-primary")
        .module_arg("idgen.worker-id", "1")
        .start();
    let replica = Server::builder("uuid-promote-replica")
        .module_arg("idgen.worker-id", "2")
        .replicaof(primary.port())
        .start();
    wait_replica_sync(&primary, &replica);
    let mut p = primary.conn();
    let mut top = 0;
    for _ in 0..40 {
        top = issue(&mut p, "u", 10_000);
    }
    wait_replica_sync(&primary, &replica);
    let mut r = replica.conn();
    assert!(r.cmd(&["UUID.NEXT", "u"]).err().starts_with("READONLY"));
    r.cmd(&["REPLICAOF", "NO", "ONE"]).ok();
    let id = next(&mut r, "u");
    assert!(
        id > top,
        "promoted replica issued {id:x}, primary had {top:x}"
    );
    assert_eq!((id >> 46) & 0x3FF, 2, "the promoted node's worker id");
    assert!(issue(&mut r, "u", 100) > id);
}
