//! Scenario 6, bad input in the files a server starts from: truncated dump.rdb files and
//! forged AOF files (the internal commands as a loading server runs them).

use super::*;
use crate::fuzz_commands::{check_issue_refusal, show, words};
use crate::fuzz_restore::check_generator;

/// How a server started on a damaged dump.rdb or a forged AOF ended its startup.
#[derive(Clone, Copy, Debug)]
enum Startup {
    /// It answered PING: it loaded the file.
    Served,
    /// It exited by itself.
    Exited(std::process::ExitStatus),
    /// Its load had failed (the log says so) but it did not exit: Redis 7.0 then runs its
    /// built-in RDB check, whose module-value parser (`rdbLoadCheckModuleValue`) loops forever
    /// when the file ends right where it expects an opcode (it never tests for a read error).
    /// A Redis bug, after the module refused the value; killed by the test.
    HungAfterRefusing,
    /// Neither of the above within 10 s.
    Stuck,
}

/// The log lines with which Redis reports a failed RDB load.
const LOAD_FAILED: [&str; 4] = [
    "Short read or OOM loading DB",
    "Internal error in RDB reading",
    "Wrong RDB checksum",
    "Fatal error loading",
];

/// A redis-server the test starts itself, with the module, on a prepared directory (a damaged
/// dump.rdb, a forged AOF); SIGKILLed on drop unless it exited.
struct Trial {
    child: Child,
    port: u16,
    log: PathBuf,
    how: Startup,
}

