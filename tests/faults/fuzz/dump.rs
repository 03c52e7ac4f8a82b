//! DUMP payloads: the RDB encoding of a module value, and its systematic and random mutations
//! for RESTORE.

use super::*;

/// RDB length encoding (rdbSaveLen).
pub fn enc_len(v: u64, out: &mut Vec<u8>) {
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.push(0x40 | (v >> 8) as u8);
        out.push(v as u8);
    } else if v <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// The widest (9-byte) form of a length: valid, not canonical.
pub fn enc_len_wide(v: u64, out: &mut Vec<u8>) {
    out.push(0x81);
    out.extend_from_slice(&v.to_be_bytes());
}

fn dec_len(b: &[u8], i: &mut usize) -> Option<u64> {
    let first = *b.get(*i)?;
    *i += 1;
    match first >> 6 {
        0 => Some((first & 0x3f) as u64),
        1 => {
            let second = *b.get(*i)?;
            *i += 1;
            Some((((first & 0x3f) as u64) << 8) | second as u64)
        }
        2 if first == 0x80 => {
            let v = u32::from_be_bytes(b.get(*i..*i + 4)?.try_into().ok()?);
            *i += 4;
            Some(v as u64)
        }
        2 if first == 0x81 => {
            let v = u64::from_be_bytes(b.get(*i..*i + 8)?.try_into().ok()?);
            *i += 8;
            Some(v)
        }
        _ => None,
    }
}

/// RDB module opcodes (rdb.h).
pub const OP_EOF: u64 = 0;
pub const OP_UINT: u64 = 2;
pub const OP_STRING: u64 = 5;

/// One field of a module value: an integer (SaveSigned and SaveUnsigned are both stored as
/// UINT) or a string (SaveStringBuffer: a worker pool's holder names).
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    U(u64),
    S(Vec<u8>),
}

/// A module value in a DUMP body: `RDB_TYPE_MODULE_2`, the 64-bit module type id (name and
/// encoding version), then opcode + value pairs, then the EOF opcode. idgen saves integers and
/// (worker pools) strings, so that is all this parses.
#[derive(Clone, Debug, PartialEq)]
pub struct ModValue {
    pub rdb_type: u8,
    pub module_id: u64,
    pub fields: Vec<Field>,
}

fn enc_field(f: &Field, wide: bool, out: &mut Vec<u8>) {
    let len = if wide { enc_len_wide } else { enc_len };
    match f {
        Field::U(x) => {
            enc_len(OP_UINT, out);
            len(*x, out);
        }
        Field::S(b) => {
            enc_len(OP_STRING, out);
            len(b.len() as u64, out);
            out.extend_from_slice(b);
        }
    }
}

