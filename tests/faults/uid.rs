//! The UUID keys of the load: what a client records of `UUID.NEXT ... FORMAT HEX` and the
//! checker's part for them. A UUID is compared as the u128 of its 32 hex digits (the key's
//! order). Its low 46 bits are random, so a key that issued the same position twice (timestamp,
//! counter, worker) would still almost never give the same UUID twice: the checker also counts
//! repeated positions (the UUID without its random bits), what a lost reservation would show.

use std::collections::BTreeMap;

use super::util::Rng;
use idgen_testkit::Value;

/// A UUID key of the idgen workload: name and how it is created (None: by its first
/// `UUID.NEXT`, with the node's worker id).
pub struct UidSpec {
    pub key: &'static str,
    pub create: Option<&'static str>,
}

pub const UID_KEYS: [UidSpec; 2] = [
    UidSpec {
        key: "uid:default",
        create: None,
    },
    // A fixed worker: the same on every node (like `sf:fixed`).
    UidSpec {
        key: "uid:fixed",
        create: Some("UUID.CREATE uid:fixed WORKER 7"),
    },
];

/// Bits below the position: the random part of `rand_b` (see docs/uuid.md).
const RANDOM_BITS: u32 = 46;

/// Parses a `FORMAT HEX` reply: 32 lowercase hex digits of a version-7, RFC-variant UUID.
pub fn parse_hex(b: &[u8]) -> Option<u128> {
    if b.len() != 32 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let u = u128::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()?;
    let version = (u >> 76) & 0xf;
    let variant = (u >> 62) & 0x3;
    (version == 7 && variant == 0b10).then_some(u)
}

/// A UUID request of the load: (key, COUNT): single calls and batches on both keys.
pub fn pick(rng: &mut Rng) -> (usize, Option<i64>) {
    match rng.below(4) {
        0 => (0, None),
        1 => (0, Some(rng.range(2, 20))),
        2 => (1, None),
        _ => (1, Some(rng.range(1, 40))),
    }
}

/// `UUID.NEXT key [COUNT n] FORMAT HEX`.
pub fn args(key: usize, count: Option<i64>) -> Vec<String> {
    let mut a = vec!["UUID.NEXT".to_string(), UID_KEYS[key].key.to_string()];
    if let Some(n) = count {
        a.extend(["COUNT".to_string(), n.to_string()]);
    }
    a.extend(["FORMAT".to_string(), "HEX".to_string()]);
    a
}

/// The UUIDs of a reply to `args(_, count)`: one bulk string without COUNT, an array of `n`
/// strictly increasing ones with; None for any other shape.
pub fn parse_reply(count: Option<i64>, v: &Value) -> Option<Vec<u128>> {
    match (count, v) {
        (None, Value::Bulk(b)) => Some(vec![parse_hex(b)?]),
        (Some(n), Value::Array(items)) if items.len() == n as usize && n > 0 => {
            let ids = items
                .iter()
                .map(|i| match i {
                    Value::Bulk(b) => parse_hex(b),
                    _ => None,
                })
                .collect::<Option<Vec<u128>>>()?;
            ids.windows(2).all(|w| w[0] < w[1]).then_some(ids)
        }
        _ => None,
    }
}

/// The unix ms of a UUID (for reports).
fn unix_ms(u: u128) -> u64 {
    (u >> 80) as u64
}

/// What one client received from the UUID keys.
#[derive(Default)]
pub struct UidLog {
    /// Per key (index into `UID_KEYS`): every UUID received.
    pub ids: Vec<Vec<u128>>,
    last: Vec<Option<u128>>,
    /// A UUID not above the previous one this client received from its key.
    pub order_violations: u64,
    pub order_examples: Vec<String>,
}

impl UidLog {
    pub fn new(keys: usize) -> UidLog {
        UidLog {
            ids: vec![Vec::new(); keys],
            last: vec![None; keys],
            ..Default::default()
        }
    }

