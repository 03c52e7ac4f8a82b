use super::*;
use crate::template::Template;
use proptest::prelude::*;

fn seq(start: i64, increment: i64, min: i64, max: i64, cycle: bool) -> Sequence {
    let o = SeqOptions {
        start,
        increment,
        min,
        max,
        cycle,
    };
    o.validate().unwrap();
    Sequence::new(o)
}

#[test]
fn state_is_104_bytes() {
    assert_eq!(std::mem::size_of::<Sequence>(), 104);
}

#[test]
fn slow_default_sequences_are_compact() {
    let mut s = Sequence::new(SeqOptions::default());
    assert!(s.to_compact().is_some(), "a new sequence");
    let mut now = 1_700_000_000_000;
    for _ in 0..10 {
        s.take(1, now).unwrap();
        now += 5_000;
        assert!(s.to_compact().is_some(), "{s:?}");
    }
    for _ in 0..1000 {
        s.take(1, now).unwrap();
        now += 1;
    }
    assert!(s.to_compact().is_none(), "a fast sequence grows: {s:?}");
    assert!(seq(1, 2, 1, 100, false).to_compact().is_none(), "options");
}

#[test]
fn option_rules() {
    let d = SeqOptions::default();
    assert!(d.validate().is_ok());
    let bad = |o: SeqOptions, e: Error| assert_eq!(o.validate(), Err(e));
    bad(
        SeqOptions {
            min: 5,
            max: 5,
            start: 5,
            ..d
        },
        Error::MinNotBelowMax,
    );
    bad(SeqOptions { start: 0, ..d }, Error::StartOutsideRange);
    bad(SeqOptions { increment: 0, ..d }, Error::IncrementRange);
    bad(
        SeqOptions {
            min: 1,
            max: 10,
            increment: 10,
            ..d
        },
        Error::IncrementRange,
    );
    assert!(SeqOptions {
        min: i64::MIN,
        max: i64::MAX,
        start: 0,
        increment: i64::MAX,
        cycle: true
    }
    .validate()
    .is_ok());
}

#[test]
fn the_fence_is_asked_only_for_a_new_block_and_a_refusal_changes_nothing() {
    let refuse = || {
        Err(Error::NoReplicas {
            have: 0,
            need: 1,
            max_lag_ms: 2000,
        })
    };
    let mut s = seq(1, 1, 1, 1_000_000, false);
    let before = s.clone();
    assert!(s.take_fenced(1, 1000, refuse).is_err());
    assert_eq!(s, before, "a refused first take changes nothing");
    let t = s.take_fenced(1, 1000, || Ok(())).unwrap();
    assert!(t.advanced);
    let mark = s.mark();
    // Inside the block: never asked.
    let mut asked = 0;
    while s.next_value() < mark {
        let t = s
            .take_fenced(1, 1000, || {
                asked += 1;
                refuse()
            })
            .unwrap();
        assert!(!t.advanced);
    }
    assert_eq!(asked, 0);
    // The block is used up: asked, refused, unchanged; a batch too.
    let before = s.clone();
    assert!(s.take_fenced(1, 1000, refuse).is_err());
    assert!(s.take_fenced(500, 1000, refuse).is_err());
    assert_eq!(s, before);
    // A cycle restart is a new block as well.
    let mut c = seq(1, 1, 1, 3, true);
    c.take(3, 1000).unwrap();
    let before = c.clone();
    assert!(c.take_fenced(1, 1000, refuse).is_err());
    assert_eq!(c, before);
}

#[test]
fn a_busy_sequence_takes_the_fast_step() {
    let mut s = Sequence::new(SeqOptions::default());
    // A few quick calls raise the rate, and with it the block reserved ahead.
    for t in 0..100 {
        s.take(1, 1_000_000 + t).unwrap();
    }
    assert!(s.next_value() < s.mark());
    assert_eq!(
        s.clone().take_fast(1).map(|t| t.first),
        Some(s.next_value() as i64)
    );
    // A batch that ends just below the mark takes it; one more value does not.
    let room = (s.mark() - s.next_value()) as i64;
    assert!(s.clone().take_fast(room).is_some());
    assert!(s.clone().take_fast(room + 1).is_none());
    // At the mark it does not apply.
    s.set(s.mark() as i64, false).unwrap();
    assert_eq!(s.take_fast(1), None);
}

