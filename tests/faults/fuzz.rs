//! Bad input: random argument vectors for every command, the internal commands' vectors for
//! forged AOF files, mutated DUMP payloads for RESTORE (with the footer recomputed, so the bytes
//! reach the module's loader), and the module value layout inside a DUMP payload.

use super::util::Rng;
use idgen_testkit::now_ms;

// The internal commands' vectors (forged AOF files) and the DUMP payloads (RESTORE), each in a
// file of its own under fuzz/; their items are this module's.
mod dump;
mod internal;
pub use dump::*;
pub use internal::*;

/// The module's client commands (the test-only IDGEN.DEBUG-CLOCK is not in the normal build).
pub const CLIENT_COMMANDS: [&str; 22] = [
    "SNOWFLAKE.CREATE",
    "SNOWFLAKE.NEXT",
    "SNOWFLAKE.PARSE",
    "SNOWFLAKE.INFO",
    "SEQ.CREATE",
    "SEQ.NEXT",
    "SEQ.NEXTBATCH",
    "SEQ.CURRENT",
    "SEQ.SET",
    "SEQ.INFO",
    "SEQ.DECODE",
    "WORKER.ACQUIRE",
    "WORKER.RENEW",
    "WORKER.RELEASE",
    "WORKER.LIST",
    "WORKER.ROUTE",
    "WORKER.INFO",
    "IDGEN.WORKERS",
    "UUID.CREATE",
    "UUID.NEXT",
    "UUID.PARSE",
    "UUID.INFO",
];

/// The internal commands: what replicas and the AOF receive. From a client they are not to be
/// relied on (they will be refused); the fuzzer reaches their parsers through forged AOF files.
pub const INTERNAL_COMMANDS: [&str; 7] = [
    "SNOWFLAKE.RESERVE",
    "UUID.RESERVE",
    "SEQ.RESERVE",
    "IDGEN.GENERATION",
    "WORKER.RESERVE",
    "WORKER.EFFECT",
    "IDGEN.EVICTED",
];

/// Arity of an internal command, the name included (src/lib.rs: SNOWFLAKE.RESERVE key + 8,
/// SEQ.RESERVE key + 9, IDGEN.GENERATION 1 argument, WORKER.RESERVE key + 5, WORKER.EFFECT
/// key + 8, UUID.RESERVE key + 5). The AOF fuzz checks these against the
/// server's COMMAND INFO.
pub fn internal_arity(cmd: &str) -> usize {
    match cmd.to_ascii_uppercase().as_str() {
        "SNOWFLAKE.RESERVE" => 10,
        "SEQ.RESERVE" => 11,
        "IDGEN.GENERATION" => 2,
        "WORKER.RESERVE" => 7,
        "WORKER.EFFECT" => 10,
        "UUID.RESERVE" => 7,
        // key, type, generation, then the type's reservation (none at the minimum).
        "IDGEN.EVICTED" => 4,
        other => panic!("{other} is not an internal command"),
    }
}

pub fn is_internal(cmd: &[u8]) -> bool {
    INTERNAL_COMMANDS
        .iter()
        .any(|c| c.as_bytes().eq_ignore_ascii_case(cmd))
}

/// The UUID text formats, and one that is not.
const UID_FORMATS: [&str; 5] = ["UUID", "ULID", "HEX", "BINARY", "INT"];

