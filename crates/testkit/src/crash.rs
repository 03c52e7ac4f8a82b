//! Telling a crash from a clean failure in a server's log.

use std::fs;
use std::path::Path;

/// Log lines that only a crash writes: Redis's bug report (signal, assertion, stack trace) and
/// Rust panics (the module's panic barrier logs `panic in <command>`; a panic that escaped it
/// says `panicked`). A refused load ("Fatal error loading", "Bad file format") is not a crash.
pub const CRASH_KEYWORDS: [&str; 9] = [
    "Guru Meditation",
    "BUG REPORT START",
    "crashed by signal",
    "ASSERTION FAILED",
    "------ STACK TRACE ------",
    "Backtrace:",
    "Redis crashed",
    "panicked",
    "panic in",
];

/// The lines of `text` (a log) that tell about a crash.
pub fn crash_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| CRASH_KEYWORDS.iter().any(|k| l.contains(k)))
        .map(String::from)
        .collect()
}

/// The lines of the log file `log` that tell about a crash (none if it cannot be read).
pub fn crash_lines_in(log: &Path) -> Vec<String> {
    crash_lines(&fs::read_to_string(log).unwrap_or_default())
}
