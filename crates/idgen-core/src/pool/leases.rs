//! Worker-ID pool, leases: acquire (grants), renew and release, and the per-ID bookkeeping
//! (phases, expiry and quarantine indexes) they share. Rules in the parent module's docs.

use super::*;

impl Pool {
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

    pub(super) fn relink_live(&mut self, id: u32, old: i64, expires: i64) {
        self.live.remove(&(old, id));
        self.live.insert((expires, id));
        self.slots.get_mut(&id).expect("record").expires = expires;
    }

    /// Removes `id` from the index of its phase.
    pub(super) fn unlink(&mut self, id: u32, s: &Slot) {
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
    pub(super) fn link(&mut self, id: u32, phase: Phase, expires: i64) {
        match phase {
            Phase::Held => self.live.insert((expires, id)),
            Phase::Quarantined => self
                .quarantine
                .insert((expires.saturating_add(self.grace_ms), id)),
            Phase::Free => self.free.insert(id),
        };
    }

    pub(super) fn advance_fresh(&mut self) {
        for &id in self.slots.range(self.next_fresh..).map(|(id, _)| id) {
            if id != self.next_fresh {
                break;
            }
            self.next_fresh += 1;
        }
    }

    pub(super) fn check_id(&self, id: u32) -> Result<()> {
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
}
