//! Protocol-level behaviour: arity, error format, RESP2/RESP3 shapes, COMMAND INFO/DOCS/GETKEYS,
//! INFO idgen, MULTI/EXEC and Lua.

use idgen_testkit::{
    info, info_field, module_commands, now_ms, Conn, ModuleCommand, Server, Value,
};

/// The arity each command is documented with: its `arity` in commands.json (generated from the
/// declarations, which a unit test keeps it equal to). The tests run over every command the
/// server lists for the module, so a new command is covered as soon as it is declared, and each
/// must be in the file with the arity the server reports.
fn documented_arity(cmd: &str) -> i64 {
    crate::reference::arity(cmd)
}

/// The module's client commands (not internal), from the server.
fn client_commands(c: &mut Conn) -> Vec<ModuleCommand> {
    let all = module_commands(c);
    for known in [
        "snowflake.create",
        "snowflake.next",
        "snowflake.parse",
        "snowflake.info",
        "seq.create",
        "seq.next",
        "seq.nextbatch",
        "seq.current",
        "seq.set",
        "seq.info",
        "snowflake.reserve",
        "seq.reserve",
        "idgen.generation",
    ] {
        assert!(
            all.iter().any(|m| m.name == known),
            "{known} not registered: {all:?}"
        );
    }
    all.into_iter().filter(|m| !m.internal).collect()
}

#[test]
fn declared_arities_match_the_documented_ones() {
    let s = Server::start("proto-declared");
    let mut c = s.conn();
    let registered = module_commands(&mut c);
    for m in &registered {
        assert_eq!(m.arity, documented_arity(&m.name), "arity of {}", m.name);
    }
    // And the file lists no command the module does not register.
    let mut names: Vec<String> = registered
        .iter()
        .map(|m| m.name.to_ascii_uppercase())
        .collect();
    names.sort();
    let mut in_file: Vec<String> = crate::reference::commands().keys().cloned().collect();
    in_file.sort();
    assert_eq!(names, in_file, "commands registered vs commands.json");
}

fn wrong_arity(cmd: &str) -> String {
    format!("ERR wrong number of arguments for '{cmd}' command")
}

#[test]
fn arity_errors_use_redis_text() {
    let s = Server::start("proto-arity");
    let mut c = s.conn();
    for m in module_commands(&mut c) {
        let (cmd, a) = (m.name.as_str(), m.arity);
        let min_args = a.unsigned_abs() as usize;
        // Too few: every length from the bare command up to one short of the minimum.
        for n in 1..min_args {
            let mut v = vec![cmd.to_string(), "k".to_string()];
            v.extend((2..n).map(|i| i.to_string()));
            v.truncate(n);
            let r = c.cmd(&v);
            assert_eq!(r.err(), wrong_arity(cmd), "reply to {v:?}");
        }
        // Too many, for fixed arity.
        if a > 0 {
            let mut v = vec![cmd.to_string(), "k".to_string()];
            v.extend((2..=min_args).map(|i| i.to_string()));
            assert_eq!(v.len(), min_args + 1);
            let r = c.cmd(&v);
            assert_eq!(r.err(), wrong_arity(cmd), "reply to {v:?}");
        }
    }
    assert_eq!(c.cmd(&["DBSIZE"]).int(), 0, "an arity error created a key");
}

