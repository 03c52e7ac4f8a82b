//! Bad input: random argument vectors for every command, the internal commands' vectors for
//! forged AOF files, mutated DUMP payloads for RESTORE (with the footer recomputed, so the bytes
//! reach the module's loader), and the module value layout inside a DUMP payload.

use super::util::Rng;
use idgen_testkit::now_ms;

/// The module's client commands (the test-only IDGEN.DEBUG-CLOCK is not in the normal build).
pub const CLIENT_COMMANDS: [&str; 17] = [
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
    "WORKER.ACQUIRE",
    "WORKER.RENEW",
    "WORKER.RELEASE",
    "WORKER.LIST",
    "WORKER.ROUTE",
    "WORKER.INFO",
    "IDGEN.WORKERS",
];

/// The internal commands: what replicas and the AOF receive. From a client they are not to be
/// relied on (they will be refused); the fuzzer reaches their parsers through forged AOF files.
pub const INTERNAL_COMMANDS: [&str; 5] = [
    "SNOWFLAKE.RESERVE",
    "SEQ.RESERVE",
    "IDGEN.GENERATION",
    "WORKER.RESERVE",
    "WORKER.EFFECT",
];

/// Arity of an internal command, the name included (src/lib.rs: SNOWFLAKE.RESERVE key + 8,
/// SEQ.RESERVE key + 9, IDGEN.GENERATION 1 argument, WORKER.RESERVE key + 5, WORKER.EFFECT
/// key + 8). The AOF fuzz checks these against the
/// server's COMMAND INFO.
pub fn internal_arity(cmd: &str) -> usize {
    match cmd.to_ascii_uppercase().as_str() {
        "SNOWFLAKE.RESERVE" => 10,
        "SEQ.RESERVE" => 11,
        "IDGEN.GENERATION" => 2,
        "WORKER.RESERVE" => 7,
        "WORKER.EFFECT" => 10,
        other => panic!("{other} is not an internal command"),
    }
}

pub fn is_internal(cmd: &[u8]) -> bool {
    INTERNAL_COMMANDS
        .iter()
        .any(|c| c.as_bytes().eq_ignore_ascii_case(cmd))
}

