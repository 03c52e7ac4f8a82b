//! Worker-ID pool, persistence and effects: resume after a load or promotion, the absolute
//! per-ID records and reservation that replicas apply, and the checked rebuild from
//! persisted fields.

use super::*;

impl Pool {
    /// Resumes after a load or a promotion (see the module docs): at the pool's first use in a
    /// new serving generation, with `gaps` generations since its newest durable state. Tokens
    /// continue at `token_mark + gaps * TOKEN_BLOCK` at least (the new token mark); no ID is
    /// granted before
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
        // The resumed floor becomes the reserved mark, so that the glue can make the resume
        // durable at once (it replicates the reservation): a snapshot taken before the first
        // grant (a replica's full sync while the pool refuses grants for its resume window)
        // then carries the floor with this generation, and a later resume counts its gap
        // from there instead of reissuing the tokens granted from this floor (found by the
        // randomized soak: a failover right after a promotion granted 81 tokens twice).
        self.token_mark = self.token_mark.max(self.next_token);
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
