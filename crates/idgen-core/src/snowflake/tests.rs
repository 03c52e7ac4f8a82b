use super::*;
use proptest::prelude::*;

const E: i64 = DEFAULT_EPOCH_MS;

fn gen() -> Snowflake {
    Snowflake::new(Layout::default(), None)
}

#[test]
fn state_is_96_bytes() {
    assert_eq!(std::mem::size_of::<Snowflake>(), 96);
    assert_eq!(std::mem::size_of::<SnowflakeCompact>(), 32);
}

#[test]
fn default_layout_is_valid_and_composes() {
    let l = Layout::default();
    l.validate(Some(E)).unwrap();
    let id = l.compose(5, 3, 7);
    assert_eq!(id, (5 << 22) | (3 << 12) | 7);
    assert_eq!(l.decompose(id), Some((5, 3, 7)));
    assert_eq!(l.decompose(-1), None);
}

#[test]
fn layout_rules() {
    let l = Layout {
        time_bits: 34,
        worker_bits: 17,
        ..Layout::default()
    };
    assert_eq!(
        l.validate(None),
        Err(Error::OutOfRange("TIME-BITS", 35, 55))
    );
    let l = Layout {
        seq_bits: 13,
        ..Layout::default()
    };
    assert_eq!(l.validate(None), Err(Error::BitsSumOver63(64)));
    let l = Layout {
        epoch: E + 10,
        ..Layout::default()
    };
    assert_eq!(l.validate(Some(E)), Err(Error::EpochInFuture));
    assert_eq!(l.validate(None), Ok(()));
    let l = Layout {
        epoch: i64::MAX - 5,
        ..Layout::default()
    };
    assert!(l.validate(None).is_err());
}

fn refuse() -> Result<()> {
    Err(Error::NoReplicas {
        have: 0,
        need: 1,
        max_lag_ms: 2000,
    })
}

#[test]
fn the_fence_is_asked_only_for_a_new_block_and_a_refusal_changes_nothing() {
    let mut g = gen();
    // A new key needs a block: refused, unchanged.
    let before = g.clone();
    assert!(matches!(
        g.next_fenced(E + 1000, 5, 1, 1000, refuse),
        Err(Error::NoReplicas { .. })
    ));
    assert_eq!(g, before);
    let i = g.next_fenced(E + 1000, 5, 1, 1000, || Ok(())).unwrap();
    assert!(i.advanced);
    // Inside the block: never asked.
    let mut asked = false;
    let j = g
        .next_fenced(E + 1001, 5, 3, 1000, || {
            asked = true;
            refuse()
        })
        .unwrap();
    assert!(!asked && !j.advanced);
    // Past the mark: asked, refused, nothing changed, no ID issued.
    let before = g.clone();
    let past = E + g.mark + 5;
    assert!(g.next_fenced(past, 5, 1, 1000, refuse).is_err());
    assert_eq!(g, before);
}

#[test]
fn resume_above_the_clock() {
    let mut g = gen();
    g.next(E + 1000, 5, 1, 1000).unwrap();
    let mark = g.mark;
    // An idle key resumed much later: from the mark only, the clock is above the floor...
    let mut a = g.clone();
    a.resume_above(3000, None);
    assert_eq!(a.next(E + 60_000, 5, 1, 1000).unwrap().ts, 60_000);
    assert!(mark + 3000 < 60_000);
    // ...from the clock too: nothing below now + the clock gap.
    let mut b = g.clone();
    b.resume_above(3000, Some((E + 60_000, 2000)));
    assert_eq!(b.next(E + 60_000, 5, 1, 1000).unwrap().ts, 62_000);
    // A key whose mark is ahead of the clock keeps the mark's floor.
    let mut c = g.clone();
    c.resume_above(3000, Some((E + 500, 2000)));
    assert_eq!(c.next(E + 500, 5, 1, 1000).unwrap().ts, mark + 3000);
}

