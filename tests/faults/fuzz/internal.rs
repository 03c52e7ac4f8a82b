//! Internal commands: well-formed (and sometimes damaged) argument vectors of the internal
//! commands, as a forged AOF file feeds them to a loading server.

use super::*;

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
        "UUID.RESERVE" => 3..5,
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
        "UUID.RESERVE" => {
            // The mark is a unix ms (the reserved block's end).
            let mark = match rng.below(5) {
                0 => 0,
                1 => i64::MAX,
                _ => (now_ms() + rng.range(-5_000, 5_000)).max(0),
            };
            let wall = (now_ms() - rng.range(0, 3_000)).max(0);
            let worker = if rng.chance(1, 2) {
                -1
            } else {
                rng.range(0, 1023)
            };
            let format = *rng.pick(&["UUID", "ULID", "HEX", "BINARY"]);
            vec![
                key,
                num(mark),
                num(wall),
                num(worker),
                format.as_bytes().to_vec(),
                generation(rng),
            ]
        }
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
        // An eviction record: a type's name (or not one) and that type's reservation.
        "IDGEN.EVICTED" => {
            let (kind, reserve) = *rng.pick(&[
                ("idgen-seq", "SEQ.RESERVE"),
                ("idgen-sfk", "SNOWFLAKE.RESERVE"),
                ("idgen-uid", "UUID.RESERVE"),
                ("idgen-wrk", "WORKER.RESERVE"),
                ("idgen-xyz", "SEQ.RESERVE"),
            ]);
            // [key, fields.., generation] of the type's reserve command.
            let mut inner = well_formed_values(rng, reserve, key.clone());
            let gen = inner.pop().unwrap_or_else(|| generation(rng));
            let mut v = vec![key, kind.as_bytes().to_vec(), gen];
            v.extend(inner.into_iter().skip(1));
            v
        }
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
