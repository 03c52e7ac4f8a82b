//! What every generator type shares: internal commands closed to clients, and the compact forms
//! (a key moves between its compact and full form as its state allows, and memory follows).

use idgen_testkit::*;

/// The internal commands with well-formed arguments that would change state if they ran.
const INTERNAL: &[&[&str]] = &[
    &[
        "SNOWFLAKE.RESERVE",
        "k",
        "2199023255551",
        "2199023255551",
        "1704067200000",
        "41",
        "10",
        "12",
        "-1",
        "0",
    ],
    &[
        "SEQ.RESERVE",
        "s",
        "0",
        "9223372036854775807",
        "0",
        "1",
        "1",
        "1",
        "9223372036854775807",
        "0",
        "0",
    ],
    &[
        "UUID.RESERVE",
        "u",
        "35184372088832",
        "35184372088832",
        "-1",
        "UUID",
        "0",
    ],
    &["IDGEN.GENERATION", "1000"],
];

#[test]
fn internal_commands_are_refused_from_clients_and_change_nothing() {
    let s = Server::start("internal-refused");
    let mut c = s.conn();
    assert!(c.cmd(&["SNOWFLAKE.NEXT", "k"]).int() > 0);
    assert_eq!(c.cmd(&["SEQ.NEXT", "s"]).int(), 1);
    let gen = s.info_field("idgen", "idgen_generation");
    let sf = c.cmd(&["SNOWFLAKE.INFO", "k"]);
    for cmd in INTERNAL {
        let reply = c.cmd(cmd);
        assert!(
            reply.is_err() && reply.err().starts_with("ERR internal command"),
            "{cmd:?}: {reply:?}"
        );
    }
    // Inside MULTI and from Lua too: the caller is still a client.
    c.cmd(&["MULTI"]).ok();
    c.cmd(INTERNAL[1]);
    let exec = c.cmd(&["EXEC"]);
    assert!(exec.array()[0].is_err(), "{exec:?}");
    let lua = c.cmd(&["EVAL", "return redis.call('IDGEN.GENERATION', '77')", "0"]);
    assert!(lua.is_err(), "{lua:?}");

    assert_eq!(s.info_field("idgen", "idgen_generation"), gen);
    assert_eq!(c.cmd(&["SNOWFLAKE.INFO", "k"]), sf);
    assert_eq!(c.cmd(&["SEQ.NEXT", "s"]).int(), 2);
    assert!(c.cmd(&["SNOWFLAKE.NEXT", "k"]).int() > 0);
}

fn memory_usage(c: &mut Conn, key: &str) -> i64 {
    c.cmd(&["MEMORY", "USAGE", key, "SAMPLES", "0"]).int()
}

#[test]
fn sequences_move_between_compact_and_full_forms() {
    let s = Server::start("seq-forms");
    let mut c = s.conn();
    let compact = |c: &mut Conn, k: &str| c.cmd(&["SEQ.INFO", k]).field_int("compact");

    // A slow default sequence stays compact, and costs less than a full one. (Its first two
    // values make one reservation, so no rate is measured yet.)
    for _ in 0..2 {
        c.cmd(&["SEQ.NEXT", "slow"]).int();
    }
    assert_eq!(compact(&mut c, "slow"), 1);
    c.cmd(&["SEQ.CREATE", "opts", "START", "5"]).ok();
    assert_eq!(
        compact(&mut c, "opts"),
        0,
        "options other than the defaults"
    );
    assert!(memory_usage(&mut c, "slow") < memory_usage(&mut c, "opts"));

    // A fast one grows into the full form; its values go on without a gap or a repeat.
    let mut last = c.cmd(&["SEQ.CURRENT", "slow"]).int();
    for _ in 0..2000 {
        let v = c.cmd(&["SEQ.NEXT", "slow"]).int();
        assert_eq!(v, last + 1);
        last = v;
    }
    assert_eq!(compact(&mut c, "slow"), 0, "a fast sequence");

    // SET on a new key: still a default sequence, compact after its first value (whose
    // reservation measures no rate yet, so the test does not depend on timing).
    c.cmd(&["SEQ.SET", "f", "100"]).ok();
    assert_eq!(compact(&mut c, "f"), 1);
    assert_eq!(c.cmd(&["SEQ.NEXT", "f"]).int(), 100);
    assert_eq!(c.cmd(&["SEQ.CURRENT", "f"]).int(), 100);
    assert_eq!(compact(&mut c, "f"), 1);

    // A value past 2^33 leaves the compact form.
    c.cmd(&["SEQ.SET", "big", "8589934592"]).ok();
    assert_eq!(c.cmd(&["SEQ.NEXT", "big"]).int(), 8_589_934_592);
    assert_eq!(compact(&mut c, "big"), 0);

    // Both forms survive DEBUG RELOAD with their state.
    let before: Vec<Value> = ["slow", "opts", "f", "big"]
        .iter()
        .map(|k| c.cmd(&["SEQ.INFO", k]))
        .collect();
    c.cmd(&["DEBUG", "RELOAD"]).ok();
    for (k, b) in ["slow", "opts", "f", "big"].iter().zip(before) {
        assert_eq!(c.cmd(&["SEQ.INFO", k]), b, "{k}");
    }
}

