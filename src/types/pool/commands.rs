//! WORKER.* commands: declarations, argument handling, replies, keyspace events.
//!
//! Every writing call first finds the leases that expired by the server clock (`touch`: each one
//! an `idgen.worker.expire` event, sent even when the call then fails), then resumes the pool if
//! it has not served in this serving generation, then acts. A change propagates as absolute
//! effects only: the ID's state (`WORKER.EFFECT`), preceded by the reservation
//! (`WORKER.RESERVE`) when the token mark or the longest TTL rose. Expiries propagate nothing: a
//! replica judges them by its own clock when it reads, and finds them when it serves.

use crate::core::pool::{self as wp, How, Lease, Pool, PoolOptions};
use crate::error::{Error, Result};
use crate::glue::clock::now_ms;
use crate::glue::command::{int, key, opt, opt_str, options, string, Command, KeyAccess::*};
use crate::glue::datatype::{self, reserve_command};
use crate::glue::ffi::{self, Ctx, Key, RStr, Slot, ValueMut};
use crate::glue::{serving, stats};

use super::{effect_args, parse_effect, EFFECT, HANDLE};

pub static COMMANDS: &[Command] = &[
    ACQUIRE, RENEW, RELEASE, LIST, ROUTE, INFO, RESERVE, EFFECT_CMD,
];

const EV_ACQUIRE: &std::ffi::CStr = c"idgen.worker.acquire";
const EV_RENEW: &std::ffi::CStr = c"idgen.worker.renew";
const EV_RELEASE: &std::ffi::CStr = c"idgen.worker.release";
const EV_EXPIRE: &std::ffi::CStr = c"idgen.worker.expire";

/// The pool at `key` on a serving node: the leases expired by `now` found first (an event for
/// each), then resumed if it has not served in the current generation. `None` when the key is
/// empty.
fn serving_pool<'k>(
    ctx: &Ctx,
    key: &'k Key,
    name: RStr,
    now: i64,
    slot: &'k mut Slot<Pool>,
) -> Result<Option<ValueMut<'k, Pool>>> {
    let expired = match key.value_mut(&HANDLE, now, &mut Slot::default())? {
        Some(mut p) => p.touch(now),
        None => return Ok(None),
    };
    for _ in &expired {
        ctx.notify(EV_EXPIRE, name);
    }
    stats::POOL_EXPIRIES.add(expired.len() as u64);
    let resumes = key
        .value(&HANDLE, now)?
        .is_some_and(|p| serving::gaps_since(p.gen) > 0);
    let mut pool = datatype::serving::<Pool>(key, now, slot)?;
    if resumes {
        // The resume raised the token mark to its floor: made durable now, before any grant,
        // since the pool may refuse grants for its whole resume window (see `Pool::resume`).
        if let Some(p) = pool.as_mut() {
            datatype::replicate(ctx, name, p);
        }
    }
    Ok(pool)
}

/// Propagates a change of ID `id`: the reservation first when it rose, then the ID's state.
fn replicate_change(ctx: &Ctx, name: RStr, p: &mut ValueMut<'_, Pool>, id: u32, advanced: bool) {
    if advanced {
        datatype::replicate(ctx, name, p);
    }
    if let Some(s) = p.export(id) {
        ctx.replicate(EFFECT, name, &effect_args(p.options(), &s));
    }
}

/// `[id, holder or nil, token, expires_at_ms, not_before_ms]`.
fn reply_lease(ctx: &Ctx, l: &Lease) {
    ctx.reply_array(5);
    ctx.reply_int(l.id as i64);
    match l.holder {
        Some(h) => ctx.reply_bulk(h),
        None => ctx.reply_null(),
    }
    ctx.reply_int(l.token as i64);
    ctx.reply_int(l.expires);
    ctx.reply_int(l.not_before);
}

fn check_token(token: i64) -> Result<u64> {
    if token < 1 {
        return Err(Error::OutOfRange("TOKEN", 1, i64::MAX));
    }
    Ok(token as u64)
}

