//! Text forms of snowflake ids (`FORMAT`, `PREFIX`). Layouts, their time unit and the dates they
//! stay JavaScript-safe until are in `snowflake.rs` (`Layout`).
//!
//! Pure logic, no allocation on the encode path: `encode` writes into a caller's stack buffer,
//! since it runs once per id and a call can issue 10,000 ids.
//!
//! # Forms
//!
//! | FORMAT   | text                                 | width              | sorts as numbers |
//! |----------|--------------------------------------|--------------------|------------------|
//! | `INT`    | an integer reply (as text: decimal)  | 1..=19             | no               |
//! | `STRING` | decimal digits, no padding           | 1..=19             | no               |
//! | `BASE32` | Crockford `0-9 A-Z` minus `I L O U`  | 13, zero-padded    | yes              |
//! | `BASE62` | `0-9 A-Z a-z`                        | 11, zero-padded    | yes              |
//!
//! Both alphabets are in ASCII order and the widths fit every 63-bit id (32^13 = 2^65,
//! 62^11 > 2^65), so two ids of one key compare as texts exactly as they compare as numbers,
//! prefix or not (the prefix is the same for both).
//!
//! # Decoding (`SNOWFLAKE.PARSE`)
//!
//! `decode` takes the text, the FORMAT to read it in (the key's, or one the caller names) and
//! the key's prefix. The prefix is optional in the text and compared byte for byte
//! (case-sensitive). It is stripped when the text starts with it and, for the fixed-width forms,
//! when the text is exactly prefix + width long; so an unprefixed base62 id that happens to begin
//! with the prefix's characters still decodes as itself. A decimal text never starts with a
//! prefix by accident, since a prefix starts with a letter.
//!
//! - decimal: ASCII digits only (no sign, no spaces); leading zeros are accepted.
//! - BASE32: exactly 13 symbols, case-insensitive; `I`/`L` read as `1` and `O` as `0`
//!   (standard Crockford decoding). `U` and the Crockford check symbols are refused.
//!   **Hyphens are refused**: the encoder never writes them, a PREFIX may itself contain `-`, and
//!   refusing them keeps each id down to one text per letter case.
//! - BASE62: exactly 11 symbols, case-sensitive.
//!
//! Errors: empty text, wrong width, a bad character (with its 1-based position in the whole
//! argument), and values above 2^63 - 1.
//!
//! # Prefix
//!
//! 1..=16 bytes: an ASCII letter, then letters, digits, `_` or `-` (`ord_`, `INV-`, `v2`).
//! Starting with a letter means a prefixed text never reads as a number (a prefix `1` or `-`
//! would turn id 23 into "123" or "-23"), and a decimal id text is never mistaken for a
//! prefixed one. The prefix only goes with the text forms: `FORMAT INT` with a `PREFIX` is
//! refused.

use crate::error::{Error, Result};

/// Bytes `encode` may write: a 16-byte prefix and 20 characters at most.
pub const ENCODED_MAX: usize = 64;
pub const PREFIX_MAX: usize = 16;
pub const BASE32_WIDTH: usize = 13;
pub const BASE62_WIDTH: usize = 11;
pub const BASE32_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const BASE62_ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How ids are replied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum IdFormat {
    #[default]
    Int,
    String,
    Base32,
    Base62,
}

impl IdFormat {
    pub const ALL: [IdFormat; 4] = [
        IdFormat::Int,
        IdFormat::String,
        IdFormat::Base32,
        IdFormat::Base62,
    ];

    /// Parses a FORMAT option word, case-insensitively.
    pub fn parse(word: &[u8]) -> Result<IdFormat> {
        IdFormat::ALL
            .into_iter()
            .find(|f| word.eq_ignore_ascii_case(f.name().as_bytes()))
            .ok_or(Error::UnknownFormat)
    }