    /// Records a reply's UUIDs (increasing within the reply: checked by the caller).
    pub fn record(&mut self, key: usize, ids: &[u128]) {
        if let Some(last) = self.last[key] {
            if ids[0] <= last {
                self.order_violations += 1;
                if self.order_examples.len() < 5 {
                    self.order_examples.push(format!(
                        "{}: {:032x} after {last:032x}",
                        UID_KEYS[key].key, ids[0]
                    ));
                }
            }
        }
        self.last[key] = Some(*ids.last().unwrap());
        self.ids[key].extend_from_slice(ids);
    }
}

/// The checker's verdict on the UUID keys.
#[derive(Default, Debug)]
pub struct UidReport {
    pub checked: u64,
    /// UUIDs received more than once, over all keys together (each extra receipt counts).
    pub repeats: u64,
    /// Positions (a UUID without its random bits) received more than once within a key.
    pub position_repeats: u64,
    pub repeats_by_key: BTreeMap<String, u64>,
    pub order_violations: u64,
    pub examples: Vec<String>,
}

impl UidReport {
    fn example(&mut self, s: String) {
        if self.examples.len() < 8 {
            self.examples.push(s);
        }
    }
}

/// Merges the clients' UUIDs: per key, repeated positions; over all keys, repeated UUIDs.
pub fn check(logs: &mut [UidLog]) -> UidReport {
    let mut r = UidReport::default();
    let mut all: Vec<u128> = Vec::new();
    for l in logs.iter() {
        r.order_violations += l.order_violations;
        for e in &l.order_examples {
            r.example(format!("order: {e}"));
        }
    }
    for (ki, spec) in UID_KEYS.iter().enumerate() {
        let mut ids: Vec<u128> = Vec::new();
        for l in logs.iter_mut() {
            ids.append(&mut l.ids[ki]);
        }
        r.checked += ids.len() as u64;
        let mut pos: Vec<u128> = ids.iter().map(|u| u >> RANDOM_BITS).collect();
        pos.sort_unstable();
        for w in pos.windows(2) {
            if w[0] == w[1] {
                r.position_repeats += 1;
                *r.repeats_by_key.entry(spec.key.to_string()).or_default() += 1;
                r.example(format!(
                    "{}: position {:x} (unix ms {}) received twice",
                    spec.key,
                    w[0],
                    unix_ms(w[0] << RANDOM_BITS)
                ));
            }
        }
        all.append(&mut ids);
    }
    all.sort_unstable();
    for w in all.windows(2) {
        if w[0] == w[1] {
            r.repeats += 1;
            r.example(format!(
                "uuid {:032x} (unix ms {}) received twice",
                w[0],
                unix_ms(w[0])
            ));
        }
    }
    r
}

#[test]
fn uid_checker_counts_repeats_and_positions() {
    let a = 0x01a250c4_608c_7000_8200_1be6fdafbb20_u128;
    let hex = format!("{a:032x}");
    assert_eq!(parse_hex(hex.as_bytes()), Some(a));
    assert_eq!(parse_hex(b"01a250c4608c6000820001be6fdafbb2"), None); // version 6
    assert_eq!(parse_hex(hex.to_uppercase().as_bytes()), None);
    let mut l1 = UidLog::new(UID_KEYS.len());
    let mut l2 = UidLog::new(UID_KEYS.len());
    l1.record(0, &[a, a + 1]);
    l2.record(0, &[a + 2]); // same position as `a`, other random bits
    l2.record(0, &[a + 1]); // a repeat, and not above this client's last
    l2.record(1, &[a]); // the same UUID on another key
    let r = check(&mut [l1, l2]);
    assert_eq!(r.checked, 5);
    assert_eq!(r.repeats, 2);
    assert_eq!(r.position_repeats, 3); // key 0: four UUIDs, one position
    assert_eq!(r.order_violations, 1);
}
