//! The worker-ID pool under faults: holder threads that acquire, renew, release and sometimes
//! stop (go silent past their TTL), each following the holder protocol (stop issuing at the
//! local deadline = the send time of its last successful ACQUIRE/RENEW + TTL, or at LEASELOST, or
//! when it sends RELEASE). Every tenure a holder had is recorded: the ID, the token, when the
//! server granted it, until when the holder may have used it, and the not-before it was given.
//! The checker then proves that no two holders had the same ID at once, that tokens were never
//! reused, and that every grant's not-before was above every earlier holder's use of the ID.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::util::Rng;
use idgen_testkit::{now_ms, Conn, Value};

pub const POOL_KEY: &str = "pool:workers";
/// A small pool for many holders: IDs change hands all the time.
pub const POOL_SIZE: i64 = 4;
pub const POOL_GRACE_MS: i64 = 300;
/// TTLs the holders ask for (the resume window is the longest plus the grace).
const TTL_MS: (i64, i64) = (1_000, 1_500);
/// A holder gives up this long before its local deadline.
const MARGIN_MS: i64 = 100;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

/// One holder's tenure of one ID under one token.
#[derive(Clone, Debug)]
pub struct Tenure {
    pub id: i64,
    pub token: i64,
    pub holder: Option<String>,
    /// Server time of the grant (the ACQUIRE reply's expiry minus the TTL asked).
    pub start: i64,
    /// Until when the holder may have used the ID: the earliest of its local deadline, the time
    /// it sent RELEASE, the time it was told LEASELOST.
    pub end: i64,
    pub not_before: i64,
}

#[derive(Default, Debug, Clone)]
pub struct Counts {
    pub grants: u64,
    pub renewals: u64,
    pub releases: u64,
    /// LEASELOST replies to RENEW or RELEASE.
    pub fenced: u64,
    /// Holders that went silent past their TTL, and whose wake-up RENEW was refused.
    pub stops: u64,
    pub stops_fenced: u64,
    pub pool_full: u64,
    pub resuming: u64,
    /// Leases given up at the local deadline (RENEW failing: server down, loading, read-only).
    pub abandoned: u64,
    pub io_errors: u64,
    pub other_errors: BTreeMap<String, u64>,
    pub malformed: Vec<String>,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.grants += o.grants;
        self.renewals += o.renewals;
        self.releases += o.releases;
        self.fenced += o.fenced;
        self.stops += o.stops;
        self.stops_fenced += o.stops_fenced;
        self.pool_full += o.pool_full;
        self.resuming += o.resuming;
        self.abandoned += o.abandoned;
        self.io_errors += o.io_errors;
        for (k, v) in &o.other_errors {
            *self.other_errors.entry(k.clone()).or_default() += v;
        }
        self.malformed.extend(o.malformed.iter().cloned());
    }
}

struct Shared {
    /// Port of the current primary (held while connecting, as in `load`).
    target: Mutex<u16>,
    stop: AtomicBool,
    grants: AtomicU64,
}

/// Holder threads against the current target.
pub struct PoolLoad {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<(Vec<Tenure>, Counts)>>,
}

impl PoolLoad {
    /// `named` holders with names and `anonymous` ones without.
    pub fn start(port: u16, named: usize, anonymous: usize, seed: u64) -> PoolLoad {
        let shared = Arc::new(Shared {
            target: Mutex::new(port),
            stop: AtomicBool::new(false),
            grants: AtomicU64::new(0),
        });
        let handles = (0..named + anonymous)
            .map(|i| {
                let shared = shared.clone();
                let name = (i < named).then(|| format!("holder-{i}"));
                let seed = seed.wrapping_add(i as u64 * 0x9e37_79b9);
                thread::spawn(move || holder(&shared, name, seed))
            })
            .collect();
        PoolLoad { shared, handles }
    }

    pub fn set_target(&self, port: u16) {
        *self.shared.target.lock().unwrap() = port;
    }

    pub fn grants(&self) -> u64 {
        self.shared.grants.load(Ordering::Relaxed)
    }

    /// Waits (bounded) until `n` more grants happened: the holders are served again.
    pub fn wait_grants(&self, n: u64, timeout: Duration, what: &str) {
        let start = self.grants();
        idgen_testkit::wait_until(timeout, what, || self.grants() >= start + n);
    }

    pub fn stop(mut self) -> (Vec<Tenure>, Counts) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let mut tenures = Vec::new();
        let mut counts = Counts::default();
        for h in std::mem::take(&mut self.handles) {
            let (t, c) = h.join().expect("holder thread panicked");
            tenures.extend(t);
            counts.add(&c);
        }
        (tenures, counts)
    }
}

