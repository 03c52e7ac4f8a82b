//! The load: client threads that issue a mix of commands against the current primary, record
//! every value whose reply arrived, and reconnect when the connection breaks. And the checker
//! that merges the records of all clients and counts repeats.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::uid::{self, UidLog, UidReport, UidSpec, UID_KEYS};
use super::util::Rng;
use idgen_testkit::{Conn, Value};

/// How long a load client waits for one reply before it drops the connection.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest number of commands a client sends before it reads their replies.
const MAX_PIPELINE: i64 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// SNOWFLAKE.NEXT (single and COUNT), SEQ.NEXT and SEQ.NEXTBATCH, UUID.NEXT (single and
    /// COUNT, `FORMAT HEX`).
    Idgen,
    /// The control: plain `INCR`.
    Incr,
}

/// A snowflake key of the idgen workload: name, how it is created (None: created by its first
/// SNOWFLAKE.NEXT with the defaults), its epoch and bit split (to tell an ID's time in reports).
pub struct SfSpec {
    pub key: &'static str,
    pub create: Option<&'static str>,
    pub epoch: i64,
    pub shift: u32,
    /// An OPAQUE key: its IDs come in a scrambled order (no order check; repeats are counted
    /// as for the others).
    pub opaque: bool,
}

pub const SF_KEYS: [SfSpec; 4] = [
    SfSpec {
        key: "sf:default",
        create: None,
        epoch: 1_704_067_200_000,
        shift: 22,
        opaque: false,
    },
    // 16 IDs per ms: COUNT calls use up milliseconds and borrow ahead of the clock.
    SfSpec {
        key: "sf:narrow",
        create: Some("SNOWFLAKE.CREATE sf:narrow TIME-BITS 49 WORKER-BITS 10 SEQUENCE-BITS 4"),
        epoch: 1_704_067_200_000,
        shift: 14,
        opaque: false,
    },
    SfSpec {
        key: "sf:fixed",
        create: Some("SNOWFLAKE.CREATE sf:fixed EPOCH 1600000000000 WORKER 5"),
        epoch: 1_600_000_000_000,
        shift: 22,
        opaque: false,
    },
    // OPAQUE: replies a keyed permutation of [0, 2^63) (random secret drawn at CREATE).
    SfSpec {
        key: "sf:opaque",
        create: Some("SNOWFLAKE.CREATE sf:opaque OPAQUE"),
        epoch: 1_704_067_200_000,
        shift: 22,
        opaque: true,
    },
];

/// The index of `sf:opaque` in `SF_KEYS`.
const SF_OPAQUE_KEY: usize = 3;

/// A counter (sequence or INCR key): its values are `start + k * inc`.
pub struct CounterSpec {
    pub key: &'static str,
    pub create: Option<&'static str>,
    pub start: i64,
    pub inc: i64,
    /// An OPAQUE sequence: its values come in a scrambled order (no order check; repeats are
    /// counted as for the others, over single values).
    pub opaque: bool,
}

pub const SEQ_KEYS: [CounterSpec; 4] = [
    CounterSpec {
        key: "seq:default",
        create: None,
        start: 1,
        inc: 1,
        opaque: false,
    },
    CounterSpec {
        key: "seq:step7",
        create: Some("SEQ.CREATE seq:step7 START -1000000 INCREMENT 7 MINVALUE -1000000"),
        start: -1_000_000,
        inc: 7,
        opaque: false,
    },
    // Idle, then a burst of `BURST_VALUES` values: used only while the driver says so
    // (`Load::set_burst`), just before a fault, as traffic that jumps from nothing to a high rate.
    CounterSpec {
        key: "seq:burst",
        create: Some("SEQ.CREATE seq:burst"),
        start: 1,
        inc: 1,
        opaque: false,
    },
    // OPAQUE: replies a keyed permutation of 1..=2^63-1 (random secret drawn at CREATE).
    CounterSpec {
        key: "seq:opaque",
        create: Some("SEQ.CREATE seq:opaque OPAQUE"),
        start: 1,
        inc: 1,
        opaque: true,
    },
];

/// The index of `seq:opaque` in `SEQ_KEYS`.
const OPAQUE_KEY: usize = 3;

