//! Issue 10, sequence side: PERIOD, UTC-OFFSET and FORMAT templates. The servers run the
//! test-clock build (`IDGEN.DEBUG-CLOCK offset-ms`), so the tests step the module's clock to just
//! before a period boundary and across it instead of waiting for midnight.

use idgen_testkit::*;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// Every server of this file loads the test-clock build: `$IDGEN_TEST_CLOCK_MODULE`, else built
/// here into `target/test-clock` (as the fault suite does).
fn start(builder: ServerBuilder) -> Server {
    let s = builder.module(test_clock_module()).start();
    assert_eq!(
        s.conn().cmd(&["IDGEN.DEBUG-CLOCK"]).int(),
        0,
        "not the test-clock build"
    );
    s
}

/// Sets the module clock to `at` (unix ms) and returns the offset used.
fn clock_to(c: &mut Conn, at: i64) -> i64 {
    let offset = at - now_ms();
    c.cmd(&args!["IDGEN.DEBUG-CLOCK", offset]).int()
}

/// The first unix ms of the local day after the one holding `t`, at `offset_min` from UTC.
fn next_midnight(t: i64, offset_min: i64) -> i64 {
    let off = offset_min * 60_000;
    ((t + off).div_euclid(DAY) + 1) * DAY - off
}

/// `YYYYMMDD` of the local day holding `t`.
fn ymd(t: i64, offset_min: i64) -> String {
    let days = (t + offset_min * 60_000).div_euclid(DAY);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("{y:04}{m:02}{d:02}")
}

fn text(v: Value) -> String {
    v.as_str().to_string()
}

#[test]
fn the_value_restarts_when_the_period_changes_and_never_goes_back() {
    let s = start(Server::builder("per-boundary"));
    let mut c = s.conn();
    let boundary = next_midnight(now_ms(), 330);
    clock_to(&mut c, boundary - 2_000);
    c.cmd(&[
        "SEQ.CREATE",
        "ord",
        "PERIOD",
        "DAY",
        "UTC-OFFSET",
        "+05:30",
        "FORMAT",
        "ORD{YYYY}{MM}{DD}-{seq:4}",
        "MAXVALUE",
        "9999",
    ])
    .ok();
    let d0 = ymd(boundary - 1, 330);
    let d1 = ymd(boundary, 330);
    assert_eq!(text(c.cmd(&["SEQ.NEXT", "ord"])), format!("ORD{d0}-0001"));
    assert_eq!(text(c.cmd(&["SEQ.NEXT", "ord"])), format!("ORD{d0}-0002"));
    let before = c.cmd(&["SEQ.INFO", "ord"]);
    assert_eq!(text(before.field("period")), "DAY");
    assert_eq!(text(before.field("utc_offset")), "+05:30");
    assert_eq!(text(before.field("format")), "ORD{YYYY}{MM}{DD}-{seq:4}");
    assert_eq!(before.field_int("period_values_issued"), 2);
    assert_eq!(before.field_int("period_start"), boundary - DAY);

    clock_to(&mut c, boundary + 1_000);
    assert_eq!(text(c.cmd(&["SEQ.NEXT", "ord"])), format!("ORD{d1}-0001"));
    let after = c.cmd(&["SEQ.INFO", "ord"]);
    assert_eq!(
        after.field_int("period_index"),
        before.field_int("period_index") + 1
    );
    assert_eq!(after.field_int("period_start"), boundary);
    assert_eq!(after.field_int("period_values_issued"), 1);

    // A clock stepped back across the boundary keeps the newer period.
    clock_to(&mut c, boundary - 5_000);
    assert_eq!(text(c.cmd(&["SEQ.NEXT", "ord"])), format!("ORD{d1}-0002"));
    let batch = c.cmd(&["SEQ.NEXTBATCH", "ord", "3"]);
    let b: Vec<String> = batch.array().iter().map(|v| text(v.clone())).collect();
    assert_eq!(b, [format!("ORD{d1}-0003"), format!("ORD{d1}-0005")]);
    assert_eq!(c.cmd(&["SEQ.CURRENT", "ord"]).int(), 5);

    // A batch never spans two periods: the first call in the next period starts at START.
    clock_to(&mut c, boundary + DAY + 10);
    let b = c.cmd(&["SEQ.NEXTBATCH", "ord", "2"]);
    let d2 = ymd(boundary + DAY, 330);
    assert_eq!(text(b.array()[0].clone()), format!("ORD{d2}-0001"));
}

