//! Worker-ID pool: leases on the worker IDs `0..size` of one key, fenced by tokens.
//!
//! Pure logic: the server clock (unix ms) is an argument of every call, so every rule is testable
//! without Redis. Nothing here replies, replicates or emits events; each call returns what the
//! glue needs to do so.
//!
//! # Leases
//!
//! `acquire` grants an ID that no live lease holds, for `ttl_ms`
//! (`MIN_TTL_MS..=MAX_TTL_MS`), with:
//! - a fencing **token**, strictly increasing over every grant of the pool, across restarts and
//!   failovers (see *Tokens* and *Resume*);
//! - the lease **expiry**, `now + ttl_ms`;
//! - a **not-before** timestamp: the holder must generate above it. It is the ID's not-before
//!   (below), which is at least the end of every earlier lease on the ID and every `LAST-TS` an
//!   earlier holder reported.
//!
//! An ID is in one of three phases:
//! - `Held`: leased until `expires` (exclusive: at `now >= expires` the lease is over);
//! - `Quarantined`: the lease expired at `expires`; the ID is granted to no *other* holder before
//!   `expires + grace_ms` (the pool's grace, fixed at creation). The grace covers clock skew
//!   between the server and the holder, and a holder that is late to notice it lost the lease;
//! - `Free`: released, or out of quarantine; grantable.
//!
//! `renew` extends a lease (same token); `release` ends it at once (the ID is free at once).
//! Both are fenced: an expired or released lease, or a token that is not the ID's current one, is
//! refused with `LEASELOST`, telling the holder to stop issuing with the ID.
//!
//! # Not-before
//!
//! Each ID keeps a not-before that only goes up. When a lease ends, its end is folded in: its
//! expiry when it expires, `min(expiry, now)` when it is released or replaced (the holder stopped
//! then). A `LAST-TS` given to `renew` or `release` (the newest timestamp the holder used) is folded
//! in too, so a holder that runs ahead of the clock (borrowing) must report it. A holder whose
//! clock may be ahead of the server's should pass `LAST-TS` to `release`. A grant returns the ID's
//! not-before, raised to the pool's resume floor (see *Resume*).
//!
//! # A holder asking again
//!
//! `holder` (optional, 1..=`MAX_HOLDER_LEN` bytes) names the caller. A holder name is an
//! identity: two processes that share one are one holder. A named holder that asks again gets:
//! - `How::Kept`: its live lease, **same token**, expiry raised to `now + ttl` (never lowered).
//!   The unchanged token is how the holder tells it held the ID without a break; an acquire
//!   retried after a lost reply is harmless. The ID's not-before is raised to the lease's old
//!   expiry first: the caller may be a restarted process under the same name, which cannot know
//!   what its previous incarnation issued before its deadline (at most that expiry). (A lease
//!   from before the latest resume is not kept as is: see *Resume*.)
//! - `How::Returned`: its previous ID again, with a **new token**, when that ID was not granted to
//!   anyone else since: expired (even in quarantine: the quarantine protects *other* holders),
//!   released, or held by it from before the latest resume. The new token says the tenure broke;
//!   the not-before covers the old lease.
//! - `How::Fresh` otherwise (and always for anonymous callers): the lowest grantable ID, so the
//!   used IDs stay compact.
//!
//! A holder has at most one live lease.
//!
//! # Clock
//!
//! Every call first observes the clock: `clock_seen = max(clock_seen, now)`, and judges with
//! `clock_seen`. A clock that steps back therefore revives no lease and shortens none; a lease
//! granted then runs from `clock_seen`. A clock that steps *forward* expires leases early: the
//! grace must cover forward steps and skew between the server and the holders. `clock_seen` is
//! persisted. Read-only calls (`list`, `info`, `route`) judge with `max(now, clock_seen)` without
//! storing it.
//!
//! Expirations are found lazily when a call touches the pool (`touch`, which every writing call
//! does first): `touch` returns the expired IDs for the `expire` events. O(log n) per expiry.
//!
//! # Tokens
//!
//! Tokens are handed out below a reserved `token_mark`. A grant that reaches the mark first
//! raises it by `TOKEN_BLOCK`; the grant then reports `advanced`, and the glue replicates the
//! reservation (`reservation()`: the mark and the longest TTL, which also raises `advanced`).
//! Every grant, renewal and release also has an absolute, idempotent effect, the ID's state
//! (`export(id)`), for replicas and the AOF; `apply` takes it raise-only (an effect with an older
//! token than the ID's is ignored).
//!
//! # Resume (after a load or a promotion)
//!
//! A node that takes the pool from a load or that is promoted may miss the newest effects: a
//! grant, renewal or release it never received. The glue calls `resume(now, gaps)` once, at the
//! pool's first use in a new serving generation (`gaps` loads or promotions since the pool's
//! newest durable state, as for the other types). Then:
//! - tokens resume at `token_mark + gaps * TOKEN_BLOCK` at least, above every token issued
//!   (one lost mark raise per generation is covered, as for the other types);
//! - every lease the state knows keeps its holder and token: `renew` works as before (safe: a
//!   holder that released its ID, in lost history or not, does not renew it);
//! - **no ID is granted until `now + longest_ttl + grace_ms`** (`ACQUIRE` is refused with
//!   `POOLRESUMING`, which says how long to wait). A lost grant was made before `now` with a TTL of
//!   at most the pool's longest ever (persisted), so it has expired by `now + longest_ttl`; the
//!   grace covers skew as usual. No ID is provably free meanwhile: even one the state shows held
//!   may have been released and granted again in the lost history, so the window holds for all;
//! - every later grant's not-before is at least `now + longest_ttl` (the pool's resume floor), so
//!   whoever gets an ID generates above anything a lost lease on it could have used;
//! - a holder re-acquiring a lease granted before the resume gets it `Returned` with a new token,
//!   never `Kept`: the lost history may have ended it and granted the ID to another holder, whose
//!   token is higher; a fresh token keeps the caller from being fenced out by it.
//!
//! Cost: after every load or promotion, `ACQUIRE` on the pool is refused for the longest TTL it
//! ever granted plus the grace (keep TTLs short: 10 s of TTL and 5 s of grace cost 15 s);
//! renewals, releases, `LIST` and `ROUTE` work meanwhile. A lost grant's holder gets `LEASELOST`
//! at its next renewal (its token is unknown), and must acquire again after the window.
//! Not covered: a lost grant whose TTL was longer than every TTL the surviving state knows (the
//! first grant of a new pool, or a client raising its TTL), and a `LAST-TS` above the lost
//! lease's expiry that was reported only in the lost history.
//!
//! # Route
//!
//! The fixed rendezvous hash of `route` is specified in `route`'s module docs.
//!
//! # Memory and cost
//!
//! Per-ID records exist only for IDs ever granted (a sparse ordered map), so an empty pool of
//! 2^20 IDs costs a few hundred bytes. A grant takes the lowest of the never-used IDs (a counter)
//! and the free set (an ordered set of released or out-of-quarantine IDs). Live leases are
//! indexed by expiry and quarantined IDs by the end of their quarantine. Every call is
//! O(log n) plus O(log n) per expiry it finds, except `list` and `route` (O(live)), `info`
//! (O(log n) plus the expiries not yet found) and `from_parts` (O(n log n)).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};