    /// The option word, upper case.
    pub fn name(self) -> &'static str {
        match self {
            IdFormat::Int => "INT",
            IdFormat::String => "STRING",
            IdFormat::Base32 => "BASE32",
            IdFormat::Base62 => "BASE62",
        }
    }

    /// The fixed width of the encoded id (without prefix), `None` for the decimal forms.
    pub fn width(self) -> Option<usize> {
        match self {
            IdFormat::Int | IdFormat::String => None,
            IdFormat::Base32 => Some(BASE32_WIDTH),
            IdFormat::Base62 => Some(BASE62_WIDTH),
        }
    }

    /// Whether ids are replied as bulk strings (every form but INT).
    pub fn is_text(self) -> bool {
        self != IdFormat::Int
    }

    /// What a character of this form is called in an error.
    fn char_name(self) -> &'static str {
        match self {
            IdFormat::Int | IdFormat::String => "a decimal digit",
            IdFormat::Base32 => "BASE32",
            IdFormat::Base62 => "BASE62",
        }
    }
}

/// A validated PREFIX (see the module docs), stored inline; `Prefix::NONE` is no prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Prefix {
    len: u8,
    bytes: [u8; PREFIX_MAX],
}

impl Prefix {
    pub const NONE: Prefix = Prefix {
        len: 0,
        bytes: [0; PREFIX_MAX],
    };

    /// Checks a PREFIX value: 1..=16 bytes, a letter, then letters, digits, `_` or `-`.
    pub fn parse(text: &[u8]) -> Result<Prefix> {
        let ok = matches!(text.first(), Some(c) if c.is_ascii_alphabetic())
            && text.len() <= PREFIX_MAX
            && text
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
        if !ok {
            return Err(Error::BadPrefix);
        }
        let mut p = Prefix::NONE;
        p.bytes[..text.len()].copy_from_slice(text);
        p.len = text.len() as u8;
        Ok(p)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A key's FORMAT and PREFIX together, checked to go together (18 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TextForm {
    pub format: IdFormat,
    pub prefix: Prefix,
}

impl TextForm {
    /// Refuses a prefix on `FORMAT INT`.
    pub fn new(format: IdFormat, prefix: Prefix) -> Result<TextForm> {
        if format == IdFormat::Int && !prefix.is_empty() {
            return Err(Error::PrefixNeedsText);
        }
        Ok(TextForm { format, prefix })
    }

    pub fn encode(&self, id: i64, out: &mut [u8; ENCODED_MAX]) -> usize {
        encode(id, self.format, &self.prefix, out)
    }