/// Checks a RENEW/RELEASE against the pool before anything is touched: the pool exists (else
/// the caller has lost its lease), the ID is in the pool, `LAST-TS` is plausible.
fn check_lease_call(key: &Key, id: i64, last_ts: Option<i64>, now: i64) -> Result<u32> {
    let p = key.value(&HANDLE, now)?.ok_or(Error::LeaseLost {
        id,
        why: "the pool does not exist",
    })?;
    let size = p.options().size as i64;
    if !(0..size).contains(&id) {
        return Err(Error::OutOfRange("ID", 0, size - 1));
    }
    if let Some(ts) = last_ts {
        let hi = now
            .max(p.clock_seen())
            .saturating_add(wp::MAX_LAST_TS_AHEAD_MS);
        if !(0..=hi).contains(&ts) {
            return Err(Error::OutOfRange("LAST-TS", 0, hi));
        }
    }
    Ok(id as u32)
}

const ACQUIRE: Command = Command {
    flags: c"write deny-oom",
    arity: -3,
    summary: c"Leases a worker ID that no live lease holds, with a fencing token and a not-before timestamp",
    complexity: c"O(log N), plus O(log N) for each lease it finds expired",
    args: &[
        key(c"pool"),
        int(c"ttl-ms"),
        opt_str(c"HOLDER", c"name"),
        opt(c"SIZE", c"size"),
        opt(c"GRACE", c"grace-ms"),
    ],
    ..Command::new(c"worker.acquire", acquire)
};

/// WORKER.ACQUIRE pool ttl-ms [HOLDER name] [SIZE n] [GRACE ms]
fn acquire(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let ttl = ffi::int(args[2])?;
    let o = options(&ACQUIRE, &args[3..])?;
    let (size, grace, holder) = (o.int("SIZE")?, o.int("GRACE")?, o.str("HOLDER"));
    wp::check_ttl(ttl)?;
    if let Some(h) = holder {
        wp::check_holder(h)?;
    }
    let d = PoolOptions::default();
    let opts = super::options(size.unwrap_or(d.size as i64), grace.unwrap_or(d.grace_ms))?;
    let key = ctx.open_key(args[1], true);
    let now = now_ms();
    if let Some(p) = key.value(&HANDLE, now)? {
        let have = p.options();
        if size.is_some_and(|s| s != have.size as i64) {
            return Err(Error::PoolOptionDiffers("SIZE"));
        }
        if grace.is_some_and(|g| g != have.grace_ms) {
            return Err(Error::PoolOptionDiffers("GRACE"));
        }
    }
    // Every grant is fenced (not only those that raise the token mark): a lease granted by a
    // primary cut off from its replicas is one the promoted replica cannot know about.
    datatype::may_reserve()?;
    let mut slot = Slot::default();
    let (grant, mut pool) = match serving_pool(ctx, &key, args[1], now, &mut slot)? {
        Some(mut p) => (p.acquire(now, ttl, holder)?, p),
        None => {
            // A missing pool is created with the options, but only if the grant succeeds.
            let mut new = Pool::new(opts);
            let grant = new.acquire(now, ttl, holder)?;
            (grant, datatype::create(&key, new))
        }
    };
    replicate_change(ctx, args[1], &mut pool, grant.id, grant.advanced);
    drop(pool);
    ctx.notify(EV_ACQUIRE, args[1]);
    match grant.how {
        How::Kept => stats::POOL_RENEWALS.add(1),
        How::Fresh | How::Returned => stats::POOL_GRANTS.add(1),
    }
    ctx.reply_array(4);
    ctx.reply_int(grant.id as i64);
    ctx.reply_int(grant.token as i64);
    ctx.reply_int(grant.expires);
    ctx.reply_int(grant.not_before);
    Ok(())
}

const RENEW: Command = Command {
    arity: -5,
    summary: c"Extends a worker ID's lease; refused with LEASELOST once the lease is lost",
    complexity: c"O(log N), plus O(log N) for each lease it finds expired",
    args: &[
        key(c"pool"),
        int(c"id"),
        int(c"token"),
        int(c"ttl-ms"),
        opt(c"LAST-TS", c"unix-ms"),
    ],
    ..Command::new(c"worker.renew", renew)
};

