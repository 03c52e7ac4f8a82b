//! A Redis Cluster of real servers with the module, the `make cluster` topology (3 primaries, 3
//! replicas, each node its own `idgen.worker-id`) on free ports, every node SIGKILLed on drop.
//! Formed by hand (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET, REPLICATE), so no `redis-cli` is
//! needed and any server binary (`$IDGEN_SERVER`) works.

use std::thread;
use std::time::{Duration, Instant};

use super::{info_field, wait_until, Conn, Server, Value};

/// The slot ranges of the three primaries, as `redis-cli --cluster create` splits them.
pub const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

/// How long a node may be unreachable before the others fail it over (ms). Short, so that a
/// kill -9 is followed by a promotion within a few seconds.
pub const NODE_TIMEOUT_MS: u64 = 2000;

pub struct Cluster {
    /// Nodes 0..3 start as the primaries of RANGES, node 3 + i as the replica of node i. Node i
    /// has `idgen.worker-id` i + 1.
    pub nodes: Vec<Server>,
    /// Cluster node IDs, by node index.
    pub ids: Vec<String>,
}

fn nodes_text(c: &mut Conn) -> String {
    c.cmd(&["CLUSTER", "NODES"]).as_str().to_string()
}

impl Cluster {
    pub fn start(name: &str) -> Cluster {
        let nodes: Vec<Server> = (0..6)
            .map(|i| {
                Server::builder(&format!("{name}-n{i}"))
                    .cluster_node()
                    .config_file()
                    .config(&format!("cluster-node-timeout {NODE_TIMEOUT_MS}"))
                    // Other shards keep serving while one fails over.
                    .config("cluster-require-full-coverage no")
                    // A replica is listed in CLUSTER SLOTS (and so seen by cluster clients) only
                    // once its replication offset is above 0: the primary's pings move it.
                    .config("repl-ping-replica-period 1")
                    // In the config file (a module argument there), so that CONFIG REWRITE
                    // can persist another id over it.
                    .module_arg("idgen.worker-id", &(i + 1).to_string())
                    .start()
            })
            .collect();
        let ids: Vec<String> = nodes
            .iter()
            .map(|n| n.conn().cmd(&["CLUSTER", "MYID"]).as_str().to_string())
            .collect();
        for (i, (lo, hi)) in RANGES.iter().enumerate() {
            nodes[i]
                .conn()
                .cmd(&crate::args!["CLUSTER", "ADDSLOTSRANGE", lo, hi])
                .ok();
        }
        for (i, n) in nodes.iter().enumerate() {
            n.conn()
                .cmd(&crate::args!["CLUSTER", "SET-CONFIG-EPOCH", i + 1])
                .ok();
        }
        for n in &nodes[1..] {
            n.conn()
                .cmd(&crate::args![
                    "CLUSTER",
                    "MEET",
                    "127.0.0.1",
                    nodes[0].port()
                ])
                .ok();
        }
        let c = Cluster { nodes, ids };
        c.wait(
            Duration::from_secs(60),
            "every node to know the other five",
            |c| {
                (0..6).all(|i| {
                    let text = nodes_text(&mut c.nodes[i].conn());
                    text.lines().count() == 6
                        && !text.contains("handshake")
                        && !text.contains("noaddr")
                        && text.lines().all(|l| l.contains(" connected"))
                })
            },
        );
        for i in 0..3 {
            c.nodes[3 + i]
                .conn()
                .cmd(&["CLUSTER", "REPLICATE", &c.ids[i]])
                .ok();
        }
        c.wait_settled(Duration::from_secs(60));
        c
    }

    fn wait(&self, timeout: Duration, what: &str, mut f: impl FnMut(&Self) -> bool) {
        wait_until(timeout, what, || f(self));
    }

    /// Waits until every live node says `cluster_state:ok`, every live replica's link is up and
    /// every live node lists every slot range with all its live nodes in CLUSTER SLOTS (so that a
    /// cluster client sees the whole topology).
    pub fn wait_settled(&self, timeout: Duration) {
        self.wait(timeout, "the cluster to settle", |c| {
            let live: Vec<usize> = c.live().collect();
            live.iter().all(|&i| {
                let mut conn = c.nodes[i].conn();
                let state = conn.cmd(&["CLUSTER", "INFO"]);
                if !state.as_str().contains("cluster_state:ok") {
                    return false;
                }
                if info_field(&mut conn, "replication", "role").as_deref() == Some("slave")
                    && info_field(&mut conn, "replication", "master_link_status").as_deref()
                        != Some("up")
                {
                    return false;
                }
                let listed: usize = conn
                    .cmd(&["CLUSTER", "SLOTS"])
                    .array()
                    .iter()
                    .map(|r| r.array().len() - 2)
                    .sum();
                listed == live.len()
            })
        });
    }