mod leases;
mod persist;
mod route;

use route::rank;
pub use route::{route_ids, route_weight};

pub const DEFAULT_SIZE: u32 = 1024;
pub const MAX_SIZE: u32 = 1 << 20;
pub const MIN_TTL_MS: i64 = 1_000;
pub const MAX_TTL_MS: i64 = 24 * 3_600_000;
pub const DEFAULT_GRACE_MS: i64 = 5_000;
pub const MAX_GRACE_MS: i64 = 3_600_000;
/// Longest holder name, in bytes.
pub const MAX_HOLDER_LEN: usize = 256;
/// Tokens reserved per mark raise.
pub const TOKEN_BLOCK: u64 = 1024;
/// Tokens travel as signed 64-bit integers; the first is 1.
pub const MAX_TOKEN: u64 = i64::MAX as u64;
/// A reported `LAST-TS` may be at most this far ahead of the server clock (catches a client
/// reporting micro- or nanoseconds, which would make the ID unusable).
pub const MAX_LAST_TS_AHEAD_MS: i64 = MAX_TTL_MS;

/// A pool's settings, fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// The pool leases IDs `0..size`.
    pub size: u32,
    /// How long an expired lease's ID stays quarantined (ms).
    pub grace_ms: i64,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            size: DEFAULT_SIZE,
            grace_ms: DEFAULT_GRACE_MS,
        }
    }
}

