//! The pool's reference model: an independent description of the rules, and the property
//! tests that drive the pool and the model side by side.

use super::tests::{check, pool, roundtrip, T0};
use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

// ---- the reference model -----------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Tick(i64),
    /// TTL, holder.
    Acquire(i64, Option<u8>),
    /// A tenure (index mod the count of live ones when even, of all seen so far when odd), TTL,
    /// LAST-TS relative to the clock, and the token used: the tenure's plus `tamper - 1`
    /// (stale or unknown when not 1).
    Renew(usize, i64, Option<i64>, u8),
    Release(usize, Option<i64>, u8),
    Resume(u64),
    Persist,
}

fn ttl() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => MIN_TTL_MS..20_000,
        // Round values, so that clock readings land exactly on expiries and quarantine ends.
        4 => (1i64..20).prop_map(|k| k * 1000),
        1 => Just(MIN_TTL_MS - 1),
        1 => 20_000i64..120_000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let last_ts = prop::option::of(-20_000i64..3_000);
    let tamper = prop_oneof![6 => Just(1u8), 1 => Just(0u8), 1 => Just(2u8)];
    prop_oneof![
        4 => (0i64..3_000).prop_map(Op::Tick),
        3 => (0i64..6).prop_map(|k| Op::Tick(k * 1000)),
        1 => (-1i64..=1).prop_map(Op::Tick),
        3 => (3_000i64..60_000).prop_map(Op::Tick),
        2 => (-2_000i64..0).prop_map(Op::Tick),
        8 => (ttl(), prop::option::of(0u8..4)).prop_map(|(t, h)| Op::Acquire(t, h)),
        5 => (any::<usize>(), ttl(), last_ts.clone(), tamper.clone())
            .prop_map(|(i, t, l, x)| Op::Renew(i, t, l, x)),
        3 => (any::<usize>(), last_ts, tamper).prop_map(|(i, l, x)| Op::Release(i, l, x)),
        1 => (1u64..3).prop_map(Op::Resume),
        1 => Just(Op::Persist),
    ]
}

fn name(h: u8) -> Vec<u8> {
    format!("worker-{h}").into_bytes()
}

/// One grant as the test saw it.
#[derive(Debug, Clone)]
struct Tenure {
    id: u32,
    token: u64,
    holder: Option<u8>,
    expires: i64,
    /// When it was released or replaced (cut short).
    ended: Option<i64>,
    /// The not-before it was granted with.
    not_before: i64,
    before_resume: bool,
}

impl Tenure {
    fn end(&self) -> i64 {
        self.ended.unwrap_or(self.expires)
    }
}

/// What the pool should do, computed independently from the history of grants.
#[derive(Debug)]
struct Model {
    size: u32,
    grace: i64,
    now: i64,
    tenures: Vec<Tenure>,
    latest: HashMap<u32, usize>,
    holder_last: HashMap<u8, usize>,
    reported: HashMap<u32, i64>,
    nb_seen: HashMap<u32, i64>,
    max_token: u64,
    longest: i64,
    window_until: i64,
    floor: i64,
    counters: Counters,
}

impl Model {
    fn new(size: u32, grace: i64) -> Self {
        Model {
            size,
            grace,
            now: 0,
            tenures: Vec::new(),
            latest: HashMap::new(),
            holder_last: HashMap::new(),
            reported: HashMap::new(),
            nb_seen: HashMap::new(),
            max_token: 0,
            longest: 0,
            window_until: 0,
            floor: 0,
            counters: Counters::default(),
        }
    }

    fn live(&self, t: &Tenure) -> bool {
        t.ended.is_none() && t.expires > self.now
    }

    /// Another holder may get `id` now.
    fn grantable(&self, id: u32) -> bool {
        match self.latest.get(&id) {
            None => true,
            Some(&i) => {
                let t = &self.tenures[i];
                t.ended.is_some() || t.expires + self.grace <= self.now
            }
        }
    }

    fn reported(&self, id: u32) -> i64 {
        self.reported.get(&id).copied().unwrap_or(i64::MIN)
    }