/// WORKER.RENEW pool id token ttl-ms [LAST-TS unix-ms]
fn renew(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (id, token, ttl) = (ffi::int(args[2])?, ffi::int(args[3])?, ffi::int(args[4])?);
    let last_ts = options(&RENEW, &args[5..])?.int("LAST-TS")?;
    wp::check_ttl(ttl)?;
    let token = check_token(token)?;
    let key = ctx.open_key(args[1], true);
    let now = now_ms();
    let id = check_lease_call(&key, id, last_ts, now)?;
    // A renewal extends a lease into the future: fenced like a grant.
    datatype::may_reserve()?;
    let mut slot = Slot::default();
    let mut p = serving_pool(ctx, &key, args[1], now, &mut slot)?
        .ok_or(Error::Internal("pool vanished".into()))?;
    let r = p.renew(now, id, token, ttl, last_ts)?;
    replicate_change(ctx, args[1], &mut p, id, r.advanced);
    drop(p);
    ctx.notify(EV_RENEW, args[1]);
    stats::POOL_RENEWALS.add(1);
    ctx.reply_array(2);
    ctx.reply_int(r.expires);
    ctx.reply_int(r.not_before);
    Ok(())
}

const RELEASE: Command = Command {
    arity: -4,
    summary: c"Ends a worker ID's lease at once (fenced by its token)",
    complexity: c"O(log N), plus O(log N) for each lease it finds expired",
    args: &[
        key(c"pool"),
        int(c"id"),
        int(c"token"),
        opt(c"LAST-TS", c"unix-ms"),
    ],
    ..Command::new(c"worker.release", release)
};

/// WORKER.RELEASE pool id token [LAST-TS unix-ms]
fn release(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (id, token) = (ffi::int(args[2])?, ffi::int(args[3])?);
    let last_ts = options(&RELEASE, &args[4..])?.int("LAST-TS")?;
    let token = check_token(token)?;
    let key = ctx.open_key(args[1], true);
    let now = now_ms();
    let id = check_lease_call(&key, id, last_ts, now)?;
    let mut slot = Slot::default();
    let mut p = serving_pool(ctx, &key, args[1], now, &mut slot)?
        .ok_or(Error::Internal("pool vanished".into()))?;
    p.release(now, id, token, last_ts)?;
    replicate_change(ctx, args[1], &mut p, id, false);
    drop(p);
    ctx.notify(EV_RELEASE, args[1]);
    stats::POOL_RELEASES.add(1);
    ctx.reply_ok();
    Ok(())
}

const LIST: Command = Command {
    flags: c"readonly",
    arity: 2,
    key: Read,
    summary: c"Lists a pool's live leases by worker ID",
    complexity: c"O(L log L) with L live leases",
    args: &[key(c"pool")],
    ..Command::new(c"worker.list", list)
};

/// WORKER.LIST pool
fn list(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let now = now_ms();
    match key.value(&HANDLE, now)? {
        None => ctx.reply_array(0),
        Some(p) => {
            let leases = p.list(now);
            ctx.reply_array(leases.len());
            for l in &leases {
                reply_lease(ctx, l);
            }
        }
    }
    Ok(())
}

const ROUTE: Command = Command {
    flags: c"readonly",
    arity: -3,
    key: Read,
    summary: c"Names the live lease(s) responsible for a task key, by rendezvous hashing over the live worker IDs",
    complexity: c"O(L) with L live leases",
    args: &[key(c"pool"), string(c"task-key"), opt(c"COUNT", c"count")],
    ..Command::new(c"worker.route", route)
};

