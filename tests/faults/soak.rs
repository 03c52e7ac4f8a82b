//! Scenario 12 (issue 20): the randomized fault soak. For `SOAK_SECONDS` (180 by default) the
//! nemesis (`faults/nemesis.rs`) picks faults at random with the seed (`FAULTS_SEED`, printed
//! first) among the kinds of `SOAK_NEMESES` (all by default), one after the other, under the
//! idgen mix (every generator type), pool holders and the plain-INCR control, on a primary with
//! two replicas (fence on, AOF everysec, test-clock build). Ignored by the suite: `make soak`
//! runs it, and `make test-all` for 3 minutes (`part-soak`).
//!
//! The verdict counts every value received: repeats over all keys, order going back within a key
//! (per client: each later value, batch and UUID of a key above the last), pool tenures that
//! overlap (double grants), and the INCR control, which must repeat when a fault that loses
//! history ran (else the run proves nothing).

use std::collections::BTreeMap;

use super::*;
use crate::nemesis::{Finished, Kind, Rig, KINDS};
use crate::util::append_summary;

/// Soak length unless `SOAK_SECONDS` says otherwise.
const DEFAULT_SECONDS: u64 = 180;
/// Least number of pool leases a soak must have checked.
const SOAK_MIN_LEASES: u64 = 50;

fn soak_seconds() -> u64 {
    match std::env::var("SOAK_SECONDS") {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().expect("SOAK_SECONDS: seconds"),
        _ => DEFAULT_SECONDS,
    }
}

/// `SOAK_NEMESES=kill9_aof_cut,partition,...` (the names of `Kind::name`); empty or unset: all.
fn soak_kinds() -> Vec<Kind> {
    match std::env::var("SOAK_NEMESES") {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|w| {
                Kind::parse(w.trim()).unwrap_or_else(|| {
                    panic!(
                        "SOAK_NEMESES: unknown kind {w:?} (kinds: {})",
                        names(&KINDS)
                    )
                })
            })
            .collect(),
        _ => KINDS.to_vec(),
    }
}

fn names(kinds: &[Kind]) -> String {
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
}

#[test]
#[ignore = "the soak: `make soak`, or --ignored --exact soak::randomized_fault_soak"]
fn randomized_fault_soak() {
    let _serial = serial();
    let seed = seed();
    let seconds = soak_seconds();
    let kinds = soak_kinds();
    println!(
        "soak: seed={seed} seconds={seconds} nemeses={}",
        names(&kinds)
    );
    let mut rig = Rig::start(seed);
    let start = Instant::now();
    let mut faults: BTreeMap<Kind, u32> = BTreeMap::new();
    let mut round = 0u32;
    while start.elapsed() < Duration::from_secs(seconds) {
        round += 1;
        rig.idgen.set_cycle(round);
        rig.incr.set_cycle(round);
        rig.idgen
            .wait_progress(20, Duration::from_secs(60), "idgen clients to be served");
        let kind = rig.pick(&kinds);
        let at = now_ms();
        let what = rig.run(kind);
        rig.wait_synced();
        let line = format!("round {round} at {at}: {}: {what}", kind.name());
        println!("soak: {line}");
        rig.timeline.push(line);
        *faults.entry(kind).or_default() += 1;
    }
    // The healed rig serves everyone again before the records close.
    rig.idgen.set_cycle(round + 1);
    rig.idgen.wait_progress(
        50,
        Duration::from_secs(60),
        "idgen clients after the last fault",
    );
    rig.incr.wait_progress(
        20,
        Duration::from_secs(60),
        "INCR clients after the last fault",
    );
    thread::sleep(Duration::from_millis(500));
    let timeline = std::mem::take(&mut rig.timeline);
    let (stale_noreplicas, evicted) = (rig.stale_noreplicas, (rig.evicted, rig.generators_evicted));
    let f = rig.finish();
    verdict(
        seed,
        start.elapsed().as_secs(),
        &faults,
        &f,
        stale_noreplicas,
        evicted,
        &timeline,
    );
}