/// Edge cases every run tries first (split on whitespace): the client fuzz sends the client
/// commands among them, the first forged AOF file holds all of them (the internal commands with
/// their exact arity, so that their parsers run).
pub const EDGE_VECTORS: &[&str] = &[
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
        "SNOWFLAKE.PARSE" | "SEQ.NEXTBATCH" => a.push(number(rng)),
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

// ---------------------------------------------------------------------------------------------
// Internal commands
// ---------------------------------------------------------------------------------------------

/// A snowflake layout (time, worker, sequence bits): valid most of the time.
fn layout(rng: &mut Rng) -> (i64, i64, i64) {
    if rng.chance(1, 8) {
        let mut n = || rng.range(-1, 64);
        (n(), n(), n())
    } else {
        *rng.pick(&[
            (41, 10, 12),
            (45, 6, 12),
            (49, 10, 4),
            (55, 0, 8),
            (35, 20, 8),
            (41, 0, 22),
            (39, 20, 4),
        ])
    }
}

fn num(v: impl ToString) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// A generation: small (the usual case: a few loads and promotions), at the 16-bit wrap a key
/// keeps, or any number.
fn generation(rng: &mut Rng) -> Vec<u8> {
    match rng.below(8) {
        0..=4 => num(rng.range(0, 5)),
        5 => num(*rng.pick(&[65_535i64, 65_536, 65_537, 1 << 32])),
        _ => number(rng),
    }
}

/// The options of the reservations made so far, per command and key: a new reservation of a
/// key reuses them half of the time, so that reservations also reach keys that exist (a
/// reservation with other options is refused).
#[derive(Default)]
pub struct Reserved(std::collections::HashMap<(String, Vec<u8>), Vec<Vec<u8>>>);

/// Where a reservation's options are (the arguments after the name): SNOWFLAKE.RESERVE epoch,
/// bits and worker; SEQ.RESERVE start, increment, bounds and CYCLE; a pool's size and grace in
/// WORKER.RESERVE and WORKER.EFFECT.
fn options_of(cmd: &str) -> std::ops::Range<usize> {
    match cmd {
        "SNOWFLAKE.RESERVE" => 3..8,
        "SEQ.RESERVE" => 4..9,
        "WORKER.RESERVE" | "WORKER.EFFECT" => 1..3,
        _ => 0..0,
    }
}

/// The commands whose options must agree on one key (a pool's two internal commands).
fn options_family(cmd: &str) -> &str {
    if cmd.starts_with("WORKER.") {
        "WORKER"
    } else {
        cmd
    }
}

/// The arguments (key first) of an internal command with its exact arity and, mostly, values
/// that pass validation: what a primary writes to its AOF and replicas.
fn well_formed_internal(rng: &mut Rng, cmd: &str, reserved: &mut Reserved) -> Vec<Vec<u8>> {
    let key = rng.pick(&KEYS).to_vec();
    let mut args = well_formed_values(rng, cmd, key.clone());
    let opts = options_of(cmd);
    if !opts.is_empty() {
        let known = reserved
            .0
            .entry((options_family(cmd).to_string(), key))
            .or_default();
        if !known.is_empty() && rng.chance(1, 2) {
            args[opts.clone()].clone_from_slice(known);
        } else {
            *known = args[opts].to_vec();
        }
    }
    args
}

fn well_formed_values(rng: &mut Rng, cmd: &str, key: Vec<u8>) -> Vec<Vec<u8>> {
    match cmd {
        "SNOWFLAKE.RESERVE" => {
            let (t, w, s) = layout(rng);
            let epoch: i64 = *rng.pick(&[1_704_067_200_000, 1_600_000_000_000, 0, now_ms() - 1]);
            let max_ts = if (0..63).contains(&t) {
                (1i64 << t) - 1
            } else {
                i64::MAX
            };
            let now = now_ms() - epoch;
            let mark = match rng.below(6) {
                0 => 0,
                1 => max_ts,
                2 => max_ts.saturating_add(1),
                _ => (now + rng.range(-5_000, 5_000)).max(0),
            };
            let wall = if rng.chance(1, 2) {
                mark
            } else {
                (mark - rng.range(0, 3_000)).max(0)
            };
            let worker = if rng.chance(1, 2) || !(0..=20).contains(&w) {
                -1
            } else {
                rng.range(0, (1i64 << w) - 1)
            };
            vec![
                key,
                num(mark),
                num(wall),
                num(epoch),
                num(t),
                num(w),
                num(s),
                num(worker),
                generation(rng),
            ]
        }
        "SEQ.RESERVE" => {
            let min = *rng.pick(&[1, 0, -1000, i64::MIN, i64::MAX - 10]);
            let span = rng.range(1, 1_000_000);
            let max = if rng.chance(1, 4) {
                i64::MAX
            } else {
                min.saturating_add(span)
            };
            // Offsets below `width` (up to 2^64 - 1) in u128, so that no sum overflows.
            let width = (max as i128 - min as i128) as u128;
            let mut below = |n: u128| (rng.next_u64() as u128 % n) as i128;
            let inc = (1 + below(width.min(50))) as i64;
            let start = (min as i128 + below(width / 2 + 1)) as i64;
            let mark: i128 = min as i128 + below(width + 1);
            let mark = match rng.below(5) {
                0 => min as i128,
                1 => max as i128 + 1,
                _ => mark,
            };
            let cycle = rng.range(0, 1);
            let cycles = if cycle == 1 { rng.range(0, 3) } else { 0 };
            vec![
                key,
                num(cycles),
                num(mark),
                num(rng.range(0, 100_000)),
                num(start),
                num(inc),
                num(min),
                num(max),
                num(cycle),
                generation(rng),
            ]
        }
        "IDGEN.GENERATION" => vec![generation(rng)],
        "WORKER.RESERVE" => {
            let mark = match rng.below(6) {
                0 => 0,
                1 => 1u64 << 63,
                2 => (1u64 << 63) + 1,
                _ => 1 + 1024 * rng.range(1, 100) as u64,
            };
            let mut v = pool_options(rng, key);
            v.extend([num(mark), num(pool_ttl(rng)), generation(rng)]);
            v
        }
        "WORKER.EFFECT" => {
            let mut v = pool_options(rng, key);
            let size: i64 = String::from_utf8_lossy(&v[1]).parse().unwrap_or(1);
            let now = now_ms();
            let expires = match rng.below(4) {
                0 => 0,
                1 => i64::MAX,
                _ => now + rng.range(-10_000, 60_000),
            };
            let holder = match rng.below(4) {
                0 => Vec::new(),
                1 => vec![b'h'; 256],
                2 => any_arg(rng),
                _ => num(format!("holder-{}", rng.below(4))),
            };
            v.extend([
                num(rng.range(0, size.clamp(1, 1 << 20) - 1)),
                num(*rng.pick(&[1i64, 2, 3, 1024, 1025, 5000, i64::MAX])),
                holder,
                num(expires),
                num((expires - rng.range(0, 20_000)).max(0)),
                num(rng.range(0, 2)),
            ]);
            v
        }
        other => panic!("{other} is not an internal command"),
    }
}

/// A pool's key, size and grace: valid most of the time.
fn pool_options(rng: &mut Rng, key: Vec<u8>) -> Vec<Vec<u8>> {
    let size = match rng.below(8) {
        0 => 1,
        1 => 1 << 20,
        2 => *rng.pick(&[0, (1 << 20) + 1, -1]),
        _ => rng.range(1, 1024),
    };
    let grace = match rng.below(8) {
        0 => 0,
        1 => 3_600_000,
        2 => *rng.pick(&[-1, 3_600_001]),
        _ => 5_000,
    };
    vec![key, num(size), num(grace)]
}

/// A pool's TTL: valid most of the time.
fn pool_ttl(rng: &mut Rng) -> i64 {
    match rng.below(8) {
        0 => 0,
        1 => 86_400_000,
        2 => *rng.pick(&[-1, 86_400_001, 999]),
        _ => rng.range(1_000, 60_000),
    }
}

/// One argument vector of an internal command (name in random case): exact arity with valid
/// values (half), exact arity with one value replaced by anything, one argument too many or too
/// few, or any number of random arguments.
pub fn internal_vector(rng: &mut Rng, reserved: &mut Reserved) -> Vec<Vec<u8>> {
    let cmd = *rng.pick(&INTERNAL_COMMANDS);
    let mut v = vec![case(rng, cmd)];
    let kind = rng.below(10);
    if kind < 9 {
        v.extend(well_formed_internal(rng, cmd, reserved));
    }
    match kind {
        5 | 6 => {
            let i = 1 + rng.below(v.len() as u64 - 1) as usize;
            v[i] = if rng.chance(1, 2) {
                number(rng)
            } else {
                any_arg(rng)
            };
        }
        7 => v.push(any_arg(rng)),
        8 => {
            v.pop();
        }
        9 => {
            for _ in 0..rng.below(13) {
                v.push(any_arg(rng));
            }
        }
        _ => {}
    }
    v
}

/// The key internal commands sent by a client work on: deleted after each, so that nothing
/// else depends on whether the command was executed.
pub const CLIENT_INTERNAL_KEY: &[u8] = b"fz:internal";

/// An internal command's vector for a client to send: like [`internal_vector`], but on
/// `CLIENT_INTERNAL_KEY`, and at the exact arity with a generation that changes nothing if it is
/// executed (0, or a value the parser refuses): the server's generation is global state.
pub fn client_internal_vector(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut v = internal_vector(rng, &mut Reserved::default());
    let cmd = String::from_utf8_lossy(&v[0]).to_ascii_uppercase();
    let exact = v.len() == internal_arity(&cmd);
    if cmd != "IDGEN.GENERATION" && v.len() > 1 {
        v[1] = CLIENT_INTERNAL_KEY.to_vec();
    }
    if exact {
        let last = v.len() - 1;
        v[last] = rng
            .pick(&["0", "-1", "x", "", "-9223372036854775808"])
            .as_bytes()
            .to_vec();
    }
    v
}

// ---------------------------------------------------------------------------------------------
// DUMP payloads
// ---------------------------------------------------------------------------------------------

/// RDB length encoding (rdbSaveLen).
pub fn enc_len(v: u64, out: &mut Vec<u8>) {
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.push(0x40 | (v >> 8) as u8);
        out.push(v as u8);
    } else if v <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// The widest (9-byte) form of a length: valid, not canonical.
pub fn enc_len_wide(v: u64, out: &mut Vec<u8>) {
    out.push(0x81);
    out.extend_from_slice(&v.to_be_bytes());
}

fn dec_len(b: &[u8], i: &mut usize) -> Option<u64> {
    let first = *b.get(*i)?;
    *i += 1;
    match first >> 6 {
        0 => Some((first & 0x3f) as u64),
        1 => {
            let second = *b.get(*i)?;
            *i += 1;
            Some((((first & 0x3f) as u64) << 8) | second as u64)
        }
        2 if first == 0x80 => {
            let v = u32::from_be_bytes(b.get(*i..*i + 4)?.try_into().ok()?);
            *i += 4;
            Some(v as u64)
        }
        2 if first == 0x81 => {
            let v = u64::from_be_bytes(b.get(*i..*i + 8)?.try_into().ok()?);
            *i += 8;
            Some(v)
        }
        _ => None,
    }
}

/// RDB module opcodes (rdb.h).
pub const OP_EOF: u64 = 0;
pub const OP_UINT: u64 = 2;
pub const OP_STRING: u64 = 5;

/// One field of a module value: an integer (SaveSigned and SaveUnsigned are both stored as
/// UINT) or a string (SaveStringBuffer: a worker pool's holder names).
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    U(u64),
    S(Vec<u8>),
}

