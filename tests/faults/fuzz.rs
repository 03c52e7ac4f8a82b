//! Bad input: random argument vectors for every command, mutated DUMP payloads for RESTORE
//! (with the footer recomputed, so the bytes reach the module's loader), and the module value
//! layout inside a DUMP payload.

use super::util::Rng;
use crate::common::now_ms;

/// Every command of the module (the test-only IDGEN.DEBUG-CLOCK is not in the normal build).
pub const COMMANDS: [&str; 12] = [
    "SNOWFLAKE.CREATE",
    "SNOWFLAKE.NEXT",
    "SNOWFLAKE.PARSE",
    "SNOWFLAKE.INFO",
    "SNOWFLAKE.RESERVE",
    "SEQ.CREATE",
    "SEQ.NEXT",
    "SEQ.NEXTBATCH",
    "SEQ.CURRENT",
    "SEQ.SET",
    "SEQ.INFO",
    "SEQ.RESERVE",
];

/// Edge cases every run sends before the random vectors (split on whitespace). Internal
/// commands included: a client can send them, and so can a damaged AOF.
pub const EDGE_VECTORS: [&str; 59] = [
    // snowflake layouts at their bounds
    "SNOWFLAKE.CREATE fz:sf:a EPOCH 0 TIME-BITS 35 WORKER-BITS 20 SEQUENCE-BITS 8 WORKER 1048575",
    "SNOWFLAKE.NEXT fz:sf:a COUNT 10000",
    "SNOWFLAKE.NEXT fz:sf:a COUNT 10001",
    "SNOWFLAKE.NEXT fz:sf:a COUNT 0",
    "SNOWFLAKE.PARSE fz:sf:a -1",
    "SNOWFLAKE.PARSE fz:sf:a 9223372036854775807",
    "SNOWFLAKE.CREATE fz:sf:b TIME-BITS 55 WORKER-BITS 0 SEQUENCE-BITS 8 EPOCH 1",
    "SNOWFLAKE.CREATE fz:sf:b TIME-BITS 35 WORKER-BITS 20 SEQUENCE-BITS 9",
    "SNOWFLAKE.CREATE fz:sf:b EPOCH 99999999999999 WORKER -1",
    // reservations: the ceiling, beyond it, huge wall times, zero, another layout
    "SNOWFLAKE.RESERVE fz:sf:b 2199023255552 0 1704067200000 41 10 12 -1",
    "SNOWFLAKE.RESERVE fz:sf:b 9223372036854775807 9223372036854775807 1704067200000 41 10 12 -1",
    "SNOWFLAKE.NEXT fz:sf:b",
    "SNOWFLAKE.RESERVE fz:sf:a 0 0 0 35 20 8 1048575",
    "SNOWFLAKE.RESERVE fz:sf:a 5 5 0 41 10 12 -1",
    "SNOWFLAKE.RESERVE fz:k 34359738367 9223372036854775807 9223372036854775807 35 20 8 -1",
    "SNOWFLAKE.NEXT fz:k",
    "SNOWFLAKE.RESERVE fz:k -1 0 0 41 10 12 -1",
    "SNOWFLAKE.RESERVE fz:k 1 -1 0 41 10 12 -1",
    // an epoch so late that epoch + timestamp leaves the i64 range
    "SNOWFLAKE.RESERVE fz:k:late 5 5 9223372036854775806 41 10 12 -1",
    "SNOWFLAKE.NEXT fz:k:late",
    "SNOWFLAKE.PARSE fz:k:late 12603883521",
    // sequences at the i64 bounds
    "SEQ.CREATE fz:seq:a MINVALUE -9223372036854775808 MAXVALUE 9223372036854775807 START 9223372036854775807 INCREMENT 9223372036854775807 CYCLE",
    "SEQ.NEXT fz:seq:a",
    "SEQ.NEXT fz:seq:a",
    "SEQ.NEXTBATCH fz:seq:a 2",
    "SEQ.NEXTBATCH fz:seq:a 3",
    "SEQ.SET fz:seq:a -9223372036854775808 FORCE",
    "SEQ.NEXTBATCH fz:seq:a 9223372036854775807",
    "SEQ.CREATE fz:seq:b MINVALUE 9223372036854775806 MAXVALUE 9223372036854775807",
    "SEQ.NEXTBATCH fz:seq:b 2",
    "SEQ.NEXT fz:seq:b",
    "SEQ.SET fz:seq:b 9223372036854775807",
    // reservations of sequences: marks beyond i64, cycles on a sequence without CYCLE,
    // another layout, negative and huge counters
    "SEQ.RESERVE fz:seq:b 0 170141183460469231731687303715884105727 0 9223372036854775806 1 9223372036854775806 9223372036854775807 0",
    "SEQ.RESERVE fz:seq:b 0 -170141183460469231731687303715884105728 0 9223372036854775806 1 9223372036854775806 9223372036854775807 0",
    "SEQ.RESERVE fz:seq:b 0 5 0 1 1 1 100 0",
    "SEQ.RESERVE fz:k:seq 1 5 0 1 1 1 100 0",
    "SEQ.NEXT fz:k:seq",
    "SEQ.RESERVE fz:k:seq2 9223372036854775807 9223372036854775807 9223372036854775807 1 1 1 100 1",
    "SEQ.NEXT fz:k:seq2",
    "SEQ.RESERVE fz:k:seq3 -1 5 0 1 1 1 100 1",
    "SEQ.RESERVE fz:k:seq3 0 5 -1 1 1 1 100 1",
    "SEQ.RESERVE fz:k:seq3 0 5 0 1 1 1 100 2",
    "SEQ.CURRENT fz:k:seq3",
    // formats, time units and periods (issue 10) at their bounds
    "SNOWFLAKE.CREATE fz:sf:c LAYOUT JS-SAFE FORMAT BASE62 PREFIX ord_",
    "SNOWFLAKE.NEXT fz:sf:c COUNT 10000 FORMAT BASE32",
    "SNOWFLAKE.PARSE fz:sf:c ord_zzzzzzzzzzz",
    "SNOWFLAKE.PARSE fz:sf:c 99999999999999999999999 FORMAT STRING",
    "SNOWFLAKE.CREATE fz:sf:d TIME-BITS 55 WORKER-BITS 4 SEQUENCE-BITS 4 TIME-UNIT 86400000",
    "SNOWFLAKE.CREATE fz:sf:d TIME-BITS 35 WORKER-BITS 0 SEQUENCE-BITS 4 TIME-UNIT 86400000 FORMAT STRING PREFIX z",
    "SNOWFLAKE.NEXT fz:sf:d COUNT 10000",
    "SNOWFLAKE.RESERVE fz:sf:e 5 5 1704067200000 38 5 10 -1 10 BASE62 ord_",
    "SNOWFLAKE.RESERVE fz:sf:e 5 5 1704067200000 38 5 10 -1 0 BASE62 ord_",
    "SNOWFLAKE.RESERVE fz:sf:e 5 5 1704067200000 38 5 10 -1 10 INT ord_",
    "SEQ.CREATE fz:seq:p PERIOD HOUR UTC-OFFSET -14:00 FORMAT {YY}{MM}{DD}{hh}{seq:19} MINVALUE 0",
    "SEQ.NEXTBATCH fz:seq:p 9223372036854775807",
    "SEQ.RESERVE fz:seq:q 0 5 0 1 1 1 100 0 DAY 840 {YYYY}{MM}{DD}-{seq} -9223372036854775808",
    "SEQ.RESERVE fz:seq:q 0 5 0 1 1 1 100 0 DAY 841 {YYYY}{MM}{DD}-{seq} 5",
    "SEQ.NEXT fz:seq:q",
    "SEQ.RESERVE fz:seq:q 0 5 0 1 1 1 100 0 NONE 0 {seq} 5",
];

