//! The soak's rig and its nemesis (issue 20): a primary and two replicas, each replica linked
//! through its own `Proxy` (so that a link can be held back or cut), AOF on every node
//! (`appendfsync everysec`), the fence on (`idgen.reserve-min-replicas 1`), the test-clock
//! build; the clients (`Load` of the idgen mix, `Load` of plain INCR, `PoolLoad` holders) follow
//! the current primary. Each fault kind is one method of `Rig`; every method leaves the rig with
//! a primary (`nodes[0]`) and both replicas linked to it (possibly still syncing).

use super::*;

/// The fault kinds the nemesis picks among (`SOAK_NEMESES` chooses a subset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// kill -9 of the primary, its AOF cut back by `EVERYSEC_LOST` (a power cut), restart.
    Kill9AofCut,
    /// SIGSTOP of the primary past the client and fence timeouts, a replica promoted meanwhile,
    /// SIGCONT (it answers what its clients sent), then it rejoins as a replica.
    StopPromote,
    /// Both replication links cut both ways, a replica promoted, clients on both sides (the old
    /// primary must refuse new blocks), the old primary rejoins.
    Partition,
    /// The primary's module clock stepped back (or a little forward) and held, then set back.
    ClockStep,
    /// A replica's stream held back and the replica stopped for a lag, the primary killed, the
    /// lagging replica promoted; the old primary restarts from its AOF and rejoins.
    Promote,
    /// `maxmemory` just above the used memory with an `allkeys-*` policy, junk written until
    /// `evicted_keys` grows, then restored.
    Evict,
    /// `DEBUG RELOAD` of the primary.
    DebugReload,
    /// `CONFIG SET` of module settings that must never cause repeats, on every node.
    ConfigSet,
}

pub const KINDS: [Kind; 8] = [
    Kind::Kill9AofCut,
    Kind::StopPromote,
    Kind::Partition,
    Kind::ClockStep,
    Kind::Promote,
    Kind::Evict,
    Kind::DebugReload,
    Kind::ConfigSet,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Kill9AofCut => "kill9_aof_cut",
            Kind::StopPromote => "sigstop_promote",
            Kind::Partition => "partition",
            Kind::ClockStep => "clock_step",
            Kind::Promote => "promote_lagging",
            Kind::Evict => "evict",
            Kind::DebugReload => "debug_reload",
            Kind::ConfigSet => "config_set",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        KINDS.iter().copied().find(|k| k.name() == s)
    }

    /// Kinds that lose history (plain INCR repeats after them): the control needs one.
    pub fn loses_history(self) -> bool {
        matches!(
            self,
            Kind::Kill9AofCut | Kind::Partition | Kind::Promote | Kind::Evict
        )
    }
}

/// Load clients of the idgen mix, of the INCR control, and pool holders.
pub const IDGEN_CLIENTS: usize = 3;
pub const INCR_CLIENTS: usize = 1;
pub const POOL_HOLDERS_NAMED: usize = 3;
pub const POOL_HOLDERS_ANONYMOUS: usize = 1;
/// How long the primary stays stopped: past the clients' 3 s timeout and the fence's 2 s lag.
const STOP_FOR_MS: (i64, i64) = (3_000, 5_000);
/// How long a partition lasts: longer than the fence's W (3.3 s), so the cut-off primary
/// refuses.
const SPLIT_MS: (i64, i64) = (4_000, 8_000);
/// Clock offsets (ms) a step holds. A forward hour is left out: set back afterwards it leaves
/// every snowflake key an hour ahead of the clock (refused until the clock catches up), which
/// ends the soak's snowflake coverage.
const CLOCK_OFFSETS: [i64; 4] = [-10_000, -3_600_000, -2_000, 5_000];
const CLOCK_HOLD_MS: (i64, i64) = (1_500, 3_000);
/// Eviction pressure: policies, and how long junk is written at most.
const EVICT_POLICIES: [&str; 3] = ["allkeys-lru", "allkeys-lfu", "allkeys-random"];
const EVICT_FOR: Duration = Duration::from_secs(6);
/// Evictions to reach before the pressure ends.
const EVICT_KEYS: u64 = 20_000;
/// Module settings and values that must never cause repeats, set on every node: the bound on
/// eviction records, never below the generator names the load uses (fewer records would drop
/// some: documented). The safety settings and `idgen.max-borrow-ms` are left out: a restart
/// brings a node back with its module arguments, so a raised value comes down again, and a
/// generation resumed with the smaller gap (or borrow) can land on values the previous one
/// issued with the larger one (lowering them is not covered; the 30-minute soak of seed
/// 349006832 repeated 14 `sf:narrow` IDs after `max-borrow-ms` went from 5000 to 1000 that way).
const SETTINGS: [(&str, &[&str]); 1] = [(
    "idgen.max-eviction-records",
    &["10000", "100000", "1000000"],
)];