    fn expect_acquire(
        &self,
        ttl: i64,
        holder: Option<u8>,
    ) -> std::result::Result<(u32, How), Error> {
        if self.now < self.window_until {
            return Err(Error::PoolResuming {
                retry_ms: self.window_until - self.now,
            });
        }
        if let Some(&i) = holder.and_then(|h| self.holder_last.get(&h)) {
            let t = &self.tenures[i];
            if self.latest[&t.id] == i {
                let kept = self.live(t) && !t.before_resume;
                return Ok((t.id, if kept { How::Kept } else { How::Returned }));
            }
        }
        let _ = ttl;
        match (0..self.size).find(|&id| self.grantable(id)) {
            Some(id) => Ok((id, How::Fresh)),
            None => {
                let at = (0..self.size)
                    .map(|id| self.tenures[self.latest[&id]].expires + self.grace)
                    .min()
                    .unwrap();
                Err(Error::PoolFull {
                    retry_ms: (at - self.now).max(1),
                })
            }
        }
    }

    /// The tenure a (id, token) pair holds now, if any.
    fn holding(&self, id: u32, token: u64) -> Option<usize> {
        let &i = self.latest.get(&id)?;
        let t = &self.tenures[i];
        (t.token == token && self.live(t)).then_some(i)
    }

    fn observe_nb(&mut self, id: u32, nb: i64) -> std::result::Result<(), TestCaseError> {
        let seen = self.nb_seen.entry(id).or_insert(i64::MIN);
        prop_assert!(
            nb >= *seen,
            "not-before of {} went down: {} < {}",
            id,
            nb,
            seen
        );
        *seen = nb;
        Ok(())
    }

    /// The live leases, as `list` should show them.
    fn leases(&self) -> Vec<Row> {
        let mut v: Vec<_> = self
            .latest
            .iter()
            .map(|(_, &i)| &self.tenures[i])
            .filter(|t| self.live(t))
            .map(|t| {
                (
                    t.id,
                    t.holder.map(name),
                    t.token,
                    t.expires,
                    t.not_before.max(self.reported(t.id)),
                )
            })
            .collect();
        v.sort();
        v
    }
}

/// A live lease as the tests compare them: id, holder, token, expiry, not-before.
type Row = (u32, Option<Vec<u8>>, u64, i64, i64);

fn pick(m: &Model, pick: usize) -> Tenure {
    let live: Vec<&Tenure> = m
        .latest
        .values()
        .map(|&i| &m.tenures[i])
        .filter(|t| m.live(t))
        .collect();
    if pick.is_multiple_of(2) && !live.is_empty() {
        let mut live = live;
        live.sort_by_key(|t| t.id);
        live[pick / 2 % live.len()].clone()
    } else {
        m.tenures[pick / 2 % m.tenures.len()].clone()
    }
}

fn token_of(t: &Tenure, tamper: u8) -> u64 {
    (t.token + tamper as u64).saturating_sub(1).max(1)
}

