//! Worker-ID announcements between cluster nodes: the message format, the table of what each
//! other node announced, ageing, and clash detection. Pure: the clock (unix ms) is passed in.
//!
//! Every node broadcasts its `idgen.worker-id` over the cluster bus about once a second and at
//! once when the setting changes. A node that hears its own worker ID from another node is in a
//! *clash* with that node until the other node announces another ID, or is not heard from for
//! [`AGE_OUT_MS`] (it left, or its announcements stopped), or this node's own ID changes.

/// The cluster message type idgen's announcements use (receivers are keyed by module name and
/// type, so the number is private to the module).
pub const MSG_TYPE: u8 = 1;

/// Version 1 of the payload: the version byte, then the worker ID as a big-endian u16. Longer
/// payloads of version 1 or later are read by their first three bytes (fields added later are
/// appended), so an older node keeps understanding a newer one.
pub const MSG_VERSION: u8 = 1;
pub const MSG_LEN: usize = 3;

/// How often a node announces its worker ID (ms).
pub const ANNOUNCE_MS: i64 = 1000;

/// An announcement older than this is forgotten: it no longer counts for a clash and the node
/// leaves the table.
pub const AGE_OUT_MS: i64 = 5000;

/// The most other nodes the table keeps (a cluster has at most about 1000 nodes); announcements
/// of further nodes are ignored until an entry ages out.
pub const MAX_PEERS: usize = 2048;

/// Length of a cluster node ID (40 hex characters, without NUL).
pub const NODE_ID_LEN: usize = 40;

pub type NodeId = [u8; NODE_ID_LEN];

/// The payload announcing `worker`.
pub fn encode(worker: u16) -> [u8; MSG_LEN] {
    let [hi, lo] = worker.to_be_bytes();
    [MSG_VERSION, hi, lo]
}

/// The worker ID a payload announces, or `None` for a payload that is too short or of version 0.
pub fn decode(payload: &[u8]) -> Option<u16> {
    match payload {
        [v, hi, lo, ..] if *v >= MSG_VERSION => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

/// What one other node announced last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub node: NodeId,
    pub worker: u16,
    /// When its newest announcement arrived (unix ms).
    pub heard_ms: i64,
    /// Whether it was in a clash with this node at the last evaluation (a warning was logged
    /// when it entered it).
    pub clash: bool,
}

/// A change of clash state with one node: the glue logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The node announces this node's worker ID (it did not at the last evaluation).
    Clash { node: NodeId, worker: u16 },
    /// The clash with the node ended: it announces another ID, it aged out, or ours changed.
    Cleared { node: NodeId },
}

/// The announcements heard from other nodes.
#[derive(Clone, Debug, Default)]
pub struct Peers {
    peers: Vec<Peer>,
}

impl Peers {
    pub const fn new() -> Self {
        Peers { peers: Vec::new() }
    }

    /// Records `node`'s announcement of `worker` at `now`, with `mine` this node's worker ID;
    /// returns the clash events it causes (none, one, or the end of a clash that had aged out
    /// and the start of a new one). Nodes beyond [`MAX_PEERS`] are ignored.
    pub fn heard(&mut self, node: &NodeId, worker: u16, now: i64, mine: u16) -> Vec<Event> {
        let i = match self.peers.iter().position(|p| &p.node == node) {
            Some(i) => i,
            None if self.peers.len() < MAX_PEERS => {
                self.peers.push(Peer {
                    node: *node,
                    worker,
                    heard_ms: now,
                    clash: false,
                });
                self.peers.len() - 1
            }
            None => return Vec::new(),
        };
        let p = &mut self.peers[i];
        // An entry that aged out but was not yet dropped ends its clash first: a node that comes
        // back is a new clash, warned about again.
        let mut events: Vec<Event> = evaluate(p, now, mine).into_iter().collect();
        p.worker = worker;
        p.heard_ms = p.heard_ms.max(now);
        events.extend(evaluate(p, now, mine));
        events
    }