impl Trial {
    /// Starts redis-server on `dir` with `config` and waits until it exits, serves, or hangs
    /// after a failed load (bounded: 10 s).
    fn start(dir: &Path, config: &[&str]) -> Trial {
        let port = free_port();
        let log = dir.join("redis.log");
        let child = Command::new(idgen_testkit::server_binary())
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &dir.display().to_string(),
                "--logfile",
                &log.display().to_string(),
                "--save",
                "",
                "--crash-memcheck-enabled",
                "no",
            ])
            .args(config)
            .args(["--loadmodule", &module_path().display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let mut t = Trial {
            child,
            port,
            log,
            how: Startup::Stuck,
        };
        t.how = t.wait_startup();
        t
    }

    fn wait_startup(&mut self) -> Startup {
        let start = Instant::now();
        let mut failed_at: Option<Instant> = None;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Startup::Exited(s);
            }
            // A short timeout: a server stuck while loading accepts connections but never
            // answers.
            if let Ok(mut c) = Conn::try_connect_with_timeout(self.port, Duration::from_millis(200))
            {
                if c.send(&[vec!["PING"]]).is_ok() {
                    if let Ok(Value::Simple(p)) = c.read_value() {
                        if p == "PONG" {
                            return Startup::Served;
                        }
                    }
                }
            }
            if failed_at.is_none() {
                let text = self.log_text();
                if LOAD_FAILED.iter().any(|w| text.contains(w)) {
                    failed_at = Some(Instant::now());
                }
            }
            if failed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
                return Startup::HungAfterRefusing;
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Startup::Stuck;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server (unless it exited) and returns its whole log.
    fn stop(mut self) -> String {
        self.kill();
        self.log_text()
    }

    fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts redis-server with the module on `dir` (which holds dump.rdb) and waits until it
/// exits, serves, or hangs after a failed load (bounded). Returns how, and its log.
fn start_on_rdb(dir: &Path) -> (Startup, String) {
    let t = Trial::start(dir, &["--appendonly", "no"]);
    let how = t.how;
    (how, t.stop())
}

/// Scenario 6c: a dump.rdb cut short anywhere makes startup fail cleanly: the server never
/// serves, exits, its log says why, and it does not crash (a module reading past the end of its
/// value must report an error, not abort). One exception is Redis's, not the module's: when the
/// cut falls where a module value's next opcode would be, the load fails as it should (the
/// module refuses the value, the log says so) and then Redis 7.0's own RDB check loops forever
/// (see `Startup::HungAfterRefusing`); those cuts are counted (`hung_in_redis_rdb_check`), not
/// failed.
#[test]
fn truncated_rdb_fails_startup_cleanly() {
    let _serial = serial();
    let name = "truncated-rdb";
    let mut s = Server::start("faults-rdb");
    let mut c = s.conn();
    for line in [
        "SNOWFLAKE.NEXT rdb:sf COUNT 500",
        "SNOWFLAKE.CREATE rdb:sf2 EPOCH 1600000000000 TIME-BITS 45 WORKER-BITS 6 SEQUENCE-BITS 12 WORKER 9",
        "SNOWFLAKE.NEXT rdb:sf2",
        "SEQ.NEXTBATCH rdb:seq 1000",
        "SEQ.CREATE rdb:seq2 START 10 INCREMENT 3 MINVALUE -50 MAXVALUE 1000 CYCLE",
        "SEQ.NEXTBATCH rdb:seq2 100",
    ] {
        assert!(!c.run(line).is_err(), "{line}");
    }
    c.cmd(&["SAVE"]).ok();
    s.kill9();
    let rdb = fs::read(s.dir().join("dump.rdb")).expect("read dump.rdb");
    let n = rdb.len();

    let base = s.dir().join("cuts");
    // The whole file loads (the test's own start works).
    let whole = base.join("whole");
    fs::create_dir_all(&whole).unwrap();
    fs::write(whole.join("dump.rdb"), &rdb).unwrap();
    let (how, log) = start_on_rdb(&whole);
    assert!(
        matches!(how, Startup::Served),
        "the untruncated dump.rdb does not load:\n{log}"
    );

    let mut cuts: Vec<usize> = vec![0, 5, 9, n - 9, n - 8, n - 1];
    let mut rng = Rng::new(seed() ^ 0x7db);
    while cuts.len() < RDB_CUTS {
        cuts.push(rng.range(1, n as i64 - 1) as usize);
    }
    // Every position in the last module value, too: reads past the end of a value.
    cuts.extend((n.saturating_sub(60)..n).step_by(3));
    cuts.sort_unstable();
    cuts.dedup();
    let mut failures = Vec::new();
    let mut hung = Vec::new();
    for &cut in &cuts {
        let dir = base.join(format!("cut-{cut}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("dump.rdb"), &rdb[..cut]).unwrap();
        let (how, log) = start_on_rdb(&dir);
        let crashes = crash_lines_in(&dir.join("redis.log"));
        let says_why = LOAD_FAILED.iter().any(|w| log.contains(w));
        let problem = match how {
            Startup::Served => Some("came up serving".to_string()),
            Startup::Stuck => Some("neither served nor exited within 10 s".into()),
            Startup::Exited(s) if s.success() => Some("exited with success".into()),
            _ if !crashes.is_empty() => Some(format!("crashed: {}", crashes.join(" | "))),
            _ if !says_why => Some("log does not say why".into()),
            Startup::HungAfterRefusing => {
                hung.push(cut);
                None
            }
            Startup::Exited(_) => None,
        };
        if let Some(p) = problem {
            let tail: Vec<&str> = log.lines().rev().take(6).collect();
            failures.push(format!(
                "cut at {cut} of {n} bytes: {p}; log tail: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={} ids_checked=0 repeats=0 errors=0 bad_startups={} \
         hung_in_redis_rdb_check={}",
        cuts.len(),
        failures.len(),
        hung.len()
    ));
    if !hung.is_empty() {
        println!(
            "{name}: at cuts {hung:?} the load failed as it should, then Redis's own RDB check \
             hung (Redis 7.0 rdbLoadCheckModuleValue); the test killed it"
        );
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} truncated dump.rdb files did not fail cleanly (rdb {}):\n{}",
        failures.len(),
        cuts.len(),
        fuzz::hex(&rdb),
        failures.join("\n")
    );
}

/// Writes a Redis 7 multi-part AOF into `dir`: `appendonlydir/` with a manifest that names one
/// incr file (no base: 7.0.15 loads such a manifest) holding `aof`.
fn write_aof(dir: &Path, aof: &[u8]) {
    let aof_dir = dir.join("appendonlydir");
    fs::create_dir_all(&aof_dir).unwrap();
    fs::write(
        aof_dir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    fs::write(aof_dir.join("appendonly.aof.1.incr.aof"), aof).unwrap();
}

/// The line Redis 7.0 logs for each command of an AOF that replied with an error.
const AOF_COMMAND_ERROR: &str = "sending an error to its AOF-loading-client";

/// Every generator of a server that loaded a forged AOF answers INFO without an error and NEXT
/// (and the rest of `check_generator`) with at most a documented refusal. Returns how many keys
/// were checked, or what is wrong.
fn check_loaded(port: u16) -> Result<usize, String> {
    let mut c = Conn::try_connect(port).map_err(|e| format!("connect after the load: {e}"))?;
    let lost = |e: std::io::Error| format!("connection lost while checking ({e})");
    let keys = match c.try_cmd(&["KEYS", "*"]).map_err(lost)? {
        Value::Array(keys) => keys,
        other => return Err(format!("KEYS: {other:?}")),
    };
    let mut checked = 0;
    for key in keys {
        let Value::Bulk(key) = key else {
            return Err(format!("KEYS gave {key:?}"));
        };
        if try_generator_of(&mut c, &key).map_err(lost)?.is_err() {
            continue;
        }
        checked += 1;
        check_generator(&mut c, &key, b"fz:probe", check_issue_refusal)
            .map_err(lost)?
            .map_err(|e| format!("{:?}: {e}", String::from_utf8_lossy(&key)))?;
        let _ = c.try_cmd(&["DEL", "fz:probe"]);
    }
    Ok(checked)
}

/// Scenario 6d: forged AOF files, so that the internal commands' parsers run as they do when a
/// server loads its AOF (from a client those commands are not to be relied on). Each file holds
/// internal-command vectors (exact arity with valid values, one value replaced, one argument too
/// many or too few, random arguments), client commands and well-formed plain Redis commands;
/// the first holds the edge cases; one in eight is cut at a random byte, one in 25 holds an
/// unknown command (which stops the load). A server started on it
/// either loads it, and then every generator answers INFO, NEXT, PARSE, CURRENT with at most a
/// documented refusal and round-trips through DUMP/RESTORE (`check_generator`), or it refuses
/// to start (exits with an error). Never a crash, a caught panic or a hang (every wait is
/// bounded).
///
/// What Redis 7.0.15 does with an AOF, as observed:
/// - A command that replies with an error does not stop the load: Redis logs `== CRITICAL ==
///   This server is sending an error to its AOF-loading-client: '<error>' after processing the
///   command '<name>'` and goes on with the next command (counted as `command_errors`).
/// - The loader does no arity check: it calls the command's function directly. The module checks
///   argc itself (wrong arities are refused like any error), but a Redis built-in with too few
///   arguments crashes Redis itself (`GET` alone: SIGSEGV in `lookupKey`). So only the module's
///   commands get wrong arities here; the plain commands are well-formed.
/// - An unknown command name stops the load: `Unknown command '<name>' reading the append only
///   file`, exit 1. Bytes that are not RESP: `Bad file format reading the append only file`,
///   exit 1. A file cut inside its last command loads up to the cut with `aof-load-truncated
///   yes` (the default).
/// - A manifest may name only an incr file (no base).
#[test]
fn fuzz_forged_aof() {
    let _serial = serial();
    let name = "fuzz-aof";
    // The arities the vectors are built for are the server's.
    {
        let s = Server::start("faults-aof-arity");
        let mut c = s.conn();
        // The fuzzer knows every command the module declares: a new one must be taught to it.
        let mut server: Vec<String> = module_commands(&mut c)
            .into_iter()
            .map(|m| m.name)
            .collect();
        let mut known: Vec<String> = fuzz::CLIENT_COMMANDS
            .iter()
            .chain(fuzz::INTERNAL_COMMANDS.iter())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        server.sort();
        known.sort();
        assert_eq!(
            server, known,
            "the fuzzer's command lists against the module's"
        );
        for cmd in fuzz::INTERNAL_COMMANDS {
            let r = c.cmd(&["COMMAND", "INFO", cmd]);
            // A negative arity is a minimum: the RESERVE commands also take the longer argument
            // lists of newer options; the fuzzer builds the released, shortest ones.
            let arity = r.array()[0].array()[1].int();
            assert_eq!(
                arity.unsigned_abs(),
                fuzz::internal_arity(cmd) as u64,
                "arity of {cmd} (COMMAND INFO)"
            );
        }
    }
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/itest")
        .join(format!("faults-aof-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let mut rng = Rng::new(seed() ^ 0xa0f5);
    let mut problems: Vec<String> = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    let (mut loaded, mut refused, mut keys_checked, mut cut_files) = (0u64, 0u64, 0usize, 0u64);
    let (mut vectors, mut internal, mut command_errors) = (0usize, 0usize, 0usize);
    let mut internal_errors = 0usize;
    for file in 0..FUZZ_AOF_FILES {
        let mut cmds: Vec<Vec<Vec<u8>>> = vec![words("SELECT 0")];
        let mut reserved = fuzz::Reserved::default();
        if file == 0 {
            cmds.extend(fuzz::EDGE_VECTORS.iter().map(|l| words(l)));
        } else {
            for _ in 0..rng.range(5, FUZZ_AOF_MAX_VECTORS) {
                let key = rng.pick(&fuzz::KEYS).to_vec();
                cmds.push(match rng.below(20) {
                    0..=12 => fuzz::internal_vector(&mut rng, &mut reserved),
                    13..=16 => fuzz::vector(&mut rng),
                    17 => vec![b"SET".to_vec(), key, b"x".to_vec()],
                    18 => vec![b"RPUSH".to_vec(), key, b"a".to_vec()],
                    _ => vec![b"DEL".to_vec(), key],
                });
            }
        }
        if file > 0 && rng.chance(1, 25) {
            // A command this server does not have: the load must stop, cleanly.
            let at = 1 + rng.below(cmds.len() as u64) as usize;
            cmds.insert(at, words("IDGEN.NOSUCHCOMMAND fz:k"));
        }
        vectors += cmds.len() - 1;
        internal += cmds.iter().filter(|v| fuzz::is_internal(&v[0])).count();
        let mut aof = idgen_testkit::client::packed(&cmds);
        let mut what = String::new();
        if file > 0 && rng.chance(1, 8) {
            let cut = rng.below(aof.len() as u64) as usize;
            what = format!(", cut to {cut} of {} bytes", aof.len());
            aof.truncate(cut);
            cut_files += 1;
        }
        let dir = base.join(format!("aof-{file}"));
        write_aof(&dir, &aof);
        let trial = Trial::start(
            &dir,
            &["--appendonly", "yes", "--aof-load-truncated", "yes"],
        );
        let port = trial.port;
        let exited = matches!(trial.how, Startup::Exited(_));
        let mut problem = match trial.how {
            Startup::Served => {
                loaded += 1;
                match check_loaded(port) {
                    Ok(n) => {
                        keys_checked += n;
                        None
                    }
                    Err(e) => Some(e),
                }
            }
            Startup::Exited(s) if s.success() => Some("exited with success, never served".into()),
            Startup::Exited(_) => {
                refused += 1;
                None
            }
            Startup::HungAfterRefusing => Some("a load failed and the server did not exit".into()),
            Startup::Stuck => Some("neither served nor exited within 10 s".into()),
        };
        let log = trial.stop();
        for l in log.lines().filter(|l| l.contains(AOF_COMMAND_ERROR)) {
            command_errors += 1;
            let cmd = l.rsplit_once("the command '").map_or("", |(_, c)| c);
            if fuzz::is_internal(cmd.trim_end_matches('\'').as_bytes()) {
                internal_errors += 1;
            }
        }
        let crashes = crash_lines_of(&log);
        if !crashes.is_empty() {
            problem = Some(format!("crash: {}", crashes.join(" | ")));
        }
        if let Some(p) = problem {
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            problems.push(format!(
                "file {file} ({}{what}): {p}\n    log tail: {}\n    commands:\n      {}",
                dir.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n      "),
                cmds.iter()
                    .map(|v| show(v))
                    .collect::<Vec<_>>()
                    .join("\n      ")
            ));
        } else {
            if let Some(r) = trial_refusal(&log).filter(|_| exited) {
                if refusals.len() < 5 && !refusals.contains(&r) {
                    refusals.push(r);
                }
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
    summary(&format!(
        "faults: scenario={name} cycles={FUZZ_AOF_FILES} ids_checked=0 repeats=0 errors={refused} \
         loaded={loaded} refused={refused} cut_files={cut_files} vectors={vectors} \
         internal_vectors={internal} internal_errors={internal_errors} \
         command_errors={command_errors} keys_checked={keys_checked} \
         problems={}",
        problems.len()
    ));
    if !refusals.is_empty() {
        println!("{name}: startups refused with: {}", refusals.join(" | "));
    }
    assert!(
        problems.is_empty(),
        "{name}: {} of {FUZZ_AOF_FILES} forged AOF files misbehaved (kept under {}):\n{}",
        problems.len(),
        base.display(),
        problems.join("\n")
    );
    let _ = fs::remove_dir_all(&base);
}

/// Why a server refused to start on its AOF: the last warning (`#`) line of its log.
fn trial_refusal(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| l.contains(" # "))
        .map(|l| l.split_once(" # ").map_or(l, |(_, m)| m).to_string())
}