/// Runs `ops` against the pool and the model, checking every result exactly and the
/// properties of the spec along the way.
fn run_model(
    p: &mut Pool,
    m: &mut Model,
    clock: &mut i64,
    ops: &[Op],
) -> std::result::Result<(), TestCaseError> {
    for op in ops {
        let untouched = p.clone();
        let mut touched = p.clone();
        touched.touch(*clock);
        let result: Result<()> = match op.clone() {
            Op::Tick(d) => {
                *clock += d;
                Ok(())
            }
            Op::Persist => {
                let back = roundtrip(p);
                prop_assert_eq!(&back, &*p);
                *p = back;
                Ok(())
            }
            Op::Resume(gaps) => {
                p.resume(*clock, gaps);
                m.now = m.now.max(*clock);
                m.window_until = m.window_until.max(m.now + m.longest + m.grace);
                m.floor = m.floor.max(m.now + m.longest);
                for t in &mut m.tenures {
                    t.before_resume = true;
                }
                Ok(())
            }
            Op::Acquire(ttl, holder) => {
                let h = holder.map(name);
                let r = p.acquire(*clock, ttl, h.as_deref());
                if ttl < MIN_TTL_MS {
                    prop_assert_eq!(&r, &Err(Error::OutOfRange("TTL", MIN_TTL_MS, MAX_TTL_MS)));
                    r.map(|_| ())
                } else {
                    m.now = m.now.max(*clock);
                    let expect = m.expect_acquire(ttl, holder);
                    match (&r, expect) {
                        (Err(e), Err(x)) => {
                            prop_assert_eq!(e, &x);
                            m.counters.refusals += 1;
                        }
                        (Ok(g), Ok((id, How::Kept))) => {
                            let i = m.latest[&id];
                            // The old expiry counts as reported: a restarted holder under
                            // this name may not know what was issued before it.
                            let old = m.tenures[i].expires;
                            let r = m.reported.entry(id).or_insert(i64::MIN);
                            *r = (*r).max(old);
                            let t = &mut m.tenures[i];
                            prop_assert_eq!((g.id, g.how, g.token), (id, How::Kept, t.token));
                            t.expires = t.expires.max(m.now + ttl);
                            prop_assert_eq!(g.expires, t.expires);
                            let nb = t.not_before.max(m.reported(id));
                            prop_assert_eq!(g.not_before, nb);
                            m.observe_nb(id, nb)?;
                            m.longest = m.longest.max(ttl);
                            m.counters.renewals += 1;
                        }
                        (Ok(g), Ok((id, how))) => {
                            prop_assert_eq!((g.id, g.how), (id, how));
                            prop_assert!(m.now >= m.window_until, "granted within a resume window");
                            prop_assert!(g.token > m.max_token, "tokens only grow");
                            if let Some(&i) = m.latest.get(&id) {
                                // The previous lease on the ID: not live (or the holder's own
                                // from before a resume, cut now), and out of quarantine unless
                                // it is the same holder's.
                                let prev = m.tenures[i].clone();
                                if m.live(&prev) {
                                    prop_assert!(
                                        prev.before_resume
                                            && prev.holder == holder
                                            && holder.is_some()
                                    );
                                    m.tenures[i].ended = Some(prev.expires.min(m.now));
                                } else if prev.ended.is_none() && prev.holder != holder {
                                    prop_assert!(
                                        m.now >= prev.expires + m.grace,
                                        "a quarantined ID went to another holder"
                                    );
                                }
                            }
                            // Not-before: above every earlier lease's end and reported LAST-TS.
                            let mut nb = m.floor.max(m.reported(id));
                            for t in m.tenures.iter().filter(|t| t.id == id) {
                                nb = nb.max(t.end());
                            }
                            prop_assert_eq!(g.not_before, nb);
                            m.observe_nb(id, g.not_before)?;
                            prop_assert_eq!(g.expires, m.now + ttl);
                            m.max_token = g.token;
                            m.longest = m.longest.max(ttl);
                            m.tenures.push(Tenure {
                                id,
                                token: g.token,
                                holder,
                                expires: g.expires,
                                ended: None,
                                not_before: g.not_before,
                                before_resume: false,
                            });
                            m.latest.insert(id, m.tenures.len() - 1);
                            if let Some(h) = holder {
                                m.holder_last.insert(h, m.tenures.len() - 1);
                            }
                            m.counters.grants += 1;
                        }
                        (r, x) => prop_assert!(false, "acquire gave {:?}, expected {:?}", r, x),
                    }
                    r.map(|_| ())
                }
            }
            Op::Renew(..) | Op::Release(..) if m.tenures.is_empty() => Ok(()),
            Op::Renew(i, ttl, last_ts, tamper) => {
                let t = pick(m, i);
                let token = token_of(&t, tamper);
                let last_ts = last_ts.map(|d| (m.now.max(*clock) + d).max(0));
                let r = p.renew(*clock, t.id, token, ttl, last_ts);
                if ttl < MIN_TTL_MS {
                    prop_assert!(r.is_err());
                } else {
                    m.now = m.now.max(*clock);
                    match (&r, m.holding(t.id, token)) {
                        (Ok(rn), Some(i)) => {
                            if let Some(ts) = last_ts {
                                let e = m.reported.entry(t.id).or_insert(ts);
                                *e = (*e).max(ts);
                            }
                            let reported = m.reported(t.id);
                            let tn = &mut m.tenures[i];
                            tn.expires = tn.expires.max(m.now + ttl);
                            let nb = tn.not_before.max(reported);
                            prop_assert_eq!(
                                (rn.token, rn.expires, rn.not_before),
                                (token, tn.expires, nb)
                            );
                            m.observe_nb(t.id, nb)?;
                            m.longest = m.longest.max(ttl);
                            m.counters.renewals += 1;
                        }
                        (Err(Error::LeaseLost { id, .. }), None) => {
                            prop_assert_eq!(*id, t.id as i64);
                            m.counters.refusals += 1;
                        }
                        (r, x) => prop_assert!(false, "renew gave {:?}, expected {:?}", r, x),
                    }
                }
                r.map(|_| ())
            }
            Op::Release(i, last_ts, tamper) => {
                let t = pick(m, i);
                let token = token_of(&t, tamper);
                let last_ts = last_ts.map(|d| (m.now.max(*clock) + d).max(0));
                let r = p.release(*clock, t.id, token, last_ts);
                m.now = m.now.max(*clock);
                match (&r, m.holding(t.id, token)) {
                    (Ok(rl), Some(i)) => {
                        if let Some(ts) = last_ts {
                            let e = m.reported.entry(t.id).or_insert(ts);
                            *e = (*e).max(ts);
                        }
                        let now = m.now;
                        let tn = &mut m.tenures[i];
                        tn.ended = Some(tn.expires.min(now));
                        let nb = tn.not_before.max(tn.end());
                        let nb = nb.max(m.reported(t.id));
                        prop_assert_eq!(rl.not_before, nb);
                        m.observe_nb(t.id, nb)?;
                        m.counters.releases += 1;
                    }
                    (Err(Error::LeaseLost { .. }), None) => m.counters.refusals += 1,
                    (r, x) => prop_assert!(false, "release gave {:?}, expected {:?}", r, x),
                }
                r.map(|_| ())
            }
        };
        match result {
            // An error changes nothing but the clock's effects and the refusal counter.
            Err(Error::OutOfRange(..)) => prop_assert_eq!(&*p, &untouched),
            Err(_) => {
                touched.counters.refusals = p.counters.refusals;
                prop_assert_eq!(&*p, &touched);
            }
            Ok(()) => {}
        }
        // The pool agrees with the model: live leases, one per ID and per holder.
        let got: Vec<Row> = p
            .list(m.now)
            .iter()
            .map(|l| {
                (
                    l.id,
                    l.holder.map(<[u8]>::to_vec),
                    l.token,
                    l.expires,
                    l.not_before,
                )
            })
            .collect();
        prop_assert_eq!(&got, &m.leases());
        let holders: Vec<_> = got.iter().filter_map(|l| l.1.clone()).collect();
        prop_assert_eq!(holders.iter().collect::<BTreeSet<_>>().len(), holders.len());
        let mut c = p.counters;
        c.expiries = 0;
        prop_assert_eq!(c, m.counters);
        check(
            p,
            matches!(
                op,
                Op::Acquire(..) | Op::Renew(..) | Op::Release(..) | Op::Resume(..)
            ) && !matches!(result, Err(Error::OutOfRange(..)))
                && !m.tenures.is_empty(),
            true,
        );
    }
    Ok(())
}