    /// Forgets announcements older than [`AGE_OUT_MS`] and evaluates every clash again with
    /// `mine` (this node's worker ID, which may have changed); returns the changes.
    pub fn refresh(&mut self, now: i64, mine: u16) -> Vec<Event> {
        let mut events = Vec::new();
        self.peers.retain(|p| {
            let fresh = is_fresh(p, now);
            if !fresh && p.clash {
                events.push(Event::Cleared { node: p.node });
            }
            fresh
        });
        for p in &mut self.peers {
            events.extend(evaluate(p, now, mine));
        }
        events
    }

    /// Every node heard from within [`AGE_OUT_MS`], as last evaluated.
    pub fn list(&self, now: i64) -> impl Iterator<Item = &Peer> {
        self.peers.iter().filter(move |p| is_fresh(p, now))
    }

    /// The nodes in a clash with this node at `now` (announcing `mine`, heard recently).
    pub fn clashes(&self, now: i64, mine: u16) -> impl Iterator<Item = &Peer> {
        self.list(now).filter(move |p| p.worker == mine)
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

fn is_fresh(p: &Peer, now: i64) -> bool {
    now.saturating_sub(p.heard_ms) <= AGE_OUT_MS
}

/// Sets `p.clash` from the facts at `now` and returns the change, if any.
fn evaluate(p: &mut Peer, now: i64, mine: u16) -> Option<Event> {
    let clash = is_fresh(p, now) && p.worker == mine;
    let event = match (p.clash, clash) {
        (false, true) => Some(Event::Clash {
            node: p.node,
            worker: p.worker,
        }),
        (true, false) => Some(Event::Cleared { node: p.node }),
        _ => None,
    };
    p.clash = clash;
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u8) -> NodeId {
        [b'a' + n; NODE_ID_LEN]
    }

    #[test]
    fn payload_round_trip_and_refusals() {
        for w in [0u16, 1, 255, 256, 1023, u16::MAX] {
            assert_eq!(decode(&encode(w)), Some(w));
        }
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[1, 0]), None);
        assert_eq!(decode(&[0, 0, 7]), None, "version 0 is not a version");
        assert_eq!(
            decode(&[2, 0, 7, 9, 9]),
            Some(7),
            "later versions append fields"
        );
    }

    #[test]
    fn a_clash_is_reported_once_and_cleared_when_the_other_node_changes() {
        let mut t = Peers::new();
        assert_eq!(t.heard(&id(1), 4, 0, 5), vec![]);
        assert_eq!(
            t.heard(&id(2), 5, 10, 5),
            vec![Event::Clash {
                node: id(2),
                worker: 5
            }]
        );
        // Heard again: still the same clash, no second warning.
        assert_eq!(t.heard(&id(2), 5, 1000, 5), vec![]);
        assert!(t.refresh(1500, 5).is_empty());
        assert_eq!(t.clashes(1500, 5).count(), 1);
        assert_eq!(
            t.heard(&id(2), 6, 2000, 5),
            vec![Event::Cleared { node: id(2) }]
        );
        assert_eq!(t.clashes(2000, 5).count(), 0);
        // A clash that comes back is reported again.
        assert!(matches!(
            t.heard(&id(2), 5, 3000, 5)[..],
            [Event::Clash { .. }]
        ));
    }

    #[test]
    fn a_node_back_after_ageing_out_is_a_new_clash() {
        let mut t = Peers::new();
        t.heard(&id(1), 5, 0, 5);
        // Aged out, not yet dropped by a refresh, then heard again with the same id.
        assert_eq!(
            t.heard(&id(1), 5, AGE_OUT_MS + 500, 5),
            vec![
                Event::Cleared { node: id(1) },
                Event::Clash {
                    node: id(1),
                    worker: 5
                }
            ]
        );
    }

    #[test]
    fn announcements_age_out() {
        let mut t = Peers::new();
        t.heard(&id(1), 5, 0, 5);
        t.heard(&id(2), 6, 0, 5);
        assert!(t.refresh(AGE_OUT_MS, 5).is_empty());
        assert_eq!(t.list(AGE_OUT_MS).count(), 2);
        // Between refreshes, a stale entry already stops counting.
        assert_eq!(t.clashes(AGE_OUT_MS + 1, 5).count(), 0);
        assert_eq!(
            t.refresh(AGE_OUT_MS + 1, 5),
            vec![Event::Cleared { node: id(1) }]
        );
        assert!(t.is_empty());
    }

    #[test]
    fn a_change_of_our_own_id_makes_and_ends_clashes() {
        let mut t = Peers::new();
        t.heard(&id(1), 7, 0, 5);
        assert_eq!(
            t.refresh(100, 7),
            vec![Event::Clash {
                node: id(1),
                worker: 7
            }]
        );
        assert_eq!(t.refresh(200, 8), vec![Event::Cleared { node: id(1) }]);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = Peers::new();
        for i in 0..MAX_PEERS + 10 {
            let mut n = [b'0'; NODE_ID_LEN];
            n[..8].copy_from_slice(format!("{i:08}").as_bytes());
            t.heard(&n, 1, 0, 2);
        }
        assert_eq!(t.len(), MAX_PEERS);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Heard(u8, u16),
        Tick,
        SetMine(u16),
        Advance(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, 0u16..4).prop_map(|(n, w)| Op::Heard(n, w)),
            Just(Op::Tick),
            (0u16..4).prop_map(Op::SetMine),
            (0i64..3000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        /// Against a model (the newest announcement per node): the table lists exactly the nodes
        /// heard within AGE_OUT_MS, reports the clashes the model has, and its events alternate
        /// Clash/Cleared per node, so a clash is warned once until it clears.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec(op(), 1..200)) {
            let mut t = Peers::new();
            let mut model: std::collections::HashMap<u8, (u16, i64)> = Default::default();
            let mut in_clash: std::collections::HashMap<u8, bool> = Default::default();
            let (mut now, mut mine) = (0i64, 0u16);
            for op in ops {
                let events = match op {
                    Op::Heard(n, w) => {
                        let was_clash = model
                            .get(&n)
                            .is_some_and(|(pw, at)| *pw == mine && now - at <= AGE_OUT_MS);
                        model.insert(n, (w, now));
                        let events = t.heard(&id(n), w, now, mine);
                        // A clash that starts (or starts again after ageing out) is warned.
                        if w == mine && !was_clash {
                            prop_assert!(
                                events.iter().any(|e| matches!(e, Event::Clash { node, .. } if node[0] - b'a' == n)),
                                "no warning for node {} at {}: {:?}", n, now, events
                            );
                        }
                        events
                    }
                    Op::Tick => t.refresh(now, mine),
                    Op::SetMine(m) => { mine = m; t.refresh(now, mine) }
                    Op::Advance(d) => { now += d; Vec::new() }
                };
                for e in events {
                    let (node, clash) = match e {
                        Event::Clash { node, worker } => {
                            prop_assert_eq!(worker, mine);
                            (node, true)
                        }
                        Event::Cleared { node } => (node, false),
                    };
                    let n = node[0] - b'a';
                    let was = in_clash.insert(n, clash).unwrap_or(false);
                    prop_assert_ne!(was, clash, "two {:?} events in a row for node {}", clash, n);
                }
                let mut want: Vec<u8> = model
                    .iter()
                    .filter(|(_, (w, at))| *w == mine && now - at <= AGE_OUT_MS)
                    .map(|(n, _)| *n)
                    .collect();
                want.sort();
                let mut got: Vec<u8> = t.clashes(now, mine).map(|p| p.node[0] - b'a').collect();
                got.sort();
                prop_assert_eq!(got, want);
                let fresh = model.values().filter(|(_, at)| now - at <= AGE_OUT_MS).count();
                prop_assert_eq!(t.list(now).count(), fresh);
            }
        }
    }
}