/// Edge cases every run tries first (split on whitespace): the client fuzz sends the client
/// commands among them, the first forged AOF file holds all of them (the internal commands with
/// their exact arity, so that their parsers run).
pub const EDGE_VECTORS: &[&str] = &[
    // UUID keys: formats, the COUNT limit, a worker out of range, reservations at the bounds
    "UUID.CREATE fz:uid:a FORMAT ULID WORKER 1023",
    "UUID.NEXT fz:uid:a COUNT 10000",
    "UUID.NEXT fz:uid:a COUNT 10001",
    "UUID.CREATE fz:uid:b WORKER 1024",
    "UUID.NEXT fz:uid:c FORMAT BINARY COUNT 3",
    "UUID.RESERVE fz:uid:d 0 0 -1 UUID 0",
    "UUID.RESERVE fz:uid:d 9223372036854775807 9223372036854775807 -1 UUID 1",
    "UUID.RESERVE fz:uid:e 5 5 7 HEX 0",
    "UUID.RESERVE fz:uid:e 5 5 8 HEX 0",
    "UUID.RESERVE fz:uid:f -1 0 -1 UUID 0",
    // snowflake layouts at their bounds
    "SNOWFLAKE.CREATE fz:sf:a EPOCH 0 TIME-BITS 35 WORKER-BITS 20 SEQUENCE-BITS 8 WORKER 1048575",
    "SNOWFLAKE.NEXT fz:sf:a COUNT 10000",
    "SNOWFLAKE.NEXT fz:sf:a COUNT 10001",
    "SNOWFLAKE.NEXT fz:sf:a COUNT 0",
    "SNOWFLAKE.PARSE fz:sf:a -1",
    "SNOWFLAKE.PARSE fz:sf:a 9223372036854775807",
    "SNOWFLAKE.CREATE fz:sf:b TIME-BITS 55 WORKER-BITS 0 SEQUENCE-BITS 8 EPOCH 1",
    "SNOWFLAKE.CREATE fz:sf:b TIME-BITS 35 WORKER-BITS 20 SEQUENCE-BITS 9",
    "SNOWFLAKE.CREATE fz:sf:b EPOCH 99999999999999 WORKER -1",
    // reservations: the ceiling, beyond it, huge wall times, zero, another layout
    "SNOWFLAKE.RESERVE fz:sf:b 2199023255552 0 1704067200000 41 10 12 -1 0",
    "SNOWFLAKE.RESERVE fz:sf:b 9223372036854775807 9223372036854775807 1704067200000 41 10 12 -1 1",
    "SNOWFLAKE.NEXT fz:sf:b",
    "SNOWFLAKE.RESERVE fz:sf:a 0 0 0 35 20 8 1048575 0",
    "SNOWFLAKE.RESERVE fz:sf:a 5 5 0 41 10 12 -1 0",
    "SNOWFLAKE.RESERVE fz:k 34359738367 9223372036854775807 9223372036854775807 35 20 8 -1 0",
    "SNOWFLAKE.NEXT fz:k",
    "SNOWFLAKE.RESERVE fz:k -1 0 0 41 10 12 -1 0",
    "SNOWFLAKE.RESERVE fz:k 1 -1 0 41 10 12 -1 0",
    "SNOWFLAKE.RESERVE fz:k 1 1 0 41 10 12 -1 -1",
    // an epoch so late that epoch + timestamp leaves the i64 range
    "SNOWFLAKE.RESERVE fz:k:late 5 5 9223372036854775806 41 10 12 -1 0",
    "SNOWFLAKE.NEXT fz:k:late",
    "SNOWFLAKE.PARSE fz:k:late 12603883521",
    // sequences at the i64 bounds
    "SEQ.CREATE fz:seq:a MINVALUE -9223372036854775808 MAXVALUE 9223372036854775807 START 9223372036854775807 INCREMENT 9223372036854775807 CYCLE",
    "SEQ.NEXT fz:seq:a",
    "SEQ.NEXT fz:seq:a",
    "SEQ.NEXTBATCH fz:seq:a 2",
    "SEQ.NEXTBATCH fz:seq:a 3",
    "SEQ.SET fz:seq:a -9223372036854775808 FORCE",
    "SEQ.NEXTBATCH fz:seq:a 9223372036854775807",
    "SEQ.CREATE fz:seq:b MINVALUE 9223372036854775806 MAXVALUE 9223372036854775807",
    "SEQ.NEXTBATCH fz:seq:b 2",
    "SEQ.NEXT fz:seq:b",
    "SEQ.SET fz:seq:b 9223372036854775807",
    // reservations of sequences: marks beyond i64, cycles on a sequence without CYCLE,
    // another layout, negative and huge counters, generations far ahead
    "SEQ.RESERVE fz:seq:b 0 170141183460469231731687303715884105727 0 9223372036854775806 1 9223372036854775806 9223372036854775807 0 0",
    "SEQ.RESERVE fz:seq:b 0 -170141183460469231731687303715884105728 0 9223372036854775806 1 9223372036854775806 9223372036854775807 0 0",
    "SEQ.RESERVE fz:seq:b 0 5 0 1 1 1 100 0 0",
    "SEQ.RESERVE fz:k:seq 1 5 0 1 1 1 100 0 0",
    "SEQ.NEXT fz:k:seq",
    "SEQ.RESERVE fz:k:seq2 9223372036854775807 9223372036854775807 9223372036854775807 1 1 1 100 1 9223372036854775807",
    "SEQ.NEXT fz:k:seq2",
    "SEQ.RESERVE fz:k:seq3 -1 5 0 1 1 1 100 1 0",
    "SEQ.RESERVE fz:k:seq3 0 5 -1 1 1 1 100 1 0",
    "SEQ.RESERVE fz:k:seq3 0 5 0 1 1 1 100 2 0",
    "IDGEN.GENERATION 65535",
    "SEQ.CURRENT fz:k:seq3",
    // worker pools: the largest, the longest TTL, bounds of every argument
    "WORKER.ACQUIRE fz:pool 86400000 SIZE 1048576 GRACE 3600000 HOLDER h",
    "WORKER.ACQUIRE fz:pool 1000 HOLDER h",
    "WORKER.ACQUIRE fz:pool 1000 SIZE 1",
    "WORKER.RENEW fz:pool 0 1 86400000 LAST-TS 9223372036854775807",
    "WORKER.RENEW fz:pool 0 1 1000 LAST-TS 0",
    "WORKER.RENEW fz:pool 1048576 1 1000",
    "WORKER.RENEW fz:pool 0 9223372036854775807 1000",
    "WORKER.RELEASE fz:pool -1 1",
    "WORKER.ROUTE fz:pool x COUNT 1048576",
    "WORKER.ROUTE fz:pool x COUNT 1048577",
    "WORKER.ACQUIRE fz:k:pool 1000 SIZE 1 GRACE 0",
    "WORKER.ACQUIRE fz:k:pool 1000",
    // internal pool commands at their bounds: the token mark at 2^63 and past it, an effect at
    // every bound, a phase that does not exist, a pool created by an effect
    "WORKER.RESERVE fz:pool 1048576 3600000 9223372036854775808 86400000 0",
    "WORKER.RESERVE fz:pool 1048576 3600000 9223372036854775809 86400000 0",
    "WORKER.EFFECT fz:pool 1048576 3600000 1048575 9223372036854775807 h 9223372036854775807 9223372036854775807 2",
    "WORKER.EFFECT fz:pool 1048576 3600000 0 1 h 0 0 3",
    "WORKER.EFFECT fz:k:pool2 1 0 0 1 h 0 0 0",
    "WORKER.INFO fz:pool",
    "WORKER.LIST fz:pool",
    // formats, time units and periods (issue 10) at their bounds
    "SNOWFLAKE.CREATE fz:sf:c LAYOUT JS-SAFE FORMAT BASE62 PREFIX ord_",
    "SNOWFLAKE.NEXT fz:sf:c COUNT 10000 FORMAT BASE32",
    "SNOWFLAKE.PARSE fz:sf:c ord_zzzzzzzzzzz",
    "SNOWFLAKE.PARSE fz:sf:c 99999999999999999999999 FORMAT STRING",
    "SNOWFLAKE.CREATE fz:sf:d TIME-BITS 55 WORKER-BITS 4 SEQUENCE-BITS 4 TIME-UNIT 86400000",
    "SNOWFLAKE.CREATE fz:sf:d TIME-BITS 35 WORKER-BITS 0 SEQUENCE-BITS 4 TIME-UNIT 86400000 FORMAT STRING PREFIX z",
    "SNOWFLAKE.NEXT fz:sf:d COUNT 10000",
    "SNOWFLAKE.RESERVE fz:sf:e 5 5 1704067200000 38 5 10 -1 10 BASE62 ord_",
    "SNOWFLAKE.RESERVE fz:sf:e 5 5 1704067200000 38 5 10 -1 0 BASE62 ord_",
    "SNOWFLAKE.RESERVE fz:sf:e 5 5 1704067200000 38 5 10 -1 10 INT ord_",
    "SEQ.CREATE fz:seq:p PERIOD HOUR UTC-OFFSET -14:00 FORMAT {YY}{MM}{DD}{hh}{seq:19} MINVALUE 0",
    "SEQ.NEXTBATCH fz:seq:p 9223372036854775807",
    "SEQ.RESERVE fz:seq:q 0 5 0 1 1 1 100 0 DAY 840 {YYYY}{MM}{DD}-{seq} -9223372036854775808",
    "SEQ.RESERVE fz:seq:q 0 5 0 1 1 1 100 0 DAY 841 {YYYY}{MM}{DD}-{seq} 5",
    "SEQ.NEXT fz:seq:q",
    "SEQ.RESERVE fz:seq:q 0 5 0 1 1 1 100 0 NONE 0 {seq} 5",
];