/// A module value in a DUMP body: `RDB_TYPE_MODULE_2`, the 64-bit module type id (name and
/// encoding version), then opcode + value pairs, then the EOF opcode. idgen saves integers and
/// (worker pools) strings, so that is all this parses.
#[derive(Clone, Debug, PartialEq)]
pub struct ModValue {
    pub rdb_type: u8,
    pub module_id: u64,
    pub fields: Vec<Field>,
}

fn enc_field(f: &Field, wide: bool, out: &mut Vec<u8>) {
    let len = if wide { enc_len_wide } else { enc_len };
    match f {
        Field::U(x) => {
            enc_len(OP_UINT, out);
            len(*x, out);
        }
        Field::S(b) => {
            enc_len(OP_STRING, out);
            len(b.len() as u64, out);
            out.extend_from_slice(b);
        }
    }
}

impl ModValue {
    pub fn parse(body: &[u8]) -> Option<ModValue> {
        let rdb_type = *body.first()?;
        let mut i = 1;
        let module_id = dec_len(body, &mut i)?;
        let mut fields = Vec::new();
        loop {
            match dec_len(body, &mut i)? {
                OP_EOF => break,
                OP_UINT => fields.push(Field::U(dec_len(body, &mut i)?)),
                OP_STRING => {
                    let n = dec_len(body, &mut i)? as usize;
                    let b = body.get(i..i.checked_add(n)?)?.to_vec();
                    i += n;
                    fields.push(Field::S(b));
                }
                _ => return None,
            }
        }
        (i == body.len()).then_some(ModValue {
            rdb_type,
            module_id,
            fields,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(false)
    }

    /// With `wide`, every length in its 9-byte form (valid, not canonical).
    fn encode_with(&self, wide: bool) -> Vec<u8> {
        let mut out = vec![self.rdb_type];
        enc_len_wide(self.module_id, &mut out);
        for f in &self.fields {
            enc_field(f, wide, &mut out);
        }
        enc_len(OP_EOF, &mut out);
        out
    }

    /// The integer fields.
    fn ints(&self) -> Vec<u64> {
        self.fields
            .iter()
            .filter_map(|f| match f {
                Field::U(x) => Some(*x),
                Field::S(_) => None,
            })
            .collect()
    }
}

/// Values worth trying in a field: boundaries of the types and of the layouts.
fn interesting(rng: &mut Rng, current: u64, others: &[u64]) -> u64 {
    let now = now_ms() as u64;
    match rng.below(6) {
        0 => *rng.pick(&[
            0,
            1,
            2,
            3,
            4,
            22,
            23,
            35,
            55,
            56,
            63,
            64,
            1023,
            1024,
            1025,
            1 << 20,
            (1 << 20) + 1,
            86_400_000,
            86_400_001,
            u64::MAX,
            u64::MAX - 1,
            i64::MAX as u64,
            i64::MIN as u64,
            (i64::MAX - 1) as u64,
            1 << 32,
            u32::MAX as u64,
            1 << 41,
            (1 << 41) - 1,
            1 << 55,
            (1 << 55) - 1,
            1 << 62,
            now,
            now - 1_704_067_200_000,
        ]),
        1 => current.wrapping_add(1),
        2 => current.wrapping_sub(1),
        3 if !others.is_empty() => *rng.pick(others),
        4 => current ^ (1 << rng.below(64)),
        _ => rng.next_u64(),
    }
}

/// Strings worth trying in a string field: empty, at and past the holder-name limit, binary.
fn interesting_str(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => Vec::new(),
        1 => vec![b'h'; 256],
        2 => vec![b'h'; 257],
        3 => vec![0u8],
        _ => {
            let n = rng.below(300) as usize;
            rng.bytes(n)
        }
    }
}

/// The systematic mutations of a DUMP body: every field set to every boundary value, every
/// field missing, every truncation.
pub fn systematic(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    const BOUNDARY: [u64; 12] = [
        0,
        1,
        u64::MAX,
        i64::MAX as u64,
        (i64::MAX - 1) as u64,
        i64::MIN as u64,
        1 << 32,
        1 << 55,
        1 << 62,
        (1 << 41) - 1,
        1 << 20,
        (1 << 20) + 1,
    ];
    let v = ModValue::parse(body).expect("source body parses");
    let mut out = Vec::new();
    for f in 0..v.fields.len() {
        let values: Vec<Field> = match &v.fields[f] {
            Field::U(_) => BOUNDARY.iter().map(|&x| Field::U(x)).collect(),
            Field::S(_) => vec![
                Field::S(Vec::new()),
                Field::S(vec![b'h'; 256]),
                Field::S(vec![b'h'; 257]),
                Field::U(0),
            ],
        };
        for x in values {
            let mut m = v.clone();
            let what = format!("field {f} = {x:?}");
            m.fields[f] = x;
            out.push((what, m.encode()));
        }
        let mut m = v.clone();
        m.fields.remove(f);
        out.push((format!("remove field {f}"), m.encode()));
    }
    for len in 1..body.len() {
        out.push((
            format!("truncate to {len} of {}", body.len()),
            body[..len].to_vec(),
        ));
    }
    out
}

/// One mutation of a DUMP body; returns what was done (for the report) and the new body.
/// `same_type` are bodies of other values of the same type, `other_type_id` the module id of
/// another idgen type.
pub fn mutate(
    rng: &mut Rng,
    body: &[u8],
    same_type: &[Vec<u8>],
    other_type_id: u64,
) -> (String, Vec<u8>) {
    let v = ModValue::parse(body).expect("source body parses");
    let nf = v.fields.len() as u64;
    let field = |rng: &mut Rng| rng.below(nf) as usize;
    let ints = v.ints();
    let kind = rng.below(13);
    match kind {
        0 => {
            let mut b = body.to_vec();
            let flips = rng.range(1, 3);
            let mut what = Vec::new();
            for _ in 0..flips {
                let pos = rng.below(b.len() as u64) as usize;
                let mask = (rng.below(255) + 1) as u8;
                b[pos] ^= mask;
                what.push(format!("{pos}^{mask:#04x}"));
            }
            (format!("flip bytes {}", what.join(",")), b)
        }
        1 => {
            let len = rng.range(1, body.len() as i64 - 1) as usize;
            (
                format!("truncate to {len} of {}", body.len()),
                body[..len].to_vec(),
            )
        }
        2..=4 => {
            let mut m = v.clone();
            let n = if kind == 4 { rng.range(2, 4) } else { 1 };
            let mut what = Vec::new();
            for _ in 0..n {
                let f = field(rng);
                let val = match &m.fields[f] {
                    Field::U(cur) if kind == 2 => Field::U(rng.next_u64()),
                    Field::U(cur) => Field::U(interesting(rng, *cur, &ints)),
                    Field::S(_) => Field::S(interesting_str(rng)),
                };
                what.push(format!("field {f} = {val:?}"));
                m.fields[f] = val;
            }
            (what.join(", "), m.encode())
        }
        5 => {
            // A field stored under another opcode (SINT, UINT, FLOAT, DOUBLE, STRING, invalid
            // ones).
            let f = field(rng);
            let op = *rng.pick(&[1u64, 2, 3, 4, 5, 6, 7, 63, 200]);
            let x = match &v.fields[f] {
                Field::U(x) => *x,
                Field::S(b) => b.len() as u64,
            };
            let mut out = vec![v.rdb_type];
            enc_len_wide(v.module_id, &mut out);
            for (i, fv) in v.fields.iter().enumerate() {
                if i == f {
                    enc_len(op, &mut out);
                    match op {
                        3 => out.extend_from_slice(&(x as u32).to_le_bytes()),
                        4 => out.extend_from_slice(&x.to_le_bytes()),
                        5 => {
                            enc_len(8, &mut out);
                            out.extend_from_slice(&x.to_le_bytes());
                        }
                        _ => enc_len(x, &mut out),
                    }
                } else {
                    enc_field(fv, false, &mut out);
                }
            }
            enc_len(OP_EOF, &mut out);
            (format!("field {f} under opcode {op}"), out)
        }
        6 => {
            let mut m = v.clone();
            let f = field(rng);
            m.fields.remove(f);
            (format!("remove field {f}"), m.encode())
        }
        7 => {
            let mut m = v.clone();
            let f = rng.below(nf + 1) as usize;
            let val = if rng.chance(1, 4) {
                Field::S(interesting_str(rng))
            } else {
                Field::U(interesting(rng, 0, &ints))
            };
            let what = format!("insert field {val:?} at {f}");
            m.fields.insert(f, val);
            (what, m.encode())
        }
        8 => (
            // Valid but wider length encodings: must load like the original.
            "every length in the 9-byte form".into(),
            v.encode_with(true),
        ),
        9 => {
            let mut b = v.encode();
            match rng.below(3) {
                0 => {
                    b.pop();
                    ("no EOF opcode".into(), b)
                }
                1 => {
                    let n = rng.range(1, 8) as usize;
                    b.extend(rng.bytes(n));
                    (format!("{n} junk bytes after EOF"), b)
                }
                _ => {
                    b.push(0);
                    ("two EOF opcodes".into(), b)
                }
            }
        }
        10 => {
            let mut m = v.clone();
            let encver = rng.below(1024);
            m.module_id = (m.module_id & !1023) | encver;
            (format!("encoding version {encver}"), m.encode())
        }
        11 => {
            let mut m = v.clone();
            m.module_id = other_type_id;
            ("another idgen type's module id".into(), m.encode())
        }
        _ => {
            // Fields from two real values of this type: each field valid alone, the mix maybe not.
            let other =
                ModValue::parse(rng.pick(same_type).as_slice()).expect("source body parses");
            let mut m = v.clone();
            let mut taken = Vec::new();
            for (i, f) in m.fields.iter_mut().enumerate() {
                if i < other.fields.len() && rng.chance(1, 2) {
                    *f = other.fields[i].clone();
                    taken.push(i.to_string());
                }
            }
            (
                format!("fields {} from another value", taken.join(",")),
                m.encode(),
            )
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
