//! Records of evicted generators: what a generator key held when Redis evicted it (its type, its
//! newest reservation and the serving generation it was made in), kept by name so that the name
//! resumes above everything the evicted key issued when it is used again.
//!
//! The store is bounded: at most `limit` records. When a new record would exceed it, the oldest
//! record is dropped (and counted), so memory stays bounded whatever the workload; a dropped
//! name is the only one that can start afresh. A record is taken (removed) when its name is
//! revived, and forgotten when its database is flushed. A record of a name evicted again replaces
//! the older one (the newer reservation is at or above it).

use std::collections::{HashMap, VecDeque};

/// The length of a data type's name (Redis's rule: exactly 9 characters).
pub const TYPE_NAME_LEN: usize = 9;

/// The most reservation arguments one record holds (its internal command adds the type and the
/// generation, within the 16 arguments a propagated command carries).
pub const MAX_ARGS: usize = 14;
/// The longest reservation argument a record holds (a sequence's template is the longest).
pub const MAX_ARG_LEN: usize = 4096;
/// The longest key name a record holds (Redis allows 512 MB; a generator's name is short).
pub const MAX_NAME_LEN: usize = 64 * 1024;

/// What an evicted generator held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The data type's name (`idgen-seq`, ...).
    pub kind: [u8; TYPE_NAME_LEN],
    /// The serving generation of its newest reservation.
    pub gen: u64,
    /// Its reservation, as the type's internal reserve command carries it (after the key): the
    /// arguments in one allocation, each as a 2-byte little-endian length and its bytes (one
    /// box per argument cost about 30 bytes each).
    args: Box<[u8]>,
}

impl Record {
    /// A record of `args`; `None` when they exceed the limits a load accepts (`MAX_ARGS`
    /// arguments of at most `MAX_ARG_LEN` bytes).
    pub fn new<'a>(
        kind: [u8; TYPE_NAME_LEN],
        gen: u64,
        args: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<Record> {
        let mut packed = Vec::new();
        let mut n = 0;
        for a in args {
            n += 1;
            if n > MAX_ARGS || a.len() > MAX_ARG_LEN {
                return None;
            }
            packed.extend_from_slice(&(a.len() as u16).to_le_bytes());
            packed.extend_from_slice(a);
        }
        Some(Record {
            kind,
            gen,
            args: packed.into_boxed_slice(),
        })
    }

    /// The reservation's arguments, in order.
    pub fn args(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.args[..];
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<2>()?;
            let len = u16::from_le_bytes(*len) as usize;
            let (a, tail) = tail.split_at(len.min(tail.len()));
            rest = tail;
            Some(a)
        })
    }

    /// Heap and inline bytes the record takes, for `INFO` (an estimate: allocator overhead
    /// aside).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Record>() + self.args.len()
    }
}

/// A record's name: the database and the key.
type Name = (i32, Box<[u8]>);

/// The records, by name, bounded in number (see the module's documentation).
#[derive(Debug)]
pub struct Records {
    /// Name -> (insertion number, record).
    map: HashMap<Name, (u64, Record)>,
    /// Names in insertion order, with their insertion number; an entry whose number no longer
    /// matches the map's is stale (the record was taken or replaced) and skipped.
    order: VecDeque<(u64, Name)>,
    next: u64,
    bytes: usize,
    dropped: u64,
}

impl Default for Records {
    fn default() -> Self {
        Self::new()
    }
}