#[test]
fn counts_and_exhausts() {
    let mut s = seq(1, 1, 1, 3, false);
    assert_eq!(s.take(1, 0).unwrap().first, 1);
    assert_eq!(s.take(1, 0).unwrap().first, 2);
    let before = s.clone();
    assert_eq!(
        s.take(2, 0),
        Err(Error::NotEnoughLeft {
            remain: 1,
            requested: 2
        })
    );
    assert_eq!(s, before);
    assert_eq!(s.take(1, 0).unwrap().first, 3);
    assert_eq!(s.take(1, 0), Err(Error::Exhausted(3)));
    assert_eq!(s.peek(), None);
}

#[test]
fn max_i64_does_not_overflow() {
    let mut s = seq(i64::MAX - 1, 1, 1, i64::MAX, false);
    assert_eq!(s.take(1, 0).unwrap().first, i64::MAX - 1);
    assert_eq!(s.take(1, 0).unwrap().first, i64::MAX);
    assert_eq!(s.take(1, 0), Err(Error::Exhausted(i64::MAX)));
}

#[test]
fn cycle_restarts_at_min_and_batches_never_wrap() {
    let mut s = seq(5, 2, 1, 10, true);
    assert_eq!(s.take(1, 0).unwrap().first, 5);
    let t = s.take(3, 0).unwrap(); // 7, 9, 11 does not fit
    assert_eq!((t.first, t.last), (1, 5));
    assert_eq!(s.cycles, 1);
    assert_eq!(s.take(6, 0), Err(Error::BatchLargerThanRange));
}

#[test]
fn batches_are_consecutive() {
    let mut s = seq(10, 10, 10, 1000, false);
    let a = s.take(3, 0).unwrap();
    assert_eq!((a.first, a.last), (10, 30));
    let b = s.take(1, 0).unwrap();
    assert_eq!(b.first, 40);
    assert_eq!(s.last(), Some(40));
}

#[test]
fn set_rules() {
    let mut s = seq(1, 1, 1, 100, false);
    s.take(10, 0).unwrap();
    assert_eq!(s.set(5, false), Err(Error::WouldRepeat));
    assert_eq!(s.set(101, true), Err(Error::ValueOutsideRange));
    s.set(50, false).unwrap();
    assert_eq!(s.take(1, 0).unwrap().first, 50);
    s.set(5, true).unwrap();
    assert_eq!(s.take(1, 0).unwrap().first, 5);
}

#[test]
fn block_follows_the_rate() {
    let mut s = seq(1, 1, 1, i64::MAX, false);
    let mut now = 0;
    for _ in 0..20_000 {
        now += 1; // about 1000 per second... then faster
        for _ in 0..10 {
            s.take(1, now / 10 * 10).unwrap();
        }
    }
    assert!(s.rate > 1_000, "rate {}", s.rate);
    assert!(s.block() >= 1_000, "block {}", s.block());
}

