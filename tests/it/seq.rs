//! SEQ.* commands against README's command reference.

use idgen_testkit::{assert_create_refusals, info_field, Conn, Server, Value};

const BAD_INT: &str = "ERR value is not an integer or out of range";
const WT: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn info(c: &mut Conn, key: &str) -> Value {
    let v = c.cmd(&["SEQ.INFO", key]);
    assert!(!v.is_err(), "SEQ.INFO {key}: {v:?}");
    v
}

fn next(c: &mut Conn, key: &str) -> i64 {
    c.cmd(&["SEQ.NEXT", key]).int()
}

fn batch(c: &mut Conn, key: &str, n: i64) -> (i64, i64) {
    let v = c.cmd(&args!["SEQ.NEXTBATCH", key, n]).ints();
    assert_eq!(v.len(), 2, "NEXTBATCH gives [first, last]: {v:?}");
    (v[0], v[1])
}

fn current(c: &mut Conn, key: &str) -> Option<i64> {
    match c.cmd(&["SEQ.CURRENT", key]) {
        Value::Null => None,
        Value::Int(i) => Some(i),
        other => panic!("SEQ.CURRENT {key}: {other:?}"),
    }
}

fn opt_int(v: &Value, field: &str) -> Option<i64> {
    match v.field(field) {
        Value::Null => None,
        Value::Int(i) => Some(i),
        other => panic!("{field} is neither nil nor an integer: {other:?}"),
    }
}

fn assert_err(c: &mut Conn, args: &[&str], want: &str) {
    let r = c.cmd(args);
    assert_eq!(r.err(), want, "reply to {args:?}");
}

/// Runs a command that must fail with `want` and checks SEQ.INFO is identical before and after.
fn assert_err_unchanged(c: &mut Conn, key: &str, args: &[&str], want: &str) {
    let before = info(c, key);
    let cur = current(c, key);
    assert_err(c, args, want);
    assert_eq!(info(c, key), before, "failed {args:?} changed SEQ.INFO");
    assert_eq!(current(c, key), cur, "failed {args:?} changed SEQ.CURRENT");
}

#[test]
fn create_with_defaults() {
    let s = Server::start("seq-create-defaults");
    let mut c = s.conn();
    c.cmd(&["SEQ.CREATE", "k"]).ok();
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("start"), 1);
    assert_eq!(i.field_int("increment"), 1);
    assert_eq!(i.field_int("minvalue"), 1);
    assert_eq!(i.field_int("maxvalue"), i64::MAX);
    assert_eq!(i.field_int("cycle"), 0);
    assert_eq!(opt_int(&i, "next"), Some(1));
    assert_eq!(opt_int(&i, "last"), None);
    assert_eq!(i.field_int("cycles"), 0);
    assert_eq!(i.field_int("values_issued"), 0);
    i.field_int("reserved_until");
    assert_eq!(current(&mut c, "k"), None);
    assert_eq!(next(&mut c, "k"), 1);
    assert_eq!(next(&mut c, "k"), 2);
    assert_eq!(next(&mut c, "k"), 3);
    let i = info(&mut c, "k");
    assert_eq!(opt_int(&i, "next"), Some(4));
    assert_eq!(opt_int(&i, "last"), Some(3));
    assert_eq!(i.field_int("values_issued"), 3);
    assert!(
        i.field_int("reserved_until") > 3,
        "reserved_until must be above issued values"
    );
}

