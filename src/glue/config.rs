//! Module configuration: `idgen.*` settings, registered through Redis 7's module config API
//! (CONFIG GET/SET, redis.conf lines) and also accepted as module arguments at load.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use redis_module::RedisString;

/// `idgen.worker-id`: the worker id this node writes into snowflake IDs of keys without WORKER.
pub static WORKER_ID: AtomicI64 = AtomicI64::new(0);
pub const WORKER_ID_DEFAULT: i64 = 0;
pub const WORKER_ID_MAX: i64 = 1023;

/// `idgen.max-borrow-ms`: how far a snowflake generator may run ahead of the newest wall time it
/// has seen when its sequence space is used up.
pub static MAX_BORROW_MS: AtomicI64 = AtomicI64::new(1000);
pub const MAX_BORROW_MS_DEFAULT: i64 = 1000;
pub const MAX_BORROW_MS_MAX: i64 = 3_600_000;

/// `idgen.safety-jump`: whether a generator leaves a safety gap above its mark when it resumes
/// after a load or a promotion.
pub static SAFETY_JUMP: AtomicBool = AtomicBool::new(true);
pub const SAFETY_JUMP_DEFAULT: bool = true;

/// `idgen.safety-window-ms`: how much recent history a load or a promotion may have lost
/// (`appendfsync everysec` loses up to about a second, a replica lags its primary).
pub static SAFETY_WINDOW_MS: AtomicI64 = AtomicI64::new(2000);
pub const SAFETY_WINDOW_MS_DEFAULT: i64 = 2000;
pub const SAFETY_WINDOW_MS_MAX: i64 = 3_600_000;

/// `idgen.safety-min-gap`: the smallest gap, in steps, a sequence leaves when it resumes.
pub static SAFETY_MIN_GAP: AtomicI64 = AtomicI64::new(1000);
pub const SAFETY_MIN_GAP_DEFAULT: i64 = 1000;
pub const SAFETY_MIN_GAP_MAX: i64 = 1 << 40;

/// The integer settings as (name without prefix, variable, min, max).
pub const SETTINGS: [(&str, &AtomicI64, i64, i64); 4] = [
    ("worker-id", &WORKER_ID, 0, WORKER_ID_MAX),
    ("max-borrow-ms", &MAX_BORROW_MS, 0, MAX_BORROW_MS_MAX),
    (
        "safety-window-ms",
        &SAFETY_WINDOW_MS,
        0,
        SAFETY_WINDOW_MS_MAX,
    ),
    ("safety-min-gap", &SAFETY_MIN_GAP, 0, SAFETY_MIN_GAP_MAX),
];

/// The yes/no settings.
pub const FLAGS: [(&str, &AtomicBool); 1] = [("safety-jump", &SAFETY_JUMP)];

pub fn worker_id() -> i64 {
    WORKER_ID.load(Ordering::Relaxed)
}

pub fn max_borrow_ms() -> i64 {
    MAX_BORROW_MS.load(Ordering::Relaxed)
}

/// The safety window and minimum gap, or `None` when the safety jump is off.
pub fn safety() -> Option<(i64, i64)> {
    SAFETY_JUMP.load(Ordering::Relaxed).then(|| {
        (
            SAFETY_WINDOW_MS.load(Ordering::Relaxed),
            SAFETY_MIN_GAP.load(Ordering::Relaxed),
        )
    })
}

/// Applies module arguments given as `name value` pairs, `name` with or without the `idgen.`
/// prefix. Unknown names, odd argument counts and out-of-range values are refused, so that a
/// typo in redis.conf stops the load instead of being ignored.
pub fn apply_module_args(args: &[RedisString]) -> Result<(), String> {
    if !args.len().is_multiple_of(2) {
        return Err("module arguments must be name value pairs".into());
    }
    for pair in args.chunks(2) {
        let name = pair[0].to_string_lossy();
        let bare = match name.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("idgen.") => &name[6..],
            _ => &name[..],
        };
        let raw = pair[1].to_string_lossy();
        if let Some((_, var)) = FLAGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(bare)) {
            match raw.to_ascii_lowercase().as_str() {
                "yes" => var.store(true, Ordering::Relaxed),
                "no" => var.store(false, Ordering::Relaxed),
                _ => return Err(format!("module argument '{name}' must be yes or no")),
            }
            continue;
        }
        let (_, var, min, max) = SETTINGS
            .iter()
            .find(|(n, ..)| n.eq_ignore_ascii_case(bare))
            .ok_or_else(|| format!("unknown module argument '{name}'"))?;
        let value: i64 = raw
            .parse()
            .map_err(|_| format!("module argument '{name}' needs an integer"))?;
        if value < *min || value > *max {
            return Err(format!(
                "module argument '{name}' must be between {min} and {max}"
            ));
        }
        var.store(value, Ordering::Relaxed);
    }
    Ok(())
}