impl PoolOptions {
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_SIZE).contains(&self.size) {
            return Err(Error::OutOfRange("SIZE", 1, MAX_SIZE as i64));
        }
        if !(0..=MAX_GRACE_MS).contains(&self.grace_ms) {
            return Err(Error::OutOfRange("GRACE", 0, MAX_GRACE_MS));
        }
        Ok(())
    }
}

/// Checks a lease TTL.
pub fn check_ttl(ttl_ms: i64) -> Result<()> {
    if (MIN_TTL_MS..=MAX_TTL_MS).contains(&ttl_ms) {
        Ok(())
    } else {
        Err(Error::OutOfRange("TTL", MIN_TTL_MS, MAX_TTL_MS))
    }
}

/// Checks a holder name.
pub fn check_holder(holder: &[u8]) -> Result<()> {
    if (1..=MAX_HOLDER_LEN).contains(&holder.len()) {
        Ok(())
    } else {
        Err(Error::OutOfRange("HOLDER length", 1, MAX_HOLDER_LEN as i64))
    }
}

/// Where an ID stands (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Held,
    Quarantined,
    Free,
}

/// How `acquire` granted an ID (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// An ID the holder did not have before (or an anonymous grant).
    Fresh,
    /// The holder's live lease: same ID, same token, expiry extended.
    Kept,
    /// The holder's previous ID again, with a new token.
    Returned,
}

/// The pool's counters (`info`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// `Fresh` and `Returned` grants.
    pub grants: u64,
    /// Renewals, and acquires that `Kept` a lease.
    pub renewals: u64,
    pub releases: u64,
    /// Leases found expired.
    pub expiries: u64,
    /// `POOLFULL`, `POOLRESUMING` and `LEASELOST` replies.
    pub refusals: u64,
}

/// One ID's per-ID record (kept only for IDs ever granted).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    /// The token of the ID's newest grant.
    token: u64,
    /// Held: the lease's expiry. Quarantined: when it expired. Free: when the newest lease ended.
    expires: i64,
    /// Only goes up.
    not_before: i64,
    /// The newest grant's holder.
    holder: Option<Box<[u8]>>,
    phase: Phase,
}

/// One ID's absolute state: the effect replicas and the AOF receive, and the persisted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdState {
    pub id: u32,
    pub token: u64,
    pub holder: Option<Vec<u8>>,
    pub expires: i64,
    pub not_before: i64,
    pub phase: Phase,
}

/// A live lease as `list` and `route` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease<'a> {
    pub id: u32,
    pub holder: Option<&'a [u8]>,
    pub token: u64,
    pub expires: i64,
    pub not_before: i64,
}

/// The reservation: replicated when a call reports `advanced`. Absolute and raise-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// Every token handed out is below it.
    pub token_mark: u64,
    /// The longest TTL the pool ever granted or renewed for (ms); sizes the resume window.
    pub longest_ttl_ms: i64,
}

/// A successful `acquire` (event `acquire`; replicate `export(id)`, and `reservation()` when
/// `advanced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub id: u32,
    pub token: u64,
    pub expires: i64,
    pub not_before: i64,
    pub how: How,
    pub advanced: bool,
}

/// A successful `renew` (event `renew`; replicate `export(id)`, and `reservation()` when
/// `advanced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewed {
    pub id: u32,
    pub token: u64,
    pub expires: i64,
    pub not_before: i64,
    pub advanced: bool,
}

