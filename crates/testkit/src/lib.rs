//! Test harness shared by the integration tests: a real `redis-server` with the idgen module
//! loaded, a client over the `redis` crate (`client`), DUMP payload forging (`dump`), crash
//! detection in server logs (`crash`), and the helpers below. One crate, compiled once for both
//! test binaries (`tests/it`, `tests/faults`).

pub mod client;
pub mod cluster;
pub mod crash;
pub mod dump;
pub mod wrapper;

pub use client::{Conn, Value};

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a server may take to answer PING after start (times [`wrapper::timeout_scale`]).
const START_TIMEOUT: Duration = Duration::from_secs(10);

fn start_timeout() -> Duration {
    wrapper::scaled(START_TIMEOUT)
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The idgen repository (the workspace root, two levels above this crate): `target/`, the
/// module build and the test-clock build are there.
pub fn root() -> &'static Path {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .expect("crates/testkit sits two levels below the repository root")
}

/// Current unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The server binary the tests run: `$IDGEN_SERVER` (Redis 7.0, Redis 8 or Valkey 9), else
/// `redis-server` from PATH.
pub fn server_binary() -> std::ffi::OsString {
    std::env::var_os("IDGEN_SERVER").unwrap_or_else(|| "redis-server".into())
}

/// The test-clock build of the module (`IDGEN.DEBUG-CLOCK`): `$IDGEN_TEST_CLOCK_MODULE`, else
/// built here with `cargo build --release --features test-clock --target-dir target/test-clock`
/// (a no-op when it is up to date; its own target directory, so it does not wait for the lock
/// of the `cargo test` that runs this).
pub fn test_clock_module() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("IDGEN_TEST_CLOCK_MODULE") {
            return PathBuf::from(p);
        }
        let root = root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args([
                "build",
                "--release",
                "--features",
                "test-clock",
                "--target-dir",
                "target/test-clock",
            ])
            .current_dir(root)
            .output()
            .expect("run cargo build for the test-clock module");
        assert!(
            out.status.success(),
            "building the test-clock module failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        root.join("target/test-clock/release/libidgen.so")
    })
    .clone()
}

/// Path of the module under test: `$IDGEN_MODULE`, else `target/release/libidgen.so`.
pub fn module_path() -> PathBuf {
    let p = match std::env::var_os("IDGEN_MODULE") {
        Some(p) => PathBuf::from(p),
        None => root().join("target/release/libidgen.so"),
    };
    if !p.is_file() {
        panic!(
            "module {} not found: run `cargo build --release` first (or `make test`), \
             or point IDGEN_MODULE at the .so",
            p.display()
        );
    }
    p
}

/// Polls `f` every 20 ms until it returns true; panics with `what` after `timeout` (times
/// [`wrapper::timeout_scale`]).
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let timeout = wrapper::scaled(timeout);
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/// Builder for [`Server`].
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    name: String,
    config: Vec<Vec<String>>,
    module_args: Vec<String>,
    /// Load the module from a config file (`<dir>/redis.conf`) instead of the command line, so
    /// that CONFIG REWRITE has a file to write and a restart reads it back.
    config_file: bool,
    /// A cluster node: a port whose bus port (+10000) is free too (see `free_cluster_port`).
    cluster: bool,
    /// The module build to load (restarts reuse it); `None`: [`module_path`].
    module: Option<PathBuf>,
    /// Pass `idgen.allow-unsafe-persistence yes`: test servers run without AOF (`--appendonly
    /// no`), where the module's default refuses to issue sequences and pools.
    allow_unsafe_persistence: bool,
}

impl ServerBuilder {
    /// Extra config directive, e.g. `"appendonly yes"` or `"save 1 1"` (split on whitespace).
    pub fn config(mut self, directive: &str) -> Self {
        let parts: Vec<String> = directive.split_whitespace().map(String::from).collect();
        assert!(!parts.is_empty(), "empty config directive");
        self.config.push(parts);
        self
    }

    /// Module argument pair, e.g. `module_arg("idgen.worker-id", "7")`.
    pub fn module_arg(mut self, name: &str, value: &str) -> Self {
        self.module_args.push(name.to_string());
        self.module_args.push(value.to_string());
        self
    }