/// A change a call made, as the glue sees it.
#[derive(Debug, Clone, Copy)]
enum Change {
    Grant(Grant),
    Renew(Renewed),
    Release(Released),
}

impl Change {
    fn id(&self) -> u32 {
        match self {
            Change::Grant(g) => g.id,
            Change::Renew(r) => r.id,
            Change::Release(r) => r.id,
        }
    }
    fn advanced(&self) -> bool {
        match self {
            Change::Grant(g) => g.advanced,
            Change::Renew(r) => r.advanced,
            Change::Release(_) => false,
        }
    }
}

/// Runs `ops` on a pool as a client would, without a model: renewals and releases go to the
/// leases `list` shows (or to a made-up token when `tamper` is not 1), TTLs are capped at
/// `ttl_cap`, resumes are skipped. `seen` gets every change right after its call.
fn drive(
    p: &mut Pool,
    clock: &mut i64,
    ops: &[Op],
    ttl_cap: i64,
    seen: &mut dyn FnMut(&Pool, Change),
) {
    for op in ops {
        let listed: Vec<(u32, u64)> = p.list(*clock).iter().map(|l| (l.id, l.token)).collect();
        let lease = |i: usize, tamper: u8| {
            (!listed.is_empty()).then(|| {
                let (id, token) = listed[i % listed.len()];
                (id, (token + tamper as u64).saturating_sub(1).max(1))
            })
        };
        let change = match op.clone() {
            Op::Tick(d) => {
                *clock += d;
                None
            }
            Op::Resume(_) => None,
            Op::Persist => {
                *p = roundtrip(p);
                None
            }
            Op::Acquire(ttl, h) => p
                .acquire(*clock, ttl.min(ttl_cap), h.map(name).as_deref())
                .ok()
                .map(Change::Grant),
            Op::Renew(i, ttl, last_ts, tamper) => lease(i, tamper).and_then(|(id, token)| {
                let last_ts = last_ts.map(|d| (*clock + d).max(0));
                p.renew(*clock, id, token, ttl.min(ttl_cap), last_ts)
                    .ok()
                    .map(Change::Renew)
            }),
            Op::Release(i, last_ts, tamper) => lease(i, tamper).and_then(|(id, token)| {
                let last_ts = last_ts.map(|d| (*clock + d).max(0));
                p.release(*clock, id, token, last_ts)
                    .ok()
                    .map(Change::Release)
            }),
        };
        if let Some(c) = change {
            seen(p, c);
        }
    }
}