#[test]
fn every_error_reply_starts_with_an_uppercase_code() {
    let s = Server::start("proto-error-codes");
    let mut c = s.conn();
    c.cmd(&["SET", "str", "x"]).ok();
    c.cmd(&["SEQ.CREATE", "small", "MAXVALUE", "2"]).ok();
    c.cmd(&["SEQ.NEXTBATCH", "small", "2"]).ints();
    c.cmd(&["SNOWFLAKE.CREATE", "sf", "WORKER", "1"]).ok();
    let bad: Vec<Vec<&str>> = vec![
        vec!["snowflake.next"],
        vec!["snowflake.parse", "k"],
        vec!["seq.info", "k", "x"],
        vec!["SNOWFLAKE.NEXT", "str"],
        vec!["SEQ.NEXT", "str"],
        vec!["SNOWFLAKE.CREATE", "sf"],
        vec!["SEQ.CREATE", "small"],
        vec!["SNOWFLAKE.CREATE", "k", "TIME-BITS", "99"],
        vec!["SNOWFLAKE.CREATE", "k", "TIME-BITS", "45"],
        vec!["SNOWFLAKE.CREATE", "k", "EPOCH", "-5"],
        vec!["SNOWFLAKE.CREATE", "k", "EPOCH", "x"],
        vec!["SNOWFLAKE.CREATE", "k", "BOGUS", "1"],
        vec!["SNOWFLAKE.CREATE", "k", "WORKER"],
        vec!["SNOWFLAKE.NEXT", "k", "COUNT", "0"],
        vec!["SNOWFLAKE.PARSE", "sf", "-1"],
        vec!["SNOWFLAKE.INFO", "nokey"],
        vec!["SEQ.CREATE", "k", "MINVALUE", "5", "MAXVALUE", "1"],
        vec!["SEQ.CREATE", "k", "START", "0"],
        vec!["SEQ.CREATE", "k", "INCREMENT", "0"],
        vec!["SEQ.NEXT", "small"],
        vec!["SEQ.NEXTBATCH", "small", "0"],
        vec!["SEQ.NEXTBATCH", "small", "3"],
        vec!["SEQ.SET", "small", "1"],
        vec!["SEQ.SET", "small", "99"],
        vec!["SEQ.INFO", "nokey"],
    ];
    for cmd in bad {
        let r = c.cmd(&cmd);
        let e = r.err();
        let (code, rest) = e
            .split_once(' ')
            .unwrap_or_else(|| panic!("error without a code and text: {e:?} for {cmd:?}"));
        assert!(
            !code.is_empty() && code.chars().all(|ch| ch.is_ascii_uppercase()),
            "error code {code:?} of {e:?} for {cmd:?} is not uppercase"
        );
        assert!(!rest.trim().is_empty(), "error {e:?} has no text");
        assert!(
            !e.contains('\n') && !e.contains('\r'),
            "error {e:?} has a line break"
        );
        assert!(
            !e.contains("internal error"),
            "internal error for {cmd:?}: {e}"
        );
    }
    assert_eq!(c.cmd(&["PING"]).as_str(), "PONG");
}