    /// Start from a config file `<dir>/redis.conf` that holds the `loadmodule` line (with the
    /// module arguments); restarts read the file as CONFIG REWRITE left it.
    pub fn config_file(mut self) -> Self {
        self.config_file = true;
        self
    }

    /// A Redis Cluster node (`cluster-enabled yes`, its own `nodes.conf`), on a port whose
    /// cluster bus port is free too.
    pub fn cluster_node(mut self) -> Self {
        self.cluster = true;
        self.config("cluster-enabled yes")
            .config("cluster-config-file nodes.conf")
    }

    /// Load this build of the module instead of [`module_path`]'s (e.g. [`test_clock_module`]);
    /// restarts load it too. Per server, so tests in one binary can load different builds.
    pub fn module(mut self, path: impl Into<PathBuf>) -> Self {
        self.module = Some(path.into());
        self
    }

    /// Keep the module's default for a server without AOF: sequences and pools refuse
    /// (`MISCONF`) instead of being served (every other test server accepts the risk).
    pub fn refuse_unsafe_persistence(mut self) -> Self {
        self.allow_unsafe_persistence = false;
        self
    }

    /// Start as a replica of `127.0.0.1:<port>`.
    pub fn replicaof(self, port: u16) -> Self {
        self.config(&format!("replicaof 127.0.0.1 {port}"))
    }

    pub fn start(self) -> Server {
        let module = match &self.module {
            Some(p) => p.clone(),
            None => module_path(),
        };
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            root()
                .join("target/itest")
                .join(format!("{}-{}-{}", self.name, std::process::id(), n));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create server dir");
        let mut server = Server {
            builder: self,
            module,
            dir,
            port: 0,
            child: None,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            server.port = if server.builder.cluster {
                free_cluster_port()
            } else {
                free_port()
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start redis-server: {last_err}");
    }
}

/// A running `redis-server` with the module loaded. SIGKILLed on drop (shut down under a
/// wrapper: [`wrapper`]); its directory is removed
/// on drop unless the thread is panicking (so a failing test keeps `redis.log`).
pub struct Server {
    builder: ServerBuilder,
    module: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// A port of 127.0.0.1 that was free a moment ago (the kernel's pick for a listener, closed at
/// once): servers are started on it, and retried on another one if it was taken meanwhile.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// A port for a cluster node: it and its bus port (+10000) were free a moment ago. Taken from
/// 20000..22700, so that the bus port stays below Linux's ephemeral range (32768-60999), where
/// a port briefly held by an outgoing connection would stop the node's bus from binding.
pub fn free_cluster_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let seed = std::process::id() as usize * 7919
        + SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as usize;
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20000 + ((seed + n * 7877) % 2700) as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10000) {
            return port;
        }
    }
    panic!("no free port pair for a cluster node in 20000..22700");
}

impl Server {
    pub fn builder(name: &str) -> ServerBuilder {
        ServerBuilder {
            name: name.to_string(),
            config: Vec::new(),
            module_args: Vec::new(),
            config_file: false,
            cluster: false,
            module: None,
            allow_unsafe_persistence: true,
        }
    }