/// Values one burst on `seq:burst` takes (give or take one pipeline). Its reservations fall into
/// the window a fault loses, so only `idgen.safety-min-gap` covers it: the load scenarios run
/// with `BURST_MIN_GAP`, the setting README gives for bursty keys.
pub const BURST_VALUES: i64 = 50_000;
pub const BURST_MIN_GAP: i64 = 2 * BURST_VALUES;

pub const INCR_KEYS: [CounterSpec; 2] = [
    CounterSpec {
        key: "incr:a",
        create: None,
        start: 1,
        inc: 1,
        opaque: false,
    },
    CounterSpec {
        key: "incr:b",
        create: None,
        start: 1,
        inc: 1,
        opaque: false,
    },
];

impl Workload {
    pub fn counters(self) -> &'static [CounterSpec] {
        match self {
            Workload::Idgen => &SEQ_KEYS,
            Workload::Incr => &INCR_KEYS,
        }
    }

    pub fn sf_keys(self) -> &'static [SfSpec] {
        match self {
            Workload::Idgen => &SF_KEYS,
            Workload::Incr => &[],
        }
    }

    pub fn uid_keys(self) -> &'static [UidSpec] {
        match self {
            Workload::Idgen => &UID_KEYS,
            Workload::Incr => &[],
        }
    }

    /// Creates the keys that are not created by their first use.
    pub fn setup(self, c: &mut Conn) {
        let creates = self
            .sf_keys()
            .iter()
            .filter_map(|s| s.create)
            .chain(self.counters().iter().filter_map(|s| s.create))
            .chain(self.uid_keys().iter().filter_map(|s| s.create));
        for line in creates {
            c.run(line).ok();
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Req {
    Sf { key: usize, count: Option<i64> },
    Seq { key: usize, count: Option<i64> },
    Uid { key: usize, count: Option<i64> },
    Incr { key: usize },
}

impl Req {
    fn pick(workload: Workload, burst: bool, rng: &mut Rng) -> Req {
        if burst && workload == Workload::Idgen && rng.chance(2, 5) {
            return Req::Seq {
                key: 2,
                count: Some(rng.range(1, 100)),
            };
        }
        match workload {
            Workload::Incr => Req::Incr {
                key: rng.below(INCR_KEYS.len() as u64) as usize,
            },
            // One request in six: a UUID key (the other five keep the snowflake/sequence mix).
            Workload::Idgen if rng.chance(1, 6) => {
                let (key, count) = uid::pick(rng);
                Req::Uid { key, count }
            }
            Workload::Idgen => match rng.below(100) {
                0..=20 => Req::Sf {
                    key: 0,
                    count: None,
                },
                21..=24 => Req::Sf {
                    key: SF_OPAQUE_KEY,
                    count: None,
                },
                25..=35 => Req::Sf {
                    key: 0,
                    count: Some(rng.range(2, 20)),
                },
                36..=39 => Req::Sf {
                    key: SF_OPAQUE_KEY,
                    count: Some(rng.range(2, 20)),
                },
                40..=49 => Req::Sf {
                    key: 1,
                    count: Some(rng.range(1, 40)),
                },
                50..=59 => Req::Sf {
                    key: 2,
                    count: None,
                },
                60..=70 => Req::Seq {
                    key: 0,
                    count: None,
                },
                71..=79 => Req::Seq {
                    key: 0,
                    count: Some(rng.range(1, 100)),
                },
                80..=86 => Req::Seq {
                    key: 1,
                    count: None,
                },
                87..=92 => Req::Seq {
                    key: 1,
                    count: Some(rng.range(1, 50)),
                },
                93..=96 => Req::Seq {
                    key: OPAQUE_KEY,
                    count: None,
                },
                _ => Req::Seq {
                    key: OPAQUE_KEY,
                    count: Some(rng.range(1, 50)),
                },
            },
        }
    }

    fn args(&self) -> Vec<String> {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match *self {
            Req::Sf { key, count: None } => v(&["SNOWFLAKE.NEXT", SF_KEYS[key].key]),
            Req::Sf {
                key,
                count: Some(n),
            } => v(&["SNOWFLAKE.NEXT", SF_KEYS[key].key, "COUNT", &n.to_string()]),
            Req::Seq { key, count: None } => v(&["SEQ.NEXT", SEQ_KEYS[key].key]),
            Req::Seq {
                key,
                count: Some(n),
            } => v(&["SEQ.NEXTBATCH", SEQ_KEYS[key].key, &n.to_string()]),
            Req::Uid { key, count } => uid::args(key, count),
            Req::Incr { key } => v(&["INCR", INCR_KEYS[key].key]),
        }
    }
}

/// What one client received.
#[derive(Default)]
pub struct ClientLog {
    /// Per snowflake key (index into `SF_KEYS`): every ID received.
    pub sf: Vec<Vec<u64>>,
    /// Per counter key: every range `[first, last]` received (a single value is `[v, v]`), with
    /// the fault cycle it was received in.
    pub ranges: Vec<Vec<(i64, i64, u32)>>,
    pub ok: u64,
    pub error_replies: u64,
    /// `ERR clock ...` refusals.
    pub refusals: u64,
    /// Broken connections and failed connects.
    pub io_errors: u64,
    /// Error replies by their first word (LOADING, READONLY, ERR, ...).
    pub error_kinds: BTreeMap<String, u64>,
    /// A value of a generator not above the previous one this client received from it.
    pub order_violations: u64,
    pub order_examples: Vec<String>,
    /// Replies of the wrong shape (never expected).
    pub malformed: Vec<String>,
    /// The UUID keys' records (and their order violations, counted apart).
    pub uid: UidLog,
    sf_last: Vec<Option<u64>>,
    counter_last: Vec<Option<i64>>,
}

impl ClientLog {
    fn new(workload: Workload) -> ClientLog {
        let (nsf, nc) = (workload.sf_keys().len(), workload.counters().len());
        ClientLog {
            sf: vec![Vec::new(); nsf],
            ranges: vec![Vec::new(); nc],
            sf_last: vec![None; nsf],
            counter_last: vec![None; nc],
            uid: UidLog::new(UID_KEYS.len()),
            ..Default::default()
        }
    }

    fn order(&mut self, what: String) {
        self.order_violations += 1;
        if self.order_examples.len() < 5 {
            self.order_examples.push(what);
        }
    }

    fn sf_ids(&mut self, key: usize, ids: &[u64]) {
        if SF_KEYS[key].opaque {
            self.sf[key].extend_from_slice(ids);
            return;
        }
        if let Some(last) = self.sf_last[key] {
            if ids[0] <= last {
                self.order(format!("{}: {} after {}", SF_KEYS[key].key, ids[0], last));
            }
        }
        self.sf_last[key] = Some(*ids.last().unwrap());
        self.sf[key].extend_from_slice(ids);
    }

    fn range(&mut self, workload: Workload, key: usize, first: i64, last: i64, cycle: u32) {
        if workload.counters()[key].opaque {
            self.ranges[key].push((first, last, cycle));
            return;
        }
        if let Some(prev) = self.counter_last[key] {
            if first <= prev {
                self.order(format!(
                    "{}: {first} after {prev}",
                    workload.counters()[key].key
                ));
            }
        }
        self.counter_last[key] = Some(last);
        self.ranges[key].push((first, last, cycle));
    }

    fn handle(&mut self, workload: Workload, req: &Req, v: Value, cycle: u32) -> bool {
        if let Value::Error(e) = &v {
            if e.starts_with("ERR clock") {
                self.refusals += 1;
            } else {
                self.error_replies += 1;
                let kind = e.split_whitespace().next().unwrap_or("").to_string();
                *self.error_kinds.entry(kind).or_default() += 1;
            }
            return false;
        }
        let bad = |log: &mut ClientLog, v: &Value| {
            if log.malformed.len() < 10 {
                log.malformed.push(format!("{:?} -> {v:?}", req.args()));
            }
            false
        };
        match (*req, &v) {
            (Req::Sf { key, count: None }, Value::Int(id)) if *id >= 0 => {
                self.sf_ids(key, &[*id as u64]);
            }
            (
                Req::Sf {
                    key,
                    count: Some(n),
                },
                Value::Array(items),
            ) => {
                let ids: Vec<u64> = items
                    .iter()
                    .filter_map(|i| match i {
                        Value::Int(x) if *x >= 0 => Some(*x as u64),
                        _ => None,
                    })
                    .collect();
                if ids.len() != n as usize
                    || items.len() != n as usize
                    || !SF_KEYS[key].opaque && ids.windows(2).any(|w| w[0] >= w[1])
                {
                    return bad(self, &v);
                }
                self.sf_ids(key, &ids);
            }
            (Req::Uid { key, count }, _) => match uid::parse_reply(count, &v) {
                Some(ids) => self.uid.record(key, &ids),
                None => return bad(self, &v),
            },
            (Req::Seq { key, count: None }, Value::Int(x)) | (Req::Incr { key }, Value::Int(x)) => {
                self.range(workload, key, *x, *x, cycle);
            }
            (
                Req::Seq {
                    key,
                    count: Some(n),
                },
                Value::Array(items),
            ) if SEQ_KEYS[key].opaque => {
                // An array of the public values (no range).
                let vals: Vec<i64> = items
                    .iter()
                    .filter_map(|i| match i {
                        Value::Int(x) => Some(*x),
                        _ => None,
                    })
                    .collect();
                if vals.len() != n as usize || items.len() != n as usize {
                    return bad(self, &v);
                }
                for x in vals {
                    self.range(workload, key, x, x, cycle);
                }
            }
            (
                Req::Seq {
                    key,
                    count: Some(n),
                },
                Value::Array(items),
            ) => match items.as_slice() {
                [Value::Int(a), Value::Int(b)]
                    if (*b as i128 - *a as i128) == (n as i128 - 1) * SEQ_KEYS[key].inc as i128 =>
                {
                    self.range(workload, key, *a, *b, cycle)
                }
                _ => return bad(self, &v),
            },
            _ => return bad(self, &v),
        }
        self.ok += 1;
        true
    }
}

struct Shared {
    /// Port of the current primary. A client holds this lock while it connects, so once the
    /// driver has changed it no client can still be connecting to the old port.
    target: Mutex<u16>,
    stop: AtomicBool,
    /// The burst key is in use.
    burst: AtomicBool,
    /// Values the current burst may still take.
    burst_left: AtomicI64,
    ok: AtomicU64,
    /// Good SNOWFLAKE.NEXT replies and `ERR clock` refusals so far.
    sf_ok: AtomicU64,
    refusals: AtomicU64,
    cycle: AtomicU64,
}

/// Client threads running against the current target.
pub struct Load {
    workload: Workload,
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<ClientLog>>,
}

impl Load {
    pub fn start(workload: Workload, port: u16, clients: usize, seed: u64) -> Load {
        let shared = Arc::new(Shared {
            target: Mutex::new(port),
            stop: AtomicBool::new(false),
            burst: AtomicBool::new(false),
            burst_left: AtomicI64::new(0),
            ok: AtomicU64::new(0),
            sf_ok: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            cycle: AtomicU64::new(0),
        });
        let handles = (0..clients)
            .map(|i| {
                let shared = shared.clone();
                let seed = seed.wrapping_add(i as u64 * 0x1000_0000_0001);
                thread::spawn(move || client(workload, &shared, seed))
            })
            .collect();
        Load {
            workload,
            shared,
            handles,
        }
    }

    /// Moves the clients to another server (after a failover).
    pub fn set_target(&self, port: u16) {
        *self.shared.target.lock().unwrap() = port;
    }

    /// Starts or ends a burst on `seq:burst` (idgen workload): idle until then.
    pub fn set_burst(&self, on: bool) {
        self.shared
            .burst_left
            .store(BURST_VALUES, Ordering::Relaxed);
        self.shared.burst.store(on, Ordering::Relaxed);
    }

    /// Tags what is received from now on with fault cycle `n` (for reports).
    pub fn set_cycle(&self, n: u32) {
        self.shared.cycle.store(n as u64, Ordering::Relaxed);
    }

    /// Replies received so far that carried values.
    pub fn ok_replies(&self) -> u64 {
        self.shared.ok.load(Ordering::Relaxed)
    }

    /// (good SNOWFLAKE.NEXT replies, `ERR clock` refusals) so far.
    pub fn snowflake_counts(&self) -> (u64, u64) {
        (
            self.shared.sf_ok.load(Ordering::Relaxed),
            self.shared.refusals.load(Ordering::Relaxed),
        )
    }

    /// Waits (bounded) until the clients have received `n` more good replies: they resumed.
    pub fn wait_progress(&self, n: u64, timeout: Duration, what: &str) {
        let start = self.ok_replies();
        idgen_testkit::wait_until(timeout, what, || self.ok_replies() >= start + n);
    }

    pub fn stop(mut self) -> (Workload, Vec<ClientLog>) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let logs = std::mem::take(&mut self.handles)
            .into_iter()
            .map(|h| h.join().expect("load client panicked"))
            .collect();
        (self.workload, logs)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn client(workload: Workload, shared: &Shared, seed: u64) -> ClientLog {
    let mut rng = Rng::new(seed);
    let mut log = ClientLog::new(workload);
    let mut conn: Option<Conn> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                let target = shared.target.lock().unwrap();
                match Conn::try_connect_with_timeout(*target, CLIENT_TIMEOUT) {
                    Ok(c) => conn.insert(c),
                    Err(_) => {
                        drop(target);
                        log.io_errors += 1;
                        thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                }
            }
        };
        let burst = shared.burst.load(Ordering::Relaxed);
        let reqs: Vec<Req> = (0..rng.range(1, MAX_PIPELINE))
            .map(|_| {
                let left = burst && shared.burst_left.load(Ordering::Relaxed) > 0;
                let req = Req::pick(workload, left, &mut rng);
                if let Req::Seq { key: 2, count } = req {
                    shared
                        .burst_left
                        .fetch_sub(count.unwrap_or(1), Ordering::Relaxed);
                }
                req
            })
            .collect();
        let cmds: Vec<Vec<String>> = reqs.iter().map(Req::args).collect();
        if c.send(&cmds).is_err() {
            log.io_errors += 1;
            conn = None;
            continue;
        }
        let mut served = false;
        for req in &reqs {
            match c.read_value() {
                Ok(v) => {
                    let cycle = shared.cycle.load(Ordering::Relaxed) as u32;
                    let refusals = log.refusals;
                    if log.handle(workload, req, v, cycle) {
                        served = true;
                        shared.ok.fetch_add(1, Ordering::Relaxed);
                        if matches!(req, Req::Sf { .. }) {
                            shared.sf_ok.fetch_add(1, Ordering::Relaxed);
                        }
                    } else if log.refusals > refusals {
                        shared.refusals.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    log.io_errors += 1;
                    conn = None;
                    break;
                }
            }
        }
        if !served {
            // Refused (a fenced or read-only node): retry soon, without spinning.
            thread::sleep(Duration::from_millis(1));
        }
    }
    log
}

/// The merged verdict over all clients.
#[derive(Default, Debug)]
pub struct Report {
    /// Values received (a batch counts each of its values).
    pub ids_checked: u64,
    /// Of those, the values of OPAQUE sequences (their repeats are in `repeats_by_key`).
    pub opaque_checked: u64,
    /// Of those, the IDs of OPAQUE snowflake keys (their repeats are in `repeats_by_key`).
    pub sf_opaque_checked: u64,
    /// Values received more than once (each extra receipt counts).
    pub repeats: u64,
    /// The same, per key (keys without repeats left out).
    pub repeats_by_key: BTreeMap<String, u64>,
    /// Values off their sequence's progression (`start + k * inc`).
    pub off_progression: u64,
    pub examples: Vec<String>,
    pub ok_replies: u64,
    pub error_replies: u64,
    pub refusals: u64,
    pub io_errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    pub order_violations: u64,
    pub order_examples: Vec<String>,
    pub malformed: Vec<String>,
    /// The UUID keys (not in the figures above): checked, repeats, repeated positions, order.
    pub uid: UidReport,
}

impl Report {
    /// Error replies plus broken connections (refusals are counted apart).
    pub fn errors(&self) -> u64 {
        self.error_replies + self.io_errors
    }

    fn example(&mut self, s: String) {
        if self.examples.len() < 12 {
            self.examples.push(s);
        }
    }
}

/// Merges the clients' records and counts repeats: snowflake IDs per key by sorting, counter
/// ranges per key with a sorted interval sweep (two ranges, or a range and a single value, that
/// share a value are a repeat).
pub fn check(workload: Workload, logs: Vec<ClientLog>) -> Report {
    let mut r = Report::default();
    for l in &logs {
        r.ok_replies += l.ok;
        r.error_replies += l.error_replies;
        r.refusals += l.refusals;
        r.io_errors += l.io_errors;
        for (k, n) in &l.error_kinds {
            *r.error_kinds.entry(k.clone()).or_default() += n;
        }
        r.order_violations += l.order_violations;
        r.order_examples.extend(l.order_examples.iter().cloned());
        r.malformed.extend(l.malformed.iter().cloned());
    }
    let mut logs = logs;
    let mut uid_logs: Vec<UidLog> = logs
        .iter_mut()
        .map(|l| std::mem::take(&mut l.uid))
        .collect();
    r.uid = uid::check(&mut uid_logs);
    for (ki, spec) in workload.sf_keys().iter().enumerate() {
        let mut ids: Vec<u64> = Vec::new();
        for l in logs.iter_mut() {
            ids.append(&mut l.sf[ki]);
        }
        ids.sort_unstable();
        r.ids_checked += ids.len() as u64;
        if spec.opaque {
            r.sf_opaque_checked += ids.len() as u64;
        }
        for w in ids.windows(2) {
            if w[0] == w[1] {
                r.repeats += 1;
                *r.repeats_by_key.entry(spec.key.to_string()).or_default() += 1;
                let unix = (w[0] >> spec.shift) as i64 + spec.epoch;
                r.example(format!(
                    "{}: id {} (timestamp {unix}) received twice",
                    spec.key, w[0]
                ));
            }
        }
    }
    for (ki, spec) in workload.counters().iter().enumerate() {
        let mut ranges: Vec<(i64, i64, u32)> = Vec::new();
        for l in logs.iter_mut() {
            ranges.append(&mut l.ranges[ki]);
        }
        ranges.sort_unstable();
        let inc = spec.inc as i128;
        let mut covered: Option<(i64, u32)> = None; // highest value received so far, its cycle
        for &(a, b, cycle) in &ranges {
            r.ids_checked += ((b as i128 - a as i128) / inc + 1) as u64;
            if spec.opaque {
                r.opaque_checked += ((b as i128 - a as i128) / inc + 1) as u64;
            }
            if (a as i128 - spec.start as i128).rem_euclid(inc) != 0 {
                r.off_progression += 1;
                r.example(format!(
                    "{}: {a} is off the progression {} + k*{}",
                    spec.key, spec.start, spec.inc
                ));
            }
            if let Some((m, mcycle)) = covered {
                if a <= m {
                    let dup = (b.min(m) as i128 - a as i128) / inc + 1;
                    r.repeats += dup as u64;
                    *r.repeats_by_key.entry(spec.key.to_string()).or_default() += dup as u64;
                    r.example(format!(
                        "{}: [{a}, {b}] (cycle {cycle}) repeats {dup} value(s) received up to {m} (cycle {mcycle})",
                        spec.key
                    ));
                }
            }
            if covered.is_none_or(|(m, _)| b > m) {
                covered = Some((b, cycle));
            }
        }
    }
    r
}

/// Sets `idgen.safety-min-gap` to cover the burst on `seq:burst` (see `BURST_VALUES`), then
/// adds the module arguments of `$FAULTS_MODULE_ARGS` ("name value ...", later ones win), e.g.
/// `FAULTS_MODULE_ARGS="idgen.safety-jump no"` to watch the idgen scenarios catch repeats when
/// the safety jump is off.
pub fn with_env_module_args(b: idgen_testkit::ServerBuilder) -> idgen_testkit::ServerBuilder {
    let mut b = b.module_arg("idgen.safety-min-gap", &BURST_MIN_GAP.to_string());
    if let Ok(args) = std::env::var("FAULTS_MODULE_ARGS") {
        let words: Vec<&str> = args.split_whitespace().collect();
        assert!(
            words.len().is_multiple_of(2),
            "FAULTS_MODULE_ARGS must be name value pairs"
        );
        for pair in words.chunks(2) {
            b = b.module_arg(pair[0], pair[1]);
        }
    }
    b
}
