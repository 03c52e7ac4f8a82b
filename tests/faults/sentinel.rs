//! Three `redis-sentinel` processes (Debian's, installed by `make deps` like `redis-server`)
//! watching one primary, and a watcher thread that points the load at the primary Sentinel names.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::load::Load;
use idgen_testkit::{free_port, Conn, Value};

/// The name Sentinel knows the primary by.
pub const MASTER: &str = "idgen";

pub struct Sentinel {
    pub port: u16,
    child: Child,
    pub dir: PathBuf,
}

impl Sentinel {
    /// Starts a sentinel monitoring `127.0.0.1:<primary>` (quorum 2) that judges it down after
    /// `down_after_ms`.
    pub fn start(name: &str, primary: u16, down_after_ms: u64) -> Sentinel {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/itest")
            .join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let conf = dir.join("sentinel.conf");
        fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d}/sentinel.log\n\
                 sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n\
                 sentinel down-after-milliseconds {MASTER} {down_after_ms}\n\
                 sentinel failover-timeout {MASTER} 10000\n\
                 sentinel parallel-syncs {MASTER} 2\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-sentinel (make deps installs it)");
        idgen_testkit::wait_until(Duration::from_secs(10), "redis-sentinel to answer", || {
            Conn::try_connect(port)
                .ok()
                .and_then(|mut c| c.try_cmd(&["PING"]).ok())
                .is_some_and(|v| v == Value::Simple("PONG".into()))
        });
        Sentinel { port, child, dir }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Asks the sentinels for the primary every 50 ms and moves the loads to it when it changes, as
/// a Sentinel-aware client does.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    pub current: Arc<AtomicU16>,
    handle: Option<JoinHandle<()>>,
}

impl Watcher {
    pub fn start(ports: Vec<u16>, loads: Vec<Arc<Load>>, first: u16) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let current = Arc::new(AtomicU16::new(first));
        let (s, cur) = (stop.clone(), current.clone());
        let handle = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for &p in &ports {
                    let Ok(mut c) = Conn::try_connect_with_timeout(p, Duration::from_millis(500))
                    else {
                        continue;
                    };
                    if let Ok(Value::Array(v)) =
                        c.try_cmd(&["SENTINEL", "get-master-addr-by-name", MASTER])
                    {
                        if let Some(port) = v.get(1).and_then(|x| x.as_str().parse::<u16>().ok()) {
                            if port != cur.load(Ordering::Relaxed) {
                                cur.store(port, Ordering::Relaxed);
                                for l in &loads {
                                    l.set_target(port);
                                }
                            }
                        }
                        break;
                    }
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        Watcher {
            stop,
            current,
            handle: Some(handle),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