/// Keys the fuzzer works on; `fz:str` and `fz:list` hold plain Redis types.
pub const KEYS: [&[u8]; 10] = [
    b"fz:sf:a",
    b"fz:sf:b",
    b"fz:seq:a",
    b"fz:seq:b",
    b"fz:str",
    b"fz:list",
    b"fz:k",
    b"fz:pool",
    b"",
    b"fz:\x00\xff\r\n",
];

const OPTIONS: &[&str] = &[
    "FORMAT",
    "PREFIX",
    "TIME-UNIT",
    "LAYOUT",
    "PERIOD",
    "UTC-OFFSET",
    "COUNT",
    "EPOCH",
    "TIME-BITS",
    "WORKER-BITS",
    "SEQUENCE-BITS",
    "WORKER",
    "START",
    "INCREMENT",
    "MINVALUE",
    "MAXVALUE",
    "CYCLE",
    "FORCE",
    "REPLACE",
    "HOLDER",
    "SIZE",
    "GRACE",
    "LAST-TS",
];

const ODD_NUMBERS: [&str; 24] = [
    "",
    " ",
    "+1",
    "-0",
    "00012",
    "0x10",
    "1e3",
    "1.5",
    "-",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "170141183460469231731687303715884105727",
    "-170141183460469231731687303715884105728",
    "340282366920938463463374607431768211456",
    " 5",
    "5 ",
    "5\0",
    "\u{ff11}",
    "nan",
];

