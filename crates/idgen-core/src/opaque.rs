//! Opaque IDs: a keyed permutation of a key's index domain `[0, n)`, so that the values a key
//! issues in order come out in an order that only the secret's holder can undo.
//!
//! The permutation is NIST SP 800-38G FF1 (AES-128, radix 2, empty tweak) from the `fpe` crate,
//! over the smallest bit width that holds `n - 1` but at least 20 bits (FF1's minimum domain of
//! 10^6 values), cycle-walked into `[0, n)`: encrypt again until the result is below `n`. A walk
//! takes `2^width / n` FF1 calls on average: under 2 once `n` is above 2^20, about 1,000 for
//! `n = 1000`.
//!
//! The secret is never shown: `Debug` and `fingerprint` give the key check value (the first 4
//! bytes of AES-128 of a zero block, in hex) instead.

use std::fmt;

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use fpe::ff1::{NumeralString, Operations, FF1};

use crate::error::{Error, Result};

/// The secret's length in bytes (AES-128); its hex text is twice as long.
pub const SECRET_LEN: usize = 16;
/// The smallest domain OPAQUE accepts: cycle-walking costs about 2^20 / n FF1 calls a value,
/// about 1 ms at this size (a domain of 2 would take 2^19 calls, half a second).
pub const MIN_DOMAIN: u128 = 1000;
/// FF1's smallest width in bits (2^20 >= 10^6, the minimum domain of SP 800-38G rev 1).
pub const MIN_WIDTH: u32 = 20;

/// A 128-bit secret.
pub type Secret = [u8; SECRET_LEN];

/// A keyed permutation of `[0, n)`; `n` is between 1 and 2^64.
pub struct Permutation {
    secret: Secret,
    /// The secret's hex text (replication and the AOF carry it) and the fingerprint, kept so
    /// that the glue can hand out borrowed bytes.
    hex: [u8; 2 * SECRET_LEN],
    print: [u8; 8],
    ff1: FF1<Aes128>,
    n: u128,
    width: u32,
}

impl Permutation {
    /// The permutation of `[0, n)` that `secret` selects. `n` must be between 1 and 2^64.
    pub fn new(secret: Secret, n: u128) -> Result<Self> {
        if n == 0 || n > 1u128 << 64 {
            return Err(Error::Internal("opaque domain size".into()));
        }
        let bits = 128 - (n - 1).leading_zeros();
        let ff1 =
            FF1::<Aes128>::new(&secret, 2).map_err(|_| Error::Internal("opaque radix".into()))?;
        Ok(Permutation {
            secret,
            hex: hex_array(&secret),
            print: fingerprint(&secret)
                .as_bytes()
                .try_into()
                .unwrap_or([b'0'; 8]),
            ff1,
            n,
            width: bits.max(MIN_WIDTH),
        })
    }

    /// The secret (for RDB, replication and the AOF only: never in a reply or a log line).
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The secret's hex text (lower case), for replication and the AOF only.
    pub fn secret_hex(&self) -> &[u8] {
        &self.hex
    }

    /// `fingerprint` as bytes.
    pub fn fingerprint_bytes(&self) -> &[u8] {
        &self.print
    }

    /// The domain size.
    pub fn size(&self) -> u128 {
        self.n
    }

    /// The bit width FF1 runs at (at least `MIN_WIDTH`).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The key check value: the first 4 bytes of AES-128(secret, 0^128), 8 hex digits. Tells
    /// two secrets apart without revealing either.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.secret)
    }

    /// The public index of issue index `i` (below `n`).
    pub fn permute(&self, i: u64) -> Result<u64> {
        self.walk(i, true)
    }

    /// The issue index of public index `p` (below `n`): the inverse of `permute`.
    pub fn invert(&self, p: u64) -> Result<u64> {
        self.walk(p, false)
    }

    /// Cycle-walking: applies FF1 (or its inverse) until the result is inside `[0, n)`. Ends:
    /// `x` is inside, and the cycle of the permutation through `x` comes back to it.
    fn walk(&self, x: u64, forward: bool) -> Result<u64> {
        if x as u128 >= self.n {
            return Err(Error::Internal("opaque index outside the domain".into()));
        }
        let mut y = x;
        loop {
            y = self.once(y, forward)?;
            if (y as u128) < self.n {
                return Ok(y);
            }
        }
    }

    /// One FF1 call over `width` bits.
    fn once(&self, x: u64, forward: bool) -> Result<u64> {
        let ns = Bits {
            v: x,
            n: self.width as usize,
        };
        let out = if forward {
            self.ff1.encrypt(&[], &ns)
        } else {
            self.ff1.decrypt(&[], &ns)
        }
        .map_err(|_| Error::Internal("opaque FF1".into()))?;
        Ok(out.v)
    }
}