#[test]
fn create_with_every_option() {
    let s = Server::start("seq-create-options");
    let mut c = s.conn();
    c.run("SEQ.CREATE k START 10 INCREMENT 5 MINVALUE -100 MAXVALUE 1000 CYCLE")
        .ok();
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("start"), 10);
    assert_eq!(i.field_int("increment"), 5);
    assert_eq!(i.field_int("minvalue"), -100);
    assert_eq!(i.field_int("maxvalue"), 1000);
    assert_eq!(i.field_int("cycle"), 1);
    assert_eq!(opt_int(&i, "next"), Some(10));
    assert_eq!(next(&mut c, "k"), 10);
    assert_eq!(next(&mut c, "k"), 15);
    assert_eq!(next(&mut c, "k"), 20);

    // START defaults to MINVALUE, also for a negative MINVALUE.
    c.cmd(&["SEQ.CREATE", "neg", "MINVALUE", "-5", "MAXVALUE", "5"])
        .ok();
    assert_eq!(info(&mut c, "neg").field_int("start"), -5);
    assert_eq!(next(&mut c, "neg"), -5);
    assert_eq!(next(&mut c, "neg"), -4);

    // Extreme but valid ranges.
    c.cmd(&args![
        "SEQ.CREATE",
        "wide",
        "MINVALUE",
        i64::MIN,
        "MAXVALUE",
        i64::MAX
    ])
    .ok();
    assert_eq!(next(&mut c, "wide"), i64::MIN);
    c.cmd(&args!["SEQ.CREATE", "top", "START", i64::MAX]).ok();
    assert_eq!(next(&mut c, "top"), i64::MAX);
    c.run("SEQ.CREATE maxinc MINVALUE 0 MAXVALUE 10 INCREMENT 10")
        .ok();
    assert_eq!(next(&mut c, "maxinc"), 0);
    assert_eq!(next(&mut c, "maxinc"), 10);
}

#[test]
fn create_validation_errors() {
    let s = Server::start("seq-create-errors");
    let mut c = s.conn();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            args!["MINVALUE", 10, "MAXVALUE", 10].to_vec(),
            "ERR MINVALUE must be less than MAXVALUE",
        ),
        (
            args!["MINVALUE", 11, "MAXVALUE", 10, "START", 10].to_vec(),
            "ERR MINVALUE must be less than MAXVALUE",
        ),
        (
            args!["MAXVALUE", 0].to_vec(),
            "ERR MINVALUE must be less than MAXVALUE",
        ),
        (
            args!["START", 0].to_vec(),
            "ERR START must be between MINVALUE and MAXVALUE",
        ),
        (
            args!["MAXVALUE", 100, "START", 101].to_vec(),
            "ERR START must be between MINVALUE and MAXVALUE",
        ),
        (
            args!["MINVALUE", -10, "MAXVALUE", 10, "START", -11].to_vec(),
            "ERR START must be between MINVALUE and MAXVALUE",
        ),
        (
            args!["INCREMENT", 0].to_vec(),
            "ERR INCREMENT must be between 1 and MAXVALUE - MINVALUE",
        ),
        (
            args!["INCREMENT", -1].to_vec(),
            "ERR INCREMENT must be between 1 and MAXVALUE - MINVALUE",
        ),
        (
            args!["MINVALUE", 1, "MAXVALUE", 100, "INCREMENT", 100].to_vec(),
            "ERR INCREMENT must be between 1 and MAXVALUE - MINVALUE",
        ),
        (args!["START", "abc"].to_vec(), BAD_INT),
        (args!["START", "9223372036854775808"].to_vec(), BAD_INT),
        (args!["MINVALUE", "-9223372036854775809"].to_vec(), BAD_INT),
        (args!["INCREMENT", "1.5"].to_vec(), BAD_INT),
        (args!["MAXVALUE", ""].to_vec(), BAD_INT),
        (
            args!["FOO", 1].to_vec(),
            "ERR syntax error, unknown option 'FOO'",
        ),
        (
            args!["CYCLES"].to_vec(),
            "ERR syntax error, unknown option 'CYCLES'",
        ),
        (
            args!["START"].to_vec(),
            "ERR syntax error, option 'START' needs a value",
        ),
        (
            args!["CYCLE", "MAXVALUE"].to_vec(),
            "ERR syntax error, option 'MAXVALUE' needs a value",
        ),
        (
            args!["START", 1, "START", 2].to_vec(),
            "ERR syntax error, option 'START' given twice",
        ),
        (
            args!["CYCLE", "CYCLE"].to_vec(),
            "ERR syntax error, option 'CYCLE' given twice",
        ),
    ];
    assert_create_refusals(&mut c, "SEQ.CREATE", cases);
    // BUSYKEY, and the existing generator is untouched.
    c.cmd(&["SEQ.CREATE", "k", "START", "5"]).ok();
    assert_eq!(next(&mut c, "k"), 5);
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.CREATE", "k"],
        "BUSYKEY generator already exists",
    );
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.CREATE", "k", "START", "1"],
        "BUSYKEY generator already exists",
    );
    assert_eq!(next(&mut c, "k"), 6);
    next(&mut c, "implicit");
    assert_err(
        &mut c,
        &["SEQ.CREATE", "implicit"],
        "BUSYKEY generator already exists",
    );
}

