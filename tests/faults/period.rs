//! Scenario 7's load and checker: a per-period sequence with a FORMAT template crossing period
//! boundaries (the test clock shifted to just before local midnight) under kill -9 and a power
//! cut, every formatted value recorded; and its control, the everyday `INCR order:<date>` with the
//! date taken from the client's clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::util::Rng;
use idgen_testkit::{now_ms, Conn, Value};

/// The periodic key and its options (UTC-OFFSET +02:00: boundaries at 22:00 UTC).
pub const KEY: &str = "per:day";
pub const OFFSET_MIN: i64 = 120;
pub const CREATE: &str =
    "SEQ.CREATE per:day PERIOD DAY UTC-OFFSET +02:00 FORMAT D{YYYY}{MM}{DD}-{seq:9} MAXVALUE 999999999";
const DAY: i64 = 86_400_000;

/// The first unix ms of the local day (at `OFFSET_MIN`) after the one holding `t`.
pub fn next_midnight(t: i64) -> i64 {
    let off = OFFSET_MIN * 60_000;
    ((t + off).div_euclid(DAY) + 1) * DAY - off
}

/// `YYYYMMDD` of the local day holding `t`.
fn ymd(t: i64) -> String {
    let days = (t + OFFSET_MIN * 60_000).div_euclid(DAY);
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

/// What the driver shares with the clients.
pub struct Shared {
    pub port: u16,
    stop: AtomicBool,
    /// While set the clients send nothing (a restart, until the driver has set the clock).
    paused: AtomicBool,
    /// The module clock's offset (ms): the control clients date their INCR keys with it.
    pub offset: AtomicI64,
    ok: AtomicU64,
    /// Clients that saw `paused` and wait: `pause(true)` returns once all of them do, so that no
    /// client still on its way (descheduled between its check and its send) reaches the
    /// restarted server before the driver has set its clock.
    parked: AtomicUsize,
    clients: usize,
}

/// Per client: every received range `(period text, first, last)`, and counters.
#[derive(Default)]
pub struct Log {
    ranges: Vec<(String, i64, i64)>,
    errors: BTreeMap<String, u64>,
    io_errors: u64,
    malformed: Vec<String>,
}

pub struct PeriodLoad {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<Log>>,
}

impl PeriodLoad {
    pub fn start(port: u16, clients: usize, seed: u64, control: bool) -> PeriodLoad {
        let shared = Arc::new(Shared {
            port,
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            offset: AtomicI64::new(0),
            ok: AtomicU64::new(0),
            parked: AtomicUsize::new(0),
            clients,
        });
        let handles = (0..clients)
            .map(|i| {
                let shared = shared.clone();
                let seed = seed.wrapping_add(0x7e57 + i as u64 * 0x1000_0000_0001);
                thread::spawn(move || client(&shared, seed, control))
            })
            .collect();
        PeriodLoad { shared, handles }
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Pauses the clients and waits (bounded) until every one of them is parked; or lets them go.
    pub fn pause(&self, on: bool) {
        self.shared.paused.store(on, Ordering::SeqCst);
        if on {
            let s = &self.shared;
            idgen_testkit::wait_until(Duration::from_secs(30), "clients to park", || {
                s.parked.load(Ordering::SeqCst) == s.clients
            });
        }
    }

    /// Waits (bounded) for `n` more good replies.
    pub fn wait_progress(&self, n: u64, timeout: Duration, what: &str) {
        let start = self.shared.ok.load(Ordering::Relaxed);
        idgen_testkit::wait_until(timeout, what, || {
            self.shared.ok.load(Ordering::Relaxed) >= start + n
        });
    }

    pub fn stop(self) -> Vec<Log> {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.handles
            .into_iter()
            .map(|h| h.join().expect("period client panicked"))
            .collect()
    }
}

/// Splits `D20261202-000000123` into the period text and the value.
fn split(text: &str) -> Option<(String, i64)> {
    let (d, v) = text.split_once('-')?;
    Some((d.to_string(), v.parse().ok()?))
}

fn client(shared: &Shared, seed: u64, control: bool) -> Log {
    let mut rng = Rng::new(seed);
    let mut log = Log::default();
    let mut conn: Option<Conn> = None;
    let mut parked = false;
    while !shared.stop.load(Ordering::Relaxed) {
        if shared.paused.load(Ordering::SeqCst) {
            conn = None;
            if !parked {
                parked = true;
                shared.parked.fetch_add(1, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(5));
            continue;
        }
        if parked {
            parked = false;
            shared.parked.fetch_sub(1, Ordering::SeqCst);
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::try_connect_with_timeout(shared.port, Duration::from_secs(3)) {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    log.io_errors += 1;
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        // (command, batch size, the control's date)
        let reqs: Vec<(Vec<String>, i64, String)> = (0..rng.range(1, 4))
            .map(|_| {
                if control {
                    let date = ymd(now_ms() + shared.offset.load(Ordering::Relaxed));
                    (vec!["INCR".into(), format!("ctl:{date}")], 1, date)
                } else if rng.chance(7, 10) {
                    (vec!["SEQ.NEXT".into(), KEY.into()], 1, String::new())
                } else {
                    let n = rng.range(1, 50);
                    let cmd = vec!["SEQ.NEXTBATCH".into(), KEY.into(), n.to_string()];
                    (cmd, n, String::new())
                }
            })
            .collect();
        let cmds: Vec<&Vec<String>> = reqs.iter().map(|r| &r.0).collect();
        if c.send(&cmds).is_err() {
            log.io_errors += 1;
            conn = None;
            continue;
        }
        for (cmd, n, date) in &reqs {
            let v = match c.read_value() {
                Ok(v) => v,
                Err(_) => {
                    log.io_errors += 1;
                    conn = None;
                    break;
                }
            };
            let got = match (&v, *n) {
                (Value::Int(x), 1) if control => Some((date.clone(), *x, *x)),
                (Value::Bulk(_), 1) => split(v.as_str()).map(|(d, x)| (d, x, x)),
                (Value::Array(a), n) if a.len() == 2 => {
                    match (
                        split(a[0].as_str()),
                        matches!(a[1], Value::Bulk(_)).then(|| split(a[1].as_str())),
                    ) {
                        (Some((d0, x)), Some(Some((d1, y)))) if d0 == d1 && y - x == n - 1 => {
                            Some((d0, x, y))
                        }
                        _ => None,
                    }
                }
                (Value::Error(e), _) => {
                    let kind = e.split_whitespace().next().unwrap_or("").to_string();
                    *log.errors.entry(kind).or_default() += 1;
                    continue;
                }
                _ => None,
            };
            match got {
                Some(r) => {
                    log.ranges.push(r);
                    shared.ok.fetch_add(1, Ordering::Relaxed);
                }
                None if log.malformed.len() < 10 => log.malformed.push(format!("{cmd:?} -> {v:?}")),
                None => {}
            }
        }
    }
    log
}

/// The verdict over all clients.
#[derive(Default, Debug)]
pub struct PeriodReport {
    pub values_checked: u64,
    pub repeats: u64,
    pub periods: usize,
    pub examples: Vec<String>,
    pub errors: BTreeMap<String, u64>,
    pub io_errors: u64,
    pub malformed: Vec<String>,
}

/// Merges the clients' ranges per period text and counts values received twice.
pub fn check(logs: Vec<Log>) -> PeriodReport {
    let mut r = PeriodReport::default();
    let mut by_period: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for l in logs {
        for (k, n) in l.errors {
            *r.errors.entry(k).or_default() += n;
        }
        r.io_errors += l.io_errors;
        r.malformed.extend(l.malformed);
        for (d, a, b) in l.ranges {
            by_period.entry(d).or_default().push((a, b));
        }
    }
    r.periods = by_period.len();
    for (d, mut ranges) in by_period {
        ranges.sort_unstable();
        let mut covered: Option<i64> = None;
        for (a, b) in ranges {
            r.values_checked += (b - a + 1) as u64;
            if let Some(m) = covered {
                if a <= m {
                    let dup = (b.min(m) - a + 1) as u64;
                    r.repeats += dup;
                    if r.examples.len() < 10 {
                        r.examples
                            .push(format!("{d}: [{a}, {b}] repeats values received up to {m}"));
                    }
                }
            }
            covered = Some(covered.map_or(b, |m| m.max(b)));
        }
    }
    r
}