    /// Server with the default options.
    pub fn start(name: &str) -> Server {
        Server::builder(name).start()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The whole redis.log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Last 40 lines of redis.log.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// After a suspected crash: waits (bounded) for Redis to finish its crash report, then returns
    /// the report's key lines (Guru Meditation, assertion, Rust panic) and the log tail.
    pub fn crash_summary(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut text = String::new();
        while Instant::now() < deadline {
            text = fs::read_to_string(self.log_path()).unwrap_or_default();
            if text.contains("BUG REPORT END") || Conn::try_connect(self.port).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        // The log survives restarts: look at the newest crash report only.
        if let Some(i) = text.rfind("REDIS BUG REPORT START") {
            text = text[i..].to_string();
        }
        let key = crash::crash_lines(&text);
        format!("{}\n--- log tail ---\n{}", key.join("\n"), tail(&text, 15))
    }

    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--port".into(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--daemonize".into(),
            "no".into(),
            "--dir".into(),
            self.dir.display().to_string(),
            "--logfile".into(),
            self.log_path().display().to_string(),
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            "no".into(),
            "--enable-debug-command".into(),
            "yes".into(),
            "--enable-module-command".into(),
            "yes".into(),
            "--repl-diskless-sync-delay".into(),
            "0".into(),
        ];
        for directive in &self.builder.config {
            a.push(format!("--{}", directive[0]));
            a.extend(directive[1..].iter().cloned());
        }
        let mut module_args = self.builder.module_args.clone();
        if self.builder.allow_unsafe_persistence {
            module_args.extend(["idgen.allow-unsafe-persistence".into(), "yes".into()]);
        }
        if self.builder.config_file {
            let conf = self.dir.join("redis.conf");
            if !conf.exists() {
                let mut line = format!("loadmodule {}", self.module.display());
                for arg in &module_args {
                    line.push(' ');
                    line.push_str(arg);
                }
                fs::write(&conf, line + "\n").expect("write redis.conf");
            }
            a.insert(0, conf.display().to_string());
        } else {
            a.push("--loadmodule".into());
            a.push(self.module.display().to_string());
            a.extend(module_args);
        }
        a
    }