#[test]
fn an_exhausted_period_says_when_the_next_one_starts() {
    let s = start(Server::builder("per-exhausted"));
    let mut c = s.conn();
    let boundary = next_midnight(now_ms(), -180);
    clock_to(&mut c, boundary - 10_000);
    c.cmd(&[
        "SEQ.CREATE",
        "t",
        "PERIOD",
        "DAY",
        "UTC-OFFSET",
        "-03:00",
        "FORMAT",
        "T{YY}{MM}{DD}{seq:1}",
        "MAXVALUE",
        "3",
    ])
    .ok();
    for _ in 0..3 {
        c.cmd(&["SEQ.NEXT", "t"]).as_str();
    }
    let info = c.cmd(&["SEQ.INFO", "t"]);
    let d = ymd(boundary, -180);
    let next = format!("{}-{}-{}T00:00:00-03:00", &d[..4], &d[4..6], &d[6..]);
    assert_eq!(
        c.cmd(&["SEQ.NEXT", "t"]).err(),
        format!(
            "ERR sequence exhausted: MAXVALUE 3 reached in this period; the next period starts at {next}"
        )
    );
    assert_eq!(c.cmd(&["SEQ.INFO", "t"]), info, "a refusal changes nothing");
    clock_to(&mut c, boundary);
    assert_eq!(
        text(c.cmd(&["SEQ.NEXT", "t"])),
        format!("T{}1", &ymd(boundary, -180)[2..])
    );
}

/// A load resumes a per-period key in its period above the mark plus the gap; a restart into a
/// new period right after the resume starts above START by the same gap (the lost history may
/// have issued there), one long after it at START.
#[test]
fn resumes_keep_the_period_and_never_repeat() {
    let s = start(Server::builder("per-resume").module_arg("idgen.safety-min-gap", "10"));
    let mut c = s.conn();
    let boundary = next_midnight(now_ms(), 0);
    clock_to(&mut c, boundary - 60_000);
    for k in ["a", "b"] {
        c.cmd(&[
            "SEQ.CREATE",
            k,
            "PERIOD",
            "HOUR",
            "FORMAT",
            "{YYYY}{MM}{DD}{hh}-{seq}",
        ])
        .ok();
    }
    let hour = |t: i64| format!("{}{:02}", ymd(t, 0), t.rem_euclid(DAY) / HOUR);
    let h0 = hour(boundary - 1);
    for k in ["a", "b"] {
        for i in 1..=3 {
            assert_eq!(text(c.cmd(&["SEQ.NEXT", k])), format!("{h0}-{i}"));
        }
    }
    let mark = c.cmd(&["SEQ.INFO", "a"]).field_int("reserved_until");
    c.cmd(&["DEBUG", "RELOAD"]).ok();
    // Same period: above the mark by the gap (10 steps).
    let v = text(c.cmd(&["SEQ.NEXT", "a"]));
    let (h, n) = v.split_once('-').unwrap();
    assert_eq!(h, h0);
    assert!(n.parse::<i64>().unwrap() >= mark + 10, "{v} mark {mark}");

    // b resumes in the next hour, right after the load: START + its gap (at least the minimum
    // of 10 steps; more for the rate its three quick values measured).
    clock_to(&mut c, boundary + 500);
    let v = text(c.cmd(&["SEQ.NEXT", "b"]));
    let (h, n) = v.split_once('-').unwrap();
    assert_eq!(h, hour(boundary));
    assert!(n.parse::<i64>().unwrap() >= 11, "{v}");
    // a moves on an hour later, long after its resume: START.
    clock_to(&mut c, boundary + HOUR + 500);
    assert_eq!(
        text(c.cmd(&["SEQ.NEXT", "a"])),
        format!("{}-1", hour(boundary + HOUR))
    );
}

/// The period travels with the reservation: a replica follows it, SEQ.SET moves into the
/// clock's period first, and the digests agree.
#[test]
fn replicas_follow_the_period() {
    let primary = start(Server::builder("per-repl-a"));
    let replica = start(Server::builder("per-repl-b").replicaof(primary.port()));
    let mut c = primary.conn();
    let boundary = next_midnight(now_ms(), 0);
    clock_to(&mut c, boundary - 1_000);
    c.cmd(&[
        "SEQ.CREATE",
        "m",
        "PERIOD",
        "MONTH",
        "FORMAT",
        "INV-{YYYY}{MM}-{seq:5}",
        "MAXVALUE",
        "99999",
    ])
    .ok();
    c.cmd(&[
        "SEQ.CREATE",
        "d",
        "PERIOD",
        "DAY",
        "FORMAT",
        "{YYYY}{MM}{DD}.{seq}",
    ])
    .ok();
    c.cmd(&["SEQ.NEXT", "d"]).as_str();
    c.cmd(&["SEQ.NEXT", "m"]).as_str();
    clock_to(&mut c, boundary + 1_000);
    assert_eq!(
        text(c.cmd(&["SEQ.NEXT", "d"])),
        format!("{}.1", ymd(boundary, 0))
    );
    clock_to(&mut c, boundary + DAY + 1_000);
    c.cmd(&["SEQ.SET", "d", "500"]).ok();
    assert_eq!(
        text(c.cmd(&["SEQ.NEXT", "d"])),
        format!("{}.500", ymd(boundary + DAY, 0))
    );
    wait_replica_sync(&primary, &replica);
    let mut r = replica.conn();
    for k in ["d", "m"] {
        let (p, q) = (c.cmd(&["SEQ.INFO", k]), r.cmd(&["SEQ.INFO", k]));
        for f in ["period", "format", "period_index", "reserved_until"] {
            assert_eq!(p.field(f), q.field(f), "{k} {f}");
        }
        assert_eq!(
            c.cmd(&["DEBUG", "DIGEST-VALUE", k]),
            r.cmd(&["DEBUG", "DIGEST-VALUE", k]),
            "digest of {k}"
        );
    }
    // Promoted, the replica goes on above what the primary issued, in the same period.
    r.cmd(&["REPLICAOF", "NO", "ONE"]);
    clock_to(&mut r, boundary + DAY + 2_000);
    let v = text(r.cmd(&["SEQ.NEXT", "d"]));
    let (day, n) = v.split_once('.').unwrap();
    assert_eq!(day, ymd(boundary + DAY, 0));
    assert!(n.parse::<i64>().unwrap() > 500, "{v}");
}