/// A successful `release` (event `release`; replicate `export(id)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub id: u32,
    pub token: u64,
    pub not_before: i64,
}

/// `info`: the pool as of `max(now, clock_seen)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolInfo {
    pub options: PoolOptions,
    pub live: u32,
    pub quarantined: u32,
    /// Neither live nor quarantined (never used, released, or out of quarantine).
    pub free: u32,
    /// IDs that have a record (were ever granted).
    pub used: u32,
    /// The earliest expiry of a live lease.
    pub next_expiry: Option<i64>,
    /// How long `acquire` is still refused after a resume (0 when not resuming).
    pub resume_wait_ms: i64,
    pub next_token: u64,
    pub token_mark: u64,
    pub longest_ttl_ms: i64,
    /// Counters; `expiries` includes expiries not yet found by a touch.
    pub counters: Counters,
}

/// The persisted pool-wide fields (the per-ID records come from `records`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolParts {
    pub options: PoolOptions,
    /// The serving generation of the newest state this pool reflects; opaque to the core.
    pub gen: u16,
    pub next_token: u64,
    pub token_mark: u64,
    pub longest_ttl_ms: i64,
    pub clock_seen: i64,
    pub resume_until: i64,
    pub not_before_floor: i64,
    pub resume_token: u64,
    pub counters: Counters,
}

/// The state of one pool key: flat pool-wide fields, sparse per-ID records and their indexes
/// (derived: `from_parts` rebuilds them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    size: u32,
    grace_ms: i64,
    /// The serving generation of the newest state this pool reflects (see `glue::serving`);
    /// opaque to the core.
    pub gen: u16,
    /// The token the next grant gets.
    next_token: u64,
    /// Exclusive ceiling on handed-out tokens; replicated and persisted.
    token_mark: u64,
    /// The longest TTL ever granted or renewed for; replicated and persisted.
    longest_ttl: i64,
    /// The newest clock reading seen.
    clock_seen: i64,
    /// After a resume, no grant before this (unix ms).
    resume_until: i64,
    /// After a resume, every grant's not-before is at least this.
    not_before_floor: i64,
    /// The first token of the latest resume: leases with older tokens are never `Kept`.
    resume_token: u64,
    pub counters: Counters,
    /// Per-ID records, only for IDs ever granted.
    slots: BTreeMap<u32, Slot>,
    /// The lowest ID without a record.
    next_fresh: u32,
    /// Phase `Free`.
    free: BTreeSet<u32>,
    /// Phase `Held`, by (expiry, id).
    live: BTreeSet<(i64, u32)>,
    /// Phase `Quarantined`, by (end of quarantine, id).
    quarantine: BTreeSet<(i64, u32)>,
    /// Holder name -> the ID of its newest grant (while its record still names it).
    holders: BTreeMap<Box<[u8]>, u32>,
}

impl Pool {
    /// A new, empty pool; `options` must have been validated.
    pub fn new(options: PoolOptions) -> Self {
        Pool {
            size: options.size,
            grace_ms: options.grace_ms,
            gen: 0,
            next_token: 1,
            token_mark: 0,
            longest_ttl: 0,
            clock_seen: 0,
            resume_until: 0,
            not_before_floor: 0,
            resume_token: 0,
            counters: Counters::default(),
            slots: BTreeMap::new(),
            next_fresh: 0,
            free: BTreeSet::new(),
            live: BTreeSet::new(),
            quarantine: BTreeSet::new(),
            holders: BTreeMap::new(),
        }
    }

    pub fn options(&self) -> PoolOptions {
        PoolOptions {
            size: self.size,
            grace_ms: self.grace_ms,
        }
    }

    pub fn clock_seen(&self) -> i64 {
        self.clock_seen
    }

    pub fn reservation(&self) -> Reservation {
        Reservation {
            token_mark: self.token_mark,
            longest_ttl_ms: self.longest_ttl,
        }
    }

    fn observe(&mut self, now: i64) -> i64 {
        self.clock_seen = self.clock_seen.max(now);
        self.clock_seen
    }

    fn effective(&self, now: i64) -> i64 {
        self.clock_seen.max(now)
    }

