//! Small helpers of the fault suite: the lock that runs its scenarios one at a time, a seeded
//! PRNG, the summary file, process signals.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use idgen_testkit::crash::crash_lines_in;
use idgen_testkit::{info_field, Conn, Server};

/// The scenarios are timing-sensitive (a replica stopped for a few hundred ms, an AOF cut back
/// to its size of a second ago) and each already runs several client threads, so they run one
/// at a time even when the test harness runs tests in parallel.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Unix seconds when this test process started: the `run=` tag of the summary lines.
fn run_tag() -> u64 {
    static TAG: OnceLock<u64> = OnceLock::new();
    *TAG.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    })
}

/// The seed of the PRNGs: `$FAULTS_SEED`, else the clock. Printed in every summary line so that
/// a failing run can be replayed.
pub fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("FAULTS_SEED") {
        Ok(s) => s.trim().parse().expect("FAULTS_SEED must be an integer"),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    })
}

/// splitmix64: small, fast, good enough to pick commands and mutations.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Prints one summary line and appends it (tagged with the run and the seed) to
/// `target/faults/summary.txt`.
pub fn summary(line: &str) {
    append_summary(&format!("{line} seed={}", seed()));
}

/// Prints one summary line and appends it (tagged with the run) to `target/faults/summary.txt`,
/// as it is (the soak's line names its seed first).
pub fn append_summary(line: &str) {
    let line = format!("{line} run={}", run_tag());
    println!("{line}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/faults");
    let _ = fs::create_dir_all(&dir);
    if let Ok(mut f) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("summary.txt"))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// The pid of a running server (from `INFO server`).
pub fn pid(server: &Server) -> i32 {
    let mut c = server.conn();
    info_field(&mut c, "server", "process_id")
        .and_then(|p| p.parse().ok())
        .expect("INFO server has no process_id")
}

/// SIGSTOPs a process; SIGCONTs it when dropped (also when the test panics).
pub struct Stopped(i32);

impl Stopped {
    pub fn new(pid: i32) -> Stopped {
        let rc = unsafe { libc::kill(pid, libc::SIGSTOP) };
        assert_eq!(rc, 0, "SIGSTOP {pid}");
        Stopped(pid)
    }

    /// SIGCONT now.
    pub fn resume(self) {}
}

impl Drop for Stopped {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// Lines of the server's log that tell about a crash (Redis's bug report, a panic), if any.
pub fn crash_lines(server: &Server) -> Vec<String> {
    crash_lines_in(&server.dir().join("redis.log"))
}

/// Polls `INFO replication` of a replica until its link to the primary is up and no sync is in
/// progress (bounded). Offsets are not compared: under load they never stand still.
pub fn wait_link_up(replica: &Server, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(mut c) = Conn::try_connect(replica.port()) {
            if let Ok(idgen_testkit::Value::Bulk(b)) = c.try_cmd(&["INFO", "replication"]) {
                let text = String::from_utf8_lossy(&b);
                let up = text.contains("master_link_status:up");
                let syncing = text.contains("master_sync_in_progress:1");
                if up && !syncing {
                    return;
                }
            }
        }
        if Instant::now() > deadline {
            panic!(
                "replica on port {} did not get in sync within {timeout:?}; log:\n{}",
                replica.port(),
                replica.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a server with a given module build (restarts reuse it): the builder's own module path,
/// so no environment variable changes under the other tests.
pub fn start_with_module(
    module: &Path,
    builder: idgen_testkit::ServerBuilder,
) -> idgen_testkit::Server {
    builder.module(module).start()
}
