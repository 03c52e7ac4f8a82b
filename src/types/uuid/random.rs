//! The random bits of UUIDs: a ChaCha12 stream seeded once from the OS (`getrandom`), on the
//! server's main thread (the only one that runs commands). A forked child (BGSAVE) issues
//! nothing, so sharing the stream's state with it repeats nothing.

use std::cell::RefCell;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;

thread_local! {
    static RNG: RefCell<Option<ChaCha12Rng>> = const { RefCell::new(None) };
}

fn seeded() -> ChaCha12Rng {
    let mut seed = [0u8; 32];
    if getrandom::getrandom(&mut seed).is_err() {
        // No OS randomness (never seen on Linux): the time still makes the stream differ per
        // start; uniqueness never rests on these bits (the counter and the mark carry it).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        seed[..16].copy_from_slice(&t.to_le_bytes());
        seed[16..24].copy_from_slice(&(std::process::id() as u64).to_le_bytes());
    }
    ChaCha12Rng::from_seed(seed)
}

/// Runs `f` with a source of random 64-bit words.
pub fn with<R>(f: impl FnOnce(&mut dyn FnMut() -> u64) -> R) -> R {
    RNG.with(|cell| {
        let mut rng = cell.borrow_mut();
        let rng = rng.get_or_insert_with(seeded);
        f(&mut || rng.next_u64())
    })
}
