//! Redis Cluster: the `make cluster` topology (3 primaries, 3 replicas, each node its own
//! `idgen.worker-id`), started by each test on free ports. Generators on every primary through a
//! cluster client, hash tags, `CLUSTER FAILOVER` and `kill -9` of a primary under load,
//! resharding a slot that holds generators under load (`MIGRATE`, and `CLUSTER MIGRATESLOTS`
//! where the server has it), worker-ID clash detection. Runs on whatever `$IDGEN_SERVER` names.
//!
//! The load records every value every client received; the checker counts values received
//! twice per key (a plain `INCR` key under the same load is the control) and values a client
//! received out of order for a key (a node that did not resume above what the key issued
//! before). Each scenario prints a `cluster: ...` line with its numbers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use idgen_testkit::cluster::{Cluster, RANGES};
use idgen_testkit::{info_field, wait_until, Server, Value};

/// The scenarios run one at a time: each starts six servers, and the machine may have 2 cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Snowflake,
    Seq,
    /// The control: a plain counter.
    Incr,
}

type Keys = Arc<Vec<(String, Kind)>>;

/// The keys of hash tag `tag`: a snowflake key, a sequence and the INCR control.
fn tag_keys(tag: &str) -> Vec<(String, Kind)> {
    vec![
        (format!("{{{tag}}}:sf"), Kind::Snowflake),
        (format!("{{{tag}}}:seq"), Kind::Seq),
        (format!("{{{tag}}}:incr"), Kind::Incr),
    ]
}

/// `n` hash tags whose slots belong to slot range `range` (0..3), found by name.
fn tags_in_range(range: usize, n: usize) -> Vec<String> {
    let (lo, hi) = RANGES[range];
    (0..)
        .map(|i| format!("t{i}"))
        .filter(|t| (lo..=hi).contains(&redis::cluster_routing::get_slot(t.as_bytes())))
        .take(n)
        .collect()
}

// ---- the load --------------------------------------------------------------------------------

/// What one client received: (key index, value), in the order the replies arrived.
type ClientLog = Vec<(usize, i64)>;

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    /// A few error texts, for the report.
    samples: Arc<Mutex<Vec<String>>>,
    threads: Vec<JoinHandle<ClientLog>>,
}

impl Load {
    fn start(cluster: &Cluster, keys: &Keys, clients: usize) -> Load {
        let load = Load {
            stop: Arc::new(AtomicBool::new(false)),
            ok: Arc::new(AtomicU64::new(0)),
            errors: Arc::new(AtomicU64::new(0)),
            samples: Arc::new(Mutex::new(Vec::new())),
            threads: Vec::new(),
        };
        let threads = (0..clients)
            .map(|t| {
                let conn = cluster.client();
                let (keys, stop, ok, errors, samples) = (
                    keys.clone(),
                    load.stop.clone(),
                    load.ok.clone(),
                    load.errors.clone(),
                    load.samples.clone(),
                );
                thread::spawn(move || client(t, conn, keys, stop, ok, errors, samples))
            })
            .collect();
        Load { threads, ..load }
    }

    fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Waits until `n` more values arrived. (Timeouts here are generous: the machine may be
    /// shared; only the clash detection bound of 5 s is a requirement.)
    fn progress(&self, n: u64, what: &str) {
        let target = self.ok() + n;
        wait_until(Duration::from_secs(60), what, || self.ok() >= target);
    }

    fn stop(self) -> (Vec<ClientLog>, u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let logs = self
            .threads
            .into_iter()
            .map(|t| t.join().expect("load client panicked"))
            .collect();
        let samples = self.samples.lock().unwrap().clone();
        (logs, self.errors.load(Ordering::Relaxed), samples)
    }
}

fn client(
    t: usize,
    mut conn: redis::cluster::ClusterConnection,
    keys: Keys,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    samples: Arc<Mutex<Vec<String>>>,
) -> ClientLog {
    let mut log = ClientLog::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    while !stop.load(Ordering::Relaxed) {
        let r = next();
        let k = (r % keys.len() as u64) as usize;
        let (key, kind) = &keys[k];
        let batch = (r >> 32) % 8 == 0;
        let mut cmd = match (kind, batch) {
            (Kind::Snowflake, false) => redis::cmd("SNOWFLAKE.NEXT"),
            (Kind::Snowflake, true) => {
                let mut c = redis::cmd("SNOWFLAKE.NEXT");
                c.arg(key).arg("COUNT").arg(5);
                c
            }
            (Kind::Seq, false) => redis::cmd("SEQ.NEXT"),
            (Kind::Seq, true) => {
                let mut c = redis::cmd("SEQ.NEXTBATCH");
                c.arg(key).arg(5);
                c
            }
            (Kind::Incr, _) => redis::cmd("INCR"),
        };
        if !(batch && *kind != Kind::Incr) {
            cmd.arg(key);
        }
        match cmd.query::<redis::Value>(&mut conn) {
            Ok(redis::Value::Int(v)) => {
                log.push((k, v));
                ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(redis::Value::Array(vs)) => {
                for v in vs {
                    match v {
                        redis::Value::Int(v) => log.push((k, v)),
                        other => panic!("{key}: a batch element is not an integer: {other:?}"),
                    }
                }
                ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => panic!("{key}: unexpected reply {other:?}"),
            Err(e) => {
                errors.fetch_add(1, Ordering::Relaxed);
                let mut s = samples.lock().unwrap();
                if s.len() < 8 {
                    s.push(format!("{key}: {e}"));
                }
                drop(s);
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    log
}

// ---- the checker -----------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Report {
    /// Values received, by kind.
    values: BTreeMap<Kind, u64>,
    /// Values received more than once (each extra receipt counts), by kind.
    repeats: BTreeMap<Kind, u64>,
    /// Values a client received that were not above the previous value it received for the same
    /// key, by kind.
    out_of_order: BTreeMap<Kind, u64>,
    /// Some repeated values, for the message.
    examples: Vec<String>,
}

impl Report {
    fn of(&self, map: &BTreeMap<Kind, u64>, k: Kind) -> u64 {
        map.get(&k).copied().unwrap_or(0)
    }
    fn idgen_repeats(&self) -> u64 {
        self.of(&self.repeats, Kind::Snowflake) + self.of(&self.repeats, Kind::Seq)
    }
    fn idgen_out_of_order(&self) -> u64 {
        self.of(&self.out_of_order, Kind::Snowflake) + self.of(&self.out_of_order, Kind::Seq)
    }
    fn line(&self) -> String {
        format!(
            "snowflake_ids={} seq_values={} incr_values={} idgen_repeats={} idgen_out_of_order={} \
             incr_repeats={}",
            self.of(&self.values, Kind::Snowflake),
            self.of(&self.values, Kind::Seq),
            self.of(&self.values, Kind::Incr),
            self.idgen_repeats(),
            self.idgen_out_of_order(),
            self.of(&self.repeats, Kind::Incr),
        )
    }
    /// `Err` with the numbers when a generator value was received twice or out of order, or
    /// when the load received no generator values at all.
    fn verdict(&self) -> Result<(), String> {
        if self.idgen_repeats() != 0 || self.idgen_out_of_order() != 0 {
            return Err(format!("{}; repeated: {:?}", self.line(), self.examples));
        }
        if self.of(&self.values, Kind::Snowflake) == 0 || self.of(&self.values, Kind::Seq) == 0 {
            return Err(format!("the load received nothing: {}", self.line()));
        }
        Ok(())
    }

    fn assert_clean(&self, scenario: &str) {
        if let Err(e) = self.verdict() {
            panic!("{scenario}: {e}");
        }
    }
}

/// Merges the clients' logs: per key, every value received twice (by any clients) is a repeat;
/// per client and key, every value not above the one received before it is out of order.
fn check(keys: &[(String, Kind)], logs: &[ClientLog]) -> Report {
    let mut r = Report::default();
    let mut per_key: Vec<Vec<i64>> = vec![Vec::new(); keys.len()];
    for log in logs {
        let mut last: Vec<Option<i64>> = vec![None; keys.len()];
        for &(k, v) in log {
            let kind = keys[k].1;
            *r.values.entry(kind).or_default() += 1;
            if last[k].is_some_and(|prev| v <= prev) {
                *r.out_of_order.entry(kind).or_default() += 1;
            }
            last[k] = Some(v);
            per_key[k].push(v);
        }
    }
    for (k, mut vs) in per_key.into_iter().enumerate() {
        vs.sort_unstable();
        for w in vs.windows(2) {
            if w[0] == w[1] {
                let kind = keys[k].1;
                *r.repeats.entry(kind).or_default() += 1;
                if r.examples.len() < 10 && kind != Kind::Incr {
                    r.examples.push(format!("{} {}", keys[k].0, w[0]));
                }
            }
        }
    }
    r
}

#[test]
fn the_checker_finds_repeats_and_disorder() {
    let keys = vec![
        ("a".to_string(), Kind::Snowflake),
        ("b".to_string(), Kind::Seq),
        ("c".to_string(), Kind::Incr),
    ];
    let clean = vec![
        vec![(0, 10), (1, 1), (0, 11), (2, 1)],
        vec![(0, 12), (1, 2), (2, 2)],
    ];
    let r = check(&keys, &clean);
    assert_eq!((r.idgen_repeats(), r.idgen_out_of_order()), (0, 0));
    assert_eq!(r.of(&r.values, Kind::Snowflake), 3);
    r.assert_clean("clean");
    // The same ID received by two clients; a sequence value twice by one client (also out of
    // order); an INCR value twice (the control's count, not a generator failure).
    let dirty = vec![
        vec![(0, 10), (1, 5), (1, 5), (2, 7)],
        vec![(0, 10), (2, 7), (1, 6), (1, 4)],
    ];
    let r = check(&keys, &dirty);
    assert_eq!(r.of(&r.repeats, Kind::Snowflake), 1);
    assert_eq!(r.of(&r.repeats, Kind::Seq), 1);
    assert_eq!(r.of(&r.repeats, Kind::Incr), 1);
    assert_eq!(r.of(&r.out_of_order, Kind::Seq), 2);
    let verdict = r.verdict();
    assert!(
        verdict
            .as_ref()
            .is_err_and(|e| e.contains("idgen_repeats=2")),
        "the checker passed a load with repeats: {verdict:?}"
    );
    // Out of order alone (a node that resumed below what a client saw) fails too.
    let behind = vec![vec![(0, 10), (0, 9)]];
    assert!(check(&keys, &behind).verdict().is_err());
}

// ---- helpers ---------------------------------------------------------------------------------

fn idgen_info(c: &Cluster, i: usize, field: &str) -> String {
    info_field(&mut c.conn(i), "idgen", &format!("idgen_{field}"))
        .unwrap_or_else(|| panic!("INFO idgen of node {i} lacks {field}"))
}

fn idgen_int(c: &Cluster, i: usize, field: &str) -> i64 {
    idgen_info(c, i, field).parse().unwrap()
}

fn config_worker(c: &Cluster, i: usize) -> i64 {
    let r = c.cmd(i, &["CONFIG", "GET", "idgen.worker-id"]);
    r.pairs()[0].1.as_str().parse().unwrap()
}

/// IDGEN.WORKERS of node `i`, each entry as field -> value.
fn workers(c: &Cluster, i: usize) -> Vec<Value> {
    c.cmd(i, &["IDGEN.WORKERS"]).array().to_vec()
}

/// How many times node `n` logged a clash warning naming node `other`.
fn clash_line(c: &Cluster, n: usize, other: usize) -> usize {
    let needle = format!("worker-id clash: node {}", c.ids[other]);
    c.nodes[n].log().matches(&needle).count()
}

/// The worker field of a snowflake ID of the default layout (10 worker bits, 12 sequence bits).
fn worker_of(id: i64) -> i64 {
    (id >> 12) & 1023
}

// ---- scenarios -------------------------------------------------------------------------------

#[test]
fn outside_cluster_mode_nothing_is_announced() {
    let s = Server::builder("cl-standalone")
        .module_arg("idgen.worker-id", "9")
        .start();
    let mut c = s.conn();
    let w = c.cmd(&["IDGEN.WORKERS"]);
    let entries = w.array();
    assert_eq!(entries.len(), 1, "{w:?}");
    assert!(entries[0].field("node").is_null());
    assert_eq!(entries[0].field_int("worker-id"), 9);
    assert_eq!(entries[0].field_int("myself"), 1);
    assert_eq!(entries[0].field_int("clash"), 0);
    assert_eq!(
        info_field(&mut c, "idgen", "idgen_worker_peers").unwrap(),
        "0"
    );
    assert_eq!(
        info_field(&mut c, "idgen", "idgen_worker_clashes").unwrap(),
        "0"
    );
    c.cmd(&["CONFIG", "SET", "idgen.worker-id", "10"]).ok();
    assert_eq!(
        c.cmd(&["IDGEN.WORKERS"]).array()[0].field_int("worker-id"),
        10
    );
    assert!(!s.log().contains("cluster mode"), "{}", s.log_tail());
}

#[test]
fn generators_on_every_primary_through_a_cluster_client() {
    let _g = serial();
    let t0 = Instant::now();
    let c = Cluster::start("cl-primaries");
    let startup = t0.elapsed();
    let mut client = c.client();
    let primaries = c.primaries(0);
    for (range, &p) in primaries.iter().enumerate() {
        let worker = config_worker(&c, p);
        for tag in tags_in_range(range, 2) {
            let sf = format!("{{{tag}}}:sf");
            let id: i64 = redis::cmd("SNOWFLAKE.NEXT")
                .arg(&sf)
                .query(&mut client)
                .unwrap();
            assert_eq!(
                worker_of(id),
                worker,
                "{sf} is served by node {p}, whose idgen.worker-id is {worker}"
            );
            let ids: Vec<i64> = redis::cmd("SNOWFLAKE.NEXT")
                .arg(&sf)
                .arg("COUNT")
                .arg(3)
                .query(&mut client)
                .unwrap();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > id,
                "{ids:?}"
            );
            let seq = format!("{{{tag}}}:seq");
            let v: Vec<i64> = (0..3)
                .map(|_| redis::cmd("SEQ.NEXT").arg(&seq).query(&mut client).unwrap())
                .collect();
            assert_eq!(v, vec![1, 2, 3]);
            // The key lives on the primary that owns its slot (and its replica), nowhere else.
            let slot = c.slot(&sf).to_string();
            for &q in &primaries {
                let n = c.cmd(q, &["CLUSTER", "COUNTKEYSINSLOT", &slot]).int();
                assert_eq!(n > 0, q == p, "{sf} on node {q}");
            }
        }
    }
    // Hash tags: keys with one tag share a slot, so MULTI/EXEC and scripts can use them together.
    let (user_ids, user_seq) = ("{user:1}:ids", "{user:1}:seq");
    assert_eq!(c.slot(user_ids), c.slot(user_seq));
    let owner = c.owner(0, c.slot(user_ids));
    let mut conn = c.conn(owner);
    let r = conn.pipeline(&[
        vec!["MULTI"],
        vec!["SNOWFLAKE.NEXT", user_ids],
        vec!["SEQ.NEXT", user_seq],
        vec!["EXEC"],
    ]);
    let exec = r[3].array();
    assert!(exec[0].int() > 0 && exec[1].int() == 1, "{r:?}");
    let v: i64 = redis::cmd("SEQ.NEXT")
        .arg(user_seq)
        .query(&mut client)
        .unwrap();
    assert_eq!(v, 2, "the cluster client reaches the same key");
    // Keys of different slots cannot be used together.
    let other = c.cmd(
        owner,
        &[
            "EVAL",
            "return redis.call('SEQ.NEXT', KEYS[1]) + redis.call('SEQ.NEXT', KEYS[2])",
            "2",
            user_seq,
            "{user:2}:seq",
        ],
    );
    assert!(other.err().starts_with("CROSSSLOT"), "{other:?}");
    // Every node knows every other node's worker id; no clash.
    wait_until(
        Duration::from_secs(5),
        "announcements from all nodes",
        || c.live().all(|i| idgen_int(&c, i, "worker_peers") == 5),
    );
    for i in c.live() {
        let w = workers(&c, i);
        assert_eq!(w.len(), 6, "{w:?}");
        let mut ids: Vec<i64> = w.iter().map(|e| e.field_int("worker-id")).collect();
        ids.sort();
        assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
        assert!(w.iter().all(|e| e.field_int("clash") == 0), "{w:?}");
        assert_eq!(w[0].field("node").as_str(), c.ids[i]);
        assert_eq!(w[0].field_int("myself"), 1);
        assert!(
            w[1..].iter().all(|e| e.field_int("age-ms") <= 3000),
            "{w:?}"
        );
        assert_eq!(idgen_int(&c, i, "worker_clashes"), 0);
    }
    // The cluster client routes the keyless command to some node.
    let any: redis::Value = redis::cmd("IDGEN.WORKERS").query(&mut client).unwrap();
    assert!(
        matches!(any, redis::Value::Array(ref a) if a.len() == 6),
        "{any:?}"
    );
    println!(
        "cluster: scenario=primaries startup_ms={} server={:?}",
        startup.as_millis(),
        idgen_testkit::server_binary()
    );
}

/// The keys of the failover load: two tags on each shard.
fn spread_keys() -> Keys {
    Arc::new(
        (0..3)
            .flat_map(|r| tags_in_range(r, 2))
            .flat_map(|t| tag_keys(&t))
            .collect(),
    )
}

#[test]
fn failover_and_kill9_of_a_primary_under_load() {
    let _g = serial();
    let t0 = Instant::now();
    let mut c = Cluster::start("cl-failover");
    let keys = spread_keys();
    let load = Load::start(&c, &keys, 4);
    load.progress(1500, "load before the failover");
    let [p0, p1, _] = c.primaries(0);

    // A manual failover: the replica catches up, then takes over.
    let r0 = c.replica_of(p0);
    c.cmd(r0, &["CLUSTER", "FAILOVER"]).ok();
    let failover = c.wait_promoted(r0, Duration::from_secs(60));
    load.progress(1500, "load after the manual failover");

    // kill -9 of another shard's primary: its replica is promoted after the node timeout.
    let r1 = c.replica_of(p1);
    c.nodes[p1].kill9();
    let promotion = c.wait_promoted(r1, Duration::from_secs(60));
    load.progress(1500, "load after the kill -9 promotion");
    let (logs, errors, samples) = load.stop();
    let r = check(&keys, &logs);
    println!(
        "cluster: scenario=failover {} errors={errors} manual_failover_ms={} kill9_promotion_ms={} \
         wall_ms={}",
        r.line(),
        failover.as_millis(),
        promotion.as_millis(),
        t0.elapsed().as_millis()
    );
    if !samples.is_empty() {
        println!("cluster: scenario=failover error samples: {samples:?}");
    }
    r.assert_clean("failover");
    // The promoted nodes resumed the keys above their marks (a new serving generation each).
    for n in [r0, r1] {
        assert!(idgen_int(&c, n, "generation") >= 1, "node {n}");
    }
}

/// `CLUSTER MIGRATESLOTS` (Valkey 9 atomic slot migration) of `slot` from `from` to `to`, when
/// the server has it: `Ok(elapsed)` once the move is done, `Err(reply)` when the server does not
/// know the command.
fn migrate_atomic(c: &Cluster, slot: u16, from: usize, to: usize) -> Result<Duration, String> {
    let t0 = Instant::now();
    let s = slot.to_string();
    let r = c.cmd(
        from,
        &[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            &s,
            &s,
            "NODE",
            &c.ids[to],
        ],
    );
    match r {
        Value::Simple(ref ok) if ok == "OK" => {}
        Value::Error(e) if e.contains("unknown subcommand") || e.contains("Unknown subcommand") => {
            return Err(e)
        }
        other => panic!("CLUSTER MIGRATESLOTS refused: {other:?}"),
    }
    wait_until(Duration::from_secs(30), "the atomic slot migration", || {
        c.live().all(|v| c.owner(v, slot) == to)
    });
    Ok(t0.elapsed())
}

#[test]
fn resharding_a_slot_with_generators_under_load() {
    let _g = serial();
    let t0 = Instant::now();
    let c = Cluster::start("cl-reshard");
    let [a, b, _] = c.primaries(0);
    let tag = tags_in_range(0, 1).remove(0);
    let slot = redis::cluster_routing::get_slot(tag.as_bytes());
    let moved_keys: Vec<(String, Kind)> = {
        let mut v = tag_keys(&tag);
        v.push((format!("{{{tag}}}:sf:fixed"), Kind::Snowflake));
        v.push((format!("{{{tag}}}:seq:step"), Kind::Seq));
        v
    };
    c.cmd(a, &["SNOWFLAKE.CREATE", &moved_keys[3].0, "WORKER", "77"])
        .ok();
    c.cmd(
        a,
        &[
            "SEQ.CREATE",
            &moved_keys[4].0,
            "START",
            "1000",
            "INCREMENT",
            "3",
        ],
    )
    .ok();
    // The moved slot's keys, and keys of the other shards beside them.
    let keys: Keys = Arc::new(
        moved_keys
            .iter()
            .cloned()
            .chain(tags_in_range(1, 1).iter().flat_map(|t| tag_keys(t)))
            .chain(tags_in_range(2, 1).iter().flat_map(|t| tag_keys(t)))
            .collect(),
    );
    let idgen_moved = moved_keys.iter().filter(|(_, k)| *k != Kind::Incr).count() as i64;
    let load = Load::start(&c, &keys, 3);
    load.progress(1500, "load before the reshard");

    let resumes_before = idgen_int(&c, b, "resumes");
    let t_legacy = Instant::now();
    let moved = c.migrate_slot(slot, a, b);
    let legacy = t_legacy.elapsed();
    assert_eq!(moved, moved_keys.len(), "keys moved");
    load.progress(1500, "load after the MIGRATE reshard");
    // Each moved generator resumed once, at its first use on the new node (a RESTOREd value).
    let resumes_legacy = idgen_int(&c, b, "resumes") - resumes_before;

    // Before the atomic move back: the source (b) starts a new serving generation (a load), and
    // a key that stays on the target (a) issues a value in a's older generation.
    c.cmd(b, &["DEBUG", "RELOAD"]).ok();
    let gen_b = idgen_int(&c, b, "generation");
    let stay = format!("{{{}}}:seq", tags_in_range(0, 2)[1]);
    let stay_before = c.cmd(a, &["SEQ.NEXT", &stay]).int();
    let resumes_a = idgen_int(&c, a, "resumes");
    let atomic = migrate_atomic(&c, slot, b, a);
    let mut stay_jump = None;
    if atomic.is_ok() {
        load.progress(1500, "load after the atomic slot migration");
        // The moved reservations carried b's generation: a took it, so its own key resumed
        // once, with a gap (a jump, not a repeat).
        assert!(idgen_int(&c, a, "generation") >= gen_b);
        let after = c.cmd(a, &["SEQ.NEXT", &stay]).int();
        assert!(
            after > stay_before + 1,
            "{stay}: {stay_before} then {after}"
        );
        stay_jump = Some(after - stay_before);
    }
    // Keys moved atomically arrive as their reservations and continue from their marks: no
    // resume (reported, not required).
    let resumes_atomic = idgen_int(&c, a, "resumes") - resumes_a;
    let (logs, errors, samples) = load.stop();
    let owner = c.owner(0, slot);
    // After the load: each moved key's next value is above every value received for it.
    let r = check(&keys, &logs);
    for (k, (key, kind)) in moved_keys.iter().enumerate() {
        let cmd = if *kind == Kind::Snowflake {
            "SNOWFLAKE.NEXT"
        } else if *kind == Kind::Seq {
            "SEQ.NEXT"
        } else {
            "INCR"
        };
        let next = c.cmd(owner, &[cmd, key]).int();
        let max = logs
            .iter()
            .flatten()
            .filter(|(i, _)| *i == k)
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(i64::MIN);
        if *kind != Kind::Incr {
            assert!(next > max, "{key}: next {next} not above {max}");
        }
    }
    println!(
        "cluster: scenario=reshard {} errors={errors} moved_keys={moved} migrate_ms={} \
         resumes_on_target={resumes_legacy} atomic={} resumes_after_atomic={resumes_atomic} \
         target_key_jump={stay_jump:?} wall_ms={}",
        r.line(),
        legacy.as_millis(),
        match &atomic {
            Ok(d) => format!("{}ms", d.as_millis()),
            Err(_) => "skipped".into(),
        },
        t0.elapsed().as_millis()
    );
    if let Err(e) = &atomic {
        println!("cluster: note: CLUSTER MIGRATESLOTS skipped, the server does not have it ({e})");
    }
    if !samples.is_empty() {
        println!("cluster: scenario=reshard error samples: {samples:?}");
    }
    r.assert_clean("reshard");
    assert!(
        resumes_legacy >= idgen_moved,
        "{resumes_legacy} resumes on the target for {idgen_moved} moved generators"
    );
}

#[test]
fn a_worker_id_clash_is_found_and_cleared() {
    let _g = serial();
    let mut c = Cluster::start("cl-clash");
    let [p1, p2, _] = c.primaries(0);
    wait_until(
        Duration::from_secs(5),
        "announcements from all nodes",
        || c.live().all(|i| idgen_int(&c, i, "worker_peers") == 5),
    );
    let w1 = config_worker(&c, p1);
    // The fix: an id no node has (the nodes have 1..6).
    let w2 = 7;

    // Two primaries with one worker id: both find it.
    let t0 = Instant::now();
    c.cmd(p2, &["CONFIG", "SET", "idgen.worker-id", &w1.to_string()])
        .ok();
    wait_until(
        Duration::from_secs(5),
        "both primaries to report the clash",
        || {
            idgen_info(&c, p1, "worker_clash_nodes") == c.ids[p2]
                && idgen_info(&c, p2, "worker_clash_nodes") == c.ids[p1]
        },
    );
    let detected = t0.elapsed();
    assert_eq!(idgen_int(&c, p1, "worker_clashes"), 1);
    let w = workers(&c, p1);
    for e in &w {
        let is_p2 = e.field("node").as_str() == c.ids[p2];
        let expect = (is_p2 || e.field_int("myself") == 1) as i64;
        assert_eq!(e.field_int("clash"), expect, "{e:?}");
        if is_p2 {
            assert_eq!(e.field_int("worker-id"), w1);
        }
    }
    // Announcements keep coming; the warning was logged once.
    thread::sleep(Duration::from_millis(2500));
    assert_eq!(idgen_int(&c, p1, "worker_clashes"), 1, "the clash lasts");
    assert_eq!(clash_line(&c, p1, p2), 1, "{}", c.nodes[p1].log_tail());
    assert_eq!(clash_line(&c, p2, p1), 1, "{}", c.nodes[p2].log_tail());

    // The fix: another id on one of them, persisted (over the module argument's default).
    let t1 = Instant::now();
    c.cmd(p2, &["CONFIG", "SET", "idgen.worker-id", &w2.to_string()])
        .ok();
    c.cmd(p2, &["CONFIG", "REWRITE"]).ok();
    wait_until(Duration::from_secs(5), "the clash to clear", || {
        idgen_int(&c, p1, "worker_clashes") == 0 && idgen_int(&c, p2, "worker_clashes") == 0
    });
    let cleared = t1.elapsed();
    assert_eq!(idgen_info(&c, p1, "worker_clash_nodes"), "");
    let conf = std::fs::read_to_string(c.nodes[p2].dir().join("redis.conf")).unwrap();
    assert!(
        conf.lines().any(|l| l == format!("idgen.worker-id {w2}")),
        "CONFIG REWRITE wrote:\n{conf}"
    );
    assert!(c.nodes[p1]
        .log()
        .contains(&format!("worker-id clash with node {} is over", c.ids[p2])));

    // A clash with a node that stops announcing (kill -9) ages out.
    let r = (0..6).find(|&i| c.role(i) == "slave").unwrap();
    c.cmd(r, &["CONFIG", "SET", "idgen.worker-id", &w1.to_string()])
        .ok();
    c.cmd(r, &["CONFIG", "REWRITE"]).ok();
    wait_until(Duration::from_secs(5), "the replica's clash", || {
        idgen_info(&c, p1, "worker_clash_nodes") == c.ids[r]
    });
    c.nodes[r].kill9();
    let t2 = Instant::now();
    wait_until(Duration::from_secs(20), "the clash to age out", || {
        idgen_int(&c, p1, "worker_clashes") == 0
    });
    let aged = t2.elapsed();
    assert!(
        aged >= Duration::from_secs(3),
        "cleared after {aged:?}, before the announcements aged out"
    );
    // It comes back with the clashing id it persisted: its timer announces it, no CONFIG SET.
    c.nodes[r].restart();
    let t3 = Instant::now();
    assert_eq!(
        config_worker(&c, r),
        w1,
        "the rewritten id after the restart"
    );
    wait_until(Duration::from_secs(5), "the restarted node's clash", || {
        idgen_info(&c, p1, "worker_clash_nodes") == c.ids[r]
    });
    let on_restart = t3.elapsed();
    assert_eq!(
        clash_line(&c, p1, r),
        2,
        "one warning per clash: {}",
        c.nodes[p1].log_tail()
    );
    println!(
        "cluster: scenario=clash detection_ms={} cleared_after_fix_ms={} aged_out_after_kill_ms={} \
         detection_after_restart_ms={}",
        detected.as_millis(),
        cleared.as_millis(),
        aged.as_millis(),
        on_restart.as_millis()
    );
}