#[test]
fn templates_without_a_period_and_refusals() {
    let s = start(Server::builder("per-refusals"));
    let mut c = s.conn();
    c.cmd(&[
        "SEQ.CREATE",
        "inv",
        "FORMAT",
        "INV-{seq:6}",
        "MAXVALUE",
        "999999",
    ])
    .ok();
    assert_eq!(text(c.cmd(&["SEQ.NEXT", "inv"])), "INV-000001");
    c.cmd(&["SEQ.CREATE", "w", "FORMAT", "{worker}-{seq}"]).ok();
    assert_eq!(text(c.cmd(&["SEQ.NEXT", "w"])), "0-1");
    assert!(c.cmd(&["SEQ.INFO", "inv"]).field("period").is_null());
    let day = "{YYYY}{MM}{DD}";
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            args!["PERIOD", "WEEK", "FORMAT", "{seq}"].to_vec(),
            "ERR PERIOD must be HOUR, DAY, MONTH or YEAR".into(),
        ),
        (
            args!["PERIOD", "DAY"].to_vec(),
            "ERR PERIOD needs a FORMAT template that names the period, else values repeat across periods".into(),
        ),
        (
            args!["UTC-OFFSET", "+01:00", "FORMAT", "{seq}"].to_vec(),
            "ERR UTC-OFFSET needs a PERIOD".into(),
        ),
        (
            args!["PERIOD", "DAY", "UTC-OFFSET", "+15:00", "FORMAT", format!("{day}{{seq}}")]
                .to_vec(),
            "ERR UTC-OFFSET must be +hh:mm or -hh:mm, from -14:00 to +14:00".into(),
        ),
        (
            args!["PERIOD", "DAY", "FORMAT", "{YYYY}{MM}{seq}"].to_vec(),
            "ERR FORMAT would repeat values across periods: PERIOD DAY needs a year ({YYYY} or {YY}), {MM} and {DD}".into(),
        ),
        (
            args!["PERIOD", "DAY", "FORMAT", format!("{day}{{hh}}{{seq}}")].to_vec(),
            "ERR FORMAT {hh} is finer than PERIOD DAY (it would never change within a period)"
                .into(),
        ),
        (
            args!["FORMAT", "{YYYY}{seq}"].to_vec(),
            "ERR FORMAT date placeholders need a PERIOD".into(),
        ),
        (
            args!["PERIOD", "YEAR", "FORMAT", "{YYYY}{seq:3}", "MAXVALUE", 1000].to_vec(),
            "ERR FORMAT {seq:3} is narrower than MAXVALUE 1000; widen it or lower MAXVALUE"
                .into(),
        ),
        (
            args!["FORMAT", "{seq}", "MINVALUE", -5].to_vec(),
            "ERR FORMAT needs MINVALUE 0 or more".into(),
        ),
        (
            args!["FORMAT", "{seq}{worker}"].to_vec(),
            "ERR FORMAT needs a non-digit character between {seq} and {worker} (or two {worker}s), else texts could repeat".into(),
        ),
        (
            args!["FORMAT", "A{seq"].to_vec(),
            "ERR FORMAT has a '{' without its '}' (write '{{' for a literal '{')".into(),
        ),
        (
            args!["FORMAT", "{mm}{seq}"].to_vec(),
            "ERR FORMAT has an unknown placeholder '{mm}' (known: {YYYY} {YY} {MM} {DD} {hh} {seq} {seq:N} {worker})".into(),
        ),
        (
            args!["FORMAT", "abc"].to_vec(),
            "ERR FORMAT needs exactly one {seq} or {seq:N}".into(),
        ),
    ];
    assert_create_refusals(&mut c, "SEQ.CREATE", cases);
}