    /// Decodes in the key's format, or in `format` when the caller names one.
    pub fn decode(&self, text: &[u8], format: Option<IdFormat>) -> Result<i64> {
        decode(text, format.unwrap_or(self.format), &self.prefix)
    }
}

/// Writes `prefix` and `id` in `format` to the start of `out`; returns the length written.
///
/// Snowflake ids are non-negative. A negative `id` does not panic: decimal forms write it with a
/// `-`, the fixed-width forms write its 64-bit two's complement (which `decode` refuses).
#[inline]
pub fn encode(id: i64, format: IdFormat, prefix: &Prefix, out: &mut [u8; ENCODED_MAX]) -> usize {
    let p = prefix.as_bytes();
    out[..p.len()].copy_from_slice(p);
    let body = &mut out[p.len()..];
    let n = match format {
        IdFormat::Int | IdFormat::String => write_decimal(id, body),
        IdFormat::Base32 => {
            let v = id as u64;
            for (i, b) in body[..BASE32_WIDTH].iter_mut().enumerate() {
                let shift = 5 * (BASE32_WIDTH - 1 - i);
                *b = BASE32_ALPHABET[((v >> shift) & 31) as usize];
            }
            BASE32_WIDTH
        }
        IdFormat::Base62 => {
            let mut v = id as u64;
            for b in body[..BASE62_WIDTH].iter_mut().rev() {
                *b = BASE62_ALPHABET[(v % 62) as usize];
                v /= 62;
            }
            BASE62_WIDTH
        }
    };
    p.len() + n
}

fn write_decimal(id: i64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut v = id.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if id < 0 {
        i -= 1;
        tmp[i] = b'-';
    }
    let n = tmp.len() - i;
    out[..n].copy_from_slice(&tmp[i..]);
    n
}

const BAD: u8 = 0xFF;

const fn base32_table() -> [u8; 256] {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 32 {
        let c = BASE32_ALPHABET[i];
        t[c as usize] = i as u8;
        t[c.to_ascii_lowercase() as usize] = i as u8;
        i += 1;
    }
    t[b'I' as usize] = 1;
    t[b'i' as usize] = 1;
    t[b'L' as usize] = 1;
    t[b'l' as usize] = 1;
    t[b'O' as usize] = 0;
    t[b'o' as usize] = 0;
    t
}

const fn base62_table() -> [u8; 256] {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 62 {
        t[BASE62_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
}

static BASE32_VALUES: [u8; 256] = base32_table();
static BASE62_VALUES: [u8; 256] = base62_table();

/// Reads an id written in `format`, with or without `prefix` (rules in the module docs).
pub fn decode(text: &[u8], format: IdFormat, prefix: &Prefix) -> Result<i64> {
    let p = prefix.as_bytes();
    let strip = !p.is_empty()
        && text.starts_with(p)
        && format.width().is_none_or(|w| text.len() == p.len() + w);
    let skip = if strip { p.len() } else { 0 };
    let body = &text[skip..];
    if body.is_empty() {
        return Err(Error::IdTextEmpty);
    }
    let bad_char = |i: usize| Error::IdTextChar {
        format: format.char_name(),
        pos: skip + i + 1,
    };
    let (base, table): (u64, &[u8; 256]) = match format {
        IdFormat::Int | IdFormat::String => {
            // Saturating: a long digit string still reports a later bad character first.
            let mut v: u64 = 0;
            for (i, &c) in body.iter().enumerate() {
                if !c.is_ascii_digit() {
                    return Err(bad_char(i));
                }
                v = v.saturating_mul(10).saturating_add((c - b'0') as u64);
            }
            return i64::try_from(v).map_err(|_| Error::IdTextOverflow);
        }
        IdFormat::Base32 => (32, &BASE32_VALUES),
        IdFormat::Base62 => (62, &BASE62_VALUES),
    };
    let width = format.width().unwrap_or(0);
    if body.len() != width {
        return Err(Error::IdTextWidth {
            format: format.name(),
            width,
        });
    }
    // 13 base-32 or 11 base-62 symbols are below 2^66: no overflow in u128.
    let mut v: u128 = 0;
    for (i, &c) in body.iter().enumerate() {
        let d = table[c as usize];
        if d == BAD {
            return Err(bad_char(i));
        }
        v = v * base as u128 + d as u128;
    }
    i64::try_from(v).map_err(|_| Error::IdTextOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(id: i64, f: IdFormat, p: &Prefix) -> Vec<u8> {
        let mut buf = [0u8; ENCODED_MAX];
        let n = encode(id, f, p, &mut buf);
        buf[..n].to_vec()
    }

    fn pre(s: &str) -> Prefix {
        Prefix::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn format_words() {
        assert_eq!(IdFormat::parse(b"base62"), Ok(IdFormat::Base62));
        assert_eq!(IdFormat::parse(b"Base32"), Ok(IdFormat::Base32));
        assert_eq!(IdFormat::parse(b"STRING"), Ok(IdFormat::String));
        assert_eq!(IdFormat::parse(b"int"), Ok(IdFormat::Int));
        assert_eq!(IdFormat::parse(b"base64"), Err(Error::UnknownFormat));
        assert_eq!(IdFormat::parse(b""), Err(Error::UnknownFormat));
        for f in IdFormat::ALL {
            assert_eq!(IdFormat::parse(f.name().as_bytes()), Ok(f));
        }
    }

    #[test]
    fn alphabets_are_sorted_and_crockford() {
        assert!(BASE32_ALPHABET.windows(2).all(|w| w[0] < w[1]));
        assert!(BASE62_ALPHABET.windows(2).all(|w| w[0] < w[1]));
        for c in b"ILOU" {
            assert!(!BASE32_ALPHABET.contains(c));
        }
        // The widths hold u64::MAX, so they hold every 63-bit id.
        assert!(32u128.pow(BASE32_WIDTH as u32) > u64::MAX as u128);
        assert!(62u128.pow(BASE62_WIDTH as u32) > u64::MAX as u128);
        assert!(62u128.pow(BASE62_WIDTH as u32 - 1) < i64::MAX as u128);
        const { assert!(ENCODED_MAX >= PREFIX_MAX + 20) };
    }

    #[test]
    fn known_encodings() {
        let none = Prefix::NONE;
        assert_eq!(enc(0, IdFormat::Base32, &none), b"0000000000000");
        assert_eq!(enc(31, IdFormat::Base32, &none), b"000000000000Z");
        assert_eq!(enc(32, IdFormat::Base32, &none), b"0000000000010");
        assert_eq!(enc(i64::MAX, IdFormat::Base32, &none), b"7ZZZZZZZZZZZZ");
        assert_eq!(enc(0, IdFormat::Base62, &none), b"00000000000");
        assert_eq!(enc(61, IdFormat::Base62, &none), b"0000000000z");
        assert_eq!(enc(62, IdFormat::Base62, &none), b"00000000010");
        assert_eq!(enc(i64::MAX, IdFormat::Base62, &none), b"AzL8n0Y58m7");
        assert_eq!(enc(0, IdFormat::String, &none), b"0");
        assert_eq!(
            enc(382446678113779712, IdFormat::String, &pre("ord_")),
            b"ord_382446678113779712"
        );
        assert_eq!(enc(-5, IdFormat::Int, &none), b"-5");
        assert_eq!(
            enc(i64::MIN, IdFormat::String, &pre("abcdefghijklmnop")),
            b"abcdefghijklmnop-9223372036854775808"
        );
    }

    #[test]
    fn prefix_rules() {
        for ok in ["o", "ord_", "INV-", "v2", "abcdefghijklmnop", "a-_9"] {
            assert_eq!(
                Prefix::parse(ok.as_bytes()).unwrap().as_bytes(),
                ok.as_bytes()
            );
        }
        for bad in [
            "",
            "_ord",
            "-x",
            "1abc",
            "ord ",
            "ord:",
            "ör",
            "abcdefghijklmnopq",
            "a\r\n",
        ] {
            assert_eq!(
                Prefix::parse(bad.as_bytes()),
                Err(Error::BadPrefix),
                "{bad:?}"
            );
        }
        assert!(Prefix::NONE.is_empty());
        assert_eq!(
            TextForm::new(IdFormat::Int, pre("x")),
            Err(Error::PrefixNeedsText)
        );
        assert!(TextForm::new(IdFormat::Int, Prefix::NONE).is_ok());
        assert!(TextForm::new(IdFormat::Base62, pre("x")).is_ok());
    }

    #[test]
    fn decode_errors() {
        let none = Prefix::NONE;
        let d = |t: &str, f| decode(t.as_bytes(), f, &none);
        assert_eq!(d("", IdFormat::String), Err(Error::IdTextEmpty));
        assert_eq!(d("", IdFormat::Base32), Err(Error::IdTextEmpty));
        assert_eq!(
            decode(b"ord_", IdFormat::String, &pre("ord_")),
            Err(Error::IdTextEmpty)
        );
        assert_eq!(
            d("12a4", IdFormat::String),
            Err(Error::IdTextChar {
                format: "a decimal digit",
                pos: 3
            })
        );
        assert_eq!(
            decode(b"ord_12a4", IdFormat::String, &pre("ord_")),
            Err(Error::IdTextChar {
                format: "a decimal digit",
                pos: 7
            })
        );
        for t in ["-1", "+1", " 1", "1 "] {
            assert!(matches!(d(t, IdFormat::Int), Err(Error::IdTextChar { .. })));
        }
        assert_eq!(d("9223372036854775807", IdFormat::String), Ok(i64::MAX));
        assert_eq!(d("0009223372036854775807", IdFormat::String), Ok(i64::MAX));
        assert_eq!(
            d("9223372036854775808", IdFormat::String),
            Err(Error::IdTextOverflow)
        );
        assert_eq!(
            d("99999999999999999999999999", IdFormat::String),
            Err(Error::IdTextOverflow)
        );
        assert_eq!(
            d("99999999999999999999999x", IdFormat::String),
            Err(Error::IdTextChar {
                format: "a decimal digit",
                pos: 24
            })
        );
        assert_eq!(
            d("123", IdFormat::Base62),
            Err(Error::IdTextWidth {
                format: "BASE62",
                width: 11
            })
        );
        assert_eq!(
            d("0000000000000", IdFormat::Base62),
            Err(Error::IdTextWidth {
                format: "BASE62",
                width: 11
            })
        );
        assert_eq!(
            d("00000-0000000", IdFormat::Base32),
            Err(Error::IdTextChar {
                format: "BASE32",
                pos: 6
            })
        );
        assert_eq!(
            d("000000000000U", IdFormat::Base32),
            Err(Error::IdTextChar {
                format: "BASE32",
                pos: 13
            })
        );
        assert_eq!(d("7ZZZZZZZZZZZZ", IdFormat::Base32), Ok(i64::MAX));
        assert_eq!(
            d("8000000000000", IdFormat::Base32),
            Err(Error::IdTextOverflow)
        );
        assert_eq!(
            d("ZZZZZZZZZZZZZ", IdFormat::Base32),
            Err(Error::IdTextOverflow)
        );
        assert_eq!(d("AzL8n0Y58m7", IdFormat::Base62), Ok(i64::MAX));
        assert_eq!(
            d("AzL8n0Y58m8", IdFormat::Base62),
            Err(Error::IdTextOverflow)
        );
        assert_eq!(
            d("zzzzzzzzzzz", IdFormat::Base62),
            Err(Error::IdTextOverflow)
        );
        assert_eq!(
            d("0000000000-", IdFormat::Base62),
            Err(Error::IdTextChar {
                format: "BASE62",
                pos: 11
            })
        );
    }

    #[test]
    fn crockford_aliases_and_case() {
        let none = Prefix::NONE;
        let one = decode(b"0000000000001", IdFormat::Base32, &none).unwrap();
        assert_eq!(one, 1);
        for t in [
            "000000000000I",
            "000000000000i",
            "000000000000L",
            "000000000000l",
        ] {
            assert_eq!(decode(t.as_bytes(), IdFormat::Base32, &none), Ok(1), "{t}");
        }
        assert_eq!(decode(b"oOoOoOoOoOoO1", IdFormat::Base32, &none), Ok(1));
        assert_eq!(decode(b"000000000000z", IdFormat::Base32, &none), Ok(31));
        // BASE62 is case-sensitive.
        assert_eq!(decode(b"0000000000a", IdFormat::Base62, &none), Ok(36));
        assert_eq!(decode(b"0000000000A", IdFormat::Base62, &none), Ok(10));
    }

    #[test]
    fn prefix_is_optional_and_never_eats_an_unprefixed_id() {
        let p = pre("AB");
        // An unprefixed base62 id that starts with the prefix's characters.
        let id = decode(b"AB000000001", IdFormat::Base62, &Prefix::NONE).unwrap();
        assert_eq!(decode(b"AB000000001", IdFormat::Base62, &p), Ok(id));
        assert_eq!(decode(b"ABAB000000001", IdFormat::Base62, &p), Ok(id));
        // The prefix is case-sensitive.
        assert!(decode(b"abAB000000001", IdFormat::Base62, &p).is_err());
        let form = TextForm::new(IdFormat::Base32, pre("ord_")).unwrap();
        let mut buf = [0u8; ENCODED_MAX];
        let n = form.encode(12345, &mut buf);
        assert_eq!(&buf[..n], b"ord_0000000000C1S");
        assert_eq!(form.decode(b"ord_0000000000c1s", None), Ok(12345));
        assert_eq!(form.decode(b"0000000000C1S", None), Ok(12345));
        assert_eq!(form.decode(b"ord_12345", Some(IdFormat::String)), Ok(12345));
        assert_eq!(form.decode(b"12345", Some(IdFormat::Int)), Ok(12345));
    }

    fn any_prefix() -> impl Strategy<Value = Prefix> {
        prop_oneof![
            1 => Just(Prefix::NONE),
            3 => "[A-Za-z][A-Za-z0-9_-]{0,15}".prop_map(|s| Prefix::parse(s.as_bytes()).unwrap()),
        ]
    }

    fn any_format() -> impl Strategy<Value = IdFormat> {
        prop::sample::select(IdFormat::ALL.to_vec())
    }

    fn any_id() -> impl Strategy<Value = i64> {
        prop_oneof![0i64..=i64::MAX, 0i64..100_000, Just(i64::MAX), Just(0)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Every id decodes back, with or without the prefix, and has the form's width.
        #[test]
        fn round_trip(id in any_id(), f in any_format(), p in any_prefix()) {
            let text = enc(id, f, &p);
            prop_assert!(text.starts_with(p.as_bytes()));
            let body = &text[p.as_bytes().len()..];
            match f.width() {
                Some(w) => prop_assert_eq!(body.len(), w),
                None => prop_assert_eq!(body, id.to_string().into_bytes()),
            }
            prop_assert_eq!(decode(&text, f, &p), Ok(id));
            prop_assert_eq!(decode(body, f, &p), Ok(id));
            prop_assert_eq!(decode(body, f, &Prefix::NONE), Ok(id));
            if f == IdFormat::Base32 {
                let lower = body.to_ascii_lowercase();
                prop_assert_eq!(decode(&lower, f, &p), Ok(id));
                let aliased: Vec<u8> = body.iter().map(|&c| match c { b'0' => b'o', b'1' => b'L', c => c }).collect();
                prop_assert_eq!(decode(&aliased, f, &Prefix::NONE), Ok(id));
            }
        }

        /// The fixed-width forms sort like the numbers, prefix or not.
        #[test]
        fn byte_order_is_numeric_order(a in any_id(), b in any_id(), p in any_prefix(),
                                       f in prop::sample::select(vec![IdFormat::Base32, IdFormat::Base62])) {
            prop_assert_eq!(enc(a, f, &p).cmp(&enc(b, f, &p)), a.cmp(&b));
        }

        /// Decoding arbitrary bytes never panics, and what it accepts encodes back to the
        /// same id (canonical text up to case, aliases and leading zeros).
        #[test]
        fn decode_any_bytes(text in prop::collection::vec(any::<u8>(), 0..40),
                            f in any_format(), p in any_prefix()) {
            if let Ok(id) = decode(&text, f, &p) {
                prop_assert!(id >= 0);
                prop_assert_eq!(decode(&enc(id, f, &p), f, &p), Ok(id));
            }
        }

        #[test]
        fn decode_alphabet_strings(text in "[0-9A-Za-z]{11,13}", f in any_format()) {
            match decode(text.as_bytes(), f, &Prefix::NONE) {
                Ok(id) => {
                    let back = enc(id, f, &Prefix::NONE);
                    if f == IdFormat::Base32 {
                        prop_assert_eq!(decode(&back, f, &Prefix::NONE), Ok(id));
                    } else if f == IdFormat::Base62 {
                        prop_assert_eq!(back, text.as_bytes());
                    }
                }
                Err(e) => {
                    let expected = matches!(e, Error::IdTextChar { .. } | Error::IdTextWidth { .. } | Error::IdTextOverflow);
                    prop_assert!(expected, "{:?}", e);
                }
            }
        }

        /// The prefix rule, against a plain restatement.
        #[test]
        fn prefix_rule(text in "[ -~]{0,18}") {
            let b = text.as_bytes();
            let expected = !b.is_empty() && b.len() <= 16 && b[0].is_ascii_alphabetic()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-');
            prop_assert_eq!(Prefix::parse(b).is_ok(), expected);
        }
    }
}