#[test]
fn snowflake_keys_move_between_compact_and_full_forms() {
    let s = Server::start("sf-forms");
    let mut c = s.conn();
    let compact = |c: &mut Conn, k: &str| c.cmd(&["SNOWFLAKE.INFO", k]).field_int("compact");
    // A key's first call reserves a small block (nothing is busy yet): compact.
    let mut last = c.cmd(&["SNOWFLAKE.NEXT", "node"]).int();
    assert_eq!(compact(&mut c, "node"), 1);
    c.cmd(&["SNOWFLAKE.CREATE", "fixed", "WORKER", "5"]).ok();
    c.cmd(&["SNOWFLAKE.NEXT", "fixed"]).int();
    assert_eq!(compact(&mut c, "fixed"), 0, "a fixed worker");
    assert!(memory_usage(&mut c, "node") < memory_usage(&mut c, "fixed"));
    for _ in 0..100 {
        let id = c.cmd(&["SNOWFLAKE.NEXT", "node"]).int();
        assert!(id > last);
        last = id;
    }
    // Whatever form the calls left it in (a busy key takes large blocks and the full form), its
    // ids go on increasing.
    let ids = c.cmd(&["SNOWFLAKE.NEXT", "node", "COUNT", "10000"]).ints();
    assert!(ids[0] > last && ids.windows(2).all(|w| w[0] < w[1]));
    assert!(c.cmd(&["SNOWFLAKE.NEXT", "node"]).int() > *ids.last().unwrap());
}

fn config_get(c: &mut Conn, name: &str) -> String {
    let r = c.cmd(&["CONFIG", "GET", name]);
    match &r {
        Value::Map(m) => m[0].1.as_str().to_string(),
        _ => r.array()[1].as_str().to_string(),
    }
}

/// A module argument is a setting's default; a value saved with CONFIG SET + CONFIG REWRITE is
/// the one in force after a restart, also when it is the built-in default again.
#[test]
fn config_rewrite_survives_a_restart() {
    let mut s = Server::builder("config-rewrite")
        .config_file()
        .module_arg("idgen.worker-id", "3")
        .module_arg("safety-jump", "no")
        .start();
    let mut c = s.conn();
    assert_eq!(
        config_get(&mut c, "idgen.worker-id"),
        "3",
        "the module argument"
    );
    assert_eq!(config_get(&mut c, "idgen.safety-jump"), "no");
    for (worker, jump) in [("9", "yes"), ("0", "no"), ("3", "yes")] {
        c.cmd(&["CONFIG", "SET", "idgen.worker-id", worker]).ok();
        c.cmd(&["CONFIG", "SET", "idgen.safety-jump", jump]).ok();
        c.cmd(&["CONFIG", "REWRITE"]).ok();
        s.restart();
        c = s.conn();
        assert_eq!(
            config_get(&mut c, "idgen.worker-id"),
            worker,
            "after a restart"
        );
        assert_eq!(
            config_get(&mut c, "idgen.safety-jump"),
            jump,
            "after a restart"
        );
        let id = c.cmd(&["SNOWFLAKE.NEXT", "k"]).int();
        let parsed = c.cmd(&args!["SNOWFLAKE.PARSE", "k", id]);
        assert_eq!(parsed.field_int("worker").to_string(), worker, "ids use it");
    }
}