fn field_names(v: &Value) -> Vec<String> {
    v.pairs().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn resp3_maps_and_resp2_flat_arrays() {
    let s = Server::start("proto-resp");
    let mut c2 = s.conn();
    // RESP3 from the start (`?protocol=resp3`: the client sends HELLO 3 when it connects).
    let mut c3 = s.conn3();
    let id = c2.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    c2.cmd(&["SEQ.CREATE", "seq"]).ok();

    let p2 = c2.cmd(&args!["SNOWFLAKE.PARSE", "sf", id]);
    let p3 = c3.cmd(&args!["SNOWFLAKE.PARSE", "sf", id]);
    assert!(
        matches!(p2, Value::Array(ref a) if a.len() == 6),
        "RESP2 PARSE: {p2:?}"
    );
    assert!(
        matches!(p3, Value::Map(ref m) if m.len() == 3),
        "RESP3 PARSE: {p3:?}"
    );
    assert_eq!(field_names(&p2), ["timestamp", "worker", "sequence"]);
    assert_eq!(p2.pairs(), p3.pairs());

    let i2 = c2.cmd(&["SNOWFLAKE.INFO", "sf"]);
    let i3 = c3.cmd(&["SNOWFLAKE.INFO", "sf"]);
    assert!(
        matches!(i2, Value::Array(ref a) if a.len() == 36),
        "RESP2 INFO: {i2:?}"
    );
    assert!(
        matches!(i3, Value::Map(ref m) if m.len() == 18),
        "RESP3 INFO: {i3:?}"
    );
    assert_eq!(field_names(&i2), field_names(&i3));

    let q2 = c2.cmd(&["SEQ.INFO", "seq"]);
    let q3 = c3.cmd(&["SEQ.INFO", "seq"]);
    assert!(
        matches!(q2, Value::Array(ref a) if a.len() == 36),
        "RESP2 SEQ.INFO: {q2:?}"
    );
    assert!(
        matches!(q3, Value::Map(ref m) if m.len() == 18),
        "RESP3 SEQ.INFO: {q3:?}"
    );
    assert_eq!(q2.field("last"), Value::Null);
    assert_eq!(q3.field("last"), Value::Null);
    assert_eq!(q2.pairs(), q3.pairs());

    // Other reply shapes under RESP3.
    assert_eq!(c3.cmd(&["SEQ.CURRENT", "seq"]), Value::Null);
    assert_eq!(c3.cmd(&["SEQ.CURRENT", "missing"]), Value::Null);
    assert_eq!(c3.cmd(&["SEQ.NEXT", "seq"]), Value::Int(1));
    assert_eq!(c3.cmd(&["SEQ.NEXTBATCH", "seq", "2"]).ints(), [2, 3]);
    assert_eq!(
        c3.cmd(&["SNOWFLAKE.NEXT", "sf", "COUNT", "4"]).ints().len(),
        4
    );
    assert_eq!(
        c3.cmd(&["SEQ.SET", "seq", "10"]),
        Value::Simple("OK".into())
    );
    assert_eq!(c3.cmd(&["SEQ.CURRENT", "seq"]).int(), 3);
}

fn command_info(c: &mut Conn, cmd: &str) -> Vec<Value> {
    let r = c.cmd(&["COMMAND", "INFO", cmd]);
    let entries = r.array();
    assert_eq!(entries.len(), 1);
    match &entries[0] {
        Value::Array(a) => a.clone(),
        other => panic!("COMMAND INFO {cmd}: command unknown to Redis: {other:?}"),
    }
}

#[test]
fn command_info_arity_flags_and_keys() {
    let s = Server::start("proto-command-info");
    let mut c = s.conn();
    for m in client_commands(&mut c) {
        let cmd = m.name.as_str();
        let e = command_info(&mut c, cmd);
        assert_eq!(e[0].as_str(), cmd, "name");
        assert_eq!(e[1].int(), documented_arity(cmd), "arity of {cmd}");
        let flags: Vec<String> = e[2]
            .array()
            .iter()
            .map(|f| f.as_str().to_string())
            .collect();
        let has = |f: &str| flags.iter().any(|x| x == f);
        if m.flags.iter().any(|f| f == "write") {
            assert!(has("write") && has("denyoom"), "{cmd} flags {flags:?}");
            assert!(!has("readonly"), "{cmd} flags {flags:?}");
        } else {
            // A reader is `fast` exactly when it is O(1) (its COMMAND DOCS complexity): the
            // pools' LIST and ROUTE walk the live leases.
            let docs = c.cmd(&["COMMAND", "DOCS", cmd]);
            let complexity = docs.pairs()[0].1.field("complexity").as_str().to_string();
            assert!(has("readonly"), "{cmd} flags {flags:?}");
            assert_eq!(
                has("fast"),
                complexity == "O(1)",
                "{cmd} flags {flags:?}, complexity {complexity}"
            );
            assert!(!has("write") && !has("denyoom"), "{cmd} flags {flags:?}");
        }
        // One key at argument 1, except the module's keyless commands (IDGEN.WORKERS), which
        // declare no key spec at all.
        let keyless = ["idgen.workers"].contains(&cmd);
        assert_eq!(
            (e[3].int(), e[4].int(), e[5].int()),
            if keyless { (0, 0, 0) } else { (1, 1, 1) },
            "first/last/step of {cmd}"
        );
        if keyless {
            let r = c.cmd(&["COMMAND", "GETKEYS", cmd]);
            assert!(r.is_err(), "GETKEYS {cmd}: {r:?}");
        }
    }
    for cmd in ["snowflake.reserve", "seq.reserve"] {
        let e = command_info(&mut c, cmd);
        assert_eq!(e[1].int(), documented_arity(cmd), "arity of {cmd}");
        let flags: Vec<String> = e[2]
            .array()
            .iter()
            .map(|f| f.as_str().to_string())
            .collect();
        assert!(flags.iter().any(|f| f == "write"), "{cmd} flags {flags:?}");
    }

    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "SNOWFLAKE.NEXT", "k", "COUNT", "3"]),
        Value::Array(vec![Value::Bulk(b"k".to_vec())])
    );
    let examples: [&[&str]; 10] = [
        &["SNOWFLAKE.CREATE", "a", "EPOCH", "0"],
        &["SNOWFLAKE.NEXT", "a"],
        &["SNOWFLAKE.PARSE", "a", "123"],
        &["SNOWFLAKE.INFO", "a"],
        &["SEQ.CREATE", "a", "CYCLE"],
        &["SEQ.NEXT", "a"],
        &["SEQ.NEXTBATCH", "a", "5"],
        &["SEQ.CURRENT", "a"],
        &["SEQ.SET", "a", "5", "FORCE"],
        &["SEQ.INFO", "a"],
    ];
    for ex in examples {
        let mut cmd = vec!["COMMAND", "GETKEYS"];
        cmd.extend_from_slice(ex);
        assert_eq!(
            c.cmd(&cmd),
            Value::Array(vec![Value::Bulk(b"a".to_vec())]),
            "GETKEYS {ex:?}"
        );
    }
}