/// One node and the proxy its replication link runs through (none on the primary).
pub struct Node {
    pub server: Server,
    link: Option<Proxy>,
}

pub struct Rig {
    /// `nodes[0]` is the primary.
    pub nodes: Vec<Node>,
    pub idgen: Load,
    pub incr: Load,
    pub pool: Option<PoolLoad>,
    /// Records of loads that ended (stale sides of partitions, pool holders paused for clock
    /// steps).
    pub idgen_logs: Vec<load::ClientLog>,
    pub incr_logs: Vec<load::ClientLog>,
    pub tenures: Vec<Tenure>,
    pub pool_counts: pool::Counts,
    /// `NOREPLICAS` replies the cut-off side of the partitions got.
    pub stale_noreplicas: u64,
    /// Keys evicted under eviction pressure, and generator keys among them.
    pub evicted: u64,
    pub generators_evicted: u64,
    sampler: Sampler,
    rng: Rng,
    seed: u64,
    pub timeline: Vec<String>,
}

fn builder(role: &str, worker: u32) -> idgen_testkit::ServerBuilder {
    with_env_module_args(Server::builder(&format!("faults-soak-{role}")))
        .config("appendonly yes")
        .config("appendfsync everysec")
        // No rewrite on a schedule: the incr file the sampler watches stays the same.
        .config("auto-aof-rewrite-percentage 0")
        .config("crash-memcheck-enabled no")
        .module_arg("idgen.worker-id", &worker.to_string())
        .module_arg("idgen.reserve-min-replicas", "1")
}

fn ok(r: &Value, what: &str) {
    assert!(
        matches!(r, Value::Simple(s) if s.starts_with("OK")),
        "{what}: {r:?}"
    );
}

/// Makes `node` a replica of `primary` through a new proxy, and drops its clients (a demoted
/// node keeps its connections: the clients must go to the primary).
fn link_to(node: &mut Node, primary: u16) {
    let proxy = Proxy::start(primary);
    let mut c = node.server.conn();
    let r = c.cmd(&[
        "REPLICAOF".to_string(),
        "127.0.0.1".into(),
        proxy.port().to_string(),
    ]);
    ok(&r, "REPLICAOF");
    c.run("CLIENT KILL TYPE normal");
    if let Some(old) = node.link.replace(proxy) {
        old.close();
    }
}

impl Rig {
    /// Starts the three nodes (all as primaries: a restart brings a node back as one) and links
    /// the replicas, creates the keys and the pool, starts the clients.
    pub fn start(seed: u64) -> Rig {
        let module = test_clock_module();
        let mut nodes: Vec<Node> = [("a", 1), ("b", 2), ("c", 3)]
            .into_iter()
            .map(|(role, worker)| Node {
                server: start_with_module(&module, builder(role, worker)),
                link: None,
            })
            .collect();
        let port0 = nodes[0].server.port();
        let mut c = nodes[0].server.conn();
        assert_eq!(
            c.cmd(&["IDGEN.DEBUG-CLOCK"]),
            Value::Int(0),
            "IDGEN.DEBUG-CLOCK missing: {} is not the test-clock build",
            module.display()
        );
        for n in &mut nodes[1..] {
            link_to(n, port0);
        }
        for n in &nodes[1..] {
            wait_link_up(&n.server, Duration::from_secs(30));
        }
        // The keys are created (fenced: once a replica acknowledges) before any client runs.
        idgen_testkit::wait_until(Duration::from_secs(10), "the fence to open", || {
            info_field(&mut c, "idgen", "idgen_fence_open").as_deref() == Some("1")
        });
        Workload::Idgen.setup(&mut c);
        crate::pool_scenarios::pool_setup(&mut c);
        let mut rig = Rig {
            nodes,
            idgen: Load::start(Workload::Idgen, port0, IDGEN_CLIENTS, seed),
            incr: Load::start(Workload::Incr, port0, INCR_CLIENTS, seed ^ 0x5151),
            pool: None,
            idgen_logs: Vec::new(),
            incr_logs: Vec::new(),
            tenures: Vec::new(),
            pool_counts: pool::Counts::default(),
            stale_noreplicas: 0,
            evicted: 0,
            generators_evicted: 0,
            sampler: Sampler::start(),
            rng: Rng::new(seed ^ 0x0e3e_5150),
            seed,
            timeline: Vec::new(),
        };
        rig.start_pool(0);
        rig
    }