    /// Observes the clock and finds what the passage of time changed: expired leases go to
    /// quarantine (their expiry folded into the ID's not-before), ended quarantines to the free
    /// set. Returns the IDs found expired, for `expire` events. Every writing call does this first;
    /// the glue calls it itself first when it emits events, so that events are not lost when the
    /// call then fails.
    pub fn touch(&mut self, now: i64) -> Vec<u32> {
        let now = self.observe(now);
        let mut expired = Vec::new();
        while let Some(&(exp, id)) = self.live.first() {
            if exp > now {
                break;
            }
            self.live.pop_first();
            let s = self.slots.get_mut(&id).expect("live id has a record");
            s.phase = Phase::Quarantined;
            s.not_before = s.not_before.max(exp);
            self.quarantine
                .insert((exp.saturating_add(self.grace_ms), id));
            self.counters.expiries += 1;
            expired.push(id);
        }
        while let Some(&(end, id)) = self.quarantine.first() {
            if end > now {
                break;
            }
            self.quarantine.pop_first();
            self.slots
                .get_mut(&id)
                .expect("quarantined id has a record")
                .phase = Phase::Free;
            self.free.insert(id);
        }
        expired
    }

    /// Live leases at `max(now, clock_seen)`, by ID. Read-only: stores nothing.
    pub fn list(&self, now: i64) -> Vec<Lease<'_>> {
        let mut out: Vec<Lease<'_>> = self.live_at(now).map(|id| self.lease(id)).collect();
        out.sort_unstable_by_key(|l| l.id);
        out
    }

    /// IDs of the live leases at `max(now, clock_seen)`, by expiry.
    fn live_at(&self, now: i64) -> impl Iterator<Item = u32> + '_ {
        let now = self.effective(now);
        self.live
            .range((now.saturating_add(1), 0)..)
            .map(|&(_, id)| id)
    }

    fn lease(&self, id: u32) -> Lease<'_> {
        let s = &self.slots[&id];
        Lease {
            id,
            holder: s.holder.as_deref(),
            token: s.token,
            expires: s.expires,
            not_before: s.not_before,
        }
    }

    /// The pool at `max(now, clock_seen)`. Read-only.
    pub fn info(&self, now: i64) -> PoolInfo {
        let now = self.effective(now);
        // Leases expired but not yet found by a touch.
        let pending: Vec<i64> = self
            .live
            .range(..(now.saturating_add(1), 0))
            .map(|&(exp, _)| exp)
            .collect();
        let live = (self.live.len() - pending.len()) as u32;
        let quarantined = self.quarantine.range((now.saturating_add(1), 0)..).count()
            + pending
                .iter()
                .filter(|&&exp| exp.saturating_add(self.grace_ms) > now)
                .count();
        let quarantined = quarantined as u32;
        let mut counters = self.counters;
        counters.expiries += pending.len() as u64;
        PoolInfo {
            options: self.options(),
            live,
            quarantined,
            free: self.size - live - quarantined,
            used: self.slots.len() as u32,
            next_expiry: self
                .live
                .range((now.saturating_add(1), 0)..)
                .next()
                .map(|&(exp, _)| exp),
            resume_wait_ms: (self.resume_until - now).max(0),
            next_token: self.next_token,
            token_mark: self.token_mark,
            longest_ttl_ms: self.longest_ttl,
            counters,
        }
    }

    /// The live lease(s) responsible for `task_key`, best first: the first `count` of the live
    /// IDs ranked by the fixed rendezvous hash (module docs). Empty when no lease is live.
    /// Read-only. `CountRange` unless `1 <= count <= MAX_SIZE`.
    pub fn route(&self, now: i64, task_key: &[u8], count: usize) -> Result<Vec<Lease<'_>>> {
        if count == 0 || count > MAX_SIZE as usize {
            return Err(Error::CountRange(MAX_SIZE as i64));
        }
        Ok(rank(task_key, self.live_at(now), count)
            .into_iter()
            .map(|(_, id)| self.lease(id))
            .collect())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model;
