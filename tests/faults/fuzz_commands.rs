//! Scenario 6, bad input from clients: random arguments to every command, internal commands
//! included.

use super::*;
use crate::fuzz_checks::{check_error, show_map, snowflake_invariants};

// ---------------------------------------------------------------------------------------------
// Scenario 6: bad input
// ---------------------------------------------------------------------------------------------

/// A command line split on whitespace into arguments.
pub(crate) fn words(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace()
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

/// The refusals README documents for issuing from a generator that exists (the `idgen_refusals`
/// of INFO idgen): the clock limit, exhausted time bits, a worker id that does not fit, an
/// exhausted sequence, not enough values left, a batch larger than the range; and a worker-ID
/// pool's: full, resuming after a load (what every pool does at its first use after one), a
/// lease that is not the caller's, tokens exhausted (a damaged reservation).
const ISSUE_REFUSALS: [&str; 10] = [
    "ERR clock: ",
    "ERR time bits exhausted",
    "ERR idgen.worker-id ",
    "ERR sequence exhausted",
    "ERR not enough values left",
    "ERR count is larger than the sequence's whole range",
    "POOLFULL ",
    "POOLRESUMING ",
    "LEASELOST ",
    "ERR fencing tokens exhausted",
];

/// An error reply that is one of `ISSUE_REFUSALS`.
pub(crate) fn check_issue_refusal(e: &str) -> Result<(), String> {
    if ISSUE_REFUSALS.iter().any(|r| e.starts_with(r)) {
        Ok(())
    } else {
        Err(format!("not a documented refusal: {e:?}"))
    }
}

pub(crate) fn show(v: &[Vec<u8>]) -> String {
    v.iter()
        .map(|a| {
            if a.len() > 40 {
                format!(
                    "<{} bytes {:?}...>",
                    a.len(),
                    String::from_utf8_lossy(&a[..8])
                )
            } else {
                format!("{:?}", String::from_utf8_lossy(a))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Per key, the last few successful vectors that named it (to reproduce a finding).
struct History(std::collections::HashMap<Vec<u8>, Vec<String>>);

impl History {
    fn push(&mut self, key: &[u8], v: &[Vec<u8>]) {
        let h = self.0.entry(key.to_vec()).or_default();
        h.push(show(v));
        if h.len() > 6 {
            h.remove(0);
        }
    }

    fn of(&self, key: &[u8]) -> String {
        self.0
            .get(key)
            .map(|h| h.join("\n      "))
            .unwrap_or_default()
    }
}

/// `DUMP key` then `RESTORE` of it under another name: what the module would write to an RDB
/// must load again. `Err` has the refusal.
fn round_trips(c: &mut Conn, key: &[u8]) -> Result<(), String> {
    match c.cmd(&[b"DUMP".as_slice(), key]) {
        Value::Bulk(payload) => {
            let r = c.cmd(&[
                b"RESTORE".as_slice(),
                b"fz:probe",
                b"0",
                payload.as_slice(),
                b"REPLACE",
            ]);
            c.cmd(&["DEL", "fz:probe"]);
            if r == Value::Simple("OK".into()) {
                Ok(())
            } else {
                Err(format!("{r:?}"))
            }
        }
        other => Err(format!("DUMP: {other:?}")),
    }
}

/// Every key of the server (`KEYS *`: the fuzz servers hold a handful).
fn all_keys(c: &mut Conn) -> Vec<Vec<u8>> {
    match c.cmd(&["KEYS", "*"]) {
        Value::Array(keys) => keys
            .into_iter()
            .map(|k| match k {
                Value::Bulk(b) => b,
                other => panic!("KEYS: {other:?}"),
            })
            .collect(),
        other => panic!("KEYS: {other:?}"),
    }
}

/// Keys whose value differs between primary and replica, with both INFOs.
fn diverged_keys(p: &mut Conn, r: &mut Conn, history: &History) -> Vec<(Vec<u8>, String)> {
    let mut out = Vec::new();
    for key in all_keys(p) {
        let key = key.as_slice();
        let a = p.cmd(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", key]);
        let b = r.cmd(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", key]);
        if a != b {
            let info_cmd = generator_of(p, key).map_or("SNOWFLAKE.INFO", Generator::info_cmd);
            let info_cmd = info_cmd.as_bytes();
            let text = format!(
                "{:?}: primary {}\n    replica {}\n    last commands on it:\n      {}",
                String::from_utf8_lossy(key),
                show_map(&p.cmd(&[info_cmd, key])),
                show_map(&r.cmd(&[info_cmd, key])),
                history.of(key)
            );
            out.push((key.to_vec(), text));
        }
    }
    out
}

/// Scenario 6a: random argument vectors across every client command (random arity, huge and
/// negative numbers, binary junk, unknown options) on a primary with a replica, over RESP2 and
/// RESP3: only valid replies or coded errors, both servers stay up; every state the commands
/// leave behind loads again (DUMP/RESTORE after each successful command, DEBUG RELOAD at the
/// end) and the replica holds the same data (DEBUG DIGEST every 1000 vectors). One vector in
/// `FUZZ_INTERNAL_EVERY` is an internal command's, as a client would send it: only a clean reply
/// (a coded error, or any reply while clients may still run them) is required, and nothing
/// depends on whether it ran (see `fuzz::client_internal_vector`). Their parsers are fuzzed
/// through forged AOF files (`fuzz_forged_aof`).
#[test]
fn fuzz_random_arguments() {
    let _serial = serial();
    let name = "fuzz-args";
    let primary = Server::builder("faults-fuzz-primary")
        .config("crash-memcheck-enabled no")
        .start();
    let replica = Server::builder("faults-fuzz-replica")
        .config("crash-memcheck-enabled no")
        .replicaof(primary.port())
        .start();
    wait_link_up(&replica, Duration::from_secs(20));
    let mut c2 = primary.conn();
    let mut c3 = primary.conn3();
    let mut r = replica.conn();
    c2.cmd(&["SET", "fz:str", "x"]).ok();
    c2.cmd(&["RPUSH", "fz:list", "a"]).int();
    let mut rng = Rng::new(seed() ^ 0xf022);
    let (mut ok, mut errors) = (0u64, 0u64);
    let (mut internal, mut internal_refused) = (0u64, 0u64);
    let mut problems: Vec<String> = Vec::new();
    let mut history = History(Default::default());
    let mut unloadable: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut broken: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut diverged: std::collections::HashSet<Vec<u8>> = Default::default();
    // Hand-picked edge cases first (so that what they find is found in every run; the internal
    // commands among them go to the forged AOF instead), then the random vectors, one in
    // `FUZZ_INTERNAL_EVERY` an internal command's.
    let edge: Vec<Vec<Vec<u8>>> = fuzz::EDGE_VECTORS
        .iter()
        .map(|line| words(line))
        .filter(|v| !fuzz::is_internal(&v[0]))
        .collect();
    let n_edge = edge.len();
    let vectors = edge.into_iter().chain((0..FUZZ_VECTORS).map(|i| {
        if i % FUZZ_INTERNAL_EVERY == FUZZ_INTERNAL_EVERY - 1 {
            fuzz::client_internal_vector(&mut rng)
        } else {
            fuzz::vector(&mut rng)
        }
    }));
    for (i, v) in vectors.enumerate() {
        let conn = if i % 4 == 3 { &mut c3 } else { &mut c2 };
        let reply = conn.try_cmd(&v).unwrap_or_else(|e| {
            panic!(
                "{name}: connection lost on vector {i} ({e}): {}\ncrash: {:?}\nlog:\n{}",
                show(&v),
                crash_lines(&primary),
                primary.log_tail()
            )
        });
        match &reply {
            // internal command from a client: a clean reply is all that is asked. Whether it
            // ran is not relied on: its key is deleted, its generation changes nothing.
            _ if fuzz::is_internal(&v[0]) => {
                internal += 1;
                if let Value::Error(e) = &reply {
                    internal_refused += 1;
                    if let Err(why) = check_error(e) {
                        problems.push(format!("invalid reply to {}: {why}", show(&v)));
                    }
                }
                c2.cmd(&[b"DEL".as_slice(), fuzz::CLIENT_INTERNAL_KEY]);
            }
            Value::Error(e) => {
                errors += 1;
                if let Err(why) = check_error(e) {
                    problems.push(format!("invalid reply to {}: {why}", show(&v)));
                }
            }
            _ => {
                ok += 1;
                if let Some(key) = v.get(1) {
                    history.push(key, &v);
                    let t = generator_of(&mut c2, key);
                    if t == Some(Generator::Snowflake) && !broken.contains(key) {
                        let info = c2.cmd(&[b"SNOWFLAKE.INFO".as_slice(), key]);
                        if let Err(e) = snowflake_invariants(&info) {
                            broken.insert(key.clone());
                            problems.push(format!(
                                "after {} (reply {reply:?}): {e}; last commands on it:\n      {}",
                                show(&v),
                                history.of(key)
                            ));
                        }
                    }
                    if t.is_some() && !unloadable.contains(key) {
                        if let Err(e) = round_trips(&mut c2, key) {
                            unloadable.insert(key.clone());
                            problems.push(format!(
                                "after {} (reply {reply:?}) the key's value no longer loads \
                                 (DUMP/RESTORE: {e}); last commands on it:\n      {}",
                                show(&v),
                                history.of(key)
                            ));
                        }
                    }
                }
            }
        }
        if i % 1000 == 999 || i + 1 == n_edge {
            assert_eq!(c2.cmd(&["PING"]), Value::Simple("PONG".into()), "PING");
            wait_replica_sync(&primary, &replica);
            if c2.cmd(&["DEBUG", "DIGEST"]) != r.cmd(&["DEBUG", "DIGEST"]) {
                for (key, d) in diverged_keys(&mut c2, &mut r, &history) {
                    if diverged.insert(key) {
                        problems.push(format!("primary and replica differ after vector {i}: {d}"));
                    }
                }
            }
        }
    }

    // What the commands left behind is readable and usable, and the dataset reloads.
    let mut keys_left = 0;
    for key in all_keys(&mut c2) {
        let key = key.as_slice();
        let Some(t) = generator_of(&mut c2, key) else {
            continue;
        };
        keys_left += 1;
        for cmd in [t.info_cmd().as_bytes(), t.next_cmd().as_bytes()] {
            let v = c2.cmd(&[cmd, key]);
            if let Value::Error(e) = &v {
                if let Err(why) = check_error(e) {
                    problems.push(format!(
                        "after the fuzz, {} {:?}: {why}",
                        String::from_utf8_lossy(cmd),
                        String::from_utf8_lossy(key)
                    ));
                }
            }
        }
    }
    let reload = c2.cmd(&["DEBUG", "RELOAD"]);
    if reload != Value::Simple("OK".into()) {
        problems.push(format!(
            "DEBUG RELOAD after the fuzz: {reload:?} (the dataset is gone); log: {:?}",
            primary
                .log_tail()
                .lines()
                .filter(|l| l.contains("idgen") || l.contains("RDB"))
                .collect::<Vec<_>>()
        ));
    }
    for s in [&primary, &replica] {
        let crashes = crash_lines(s);
        if !crashes.is_empty() {
            problems.push(format!("crash: {crashes:?}"));
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={} ids_checked=0 repeats=0 errors={errors} \
         ok_replies={ok} internal_from_client={internal} internal_refused={internal_refused} \
         keys_left={keys_left} problems={}",
        FUZZ_VECTORS as usize + n_edge,
        problems.len()
    ));
    assert!(
        problems.is_empty(),
        "{name}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