/// Keys the fuzzer works on; `fz:str` and `fz:list` hold plain Redis types.
pub const KEYS: [&[u8]; 9] = [
    b"fz:sf:a",
    b"fz:sf:b",
    b"fz:seq:a",
    b"fz:seq:b",
    b"fz:str",
    b"fz:list",
    b"fz:k",
    b"",
    b"fz:\x00\xff\r\n",
];

const OPTIONS: [&str; 19] = [
    "FORMAT",
    "PREFIX",
    "TIME-UNIT",
    "LAYOUT",
    "PERIOD",
    "UTC-OFFSET",
    "COUNT",
    "EPOCH",
    "TIME-BITS",
    "WORKER-BITS",
    "SEQUENCE-BITS",
    "WORKER",
    "START",
    "INCREMENT",
    "MINVALUE",
    "MAXVALUE",
    "CYCLE",
    "FORCE",
    "REPLACE",
];

const ODD_NUMBERS: [&str; 24] = [
    "",
    " ",
    "+1",
    "-0",
    "00012",
    "0x10",
    "1e3",
    "1.5",
    "-",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "170141183460469231731687303715884105727",
    "-170141183460469231731687303715884105728",
    "340282366920938463463374607431768211456",
    " 5",
    "5 ",
    "5\0",
    "\u{ff11}",
    "nan",
];

