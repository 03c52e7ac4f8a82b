//! Worker-ID pool, route: the fixed rendezvous hash (never changes between versions).
//!
//! `route(now, task_key, count)` names the live lease(s) responsible for `task_key` by rendezvous
//! (highest-random-weight) hashing over the live worker IDs, so that when a worker joins or
//! leaves only about 1/N of task keys change owner. A client computes the same answer from the
//! IDs `LIST` returns. The hash (FNV-1a-64 of `key || 0x00 || decimal ID`, then the splitmix64
//! finalizer; the highest weight owns, ties to the higher ID) is specified once, for every
//! language, in `docs/worker-pools.md` ("The route hash"); the functions below are its reference.
//!
//! The worker ID is hashed, not the holder name: every lease has an ID (holders are optional), a
//! worker that comes back under its name usually gets its ID back (`Returned`) and with it its
//! task keys, renaming a holder moves nothing, and a client needs only the IDs. Known-answer
//! vectors are in `fixtures/vectors.json` at the repository root, shared with the clients'
//! tests (checked here by `route_known_answers`).
//!

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

pub(super) fn splitmix64_finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a state after `task_key || 0x00`, shared by every ID's weight.
fn route_prefix(task_key: &[u8]) -> u64 {
    fnv1a(fnv1a(FNV_OFFSET, task_key), &[0])
}

fn weight_after(prefix: u64, id: u32) -> u64 {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut v = id;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    splitmix64_finalize(fnv1a(prefix, &digits[i..]))
}

/// The rendezvous weight of worker ID `id` for `task_key` (module docs, *Route*).
pub fn route_weight(task_key: &[u8], id: u32) -> u64 {
    weight_after(route_prefix(task_key), id)
}

/// The first `count` of `ids` ranked for `task_key`, as (weight, id), best first. O(ids).
pub(super) fn rank(
    task_key: &[u8],
    ids: impl Iterator<Item = u32>,
    count: usize,
) -> Vec<(u64, u32)> {
    let prefix = route_prefix(task_key);
    let mut ranked: Vec<(u64, u32)> = ids.map(|id| (weight_after(prefix, id), id)).collect();
    let best_first = |a: &(u64, u32), b: &(u64, u32)| b.cmp(a);
    if count < ranked.len() {
        ranked.select_nth_unstable_by(count - 1, best_first);
        ranked.truncate(count);
    }
    ranked.sort_unstable_by(best_first);
    ranked
}

/// The first `count` of the worker IDs `ids` ranked for `task_key`, best first: what a client
/// computes from `LIST`.
pub fn route_ids(task_key: &[u8], ids: &[u32], count: usize) -> Vec<u32> {
    if count == 0 {
        return Vec::new();
    }
    rank(task_key, ids.iter().copied(), count)
        .into_iter()
        .map(|(_, id)| id)
        .collect()
}