#[test]
fn first_id_uses_the_clock_and_reserves() {
    let mut g = gen();
    let i = g.next(E + 1000, 5, 1, 1000).unwrap();
    assert_eq!(i.first(), Layout::default().compose(1000, 5, 0));
    assert!(i.advanced);
    assert!(g.mark > 1000);
    let j = g.next(E + 1000, 5, 1, 1000).unwrap();
    assert_eq!(j.first(), i.first() + 1);
    assert!(!j.advanced);
}

#[test]
fn exhausted_millisecond_borrows_the_next() {
    let mut g = gen();
    let i = g.next(E + 10, 0, 4096, 1000).unwrap();
    assert_eq!(i.borrowed_ms, 0);
    let j = g.next(E + 10, 0, 1, 1000).unwrap();
    assert_eq!(j.ts, 11);
    assert_eq!(j.seq, 0);
    assert_eq!(j.borrowed_ms, 1);
    assert_eq!(g.borrowed_ms, 1);
}

#[test]
fn borrow_limit_refuses_and_changes_nothing() {
    let mut g = gen();
    g.next(E + 10, 0, 4096, 2).unwrap();
    g.next(E + 10, 0, 4096, 2).unwrap();
    g.next(E + 10, 0, 4096, 2).unwrap();
    let before = g.clone();
    assert_eq!(g.next(E + 10, 0, 1, 2), Err(Error::BorrowLimit(2)));
    assert_eq!(g, before);
    // The clock catching up lets it go on.
    assert!(g.next(E + 11, 0, 1, 2).is_ok());
}