fn case(rng: &mut Rng, s: &str) -> Vec<u8> {
    match rng.below(4) {
        0 => s.to_ascii_lowercase().into_bytes(),
        1 => s
            .bytes()
            .map(|b| {
                if rng.chance(1, 2) {
                    b.to_ascii_lowercase()
                } else {
                    b
                }
            })
            .collect(),
        _ => s.as_bytes().to_vec(),
    }
}

/// A number, valid or not: small, at a boundary, random, or a string that only looks like one.
pub fn number(rng: &mut Rng) -> Vec<u8> {
    let n: i128 = match rng.below(11) {
        0 | 1 => rng.range(-3, 70) as i128,
        2 => *rng.pick(&[
            0,
            1,
            -1,
            i64::MAX as i128,
            i64::MIN as i128,
            i64::MAX as i128 - 1,
            i64::MIN as i128 + 1,
            i32::MAX as i128,
            u32::MAX as i128,
            1 << 53,
            1 << 41,
            (1 << 41) - 1,
            1 << 55,
            10_000,
            10_001,
            4096,
            1023,
            1024,
            3_600_000,
            3_600_001,
        ]),
        3 => rng.next_u64() as i64 as i128,
        4 => rng.next_u64() as i128,
        5 => return rng.pick(&ODD_NUMBERS).as_bytes().to_vec(),
        6 => (now_ms() + rng.range(-5_000_000, 5_000_000)) as i128,
        7 => 1_704_067_200_000 + rng.range(-10, 10) as i128,
        8 => {
            let p = rng.range(0, 64) as u32;
            (1i128 << p) + rng.range(-1, 1) as i128
        }
        9 => -(1i128 << rng.range(0, 64) as u32),
        _ => rng.range(0, 64) as i128,
    };
    n.to_string().into_bytes()
}

/// Any argument: a key, a number, an option word (known, unknown, odd case), binary junk, or a
/// long string.
pub fn any_arg(rng: &mut Rng) -> Vec<u8> {
    match rng.below(12) {
        0 | 1 => rng.pick(&KEYS).to_vec(),
        2..=5 => number(rng),
        6 | 7 => {
            let o = *rng.pick(OPTIONS);
            case(rng, o)
        }
        8 => rng
            .pick(&[
                "FOO",
                "COUNTX",
                "CYCLE\0",
                "-COUNT",
                "count ",
                "WORKER_BITS",
                "SEQUENCE",
            ])
            .as_bytes()
            .to_vec(),
        9 | 10 => {
            let n = rng.below(40) as usize;
            rng.bytes(n)
        }
        _ => {
            let n = *rng.pick(&[33usize, 100, 4096, 70_000]);
            let c = *rng.pick(&[b'A', b'9', 0u8, b'\n']);
            vec![c; n]
        }
    }
}

