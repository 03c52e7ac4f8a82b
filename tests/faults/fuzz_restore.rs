//! Scenario 6, bad input in DUMP payloads: forged and mutated RESTOREs of every type.

use super::*;
use crate::fuzz_checks::{check_error, snowflake_invariants};

fn restore(c: &mut Conn, key: &[u8], payload: &[u8]) -> std::io::Result<Value> {
    c.try_cmd(&[b"RESTORE".as_slice(), key, b"0", payload, b"REPLACE"])
}

/// Checks a generator key (restored from a mutated payload, or loaded from a forged AOF): INFO,
/// NEXT, PARSE, CURRENT answer without a panic, an error reply passes `refusal`, the invariants
/// INFO shows hold after a NEXT, and what the module saves of it loads again (RESTORE into
/// `probe`, which is left behind). `Err` says what is wrong.
pub(crate) fn check_generator(
    c: &mut Conn,
    key: &[u8],
    probe: &[u8],
    refusal: fn(&str) -> Result<(), String>,
) -> std::io::Result<Result<(), String>> {
    let t = match try_generator_of(c, key)? {
        Ok(t) => t,
        Err(other) => return Ok(Err(format!("the key has type {other:?}"))),
    };
    let coded = |v: &Value| -> Result<(), String> {
        match v {
            Value::Error(e) => refusal(e),
            _ => Ok(()),
        }
    };
    let on = |cmd: &'static str| [cmd.as_bytes(), key];
    match t {
        Generator::Snowflake => {
            let info = c.try_cmd(&on("SNOWFLAKE.INFO"))?;
            if info.is_err() {
                return Ok(Err(format!("SNOWFLAKE.INFO: {info:?}")));
            }
            // FORMAT INT: whatever format the restored key has, the checks read integers.
            let one = c.try_cmd(&[b"SNOWFLAKE.NEXT".as_slice(), key, b"FORMAT", b"INT"])?;
            if let Err(e) = coded(&one) {
                return Ok(Err(format!("SNOWFLAKE.NEXT: {e}")));
            }
            let many = c.try_cmd(&[
                b"SNOWFLAKE.NEXT".as_slice(),
                key,
                b"COUNT",
                b"5",
                b"FORMAT",
                b"INT",
            ])?;
            if let Err(e) = coded(&many) {
                return Ok(Err(format!("SNOWFLAKE.NEXT COUNT 5: {e}")));
            }
            if let Value::Array(ids) = &many {
                let ids: Vec<i64> = ids.iter().map(Value::int).collect();
                if ids.len() != 5 || ids.windows(2).any(|w| w[0] >= w[1]) {
                    return Ok(Err(format!("COUNT 5 not increasing: {ids:?}")));
                }
            }
            let after = c.try_cmd(&on("SNOWFLAKE.INFO"))?;
            if let Value::Int(id) = one {
                let id_arg = id.to_string();
                let p = c.try_cmd(&[
                    b"SNOWFLAKE.PARSE".as_slice(),
                    key,
                    id_arg.as_bytes(),
                    b"FORMAT",
                    b"INT",
                ])?;
                if p.is_err() {
                    return Ok(Err(format!("PARSE of its own id {id}: {p:?}")));
                }
                let (ts, mark) = (p.field_int("timestamp"), after.field_int("reserved_until"));
                if ts >= mark {
                    return Ok(Err(format!(
                        "id {id} has timestamp {ts}, not below reserved_until {mark}: {after:?}"
                    )));
                }
            }
            if let Err(e) = snowflake_invariants(&after) {
                return Ok(Err(e));
            }
        }
        Generator::Seq => {
            let info = c.try_cmd(&on("SEQ.INFO"))?;
            if info.is_err() {
                return Ok(Err(format!("SEQ.INFO: {info:?}")));
            }
            let (min, max, inc) = (
                info.field_int("minvalue"),
                info.field_int("maxvalue"),
                info.field_int("increment"),
            );
            let one = c.try_cmd(&on("SEQ.NEXT"))?;
            if let Err(e) = coded(&one) {
                return Ok(Err(format!("SEQ.NEXT: {e}")));
            }
            if let Value::Int(v) = one {
                if v < min || v > max {
                    return Ok(Err(format!("SEQ.NEXT {v} outside [{min}, {max}]")));
                }
            }
            let batch = c.try_cmd(&[b"SEQ.NEXTBATCH".as_slice(), key, b"3"])?;
            if let Err(e) = coded(&batch) {
                return Ok(Err(format!("SEQ.NEXTBATCH: {e}")));
            }
            if let Value::Array(ab) = &batch {
                let (a, b) = (ab[0].int(), ab[1].int());
                if (b as i128 - a as i128) != 2 * inc as i128 || a < min || b > max {
                    return Ok(Err(format!(
                        "SEQ.NEXTBATCH 3 gave [{a}, {b}], increment {inc}"
                    )));
                }
            }
            let cur = c.try_cmd(&on("SEQ.CURRENT"))?;
            if let Err(e) = coded(&cur) {
                return Ok(Err(format!("SEQ.CURRENT: {e}")));
            }
            let after = c.try_cmd(&on("SEQ.INFO"))?;
            if let (Value::Int(last), Value::Int(mark)) =
                (after.field("last"), after.field("reserved_until"))
            {
                let took = !one.is_err() || !batch.is_err();
                if took && last >= mark {
                    return Ok(Err(format!("last not below reserved_until: {after:?}")));
                }
            }
        }
        Generator::Uuid => {
            let one = c.try_cmd(&[b"UUID.NEXT".as_slice(), key, b"FORMAT", b"HEX"])?;
            if let Err(e) = coded(&one) {
                return Ok(Err(format!("UUID.NEXT: {e}")));
            }
            if let Value::Bulk(hex) = &one {
                let id = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u128::from_str_radix(h, 16).ok());
                let Some(id) = id.filter(|id| (id >> 76) & 0xF == 7 && (id >> 62) & 3 == 2) else {
                    return Ok(Err(format!("UUID.NEXT gave no version-7 UUID: {one:?}")));
                };
                let info = c.try_cmd(&on("UUID.INFO"))?;
                if let Value::Int(mark) = info.field("reserved_until") {
                    if (id >> 80) as i64 >= mark {
                        return Ok(Err(format!("UUID {id:x} not below the mark: {info:?}")));
                    }
                }
            }
        }
        Generator::Pool => {
            let info = c.try_cmd(&on("WORKER.INFO"))?;
            if info.is_err() {
                return Ok(Err(format!("WORKER.INFO: {info:?}")));
            }
            let (size, next_token) = (info.field_int("size"), info.field_int("next_token"));
            let list = c.try_cmd(&on("WORKER.LIST"))?;
            let Value::Array(entries) = &list else {
                return Ok(Err(format!("WORKER.LIST: {list:?}")));
            };
            let mut last_id = -1;
            for e in entries {
                let Value::Array(f) = e else {
                    return Ok(Err(format!("WORKER.LIST entry {e:?}")));
                };
                let (id, token) = (f[0].int(), f[2].int());
                // (next_token 2^63, every token handed out, shows as 2^63-1.)
                let above = token >= next_token && next_token != i64::MAX;
                if id <= last_id || id >= size || token < 1 || above {
                    return Ok(Err(format!(
                        "WORKER.LIST entry {f:?} (size {size}, next token {next_token})"
                    )));
                }
                // (One holder name on two live leases is not checked: effects from a damaged AOF
                // can leave that, and each lease is still fenced by its own token.)
                last_id = id;
            }
            let calls: [&[&[u8]]; 5] = [
                &[b"WORKER.ACQUIRE", key, b"1000"],
                &[b"WORKER.ACQUIRE", key, b"1000", b"HOLDER", b"svc-a"],
                &[b"WORKER.RENEW", key, b"0", b"1", b"1000"],
                &[b"WORKER.RELEASE", key, b"0", b"1"],
                &[b"WORKER.ROUTE", key, b"task", b"COUNT", b"3"],
            ];
            for cmd in calls {
                let r = c.try_cmd(cmd)?;
                if let Err(e) = coded(&r) {
                    let shown: Vec<_> = cmd.iter().map(|a| String::from_utf8_lossy(a)).collect();
                    return Ok(Err(format!("{shown:?}: {e}")));
                }
            }
            // Used once (resumed): tokens only go up.
            let after = c.try_cmd(&on("WORKER.INFO"))?;
            if after.is_err() || after.field_int("next_token") < next_token {
                return Ok(Err(format!(
                    "WORKER.INFO after use: {after:?} (was {info:?})"
                )));
            }
        }
    }
    // What the module saves now must load again.
    let Value::Bulk(dump) = c.try_cmd(&on("DUMP"))? else {
        return Ok(Err("DUMP of the key failed".into()));
    };
    let again = restore(c, probe, &dump)?;
    if again != Value::Simple("OK".into()) {
        return Ok(Err(format!("its own DUMP does not RESTORE: {again:?}")));
    }
    Ok(Ok(()))
}