fn case(rng: &mut Rng, s: &str) -> Vec<u8> {
    match rng.below(4) {
        0 => s.to_ascii_lowercase().into_bytes(),
        1 => s
            .bytes()
            .map(|b| {
                if rng.chance(1, 2) {
                    b.to_ascii_lowercase()
                } else {
                    b
                }
            })
            .collect(),
        _ => s.as_bytes().to_vec(),
    }
}

/// A number, valid or not: small, at a boundary, random, or a string that only looks like one.
pub fn number(rng: &mut Rng) -> Vec<u8> {
    let n: i128 = match rng.below(11) {
        0 | 1 => rng.range(-3, 70) as i128,
        2 => *rng.pick(&[
            0,
            1,
            -1,
            i64::MAX as i128,
            i64::MIN as i128,
            i64::MAX as i128 - 1,
            i64::MIN as i128 + 1,
            i32::MAX as i128,
            u32::MAX as i128,
            1 << 53,
            1 << 41,
            (1 << 41) - 1,
            1 << 55,
            10_000,
            10_001,
            4096,
            1023,
            1024,
            3_600_000,
            3_600_001,
        ]),
        3 => rng.next_u64() as i64 as i128,
        4 => rng.next_u64() as i128,
        5 => return rng.pick(&ODD_NUMBERS).as_bytes().to_vec(),
        6 => (now_ms() + rng.range(-5_000_000, 5_000_000)) as i128,
        7 => 1_704_067_200_000 + rng.range(-10, 10) as i128,
        8 => {
            let p = rng.range(0, 64) as u32;
            (1i128 << p) + rng.range(-1, 1) as i128
        }
        9 => -(1i128 << rng.range(0, 64) as u32),
        _ => rng.range(0, 64) as i128,
    };
    n.to_string().into_bytes()
}

/// Any argument: a key, a number, an option word (known, unknown, odd case), binary junk, or a
/// long string.
pub fn any_arg(rng: &mut Rng) -> Vec<u8> {
    match rng.below(12) {
        0 | 1 => rng.pick(&KEYS).to_vec(),
        2..=5 => number(rng),
        6 | 7 => {
            let o = *rng.pick(&OPTIONS);
            case(rng, o)
        }
        8 => rng
            .pick(&[
                "FOO",
                "COUNTX",
                "CYCLE\0",
                "-COUNT",
                "count ",
                "WORKER_BITS",
                "SEQUENCE",
            ])
            .as_bytes()
            .to_vec(),
        9 | 10 => {
            let n = rng.below(40) as usize;
            rng.bytes(n)
        }
        _ => {
            let n = *rng.pick(&[33usize, 100, 4096, 70_000]);
            let c = *rng.pick(&[b'A', b'9', 0u8, b'\n']);
            vec![c; n]
        }
    }
}

