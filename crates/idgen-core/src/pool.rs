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
//! # Route: the fixed rendezvous hash (never changes between versions)
//!
//! `route(now, task_key, count)` names the live lease(s) responsible for `task_key` by rendezvous
//! (highest-random-weight) hashing over the live worker IDs, so that when a worker joins or
//! leaves only about 1/N of task keys change owner. A client computes the same answer from the
//! IDs `LIST` returns. For a task key `k` (any bytes) and a worker ID `w`:
//!
//! 1. `m` = the bytes of `k`, then one `0x00` byte, then `w` in ASCII decimal without leading
//!    zeros (`0`, `7`, `1023`).
//! 2. `h` = 64-bit FNV-1a of `m`: `h = 0xcbf29ce484222325`, then for each byte `b` of `m` in order,
//!    `h = (h XOR b) * 0x100000001b3 mod 2^64`.
//! 3. `weight(k, w)` = the splitmix64 finalizer of `h` (unsigned 64-bit, `>>` logical, products
//!    mod 2^64): `h ^= h >> 30; h *= 0xbf58476d1ce4e5b9; h ^= h >> 27; h *= 0x94d049bb133111eb;
//!    h ^= h >> 31`. (FNV-1a alone mixes the trailing ID digits too weakly into the high bits:
//!    over IDs 0..=9, two of them would own half the keys. The finalizer fixes that.)
//! 4. Rank the live IDs by weight, highest first; on equal weights the higher ID ranks first. The
//!    first is the owner; `count` gives the first `count` (fallbacks, replicas).
//!
//! ```text
//! M = (1 << 64) - 1                                    # Python
//! def weight(key: bytes, wid: int) -> int:
//!     h = 0xcbf29ce484222325
//!     for b in key + b"\x00" + str(wid).encode():
//!         h = ((h ^ b) * 0x100000001b3) & M
//!     h = ((h ^ (h >> 30)) * 0xbf58476d1ce4e5b9) & M
//!     h = ((h ^ (h >> 27)) * 0x94d049bb133111eb) & M
//!     return h ^ (h >> 31)
//! def route(key: bytes, ids, count=1):
//!     return sorted(ids, key=lambda w: (weight(key, w), w), reverse=True)[:count]
//!
//! const M = (1n << 64n) - 1n;                          // JavaScript (BigInt)
//! function weight(key /* Uint8Array */, wid /* number */) {
//!   let h = 0xcbf29ce484222325n;
//!   for (const b of [...key, 0, ...new TextEncoder().encode(String(wid))])
//!     h = ((h ^ BigInt(b)) * 0x100000001b3n) & M;
//!   h = ((h ^ (h >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
//!   h = ((h ^ (h >> 27n)) * 0x94d049bb133111ebn) & M;
//!   return h ^ (h >> 31n);
//! }
//! ```
//!
//! The worker ID is hashed, not the holder name: every lease has an ID (holders are optional), a
//! worker that comes back under its name usually gets its ID back (`Returned`) and with it its
//! task keys, renaming a holder moves nothing, and a client needs only the IDs. Known-answer
//! vectors are in the tests (`route_known_answers`).
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

    /// Grants an ID for `ttl_ms` to `holder` (see the module docs). Errors: `TTL` or holder out of
    /// range; `PoolResuming` within a resume window; `PoolFull` with the time until the next ID
    /// frees up (unless one is released). An error changes nothing but what `touch` does and the
    /// refusal counter.
    pub fn acquire(&mut self, now: i64, ttl_ms: i64, holder: Option<&[u8]>) -> Result<Grant> {
        check_ttl(ttl_ms)?;
        if let Some(h) = holder {
            check_holder(h)?;
        }
        self.touch(now);
        let now = self.clock_seen;
        if now < self.resume_until {
            self.counters.refusals += 1;
            return Err(Error::PoolResuming {
                retry_ms: self.resume_until - now,
            });
        }
        // The holder index names only IDs whose newest grant was to that holder.
        let own = holder.and_then(|h| self.holders.get(h).copied());
        if let Some(id) = own {
            let s = &self.slots[&id];
            if s.phase == Phase::Held && s.token >= self.resume_token {
                let (token, old) = (s.token, s.expires);
                let expires = old.max(now.saturating_add(ttl_ms));
                if let Some(s) = self.slots.get_mut(&id) {
                    s.not_before = s.not_before.max(old);
                }
                self.relink_live(id, old, expires);
                let advanced = self.raise_ttl(ttl_ms);
                self.counters.renewals += 1;
                return Ok(Grant {
                    id,
                    token,
                    expires,
                    not_before: self.slots[&id].not_before,
                    how: How::Kept,
                    advanced,
                });
            }
            return self.grant(id, now, ttl_ms, holder, How::Returned);
        }
        let fresh = (self.next_fresh < self.size).then_some(self.next_fresh);
        let id = match (self.free.first().copied(), fresh) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(id) => id,
                None => {
                    self.counters.refusals += 1;
                    return Err(Error::PoolFull {
                        retry_ms: self.next_free_in(now),
                    });
                }
            },
        };
        self.grant(id, now, ttl_ms, holder, How::Fresh)
    }

    /// Milliseconds until an ID frees up, if none is released.
    fn next_free_in(&self, now: i64) -> i64 {
        let by_expiry = self
            .live
            .first()
            .map(|&(exp, _)| exp.saturating_add(self.grace_ms));
        let by_quarantine = self.quarantine.first().map(|&(end, _)| end);
        let at = by_expiry
            .into_iter()
            .chain(by_quarantine)
            .min()
            .unwrap_or(now);
        at.saturating_sub(now).max(1)
    }

    /// Grants `id` (free, never used, or the holder's own) with a new token.
    fn grant(
        &mut self,
        id: u32,
        now: i64,
        ttl_ms: i64,
        holder: Option<&[u8]>,
        how: How,
    ) -> Result<Grant> {
        let token = self.next_token;
        if token > MAX_TOKEN {
            return Err(Error::TokensExhausted);
        }
        // Commit.
        self.next_token = token + 1;
        let mut advanced = self.raise_ttl(ttl_ms);
        if token >= self.token_mark {
            self.token_mark = token.saturating_add(TOKEN_BLOCK).min(MAX_TOKEN + 1);
            advanced = true;
        }
        let mut not_before = self.not_before_floor;
        if let Some(old) = self.slots.remove(&id) {
            self.unlink(id, &old);
            not_before = not_before.max(old.not_before);
            if old.phase == Phase::Held {
                // The holder's own lease from before a resume, cut short now.
                not_before = not_before.max(old.expires.min(now));
            }
            if let Some(h) = old.holder {
                if self.holders.get(&h) == Some(&id) {
                    self.holders.remove(&h);
                }
            }
        }
        let expires = now.saturating_add(ttl_ms);
        let holder: Option<Box<[u8]>> = holder.map(Box::from);
        if let Some(h) = &holder {
            self.holders.insert(h.clone(), id);
        }
        self.slots.insert(
            id,
            Slot {
                token,
                expires,
                not_before,
                holder,
                phase: Phase::Held,
            },
        );
        self.live.insert((expires, id));
        self.advance_fresh();
        self.counters.grants += 1;
        Ok(Grant {
            id,
            token,
            expires,
            not_before,
            how,
            advanced,
        })
    }

    /// Raises the longest TTL; whether it rose.
    fn raise_ttl(&mut self, ttl_ms: i64) -> bool {
        let raised = ttl_ms > self.longest_ttl;
        self.longest_ttl = self.longest_ttl.max(ttl_ms);
        raised
    }

    fn relink_live(&mut self, id: u32, old: i64, expires: i64) {
        self.live.remove(&(old, id));
        self.live.insert((expires, id));
        self.slots.get_mut(&id).expect("record").expires = expires;
    }

    /// Removes `id` from the index of its phase.
    fn unlink(&mut self, id: u32, s: &Slot) {
        let found = match s.phase {
            Phase::Held => self.live.remove(&(s.expires, id)),
            Phase::Quarantined => self
                .quarantine
                .remove(&(s.expires.saturating_add(self.grace_ms), id)),
            Phase::Free => self.free.remove(&id),
        };
        debug_assert!(found, "id {id} missing from its phase index");
    }

    /// Adds `id` to the index of its phase.
    fn link(&mut self, id: u32, phase: Phase, expires: i64) {
        match phase {
            Phase::Held => self.live.insert((expires, id)),
            Phase::Quarantined => self
                .quarantine
                .insert((expires.saturating_add(self.grace_ms), id)),
            Phase::Free => self.free.insert(id),
        };
    }

    fn advance_fresh(&mut self) {
        for &id in self.slots.range(self.next_fresh..).map(|(id, _)| id) {
            if id != self.next_fresh {
                break;
            }
            self.next_fresh += 1;
        }
    }

    fn check_id(&self, id: u32) -> Result<()> {
        if id < self.size {
            Ok(())
        } else {
            Err(Error::OutOfRange("ID", 0, self.size as i64 - 1))
        }
    }

    fn check_last_ts(last_ts: Option<i64>, now: i64) -> Result<()> {
        let hi = now.saturating_add(MAX_LAST_TS_AHEAD_MS);
        match last_ts {
            Some(ts) if !(0..=hi).contains(&ts) => Err(Error::OutOfRange("LAST-TS", 0, hi)),
            _ => Ok(()),
        }
    }

    /// Checks that `token` holds `id` now (after a touch); a refusal is counted.
    fn check_lease(&mut self, id: u32, token: u64) -> Result<()> {
        let why = match self.slots.get(&id) {
            None => Some("the ID is not leased"),
            Some(s) if s.token != token => Some("the token is not the ID's current one"),
            Some(s) if s.phase == Phase::Quarantined => Some("the lease expired"),
            Some(s) if s.phase == Phase::Free => Some("the lease ended"),
            Some(_) => None,
        };
        match why {
            None => Ok(()),
            Some(why) => {
                self.counters.refusals += 1;
                Err(Error::LeaseLost { id: id as i64, why })
            }
        }
    }

    /// Extends the lease `(id, token)` to `now + ttl_ms` (never shortens it), and raises the ID's
    /// not-before to `last_ts`. `LeaseLost` when the token does not hold the ID now.
    pub fn renew(
        &mut self,
        now: i64,
        id: u32,
        token: u64,
        ttl_ms: i64,
        last_ts: Option<i64>,
    ) -> Result<Renewed> {
        check_ttl(ttl_ms)?;
        self.check_id(id)?;
        Self::check_last_ts(last_ts, self.effective(now))?;
        self.touch(now);
        let now = self.clock_seen;
        self.check_lease(id, token)?;
        let old = self.slots[&id].expires;
        let expires = old.max(now.saturating_add(ttl_ms));
        self.relink_live(id, old, expires);
        let s = self.slots.get_mut(&id).expect("record");
        s.not_before = s.not_before.max(last_ts.unwrap_or(i64::MIN));
        let not_before = s.not_before;
        let advanced = self.raise_ttl(ttl_ms);
        self.counters.renewals += 1;
        Ok(Renewed {
            id,
            token,
            expires,
            not_before,
            advanced,
        })
    }

    /// Ends the lease `(id, token)` now: the ID is free at once and keeps its not-before, raised
    /// to the lease's end (`min(expiry, now)`) and to `last_ts`. `LeaseLost` when the token does
    /// not hold the ID now.
    pub fn release(
        &mut self,
        now: i64,
        id: u32,
        token: u64,
        last_ts: Option<i64>,
    ) -> Result<Released> {
        self.check_id(id)?;
        Self::check_last_ts(last_ts, self.effective(now))?;
        self.touch(now);
        let now = self.clock_seen;
        self.check_lease(id, token)?;
        let mut s = self.slots.remove(&id).expect("record");
        self.unlink(id, &s);
        s.expires = s.expires.min(now);
        s.not_before = s.not_before.max(s.expires).max(last_ts.unwrap_or(i64::MIN));
        s.phase = Phase::Free;
        let not_before = s.not_before;
        self.slots.insert(id, s);
        self.free.insert(id);
        self.counters.releases += 1;
        Ok(Released {
            id,
            token,
            not_before,
        })
    }

    /// Resumes after a load or a promotion (see the module docs): at the pool's first use in a
    /// new serving generation, with `gaps` generations since its newest durable state. Tokens
    /// continue at `token_mark + gaps * TOKEN_BLOCK` at least; no ID is granted before
    /// `now + longest_ttl + grace`; later grants' not-before is at least `now + longest_ttl`.
    /// Returns the IDs found expired (as `touch`), for `expire` events.
    pub fn resume(&mut self, now: i64, gaps: u64) -> Vec<u32> {
        let expired = self.touch(now);
        let now = self.clock_seen;
        let lost_end = now.saturating_add(self.longest_ttl);
        self.not_before_floor = self.not_before_floor.max(lost_end);
        self.resume_until = self
            .resume_until
            .max(lost_end.saturating_add(self.grace_ms));
        let floor = self
            .token_mark
            .saturating_add(gaps.saturating_mul(TOKEN_BLOCK))
            .min(MAX_TOKEN + 1);
        self.next_token = self.next_token.max(floor);
        self.resume_token = self.next_token;
        expired
    }

    /// The absolute state of one ID, or `None` if it was never granted.
    pub fn export(&self, id: u32) -> Option<IdState> {
        self.slots.get(&id).map(|s| IdState {
            id,
            token: s.token,
            holder: s.holder.as_deref().map(<[u8]>::to_vec),
            expires: s.expires,
            not_before: s.not_before,
            phase: s.phase,
        })
    }

    /// Every per-ID record, by ID (for persistence; `from_parts` takes them back).
    pub fn records(&self) -> impl Iterator<Item = IdState> + '_ {
        self.slots
            .keys()
            .map(|&id| self.export(id).expect("record"))
    }

    /// Applies an ID's absolute state (from a replica's stream or the AOF), raise-only and
    /// idempotent. States order by (token, ended): a newer one replaces the record, an equal one
    /// merges (expiry and not-before raised), an older one is ignored. Tokens and the mark rise to
    /// cover the token. The clock is not read: a lease past its expiry stays `Held` until a serving
    /// node's `touch` expires it. Returns whether anything changed.
    pub fn apply(&mut self, e: &IdState) -> Result<bool> {
        self.check_id(e.id)?;
        if !(1..=MAX_TOKEN).contains(&e.token) {
            return Err(Error::OutOfRange("TOKEN", 1, MAX_TOKEN as i64));
        }
        if let Some(h) = &e.holder {
            check_holder(h)?;
        }
        if e.expires < 0 || e.not_before < 0 {
            return Err(Error::OutOfRange("EXPIRES", 0, i64::MAX));
        }
        let rank = |token: u64, phase: Phase| (token, phase != Phase::Held);
        let before = self.reservation();
        let next_before = self.next_token;
        self.next_token = self.next_token.max(e.token + 1);
        self.token_mark = self.token_mark.max(e.token + 1);
        let mut changed = before != self.reservation() || next_before != self.next_token;
        let current = self.slots.get(&e.id).map(|s| rank(s.token, s.phase));
        match current {
            Some(r) if rank(e.token, e.phase) < r => {}
            Some(r) if rank(e.token, e.phase) == r => {
                let s = self.slots.get_mut(&e.id).expect("record");
                if e.not_before > s.not_before {
                    s.not_before = e.not_before;
                    changed = true;
                }
                if s.phase == Phase::Held && e.expires > s.expires {
                    let old = s.expires;
                    self.relink_live(e.id, old, e.expires);
                    changed = true;
                }
            }
            _ => {
                let mut not_before = e.not_before;
                if let Some(old) = self.slots.remove(&e.id) {
                    self.unlink(e.id, &old);
                    not_before = not_before.max(old.not_before);
                    if let Some(h) = old.holder {
                        if self.holders.get(&h) == Some(&e.id) {
                            self.holders.remove(&h);
                        }
                    }
                }
                let holder: Option<Box<[u8]>> = e.holder.as_deref().map(Box::from);
                if let Some(h) = &holder {
                    let newer_elsewhere = self
                        .holders
                        .get(h)
                        .is_some_and(|other| self.slots[other].token > e.token);
                    if !newer_elsewhere {
                        self.holders.insert(h.clone(), e.id);
                    }
                }
                self.slots.insert(
                    e.id,
                    Slot {
                        token: e.token,
                        expires: e.expires,
                        not_before,
                        holder,
                        phase: e.phase,
                    },
                );
                self.link(e.id, e.phase, e.expires);
                self.advance_fresh();
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Applies a replicated reservation, raise-only; `OutOfRange` for values no pool reserves.
    pub fn apply_reservation(&mut self, r: Reservation) -> Result<()> {
        if r.token_mark > MAX_TOKEN + 1 {
            return Err(Error::OutOfRange("TOKEN-MARK", 0, i64::MAX));
        }
        if !(0..=MAX_TTL_MS).contains(&r.longest_ttl_ms) {
            return Err(Error::OutOfRange("LONGEST-TTL", 0, MAX_TTL_MS));
        }
        self.token_mark = self.token_mark.max(r.token_mark);
        self.longest_ttl = self.longest_ttl.max(r.longest_ttl_ms);
        Ok(())
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

    /// Rebuilds a pool from persisted fields and records (ascending IDs), checking every one;
    /// `Err` names the first field out of range.
    pub fn from_parts(
        parts: PoolParts,
        records: impl IntoIterator<Item = IdState>,
    ) -> std::result::Result<Self, &'static str> {
        let ok = |c: bool, f: &'static str| if c { Ok(()) } else { Err(f) };
        parts.options.validate().map_err(|_| "options")?;
        ok(
            (1..=MAX_TOKEN + 1).contains(&parts.next_token),
            "next_token",
        )?;
        ok(parts.token_mark <= MAX_TOKEN + 1, "token_mark")?;
        ok(
            (0..=MAX_TTL_MS).contains(&parts.longest_ttl_ms),
            "longest_ttl",
        )?;
        ok(parts.clock_seen >= 0, "clock_seen")?;
        ok(parts.resume_until >= 0, "resume_until")?;
        ok(parts.not_before_floor >= 0, "not_before_floor")?;
        ok(parts.resume_token <= parts.next_token, "resume_token")?;
        let mut p = Pool::new(parts.options);
        p.gen = parts.gen;
        p.next_token = parts.next_token;
        p.token_mark = parts.token_mark;
        p.longest_ttl = parts.longest_ttl_ms;
        p.clock_seen = parts.clock_seen;
        p.resume_until = parts.resume_until;
        p.not_before_floor = parts.not_before_floor;
        p.resume_token = parts.resume_token;
        p.counters = parts.counters;
        let mut last_id: Option<u32> = None;
        for r in records {
            ok(r.id < p.size, "id")?;
            ok(last_id.is_none_or(|l| r.id > l), "id order")?;
            last_id = Some(r.id);
            ok(
                r.token >= 1 && r.token < p.next_token && r.token < p.token_mark,
                "token",
            )?;
            ok(
                r.holder.as_deref().is_none_or(|h| check_holder(h).is_ok()),
                "holder",
            )?;
            ok(r.expires >= 0, "expires")?;
            ok(r.not_before >= 0, "not_before")?;
            let holder: Option<Box<[u8]>> = r.holder.map(Vec::into_boxed_slice);
            if let Some(h) = &holder {
                let newer = p.holders.get(h).is_some_and(|o| p.slots[o].token > r.token);
                if !newer {
                    p.holders.insert(h.clone(), r.id);
                }
            }
            p.link(r.id, r.phase, r.expires);
            p.slots.insert(
                r.id,
                Slot {
                    token: r.token,
                    expires: r.expires,
                    not_before: r.not_before,
                    holder,
                    phase: r.phase,
                },
            );
        }
        // One token on two IDs is not refused: `apply` takes each ID's state on its own, so a
        // damaged AOF or stream can leave such a pool, and whatever a node holds must load again
        // (or its next restart fails). Fencing is per ID, so such a pool still works.
        p.advance_fresh();
        Ok(p)
    }

    /// The persisted pool-wide fields (the records come from `records`).
    pub fn parts(&self) -> PoolParts {
        PoolParts {
            options: self.options(),
            gen: self.gen,
            next_token: self.next_token,
            token_mark: self.token_mark,
            longest_ttl_ms: self.longest_ttl,
            clock_seen: self.clock_seen,
            resume_until: self.resume_until,
            not_before_floor: self.not_before_floor,
            resume_token: self.resume_token,
            counters: self.counters,
        }
    }

    /// An estimate of the heap and inline bytes the pool uses (for Redis `MEMORY USAGE`).
    pub fn mem_usage(&self) -> usize {
        // Per record: the map entry with B-tree overhead, its phase index entry, the holder
        // name (twice: in the record and in the holder index, with the index's entry).
        // Calibrated on Redis 7.0.15 (jemalloc): 10,000 anonymous records added 151 bytes each
        // to `used_memory`, 10,000 with 17-byte holder names 247.
        const PER_RECORD: usize = 150;
        let names: usize = self.holders.keys().map(|h| 2 * h.len() + 64).sum();
        std::mem::size_of::<Pool>() + self.slots.len() * PER_RECORD + names
    }
}

// ---- route -------------------------------------------------------------------------------------

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn splitmix64_finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a state after `task_key || 0x00`, shared by every ID's weight.
fn route_prefix(task_key: &[u8]) -> u64 {
    fnv1a(fnv1a(FNV_OFFSET, task_key), &[0])
}

fn weight_after(prefix: u64, id: u32) -> u64 {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut v = id;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    splitmix64_finalize(fnv1a(prefix, &digits[i..]))
}

/// The rendezvous weight of worker ID `id` for `task_key` (module docs, *Route*).
pub fn route_weight(task_key: &[u8], id: u32) -> u64 {
    weight_after(route_prefix(task_key), id)
}

/// The first `count` of `ids` ranked for `task_key`, as (weight, id), best first. O(ids).
fn rank(task_key: &[u8], ids: impl Iterator<Item = u32>, count: usize) -> Vec<(u64, u32)> {
    let prefix = route_prefix(task_key);
    let mut ranked: Vec<(u64, u32)> = ids.map(|id| (weight_after(prefix, id), id)).collect();
    let best_first = |a: &(u64, u32), b: &(u64, u32)| b.cmp(a);
    if count < ranked.len() {
        ranked.select_nth_unstable_by(count - 1, best_first);
        ranked.truncate(count);
    }
    ranked.sort_unstable_by(best_first);
    ranked
}

/// The first `count` of the worker IDs `ids` ranked for `task_key`, best first: what a client
/// computes from `LIST`.
pub fn route_ids(task_key: &[u8], ids: &[u32], count: usize) -> Vec<u32> {
    if count == 0 {
        return Vec::new();
    }
    rank(task_key, ids.iter().copied(), count)
        .into_iter()
        .map(|(_, id)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const T0: i64 = 1_700_000_000_000;

    fn pool(size: u32, grace_ms: i64) -> Pool {
        let o = PoolOptions { size, grace_ms };
        o.validate().unwrap();
        Pool::new(o)
    }

    /// The internal indexes agree with the records. `touched`: right after a writing call.
    fn check(p: &Pool, touched: bool, unique_holders: bool) {
        for (&id, s) in &p.slots {
            assert!(id < p.size);
            let indexed = match s.phase {
                Phase::Held => p.live.contains(&(s.expires, id)),
                Phase::Quarantined => p.quarantine.contains(&(s.expires + p.grace_ms, id)),
                Phase::Free => p.free.contains(&id),
            };
            assert!(indexed, "id {id} not in the index of {:?}", s.phase);
            assert!(s.token >= 1 && s.token < p.next_token && s.token < p.token_mark);
            if let (Some(h), true) = (&s.holder, unique_holders) {
                assert_eq!(p.holders.get(h), Some(&id), "holder index");
            }
        }
        assert_eq!(
            p.live.len() + p.quarantine.len() + p.free.len(),
            p.slots.len()
        );
        assert!(!p.slots.contains_key(&p.next_fresh));
        assert_eq!(
            p.slots.keys().take_while(|&&id| id < p.next_fresh).count(),
            p.next_fresh as usize
        );
        for (h, id) in &p.holders {
            assert_eq!(p.slots[id].holder.as_deref(), Some(&**h));
        }
        let mut tokens: Vec<u64> = p.slots.values().map(|s| s.token).collect();
        tokens.sort_unstable();
        assert!(tokens.windows(2).all(|w| w[0] < w[1]), "tokens repeat");
        if touched {
            assert!(p.live.iter().all(|&(exp, _)| exp > p.clock_seen));
            assert!(p.quarantine.iter().all(|&(end, _)| end > p.clock_seen));
        }
    }

    fn roundtrip(p: &Pool) -> Pool {
        Pool::from_parts(p.parts(), p.records()).expect("from_parts")
    }

    // ---- unit tests ----------------------------------------------------------------------------

    #[test]
    fn options_and_bounds() {
        assert!(PoolOptions::default().validate().is_ok());
        let bad = |size, grace_ms| PoolOptions { size, grace_ms }.validate().unwrap_err();
        assert_eq!(bad(0, 0), Error::OutOfRange("SIZE", 1, 1 << 20));
        assert_eq!(bad((1 << 20) + 1, 0), Error::OutOfRange("SIZE", 1, 1 << 20));
        assert_eq!(bad(5, -1), Error::OutOfRange("GRACE", 0, MAX_GRACE_MS));
        let mut p = pool(4, 0);
        let ttl_err = Error::OutOfRange("TTL", 1000, 86_400_000);
        assert_eq!(p.acquire(T0, 999, None), Err(ttl_err.clone()));
        assert_eq!(p.acquire(T0, MAX_TTL_MS + 1, None), Err(ttl_err.clone()));
        assert_eq!(
            ttl_err.to_string(),
            "ERR TTL must be between 1000 and 86400000"
        );
        assert!(p.acquire(T0, MIN_TTL_MS, None).is_ok());
        assert!(p.acquire(T0, MAX_TTL_MS, None).is_ok());
        assert!(p.acquire(T0, 5000, Some(b"")).is_err());
        assert!(p.acquire(T0, 5000, Some(&[b'x'; 257])).is_err());
        assert!(p.acquire(T0, 5000, Some(&[b'x'; 256])).is_ok());
    }

    #[test]
    fn grants_lowest_ids_with_increasing_tokens() {
        let mut p = pool(8, 1000);
        let a = p.acquire(T0, 5000, None).unwrap();
        let b = p.acquire(T0, 5000, None).unwrap();
        assert_eq!(
            (a.id, a.token, a.expires, a.not_before),
            (0, 1, T0 + 5000, 0)
        );
        assert_eq!((b.id, b.token, b.how), (1, 2, How::Fresh));
        assert!(a.advanced, "the first grant reserves tokens and the TTL");
        assert!(!b.advanced);
        assert_eq!(p.reservation().token_mark, 1 + TOKEN_BLOCK);
        p.release(T0 + 10, 0, 1, None).unwrap();
        let c = p.acquire(T0 + 20, 5000, None).unwrap();
        assert_eq!((c.id, c.token), (0, 3), "a released ID is reused at once");
        assert_eq!(c.not_before, T0 + 10, "above the released lease's end");
        check(&p, true, true);
    }

    #[test]
    fn holder_gets_its_lease_kept_then_returned() {
        let mut p = pool(8, 2000);
        let a = p.acquire(T0, 5000, Some(b"w1")).unwrap();
        let again = p.acquire(T0 + 1000, 10_000, Some(b"w1")).unwrap();
        assert_eq!(again.how, How::Kept);
        assert_eq!((again.id, again.token), (a.id, a.token));
        assert_eq!(again.expires, T0 + 11_000);
        assert!(again.advanced, "a longer TTL than ever is a reservation");
        // The asker may be a restarted process under the same name: it starts above everything
        // the old lease allowed.
        assert_eq!(again.not_before, T0 + 5000, "above the old lease's expiry");
        // A shorter TTL never shortens it.
        let again = p.acquire(T0 + 2000, 1000, Some(b"w1")).unwrap();
        assert_eq!(again.expires, T0 + 11_000);
        // Other holders and anonymous callers get other IDs.
        assert_eq!(p.acquire(T0, 5000, Some(b"w2")).unwrap().id, 1);
        assert_eq!(p.acquire(T0, 5000, None).unwrap().id, 2);
        // w1's lease expires; within quarantine w1 gets its ID back with a new token ...
        assert_eq!(p.touch(T0 + 11_000), vec![1, 2, 0], "by expiry");
        let back = p.acquire(T0 + 11_500, 5000, Some(b"w1")).unwrap();
        assert_eq!(back.how, How::Returned);
        assert_eq!(back.id, 0);
        assert!(back.token > a.token);
        assert_eq!(back.not_before, T0 + 11_000, "above its expired lease");
        assert_eq!(p.counters.grants, 4);
        assert_eq!(p.counters.renewals, 2);
        check(&p, true, true);
    }

    #[test]
    fn quarantined_id_goes_to_no_other_holder() {
        let mut p = pool(2, 3000);
        let a = p.acquire(T0, 1000, Some(b"a")).unwrap();
        let b = p.acquire(T0, 1000, Some(b"b")).unwrap();
        p.renew(T0 + 900, b.id, b.token, 60_000, None).unwrap();
        // a expired at T0 + 1000: quarantined until T0 + 4000.
        assert_eq!(
            p.acquire(T0 + 1000, 1000, Some(b"c")),
            Err(Error::PoolFull { retry_ms: 3000 })
        );
        assert_eq!(
            p.acquire(T0 + 3999, 1000, None),
            Err(Error::PoolFull { retry_ms: 1 })
        );
        let c = p.acquire(T0 + 4000, 1000, Some(b"c")).unwrap();
        assert_eq!((c.id, c.how, c.not_before), (a.id, How::Fresh, T0 + 1000));
        // a comes back: its ID is taken, and the pool is full.
        let e = p.acquire(T0 + 4000, 1000, Some(b"a")).unwrap_err();
        assert_eq!(
            e,
            Error::PoolFull {
                retry_ms: 1000 + 3000
            }
        );
        assert_eq!(
            e.to_string(),
            "POOLFULL no worker ID is free: the next one frees up in 4000 ms"
        );
        assert_eq!(p.counters.refusals, 3);
        check(&p, true, true);
    }

    #[test]
    fn renew_and_release_are_fenced() {
        let mut p = pool(4, 1000);
        let a = p.acquire(T0, 5000, None).unwrap();
        let lost = |why| Err(Error::LeaseLost { id: 0, why });
        assert_eq!(
            p.renew(T0, 0, a.token + 1, 5000, None),
            lost("the token is not the ID's current one")
        );
        assert_eq!(
            p.renew(T0, 1, 1, 5000, None),
            Err(Error::LeaseLost {
                id: 1,
                why: "the ID is not leased"
            })
        );
        assert_eq!(
            p.renew(T0, 9, 1, 5000, None),
            Err(Error::OutOfRange("ID", 0, 3))
        );
        let r = p
            .renew(T0 + 1000, 0, a.token, 8000, Some(T0 + 700))
            .unwrap();
        assert_eq!(
            (r.expires, r.not_before, r.advanced),
            (T0 + 9000, T0 + 700, true)
        );
        // LAST-TS never lowers the not-before.
        let r = p
            .renew(T0 + 1000, 0, a.token, 8000, Some(T0 + 100))
            .unwrap();
        assert_eq!(r.not_before, T0 + 700);
        assert_eq!(
            p.renew(
                T0,
                0,
                a.token,
                5000,
                Some(T0 + MAX_LAST_TS_AHEAD_MS + 10_000)
            ),
            Err(Error::OutOfRange(
                "LAST-TS",
                0,
                T0 + 1000 + MAX_LAST_TS_AHEAD_MS
            ))
        );
        // Expired: refused, and the error says to stop.
        let e = p.renew(T0 + 9000, 0, a.token, 5000, None).unwrap_err();
        assert_eq!(
            e,
            Error::LeaseLost {
                id: 0,
                why: "the lease expired"
            }
        );
        assert_eq!(
            e.to_string(),
            "LEASELOST worker ID 0 is no longer yours (the lease expired): stop issuing IDs with it and acquire a new one"
        );
        assert_eq!(
            p.release(T0 + 9000, 0, a.token, None),
            Err(Error::LeaseLost {
                id: 0,
                why: "the lease expired"
            })
        );
        // Release: wrong token refused, right one frees at once.
        let b = p.acquire(T0 + 9000, 5000, None).unwrap();
        assert_eq!(b.id, 1);
        assert_eq!(
            p.release(T0 + 9000, 1, b.token - 1, None),
            Err(Error::LeaseLost {
                id: 1,
                why: "the token is not the ID's current one"
            })
        );
        let rel = p.release(T0 + 9500, 1, b.token, Some(T0 + 9600)).unwrap();
        assert_eq!(rel.not_before, T0 + 9600);
        assert_eq!(
            p.renew(T0 + 9500, 1, b.token, 5000, None),
            Err(Error::LeaseLost {
                id: 1,
                why: "the lease ended"
            })
        );
        let c = p.acquire(T0 + 9500, 5000, None).unwrap();
        assert_eq!(
            (c.id, c.not_before),
            (1, T0 + 9600),
            "released IDs keep their not-before"
        );
        assert_eq!(p.counters.refusals, 6);
        check(&p, true, true);
    }

    #[test]
    fn clock_step_back_revives_nothing() {
        let mut p = pool(1, 0);
        let a = p.acquire(T0, 2000, None).unwrap();
        assert_eq!(p.touch(T0 + 5000), vec![0]);
        // The clock steps back below the expiry: the lease stays lost.
        assert!(p.renew(T0 + 1000, 0, a.token, 2000, None).is_err());
        let b = p.acquire(T0 + 1000, 2000, None).unwrap();
        assert_eq!(
            b.expires,
            T0 + 7000,
            "a grant runs from the newest clock seen"
        );
        assert_eq!(p.list(T0).len(), 1);
        assert_eq!(p.list(T0 + 7000).len(), 0);
    }

    #[test]
    fn touch_reports_expiries_in_order() {
        let mut p = pool(8, 100);
        p.acquire(T0, 3000, None).unwrap();
        p.acquire(T0, 1000, None).unwrap();
        p.acquire(T0, 2000, None).unwrap();
        assert_eq!(p.touch(T0 + 999), Vec::<u32>::new());
        assert_eq!(p.touch(T0 + 2500), vec![1, 2]);
        assert_eq!(p.touch(T0 + 2500), Vec::<u32>::new());
        assert_eq!(p.counters.expiries, 2);
        let i = p.info(T0 + 5000);
        assert_eq!((i.live, i.quarantined, i.free, i.used), (0, 0, 8, 3));
        assert_eq!(i.counters.expiries, 3, "info counts expiries not found yet");
    }

    #[test]
    fn list_and_info() {
        let mut p = pool(16, 1000);
        p.acquire(T0, 5000, Some(b"x")).unwrap();
        let b = p.acquire(T0, 2000, None).unwrap();
        p.acquire(T0, 9000, Some(b"z")).unwrap();
        p.renew(T0, b.id, b.token, 2000, Some(T0 - 50)).unwrap();
        let l = p.list(T0 + 1);
        assert_eq!(l.len(), 3);
        assert_eq!(
            l[1],
            Lease {
                id: 1,
                holder: None,
                token: 2,
                expires: T0 + 2000,
                not_before: T0 - 50
            }
        );
        assert_eq!(l[2].holder, Some(&b"z"[..]));
        let i = p.info(T0 + 2500);
        assert_eq!((i.live, i.quarantined, i.free), (2, 1, 13));
        assert_eq!(i.next_expiry, Some(T0 + 5000));
        assert_eq!(
            (i.next_token, i.longest_ttl_ms, i.resume_wait_ms),
            (4, 9000, 0)
        );
        assert_eq!(i.counters.grants, 3);
        assert_eq!(i.counters.renewals, 1);
        assert_eq!(p.info(T0 + 3001).quarantined, 0);
    }

    #[test]
    fn a_big_mostly_empty_pool_is_small() {
        let mut p = pool(MAX_SIZE, 0);
        let before = p.mem_usage();
        for _ in 0..3 {
            p.acquire(T0, 5000, None).unwrap();
        }
        assert_eq!(p.slots.len(), 3);
        assert!(p.mem_usage() < before + 1024, "{}", p.mem_usage());
        assert!(std::mem::size_of::<Pool>() < 512);
        // Fill a stretch, free one in the middle: it is found first.
        for _ in 0..1000 {
            p.acquire(T0, 5000, None).unwrap();
        }
        let t = p.export(500).unwrap().token;
        p.release(T0, 500, t, None).unwrap();
        assert_eq!(p.acquire(T0, 5000, None).unwrap().id, 500);
        assert_eq!(p.acquire(T0, 5000, None).unwrap().id, 1003);
    }

    #[test]
    fn resume_blocks_grants_for_the_window_and_raises_tokens() {
        let mut p = pool(8, 2000);
        let a = p.acquire(T0, 10_000, Some(b"a")).unwrap();
        let b = p.acquire(T0, 4000, None).unwrap();
        p.release(T0 + 1000, b.id, b.token, None).unwrap();
        let mark = p.reservation().token_mark;
        p.resume(T0 + 1000, 2);
        // No grant, even of an ID the state shows free, until now + longest TTL + grace.
        let e = p.acquire(T0 + 1000, 5000, None).unwrap_err();
        assert_eq!(e, Error::PoolResuming { retry_ms: 12_000 });
        assert!(e.to_string().starts_with("POOLRESUMING "));
        assert_eq!(p.info(T0 + 5000).resume_wait_ms, 8000);
        // ... not even the holder's own live lease.
        assert!(p.acquire(T0 + 5000, 5000, Some(b"a")).is_err());
        // Known leases renew meanwhile.
        let r = p.renew(T0 + 6000, a.id, a.token, 10_000, None).unwrap();
        assert_eq!(r.expires, T0 + 16_000);
        assert_eq!(p.list(T0 + 6000).len(), 1);
        // After the window: a lease from before the resume comes back with a new token.
        let back = p.acquire(T0 + 13_000, 5000, Some(b"a")).unwrap();
        assert_eq!((back.id, back.how), (a.id, How::Returned));
        assert_eq!(back.token, mark + 2 * TOKEN_BLOCK);
        assert!(back.advanced);
        assert_eq!(back.not_before, T0 + 13_000, "its renewed lease, cut now");
        // ... and is kept from then on.
        let kept = p.acquire(T0 + 14_000, 5000, Some(b"a")).unwrap();
        assert_eq!((kept.how, kept.token), (How::Kept, back.token));
        let c = p.acquire(T0 + 14_000, 5000, None).unwrap();
        assert_eq!((c.id, c.not_before), (1, T0 + 11_000));
        check(&p, true, true);
    }

    #[test]
    fn apply_is_raise_only_and_idempotent() {
        let mut p = pool(8, 1000);
        let mut q = pool(8, 1000);
        let a = p.acquire(T0, 5000, Some(b"h")).unwrap();
        let held = p.export(a.id).unwrap();
        p.renew(T0 + 10, a.id, a.token, 9000, Some(T0 + 5)).unwrap();
        let renewed = p.export(a.id).unwrap();
        p.release(T0 + 20, a.id, a.token, None).unwrap();
        let released = p.export(a.id).unwrap();
        let b = p.acquire(T0 + 30, 5000, Some(b"k")).unwrap();
        assert_eq!(b.id, a.id);
        let regranted = p.export(b.id).unwrap();
        for e in [&held, &renewed, &released, &regranted] {
            assert!(q.apply(e).unwrap());
        }
        q.apply_reservation(p.reservation()).unwrap();
        let snapshot = q.clone();
        for e in [&regranted, &released, &renewed, &held] {
            assert!(
                !q.apply(e).unwrap(),
                "an old or repeated effect changes nothing"
            );
        }
        q.apply_reservation(Reservation {
            token_mark: 1,
            longest_ttl_ms: 1000,
        })
        .unwrap();
        assert_eq!(q, snapshot);
        assert_eq!(q.list(T0 + 40), p.list(T0 + 40));
        assert_eq!(q.reservation(), p.reservation());
        assert_eq!(
            q.apply(&IdState {
                id: 8,
                ..held.clone()
            }),
            Err(Error::OutOfRange("ID", 0, 7))
        );
        assert!(q.apply(&IdState { token: 0, ..held }).is_err());
        check(&q, false, true);
    }

    #[test]
    fn from_parts_checks_every_field() {
        let mut p = pool(8, 1000);
        p.acquire(T0, 5000, Some(b"a")).unwrap();
        p.acquire(T0, 5000, None).unwrap();
        p.acquire(T0, 1000, Some(b"c")).unwrap();
        p.touch(T0 + 1000);
        assert_eq!(roundtrip(&p), p);
        let recs: Vec<IdState> = p.records().collect();
        let with = |f: &dyn Fn(&mut Vec<IdState>, &mut PoolParts)| {
            let (mut r, mut parts) = (recs.clone(), p.parts());
            f(&mut r, &mut parts);
            Pool::from_parts(parts, r).unwrap_err()
        };
        assert_eq!(with(&|r, _| r[0].id = 8), "id");
        assert_eq!(with(&|r, _| r.swap(0, 1)), "id order");
        assert_eq!(with(&|r, _| r[1].token = p.next_token), "token");
        assert_eq!(with(&|_, s| s.token_mark = 2), "token");
        // A token on two IDs (what effects from a damaged AOF can leave) loads.
        let mut dup = recs.clone();
        dup[1].token = dup[0].token;
        let q = Pool::from_parts(p.parts(), dup).unwrap();
        assert_eq!(roundtrip(&q), q);
        assert_eq!(with(&|r, _| r[0].holder = Some(Vec::new())), "holder");
        assert_eq!(with(&|r, _| r[0].expires = -1), "expires");
        assert_eq!(with(&|_, s| s.options.size = 0), "options");
        assert_eq!(with(&|_, s| s.next_token = 0), "next_token");
        assert_eq!(
            with(&|_, s| s.longest_ttl_ms = MAX_TTL_MS + 1),
            "longest_ttl"
        );
        assert_eq!(
            with(&|_, s| s.resume_token = s.next_token + 1),
            "resume_token"
        );
    }

    // ---- route -----------------------------------------------------------------------------

    /// Known answers, computed with the Python and JavaScript code in the module docs. Clients in
    /// other languages reuse these.
    #[test]
    fn route_known_answers() {
        let weights: [(&[u8], u32, u64); 7] = [
            (b"", 0, 0xea29bbf411b31272),
            (b"", 1, 0xcd54827a418d670a),
            (b"a", 0, 0x92449cbcb6bdd947),
            (b"order:42", 7, 0x3dd03c1cf18f2c95),
            (b"order:42", 1023, 0x7852e89b6881e8d3),
            (b"\x00\xff", 1_048_575, 0x495a2093b0785d4a),
            ("tâche".as_bytes(), 12, 0xe80dcc64245f1ff1),
        ];
        for (key, id, w) in weights {
            assert_eq!(route_weight(key, id), w, "{key:?} {id}");
        }
        let ten: Vec<u32> = (0..10).collect();
        let routes: [(&[u8], &[u32], [u32; 3]); 9] = [
            (b"", &[0, 1, 2, 3, 4], [0, 1, 3]),
            (b"a", &[0, 1, 2, 3, 4], [2, 0, 1]),
            (b"order:42", &[0, 1, 2, 3, 4], [2, 4, 1]),
            (b"user/7f3a", &[0, 1, 2, 3, 4], [0, 4, 1]),
            (b"", &[5, 17, 1023, 1_048_575], [1_048_575, 1023, 17]),
            (b"order:42", &[5, 17, 1023, 1_048_575], [1_048_575, 1023, 5]),
            (
                "tâche".as_bytes(),
                &[5, 17, 1023, 1_048_575],
                [17, 1_048_575, 5],
            ),
            (b"a", &ten, [7, 2, 0]),
            (b"\x00\xff", &ten, [6, 7, 2]),
        ];
        for (key, ids, top3) in routes {
            assert_eq!(route_ids(key, ids, 3), top3, "{key:?} {ids:?}");
            assert_eq!(route_ids(key, ids, 1), [top3[0]]);
            // The order of the members does not matter.
            let mut rev = ids.to_vec();
            rev.reverse();
            assert_eq!(route_ids(key, &rev, 3), top3);
        }
        assert_eq!(route_ids(b"a", &[], 3), Vec::<u32>::new());
        assert_eq!(route_ids(b"a", &[4, 9], 5).len(), 2);
    }

    fn scattered_ids(n: usize) -> Vec<u32> {
        let mut z = 0x1234_5678u64;
        let mut ids = BTreeSet::new();
        while ids.len() < n {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            ids.insert((splitmix64_finalize(z) % MAX_SIZE as u64) as u32);
        }
        ids.into_iter().collect()
    }

    /// Fraction of `keys` whose owner differs between the two member sets; every moved key must
    /// move to a joining member or from a leaving one.
    fn moved(keys: &[Vec<u8>], before: &[u32], after: &[u32]) -> f64 {
        let mut n = 0;
        for k in keys {
            let (a, b) = (route_ids(k, before, 1)[0], route_ids(k, after, 1)[0]);
            if a != b {
                assert!(
                    !before.contains(&b) || !after.contains(&a),
                    "a key moved between two members that stayed"
                );
                n += 1;
            }
        }
        n as f64 / keys.len() as f64
    }

    #[test]
    fn route_moves_about_one_nth_of_keys() {
        let keys: Vec<Vec<u8>> = (0..10_000)
            .map(|i| format!("task:{i}").into_bytes())
            .collect();
        for (label, members) in [
            ("ids 0..N", (0..101).collect::<Vec<u32>>()),
            ("scattered ids", scattered_ids(101)),
        ] {
            for n in [10usize, 100] {
                let base = &members[..n];
                let joined = &members[..n + 1];
                let mut left = base.to_vec();
                left.remove(n / 2);
                let join = moved(&keys, base, joined);
                let leave = moved(&keys, base, &left);
                println!(
                    "route, {label}, N = {n}: a join moved {join:.4} of keys (1/(N+1) = {:.4}), \
                     a leave moved {leave:.4} (1/N = {:.4})",
                    1.0 / (n + 1) as f64,
                    1.0 / n as f64
                );
                let bound = 1.5 / n as f64 + 0.005;
                assert!(join <= bound && leave <= bound, "{join} {leave}");
                assert!(join >= 0.5 / (n + 1) as f64 && leave >= 0.5 / n as f64);
                // Balance: every member owns about 1/N of the keys.
                let mut share: HashMap<u32, usize> = HashMap::new();
                for k in &keys {
                    *share.entry(route_ids(k, base, 1)[0]).or_default() += 1;
                }
                let expect = keys.len() as f64 / n as f64;
                let (lo, hi) = (share.values().min().unwrap(), share.values().max().unwrap());
                println!("route, {label}, N = {n}: keys per member {lo}..{hi} (mean {expect:.0})");
                assert_eq!(share.len(), n);
                assert!(*hi as f64 <= expect * 1.6 + 10.0 && *lo as f64 >= expect * 0.4 - 10.0);
            }
        }
    }

    #[test]
    fn pool_route_uses_live_leases_only() {
        let mut p = pool(16, 0);
        for i in 0..10 {
            p.acquire(T0, if i == 3 { 1000 } else { 9000 }, None)
                .unwrap();
        }
        let live: Vec<u32> = (0..10).filter(|&i| i != 3).collect();
        for key in [&b"a"[..], b"b", b"order:42", b""] {
            let got: Vec<u32> = p
                .route(T0 + 2000, key, 4)
                .unwrap()
                .iter()
                .map(|l| l.id)
                .collect();
            assert_eq!(got, route_ids(key, &live, 4));
        }
        assert_eq!(
            p.route(T0, b"a", 0),
            Err(Error::CountRange(MAX_SIZE as i64))
        );
        assert_eq!(p.route(T0 + 10_000, b"a", 1).unwrap(), vec![]);
    }

    proptest! {
        /// Rendezvous consistency: removing a member that does not own a key leaves its owner;
        /// adding a member moves a key only to it; a longer route extends a shorter one.
        #[test]
        fn route_is_consistent(ids in prop::collection::btree_set(0u32..MAX_SIZE, 1..40),
                               key in prop::collection::vec(any::<u8>(), 0..20),
                               extra in 0u32..MAX_SIZE, drop in any::<prop::sample::Index>()) {
            let ids: Vec<u32> = ids.into_iter().collect();
            let owner = route_ids(&key, &ids, 1)[0];
            let all = route_ids(&key, &ids, ids.len());
            prop_assert_eq!(all[0], owner);
            prop_assert_eq!(&route_ids(&key, &ids, 3)[..], &all[..3.min(all.len())]);
            let gone = ids[drop.index(ids.len())];
            if gone != owner {
                let rest: Vec<u32> = ids.iter().copied().filter(|&i| i != gone).collect();
                prop_assert_eq!(route_ids(&key, &rest, 1)[0], owner);
            }
            if !ids.contains(&extra) {
                let mut more = ids.clone();
                more.push(extra);
                let new_owner = route_ids(&key, &more, 1)[0];
                prop_assert!(new_owner == owner || new_owner == extra);
            }
        }
    }

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
                                prop_assert!(
                                    m.now >= m.window_until,
                                    "granted within a resume window"
                                );
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
}