fn verdict(
    seed: u64,
    seconds: u64,
    faults: &BTreeMap<Kind, u32>,
    f: &Finished,
    stale_noreplicas: u64,
    (evicted, generators_evicted): (u64, u64),
    timeline: &[String],
) {
    let pool = crate::pool::check(&f.tenures);
    let double_grants = pool.overlaps + pool.tokens_reused + pool.not_before_low;
    let order = f.idgen.order_violations + f.idgen.uid.order_violations;
    let fault_list: Vec<String> = faults
        .iter()
        .map(|(k, n)| format!("{}:{n}", k.name()))
        .collect();
    let r = &f.idgen;
    append_summary(&format!(
        "soak: seed={seed} seconds={seconds} faults={} ids_checked={} repeats={} \
         order_violations={order} uuid_checked={} uuid_repeats={} pool_tenures={} \
         double_grants={double_grants} incr_checked={} incr_repeats={} off_progression={} \
         uuid_position_repeats={} pool_leases={} pool_overlaps={} pool_tokens_reused={} \
         pool_not_before_low={} errors={} refusals={} \
         stale_noreplicas={stale_noreplicas} evicted_keys={evicted} \
         generators_evicted={generators_evicted}",
        fault_list.join(","),
        r.ids_checked,
        r.repeats,
        r.uid.checked,
        r.uid.repeats,
        f.tenures.len(),
        f.incr.ids_checked,
        f.incr.repeats,
        r.off_progression,
        r.uid.position_repeats,
        pool.leases,
        pool.overlaps,
        pool.tokens_reused,
        pool.not_before_low,
        r.errors(),
        r.refusals,
    ));
    println!("soak: error replies by kind: {:?}", r.error_kinds);
    println!("soak: pool counts: {:?}", f.pool_counts);
    let mut failures = Vec::new();
    for s in &f.servers {
        let crashes = crash_lines(s);
        if !crashes.is_empty() {
            failures.push(format!("a server crashed: {crashes:?}"));
        }
    }
    if !r.malformed.is_empty() {
        failures.push(format!("malformed replies: {:?}", r.malformed));
    }
    if r.repeats + r.off_progression + r.uid.repeats + r.uid.position_repeats > 0 {
        failures.push("idgen handed out values twice (or off their progression)".into());
    }
    if order > 0 {
        failures.push("a client saw a key's values go back".into());
    }
    if double_grants > 0 || !f.pool_counts.malformed.is_empty() {
        failures.push(format!(
            "pool: two holders shared an ID, a token was reused or a not-before was low: {:?} \
             (malformed {:?})",
            pool.examples, f.pool_counts.malformed
        ));
    }
    if r.ids_checked < MIN_IDS_CHECKED || r.uid.checked < MIN_UUIDS_CHECKED {
        failures.push(format!(
            "too few values checked: {} ids, {} UUIDs",
            r.ids_checked, r.uid.checked
        ));
    }
    if pool.leases < SOAK_MIN_LEASES {
        failures.push(format!("only {} pool leases checked", pool.leases));
    }
    if faults.keys().any(|k| k.loses_history()) && f.incr.repeats == 0 {
        failures.push(
            "INCR repeated nothing although faults that lose history ran: the checker proves \
             nothing"
                .into(),
        );
    }
    if faults.contains_key(&Kind::Partition) && stale_noreplicas == 0 {
        failures.push("the cut-off primary of the partitions never refused a new block".into());
    }
    if !failures.is_empty() {
        panic!(
            "soak (seed {seed}) failed:\n  {}\n{}\npool examples:\n  {}\nfaults:\n  {}",
            failures.join("\n  "),
            details(r, &[]),
            pool.examples.join("\n  "),
            timeline.join("\n  ")
        );
    }
}
