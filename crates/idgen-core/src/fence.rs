//! The reservation fence's judgment (pure): how many replicas have acknowledged the replication
//! stream recently enough for this node to reserve a new block.
//!
//! The glue's timer reads `INFO replication` every `TICK_MS` and hands the text here with the
//! time (a monotonic clock). A replica counts when all of these hold:
//! - its `state` is `online` (it finished its sync and streams);
//! - its `lag` (whole seconds since its last `REPLCONF ACK`, which a replica sends about once a
//!   second) is at most `ceil(max_lag_ms / 1000)`: it is alive, even when the stream is idle;
//! - its acknowledged `offset` is at least the `master_repl_offset` this node had `max_lag_ms`
//!   ago (from the history recorded here; before the history reaches that far back, the oldest
//!   offset recorded, which asks for more): it has received and acknowledged everything written
//!   up to then, so a link that stays "connected" but delivers nothing stops counting
//!   `max_lag_ms` after the writes it no longer acknowledges.
//!
//! Bound (the resume gaps in `glue::safety` rely on it): once the replicas stop acknowledging at
//! `t`, the judgment counts them at most until `t + (ceil(max_lag_ms / 1000) + 1) s` (the `lag`
//! rule: `lag` is taken in whole seconds, so the true age of the last ack is below `lag + 1` s),
//! and the glue refuses to use a judgment older than `STALE_MS`. So a node reserves nothing later
//! than `window_ms(max_lag_ms)` after its replicas last acknowledged it.

use std::collections::VecDeque;

/// How often the glue judges (ms).
pub const TICK_MS: i64 = 100;
/// A judgment older than this (ms) is not used: the node was stopped or the timer starved, and
/// the fence stays closed until the next tick.
pub const STALE_MS: i64 = 3 * TICK_MS;
/// Most entries of offset history kept (one per tick: covers `max_lag_ms` up to 1000 ticks).
const HISTORY_MAX: usize = 1024;

/// The longest a node may go on reserving after its replicas last acknowledged it (ms), for a
/// given `max_lag_ms`: the `lag` rule's bound plus the oldest judgment used.
pub fn window_ms(max_lag_ms: i64) -> i64 {
    let secs = (max_lag_ms.max(0) + 999) / 1000;
    (secs + 1) * 1000 + STALE_MS
}

/// One replica as a `slaveN:` line of `INFO replication` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub online: bool,
    pub offset: i64,
    pub lag_s: i64,
}

