use aes::{Aes128, Aes192, Aes256};
use fpe::ff1::{FlexibleNumeralString, FF1};
use proptest::prelude::*;

use super::*;

const NIST_KEY_128: [u8; 16] = [
    0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6, 0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C,
];

fn ff1_128(radix: u32, tweak: &[u8], pt: &[u16]) -> Vec<u16> {
    let ff1 = FF1::<Aes128>::new(&NIST_KEY_128, radix).unwrap();
    let ct = ff1
        .encrypt(tweak, &FlexibleNumeralString::from(pt.to_vec()))
        .unwrap();
    let back = ff1.decrypt(tweak, &ct).unwrap();
    assert_eq!(Vec::<u16>::from(back), pt);
    ct.into()
}

/// NIST SP 800-38G FF1 samples 1 to 3 (AES-128): the crate is FF1.
#[test]
fn nist_ff1_aes128_samples() {
    let digits: Vec<u16> = (0..10).collect();
    assert_eq!(
        ff1_128(10, &[], &digits),
        [2, 4, 3, 3, 4, 7, 7, 4, 8, 4],
        "sample 1"
    );
    assert_eq!(
        ff1_128(10, b"9876543210", &digits),
        [6, 1, 2, 4, 2, 0, 0, 7, 7, 3],
        "sample 2"
    );
    let base36: Vec<u16> = (0..19).collect();
    assert_eq!(
        ff1_128(
            36,
            &[0x37, 0x37, 0x37, 0x37, 0x70, 0x71, 0x72, 0x73, 0x37, 0x37, 0x37],
            &base36
        ),
        [10, 9, 29, 31, 4, 0, 22, 21, 21, 9, 20, 13, 30, 5, 0, 9, 14, 30, 22],
        "sample 3"
    );
    // The AES-192 and AES-256 types build too (the crate is generic over the block cipher).
    let _ = FF1::<Aes192>::new(&[0; 24], 10).unwrap();
    let _ = FF1::<Aes256>::new(&[0; 32], 10).unwrap();
}

fn secret(b: u8) -> Secret {
    [b; SECRET_LEN]
}

/// Every index of a 1000-value domain maps to a distinct index inside it, and back.
#[test]
fn a_small_domain_is_a_bijection() {
    let p = Permutation::new(secret(7), 1000).unwrap();
    assert_eq!(p.width(), MIN_WIDTH);
    let mut seen = vec![false; 1000];
    for i in 0..1000 {
        let v = p.permute(i).unwrap();
        assert!(v < 1000);
        assert!(!seen[v as usize], "{v} twice");
        seen[v as usize] = true;
        assert_eq!(p.invert(v).unwrap(), i);
    }
    assert!(p.permute(1000).is_err());
    assert!(p.invert(1000).is_err());
}

/// Consecutive issue indexes of an 8-digit domain: about half of the public values increase.
#[test]
fn neighbours_look_unrelated() {
    let p = Permutation::new(secret(42), 99_999_999).unwrap();
    let count = 100_000u64;
    let values: Vec<u64> = (0..count).map(|i| p.permute(i).unwrap()).collect();
    let ups = values.windows(2).filter(|w| w[1] > w[0]).count();
    let fraction = ups as f64 / (count - 1) as f64;
    eprintln!(
        "opaque order statistics: {ups} of {} consecutive values increase ({fraction:.4})",
        count - 1
    );
    assert!((0.48..=0.52).contains(&fraction), "{fraction}");
    let mut sorted = values.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), values.len());
}

#[test]
fn the_largest_domain_needs_no_walk() {
    let p = Permutation::new(secret(1), 1u128 << 64).unwrap();
    assert_eq!(p.width(), 64);
    for i in [0, 1, u64::MAX - 1, u64::MAX] {
        assert_eq!(p.invert(p.permute(i).unwrap()).unwrap(), i);
    }
    assert!(Permutation::new(secret(1), 0).is_err());
    assert!(Permutation::new(secret(1), (1u128 << 64) + 1).is_err());
    // The smallest domain a key may have.
    let small = Permutation::new(secret(1), MIN_DOMAIN).unwrap();
    assert!(small.permute(0).unwrap() < MIN_DOMAIN as u64);
}