/// What a replica or the AOF receives.
#[derive(Debug, Clone)]
enum Effect {
    Id(IdState),
    Reservation(Reservation),
}

fn apply_effect(q: &mut Pool, e: &Effect) {
    match e {
        Effect::Id(s) => {
            q.apply(s).unwrap();
        }
        Effect::Reservation(r) => q.apply_reservation(*r).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The pool against an independent model, under random acquires (named and anonymous),
    /// renewals and releases (with stale and wrong tokens), clock steps forward and back,
    /// resumes and persistence round trips: every result is the one the model predicts, so no
    /// two live leases share an ID, tokens only grow, not-before never goes down and is above
    /// every earlier lease's end and reported LAST-TS, a quarantined ID goes to no other
    /// holder, nothing is granted within a resume window, and errors change nothing.
    #[test]
    fn pool_follows_the_model(size in 1u32..7,
                              grace in prop_oneof![Just(0i64), 1i64..8_000, Just(2000)],
                              ops in prop::collection::vec(op(), 1..150)) {
        let mut p = pool(size, grace);
        let mut m = Model::new(size, grace);
        let mut clock = T0;
        run_model(&mut p, &mut m, &mut clock, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A lost history: the primary grants, renews and releases after the state a node resumes
    /// from (a snapshot: the last durable RDB or AOF write, or what a replica received). The
    /// resumed node never grants an ID a lost lease may still use: not before that lease's
    /// expiry plus the grace, and then with a not-before above its expiry and a higher token;
    /// a lost grant's holder is told it lost the lease.
    #[test]
    fn resume_never_regrants_a_lost_lease(
        size in 1u32..6, grace in prop_oneof![Just(0i64), 1i64..5_000],
        before in prop::collection::vec(op(), 0..40),
        lost in prop::collection::vec(op(), 1..20),
        after in prop::collection::vec(op(), 1..120),
        gaps in 1u64..3, delay in 0i64..10_000)
    {
        let mut p = pool(size, grace);
        let mut clock = T0;
        drive(&mut p, &mut clock, &before, MAX_TTL_MS, &mut |_, _| {});
        let _ = p.acquire(clock, 3000, Some(b"seed"));
        let snapshot = p.clone();
        let longest = snapshot.reservation().longest_ttl_ms;
        prop_assert!(longest >= MIN_TTL_MS);
        // (id, token, expiry, a token the snapshot does not know) of every lost change.
        let mut lost_leases: Vec<(u32, u64, i64, bool)> = Vec::new();
        drive(&mut p, &mut clock, &lost, longest, &mut |p, c| {
            let s = p.export(c.id()).unwrap();
            let known = snapshot.export(c.id()).is_some_and(|k| k.token == s.token);
            lost_leases.push((s.id, s.token, s.expires, !known));
        });
        prop_assert!(p.reservation().longest_ttl_ms == longest);
        let max_lost = lost_leases.iter().map(|l| l.1).max().unwrap_or(0);
        let fail = p.clock_seen() + delay;
        let mut r = snapshot;
        r.resume(fail, gaps);
        let window_end = fail + longest + grace;
        let mut clock = fail;
        for op in &after {
            match op {
                Op::Tick(d) => clock += d,
                Op::Acquire(ttl, h) => {
                    if let Ok(g) = r.acquire(clock, *ttl, h.map(name).as_deref()) {
                        let now = r.clock_seen();
                        prop_assert!(now >= window_end);
                        for l in lost_leases.iter().filter(|l| l.0 == g.id) {
                            prop_assert!(now >= l.2 + grace, "granted {} at {} in use until {}", g.id, now, l.2);
                            prop_assert!(g.not_before >= l.2);
                        }
                        prop_assert!(g.token > max_lost);
                    }
                }
                Op::Renew(i, _, _, _) | Op::Release(i, _, _) if i % 2 == 1 => {
                    // A lost grant's holder renews or releases: it is told it lost the ID.
                    if let Some(l) = lost_leases.iter().filter(|l| l.3).nth(i / 2 % lost_leases.len().max(1)) {
                        let res = if matches!(op, Op::Renew(..)) {
                            r.renew(clock, l.0, l.1, MIN_TTL_MS, None).map(|_| ())
                        } else {
                            r.release(clock, l.0, l.1, None).map(|_| ())
                        };
                        prop_assert!(matches!(res, Err(Error::LeaseLost { .. })), "{:?}", res);
                    }
                }
                op => drive(&mut r, &mut clock, std::slice::from_ref(op), MAX_TTL_MS, &mut |_, _| {}),
            }
        }
        check(&r, false, true);
    }

    /// A replica that applies every effect (and some again, late) holds the primary's leases,
    /// reservation and tokens; replaying any part of the stream changes nothing; promoted, it
    /// hands out tokens above every token the primary issued.
    #[test]
    fn replica_follows_the_effects(
        size in 1u32..7, grace in prop_oneof![Just(0i64), 1i64..5_000],
        ops in prop::collection::vec(op(), 1..150),
        replays in prop::collection::vec(any::<prop::sample::Index>(), 0..20))
    {
        let mut p = pool(size, grace);
        let mut q = pool(size, grace);
        let mut clock = T0;
        let mut stream: Vec<Effect> = Vec::new();
        drive(&mut p, &mut clock, &ops, MAX_TTL_MS, &mut |p, c| {
            let mut new = vec![Effect::Id(p.export(c.id()).unwrap())];
            if c.advanced() {
                new.push(Effect::Reservation(p.reservation()));
            }
            for e in &new {
                apply_effect(&mut q, e);
                check(&q, false, true);
            }
            stream.extend(new);
            // A late copy of an earlier effect changes nothing.
            let old = &stream[stream.len() * 7919 % stream.len()];
            let before = q.clone();
            apply_effect(&mut q, old);
            assert_eq!(q, before, "late {:?}", old);
        });
        let now = p.clock_seen();
        prop_assert_eq!(q.list(now), p.list(now));
        prop_assert_eq!(q.reservation(), p.reservation());
        prop_assert_eq!(q.parts().next_token, p.parts().next_token);
        check(&q, false, true);
        let before = q.clone();
        for i in &replays {
            if !stream.is_empty() {
                apply_effect(&mut q, &stream[i.index(stream.len())]);
            }
        }
        for e in &stream {
            apply_effect(&mut q, e);
        }
        prop_assert_eq!(&q, &before);
        // The whole state as effects (a full export) gives the same leases.
        let mut s = pool(size, grace);
        for e in p.records() {
            s.apply(&e).unwrap();
        }
        s.apply_reservation(p.reservation()).unwrap();
        prop_assert_eq!(s.list(now), p.list(now));
        // Promoted: tokens above everything the primary issued.
        q.resume(now, 1);
        prop_assert!(q.parts().next_token > p.parts().next_token);
        let window = now + p.reservation().longest_ttl_ms + grace;
        if let Ok(g) = q.acquire(window, MIN_TTL_MS, None) {
            prop_assert!(g.token >= p.reservation().token_mark + TOKEN_BLOCK);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever `apply` and `apply_reservation` accept, in any order (a damaged AOF or
    /// stream: tokens on several IDs, holders on several IDs, phases in any order), leaves a
    /// pool that persists and loads again unchanged: a node never holds a state its next
    /// restart would refuse.
    #[test]
    fn whatever_apply_accepts_loads_again(
        size in 1u32..6,
        effects in prop::collection::vec(
            (0u32..7, 1u64..12, prop::option::of(0u8..3), 0i64..20_000, 0i64..20_000,
             0u8..3, prop::option::of((0u64..3000, 0i64..MAX_TTL_MS))),
            1..60))
    {
        let mut p = pool(size, 100);
        for (id, token, holder, expires, not_before, phase, res) in effects {
            let phase = [Phase::Held, Phase::Quarantined, Phase::Free][phase as usize];
            let _ = p.apply(&IdState {
                id,
                token,
                holder: holder.map(name),
                expires: T0 + expires,
                not_before: T0 + not_before,
                phase,
            });
            if let Some((mark, longest)) = res {
                let _ = p.apply_reservation(Reservation {
                    token_mark: mark,
                    longest_ttl_ms: longest,
                });
            }
        }
        let q = Pool::from_parts(p.parts(), p.records());
        prop_assert!(q.is_ok(), "{:?}", q.err());
        let q = q.unwrap();
        // Equal but for which of a holder's equal-token records its index names.
        prop_assert_eq!(q.parts(), p.parts());
        prop_assert_eq!(q.records().collect::<Vec<_>>(), p.records().collect::<Vec<_>>());
        prop_assert_eq!(q.list(T0), p.list(T0));
        prop_assert_eq!(q.info(T0 + 30_000), p.info(T0 + 30_000));
    }
}