impl Records {
    pub fn new() -> Self {
        Records {
            map: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
            bytes: 0,
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes the records take (names included), an estimate for `INFO`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many records were dropped to keep the bound, since the module loaded.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn cost(name: &[u8], r: &Record) -> usize {
        // The name is held twice (map and order).
        2 * name.len() + r.bytes() + 2 * std::mem::size_of::<Name>() + 16
    }

    /// Keeps `record` for `name` in database `db` (replacing an older record of the name), then
    /// drops the oldest records until at most `limit` remain. Returns how many were dropped.
    pub fn insert(&mut self, db: i32, name: &[u8], record: Record, limit: usize) -> u64 {
        let n = self.next;
        self.next += 1;
        self.bytes += Self::cost(name, &record);
        let key: Name = (db, name.into());
        if let Some((_, old)) = self.map.insert(key.clone(), (n, record)) {
            self.bytes -= Self::cost(name, &old);
        }
        self.order.push_back((n, key));
        let mut dropped = 0;
        while self.map.len() > limit {
            match self.pop_oldest() {
                Some(_) => dropped += 1,
                None => break,
            }
        }
        self.dropped += dropped;
        self.compact();
        dropped
    }

    /// Removes and returns the oldest live record.
    fn pop_oldest(&mut self) -> Option<(Name, Record)> {
        while let Some((n, key)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|(m, _)| *m == n) {
                let (_, r) = self.map.remove(&key)?;
                self.bytes -= Self::cost(&key.1, &r);
                return Some((key, r));
            }
        }
        None
    }

    /// Drops stale order entries once they outnumber the live ones, then gives back the room
    /// of records gone.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(n, key)| map.get(key).is_some_and(|(m, _)| m == n));
        }
        self.shrink();
    }

    /// A map or queue at most a quarter full (and over `SHRINK_FLOOR` entries of room) shrinks
    /// to twice its length: both keep their largest capacity otherwise, which after 800,000
    /// evicted names came back (or a flush) held 135 MB of `used_memory` with no record left
    /// (the fault suite's churn scenario on Redis 7.0.15).
    fn shrink(&mut self) {
        const SHRINK_FLOOR: usize = 1024;
        if self.map.capacity() > SHRINK_FLOOR && self.map.len() * 4 < self.map.capacity() {
            self.map.shrink_to(self.map.len() * 2);
        }
        if self.order.capacity() > SHRINK_FLOOR && self.order.len() * 4 < self.order.capacity() {
            self.order.shrink_to(self.order.len() * 2);
        }
    }

    /// The record of `name`, if any.
    pub fn get(&self, db: i32, name: &[u8]) -> Option<&Record> {
        // A borrowed lookup would need a custom key type; names are short and this runs only for
        // a write command on a server that holds records.
        self.map.get(&(db, name.into())).map(|(_, r)| r)
    }

    /// Removes and returns the record of `name`.
    pub fn take(&mut self, db: i32, name: &[u8]) -> Option<Record> {
        let (_, r) = self.map.remove(&(db, name.into()))?;
        self.bytes -= Self::cost(name, &r);
        self.compact();
        Some(r)
    }

    /// Forgets every record of database `db`, or of every database when `db` is `None`.
    pub fn clear(&mut self, db: Option<i32>) {
        match db {
            None => {
                self.map = HashMap::new();
                self.order = VecDeque::new();
                self.bytes = 0;
            }
            Some(d) => {
                self.map.retain(|(rd, _), _| *rd != d);
                self.order.retain(|(_, (rd, _))| *rd != d);
                self.bytes = self
                    .map
                    .iter()
                    .map(|((_, name), (_, r))| Self::cost(name, r))
                    .sum();
                self.shrink();
            }
        }
    }

    /// Every record, oldest first, with its name (for the RDB).
    pub fn iter(&self) -> impl Iterator<Item = (i32, &[u8], &Record)> {
        self.order.iter().filter_map(move |(n, key)| {
            let (m, r) = self.map.get(key)?;
            (m == n).then_some((key.0, &key.1[..], r))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rec(gen: u64) -> Record {
        Record::new(*b"idgen-seq", gen, [&b"1"[..], gen.to_string().as_bytes()]).unwrap()
    }

    #[test]
    fn arguments_come_back_in_order_and_limits_hold() {
        let args: [&[u8]; 3] = [b"", b"12", &[7u8; 300]];
        let r = Record::new(*b"idgen-seq", 3, args).unwrap();
        assert_eq!(r.args().collect::<Vec<_>>(), args.to_vec());
        assert!(Record::new(*b"idgen-seq", 0, [&[0u8; MAX_ARG_LEN + 1][..]]).is_none());
        assert!(Record::new(*b"idgen-seq", 0, vec![&b"1"[..]; MAX_ARGS + 1]).is_none());
        assert!(Record::new(*b"idgen-seq", 0, vec![&b"1"[..]; MAX_ARGS]).is_some());
    }

    #[test]
    fn take_returns_the_newest_record_of_a_name() {
        let mut r = Records::new();
        r.insert(0, b"a", rec(1), 10);
        r.insert(0, b"a", rec(2), 10);
        r.insert(1, b"a", rec(3), 10);
        assert_eq!(r.len(), 2);
        assert_eq!(r.take(0, b"a"), Some(rec(2)));
        assert_eq!(r.take(0, b"a"), None);
        assert_eq!(r.get(1, b"a"), Some(&rec(3)));
    }

    #[test]
    fn the_oldest_record_is_dropped_at_the_bound() {
        let mut r = Records::new();
        for i in 0..5u64 {
            r.insert(0, format!("k{i}").as_bytes(), rec(i), 3);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.dropped(), 2);
        assert!(r.get(0, b"k0").is_none() && r.get(0, b"k1").is_none());
        assert!(r.get(0, b"k4").is_some());
        // A name inserted again is young again.
        r.insert(0, b"k2", rec(9), 3);
        r.insert(0, b"k5", rec(5), 3);
        assert!(r.get(0, b"k2").is_some() && r.get(0, b"k3").is_none());
    }

    #[test]
    fn a_zero_bound_keeps_nothing() {
        let mut r = Records::new();
        assert_eq!(r.insert(0, b"a", rec(1), 0), 1);
        assert!(r.is_empty() && r.bytes() == 0);
    }

    #[test]
    fn room_is_given_back_once_the_records_are_gone() {
        let mut rs = Records::new();
        let rec = Record::new(*b"idgen-seq", 1, [&b"5"[..]]).unwrap();
        for i in 0..100_000u32 {
            rs.insert(0, &i.to_be_bytes(), rec.clone(), 1_000_000);
        }
        for i in 0..100_000u32 {
            assert!(rs.take(0, &i.to_be_bytes()).is_some());
        }
        assert!(rs.is_empty());
        assert!(rs.map.capacity() <= 2048, "map room {}", rs.map.capacity());
        assert!(
            rs.order.capacity() <= 2048,
            "order room {}",
            rs.order.capacity()
        );
        for i in 0..100_000u32 {
            rs.insert(1, &i.to_be_bytes(), rec.clone(), 1_000_000);
        }
        rs.clear(None);
        assert_eq!((rs.map.capacity(), rs.order.capacity()), (0, 0));
    }

    #[test]
    fn clear_forgets_one_database_or_all() {
        let mut r = Records::new();
        r.insert(0, b"a", rec(1), 10);
        r.insert(1, b"b", rec(1), 10);
        r.clear(Some(0));
        assert!(r.get(0, b"a").is_none() && r.get(1, b"b").is_some());
        assert_eq!(r.iter().count(), 1);
        r.clear(None);
        assert!(r.is_empty() && r.bytes() == 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(i32, u8, u64),
        Take(i32, u8),
        Clear(Option<i32>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..2i32, 0..20u8, 0..100u64).prop_map(|(d, k, g)| Op::Insert(d, k, g)),
            3 => (0..2i32, 0..20u8).prop_map(|(d, k)| Op::Take(d, k)),
            1 => prop::option::of(0..2i32).prop_map(Op::Clear),
        ]
    }

    proptest! {
        /// Against a plain model (a list of names, oldest first): the same records, the bound
        /// kept, the byte count exact, iteration oldest first.
        #[test]
        fn behaves_as_a_bounded_insertion_ordered_map(
            ops in prop::collection::vec(op(), 0..300), limit in 0usize..12,
        ) {
            let mut r = Records::new();
            let mut model: Vec<((i32, Vec<u8>), Record)> = Vec::new();
            for o in ops {
                match o {
                    Op::Insert(d, k, g) => {
                        let name = vec![k];
                        r.insert(d, &name, rec(g), limit);
                        model.retain(|(n, _)| *n != (d, name.clone()));
                        model.push(((d, name), rec(g)));
                        while model.len() > limit {
                            model.remove(0);
                        }
                    }
                    Op::Take(d, k) => {
                        let name = vec![k];
                        let want = model.iter().position(|(n, _)| *n == (d, name.clone()))
                            .map(|i| model.remove(i).1);
                        prop_assert_eq!(r.take(d, &name), want);
                    }
                    Op::Clear(db) => {
                        r.clear(db);
                        model.retain(|((d, _), _)| db.is_some_and(|x| x != *d));
                    }
                }
                prop_assert!(r.len() <= limit);
                prop_assert_eq!(r.len(), model.len());
                let got: Vec<_> = r.iter().map(|(d, n, x)| ((d, n.to_vec()), x.clone())).collect();
                prop_assert_eq!(&got, &model);
                let bytes: usize = model.iter().map(|((_, n), x)| Records::cost(n, x)).sum();
                prop_assert_eq!(r.bytes(), bytes);
            }
        }
    }
}