#[test]
fn command_docs() {
    let s = Server::start("proto-command-docs");
    let mut c = s.conn();
    for m in module_commands(&mut c) {
        let cmd = m.name.as_str();
        let r = c.cmd(&["COMMAND", "DOCS", cmd]);
        let entries = r.pairs();
        assert_eq!(entries.len(), 1, "COMMAND DOCS {cmd}: {r:?}");
        let (name, doc) = &entries[0];
        assert_eq!(name, cmd);
        assert_eq!(doc.field("group").as_str(), "module", "{cmd}: {doc:?}");
        assert_eq!(doc.field("module").as_str(), "idgen", "{cmd}: {doc:?}");
        let summary = doc
            .map_get("summary")
            .unwrap_or_else(|| panic!("COMMAND DOCS {cmd} has no summary: {doc:?}"));
        assert!(!summary.as_str().trim().is_empty(), "{cmd}: empty summary");
    }
}

#[test]
fn info_idgen_section() {
    let s = Server::builder("proto-info")
        .module_arg("idgen.worker-id", "12")
        .start();
    let mut c = s.conn();
    for _ in 0..3 {
        c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    }
    c.cmd(&["SNOWFLAKE.NEXT", "sf", "COUNT", "10"]).ints();
    c.cmd(&["SEQ.NEXT", "seq"]).int();
    c.cmd(&["SEQ.NEXTBATCH", "seq", "4"]).ints();
    let text = info(&mut c, "idgen");
    assert!(
        text.lines().any(|l| l.starts_with('#')),
        "no section header:\n{text}"
    );
    let get = |f: &str| -> i64 {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{f}:")))
            .unwrap_or_else(|| panic!("INFO idgen lacks {f}:\n{text}"));
        line.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{f} is not an integer: {line:?}"))
    };
    assert_eq!(get("idgen_snowflake_ids_issued"), 13);
    assert_eq!(get("idgen_seq_values_issued"), 5);
    assert_eq!(get("idgen_clock_behind"), 0);
    assert_eq!(get("idgen_borrowed_ms"), 0);
    assert_eq!(get("idgen_resumes"), 0);
    assert_eq!(get("idgen_generation"), 0, "a fresh server loaded nothing");
    assert_eq!(get("idgen_refusals"), 0);
    assert!(
        get("idgen_reservations") >= 2,
        "each new generator's first value needs a reservation"
    );
    assert_eq!(get("idgen_worker_id"), 12);
    // The reservation fence is off by default, so always open.
    assert_eq!(get("idgen_fence_min_replicas"), 0);
    assert_eq!(get("idgen_fence_replicas_acked"), 0);
    assert_eq!(get("idgen_fence_open"), 1);
    assert_eq!(get("idgen_fence_refusals"), 0);
    // The section is also part of INFO everything.
    assert!(info(&mut c, "everything").contains("idgen_worker_id:12"));
    // A load starts a new generation; each key resumes once, at its first use.
    c.cmd(&["DEBUG", "RELOAD"]).ok();
    c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    let text = info(&mut c, "idgen");
    assert!(text.contains("idgen_generation:1"), "{text}");
    assert!(text.contains("idgen_resumes:1"), "{text}");
}