/// A radix-2 numeral string of at most 64 numerals held in one integer, most significant
/// numeral first: the `fpe` crate's numeral-string extension point, so that its FF1 runs on
/// machine words instead of its general big-integer strings (about 20 times faster; the
/// `same_as_the_crates_numeral_strings` test checks that both give the same ciphertexts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bits {
    pub(crate) v: u64,
    pub(crate) n: usize,
}

/// `2^m - 1` as a `u128` (m at most 64).
fn mask(m: usize) -> u128 {
    (1u128 << m) - 1
}

/// NUM(S): the big-endian integer of `bytes`, reduced mod 2^128 (only its low `m` <= 64 bits
/// are used).
fn num(bytes: impl Iterator<Item = u8>) -> u128 {
    bytes.fold(0u128, |acc, b| (acc << 8) | b as u128)
}

/// A big-endian byte string of at most 16 bytes.
pub(crate) struct BeBytes([u8; 16], usize);

impl AsRef<[u8]> for BeBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0[16 - self.1..]
    }
}

impl NumeralString for Bits {
    type Ops = Self;

    fn is_valid(&self, radix: u32) -> bool {
        radix == 2 && self.n <= 64 && (self.n == 64 || self.v >> self.n == 0)
    }

    fn numeral_count(&self) -> usize {
        self.n
    }

    fn split(&self) -> (Self, Self) {
        let u = self.n / 2;
        let v = self.n - u;
        (
            Bits {
                v: ((self.v as u128) >> v) as u64,
                n: u,
            },
            Bits {
                v: (self.v as u128 & mask(v)) as u64,
                n: v,
            },
        )
    }

    fn concat(a: Self, b: Self) -> Self {
        Bits {
            v: (((a.v as u128) << b.n) | b.v as u128) as u64,
            n: a.n + b.n,
        }
    }
}

impl Operations for Bits {
    type Bytes = BeBytes;

    fn numeral_count(&self) -> usize {
        self.n
    }

    fn to_be_bytes(&self, _radix: u32, b: usize) -> BeBytes {
        // b = ceil(n / 8) <= 8 for radix 2.
        BeBytes((self.v as u128).to_be_bytes(), b.min(16))
    }

    fn add_mod_exp(self, other: impl Iterator<Item = u8>, _radix: u32, m: usize) -> Self {
        Bits {
            v: ((self.v as u128).wrapping_add(num(other)) & mask(m)) as u64,
            n: m,
        }
    }

    fn sub_mod_exp(self, other: impl Iterator<Item = u8>, _radix: u32, m: usize) -> Self {
        Bits {
            v: ((self.v as u128).wrapping_sub(num(other)) & mask(m)) as u64,
            n: m,
        }
    }
}

/// `Permutation::fingerprint` of `secret`.
pub fn fingerprint(secret: &Secret) -> String {
    let aes = Aes128::new(secret.into());
    let mut block = [0u8; 16].into();
    aes.encrypt_block(&mut block);
    block[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret from its hex text (32 hex digits, either case).
pub fn parse_secret(hex: &[u8]) -> Result<Secret> {
    if hex.len() != 2 * SECRET_LEN {
        return Err(Error::BadSecret);
    }
    let digit = |c: u8| (c as char).to_digit(16).ok_or(Error::BadSecret);
    let mut s = [0u8; SECRET_LEN];
    for (i, pair) in hex.chunks(2).enumerate() {
        s[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Ok(s)
}

/// The hex text of a secret (lower case), for replication and the AOF.
pub fn secret_hex(secret: &Secret) -> String {
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_array(secret: &Secret) -> [u8; 2 * SECRET_LEN] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 2 * SECRET_LEN];
    for (i, b) in secret.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 15) as usize];
    }
    out
}

impl Clone for Permutation {
    fn clone(&self) -> Self {
        // The same secret and size were accepted once: `new` cannot fail again.
        Permutation {
            secret: self.secret,
            hex: self.hex,
            print: self.print,
            ff1: FF1::<Aes128>::new(&self.secret, 2).expect("radix 2 is valid"),
            n: self.n,
            width: self.width,
        }
    }
}

impl PartialEq for Permutation {
    fn eq(&self, other: &Self) -> bool {
        self.secret == other.secret && self.n == other.n
    }
}

impl Eq for Permutation {}

/// Shows the fingerprint, never the secret.
impl fmt::Debug for Permutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permutation")
            .field("fingerprint", &self.fingerprint())
            .field("n", &self.n)
            .field("width", &self.width)
            .finish()
    }
}

#[cfg(test)]
mod tests;