impl ModValue {
    pub fn parse(body: &[u8]) -> Option<ModValue> {
        let rdb_type = *body.first()?;
        let mut i = 1;
        let module_id = dec_len(body, &mut i)?;
        let mut fields = Vec::new();
        loop {
            match dec_len(body, &mut i)? {
                OP_EOF => break,
                OP_UINT => fields.push(Field::U(dec_len(body, &mut i)?)),
                OP_STRING => {
                    let n = dec_len(body, &mut i)? as usize;
                    let b = body.get(i..i.checked_add(n)?)?.to_vec();
                    i += n;
                    fields.push(Field::S(b));
                }
                _ => return None,
            }
        }
        (i == body.len()).then_some(ModValue {
            rdb_type,
            module_id,
            fields,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(false)
    }

    /// With `wide`, every length in its 9-byte form (valid, not canonical).
    fn encode_with(&self, wide: bool) -> Vec<u8> {
        let mut out = vec![self.rdb_type];
        enc_len_wide(self.module_id, &mut out);
        for f in &self.fields {
            enc_field(f, wide, &mut out);
        }
        enc_len(OP_EOF, &mut out);
        out
    }

    /// The integer fields.
    fn ints(&self) -> Vec<u64> {
        self.fields
            .iter()
            .filter_map(|f| match f {
                Field::U(x) => Some(*x),
                Field::S(_) => None,
            })
            .collect()
    }
}

/// Values worth trying in a field: boundaries of the types and of the layouts.
fn interesting(rng: &mut Rng, current: u64, others: &[u64]) -> u64 {
    let now = now_ms() as u64;
    match rng.below(6) {
        0 => *rng.pick(&[
            0,
            1,
            2,
            3,
            4,
            22,
            23,
            35,
            55,
            56,
            63,
            64,
            1023,
            1024,
            1025,
            1 << 20,
            (1 << 20) + 1,
            86_400_000,
            86_400_001,
            u64::MAX,
            u64::MAX - 1,
            i64::MAX as u64,
            i64::MIN as u64,
            (i64::MAX - 1) as u64,
            1 << 32,
            u32::MAX as u64,
            1 << 41,
            (1 << 41) - 1,
            1 << 55,
            (1 << 55) - 1,
            1 << 62,
            now,
            now - 1_704_067_200_000,
        ]),
        1 => current.wrapping_add(1),
        2 => current.wrapping_sub(1),
        3 if !others.is_empty() => *rng.pick(others),
        4 => current ^ (1 << rng.below(64)),
        _ => rng.next_u64(),
    }
}

/// Strings worth trying in a string field: empty, at and past the holder-name limit, binary.
fn interesting_str(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => Vec::new(),
        1 => vec![b'h'; 256],
        2 => vec![b'h'; 257],
        3 => vec![0u8],
        _ => {
            let n = rng.below(300) as usize;
            rng.bytes(n)
        }
    }
}

/// The systematic mutations of a DUMP body: every field set to every boundary value, every
/// field missing, every truncation.
pub fn systematic(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    const BOUNDARY: [u64; 12] = [
        0,
        1,
        u64::MAX,
        i64::MAX as u64,
        (i64::MAX - 1) as u64,
        i64::MIN as u64,
        1 << 32,
        1 << 55,
        1 << 62,
        (1 << 41) - 1,
        1 << 20,
        (1 << 20) + 1,
    ];
    let v = ModValue::parse(body).expect("source body parses");
    let mut out = Vec::new();
    for f in 0..v.fields.len() {
        let values: Vec<Field> = match &v.fields[f] {
            Field::U(_) => BOUNDARY.iter().map(|&x| Field::U(x)).collect(),
            Field::S(_) => vec![
                Field::S(Vec::new()),
                Field::S(vec![b'h'; 256]),
                Field::S(vec![b'h'; 257]),
                Field::U(0),
            ],
        };
        for x in values {
            let mut m = v.clone();
            let what = format!("field {f} = {x:?}");
            m.fields[f] = x;
            out.push((what, m.encode()));
        }
        let mut m = v.clone();
        m.fields.remove(f);
        out.push((format!("remove field {f}"), m.encode()));
    }
    for len in 1..body.len() {
        out.push((
            format!("truncate to {len} of {}", body.len()),
            body[..len].to_vec(),
        ));
    }
    out
}

/// One mutation of a DUMP body; returns what was done (for the report) and the new body.
/// `same_type` are bodies of other values of the same type, `other_type_id` the module id of
/// another idgen type.
pub fn mutate(
    rng: &mut Rng,
    body: &[u8],
    same_type: &[Vec<u8>],
    other_type_id: u64,
) -> (String, Vec<u8>) {
    let v = ModValue::parse(body).expect("source body parses");
    let nf = v.fields.len() as u64;
    let field = |rng: &mut Rng| rng.below(nf) as usize;
    let ints = v.ints();
    let kind = rng.below(13);
    match kind {
        0 => {
            let mut b = body.to_vec();
            let flips = rng.range(1, 3);
            let mut what = Vec::new();
            for _ in 0..flips {
                let pos = rng.below(b.len() as u64) as usize;
                let mask = (rng.below(255) + 1) as u8;
                b[pos] ^= mask;
                what.push(format!("{pos}^{mask:#04x}"));
            }
            (format!("flip bytes {}", what.join(",")), b)
        }
        1 => {
            let len = rng.range(1, body.len() as i64 - 1) as usize;
            (
                format!("truncate to {len} of {}", body.len()),
                body[..len].to_vec(),
            )
        }
        2..=4 => {
            let mut m = v.clone();
            let n = if kind == 4 { rng.range(2, 4) } else { 1 };
            let mut what = Vec::new();
            for _ in 0..n {
                let f = field(rng);
                let val = match &m.fields[f] {
                    Field::U(cur) if kind == 2 => Field::U(rng.next_u64()),
                    Field::U(cur) => Field::U(interesting(rng, *cur, &ints)),
                    Field::S(_) => Field::S(interesting_str(rng)),
                };
                what.push(format!("field {f} = {val:?}"));
                m.fields[f] = val;
            }
            (what.join(", "), m.encode())
        }
        5 => {
            // A field stored under another opcode (SINT, UINT, FLOAT, DOUBLE, STRING, invalid
            // ones).
            let f = field(rng);
            let op = *rng.pick(&[1u64, 2, 3, 4, 5, 6, 7, 63, 200]);
            let x = match &v.fields[f] {
                Field::U(x) => *x,
                Field::S(b) => b.len() as u64,
            };
            let mut out = vec![v.rdb_type];
            enc_len_wide(v.module_id, &mut out);
            for (i, fv) in v.fields.iter().enumerate() {
                if i == f {
                    enc_len(op, &mut out);
                    match op {
                        3 => out.extend_from_slice(&(x as u32).to_le_bytes()),
                        4 => out.extend_from_slice(&x.to_le_bytes()),
                        5 => {
                            enc_len(8, &mut out);
                            out.extend_from_slice(&x.to_le_bytes());
                        }
                        _ => enc_len(x, &mut out),
                    }
                } else {
                    enc_field(fv, false, &mut out);
                }
            }
            enc_len(OP_EOF, &mut out);
            (format!("field {f} under opcode {op}"), out)
        }
        6 => {
            let mut m = v.clone();
            let f = field(rng);
            m.fields.remove(f);
            (format!("remove field {f}"), m.encode())
        }
        7 => {
            let mut m = v.clone();
            let f = rng.below(nf + 1) as usize;
            let val = if rng.chance(1, 4) {
                Field::S(interesting_str(rng))
            } else {
                Field::U(interesting(rng, 0, &ints))
            };
            let what = format!("insert field {val:?} at {f}");
            m.fields.insert(f, val);
            (what, m.encode())
        }
        8 => (
            // Valid but wider length encodings: must load like the original.
            "every length in the 9-byte form".into(),
            v.encode_with(true),
        ),
        9 => {
            let mut b = v.encode();
            match rng.below(3) {
                0 => {
                    b.pop();
                    ("no EOF opcode".into(), b)
                }
                1 => {
                    let n = rng.range(1, 8) as usize;
                    b.extend(rng.bytes(n));
                    (format!("{n} junk bytes after EOF"), b)
                }
                _ => {
                    b.push(0);
                    ("two EOF opcodes".into(), b)
                }
            }
        }
        10 => {
            let mut m = v.clone();
            let encver = rng.below(1024);
            m.module_id = (m.module_id & !1023) | encver;
            (format!("encoding version {encver}"), m.encode())
        }
        11 => {
            let mut m = v.clone();
            m.module_id = other_type_id;
            ("another idgen type's module id".into(), m.encode())
        }
        _ => {
            // Fields from two real values of this type: each field valid alone, the mix maybe not.
            let other =
                ModValue::parse(rng.pick(same_type).as_slice()).expect("source body parses");
            let mut m = v.clone();
            let mut taken = Vec::new();
            for (i, f) in m.fields.iter_mut().enumerate() {
                if i < other.fields.len() && rng.chance(1, 2) {
                    *f = other.fields[i].clone();
                    taken.push(i.to_string());
                }
            }
            (
                format!("fields {} from another value", taken.join(",")),
                m.encode(),
            )
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