    pub fn primary_port(&self) -> u16 {
        self.nodes[0].server.port()
    }

    fn start_pool(&mut self, n: u64) {
        let seed = self.seed.wrapping_add(0x9001 + n);
        self.pool = Some(PoolLoad::start(
            self.primary_port(),
            POOL_HOLDERS_NAMED,
            POOL_HOLDERS_ANONYMOUS,
            seed,
        ));
    }

    fn stop_pool(&mut self) {
        if let Some(p) = self.pool.take() {
            let (t, c) = p.stop();
            self.tenures.extend(t);
            self.pool_counts.add(&c);
        }
    }

    /// Points every client at the primary (`nodes[0]`).
    fn retarget(&self) {
        let port = self.primary_port();
        self.idgen.set_target(port);
        self.incr.set_target(port);
        if let Some(p) = &self.pool {
            p.set_target(port);
        }
    }

    /// Makes node `i` a replica of the primary (see `link_to`).
    fn link(&mut self, i: usize) {
        let port = self.primary_port();
        link_to(&mut self.nodes[i], port);
    }

    /// `REPLICAOF NO ONE` on node `i`, which becomes `nodes[0]` (the old primary `nodes[1]`);
    /// the clients move to it.
    fn promote(&mut self, i: usize) {
        let r = self.nodes[i].server.conn().run("REPLICAOF NO ONE");
        ok(&r, "REPLICAOF NO ONE");
        self.promoted(i);
    }

    /// Node `i` was promoted: reorder, close its link, move the clients.
    fn promoted(&mut self, i: usize) {
        let mut n = self.nodes.remove(i);
        if let Some(l) = n.link.take() {
            l.close();
        }
        self.nodes.insert(0, n);
        self.retarget();
    }

    /// Waits until both replicas are linked and synced (a full sync after most faults).
    pub fn wait_synced(&self) {
        for n in &self.nodes[1..] {
            wait_link_up(&n.server, Duration::from_secs(90));
        }
    }

    pub fn pick(&mut self, kinds: &[Kind]) -> Kind {
        *self.rng.pick(kinds)
    }

    /// Load before a fault: a random pause; with a burst on the idle key at its end when the
    /// fault loses history.
    pub fn load_for(&mut self, burst: bool) {
        let ms = self.rng.range(500, 2_000) as u64;
        let burst_ms = BURST_BEFORE_FAULT.as_millis() as u64;
        if burst {
            thread::sleep(Duration::from_millis(ms.max(burst_ms) - burst_ms));
            self.idgen.set_burst(true);
            thread::sleep(BURST_BEFORE_FAULT);
        } else {
            thread::sleep(Duration::from_millis(ms));
        }
    }

    pub fn run(&mut self, kind: Kind) -> String {
        match kind {
            Kind::Kill9AofCut => self.kill9_aof_cut(),
            Kind::StopPromote => self.stop_promote(),
            Kind::Partition => self.partition(),
            Kind::ClockStep => self.clock_step(),
            Kind::Promote => self.promote_lagging(),
            Kind::Evict => self.evict(),
            Kind::DebugReload => self.debug_reload(),
            Kind::ConfigSet => self.config_set(),
        }
    }