#[test]
fn next_creates_missing_key_with_defaults() {
    let s = Server::start("seq-implicit");
    let mut c = s.conn();
    assert_eq!(current(&mut c, "k"), None);
    assert_eq!(
        c.cmd(&["EXISTS", "k"]).int(),
        0,
        "SEQ.CURRENT created the key"
    );
    assert_eq!(next(&mut c, "k"), 1);
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("minvalue"), 1);
    assert_eq!(i.field_int("maxvalue"), i64::MAX);
    assert_eq!(i.field_int("increment"), 1);
    assert_eq!(i.field_int("cycle"), 0);
    assert_eq!(i.field_int("values_issued"), 1);
    assert_eq!(batch(&mut c, "b", 10), (1, 10));
    assert_eq!(info(&mut c, "b").field_int("values_issued"), 10);
    assert_err(&mut c, &["SEQ.INFO", "missing"], "ERR no such key");
}

#[test]
fn increment_and_exhaustion() {
    let s = Server::start("seq-exhaust");
    let mut c = s.conn();
    c.cmd(&["SEQ.CREATE", "k", "MAXVALUE", "3"]).ok();
    assert_eq!(
        (next(&mut c, "k"), next(&mut c, "k"), next(&mut c, "k")),
        (1, 2, 3)
    );
    let i = info(&mut c, "k");
    assert_eq!(opt_int(&i, "next"), None, "next is nil when exhausted");
    assert_eq!(opt_int(&i, "last"), Some(3));
    for _ in 0..2 {
        assert_err_unchanged(
            &mut c,
            "k",
            &["SEQ.NEXT", "k"],
            "ERR sequence exhausted: MAXVALUE 3 reached",
        );
    }
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.NEXTBATCH", "k", "1"],
        "ERR sequence exhausted: MAXVALUE 3 reached",
    );
    assert_eq!(info(&mut c, "k").field_int("values_issued"), 3);

    // INCREMENT that does not divide the range.
    c.cmd(&["SEQ.CREATE", "inc", "MAXVALUE", "10", "INCREMENT", "4"])
        .ok();
    assert_eq!(next(&mut c, "inc"), 1);
    assert_eq!(next(&mut c, "inc"), 5);
    assert_eq!(next(&mut c, "inc"), 9);
    assert_err_unchanged(
        &mut c,
        "inc",
        &["SEQ.NEXT", "inc"],
        "ERR sequence exhausted: MAXVALUE 10 reached",
    );

    // The top of i64 does not overflow.
    c.cmd(&args!["SEQ.CREATE", "top", "START", i64::MAX - 1])
        .ok();
    assert_eq!(next(&mut c, "top"), i64::MAX - 1);
    assert_eq!(next(&mut c, "top"), i64::MAX);
    assert_err_unchanged(
        &mut c,
        "top",
        &["SEQ.NEXT", "top"],
        &format!("ERR sequence exhausted: MAXVALUE {} reached", i64::MAX),
    );
    c.cmd(&args![
        "SEQ.CREATE",
        "bigstep",
        "START",
        i64::MAX - 5,
        "INCREMENT",
        3,
        "MINVALUE",
        0
    ])
    .ok();
    assert_eq!(next(&mut c, "bigstep"), i64::MAX - 5);
    assert_eq!(next(&mut c, "bigstep"), i64::MAX - 2);
    assert_err(
        &mut c,
        &["SEQ.NEXT", "bigstep"],
        &format!("ERR sequence exhausted: MAXVALUE {} reached", i64::MAX),
    );
}