#[test]
fn count_batches_are_all_or_nothing() {
    let mut g = gen();
    let before = g.clone();
    assert_eq!(g.next(E + 10, 0, 10_000, 1), Err(Error::BorrowLimit(1)));
    assert_eq!(g, before);
    let i = g.next(E + 10, 0, 10_000, 2).unwrap();
    let ids: Vec<i64> = i.ids().collect();
    assert_eq!(ids.len(), 10_000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn clock_step_back_keeps_counting_on_own_timestamp() {
    let mut g = gen();
    let a = g.next(E + 10_000, 0, 1, 1000).unwrap().first();
    let b = g.next(E + 5_000, 0, 1, 1000).unwrap();
    assert!(b.first() > a);
    assert!(b.clock_behind);
    assert_eq!(b.ts, 10_000);
    assert_eq!(g.clock_behind(), 1);
}

#[test]
fn worker_change_inside_a_millisecond_stays_increasing() {
    let mut g = gen();
    let a = g.next(E + 10, 9, 1, 1000).unwrap().first();
    let b = g.next(E + 10, 2, 1, 1000).unwrap().first();
    assert!(b > a);
}

#[test]
fn worker_must_fit() {
    let layout = Layout {
        time_bits: 46,
        worker_bits: 5,
        ..Layout::default()
    };
    let mut g = Snowflake::new(layout, None);
    assert_eq!(
        g.next(E, 40, 1, 1000),
        Err(Error::WorkerDoesNotFit {
            worker: 40,
            bits: 5
        })
    );
    let g = Snowflake::new(layout, Some(3));
    assert!(Snowflake::validate_worker(&layout, Some(32)).is_err());
    assert!(Snowflake::validate_worker(&layout, g.worker()).is_ok());
}

#[test]
fn time_bits_run_out() {
    let mut g = gen();
    let max = Layout::default().max_ts();
    assert_eq!(
        g.next(E + max + 1, 0, 1, 1000),
        Err(Error::TimeBitsExhausted)
    );
    assert!(g.next(E + max, 0, 1, 1000).is_ok());
}

#[test]
fn resume_starts_at_the_mark() {
    let mut g = gen();
    let a = g.next(E + 100, 0, 1, 1000).unwrap().first();
    let mark = g.mark;
    g.resume(0);
    let b = g.next(E + 100, 0, 1, 1000).unwrap();
    assert!(b.first() > a);
    assert_eq!(b.ts, mark);
    assert!(b.advanced, "resuming at the mark must reserve again");
    // Running ahead of the clock up to the resume point is not borrowing.
    assert_eq!(b.borrowed_ms, 0);
}

#[test]
fn running_ahead_after_a_resume_is_no_clock_step() {
    let mut g = gen();
    g.next(E + 100, 0, 1, 1000).unwrap();
    g.resume(3000);
    for _ in 0..5 {
        let i = g.next(E + 101, 0, 1, 1000).unwrap();
        assert!(!i.clock_behind);
    }
    // Once the clock passed the resume point, a step back is a clock step again.
    g.next(E + 10_000, 0, 1, 1000).unwrap();
    assert!(g.next(E + 9_000, 0, 1, 1000).unwrap().clock_behind);
    assert_eq!(g.clock_behind(), 1);
}

#[test]
fn default_keys_have_a_compact_form() {
    let mut g = gen();
    assert!(g.to_compact().is_some(), "a new key");
    let t = E + 10_000_000_000;
    g.next(t, 7, 3, 1000).unwrap();
    let c = g.to_compact().expect("after issuing");
    assert_eq!(Snowflake::from_compact(&c), g);
    g.resume(3000);
    assert!(g.to_compact().is_none(), "resumed, before issuing");
    g.next(t + 10_000, 7, 1, 1000).unwrap();
    assert!(g.to_compact().is_some(), "issued again");
    g.next(t + 10_060, 7, 1, 1000).unwrap();
    assert!(g.to_compact().is_none(), "busy: a large block");
    assert!(Snowflake::new(Layout::default(), Some(3))
        .to_compact()
        .is_none());
}

#[test]
fn reservation_never_lowers() {
    let mut g = gen();
    g.apply_reservation(500, 400);
    g.apply_reservation(300, 200);
    assert_eq!(
        (g.mark, g.wall_seen, g.next_position()),
        (500, 500, (500, 0))
    );
    g.apply_reservation(500, 400);
    g.resume(30);
    assert_eq!(g.next_position(), (530, 0));
    g.apply_reservation(500, 400);
    g.resume(30);
    assert_eq!(
        g.next_position(),
        (530, 0),
        "replaying a reservation is idempotent"
    );
}

#[test]
fn parse_checks_fixed_worker() {
    let g = Snowflake::new(Layout::default(), Some(3));
    let id = Layout::default().compose(7, 3, 1);
    assert_eq!(g.parse(id), Ok((E + 7, 3, 1)));
    assert_eq!(
        g.parse(Layout::default().compose(7, 4, 1)),
        Err(Error::ForeignId)
    );
    assert_eq!(g.parse(-5), Err(Error::ForeignId));
}

/// `YYYY-MM-DD hh:mm:ss.mmm` UTC, for date assertions.
fn utc(ms: i64) -> String {
    use crate::period::{civil_from_days, DAY_MS};
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let t = ms.rem_euclid(DAY_MS);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        t / 3_600_000,
        t / 60_000 % 60,
        t / 1000 % 60,
        t % 1000
    )
}

#[test]
fn layout_words_and_js_safe_dates() {
    assert_eq!(Layout::named(b"js-safe"), Ok(Layout::JS_SAFE));
    assert_eq!(Layout::named(b"DEFAULT"), Ok(Layout::default()));
    assert_eq!(Layout::named(b"fast"), Err(Error::UnknownLayout));

    let js = Layout::JS_SAFE;
    js.validate(Some(DEFAULT_EPOCH_MS)).unwrap();
    assert_eq!(js.total_bits(), 53);
    assert!(js.is_js_safe());
    assert_eq!(js.js_safe_until(), None);
    assert_eq!(js.max_id(), JS_MAX_SAFE_INTEGER);
    assert_eq!(js.time_exhausted_at(), 4_452_846_269_440);
    assert_eq!(utc(js.time_exhausted_at()), "2111-02-08 13:44:29.440");
    assert_eq!(1u64 << js.worker_bits, 32);
    assert_eq!((1i64 << js.seq_bits) * 1000 / js.time_unit_ms, 102_400);

    let def = Layout::default();
    def.validate(None).unwrap();
    assert_eq!(utc(def.time_exhausted_at()), "2093-09-06 15:47:35.552");
    assert_eq!(def.js_safe_until(), Some(DEFAULT_EPOCH_MS + (1 << 31)));
    assert_eq!(utc(def.js_safe_until().unwrap()), "2024-01-25 20:31:23.648");

    // The 63-bit 51/2/10 layout of the old note: JS-safe until 2093, then not.
    let wide = Layout {
        time_bits: 51,
        worker_bits: 2,
        seq_bits: 10,
        ..def
    };
    wide.validate(None).unwrap();
    assert_eq!(
        utc(wide.js_safe_until().unwrap()),
        "2093-09-06 15:47:35.552"
    );
    // The 53-bit alternatives named in the docs.
    let ms1 = Layout {
        time_bits: 41,
        worker_bits: 2,
        seq_bits: 10,
        ..def
    };
    assert_eq!(utc(ms1.time_exhausted_at()), "2093-09-06 15:47:35.552");
    let long = Layout {
        time_bits: 39,
        worker_bits: 4,
        ..js
    };
    assert_eq!(&utc(long.time_exhausted_at())[..10], "2198-03-18");
}

#[test]
fn layout_rules_with_time_unit() {
    let def = Layout::default();
    let with = |f: &dyn Fn(&mut Layout)| {
        let mut l = def;
        f(&mut l);
        l.validate(Some(DEFAULT_EPOCH_MS))
    };
    assert_eq!(
        with(&|l| l.time_unit_ms = 0),
        Err(Error::OutOfRange("TIME-UNIT", 1, 86_400_000))
    );
    assert_eq!(
        with(&|l| l.time_unit_ms = 86_400_001),
        Err(Error::OutOfRange("TIME-UNIT", 1, 86_400_000))
    );
    assert_eq!(with(&|l| l.seq_bits = 13), Err(Error::BitsSumOver63(64)));
    assert_eq!(with(&|l| l.seq_bits = 4), Ok(()), "sums below 63 are fine");
    assert_eq!(
        with(&|l| l.time_bits = 34),
        Err(Error::OutOfRange("TIME-BITS", 35, 55))
    );
    assert_eq!(with(&|l| l.epoch = -1), Err(Error::EpochNegative));
    assert_eq!(with(&|l| l.epoch += 1), Err(Error::EpochInFuture));
    let long = |l: &mut Layout| {
        l.time_bits = 45;
        l.worker_bits = 4;
        l.seq_bits = 4;
        l.time_unit_ms = 86_400_000;
    };
    assert_eq!(
        with(&long),
        Err(Error::TimeSpanTooLong {
            time_bits: 45,
            unit_ms: 86_400_000
        })
    );
    // 2^55 ms leaves room for epochs up to i64::MAX - 2^55.
    let late = Layout {
        time_bits: 55,
        worker_bits: 4,
        seq_bits: 4,
        epoch: i64::MAX - (1 << 55) + 1,
        ..def
    };
    assert_eq!(
        late.validate(None),
        Err(Error::OutOfRange("EPOCH", 0, i64::MAX - (1 << 55)))
    );
    let last = Layout {
        epoch: i64::MAX - (1 << 55),
        ..late
    };
    assert_eq!(last.validate(None), Ok(()));
    assert_eq!(last.time_exhausted_at(), i64::MAX);
}

#[test]
fn a_busy_key_takes_the_fast_step() {
    let mut g = Snowflake::new(Layout::default(), None);
    let now = DEFAULT_EPOCH_MS + 5_000;
    g.next(now, 3, 1, 1000).unwrap(); // the first call reserves: the general step
                                      // Later calls in the same millisecond, and in the next one, inside the block.
    for t in [now, now, now + 1, now + 1] {
        let i = g.next_one(t, 3, 1000).expect("the fast step applies");
        assert_eq!(i.first(), g.last_id);
    }
    // Not for a clock behind the newest time seen, a new worker, or a wider unit.
    assert!(g.clone().next_one(now, 3, 1000).is_none());
    assert!(g.clone().next_one(now + 1, 4, 1000).is_none());
    let mut slow = Snowflake::new(
        Layout {
            time_unit_ms: 10,
            ..Layout::default()
        },
        None,
    );
    slow.next(now, 3, 1, 1000).unwrap();
    assert!(slow.next_one(now, 3, 1000).is_none());
}

fn any_layout() -> impl Strategy<Value = Layout> {
    (
        35u8..=55,
        0u8..=20,
        4u8..=22,
        prop_oneof![Just(1i64), Just(10), Just(1000), 1i64..=86_400_000],
        prop_oneof![Just(0i64), Just(DEFAULT_EPOCH_MS), 0i64..4_000_000_000_000],
    )
        .prop_map(|(t, w, s, u, e)| Layout {
            epoch: e,
            time_bits: t,
            worker_bits: w,
            seq_bits: s,
            time_unit_ms: u,
        })
}

#[derive(Debug, Clone)]
enum Op {
    Tick(i64),
    Next(u32),
    Resume(i64),
    Worker(i64),
    /// The clock set near the key's own state: its newest wall time (`false`, -2..60 ms)
    /// or its mark (`true`, -2..2 ms), where the edge cases of a step are.
    Near(bool, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (-3_600_000i64..3_600_000).prop_map(Op::Tick),
        2 => (0i64..3).prop_map(Op::Tick),
        8 => prop_oneof![Just(1u32), 1u32..5000].prop_map(Op::Next),
        1 => (0i64..5000).prop_map(Op::Resume),
        1 => (-1i64..9).prop_map(Op::Worker),
        2 => (any::<bool>(), -2i64..60).prop_map(|(m, d)| Op::Near(m, if m { d % 3 } else { d })),
    ]
}

/// A clock reading `d` ms from the start of the key's mark tick or newest-wall-time tick.
fn near(g: &Snowflake, at_mark: bool, d: i64) -> i64 {
    let tick = if at_mark { g.mark } else { g.wall_seen };
    (g.layout().tick_start_ms(tick) + d).max(0)
}

fn small_layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::default()),
        Just(Layout {
            epoch: 0,
            time_bits: 55,
            worker_bits: 4,
            seq_bits: 4,
            time_unit_ms: 1,
        }),
        Just(Layout {
            epoch: E,
            time_bits: 43,
            worker_bits: 2,
            seq_bits: 18,
            time_unit_ms: 1,
        }),
        Just(Layout::JS_SAFE),
        Just(Layout {
            epoch: E,
            time_bits: 40,
            worker_bits: 3,
            seq_bits: 6,
            time_unit_ms: 1000,
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Under any clock (steps back and forward), resumes and worker changes, every issued id
    /// is strictly greater than the one before, stays below the mark, and refusals change
    /// nothing; the compact form, where there is one, round-trips the whole state.
    #[test]
    fn ids_strictly_increase_under_any_clock(layout in small_layout(),
                                             ops in prop::collection::vec(op(), 1..200),
                                             max_borrow in 0i64..50) {
        let mut g = Snowflake::new(layout, None);
        let mut now = E + 1_000_000;
        let mut worker = 0;
        let mut last = -1i64;
        let mut issued = 0u64;
        for op in ops {
            match op {
                Op::Tick(d) => now = (now + d).max(0),
                Op::Near(at_mark, d) => now = near(&g, at_mark, d),
                Op::Worker(w) => worker = w,
                Op::Resume(gap) => { g.resume(gap); }
                Op::Next(n) => {
                    let before = g.clone();
                    match g.next(now, worker, n, max_borrow) {
                        Ok(i) => {
                            for id in i.ids() {
                                prop_assert!(id > last, "id {} after {}", id, last);
                                let (ts, w, _) = layout.decompose(id).unwrap();
                                prop_assert!(ts < g.mark);
                                prop_assert_eq!(w, worker);
                                last = id;
                            }
                            issued += n as u64;
                            let (l, p) = (g.layout(), g.parts());
                            let back = Snowflake::from_parts(l, *g.text(), p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7, p.8);
                            prop_assert_eq!(back.map(|b| (b.layout(), b.parts())), Ok((l, p)));
                        }
                        Err(_) => prop_assert_eq!(&g, &before),
                    }
                }
            }
            // A key keeps the compact form whenever it has one: it must stand for exactly
            // this state.
            if let Some(c) = g.to_compact() {
                prop_assert_eq!(&Snowflake::from_compact(&c), &g);
                g = Snowflake::from_compact(&c);
            }
        }
        prop_assert_eq!(g.ids_issued, issued);
    }

    /// The fast step for one id, where it applies, gives exactly what the general step
    /// gives: the same ids and flags, the same state after. States come from any history
    /// (clock steps, resumes, worker changes, replicated reservations).
    #[test]
    fn the_fast_step_is_the_general_step(layout in small_layout(),
                                         ops in prop::collection::vec(op(), 1..200),
                                         max_borrow in prop_oneof![Just(0i64), 0i64..50, Just(-1)],
                                         fixed in prop_oneof![Just(None), (0i64..3).prop_map(Some)]) {
        let mut g = Snowflake::new(layout, fixed);
        let mut now = E + 1_000_000;
        let mut worker = 0;
        for op in ops {
            match op {
                Op::Tick(d) => now = (now + d).max(0),
                Op::Near(at_mark, d) => now = near(&g, at_mark, d),
                Op::Worker(w) => worker = w,
                Op::Resume(gap) if gap % 3 == 0 => { let (m, w) = (g.mark + gap % 7, g.wall_seen + gap % 5); g.apply_reservation(m, w); }
                Op::Resume(gap) => g.resume(gap),
                Op::Next(n) => {
                    // The limit may change between calls (CONFIG SET idgen.max-borrow-ms).
                    let max_borrow = max_borrow + n as i64 % 3 - 1;
                    let mut general = g.clone();
                    let want = general.next_general(now, worker, 1, max_borrow, || Ok(()));
                    let mut quick = g.clone();
                    match quick.next_one(now, worker, max_borrow) {
                        Some(got) => {
                            prop_assert_eq!(Ok(got), want);
                            prop_assert_eq!(&quick, &general);
                        }
                        None => prop_assert_eq!(&quick, &g),
                    }
                    let _ = g.next(now, worker, n, max_borrow);
                }
            }
        }
    }

    /// `js_safe_until` is exactly the first instant whose tick can compose an id above
    /// 2^53 - 1; `time_exhausted_at` the first whose tick does not fit.
    #[test]
    fn layout_dates(l in any_layout()) {
        if l.validate(None).is_err() {
            // Only the span rule can refuse these layouts.
            prop_assert!(l.total_bits() > 63 || (1i128 << l.time_bits) * l.time_unit_ms as i128 + l.epoch as i128 > i64::MAX as i128);
            return Ok(());
        }
        let k = l.worker_bits as u32 + l.seq_bits as u32;
        let max_of_tick = |t: i64| ((t as i128) << k) | ((1i128 << k) - 1);
        let end = l.time_exhausted_at();
        prop_assert_eq!(l.tick_at(end), 1i64 << l.time_bits);
        prop_assert_eq!(l.tick_at(end - 1), (1i64 << l.time_bits) - 1);
        prop_assert_eq!(l.tick_start_ms(l.tick_at(end)), end);
        prop_assert!(max_of_tick((1i64 << l.time_bits) - 1) <= l.max_id() as i128);
        match l.js_safe_until() {
            None => {
                prop_assert!(l.total_bits() <= 53);
                prop_assert!(l.max_id() <= JS_MAX_SAFE_INTEGER);
            }
            Some(at) => {
                prop_assert!(at >= l.epoch && at < end);
                let t = l.tick_at(at);
                prop_assert_eq!(l.tick_start_ms(t), at);
                prop_assert!(max_of_tick(t) > JS_MAX_SAFE_INTEGER as i128);
                prop_assert!(t == 0 || max_of_tick(t - 1) <= JS_MAX_SAFE_INTEGER as i128);
            }
        }
    }

    /// A replica that only sees the reservations, when promoted, never issues an id the
    /// primary issued.
    #[test]
    fn promoted_replica_starts_above_everything(ops in prop::collection::vec(op(), 1..150),
                                                gap in 0i64..100) {
        let mut primary = Snowflake::new(Layout::default(), Some(1));
        let mut replica = Snowflake::new(Layout::default(), Some(1));
        let mut now = E + 5_000_000;
        let mut last = -1;
        for op in ops {
            match op {
                Op::Tick(d) => now += d,
                Op::Next(n) => if let Ok(i) = primary.next(now, 0, n, 30) {
                    last = i.ids().last().unwrap();
                    if i.advanced {
                        replica.apply_reservation(primary.mark, primary.wall_seen);
                    }
                },
                _ => {}
            }
        }
        replica.resume(gap);
        // Even with the clock far behind, the promoted replica's first id is above.
        if let Ok(i) = replica.next(now - 3_600_000, 0, 1, 1000) {
            prop_assert!(i.first() > last);
        }
    }

    /// A node restarted from a state whose newest reservations were lost (an AOF tail cut
    /// after an idle stretch, then a burst) resumes above every id issued before, however
    /// old the durable mark is, as long as the clock did not go back across the restart.
    #[test]
    fn resume_above_the_clock_covers_a_lost_tail(
        idle in 0i64..60_000,
        burst in prop::collection::vec((0i64..5, 1u32..5000), 1..40),
        restart_after in 0i64..50,
        borrow in 0i64..1000,
    ) {
        let mut g = Snowflake::new(Layout::default(), None);
        let mut now = E + 5_000_000;
        g.next(now, 3, 1, borrow).unwrap();
        let durable = g.clone();
        now += idle;
        let mut last = -1;
        for (dt, n) in burst {
            now += dt;
            if let Ok(i) = g.next(now, 3, n, borrow) {
                last = i.ids().last().unwrap();
            }
        }
        // The crash: only `durable` survives; the node resumes a little later.
        let mut restarted = durable;
        now += restart_after;
        restarted.resume_above(0, Some((now, borrow + MAX_BLOCK_MS)));
        if let Ok(i) = restarted.next(now, 3, 1, borrow) {
            prop_assert!(i.first() > last, "{} <= {}", i.first(), last);
        }
    }
}

/// The named layouts and the decode of an ID against `fixtures/vectors.json` (repository root),
/// the known answers the Python and Node clients test against too.
#[test]
fn fixture_layouts_and_parse_vectors() {
    use crate::fixture::{int, list, text, vectors};
    let v = vectors();
    let layouts = list(&v, "layouts");
    let names: Vec<&str> = layouts.iter().map(|l| text(l, "name")).collect();
    assert!(
        names.contains(&"DEFAULT") && names.contains(&"JS-SAFE"),
        "{names:?}"
    );
    for l in layouts {
        let name = text(l, "name");
        let layout = Layout::named(name.as_bytes()).unwrap();
        assert_eq!(layout.epoch, int(l, "epoch_ms"), "{name}");
        assert_eq!(layout.time_bits as i64, int(l, "time_bits"), "{name}");
        assert_eq!(layout.worker_bits as i64, int(l, "worker_bits"), "{name}");
        assert_eq!(layout.seq_bits as i64, int(l, "sequence_bits"), "{name}");
        assert_eq!(layout.time_unit_ms, int(l, "time_unit_ms"), "{name}");
        // The word is case-insensitive.
        assert_eq!(
            Layout::named(name.to_ascii_lowercase().as_bytes()),
            Ok(layout)
        );
    }
    let parse = list(&v, "parse");
    assert!(parse.len() >= 7, "{} parse vectors", parse.len());
    for p in parse {
        let layout = Layout::named(text(p, "layout").as_bytes()).unwrap();
        let id: i64 = text(p, "id").parse().expect("decimal id");
        let want = (
            int(p, "timestamp_ms"),
            int(p, "worker"),
            int(p, "sequence") as u64,
        );
        assert_eq!(Snowflake::new(layout, None).parse(id), Ok(want), "{p}");
        // And back: the fields compose the same ID.
        let (tick, worker, seq) = layout.decompose(id).unwrap();
        assert_eq!(layout.tick_start_ms(tick), want.0, "{p}");
        assert_eq!(layout.tick_at(want.0), tick, "{p}");
        assert_eq!(layout.compose(tick, worker, seq), id, "{p}");
        if layout == Layout::JS_SAFE {
            assert!(id <= JS_MAX_SAFE_INTEGER, "{p}");
        }
    }
}

const SECRET: crate::opaque::Secret = [0x2B; 16];

#[test]
fn an_opaque_key_maps_the_63_bit_domain_one_to_one() {
    let g = gen().with_opaque(SECRET).unwrap();
    let p = g.opaque().unwrap();
    assert_eq!((p.size(), p.width()), (1u128 << 63, 63));
    // A sample of the domain, its edges included: every public id in [0, 2^63), distinct,
    // and mapped back to the id it came from.
    let ids: std::collections::BTreeSet<i64> = [i64::MAX - 1, i64::MAX]
        .into_iter()
        .chain(0..20_000)
        .chain((1..20_000).map(|i| i * 461_168_601_842_738 + 7))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for &id in &ids {
        let public = g.public(id);
        assert!(public >= 0, "{id} -> {public}");
        assert_eq!(g.issued(public), Ok(id));
        assert!(seen.insert(public), "repeat at {id}");
    }
    assert_eq!(g.issued(-1), Err(Error::ForeignId));
}

#[test]
fn an_opaque_key_issues_in_order_and_replies_scrambled() {
    let mut g = gen().with_opaque(SECRET).unwrap();
    let mut issued = Vec::new();
    for _ in 0..2000 {
        let i = g.next(E + 1000, 5, 1, 1000).unwrap();
        issued.push(i.first());
    }
    assert!(issued.windows(2).all(|w| w[0] < w[1]));
    let public: Vec<i64> = issued.iter().map(|&id| g.public(id)).collect();
    let up = public.windows(2).filter(|w| w[0] < w[1]).count();
    assert!((800..1200).contains(&up), "{up} of 1999 increase");
    for (id, p) in issued.iter().zip(&public) {
        assert_eq!(g.issued(*p), Ok(*id));
    }
    // A narrower layout keeps its width: public ids below 2^(39+4+10).
    let l = Layout {
        time_bits: 39,
        worker_bits: 4,
        seq_bits: 10,
        time_unit_ms: 10,
        ..Layout::default()
    };
    let g = Snowflake::new(l, None).with_opaque(SECRET).unwrap();
    assert_eq!(g.opaque().unwrap().width(), 53);
    assert!((0..1000).all(|id| g.public(id) >> 53 == 0));
    assert_eq!(g.issued(1 << 53), Err(Error::ForeignId));
    // Opaque keys have no compact form.
    assert!(gen().to_compact().is_some());
    assert!(gen().with_opaque(SECRET).unwrap().to_compact().is_none());
}