#[test]
fn secrets_parse_from_32_hex_digits() {
    let s = parse_secret(b"2B7E151628AED2A6abf7158809cf4f3c").unwrap();
    assert_eq!(s, NIST_KEY_128);
    assert_eq!(secret_hex(&s), "2b7e151628aed2a6abf7158809cf4f3c");
    for bad in [
        &b""[..],
        b"2B7E151628AED2A6abf7158809cf4f3",
        b"2B7E151628AED2A6abf7158809cf4f3c00",
        b"2B7E151628AED2A6abf7158809cf4f3g",
        b"+B7E151628AED2A6abf7158809cf4f3c",
    ] {
        assert_eq!(parse_secret(bad), Err(Error::BadSecret));
    }
}

/// The fingerprint is AES-128 of a zero block (FIPS-197 style known answer for the NIST key).
#[test]
fn the_fingerprint_hides_the_secret() {
    // AES-128(2b7e1516..., 0^128) = 7df76b0c 1ab899b3 3e42f047 b91b546f
    assert_eq!(fingerprint(&NIST_KEY_128), "7df76b0c");
    let p = Permutation::new(NIST_KEY_128, 10).unwrap();
    let shown = format!("{p:?}");
    assert!(shown.contains("7df76b0c"), "{shown}");
    assert!(!shown.to_lowercase().contains("2b7e15"), "{shown}");
    assert_eq!(p.clone(), p);
    // What an OPAQUE key adds to its boxed extension (the AES key schedules, the secret).
    assert!(
        std::mem::size_of::<Permutation>() <= 1024,
        "{}",
        std::mem::size_of::<Permutation>()
    );
    eprintln!("Permutation: {} bytes", std::mem::size_of::<Permutation>());
    assert_eq!(p.secret_hex(), b"2b7e151628aed2a6abf7158809cf4f3c");
    assert_eq!(p.fingerprint_bytes(), b"7df76b0c");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// The word-sized numeral string gives the crate's own ciphertexts (its big-integer strings).
    #[test]
    fn same_as_the_crates_numeral_strings(key in any::<[u8; 16]>(), width in 20usize..=64, x in any::<u64>()) {
        let x = if width == 64 { x } else { x & ((1u64 << width) - 1) };
        let ff1 = FF1::<Aes128>::new(&key, 2).unwrap();
        let bits: Vec<u16> = (0..width).rev().map(|b| ((x >> b) & 1) as u16).collect();
        let flexible: Vec<u16> = ff1.encrypt(&[], &FlexibleNumeralString::from(bits)).unwrap().into();
        let want = flexible.iter().fold(0u64, |acc, b| (acc << 1) | *b as u64);
        let ours = ff1.encrypt(&[], &super::Bits { v: x, n: width }).unwrap();
        prop_assert_eq!(ours.v, want);
        prop_assert_eq!(ff1.decrypt(&[], &ours).unwrap().v, x);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Decoding undoes the permutation, inside the domain, for any domain size from 2^20 up.
    #[test]
    fn decode_round_trips(key in any::<[u8; 16]>(), n in (1u128 << 20)..=(1u128 << 64), i in any::<u64>()) {
        let p = Permutation::new(key, n).unwrap();
        let i = (i as u128 % n) as u64;
        let v = p.permute(i).unwrap();
        prop_assert!((v as u128) < n);
        prop_assert_eq!(p.invert(v).unwrap(), i);
    }
}

#[test]
#[ignore]
fn cost_per_call() {
    for n in [1000u128, 100_000_000, 1u128 << 63] {
        let p = Permutation::new(secret(3), n).unwrap();
        let t = std::time::Instant::now();
        let k = if n < 1_000_000 { 200 } else { 20_000 };
        let mut acc = 0;
        for i in 0..k {
            acc ^= p.permute(i).unwrap();
        }
        eprintln!(
            "n={n}: {:.2} us per permute ({acc})",
            t.elapsed().as_secs_f64() * 1e6 / k as f64
        );
    }
}