#[test]
fn cycle_wraps_to_minvalue() {
    let s = Server::start("seq-cycle");
    let mut c = s.conn();
    c.run("SEQ.CREATE k MINVALUE 1 MAXVALUE 3 START 2 CYCLE")
        .ok();
    let got: Vec<i64> = (0..7).map(|_| next(&mut c, "k")).collect();
    assert_eq!(got, vec![2, 3, 1, 2, 3, 1, 2]);
    let i = info(&mut c, "k");
    assert_eq!(i.field_int("cycles"), 2);
    assert_eq!(i.field_int("values_issued"), 7);
    assert_eq!(opt_int(&i, "last"), Some(2));
    assert_eq!(opt_int(&i, "next"), Some(3));

    c.run("SEQ.CREATE inc MINVALUE -2 MAXVALUE 5 INCREMENT 3 CYCLE")
        .ok();
    let got: Vec<i64> = (0..5).map(|_| next(&mut c, "inc")).collect();
    assert_eq!(got, vec![-2, 1, 4, -2, 1]);
    assert_eq!(info(&mut c, "inc").field_int("cycles"), 1);
}

#[test]
fn nextbatch() {
    let s = Server::start("seq-batch");
    let mut c = s.conn();
    c.cmd(&["SEQ.CREATE", "k"]).ok();
    assert_eq!(batch(&mut c, "k", 5), (1, 5));
    assert_eq!(batch(&mut c, "k", 5), (6, 10));
    assert_eq!(batch(&mut c, "k", 1), (11, 11));
    assert_eq!(next(&mut c, "k"), 12);
    assert_eq!(current(&mut c, "k"), Some(12));
    assert_eq!(info(&mut c, "k").field_int("values_issued"), 12);

    // Consecutive batches with an increment never overlap.
    c.cmd(&["SEQ.CREATE", "inc", "START", "100", "INCREMENT", "2"])
        .ok();
    let mut prev_last = i64::MIN;
    for n in [3, 1, 10, 7, 1000] {
        let (first, last) = batch(&mut c, "inc", n);
        assert_eq!(last - first, (n - 1) * 2, "batch of {n}: [{first}, {last}]");
        assert!(
            first > prev_last,
            "batch [{first}, {last}] overlaps previous last {prev_last}"
        );
        if prev_last != i64::MIN {
            assert_eq!(first, prev_last + 2);
        }
        assert_eq!(current(&mut c, "inc"), Some(last));
        prev_last = last;
    }
    assert_eq!(next(&mut c, "inc"), prev_last + 2);

    for bad in ["0", "-1", "-9223372036854775808"] {
        assert_err_unchanged(
            &mut c,
            "k",
            &["SEQ.NEXTBATCH", "k", bad],
            "ERR count must be positive",
        );
    }
    for bad in ["x", "1.5", "", "9223372036854775808"] {
        assert_err_unchanged(&mut c, "k", &["SEQ.NEXTBATCH", "k", bad], BAD_INT);
    }
}

#[test]
fn nextbatch_end_of_range_is_all_or_nothing() {
    let s = Server::start("seq-batch-end");
    let mut c = s.conn();
    c.cmd(&["SEQ.CREATE", "k", "MAXVALUE", "10"]).ok();
    assert_eq!(batch(&mut c, "k", 7), (1, 7));
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.NEXTBATCH", "k", "5"],
        "ERR not enough values left: 3 remain, 5 requested",
    );
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.NEXTBATCH", "k", "9223372036854775807"],
        "ERR not enough values left: 3 remain, 9223372036854775807 requested",
    );
    assert_eq!(batch(&mut c, "k", 3), (8, 10));
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.NEXTBATCH", "k", "1"],
        "ERR sequence exhausted: MAXVALUE 10 reached",
    );
    assert_eq!(current(&mut c, "k"), Some(10));

    // With an increment: values 1, 4, 7, 10 (MAXVALUE 11).
    c.cmd(&["SEQ.CREATE", "inc", "MAXVALUE", "11", "INCREMENT", "3"])
        .ok();
    assert_eq!(next(&mut c, "inc"), 1);
    assert_err_unchanged(
        &mut c,
        "inc",
        &["SEQ.NEXTBATCH", "inc", "4"],
        "ERR not enough values left: 3 remain, 4 requested",
    );
    assert_eq!(batch(&mut c, "inc", 3), (4, 10));
}

