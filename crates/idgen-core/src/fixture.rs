//! Test support: the cross-language known answers, `fixtures/vectors.json` at the repository root
//! (the Python and Node clients test against the same file).

use serde_json::Value;

/// The fixture file, parsed. Compiled in (`include_str!`), so a change to it rebuilds the tests.
pub fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../fixtures/vectors.json"))
        .expect("fixtures/vectors.json is JSON")
}

/// The entries of a top-level array of the fixture.
pub fn list<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v[name]
        .as_array()
        .unwrap_or_else(|| panic!("fixtures/vectors.json: no array {name:?}"))
}

/// Bytes from hex text (`"6f72"` -> `b"or"`).
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("hex {s:?}")))
        .collect()
}

/// A field of a vector as i64 / u64 / str, naming the field when it is missing.
pub fn int(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} of {v}"))
}

pub fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} of {v}"))
}