/// Scenario 6b: at least `FUZZ_RESTORES_PER_TYPE` mutated DUMP payloads of each data type
/// (flipped bytes, truncations, random and boundary 64-bit values in fields, other opcodes,
/// missing and extra fields, other encoding versions, the other type's id, fields mixed from
/// two values), the footer recomputed: each is refused or loads into a state that works and
/// passes validation, and the server never crashes.
#[test]
fn fuzz_restore_payloads() {
    let _serial = serial();
    let name = "fuzz-restore";
    let mut server = Server::builder("faults-restore")
        .config("crash-memcheck-enabled no")
        .start();
    let mut c = server.conn();
    let setup = [
        "SNOWFLAKE.CREATE src:sf:fresh",
        "SNOWFLAKE.NEXT src:sf:used COUNT 10000",
        "SNOWFLAKE.CREATE src:sf:custom EPOCH 1600000000000 TIME-BITS 45 WORKER-BITS 6 SEQUENCE-BITS 12 WORKER 9",
        "SNOWFLAKE.NEXT src:sf:custom COUNT 100",
        "SNOWFLAKE.CREATE src:sf:narrow TIME-BITS 55 WORKER-BITS 0 SEQUENCE-BITS 8",
        "SNOWFLAKE.NEXT src:sf:narrow COUNT 2000",
        "SEQ.CREATE src:seq:fresh START 5 INCREMENT 5 MINVALUE 5 MAXVALUE 1000000",
        "SEQ.NEXTBATCH src:seq:used 1000",
        "SEQ.CREATE src:seq:cycle START 10 INCREMENT 3 MINVALUE -50 MAXVALUE 1000 CYCLE",
        "SEQ.NEXTBATCH src:seq:cycle 300",
        "SEQ.NEXTBATCH src:seq:cycle 300",
        "SEQ.SET src:seq:set 9223372036854775000",
        "SEQ.NEXT src:seq:set",
        "WORKER.ACQUIRE src:wrk:fresh 5000",
        "WORKER.RELEASE src:wrk:fresh 0 1",
        "WORKER.ACQUIRE src:wrk:used 30000 HOLDER svc-a GRACE 1000",
        "WORKER.ACQUIRE src:wrk:used 20000 HOLDER svc-b",
        "WORKER.ACQUIRE src:wrk:used 10000",
        "WORKER.RENEW src:wrk:used 0 1 40000",
        "WORKER.RELEASE src:wrk:used 2 3",
        "WORKER.ACQUIRE src:wrk:used 5000 HOLDER svc-c",
        "WORKER.ACQUIRE src:wrk:big 60000 SIZE 1048576 GRACE 0 HOLDER big",
        "WORKER.ACQUIRE src:wrk:one 1000 SIZE 1 HOLDER only",
        "UUID.CREATE src:uid:fresh",
        "UUID.NEXT src:uid:used COUNT 10000",
        "UUID.CREATE src:uid:fixed FORMAT ULID WORKER 9",
        "UUID.NEXT src:uid:fixed COUNT 100",
    ];
    for line in setup {
        let r = c.run(line);
        assert!(!r.is_err(), "{line}: {r:?}");
    }
    let dump = |c: &mut Conn, key: &str| match c.cmd(&["DUMP", key]) {
        Value::Bulk(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    };
    // (type, DUMP bodies of its source keys, RDB version of their footer)
    type Sources<'a> = Vec<(&'a str, Vec<Vec<u8>>, [u8; 2])>;
    let mut sources: Sources = Vec::new();
    for (ty, keys) in [
        (
            "snowflake",
            &[
                "src:sf:fresh",
                "src:sf:used",
                "src:sf:custom",
                "src:sf:narrow",
            ][..],
        ),
        (
            "sequence",
            &[
                "src:seq:fresh",
                "src:seq:used",
                "src:seq:cycle",
                "src:seq:set",
            ][..],
        ),
        (
            "pool",
            &[
                "src:wrk:fresh",
                "src:wrk:used",
                "src:wrk:big",
                "src:wrk:one",
            ][..],
        ),
        (
            "uuid",
            &["src:uid:fresh", "src:uid:used", "src:uid:fixed"][..],
        ),
    ] {
        let mut bodies = Vec::new();
        let mut version = [0u8; 2];
        for key in keys {
            let payload = dump(&mut c, key);
            let (body, v) = split_dump(&payload);
            // The footer is recomputed right, and the value layout is understood.
            assert_eq!(forge(&body, v), payload, "CRC64 of DUMP {key}");
            let parsed = fuzz::ModValue::parse(&body).unwrap_or_else(|| {
                panic!("DUMP {key} is not a module value of integers and strings")
            });
            assert_eq!(
                fuzz::ModValue::parse(&parsed.encode()),
                Some(parsed.clone()),
                "re-encoding DUMP {key}"
            );
            assert_eq!(parsed.rdb_type, 7, "RDB_TYPE_MODULE_2");
            bodies.push(body);
            version = v;
        }
        sources.push((ty, bodies, version));
    }
    let module_id = |bodies: &[Vec<u8>]| fuzz::ModValue::parse(&bodies[0]).unwrap().module_id;
    let ids: Vec<u64> = sources.iter().map(|s| module_id(&s.1)).collect();

    let mut rng = Rng::new(seed() ^ 0x4e57);
    let mut crashes: Vec<String> = Vec::new();
    let mut invalid: Vec<String> = Vec::new();
    let (mut accepted, mut refused) = (0u64, 0u64);
    let mut log_offset = 0usize;
    let mut tried = 0u64;
    'types: for (ti, (ty, bodies, version)) in sources.iter().enumerate() {
        // Systematic first (every field at every boundary value, every truncation, every field
        // missing: the same in every run), then random mutations.
        let systematic: Vec<(usize, String, Vec<u8>)> = bodies
            .iter()
            .enumerate()
            .flat_map(|(src, b)| {
                fuzz::systematic(b)
                    .into_iter()
                    .map(move |(what, body)| (src, what, body))
            })
            .collect();
        let random = (0..FUZZ_RESTORES_PER_TYPE).map(|_| {
            let src = rng.below(bodies.len() as u64) as usize;
            let other = ids[(ti + 1 + rng.below(ids.len() as u64 - 1) as usize) % ids.len()];
            let (what, body) = fuzz::mutate(&mut rng, &bodies[src], bodies, other);
            (src, what, body)
        });
        let all: Vec<(usize, String, Vec<u8>)> = systematic.into_iter().chain(random).collect();
        for (i, (src, what, body)) in all.into_iter().enumerate() {
            tried += 1;
            let payload = forge(&body, *version);
            let repro = format!(
                "{ty} source {src}, mutation {i}: {what}; payload {}",
                fuzz::hex(&payload)
            );
            let outcome = restore(&mut c, b"victim", &payload).and_then(|r| match r {
                Value::Simple(s) if s == "OK" => {
                    accepted += 1;
                    check_generator(&mut c, b"victim", b"victim:again", check_error).map(
                        |checked| {
                            if let Err(e) = checked {
                                invalid.push(format!("{repro}\n    accepted, then: {e}"));
                            }
                        },
                    )
                }
                Value::Error(e) => {
                    refused += 1;
                    if !e.starts_with("ERR") {
                        invalid.push(format!("{repro}\n    refused with {e:?}"));
                    }
                    Ok(())
                }
                other => {
                    invalid.push(format!("{repro}\n    RESTORE replied {other:?}"));
                    Ok(())
                }
            });
            let alive = outcome.is_ok() && matches!(c.try_cmd(&["PING"]), Ok(Value::Simple(_)));
            if !alive {
                let log = fs::read_to_string(server.dir().join("redis.log")).unwrap_or_default();
                let new = &log[log_offset.min(log.len())..];
                let why = crash_lines_of(new);
                crashes.push(format!("{repro}\n    server died: {}", why.join(" | ")));
                if crashes.len() >= FUZZ_MAX_CRASHES {
                    break 'types;
                }
                server.restart();
                log_offset = fs::metadata(server.dir().join("redis.log"))
                    .map(|m| m.len() as usize)
                    .unwrap_or(0);
                c = server.conn();
            }
            let _ = c.try_cmd(&["DEL", "victim", "victim:again"]);
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={tried} ids_checked=0 repeats=0 errors={refused} \
         accepted={accepted} crashes={} invalid={}",
        crashes.len(),
        invalid.len()
    ));
    assert!(
        crashes.is_empty(),
        "{name}: RESTORE of a mutated payload crashed the server ({} times; stopped after \
         {FUZZ_MAX_CRASHES}):\n{}",
        crashes.len(),
        crashes.join("\n")
    );
    assert!(
        invalid.is_empty(),
        "{name}: {} payloads misbehaved:\n{}",
        invalid.len(),
        invalid
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