#[test]
fn cycle_batch_restarts_at_minvalue() {
    let s = Server::start("seq-cycle-batch");
    let mut c = s.conn();
    c.cmd(&["SEQ.CREATE", "k", "MAXVALUE", "10", "CYCLE"]).ok();
    assert_eq!(batch(&mut c, "k", 7), (1, 7));
    assert_eq!(
        batch(&mut c, "k", 5),
        (1, 5),
        "a batch that does not fit restarts at MINVALUE"
    );
    assert_eq!(info(&mut c, "k").field_int("cycles"), 1);
    assert_eq!(
        batch(&mut c, "k", 5),
        (6, 10),
        "a batch that fits exactly does not wrap"
    );
    assert_eq!(next(&mut c, "k"), 1);
    assert_eq!(info(&mut c, "k").field_int("cycles"), 2);
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.NEXTBATCH", "k", "11"],
        "ERR count is larger than the sequence's whole range",
    );
    assert_eq!(batch(&mut c, "k", 10), (1, 10));
    assert_eq!(info(&mut c, "k").field_int("cycles"), 3);
    assert_eq!(current(&mut c, "k"), Some(10));
}

#[test]
fn current_reports_last_issued() {
    let s = Server::start("seq-current");
    let mut c = s.conn();
    assert_eq!(current(&mut c, "k"), None);
    c.cmd(&["SEQ.CREATE", "k", "START", "42"]).ok();
    assert_eq!(current(&mut c, "k"), None);
    assert_eq!(next(&mut c, "k"), 42);
    assert_eq!(current(&mut c, "k"), Some(42));
    assert_eq!(current(&mut c, "k"), Some(42), "CURRENT does not advance");
    assert_eq!(batch(&mut c, "k", 8), (43, 50));
    assert_eq!(current(&mut c, "k"), Some(50));
    assert_eq!(next(&mut c, "k"), 51);
}

#[test]
fn set_with_and_without_force() {
    let s = Server::start("seq-set");
    let mut c = s.conn();
    c.cmd(&["SEQ.CREATE", "k", "MINVALUE", "1", "MAXVALUE", "1000"])
        .ok();
    c.cmd(&["SEQ.SET", "k", "100"]).ok();
    assert_eq!(opt_int(&info(&mut c, "k"), "next"), Some(100));
    assert_eq!(next(&mut c, "k"), 100);
    // Next is 101: setting 101 is allowed, anything lower needs FORCE.
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.SET", "k", "50"],
        "ERR value could repeat an issued value; use FORCE to allow it",
    );
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.SET", "k", "100"],
        "ERR value could repeat an issued value; use FORCE to allow it",
    );
    c.cmd(&["SEQ.SET", "k", "101"]).ok();
    assert_eq!(next(&mut c, "k"), 101);
    c.cmd(&["SEQ.SET", "k", "50", "FORCE"]).ok();
    assert_eq!(opt_int(&info(&mut c, "k"), "next"), Some(50));
    assert_eq!(next(&mut c, "k"), 50);
    c.cmd(&["SEQ.SET", "k", "1000", "force"]).ok();
    assert_eq!(next(&mut c, "k"), 1000);
    // Exhausted; FORCE brings it back.
    assert_err(
        &mut c,
        &["SEQ.NEXT", "k"],
        "ERR sequence exhausted: MAXVALUE 1000 reached",
    );
    c.cmd(&["SEQ.SET", "k", "7", "FORCE"]).ok();
    assert_eq!(next(&mut c, "k"), 7);

    for v in ["0", "1001", "-5"] {
        assert_err_unchanged(
            &mut c,
            "k",
            &["SEQ.SET", "k", v],
            "ERR value must be between MINVALUE and MAXVALUE",
        );
        assert_err_unchanged(
            &mut c,
            "k",
            &["SEQ.SET", "k", v, "FORCE"],
            "ERR value must be between MINVALUE and MAXVALUE",
        );
    }
    assert_err_unchanged(&mut c, "k", &["SEQ.SET", "k", "abc"], BAD_INT);
    assert_err_unchanged(
        &mut c,
        "k",
        &["SEQ.SET", "k", "500", "FOO"],
        "ERR syntax error, unknown option 'FOO'",
    );

    // Missing key: created with defaults.
    c.cmd(&["SEQ.SET", "new", "77"]).ok();
    let i = info(&mut c, "new");
    assert_eq!(i.field_int("minvalue"), 1);
    assert_eq!(i.field_int("maxvalue"), i64::MAX);
    assert_eq!(next(&mut c, "new"), 77);
    assert_err(
        &mut c,
        &["SEQ.SET", "new2", "0"],
        "ERR value must be between MINVALUE and MAXVALUE",
    );
    assert_eq!(c.cmd(&["EXISTS", "new2"]).int(), 0);
}