    /// Spawns the process on `self.port` and waits for PING. On failure the process is gone.
    fn spawn(&mut self) -> Result<(), String> {
        let log_len_before = fs::metadata(self.log_path()).map(|m| m.len()).unwrap_or(0);
        let mut cmd = match wrapper::wrapper() {
            Some(w) => {
                let mut c = Command::new(&w[0]);
                c.args(&w[1..]).arg(server_binary());
                c
            }
            None => Command::new(server_binary()),
        };
        let child = cmd
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + start_timeout();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                let log = fs::read(self.log_path()).unwrap_or_default();
                let new = String::from_utf8_lossy(&log[(log_len_before as usize).min(log.len())..]);
                return Err(format!(
                    "redis-server on port {} exited with {status}; log:\n{}",
                    self.port,
                    tail(&new, 40)
                ));
            }
            if let Ok(mut c) = Conn::try_connect(self.port) {
                if let Ok(Value::Simple(s)) = c.try_cmd(&["PING"]) {
                    if s == "PONG" {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                self.kill9();
                panic!(
                    "redis-server on port {} did not answer PING within {:?}; \
                     redis.log tail:\n{}",
                    self.port,
                    start_timeout(),
                    self.log_tail()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// New connection (RESP2).
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// New RESP3 connection (checked to be one).
    pub fn conn3(&self) -> Conn {
        Conn::connect_resp3(self.port)
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again with the same port, directory and arguments (SIGKILLs a running process).
    pub fn restart(&mut self) {
        self.kill9();
        let mut last_err = String::new();
        for _ in 0..5 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => {
                    last_err = e;
                    thread::sleep(Duration::from_millis(200));
                }
            }
        }
        panic!("could not restart redis-server: {last_err}");
    }

    /// `SHUTDOWN SAVE` and wait for the process to exit.
    pub fn shutdown_save(&mut self) {
        let mut c = self.conn();
        // The connection is closed by the server, so an I/O error is the expected reply.
        if let Ok(Value::Error(e)) = c.try_cmd(&["SHUTDOWN", "SAVE"]) {
            panic!("SHUTDOWN SAVE refused: {e}");
        }
        let mut child = self.child.take().expect("server not running");
        let deadline = Instant::now() + start_timeout();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "redis-server exited with {status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not exit after SHUTDOWN SAVE");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// One field of `INFO <section>` as a string.
    pub fn info_field(&self, section: &str, field: &str) -> Option<String> {
        info_field(&mut self.conn(), section, field)
    }
}

impl Server {
    /// Under a wrapper (valgrind): `SHUTDOWN NOSAVE NOW`, then SIGTERM, and a bounded wait for
    /// the exit, so that the wrapper writes its final report (a SIGKILLed valgrind writes no leak
    /// summary); SIGKILL if it does not exit in time. Without a wrapper: SIGKILL.
    fn stop(&mut self) {
        if !wrapper::wrapped() {
            return self.kill9();
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_none() {
            if let Ok(mut c) = Conn::try_connect_with_timeout(self.port, Duration::from_secs(5)) {
                let _ = c.try_cmd(&["SHUTDOWN", "NOSAVE", "NOW"]);
            }
        }
        let mut termed = false;
        let deadline = Instant::now() + start_timeout();
        loop {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            if !termed && Instant::now() + start_timeout() / 2 > deadline {
                // SHUTDOWN refused or not sent (a paused or busy server): SIGTERM.
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                termed = true;
            }
            if Instant::now() > deadline {
                eprintln!(
                    "server on port {} ignored SHUTDOWN and SIGTERM: SIGKILL",
                    self.port
                );
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "server dir kept: {} (log: {})",
                self.dir.display(),
                self.log_path().display()
            );
        }
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `INFO <section>` as text.
pub fn info(c: &mut Conn, section: &str) -> String {
    let reply = c.cmd(&["INFO", section]);
    info_text(section, reply)
}

fn info_text(section: &str, reply: Value) -> String {
    match reply {
        Value::Bulk(b) => String::from_utf8(b).unwrap(),
        Value::Verbatim(_, b) => String::from_utf8(b).unwrap(),
        other => panic!("INFO {section}: unexpected reply {other:?}"),
    }
}

fn field_of(text: &str, field: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// One `field:value` line of `INFO <section>`.
pub fn info_field(c: &mut Conn, section: &str, field: &str) -> Option<String> {
    field_of(&info(c, section), field)
}

/// `info_field`, or `None` when the connection fails: for polling a server that may close its
/// clients meanwhile (Sentinel's `CLIENT KILL TYPE normal` when it reconfigures a node).
pub fn try_info_field(c: &mut Conn, section: &str, field: &str) -> Option<String> {
    let reply = c.try_cmd(&["INFO", section]).ok()?;
    field_of(&info_text(section, reply), field)
}

/// Waits (bounded) until the replica's link is up and its offset equals the primary's.
pub fn wait_replica_sync(primary: &Server, replica: &Server) {
    let mut p = primary.conn();
    let mut r = replica.conn();
    wait_until(Duration::from_secs(20), "replica in sync", || {
        let up = info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up");
        if !up {
            return false;
        }
        let po = info_field(&mut p, "replication", "master_repl_offset");
        let ro = info_field(&mut r, "replication", "master_repl_offset");
        po.is_some() && po == ro
    });
}

/// The module's data types, as the server names a key's type (`TYPE key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generator {
    /// `idgen-sfk`
    Snowflake,
    /// `idgen-seq`
    Seq,
    /// `idgen-wrk`: a worker-ID pool (WORKER.*)
    Pool,
    /// `idgen-uid`: UUIDv7 / ULID (UUID.*)
    Uuid,
}

impl Generator {
    /// The type of `TYPE`'s answer, if it is one of the module's.
    pub fn from_type_name(name: &str) -> Option<Generator> {
        match name {
            "idgen-sfk" => Some(Generator::Snowflake),
            "idgen-seq" => Some(Generator::Seq),
            "idgen-wrk" => Some(Generator::Pool),
            "idgen-uid" => Some(Generator::Uuid),
            _ => None,
        }
    }

    /// The command family: `SNOWFLAKE`, `SEQ` or `WORKER`.
    pub fn family(self) -> &'static str {
        match self {
            Generator::Snowflake => "SNOWFLAKE",
            Generator::Seq => "SEQ",
            Generator::Pool => "WORKER",
            Generator::Uuid => "UUID",
        }
    }

    /// The INFO command of a key of this type.
    pub fn info_cmd(self) -> &'static str {
        match self {
            Generator::Snowflake => "SNOWFLAKE.INFO",
            Generator::Seq => "SEQ.INFO",
            Generator::Pool => "WORKER.INFO",
            Generator::Uuid => "UUID.INFO",
        }
    }

    /// The command that issues one value from a key of this type (for a pool, which issues
    /// leases to named holders, the one-key command that reads them all: `WORKER.LIST`).
    pub fn next_cmd(self) -> &'static str {
        match self {
            Generator::Snowflake => "SNOWFLAKE.NEXT",
            Generator::Seq => "SEQ.NEXT",
            Generator::Pool => "WORKER.LIST",
            Generator::Uuid => "UUID.NEXT",
        }
    }
}

/// What `key` holds, by the server's answer to `TYPE key`: `Ok` with the generator type, or
/// `Err` with the type name when it is not one of the module's (`none` for a missing key).
pub fn try_generator_of<K: AsRef<[u8]>>(
    c: &mut Conn,
    key: K,
) -> io::Result<Result<Generator, String>> {
    let t = c.try_cmd(&[b"TYPE".as_slice(), key.as_ref()])?;
    let name = match &t {
        Value::Simple(_) | Value::Bulk(_) => t.as_str().to_string(),
        other => format!("{other:?}"),
    };
    Ok(Generator::from_type_name(&name).ok_or(name))
}

/// The generator type of `key` (`TYPE key`), or None when it holds something else or nothing.
pub fn generator_of<K: AsRef<[u8]>>(c: &mut Conn, key: K) -> Option<Generator> {
    let key = key.as_ref();
    try_generator_of(c, key)
        .unwrap_or_else(|e| panic!("TYPE {:?}: {e}", String::from_utf8_lossy(key)))
        .ok()
}

/// The INFO command `key` needs (`SNOWFLAKE.INFO`, `SEQ.INFO` or `WORKER.INFO`), by the server's
/// `TYPE`;
/// panics when the key is not a generator.
pub fn info_cmd_of<K: AsRef<[u8]>>(c: &mut Conn, key: K) -> &'static str {
    let key = key.as_ref();
    match generator_of(c, key) {
        Some(g) => g.info_cmd(),
        None => panic!(
            "{:?} is not an idgen generator (TYPE)",
            String::from_utf8_lossy(key)
        ),
    }
}

/// Sends `create_cmd key <options>` for each case and checks that it is refused with exactly the
/// expected error and creates nothing; reports every wrong case at once.
pub fn assert_create_refusals<W: AsRef<str>>(
    c: &mut Conn,
    create_cmd: &str,
    cases: Vec<(Vec<String>, W)>,
) {
    let total = cases.len();
    let mut wrong = Vec::new();
    for (opts, want) in cases {
        let want = want.as_ref();
        let mut cmd = vec![create_cmd.to_string(), "k".to_string()];
        cmd.extend(opts);
        let r = c.cmd(&cmd);
        if r != Value::Error(want.to_string()) {
            wrong.push(format!("{cmd:?}: got {r}, want {want:?}"));
        }
        if c.cmd(&["EXISTS", "k"]).int() != 0 {
            wrong.push(format!("{cmd:?} created the key"));
            c.cmd(&["DEL", "k"]);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {total} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Builds an array of owned arguments from anything displayable: `args!["SEQ.NEXT", key, 5]`.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        [$(format!("{}", $a)),*]
    };
}

/// One of the module's commands, as the server reports it (from the module's declarations).
#[derive(Debug, Clone)]
pub struct ModuleCommand {
    /// Lower case, as registered.
    pub name: String,
    pub arity: i64,
    pub flags: Vec<String>,
    /// Internal: accepted only from the replication link and the AOF (its COMMAND DOCS summary
    /// starts with "Internal").
    pub internal: bool,
}

/// Every command the loaded module registered: `COMMAND LIST FILTERBY MODULE idgen`, with
/// `COMMAND INFO` and `COMMAND DOCS` of each. Tests iterate this instead of keeping lists.
pub fn module_commands(c: &mut Conn) -> Vec<ModuleCommand> {
    let mut names: Vec<String> = c
        .cmd(&["COMMAND", "LIST", "FILTERBY", "MODULE", "idgen"])
        .array()
        .iter()
        .map(|v| v.as_str().to_ascii_lowercase())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let info = c.cmd(&["COMMAND", "INFO", &name]);
            let e = info.array()[0].array().to_vec();
            let docs = c.cmd(&["COMMAND", "DOCS", &name]);
            let summary = docs.pairs()[0]
                .1
                .map_get("summary")
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            ModuleCommand {
                arity: e[1].int(),
                flags: e[2]
                    .array()
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect(),
                internal: summary.starts_with("Internal"),
                name,
            }
        })
        .collect()
}