#[test]
fn resume_keeps_the_progression() {
    let mut s = seq(0, 2, 0, 1_000_000, false);
    for _ in 0..7 {
        s.take(1, 0).unwrap();
    }
    s.resume(3);
    let v = s.take(1, 0).unwrap().first;
    assert_eq!(v % 2, 0);
    assert!(v > 12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Within a cycle, values never repeat and stay in bounds and on the progression, every
    /// value is below the mark, refusals change nothing, and a replica that only sees the
    /// reservations resumes above everything issued.
    #[test]
    fn never_repeats_and_replica_resumes_above(
        start_off in 0i64..50, inc in 1i64..7, span in 10i64..400, cycle: bool,
        ops in prop::collection::vec((1i64..40, 0i64..3000, any::<bool>()), 1..120),
        gap in 0u64..10)
    {
        let (min, max) = (-100, -100 + span);
        let start = (min + start_off).min(max);
        prop_assume!(inc <= max - min);
        let mut s = seq(start, inc, min, max, cycle);
        let mut replica = s.clone();
        let mut now = 1_000_000;
        let mut seen = std::collections::HashSet::new();
        let mut last_pos: Option<(u64, i64)> = None;
        for (count, dt, single) in ops {
            now += dt;
            let count = if single { 1 } else { count };
            let before = s.clone();
            match s.take(count, now) {
                Ok(t) => {
                    prop_assert_eq!(t.last - t.first, (count - 1) * inc);
                    prop_assert!(t.first >= min && t.last <= max);
                    let pos = (s.cycles, t.first);
                    if let Some(lp) = last_pos { prop_assert!(pos > lp); }
                    last_pos = Some((s.cycles, t.last));
                    prop_assert!((t.last as i128) < s.mark());
                    let mut v = t.first;
                    while v <= t.last {
                        prop_assert!(seen.insert((s.cycles, v)));
                        if s.cycles == 0 { prop_assert_eq!((v - start).rem_euclid(inc), 0); }
                        v += inc;
                    }
                    if t.advanced {
                        replica.apply_reservation(0, s.cycles, s.mark(), s.rate);
                    }
                    let back = Sequence::from_parts(s.opts(), s.cycles, s.next_value(), s.last(), s.mark(), s.rate, s.issued);
                    prop_assert_eq!(back.map(|b| (b.opts(), b.cycles, b.next_value(), b.last(), b.mark())), Ok((s.opts(), s.cycles, s.next_value(), s.last(), s.mark())));
                }
                Err(_) => prop_assert_eq!(&s, &before),
            }
        }
        replica.resume(gap);
        if let Ok(t) = replica.take(1, now) {
            if let Some(lp) = last_pos {
                prop_assert!((replica.cycles, t.first) > lp);
            }
            if replica.cycles == 0 { prop_assert_eq!((t.first - start).rem_euclid(inc), 0); }
        }
    }

    /// The fast step for one value, where it applies, gives exactly what the general step
    /// gives, state included; where it does not, it changes nothing. States come from any
    /// history of takes, batches, SETs, resumes, replicated reservations and cycles.
    #[test]
    fn the_fast_step_is_the_general_step(
        start_off in 0i64..50, inc in 1i64..7, span in 10i64..400, cycle: bool,
        ops in prop::collection::vec((0u8..5, 1i64..40, 0i64..3000), 1..120))
    {
        let (min, max) = (-100, -100 + span);
        let start = (min + start_off).min(max);
        prop_assume!(inc <= max - min);
        let mut s = seq(start, inc, min, max, cycle);
        let mut now = 1_000_000;
        for (op, n, dt) in ops {
            now += dt;
            let mut quick = s.clone();
            let k = if op % 2 == 0 { 1 } else { n };
            match quick.take_fast(k) {
                Some(got) => {
                    let mut general = s.clone();
                    prop_assert_eq!(general.take_general(k, now, || Ok(())), Ok(got));
                    prop_assert_eq!(&quick, &general);
                }
                None => prop_assert_eq!(&quick, &s),
            }
            match op {
                0 | 1 => { let _ = s.take(1, now); }
                2 => { let _ = s.take(n, now); }
                3 => { let _ = s.set((s.next_value() as i64 + n).min(max), false); }
                _ => if n % 2 == 0 { s.resume(n as u64 % 5) } else {
                    let (c, m) = (s.cycles, (s.mark() + n as i128 % 3).min(max as i128 + 1));
                    s.apply_reservation(0, c, m, s.rate);
                },
            }
        }
    }

    /// A per-period sequence under any clock (steps back and forward across hour
    /// boundaries), resumes and SETs: no (period, value) pair is issued twice, every value
    /// is below the mark of its period, the period never moves back, refusals change
    /// nothing; a replica that sees every reservation and SET resumes above everything
    /// issued. A replica that missed the primary's last reservations (a lost tail,
    /// crossing a period boundary or not) and resumes with a gap that covers the tail, at
    /// the clock of the fault, repeats nothing either.
    #[test]
    fn periods_never_repeat_and_replicas_resume_above(
        ops in prop::collection::vec((0u8..8, 1i64..30, -3_600_000i64..5_400_000), 1..150),
        lost_from in 0usize..150)
    {
        let opts = SeqOptions { start: 3, increment: 1, min: 1, max: 5_000, cycle: false };
        let fmt = SeqFormat {
            period: Some(Period::Hour),
            offset: UtcOffset::UTC,
            template: Some(Template::new(b"{YYYY}{MM}{DD}{hh}-{seq}", Some(Period::Hour), 1, 5_000).unwrap()),
        };
        fmt.validate(&opts).unwrap();
        let mut now = 1_800_000_000_000i64;
        let mut s = Sequence::new(opts).with_format(fmt.clone(), now);
        let mut replica = s.clone();
        let mut lagging = s.clone();
        let mut seen = std::collections::HashSet::new();
        let mut lost = 0u64;
        for (i, (op, count, dt)) in ops.into_iter().enumerate() {
            now += dt;
            let before = s.clone();
            let index_before = s.period_index();
            match op {
                0..=3 => match s.take(if op == 0 { count } else { 1 }, now) {
                    Ok(t) => {
                        prop_assert!(s.period_index() >= index_before);
                        for v in t.first..=t.last {
                            prop_assert!(seen.insert((s.period_index(), v)), "({}, {}) twice", s.period_index(), v);
                            prop_assert!((v as i128) < s.mark());
                        }
                        if t.advanced {
                            replica.apply_reservation(s.period_index(), s.cycles, s.mark(), s.rate);
                        }
                        if i >= lost_from {
                            lost += (t.last - t.first + 1) as u64;
                        } else if t.advanced {
                            lagging.apply_reservation(s.period_index(), s.cycles, s.mark(), s.rate);
                        }
                    }
                    Err(_) => prop_assert_eq!(&s, &before),
                },
                4 => {
                    // A SET never repeats within its rules (no FORCE).
                    let v = (s.next_value() as i64 + count).min(5_000);
                    // What the SET skips, counted from where the sequence stands when it
                    // lands: a SET into a new period jumps from START, not from the old
                    // period's next value (a seed found the lost tail undercounted so).
                    let landed = {
                        let mut c = s.clone();
                        c.move_to_period(now);
                        c.next_value() as i64
                    };
                    if let Ok(moved) = s.set_at(v, false, now) {
                        if moved {
                            replica.apply_reservation(s.period_index(), s.cycles, s.mark(), s.rate);
                        }
                        replica.set(v, true).unwrap();
                        if i >= lost_from {
                            // What a lost SET skipped is no repeat; count it as issued.
                            lost += (v - landed) as u64 + 1;
                        } else {
                            if moved {
                                lagging.apply_reservation(s.period_index(), s.cycles, s.mark(), s.rate);
                            }
                            lagging.set(v, true).unwrap();
                        }
                    }
                }
                // A resume is a restart: the lost tail is the history after the last one.
                5 if i < lost_from => s.resume_until(count as u64, now + 2_000),
                _ => {}
            }
        }
        // The replica that saw everything, promoted at the clock of the fault.
        replica.resume_until(0, now);
        if let Ok(t) = replica.take(1, now) {
            prop_assert!(!seen.contains(&(replica.period_index(), t.first)));
        }
        // The one that lost the tail, resumed with a gap that covers it (and the primary's
        // own resume gaps, below 30, that a restart in the tail may have started above).
        lagging.resume_until(lost + 31, now + 2_000);
        if let Ok(t) = lagging.take(1, now) {
            prop_assert!(!seen.contains(&(lagging.period_index(), t.first)),
                "lagging replica repeats ({}, {}), lost {}", lagging.period_index(), t.first, lost);
        }
    }

    /// A default sequence that goes through its compact word after every call (as a key
    /// does) keeps every field the word holds, never repeats a value, keeps every value
    /// below its mark, and a replica that only sees its reservations resumes above them.
    #[test]
    fn compact_form_round_trips_and_never_repeats(
        ops in prop::collection::vec((0u8..6, 1i64..50, 0i64..3000), 1..150),
        gen in any::<u16>(), gap in 0u64..2000)
    {
        let mut s = Sequence::new(SeqOptions::default());
        s.gen = gen;
        let mut replica = s.clone();
        let mut now = 1_700_000_000_000i64;
        let mut last_issued = 0i64;
        for (op, count, dt) in ops {
            now += dt;
            match op {
                0..=2 => {
                    let t = s.take(if op == 0 { count } else { 1 }, now).unwrap();
                    prop_assert!(t.first > last_issued);
                    prop_assert!((t.last as i128) < s.mark());
                    last_issued = t.last;
                    if t.advanced {
                        replica.apply_reservation(0, s.cycles, s.mark(), s.rate);
                    }
                }
                3 => s.resume(count as u64),
                4 => {
                    let v = s.next_value() as i64 + count;
                    s.set(v, false).unwrap();
                }
                _ => s.apply_reservation(0, 0, s.mark() + count as i128, s.rate),
            }
            if let Some(w) = s.to_compact() {
                prop_assert!(w < 1 << 63);
                let back = Sequence::from_compact(w, now);
                prop_assert_eq!(back.to_compact(), Some(w));
                prop_assert_eq!(
                    (back.opts(), back.cycles, back.next_value(), back.mark(), back.last(), back.rate, back.gen),
                    (s.opts(), s.cycles, s.next_value(), s.mark(), s.last(), s.rate, s.gen)
                );
                s = back;
            }
        }
        replica.resume(gap);
        let t = replica.take(1, now).unwrap();
        prop_assert!(t.first > last_issued);
    }
}

const SECRET: crate::opaque::Secret = [0x2B; 16];

/// OPAQUE over `MAXVALUE 1000`: every value of the domain exactly once, then exhaustion.
#[test]
fn an_opaque_sequence_issues_each_value_of_its_domain_once() {
    let mut s = seq(1, 1, 1, 1000, false).with_opaque(SECRET).unwrap();
    let mut seen = vec![false; 1001];
    let mut ups = 0;
    let mut prev = 0;
    for i in 1..=1000 {
        let t = s.take(1, 1_700_000_000_000).unwrap();
        assert_eq!(t.first, i, "issue order is kept in the state");
        let v = s.public(t.first).unwrap();
        assert!((1..=1000).contains(&v), "{v}");
        assert!(!seen[v as usize], "{v} twice");
        seen[v as usize] = true;
        if i % 50 == 0 {
            assert_eq!(s.decode(v).unwrap(), i);
        }
        ups += (v > prev) as u32;
        prev = v;
    }
    assert!((400..=600).contains(&ups), "{ups} of 1000 increase");
    assert_eq!(s.take(1, 1_700_000_000_000), Err(Error::Exhausted(1000)));
}

#[test]
fn an_opaque_domain_steps_by_increment() {
    let mut s = seq(10, 3, 4, 100_000_000, true)
        .with_opaque(SECRET)
        .unwrap();
    assert!(s.format().is_none(), "OPAQUE alone is no FORMAT");
    for _ in 0..100 {
        let t = s.take(1, 1_700_000_000_000).unwrap();
        let v = s.public(t.first).unwrap();
        assert!((4..=100_000_000).contains(&v) && (v - 4) % 3 == 0, "{v}");
        assert_eq!(s.decode(v).unwrap(), t.first);
    }
    let off = Error::NotInOpaqueDomain {
        min: 4,
        max: 100_000_000,
        increment: 3,
    };
    assert_eq!(s.decode(5), Err(off.clone()));
    assert_eq!(s.decode(3), Err(off.clone()));
    assert_eq!(s.decode(100_000_001), Err(off.clone()));
    assert_eq!(s.set(8, true), Err(off.clone()));
    assert_eq!(s.set_at(8, true, 0), Err(off));
    s.set(1_000_000, false).unwrap();
    assert_eq!(
        seq(1, 1, 1, 999, false).with_opaque(SECRET).err(),
        Some(Error::OpaqueDomainTooSmall(1000))
    );
    // START off the progression from MINVALUE.
    assert_eq!(
        seq(5, 3, 4, 100_000, false).with_opaque(SECRET).err(),
        Some(Error::OpaqueStart)
    );
    // Without OPAQUE, DECODE gives the value back inside MINVALUE..=MAXVALUE.
    let plain = seq(1, 1, 1, 10, false);
    assert_eq!(plain.decode(7), Ok(7));
    assert_eq!(plain.decode(11), Err(Error::ValueOutsideRange));
    assert_eq!(plain.public(7), Ok(7));
}

/// OPAQUE with a FORMAT template: the permutation applies to the number inside the text.
#[test]
fn opaque_values_keep_a_templates_width() {
    let o = SeqOptions {
        start: 1,
        increment: 1,
        min: 1,
        max: 99_999_999,
        cycle: false,
    };
    let fmt = SeqFormat {
        period: None,
        offset: UtcOffset::UTC,
        template: Some(Template::new(b"INV-{seq:8}", None, 1, 99_999_999).unwrap()),
    };
    let s = Sequence::new(o).with_format(fmt.clone(), 0);
    let mut s = s.with_opaque(SECRET).unwrap();
    assert_eq!(s.format(), Some(&fmt));
    let a = s.take(1, 0).unwrap();
    let v = s.public(a.first).unwrap();
    let mut buf = crate::template::TextBuf::default();
    assert!(s.render(v, 0, &mut buf));
    assert_eq!(buf.as_bytes().len(), 12);
    // with_format after with_opaque keeps the permutation (a load rebuilds in that order).
    let again = Sequence::new(o)
        .with_opaque(SECRET)
        .unwrap()
        .with_format(fmt, 0);
    assert_eq!(again.opaque(), s.opaque());
}