#[test]
fn info_fields_and_counters() {
    let s = Server::start("seq-info");
    let mut c = s.conn();
    c.run("SEQ.CREATE k START 5 INCREMENT 5 MINVALUE 0 MAXVALUE 100 CYCLE")
        .ok();
    next(&mut c, "k");
    batch(&mut c, "k", 4);
    let i = info(&mut c, "k");
    let keys: Vec<String> = i.pairs().into_iter().map(|(k, _)| k).collect();
    for f in [
        "start",
        "increment",
        "minvalue",
        "maxvalue",
        "cycle",
        "next",
        "last",
        "cycles",
        "values_issued",
        "reserved_until",
    ] {
        assert!(keys.iter().any(|k| k == f), "SEQ.INFO lacks {f}: {keys:?}");
    }
    assert_eq!(i.field_int("start"), 5);
    assert_eq!(i.field_int("increment"), 5);
    assert_eq!(i.field_int("minvalue"), 0);
    assert_eq!(i.field_int("maxvalue"), 100);
    assert_eq!(i.field_int("cycle"), 1);
    assert_eq!(opt_int(&i, "last"), Some(25));
    assert_eq!(opt_int(&i, "next"), Some(30));
    assert_eq!(i.field_int("cycles"), 0);
    assert_eq!(i.field_int("values_issued"), 5);
    assert!(i.field_int("reserved_until") > 25);
    assert_eq!(
        info_field(&mut c, "idgen", "idgen_seq_values_issued").as_deref(),
        Some("5")
    );
}

#[test]
fn wrongtype() {
    let s = Server::start("seq-wrongtype");
    let mut c = s.conn();
    c.cmd(&["SET", "str", "x"]).ok();
    for cmd in [
        vec!["SEQ.NEXT", "str"],
        vec!["SEQ.NEXTBATCH", "str", "2"],
        vec!["SEQ.CURRENT", "str"],
        vec!["SEQ.SET", "str", "5"],
        vec!["SEQ.SET", "str", "5", "FORCE"],
        vec!["SEQ.INFO", "str"],
    ] {
        assert_err(&mut c, &cmd, WT);
    }
    let r = c.cmd(&["SEQ.CREATE", "str"]);
    assert!(r.is_err(), "CREATE over a string key: {r:?}");
    assert_eq!(c.cmd(&["GET", "str"]).as_str(), "x");
    next(&mut c, "seq");
    assert_err(&mut c, &["GET", "seq"], WT);
    assert_err(&mut c, &["INCR", "seq"], WT);
    assert_err(&mut c, &["SNOWFLAKE.NEXT", "seq"], WT);
    assert_eq!(next(&mut c, "seq"), 2);
}

#[test]
fn options_are_case_insensitive() {
    let s = Server::start("seq-case");
    let mut c = s.conn();
    c.run("seq.create k start 3 Increment 2 minVALUE 1 maxvalue 9 cycle")
        .ok();
    let i = info(&mut c, "k");
    assert_eq!(
        (
            i.field_int("start"),
            i.field_int("increment"),
            i.field_int("minvalue"),
            i.field_int("maxvalue"),
            i.field_int("cycle")
        ),
        (3, 2, 1, 9, 1)
    );
    assert_eq!(c.cmd(&["Seq.Next", "k"]).int(), 3);
    c.cmd(&["seq.set", "k", "1", "Force"]).ok();
    assert_eq!(next(&mut c, "k"), 1);
}