    /// Indices of the nodes whose process runs.
    pub fn live(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| Conn::try_connect(self.nodes[i].port()).is_ok())
    }

    pub fn conn(&self, i: usize) -> Conn {
        self.nodes[i].conn()
    }

    pub fn index_of(&self, id: &str) -> usize {
        self.ids
            .iter()
            .position(|x| x == id)
            .unwrap_or_else(|| panic!("unknown node id {id}"))
    }

    /// The node that owns `slot`, as live node `via` sees it.
    pub fn owner(&self, via: usize, slot: u16) -> usize {
        for r in self.conn(via).cmd(&["CLUSTER", "SLOTS"]).array() {
            let a = r.array();
            if (a[0].int()..=a[1].int()).contains(&(slot as i64)) {
                return self.index_of(a[2].array()[2].as_str());
            }
        }
        panic!("slot {slot} has no owner");
    }

    /// The primary index of each of the three slot ranges, as live node `via` sees it.
    pub fn primaries(&self, via: usize) -> [usize; 3] {
        RANGES.map(|(lo, _)| self.owner(via, lo))
    }

    pub fn role(&self, i: usize) -> String {
        info_field(&mut self.conn(i), "replication", "role").unwrap_or_default()
    }

    /// The live replica of primary `p`.
    pub fn replica_of(&self, p: usize) -> usize {
        self.live()
            .find(|&i| {
                i != p
                    && nodes_text(&mut self.conn(i))
                        .lines()
                        .any(|l| l.contains("myself") && l.contains(&self.ids[p]))
            })
            .unwrap_or_else(|| panic!("primary {p} has no live replica"))
    }

    /// `CLUSTER KEYSLOT key`.
    pub fn slot(&self, key: &str) -> u16 {
        let i = self.live().next().expect("no live node");
        self.conn(i).cmd(&["CLUSTER", "KEYSLOT", key]).int() as u16
    }

    /// A cluster client over the `redis` crate: it routes every command by its key and follows
    /// MOVED and ASK redirections.
    pub fn client(&self) -> redis::cluster::ClusterConnection {
        let nodes: Vec<String> = self
            .live()
            .map(|i| format!("redis://127.0.0.1:{}/", self.nodes[i].port()))
            .collect();
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .connection_timeout(Duration::from_secs(1))
            .retries(8)
            .min_retry_wait(50)
            .max_retry_wait(500)
            .build()
            .expect("cluster client");
        let conn = client.get_connection().expect("cluster connection");
        conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        conn.set_write_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        conn
    }

    /// Waits until node `i` is a primary that owns slot ranges, as every other live node sees
    /// it; returns how long that took.
    pub fn wait_promoted(&self, i: usize, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        self.wait(timeout, "the promotion to be seen everywhere", |c| {
            c.role(i) == "master"
                && c.live()
                    .all(|v| (0..3).any(|r| c.owner(v, RANGES[r].0) == i))
        });
        t0.elapsed()
    }

    /// Sends `args` to node `i` and returns the reply (errors as values).
    pub fn cmd<S: AsRef<[u8]>>(&self, i: usize, args: &[S]) -> Value {
        self.conn(i).cmd(args)
    }

    /// Moves `slot` from node `from` to node `to` key by key: SETSLOT IMPORTING/MIGRATING,
    /// GETKEYSINSLOT + MIGRATE, SETSLOT NODE. Returns the number of keys moved.
    pub fn migrate_slot(&self, slot: u16, from: usize, to: usize) -> usize {
        let c = self;
        let slot_s = slot.to_string();
        c.cmd(
            to,
            &["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &c.ids[from]],
        )
        .ok();
        c.cmd(
            from,
            &["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &c.ids[to]],
        )
        .ok();
        let port = c.nodes[to].port().to_string();
        let mut moved = 0;
        loop {
            let keys = c.cmd(from, &["CLUSTER", "GETKEYSINSLOT", &slot_s, "3"]);
            let keys: Vec<String> = keys
                .array()
                .iter()
                .map(|k| k.as_str().to_string())
                .collect();
            if keys.is_empty() {
                break;
            }
            let mut cmd = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
            cmd.extend(keys.iter().map(String::as_str));
            let r = c.cmd(from, &cmd);
            assert!(
                matches!(r, Value::Simple(ref s) if s == "OK" || s == "NOKEY"),
                "MIGRATE: {r:?}"
            );
            moved += keys.len();
            // Let the load reach both nodes (ASK redirections) while the slot is half moved.
            thread::sleep(Duration::from_millis(50));
        }
        for n in [to, from] {
            c.cmd(n, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &c.ids[to]])
                .ok();
        }
        for n in c.primaries(to) {
            if n != to && n != from {
                c.cmd(n, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &c.ids[to]])
                    .ok();
            }
        }
        wait_until(
            Duration::from_secs(20),
            "every node to see the new owner",
            || c.live().all(|v| c.owner(v, slot) == to),
        );
        moved
    }
}