    /// The sampler starts watching at this round, so the cut never reaches back past it: what
    /// a restart of an earlier round wrote stays (two power cuts within the fsync window are
    /// outside the guarantee, docs/persistence.md).
    fn kill9_aof_cut(&mut self) -> String {
        self.sampler.watch(incr_file(self.nodes[0].server.dir()));
        self.load_for(true);
        let at = Instant::now();
        self.nodes[0].server.kill9();
        self.idgen.set_burst(false);
        let (size, age) = self.sampler.size_before(at, EVERYSEC_LOST);
        let cut = truncate(&incr_file(self.nodes[0].server.dir()), size);
        self.nodes[0].server.restart();
        format!(
            "port {}: kill -9, AOF cut back {cut} bytes (its size {} ms before), restarted",
            self.primary_port(),
            age.as_millis()
        )
    }

    fn stop_promote(&mut self) -> String {
        self.load_for(false);
        let old_port = self.primary_port();
        let stopped = Stopped::new(pid(&self.nodes[0].server));
        let ms = self.rng.range(STOP_FOR_MS.0, STOP_FOR_MS.1);
        thread::sleep(Duration::from_millis(ms as u64));
        self.promote(1);
        self.link(2);
        stopped.resume();
        // It answers what its clients sent while it was stopped, until it is demoted.
        thread::sleep(Duration::from_millis(self.rng.range(0, 500) as u64));
        self.link(1);
        format!(
            "port {old_port} stopped {ms} ms, port {} promoted, old primary resumed and rejoined",
            self.primary_port()
        )
    }

    fn partition(&mut self) -> String {
        self.load_for(false);
        for n in &self.nodes[1..] {
            n.link.as_ref().expect("a replica's link").cut();
        }
        let old_port = self.primary_port();
        self.promote(1);
        self.link(2);
        self.nodes[1].server.conn().run("CLIENT KILL TYPE normal");
        let n = self.rng.next_u64();
        let stale = [
            Load::start(Workload::Idgen, old_port, 1, n),
            Load::start(Workload::Incr, old_port, 1, n ^ 0x5151),
        ];
        let split = self.rng.range(SPLIT_MS.0, SPLIT_MS.1);
        thread::sleep(Duration::from_millis(split as u64));
        let [si, sc] = stale;
        let (_, li) = si.stop();
        let (_, lc) = sc.stop();
        let stale_ok: u64 = li.iter().map(|l| l.ok).sum();
        let refused: u64 = li
            .iter()
            .map(|l| l.error_kinds.get("NOREPLICAS").copied().unwrap_or(0))
            .sum();
        self.stale_noreplicas += refused;
        self.idgen_logs.extend(li);
        self.incr_logs.extend(lc);
        self.link(1);
        format!(
            "split {split} ms: port {} promoted; old primary {old_port}: {stale_ok} idgen \
             replies, {refused} NOREPLICAS; rejoined",
            self.primary_port()
        )
    }
}

impl Rig {
    fn clock_step(&mut self) -> String {
        self.load_for(false);
        // Pool leases are judged by the server's clock: a step is outside their contract (a
        // forward step expires live leases), so the holders pause across it.
        self.stop_pool();
        let offset = *self.rng.pick(&CLOCK_OFFSETS);
        let mut c = self.nodes[0].server.conn();
        let r = c.cmd(&["IDGEN.DEBUG-CLOCK".to_string(), offset.to_string()]);
        assert_eq!(r, Value::Int(offset), "IDGEN.DEBUG-CLOCK {offset}");
        let hold = self.rng.range(CLOCK_HOLD_MS.0, CLOCK_HOLD_MS.1);
        thread::sleep(Duration::from_millis(hold as u64));
        let r = c.cmd(&["IDGEN.DEBUG-CLOCK", "0"]);
        assert_eq!(r, Value::Int(0), "IDGEN.DEBUG-CLOCK 0");
        let n = self.rng.next_u64();
        self.start_pool(n);
        format!(
            "port {}: module clock {offset} ms for {hold} ms",
            self.primary_port()
        )
    }

