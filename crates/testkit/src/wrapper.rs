//! Running the servers under a wrapper such as valgrind (`make memcheck`).
//!
//! `IDGEN_SERVER_WRAPPER="valgrind --tool=memcheck ... --log-file=..."`: every server the harness
//! starts runs as `<wrapper words> <server binary> <args>` (split on whitespace). A server under
//! valgrind runs 20-50x slower, so `IDGEN_TIMEOUT_SCALE=<n>` multiplies the harness's waits
//! (start, shutdown, `wait_until`, the client's read timeout), and servers are stopped with
//! `SHUTDOWN NOSAVE NOW` (then SIGTERM) rather than SIGKILL, so that valgrind writes its leak
//! summary. Tests that cannot run under the wrapper skip themselves with [`skip_under_wrapper`].

use std::sync::OnceLock;
use std::time::Duration;

/// The wrapper's words (`$IDGEN_SERVER_WRAPPER` split on whitespace), if any.
pub fn wrapper() -> Option<&'static [String]> {
    static W: OnceLock<Option<Vec<String>>> = OnceLock::new();
    W.get_or_init(|| {
        let v = std::env::var("IDGEN_SERVER_WRAPPER").ok()?;
        let words: Vec<String> = v.split_whitespace().map(String::from).collect();
        (!words.is_empty()).then_some(words)
    })
    .as_deref()
}

/// Whether the servers run under a wrapper.
pub fn wrapped() -> bool {
    wrapper().is_some()
}

/// The factor of the harness's waits: `$IDGEN_TIMEOUT_SCALE` (at least 1), else 1.
pub fn timeout_scale() -> u32 {
    static S: OnceLock<u32> = OnceLock::new();
    *S.get_or_init(|| {
        std::env::var("IDGEN_TIMEOUT_SCALE")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1)
            .max(1)
    })
}

/// `d` times [`timeout_scale`].
pub fn scaled(d: Duration) -> Duration {
    d * timeout_scale()
}

/// True (and says why on stderr) when the servers run under a wrapper: the calling test returns
/// at once. For tests that measure time or need what the wrapper breaks; keep the reason short.
/// `$IDGEN_SKIP_LOG`, when set, names a file that gets one line per skipped test (`make memcheck`
/// counts them).
pub fn skip_under_wrapper(reason: &str) -> bool {
    if !wrapped() {
        return false;
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("{test}: skipped under IDGEN_SERVER_WRAPPER: {reason}");
    if let Some(path) = std::env::var_os("IDGEN_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{test}: {reason}");
        }
    }
    true
}