/// A plausible argument vector for `cmd` (right shape, random values), so that the parsers'
/// deeper paths run, not only the arity check.
fn plausible(rng: &mut Rng, cmd: &str) -> Vec<Vec<u8>> {
    let mut a = vec![rng.pick(&KEYS).to_vec()];
    let opts = |rng: &mut Rng, a: &mut Vec<Vec<u8>>, names: &[&str]| {
        for _ in 0..rng.below(4) {
            let o = *rng.pick(names);
            a.push(case(rng, o));
            if o != "CYCLE" && o != "FORCE" && !rng.chance(1, 20) {
                a.push(number(rng));
            }
        }
    };
    let bits = |rng: &mut Rng| -> Vec<Vec<u8>> {
        // Valid splits most of the time, so that RESERVE gets past the layout checks.
        let (t, w, s) = *rng.pick(&[
            (41, 10, 12),
            (45, 6, 12),
            (49, 10, 4),
            (55, 0, 8),
            (35, 20, 8),
        ]);
        if rng.chance(1, 4) {
            vec![number(rng), number(rng), number(rng)]
        } else {
            vec![t, w, s]
                .into_iter()
                .map(|v: i32| v.to_string().into_bytes())
                .collect()
        }
    };
    match cmd {
        "SNOWFLAKE.CREATE" => opts(
            rng,
            &mut a,
            &[
                "EPOCH",
                "TIME-BITS",
                "WORKER-BITS",
                "SEQUENCE-BITS",
                "WORKER",
            ],
        ),
        "SNOWFLAKE.NEXT" if rng.chance(1, 2) => {
            a.push(case(rng, "COUNT"));
            a.push(number(rng));
        }
        "SNOWFLAKE.PARSE" | "SEQ.NEXTBATCH" => a.push(number(rng)),
        "SNOWFLAKE.RESERVE" => {
            a.push(number(rng));
            a.push(number(rng));
            a.push(if rng.chance(1, 2) {
                b"1704067200000".to_vec()
            } else {
                number(rng)
            });
            a.extend(bits(rng));
            a.push(if rng.chance(1, 2) {
                b"-1".to_vec()
            } else {
                number(rng)
            });
        }
        "SEQ.CREATE" => opts(
            rng,
            &mut a,
            &["START", "INCREMENT", "MINVALUE", "MAXVALUE", "CYCLE"],
        ),
        "SEQ.SET" => {
            a.push(number(rng));
            if rng.chance(1, 2) {
                a.push(case(rng, "FORCE"));
            }
        }
        "SEQ.RESERVE" => {
            for _ in 0..8 {
                a.push(number(rng));
            }
            if rng.chance(1, 2) {
                // start increment minvalue maxvalue cycle that pass validation
                let min = rng.range(-1000, 1000);
                let max = min + rng.range(1, 1_000_000);
                let inc = rng.range(1, (max - min).min(50));
                let n = a.len();
                a[n - 5] = min.to_string().into_bytes();
                a[n - 4] = inc.to_string().into_bytes();
                a[n - 3] = min.to_string().into_bytes();
                a[n - 2] = max.to_string().into_bytes();
                a[n - 1] = rng.range(0, 1).to_string().into_bytes();
            }
        }
        _ => {}
    }
    a
}