    fn promote_lagging(&mut self) -> String {
        self.load_for(false);
        let lag = *self.rng.pick(&REPLICA_LAGS);
        let old_port = self.primary_port();
        let mut ctl = self.nodes[1].server.conn();
        self.nodes[1]
            .link
            .as_ref()
            .expect("a replica's link")
            .hold();
        let stopped = Stopped::new(pid(&self.nodes[1].server));
        self.idgen.set_burst(true);
        thread::sleep(lag);
        self.nodes[0].server.kill9();
        self.idgen.set_burst(false);
        ctl.send(&[vec!["REPLICAOF", "NO", "ONE"]])
            .expect("send REPLICAOF NO ONE");
        stopped.resume();
        let r = ctl.read_value().expect("REPLICAOF NO ONE reply");
        ok(&r, "REPLICAOF NO ONE");
        self.promoted(1);
        self.link(2);
        self.nodes[1].server.restart();
        self.link(1);
        format!(
            "replica {} lagging {} ms, primary {old_port} killed, replica promoted, old primary \
             restarted and rejoined",
            self.primary_port(),
            lag.as_millis()
        )
    }

    fn evict(&mut self) -> String {
        self.load_for(false);
        let mut c = self.nodes[0].server.conn();
        let stat = |c: &mut Conn, section: &str, field: &str| -> u64 {
            info_field(c, section, field)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let used = stat(&mut c, "memory", "used_memory");
        let before = stat(&mut c, "stats", "evicted_keys");
        let generators_before = stat(&mut c, "idgen", "idgen_evicted_generators");
        let policy = *self.rng.pick(&EVICT_POLICIES);
        ok(
            &c.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]),
            "CONFIG SET maxmemory-policy",
        );
        let limit = used + 2 * 1024 * 1024;
        ok(
            &c.cmd(&[
                "CONFIG".to_string(),
                "SET".into(),
                "maxmemory".into(),
                limit.to_string(),
            ]),
            "CONFIG SET maxmemory",
        );
        let junk = "x".repeat(100);
        let start = Instant::now();
        let mut written = 0u64;
        let mut evicted = 0;
        while start.elapsed() < EVICT_FOR && evicted < EVICT_KEYS {
            let cmds: Vec<Vec<String>> = (0..500)
                .map(|i| {
                    args!["SET", format!("soak:junk:{}", written + i), junk, "EX", 60].to_vec()
                })
                .collect();
            c.pipeline(&cmds);
            written += 500;
            evicted = stat(&mut c, "stats", "evicted_keys").saturating_sub(before);
        }
        ok(
            &c.cmd(&["CONFIG", "SET", "maxmemory", "0"]),
            "CONFIG SET maxmemory 0",
        );
        ok(
            &c.cmd(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]),
            "CONFIG SET maxmemory-policy noeviction",
        );
        let generators =
            stat(&mut c, "idgen", "idgen_evicted_generators").saturating_sub(generators_before);
        self.evicted += evicted;
        self.generators_evicted += generators;
        format!(
            "port {}: maxmemory {limit} {policy}, {written} junk keys written, {evicted} keys \
             evicted ({generators} generators)",
            self.primary_port()
        )
    }

    fn debug_reload(&mut self) -> String {
        self.load_for(false);
        let r = self.nodes[0].server.conn().cmd(&["DEBUG", "RELOAD"]);
        format!("port {}: DEBUG RELOAD: {r:?}", self.primary_port())
    }

    fn config_set(&mut self) -> String {
        self.load_for(false);
        let (name, values) = *self.rng.pick(&SETTINGS);
        let value = *self.rng.pick(values);
        for n in &self.nodes {
            ok(
                &n.server.conn().cmd(&["CONFIG", "SET", name, value]),
                &format!("CONFIG SET {name} {value}"),
            );
        }
        format!("every node: CONFIG SET {name} {value}")
    }

    /// Ends the loads and returns every record: (idgen, INCR, tenures, pool counts).
    pub fn finish(mut self) -> Finished {
        self.stop_pool();
        let Rig {
            nodes,
            idgen,
            incr,
            mut idgen_logs,
            mut incr_logs,
            tenures,
            pool_counts,
            ..
        } = self;
        idgen_logs.extend(idgen.stop().1);
        incr_logs.extend(incr.stop().1);
        Finished {
            idgen: check(Workload::Idgen, idgen_logs),
            incr: check(Workload::Incr, incr_logs),
            tenures,
            pool_counts,
            servers: nodes.into_iter().map(|n| n.server).collect(),
        }
    }
}

/// What a soak leaves for the verdict.
pub struct Finished {
    pub idgen: Report,
    pub incr: Report,
    pub tenures: Vec<Tenure>,
    pub pool_counts: pool::Counts,
    pub servers: Vec<Server>,
}