impl Drop for PoolLoad {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// The lease a holder believes it has.
struct Held {
    id: i64,
    token: i64,
    ttl: i64,
    start: i64,
    not_before: i64,
    /// Send time of the last successful ACQUIRE or RENEW.
    last_ok: i64,
    /// When the holder means to release it.
    release_at: i64,
}

impl Held {
    fn deadline(&self) -> i64 {
        self.last_ok + self.ttl
    }
    fn tenure(&self, holder: &Option<String>, end: i64) -> Tenure {
        Tenure {
            id: self.id,
            token: self.token,
            holder: holder.clone(),
            start: self.start,
            end: end.min(self.deadline()),
            not_before: self.not_before,
        }
    }
}

enum Reply {
    Ok(Value),
    Err(String),
    Io,
}

fn call(conn: &mut Option<Conn>, args: &[String], counts: &mut Counts) -> Reply {
    let Some(c) = conn.as_mut() else {
        return Reply::Io;
    };
    match c.try_cmd(args) {
        Ok(Value::Error(e)) => Reply::Err(e),
        Ok(v) => Reply::Ok(v),
        Err(_) => {
            counts.io_errors += 1;
            *conn = None;
            Reply::Io
        }
    }
}

fn ints(v: &Value, n: usize) -> Option<Vec<i64>> {
    match v {
        Value::Array(items) if items.len() == n => items
            .iter()
            .map(|i| match i {
                Value::Int(x) => Some(*x),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn other_error(counts: &mut Counts, e: &str) {
    let kind = e.split_whitespace().next().unwrap_or("").to_string();
    *counts.other_errors.entry(kind).or_default() += 1;
}

/// How long a holder keeps a lease before it releases it: mostly briefly (IDs change hands
/// often), sometimes over several renewals.
fn hold_for(rng: &mut Rng) -> i64 {
    if rng.chance(1, 6) {
        rng.range(300, 1_500)
    } else {
        rng.range(5, 150)
    }
}

fn holder(shared: &Shared, name: Option<String>, seed: u64) -> (Vec<Tenure>, Counts) {
    let mut rng = Rng::new(seed);
    let mut counts = Counts::default();
    let mut tenures = Vec::new();
    let mut conn: Option<Conn> = None;
    let mut held: Option<Held> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            let target = shared.target.lock().unwrap();
            match Conn::try_connect_with_timeout(*target, CLIENT_TIMEOUT) {
                Ok(c) => conn = Some(c),
                Err(_) => {
                    drop(target);
                    counts.io_errors += 1;
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
        let now = now_ms();
        let Some(h) = held.as_mut() else {
            // No lease: ask for one.
            let ttl = rng.range(TTL_MS.0, TTL_MS.1);
            let mut args = vec![
                "WORKER.ACQUIRE".to_string(),
                POOL_KEY.into(),
                ttl.to_string(),
                "SIZE".into(),
                POOL_SIZE.to_string(),
                "GRACE".into(),
                POOL_GRACE_MS.to_string(),
            ];
            if let Some(n) = &name {
                args.extend(["HOLDER".to_string(), n.clone()]);
            }
            let sent = now_ms();
            match call(&mut conn, &args, &mut counts) {
                Reply::Ok(v) => match ints(&v, 4) {
                    Some(g) => {
                        counts.grants += 1;
                        shared.grants.fetch_add(1, Ordering::Relaxed);
                        held = Some(Held {
                            id: g[0],
                            token: g[1],
                            ttl,
                            start: g[2] - ttl,
                            not_before: g[3],
                            last_ok: sent,
                            release_at: now_ms() + hold_for(&mut rng),
                        });
                    }
                    None => counts.malformed.push(format!("{args:?} -> {v:?}")),
                },
                Reply::Err(e) => {
                    if e.starts_with("POOLFULL") {
                        counts.pool_full += 1;
                    } else if e.starts_with("POOLRESUMING") {
                        counts.resuming += 1;
                    } else {
                        other_error(&mut counts, &e);
                    }
                    thread::sleep(Duration::from_millis(rng.range(1, 10) as u64));
                }
                Reply::Io => thread::sleep(Duration::from_millis(10)),
            }
            continue;
        };
        if now >= h.deadline() - MARGIN_MS {
            // The lease can no longer be proven live: stop issuing with it.
            counts.abandoned += 1;
            tenures.push(h.tenure(&name, now));
            held = None;
            continue;
        }
        if now >= h.release_at {
            if rng.chance(1, 12) {
                // The holder stops (a long GC pause, SIGSTOP): nothing past its deadline, then
                // it wakes up and renews.
                counts.stops += 1;
                let wake = h.deadline() + POOL_GRACE_MS + rng.range(0, 300);
                while now_ms() < wake && !shared.stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(20));
                }
                let args = args!["WORKER.RENEW", POOL_KEY, h.id, h.token, h.ttl].to_vec();
                let sent = now_ms();
                match call(&mut conn, &args, &mut counts) {
                    Reply::Err(e) if e.starts_with("LEASELOST") => {
                        counts.stops_fenced += 1;
                        counts.fenced += 1;
                        tenures.push(h.tenure(&name, sent));
                        held = None;
                    }
                    Reply::Ok(v) if ints(&v, 2).is_some() => {
                        // Still live by the server's clock (it was slow): the lease goes on.
                        counts.renewals += 1;
                        h.last_ok = sent;
                        h.release_at = now_ms() + rng.range(20, 300);
                    }
                    Reply::Ok(v) => counts.malformed.push(format!("{args:?} -> {v:?}")),
                    Reply::Err(e) => other_error(&mut counts, &e),
                    Reply::Io => {}
                }
                continue;
            }
            // Release: the holder stops issuing before it sends.
            let sent = now_ms();
            let args = args!["WORKER.RELEASE", POOL_KEY, h.id, h.token, "LAST-TS", sent].to_vec();
            tenures.push(h.tenure(&name, sent));
            match call(&mut conn, &args, &mut counts) {
                Reply::Ok(_) => counts.releases += 1,
                Reply::Err(e) if e.starts_with("LEASELOST") => counts.fenced += 1,
                Reply::Err(e) => other_error(&mut counts, &e),
                Reply::Io => {}
            }
            held = None;
            continue;
        }
        if now >= h.last_ok + h.ttl / 3 {
            let sent = now_ms();
            let args = args![
                "WORKER.RENEW",
                POOL_KEY,
                h.id,
                h.token,
                h.ttl,
                "LAST-TS",
                sent
            ]
            .to_vec();
            match call(&mut conn, &args, &mut counts) {
                Reply::Ok(v) => match ints(&v, 2) {
                    Some(_) => {
                        counts.renewals += 1;
                        h.last_ok = sent;
                    }
                    None => counts.malformed.push(format!("{args:?} -> {v:?}")),
                },
                Reply::Err(e) if e.starts_with("LEASELOST") => {
                    counts.fenced += 1;
                    tenures.push(h.tenure(&name, now_ms()));
                    held = None;
                }
                // LOADING, READONLY, ... : retried until the deadline.
                Reply::Err(e) => {
                    other_error(&mut counts, &e);
                    thread::sleep(Duration::from_millis(10));
                }
                Reply::Io => thread::sleep(Duration::from_millis(10)),
            }
            continue;
        }
        // Issuing IDs in-process meanwhile.
        thread::sleep(Duration::from_millis(5));
    }
    if let Some(h) = held {
        tenures.push(h.tenure(&name, now_ms()));
    }
    (tenures, counts)
}

/// What the checker found.
#[derive(Default, Debug)]
pub struct Verdict {
    /// Distinct tokens (leases) checked.
    pub leases: u64,
    /// IDs that went to more than one lease.
    pub ids_reused: u64,
    /// A lease granted while an earlier lease on its ID could still be in use.
    pub overlaps: u64,
    /// A token seen with two IDs, two holders, or twice for anonymous holders.
    pub tokens_reused: u64,
    /// A grant whose not-before is below an earlier lease's use of the ID.
    pub not_before_low: u64,
    pub examples: Vec<String>,
}

impl Verdict {
    fn bad(&mut self, what: String) {
        if self.examples.len() < 10 {
            self.examples.push(what);
        }
    }
}

/// Checks every tenure of every holder (see the module docs).
pub fn check(tenures: &[Tenure]) -> Verdict {
    let mut v = Verdict::default();
    // token -> (id, holder, start, end, not_before), tenures of one token merged.
    let mut by_token: BTreeMap<i64, Tenure> = BTreeMap::new();
    let mut anonymous_seen: BTreeMap<i64, u32> = BTreeMap::new();
    for t in tenures {
        if t.holder.is_none() {
            *anonymous_seen.entry(t.token).or_default() += 1;
        }
        match by_token.get_mut(&t.token) {
            None => {
                by_token.insert(t.token, t.clone());
            }
            Some(m) if m.id != t.id || m.holder != t.holder => {
                v.tokens_reused += 1;
                v.bad(format!("token {} granted as {m:?} and as {t:?}", t.token));
            }
            Some(m) => {
                m.start = m.start.min(t.start);
                m.end = m.end.max(t.end);
                m.not_before = m.not_before.min(t.not_before);
            }
        }
    }
    for (token, n) in anonymous_seen {
        if n > 1 {
            v.tokens_reused += 1;
            v.bad(format!(
                "token {token} granted {n} times to anonymous holders"
            ));
        }
    }
    v.leases = by_token.len() as u64;
    // Per ID, in token order (the grant order): each lease starts after, and is given a
    // not-before above, the end of every earlier lease on the ID.
    let mut last: BTreeMap<i64, (i64, i64)> = BTreeMap::new(); // id -> (max end, its token)
    for (token, t) in &by_token {
        if let Some(&(end, prev)) = last.get(&t.id) {
            if t.start < end {
                v.overlaps += 1;
                v.bad(format!(
                    "id {}: token {token} granted at {} while token {prev} was in use until {end}",
                    t.id, t.start
                ));
            }
            if t.not_before < end {
                v.not_before_low += 1;
                v.bad(format!(
                    "id {}: token {token} got not-before {} below token {prev}'s use until {end}",
                    t.id, t.not_before
                ));
            }
        }
        let e = last.entry(t.id).or_insert((t.end, *token));
        if t.end >= e.0 {
            *e = (t.end, *token);
        }
    }
    v.ids_reused = by_token
        .values()
        .fold(BTreeMap::<i64, u32>::new(), |mut m, t| {
            *m.entry(t.id).or_default() += 1;
            m
        })
        .values()
        .filter(|&&n| n > 1)
        .count() as u64;
    v
}