/// A plausible argument vector for the client command `cmd` (right shape, random values), so that
/// the parsers' deeper paths run, not only the arity check.
fn plausible(rng: &mut Rng, cmd: &str) -> Vec<Vec<u8>> {
    let mut a = vec![rng.pick(&KEYS).to_vec()];
    let opts = |rng: &mut Rng, a: &mut Vec<Vec<u8>>, names: &[&str]| {
        for _ in 0..rng.below(4) {
            let o = *rng.pick(names);
            a.push(case(rng, o));
            if o != "CYCLE" && o != "FORCE" && !rng.chance(1, 20) {
                a.push(number(rng));
            }
        }
    };
    match cmd {
        "SNOWFLAKE.CREATE" => opts(
            rng,
            &mut a,
            &[
                "EPOCH",
                "TIME-BITS",
                "WORKER-BITS",
                "SEQUENCE-BITS",
                "WORKER",
            ],
        ),
        "SNOWFLAKE.NEXT" if rng.chance(1, 2) => {
            a.push(case(rng, "COUNT"));
            a.push(number(rng));
        }
        "SNOWFLAKE.PARSE" | "SEQ.NEXTBATCH" | "SEQ.DECODE" => a.push(number(rng)),
        "UUID.CREATE" | "UUID.NEXT" => {
            for _ in 0..rng.below(3) {
                match rng.below(3) {
                    0 => {
                        a.push(case(rng, "FORMAT"));
                        let f = *rng.pick(&UID_FORMATS);
                        a.push(case(rng, f));
                    }
                    1 if cmd == "UUID.NEXT" => {
                        a.push(case(rng, "COUNT"));
                        a.push(number(rng));
                    }
                    _ => {
                        a.push(case(rng, "WORKER"));
                        a.push(small(rng, 1100));
                    }
                }
            }
        }
        "UUID.PARSE" => a.push(match rng.below(4) {
            0 => b"01890a5d-ac96-774b-bcce-b302099a8057".to_vec(),
            1 => b"01HK153X0E7X5S5W1M2A6ZVBDE".to_vec(),
            2 => b"01890a5dac96774bbcceb302099a8057".to_vec(),
            _ => any_arg(rng),
        }),
        "SEQ.CREATE" => opts(
            rng,
            &mut a,
            &["START", "INCREMENT", "MINVALUE", "MAXVALUE", "CYCLE"],
        ),
        "SEQ.SET" => {
            a.push(number(rng));
            if rng.chance(1, 2) {
                a.push(case(rng, "FORCE"));
            }
        }
        "WORKER.ACQUIRE" => {
            a.push(ttl(rng));
            for _ in 0..rng.below(4) {
                match rng.below(3) {
                    0 => {
                        a.push(case(rng, "HOLDER"));
                        a.push(if rng.chance(1, 2) {
                            format!("h{}", rng.below(4)).into_bytes()
                        } else {
                            any_arg(rng)
                        });
                    }
                    1 => {
                        a.push(case(rng, "SIZE"));
                        a.push(small(rng, 1024));
                    }
                    _ => {
                        a.push(case(rng, "GRACE"));
                        a.push(small(rng, 5000));
                    }
                }
            }
        }
        "WORKER.RENEW" | "WORKER.RELEASE" => {
            a.push(small(rng, 8));
            a.push(small(rng, 12));
            if cmd == "WORKER.RENEW" {
                a.push(ttl(rng));
            }
            if rng.chance(1, 3) {
                a.push(case(rng, "LAST-TS"));
                a.push(if rng.chance(1, 2) {
                    now_ms().to_string().into_bytes()
                } else {
                    number(rng)
                });
            }
        }
        "WORKER.ROUTE" => {
            a.push(any_arg(rng));
            if rng.chance(1, 2) {
                a.push(case(rng, "COUNT"));
                a.push(small(rng, 10));
            }
        }
        _ => {}
    }
    a
}

/// A number that is mostly small and in range (`0..=max`), sometimes anything.
fn small(rng: &mut Rng, max: i64) -> Vec<u8> {
    if rng.chance(3, 4) {
        rng.range(0, max).to_string().into_bytes()
    } else {
        number(rng)
    }
}

/// A lease TTL: mostly valid (1-5 s), sometimes anything.
fn ttl(rng: &mut Rng) -> Vec<u8> {
    if rng.chance(3, 4) {
        rng.range(1_000, 5_000).to_string().into_bytes()
    } else {
        number(rng)
    }
}

/// One random argument vector of a client command: a command name (random case) and arguments,
/// plausible or random.
pub fn vector(rng: &mut Rng) -> Vec<Vec<u8>> {
    let cmd = *rng.pick(&CLIENT_COMMANDS);
    let mut v = vec![case(rng, cmd)];
    if rng.chance(1, 2) {
        v.extend(plausible(rng, cmd));
        // Sometimes one argument too many or too few.
        match rng.below(10) {
            0 => v.push(any_arg(rng)),
            1 if v.len() > 1 => {
                v.pop();
            }
            2 => {
                let i = 1 + rng.below(v.len() as u64 - 1) as usize;
                v[i] = any_arg(rng);
            }
            _ => {}
        }
    } else {
        let n = rng.below(12) as usize;
        for _ in 0..n {
            v.push(any_arg(rng));
        }
    }
    v
}