/// WORKER.ROUTE pool task-key [COUNT n]
fn route(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let count = options(&ROUTE, &args[3..])?.int("COUNT")?.unwrap_or(1);
    if !(1..=wp::MAX_SIZE as i64).contains(&count) {
        return Err(Error::CountRange(wp::MAX_SIZE as i64));
    }
    let key = ctx.open_key(args[1], false);
    let now = now_ms();
    match key.value(&HANDLE, now)? {
        None => ctx.reply_array(0),
        Some(p) => {
            let leases = p.route(now, ffi::bytes(args[2]), count as usize)?;
            ctx.reply_array(leases.len());
            for l in &leases {
                reply_lease(ctx, l);
            }
        }
    }
    Ok(())
}

const INFO: Command = Command {
    flags: c"readonly",
    arity: 2,
    key: Read,
    summary: c"Shows a pool's size, live, quarantined and free IDs, resume wait and counters",
    complexity: c"O(log N), plus the expired leases not yet found",
    args: &[key(c"pool")],
    ..Command::new(c"worker.info", info)
};

/// WORKER.INFO pool
fn info(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let key = ctx.open_key(args[1], false);
    let p = key.value(&HANDLE, 0)?.ok_or(Error::NoSuchKey)?;
    let i = p.info(now_ms());
    let c = i.counters;
    ctx.reply_fields(&[
        ("size", (Some(i.options.size as i64)).into()),
        ("grace_ms", (Some(i.options.grace_ms)).into()),
        ("live", (Some(i.live as i64)).into()),
        ("quarantined", (Some(i.quarantined as i64)).into()),
        ("free", (Some(i.free as i64)).into()),
        ("next_expiry", (i.next_expiry).into()),
        ("resume_wait_ms", (Some(i.resume_wait_ms)).into()),
        // 2^63 (every token handed out) shows as 2^63-1: no token above it is ever granted.
        (
            "next_token",
            (Some(i.next_token.min(i64::MAX as u64) as i64)).into(),
        ),
        ("grants", (Some(c.grants as i64)).into()),
        ("renewals", (Some(c.renewals as i64)).into()),
        ("releases", (Some(c.releases as i64)).into()),
        ("expiries", (Some(c.expiries as i64)).into()),
        ("refusals", (Some(c.refusals as i64)).into()),
    ]);
    Ok(())
}

const RESERVE: Command = Command {
    arity: 7,
    internal: true,
    summary: c"Internal: raises a pool's token mark and longest TTL (sent to replicas and the AOF)",
    args: &[
        key(c"pool"),
        int(c"size"),
        int(c"grace-ms"),
        int(c"token-mark"),
        int(c"longest-ttl-ms"),
        int(c"gen"),
    ],
    ..Command::new(c"worker.reserve", reserve_command::<Pool>)
};

const EFFECT_CMD: Command = Command {
    arity: 10,
    internal: true,
    summary:
        c"Internal: sets one worker ID's lease state, raise-only (sent to replicas and the AOF)",
    args: &[
        key(c"pool"),
        int(c"size"),
        int(c"grace-ms"),
        int(c"id"),
        int(c"token"),
        string(c"holder"),
        int(c"expires-ms"),
        int(c"not-before-ms"),
        int(c"phase"),
    ],
    ..Command::new(c"worker.effect", effect)
};

/// WORKER.EFFECT pool size grace-ms id token holder expires-ms not-before-ms phase: applies one
/// ID's absolute state (newer token wins; an equal one only raises expiry and not-before),
/// creating the pool when missing. Internal: accepted only from the replication link and the
/// AOF. Never reads the clock.
fn effect(ctx: &Ctx, args: &[RStr]) -> Result<()> {
    let (o, state) = parse_effect(&args[2..])?;
    let key = ctx.open_key(args[1], true);
    let mut slot = Slot::default();
    match key.value_mut(&HANDLE, 0, &mut slot)? {
        Some(mut p) => {
            if p.options() != o {
                return Err(Error::LayoutMismatch);
            }
            p.apply(&state)?;
        }
        None => {
            // Normally the reservation created the pool; without one, the pool resumes once at
            // its first use, like a restored value.
            let mut new = Pool::new(o);
            new.apply(&state)?;
            new.gen = serving::one_behind();
            key.set(&HANDLE, new);
        }
    }
    ctx.replicate_verbatim();
    ctx.reply_ok();
    Ok(())
}