#[test]
fn multi_exec() {
    let s = Server::start("proto-multi");
    let mut c = s.conn();
    let before = c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    c.cmd(&["MULTI"]).ok();
    for cmd in [
        vec!["SNOWFLAKE.NEXT", "sf"],
        vec!["SEQ.NEXT", "seq"],
        vec!["SEQ.NEXTBATCH", "seq", "3"],
        vec!["SNOWFLAKE.NEXT", "sf", "COUNT", "2"],
        vec!["SEQ.CURRENT", "seq"],
    ] {
        assert_eq!(c.cmd(&cmd), Value::Simple("QUEUED".into()), "{cmd:?}");
    }
    let r = c.cmd(&["EXEC"]);
    let r = r.array();
    assert_eq!(r.len(), 5, "{r:?}");
    let a = r[0].int();
    assert!(a > before);
    assert_eq!(r[1].int(), 1);
    assert_eq!(r[2].ints(), [2, 4]);
    let pair = r[3].ints();
    assert!(a < pair[0] && pair[0] < pair[1], "{a} {pair:?}");
    assert_eq!(r[4].int(), 4);
    assert!(c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int() > pair[1]);

    // An error inside EXEC does not abort the other commands.
    c.cmd(&["MULTI"]).ok();
    c.cmd(&["SEQ.NEXTBATCH", "seq", "0"]);
    c.cmd(&["SEQ.NEXT", "seq"]);
    let r = c.cmd(&["EXEC"]);
    let r = r.array();
    assert_eq!(r[0].err(), "ERR count must be positive");
    assert_eq!(r[1].int(), 5);
}

/// Lua numbers are doubles: integer replies above 2^53 come back rounded (a Redis limitation, not
/// the module's). Snowflake ids whose value stays below 2^53 (recent EPOCH) are exact.
#[test]
fn eval_calls_module_commands() {
    let s = Server::start("proto-eval");
    let mut c = s.conn();
    let script = "return redis.call('SNOWFLAKE.NEXT', KEYS[1])";

    // Small ids: exact.
    let epoch = now_ms() - 60_000;
    c.cmd(&args!["SNOWFLAKE.CREATE", "small", "EPOCH", epoch])
        .ok();
    let a = c.cmd(&["SNOWFLAKE.NEXT", "small"]).int();
    let b = c.cmd(&["EVAL", script, "1", "small"]).int();
    let d = c.cmd(&["SNOWFLAKE.NEXT", "small"]).int();
    assert!(a < b && b < d, "{a} < {b} < {d}");
    assert!(b < (1i64 << 53));
    let p = c.cmd(&args!["SNOWFLAKE.PARSE", "small", b]);
    assert_eq!(p.field_int("sequence"), b & 4095);
    assert_eq!(p.field_int("timestamp"), (b >> 22) + epoch);
    assert_eq!(
        c.cmd(&["SNOWFLAKE.INFO", "small"]).field_int("ids_issued"),
        3,
        "EVAL issued exactly one id"
    );

    // Default layout: ids are above 2^53, the script still runs and returns the id up to
    // double rounding.
    let a = c.cmd(&["SNOWFLAKE.NEXT", "big"]).int();
    let b = c.cmd(&["EVAL", script, "1", "big"]).int();
    let d = c.cmd(&["SNOWFLAKE.NEXT", "big"]).int();
    assert!(a > (1i64 << 53));
    let ulp = 1i64 << (64 - a.leading_zeros() as i64 - 53);
    assert!(b >= a - ulp && b <= d + ulp, "{a} {b} {d} (ulp {ulp})");
    assert!(a < d);
    assert_eq!(c.cmd(&["SNOWFLAKE.INFO", "big"]).field_int("ids_issued"), 3);

    // Sequences from Lua, including tables and errors.
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('SEQ.NEXT', KEYS[1])", "1", "s"])
            .int(),
        1
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return redis.call('SEQ.NEXTBATCH', KEYS[1], ARGV[1])",
            "1",
            "s",
            "10"
        ])
        .ints(),
        [2, 11]
    );
    let r = c.cmd(&[
        "EVAL",
        "return redis.pcall('SEQ.NEXTBATCH', KEYS[1], '0')",
        "1",
        "s",
    ]);
    assert_eq!(r.err(), "ERR count must be positive");
    let r = c.cmd(&[
        "EVAL",
        "return redis.call('SNOWFLAKE.NEXT', KEYS[1], 'COUNT', '3')",
        "1",
        "s2",
    ]);
    assert_eq!(r.array().len(), 3);
    let ro = c.cmd(&[
        "EVAL_RO",
        "return redis.call('SEQ.CURRENT', KEYS[1])",
        "1",
        "s",
    ]);
    assert_eq!(ro.int(), 11);
    let ro = c.cmd(&[
        "EVAL_RO",
        "return redis.call('SEQ.NEXT', KEYS[1])",
        "1",
        "s",
    ]);
    assert!(ro.is_err(), "EVAL_RO ran a write command: {ro:?}");
    assert_eq!(c.cmd(&["SEQ.CURRENT", "s"]).int(), 11);
    assert_eq!(
        info_field(&mut c, "idgen", "idgen_seq_values_issued").as_deref(),
        Some("11")
    );
}

