//! Simulating what a power cut takes from an AOF written with `appendfsync everysec`.
//!
//! `kill -9` of redis-server alone loses nothing it has replied to: what it wrote sits in the
//! page cache and reaches the file anyway. What everysec risks is the OS losing writes that were
//! not fsynced yet, up to about a second of them. So while the load runs, a sampler thread notes
//! the size of the AOF's open incr file every few ms; after the kill the file is cut back to its
//! size of `lost` ago, before the restart (`aof-load-truncated yes`, the default, lets Redis load
//! a file whose last command is cut in the middle).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often the sampler looks at the file size.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The incr file of a multi-part AOF (Redis 7+, Valkey): the last `type i` entry of the manifest
/// in `<dir>/appendonlydir/`. An entry is `file <name>` followed by key/value pairs, more of them
/// on newer servers (Redis 8 adds `startoffset <n>`), so the pairs are read by key.
pub fn incr_file(dir: &Path) -> PathBuf {
    let aof_dir = dir.join("appendonlydir");
    let manifest = fs::read_dir(&aof_dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", aof_dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".manifest"))
        .expect("no AOF manifest");
    let text = fs::read_to_string(&manifest).expect("read AOF manifest");
    let name = text
        .lines()
        .rev()
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let is_incr = w.chunks(2).any(|pair| pair == ["type", "i"].as_slice());
            (is_incr && w.first() == Some(&"file")).then(|| w[1])
        })
        .unwrap_or_else(|| panic!("no incr file in manifest:\n{text}"));
    aof_dir.join(name)
}

struct State {
    file: Option<PathBuf>,
    samples: Vec<(Instant, u64)>,
}

/// Background sampler of one file's size.
pub struct Sampler {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    pub fn start() -> Sampler {
        let state = Arc::new(Mutex::new(State {
            file: None,
            samples: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (state, stop) = (state.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    {
                        let mut s = state.lock().unwrap();
                        if let Some(f) = s.file.clone() {
                            if let Ok(m) = fs::metadata(&f) {
                                s.samples.push((Instant::now(), m.len()));
                            }
                        }
                    }
                    thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Sampler {
            state,
            stop,
            handle: Some(handle),
        }
    }

    /// Starts sampling `file` afresh (after each restart).
    pub fn watch(&self, file: PathBuf) {
        let mut s = self.state.lock().unwrap();
        s.file = Some(file);
        s.samples.clear();
    }

    /// Stops sampling (before a kill) and returns the size the file had `lost` before `at`, and
    /// how long before `at` that sample was taken: the oldest sample not older than `lost`, so
    /// that the cut never takes more than `lost` of history even if the sampler was held up.
    pub fn size_before(&self, at: Instant, lost: Duration) -> (u64, Duration) {
        let mut s = self.state.lock().unwrap();
        s.file = None;
        let (t, size) = *s
            .samples
            .iter()
            .find(|(t, _)| *t + lost >= at)
            .or(s.samples.last())
            .expect("no AOF size sample");
        (size, at.saturating_duration_since(t))
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Cuts `file` back to `size` bytes; returns how many bytes were cut.
pub fn truncate(file: &Path, size: u64) -> u64 {
    let len = fs::metadata(file).expect("stat AOF").len();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(file)
        .expect("open AOF");
    f.set_len(size.min(len)).expect("truncate AOF");
    len.saturating_sub(size)
}
