//! Scenario 12's cluster run: a 3-primary cluster (3 replicas, `crates/testkit` `Cluster`), one
//! hash tag's generator keys (snowflake, sequence, UUID) and an INCR key moved from primary to
//! primary with MIGRATE (`Cluster::migrate_slot`) at random with the seed, under load from
//! cluster clients that follow MOVED and ASK; beside them the same keys of a tag that stays.
//! Every value is recorded per client and key: no repeat over all clients, each client's values
//! of a key increasing. MIGRATE moves a key whole, so plain INCR keeps its count here (reported,
//! not required to repeat: the main soak's control is the one that must). Ignored like the soak:
//! `make soak` runs it after the main run for `SOAK_CLUSTER_SECONDS` (60 by default).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::uid::parse_hex;
use crate::util::append_summary;
use idgen_testkit::cluster::{Cluster, RANGES};

const DEFAULT_SECONDS: u64 = 60;
const CLIENTS: usize = 2;
/// Load between two moves of the slot.
const BETWEEN_MOVES_MS: (i64, i64) = (300, 1_500);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Snowflake,
    Seq,
    Uuid,
    Incr,
}

/// The keys of one hash tag.
fn tag_keys(tag: &str) -> Vec<(String, Kind)> {
    [
        ("sf", Kind::Snowflake),
        ("seq", Kind::Seq),
        ("uid", Kind::Uuid),
        ("incr", Kind::Incr),
    ]
    .iter()
    .map(|(s, k)| (format!("{{{tag}}}:{s}"), *k))
    .collect()
}

/// A hash tag whose slot is in primary `range`'s slots.
fn tag_in_range(range: usize) -> String {
    let (lo, hi) = RANGES[range];
    (0..)
        .map(|i| format!("soak{i}"))
        .find(|t| (lo..=hi).contains(&redis::cluster_routing::get_slot(t.as_bytes())))
        .expect("a tag in range")
}

/// Per client, per key index: every value received, in order (a batch in its order).
type Log = Vec<Vec<u128>>;

fn client(
    mut conn: redis::cluster::ClusterConnection,
    keys: Arc<Vec<(String, Kind)>>,
    seed: u64,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
) -> (Log, u64) {
    let mut rng = Rng::new(seed);
    let mut log: Log = vec![Vec::new(); keys.len()];
    let mut errors = 0;
    while !stop.load(Ordering::Relaxed) {
        let k = rng.below(keys.len() as u64) as usize;
        let (key, kind) = &keys[k];
        let n = rng.range(1, 5);
        let mut cmd = match kind {
            Kind::Snowflake => redis::cmd("SNOWFLAKE.NEXT"),
            Kind::Seq if n > 1 => redis::cmd("SEQ.NEXTBATCH"),
            Kind::Seq => redis::cmd("SEQ.NEXT"),
            Kind::Uuid => redis::cmd("UUID.NEXT"),
            Kind::Incr => redis::cmd("INCR"),
        };
        cmd.arg(key);
        match kind {
            Kind::Snowflake if n > 1 => {
                cmd.arg("COUNT").arg(n);
            }
            Kind::Seq if n > 1 => {
                cmd.arg(n);
            }
            Kind::Uuid => {
                cmd.arg("FORMAT").arg("HEX");
            }
            _ => {}
        }
        let values: Option<Vec<u128>> = match (kind, cmd.query::<redis::Value>(&mut conn)) {
            (_, Ok(redis::Value::Int(v))) => Some(vec![v as u128]),
            (Kind::Seq, Ok(redis::Value::Array(a))) => match a.as_slice() {
                [redis::Value::Int(x), redis::Value::Int(y)] => {
                    Some((*x as u128..=*y as u128).collect())
                }
                _ => None,
            },
            (Kind::Snowflake, Ok(redis::Value::Array(a))) => a
                .iter()
                .map(|v| match v {
                    redis::Value::Int(x) => Some(*x as u128),
                    _ => None,
                })
                .collect(),
            (Kind::Uuid, Ok(redis::Value::BulkString(b))) => parse_hex(&b).map(|u| vec![u]),
            (_, Ok(other)) => panic!("{key}: unexpected reply {other:?}"),
            (_, Err(_)) => {
                errors += 1;
                thread::sleep(Duration::from_millis(20));
                None
            }
        };
        if let Some(v) = values {
            log[k].extend(v);
            ok.fetch_add(1, Ordering::Relaxed);
        }
    }
    (log, errors)
}

/// Values, repeats and order violations per kind.
#[derive(Default)]
struct Counts {
    values: BTreeMap<Kind, u64>,
    repeats: BTreeMap<Kind, u64>,
    order: BTreeMap<Kind, u64>,
    examples: Vec<String>,
}