/// Parses the value of a `slaveN:` field: `ip=...,port=...,state=online,offset=N,lag=M`.
/// `None` when offset or lag is missing or not a number.
pub fn parse_replica(line: &str) -> Option<Replica> {
    let (mut online, mut offset, mut lag) = (false, None, None);
    for part in line.trim().split(',') {
        let (k, v) = part.split_once('=')?;
        match k {
            "state" => online = v == "online",
            "offset" => offset = v.parse::<i64>().ok(),
            "lag" => lag = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    Some(Replica {
        online,
        offset: offset?,
        lag_s: lag?,
    })
}

/// The fence's memory: the primary's replication offsets at past ticks.
#[derive(Debug, Default)]
pub struct Judge {
    history: VecDeque<(i64, i64)>,
}

impl Judge {
    pub const fn new() -> Judge {
        Judge {
            history: VecDeque::new(),
        }
    }

    /// Forgets the history (the fence was turned off, or the node is not a primary).
    pub fn clear(&mut self) {
        self.history.clear();
    }

    /// Records the primary's `master_repl_offset` at `now` and returns how many of `replicas`
    /// count (see the module docs) for `max_lag_ms`.
    pub fn judge(
        &mut self,
        now: i64,
        master_offset: i64,
        replicas: &[Replica],
        max_lag_ms: i64,
    ) -> u32 {
        // A smaller offset is another history (a promotion after a full sync): start again.
        if self.history.back().is_some_and(|&(_, o)| o > master_offset) {
            self.history.clear();
        }
        self.history.push_back((now, master_offset));
        let cutoff = now - max_lag_ms;
        // Keep one entry at or before the cutoff (the offset then); drop older ones.
        while self.history.len() > 1 && self.history[1].0 <= cutoff {
            self.history.pop_front();
        }
        while self.history.len() > HISTORY_MAX {
            self.history.pop_front();
        }
        // The newest offset at or before the cutoff; the oldest recorded if none is that old
        // (offsets only grow, so that asks for more).
        let floor = self.history.front().map_or(master_offset, |&(_, o)| o);
        let max_lag_s = (max_lag_ms.max(0) + 999) / 1000;
        replicas
            .iter()
            .filter(|r| r.online && r.lag_s <= max_lag_s && r.offset >= floor)
            .count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(offset: i64, lag_s: i64) -> Replica {
        Replica {
            online: true,
            offset,
            lag_s,
        }
    }

    #[test]
    fn parses_info_lines() {
        assert_eq!(
            parse_replica("ip=127.0.0.1,port=6380,state=online,offset=12345,lag=1"),
            Some(r(12345, 1))
        );
        let syncing = parse_replica("ip=::1,port=7,state=wait_bgsave,offset=0,lag=0").unwrap();
        assert!(!syncing.online);
        assert_eq!(parse_replica("ip=1,port=2,state=online"), None);
        assert_eq!(parse_replica("garbage"), None);
        assert_eq!(parse_replica("state=online,offset=x,lag=0"), None);
    }

    #[test]
    fn window_bounds() {
        assert_eq!(window_ms(2000), 3000 + STALE_MS);
        assert_eq!(window_ms(1500), 3000 + STALE_MS);
        assert_eq!(window_ms(1000), 2000 + STALE_MS);
    }

    #[test]
    fn counts_replicas_that_acknowledged_within_the_lag() {
        let mut j = Judge::default();
        // Steady: the replica acks the offset of ~1 s ago.
        for t in 0..30 {
            let now = t * TICK_MS;
            let off = 1000 + t * 10;
            let acked = 1000 + (t - 10).max(0) * 10;
            assert_eq!(j.judge(now, off, &[r(acked, 1)], 2000), 1, "tick {t}");
        }
        // Not online, or lag too high: not counted.
        let (now, off) = (3000, 1300);
        let off_line = Replica {
            online: false,
            ..r(off, 0)
        };
        assert_eq!(j.judge(now, off, &[off_line], 2000), 0);
        assert_eq!(j.judge(now, off, &[r(off, 3)], 2000), 0);
        assert_eq!(j.judge(now, off, &[r(off, 2), r(off, 0)], 2000), 2);
    }

    #[test]
    fn a_link_that_stops_acknowledging_stops_counting_after_the_lag() {
        let mut j = Judge::default();
        let mut off = 0;
        for t in 0..50 {
            off += 100;
            j.judge(t * TICK_MS, off, &[r(off, 0)], 2000);
        }
        // Cut at 5000 ms: the replica's acked offset freezes while writes go on, and its lag
        // still reads 0 or 1 for a while (whole seconds).
        let frozen = off;
        let mut last_counted = 0;
        for t in 50..120 {
            off += 100;
            let now = t * TICK_MS;
            if j.judge(now, off, &[r(frozen, 0)], 2000) == 1 {
                last_counted = now;
            }
        }
        assert!((5000..=5000 + 2000 + TICK_MS).contains(&last_counted));
        // Idle stream: the offset does not move; only the lag rule ends it.
        let mut j = Judge::default();
        for t in 0..40 {
            assert_eq!(j.judge(t * TICK_MS, 500, &[r(500, t / 10)], 2000), {
                if t / 10 <= 2 {
                    1
                } else {
                    0
                }
            });
        }
    }

    #[test]
    fn young_history_asks_for_the_oldest_offset_and_a_new_history_restarts() {
        let mut j = Judge::default();
        assert_eq!(j.judge(0, 100, &[r(100, 0)], 2000), 1);
        assert_eq!(j.judge(100, 200, &[r(150, 0)], 2000), 1);
        assert_eq!(j.judge(200, 300, &[r(99, 0)], 2000), 0);
        // Offset went down (promoted after a full sync): history restarts at it.
        assert_eq!(j.judge(300, 50, &[r(50, 0)], 2000), 1);
        assert_eq!(j.judge(400, 60, &[r(49, 0)], 2000), 0);
    }
}