/// The reservation fence on a node without replicas: calls inside reserved blocks are served,
/// calls that need a new block are refused with NOREPLICAS and change nothing; CONFIG SET turns
/// it on and off at run time.
#[test]
fn reservation_fence_without_replicas() {
    let s = Server::start("proto-fence");
    let mut c = s.conn();
    let first = c.cmd(&["SEQ.NEXT", "seq"]).int();
    let sf = c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int();
    c.cmd(&["CONFIG", "SET", "idgen.reserve-min-replicas", "1"])
        .ok();
    let r = c.cmd(&["CONFIG", "SET", "idgen.reserve-max-lag-ms", "999"]);
    assert!(r.is_err(), "a lag below 1000 ms is refused: {r:?}");
    // Inside the sequence's reserved block (its first block is at least one value past the
    // first): served. A batch far beyond it needs a new block: refused, nothing changes.
    let before = c.cmd(&["SEQ.CURRENT", "seq"]).int();
    let r = c.cmd(&["SEQ.NEXTBATCH", "seq", "1000000"]);
    assert!(r.err().starts_with("NOREPLICAS "), "{r:?}");
    assert_eq!(c.cmd(&["SEQ.CURRENT", "seq"]).int(), before);
    // New keys need a block; so does every pool grant.
    for cmd in [
        vec!["SEQ.NEXT", "seq:new"],
        vec!["SNOWFLAKE.NEXT", "sf:new"],
        vec!["WORKER.ACQUIRE", "pool", "5000"],
    ] {
        let r = c.cmd(&cmd);
        assert!(r.err().starts_with("NOREPLICAS "), "{cmd:?}: {r:?}");
    }
    assert!(c.cmd(&["EXISTS", "seq:new", "sf:new", "pool"]).int() == 0);
    let fence = |c: &mut Conn, f: &str| info_field(c, "idgen", f).unwrap();
    assert_eq!(fence(&mut c, "idgen_fence_open"), "0");
    assert_eq!(fence(&mut c, "idgen_fence_min_replicas"), "1");
    assert_eq!(fence(&mut c, "idgen_fence_refusals"), "4");
    assert_eq!(fence(&mut c, "idgen_refusals"), "4");
    // Off again: served, above everything issued before.
    c.cmd(&["CONFIG", "SET", "idgen.reserve-min-replicas", "0"])
        .ok();
    assert!(c.cmd(&["SEQ.NEXT", "seq"]).int() > first);
    assert!(c.cmd(&["SNOWFLAKE.NEXT", "sf"]).int() > sf);
    assert_eq!(fence(&mut c, "idgen_fence_open"), "1");
}