/// One random argument vector: a command name (random case) and arguments, plausible or random.
pub fn vector(rng: &mut Rng) -> Vec<Vec<u8>> {
    let cmd = *rng.pick(&COMMANDS);
    let mut v = vec![case(rng, cmd)];
    if rng.chance(1, 2) {
        v.extend(plausible(rng, cmd));
        // Sometimes one argument too many or too few.
        match rng.below(10) {
            0 => v.push(any_arg(rng)),
            1 if v.len() > 1 => {
                v.pop();
            }
            2 => {
                let i = 1 + rng.below(v.len() as u64 - 1) as usize;
                v[i] = any_arg(rng);
            }
            _ => {}
        }
    } else {
        let n = rng.below(12) as usize;
        for _ in 0..n {
            v.push(any_arg(rng));
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// DUMP payloads
// ---------------------------------------------------------------------------------------------

/// CRC-64/Jones as Redis's crc64.c (reflected, init 0, no final xor): the DUMP footer.
pub fn crc64(data: &[u8]) -> u64 {
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u64; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0x95ac_9329_ac4b_c9b5
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    data.iter().fold(0u64, |crc, &b| {
        t[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// A DUMP payload split into body (type + value) and the 2-byte RDB version of the footer.
pub fn split_dump(payload: &[u8]) -> (Vec<u8>, [u8; 2]) {
    let n = payload.len();
    assert!(n > 10, "DUMP payload too short");
    (
        payload[..n - 10].to_vec(),
        [payload[n - 10], payload[n - 9]],
    )
}

/// body + version + CRC64 of both, little-endian: what DUMP produces.
pub fn forge(body: &[u8], version: [u8; 2]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version);
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

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

/// A module value in a DUMP body: `RDB_TYPE_MODULE_2`, the 64-bit module type id (name and
/// encoding version), then opcode + value pairs, then the EOF opcode. idgen saves integers
/// (SaveSigned is stored as UINT) and a few short strings (PREFIX, a template).
#[derive(Clone, Debug, PartialEq)]
pub struct ModValue {
    pub rdb_type: u8,
    pub module_id: u64,
    pub fields: Vec<u64>,
    /// String fields (a snowflake's PREFIX, a sequence's template), kept as they came: the
    /// number of integer fields before each, and its bytes. Mutations change the integers.
    pub strings: Vec<(usize, Vec<u8>)>,
}

impl ModValue {
    pub fn parse(body: &[u8]) -> Option<ModValue> {
        let rdb_type = *body.first()?;
        let mut i = 1;
        let module_id = dec_len(body, &mut i)?;
        let mut fields = Vec::new();
        let mut strings = Vec::new();
        loop {
            match dec_len(body, &mut i)? {
                OP_EOF => break,
                OP_UINT => fields.push(dec_len(body, &mut i)?),
                OP_STRING => {
                    // A plain length-prefixed string (no integer or LZF encoding).
                    let len = dec_len(body, &mut i)? as usize;
                    let bytes = body.get(i..i + len)?.to_vec();
                    i += len;
                    strings.push((fields.len(), bytes));
                }
                _ => return None,
            }
        }
        (i == body.len()).then_some(ModValue {
            rdb_type,
            module_id,
            fields,
            strings,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.rdb_type];
        enc_len_wide(self.module_id, &mut out);
        let string = |at: usize, out: &mut Vec<u8>| {
            for (_, b) in self.strings.iter().filter(|(p, _)| *p == at) {
                enc_len(OP_STRING, out);
                enc_len(b.len() as u64, out);
                out.extend_from_slice(b);
            }
        };
        for (k, &f) in self.fields.iter().enumerate() {
            string(k, &mut out);
            enc_len(OP_UINT, &mut out);
            enc_len(f, &mut out);
        }
        // Strings after the last integer (or past it once fields were removed).
        for (_, b) in self.strings.iter().filter(|(p, _)| *p >= self.fields.len()) {
            enc_len(OP_STRING, &mut out);
            enc_len(b.len() as u64, &mut out);
            out.extend_from_slice(b);
        }
        enc_len(OP_EOF, &mut out);
        out
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
        3 => *rng.pick(others),
        4 => current ^ (1 << rng.below(64)),
        _ => rng.next_u64(),
    }
}

/// The systematic mutations of a DUMP body: every field set to every boundary value, every
/// field missing, every truncation.
pub fn systematic(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    const BOUNDARY: [u64; 10] = [
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
    ];
    let v = ModValue::parse(body).expect("source body parses");
    let mut out = Vec::new();
    for f in 0..v.fields.len() {
        for &x in &BOUNDARY {
            let mut m = v.clone();
            m.fields[f] = x;
            out.push((format!("field {f} = {x} ({})", x as i64), m.encode()));
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
/// `same_type` are bodies of other values of the same type, `other_type_id` the module id of the
/// other idgen type.
pub fn mutate(
    rng: &mut Rng,
    body: &[u8],
    same_type: &[Vec<u8>],
    other_type_id: u64,
) -> (String, Vec<u8>) {
    let v = ModValue::parse(body).expect("source body parses");
    let nf = v.fields.len() as u64;
    let field = |rng: &mut Rng| rng.below(nf) as usize;
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
                let val = if kind == 2 {
                    rng.next_u64()
                } else {
                    interesting(rng, m.fields[f], &v.fields)
                };
                m.fields[f] = val;
                what.push(format!("field {f} = {val} ({})", val as i64));
            }
            (what.join(", "), m.encode())
        }
        5 => {
            // A field stored under another opcode (SINT, FLOAT, DOUBLE, STRING, invalid ones).
            let f = field(rng);
            let op = *rng.pick(&[1u64, 3, 4, 5, 6, 7, 63, 200]);
            let mut out = vec![v.rdb_type];
            enc_len_wide(v.module_id, &mut out);
            for (i, &x) in v.fields.iter().enumerate() {
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
                    enc_len(OP_UINT, &mut out);
                    enc_len(x, &mut out);
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
            let val = interesting(rng, 0, &v.fields);
            m.fields.insert(f, val);
            (format!("insert field {val} at {f}"), m.encode())
        }
        8 => {
            // Valid but wider length encodings: must load like the original.
            let mut out = vec![v.rdb_type];
            enc_len_wide(v.module_id, &mut out);
            for &x in &v.fields {
                enc_len(OP_UINT, &mut out);
                enc_len_wide(x, &mut out);
            }
            enc_len(OP_EOF, &mut out);
            ("every field in the 9-byte length form".into(), out)
        }
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
            ("the other idgen type's module id".into(), m.encode())
        }
        _ => {
            // Fields from two real values of this type: each field valid alone, the mix maybe not.
            let other =
                ModValue::parse(rng.pick(same_type).as_slice()).expect("source body parses");
            let mut m = v.clone();
            let mut taken = Vec::new();
            for (i, f) in m.fields.iter_mut().enumerate() {
                if i < other.fields.len() && rng.chance(1, 2) {
                    *f = other.fields[i];
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