fn check(keys: &[(String, Kind)], logs: &[Log]) -> Counts {
    let mut c = Counts::default();
    for (k, (key, kind)) in keys.iter().enumerate() {
        let mut all = Vec::new();
        for l in logs {
            let bad = l[k].windows(2).filter(|w| w[1] <= w[0]).count() as u64;
            *c.order.entry(*kind).or_default() += bad;
            all.extend_from_slice(&l[k]);
        }
        all.sort_unstable();
        *c.values.entry(*kind).or_default() += all.len() as u64;
        for w in all.windows(2) {
            if w[0] == w[1] {
                *c.repeats.entry(*kind).or_default() += 1;
                if c.examples.len() < 10 {
                    c.examples.push(format!("{key}: {} received twice", w[0]));
                }
            }
        }
    }
    c
}

fn sum(m: &BTreeMap<Kind, u64>, kinds: &[Kind]) -> u64 {
    kinds.iter().map(|k| m.get(k).copied().unwrap_or(0)).sum()
}

#[test]
#[ignore = "the soak's cluster run: `make soak`, or --ignored --exact soak_cluster::resharding_soak"]
fn resharding_soak() {
    let _serial = serial();
    let seed = seed();
    let seconds = match std::env::var("SOAK_CLUSTER_SECONDS") {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().expect("SOAK_CLUSTER_SECONDS"),
        _ => DEFAULT_SECONDS,
    };
    println!("soak-cluster: seed={seed} seconds={seconds}");
    if seconds == 0 {
        println!("soak-cluster: SOAK_CLUSTER_SECONDS=0, skipped");
        return;
    }
    let c = Cluster::start("faults-soak-cl");
    let moved_tag = tag_in_range(0);
    let stay_tag = tag_in_range(1);
    let slot = redis::cluster_routing::get_slot(moved_tag.as_bytes());
    let keys: Arc<Vec<(String, Kind)>> = Arc::new(
        tag_keys(&moved_tag)
            .into_iter()
            .chain(tag_keys(&stay_tag))
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (conn, keys, stop, ok) = (c.client(), keys.clone(), stop.clone(), ok.clone());
            let seed = seed.wrapping_add(0xc1u64 + i as u64);
            thread::spawn(move || client(conn, keys, seed, stop, ok))
        })
        .collect();
    let progress = |n: u64, what: &str| {
        let start = ok.load(Ordering::Relaxed);
        idgen_testkit::wait_until(Duration::from_secs(30), what, || {
            ok.load(Ordering::Relaxed) >= start + n
        });
    };
    progress(200, "cluster clients to be served");
    let mut rng = Rng::new(seed ^ 0xc1u64);
    let mut owner = c.owner(0, slot);
    let (mut moves, mut keys_moved) = (0u32, 0usize);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        thread::sleep(Duration::from_millis(
            rng.range(BETWEEN_MOVES_MS.0, BETWEEN_MOVES_MS.1) as u64,
        ));
        let others: Vec<usize> = c.primaries(0).into_iter().filter(|&p| p != owner).collect();
        let to = *rng.pick(&others);
        keys_moved += c.migrate_slot(slot, owner, to);
        owner = to;
        moves += 1;
        progress(50, "cluster clients after a move");
    }
    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().expect("cluster client panicked");
        logs.push(l);
        errors += e;
    }
    let r = check(&keys, &logs);
    let idgen = [Kind::Snowflake, Kind::Seq, Kind::Uuid];
    append_summary(&format!(
        "soak-cluster: seed={seed} seconds={} reshards={moves} keys_moved={keys_moved} \
         ids_checked={} repeats={} order_violations={} uuid_checked={} incr_checked={} \
         incr_repeats={} errors={errors}",
        start.elapsed().as_secs(),
        sum(&r.values, &idgen),
        sum(&r.repeats, &idgen),
        sum(&r.order, &idgen),
        sum(&r.values, &[Kind::Uuid]),
        sum(&r.values, &[Kind::Incr]),
        sum(&r.repeats, &[Kind::Incr]),
    ));
    for n in &c.nodes {
        let crashes = crash_lines(n);
        assert!(crashes.is_empty(), "a cluster node crashed: {crashes:?}");
    }
    assert!(moves > 0, "the slot never moved");
    assert_eq!(
        (sum(&r.repeats, &idgen), sum(&r.order, &idgen)),
        (0, 0),
        "resharding: repeats or order going back:\n  {}",
        r.examples.join("\n  ")
    );
    assert!(
        sum(&r.values, &idgen) >= MIN_IDS_CHECKED / 10,
        "too few values checked"
    );
}

/// The cluster run's checker can fail: a repeated value across clients and a value going back
/// within one client are both counted.
#[test]
fn the_cluster_checker_finds_repeats_and_disorder() {
    let keys = vec![("{t}:seq".to_string(), Kind::Seq)];
    let logs: Vec<Log> = vec![vec![vec![1, 2, 3]], vec![vec![5, 4, 3]]];
    let r = check(&keys, &logs);
    assert_eq!(r.values.get(&Kind::Seq), Some(&6));
    assert_eq!(r.repeats.get(&Kind::Seq), Some(&1));
    assert_eq!(r.order.get(&Kind::Seq), Some(&2));
}
