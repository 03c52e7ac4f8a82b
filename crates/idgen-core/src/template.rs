//! Text templates of per-period sequences (`FORMAT template` of `SEQ.CREATE`, called TEMPLATE
//! here).
//!
//! # Templates
//!
//! Literal text with placeholders:
//!
//! | placeholder | renders                                             |
//! |-------------|-----------------------------------------------------|
//! | `{YYYY}`    | the period's year, 4 digits                         |
//! | `{YY}`      | the year's last 2 digits                            |
//! | `{MM}`      | month 01..12                                        |
//! | `{DD}`      | day of month 01..31                                 |
//! | `{hh}`      | hour 00..23                                         |
//! | `{seq}`     | the sequence value in decimal, no padding           |
//! | `{seq:N}`   | the value zero-padded to N digits, N 1..=19         |
//! | `{worker}`  | the serving node's worker id, decimal, no padding   |
//!
//! Names are case-sensitive (`{MM}` month; there is no minute placeholder). `{{` and `}}` write
//! literal braces. Literals are visible ASCII (`!`..`~`): no spaces, no control bytes, no
//! non-ASCII. Date fields are the period's start in local time.
//!
//! A template is parsed once (`Template::parse`) into segments and rendered per value into a
//! caller's reused `Vec` (`Template::render`, no allocation once the `Vec` has `max_len` bytes).
//!
//! ## What is refused, and why
//!
//! Every rule keeps two different (period, value) pairs of one key from rendering the same text:
//!
//! - **Syntax** (`parse`): a `{` without `}`, a `}` without `{`, a `{` inside a placeholder,
//!   an unknown placeholder, a character that is not visible ASCII, a source over 512 bytes.
//! - **Exactly one `{seq}`/`{seq:N}`** (`parse`): without it all values of a period render alike;
//!   two would only repeat it.
//! - **Unpadded numbers side by side** (`parse`): `{seq}` and `{worker}` have no fixed width, so
//!   between two of them there must be a literal character that is not a digit. Otherwise value
//!   12 on worker 3 and value 1 on worker 23 would both read `123` (after a failover, say).
//!   With that rule every text can be split back into its fields.
//! - **The template must name its PERIOD** (`validate`): values restart every period, so the
//!   text must tell periods apart: YEAR needs a year (`{YYYY}` or `{YY}`), MONTH a year and
//!   `{MM}`, DAY a year, `{MM}` and `{DD}`, HOUR those and `{hh}`.
//!   `{YY}` counts as a year: its texts repeat only after a century (2026 and 2126 render
//!   alike), which no key lives to see; the renderable calendar ends in 9999 anyway.
//! - **No placeholder finer than the PERIOD** (`validate`): `{hh}` with PERIOD DAY would always
//!   print `00` (the period's start), which reads like a time of issue and is not one.
//! - **No date placeholder without a PERIOD** (`validate`): the fields would be frozen or
//!   meaningless; a plain sequence may still use a template of literals, `{seq}` and `{worker}`.
//! - **`{seq:N}` at least as wide as MAXVALUE** (`validate`): a value with more digits than N
//!   would widen the field and break fixed-width reading (and sorting).
//! - **MINVALUE >= 0** (`validate`): a `-` sign inside a text breaks the split into fields.
//! - **At most 128 bytes** rendered (`validate`, counted with MAXVALUE's digits and 4 digits of
//!   worker id, the range of `idgen.worker-id`).
//!
//! A CYCLE sequence repeats its values by choice; the template cannot prevent that.
//!
//! Example: `ORD{YYYY}{MM}{DD}{seq:6}`, PERIOD DAY, UTC-OFFSET +08:00, value 123 on
//! 2026-11-30 local: `ORD20261130000123`.

use crate::error::{Error, Result};
use crate::period::{Period, PeriodFields};

/// The longest text a template may render.
pub const MAX_RENDERED_LEN: usize = 128;
/// The longest template source.
pub const MAX_SOURCE_LEN: usize = 512;
pub const MAX_SEQ_WIDTH: u8 = 19;
/// The largest worker id `{worker}` is sized for (`idgen.worker-id` is 0..=1023).
pub const MAX_WORKER: i64 = 1023;

/// Where `Template::render` writes.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A rendered text on the stack: `MAX_RENDERED_LEN` bytes, what an accepted template renders at
/// most. Bytes past the end are dropped (never reached: `validate` bounds the length).
pub struct TextBuf {
    buf: [u8; MAX_RENDERED_LEN],
    len: usize,
}

impl Default for TextBuf {
    fn default() -> Self {
        TextBuf {
            buf: [0; MAX_RENDERED_LEN],
            len: 0,
        }
    }
}

impl TextBuf {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Sink for TextBuf {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Seg {
    /// `lits[start..start + len]`.
    Lit {
        start: u8,
        len: u8,
    },
    Year4,
    Year2,
    Month,
    Day,
    Hour,
    /// Zero-padded width, 0 for none.
    Seq(u8),
    Worker,
}

impl Seg {
    fn name(self) -> &'static str {
        match self {
            Seg::Year4 => "{YYYY}",
            Seg::Year2 => "{YY}",
            Seg::Month => "{MM}",
            Seg::Day => "{DD}",
            Seg::Hour => "{hh}",
            Seg::Seq(_) => "{seq}",
            Seg::Worker => "{worker}",
            Seg::Lit { .. } => "",
        }
    }

    /// Whether the rendered width depends on the value.
    fn unpadded(self) -> bool {
        matches!(self, Seg::Seq(0) | Seg::Worker)
    }
}

/// A parsed TEMPLATE (rules in the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    /// The literal bytes of all `Lit` segments, unescaped.
    lits: Box<[u8]>,
    segs: Box<[Seg]>,
    /// The canonical source (`to_source`), kept for INFO, persistence and replication.
    source: Box<str>,
}

fn decimal_digits(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Appends `v` in decimal, zero-padded to `width` digits (a `-` first when negative).
#[inline]
fn push_decimal(out: &mut impl Sink, v: i64, width: usize) {
    // Digits right-aligned in one buffer, zero padding included, so that one `put` writes the
    // field (widths are at most 19, a u64 has at most 20 digits).
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        out.put(b"-");
    }
    let start = i.min(tmp.len().saturating_sub(width));
    out.put(&tmp[start..]);
}

impl Template {
    /// Parses and validates a TEMPLATE at CREATE.
    pub fn new(
        source: &[u8],
        period: Option<Period>,
        minvalue: i64,
        maxvalue: i64,
    ) -> Result<Template> {
        let t = Template::parse(source)?;
        t.validate(period, minvalue, maxvalue)?;
        Ok(t)
    }

    /// Parses the syntax and checks the rules that need nothing but the text: exactly one
    /// `{seq...}`, non-digit separators between unpadded numbers.
    pub fn parse(source: &[u8]) -> Result<Template> {
        if source.len() > MAX_SOURCE_LEN {
            return Err(Error::TemplateSyntax("is longer than 512 bytes"));
        }
        let mut lits = Vec::new();
        let mut segs = Vec::new();
        let mut lit_start = 0;
        let flush = |lits: &Vec<u8>, segs: &mut Vec<Seg>, lit_start: &mut usize| {
            if lits.len() > *lit_start {
                segs.push(Seg::Lit {
                    start: *lit_start as u8,
                    len: (lits.len() - *lit_start) as u8,
                });
                *lit_start = lits.len();
            }
        };
        let mut i = 0;
        while i < source.len() {
            let c = source[i];
            match c {
                b'{' if source.get(i + 1) == Some(&b'{') => {
                    lits.push(b'{');
                    i += 2;
                }
                b'}' if source.get(i + 1) == Some(&b'}') => {
                    lits.push(b'}');
                    i += 2;
                }
                b'{' => {
                    let Some(len) = source[i + 1..].iter().position(|&c| c == b'}') else {
                        return Err(Error::TemplateSyntax(
                            "has a '{' without its '}' (write '{{' for a literal '{')",
                        ));
                    };
                    let name = &source[i + 1..i + 1 + len];
                    if name.contains(&b'{') {
                        return Err(Error::TemplateSyntax(
                            "has a '{' inside a placeholder (write '{{' for a literal '{')",
                        ));
                    }
                    flush(&lits, &mut segs, &mut lit_start);
                    segs.push(Template::placeholder(name)?);
                    i += len + 2;
                }
                b'}' => {
                    return Err(Error::TemplateSyntax(
                        "has a '}' without its '{' (write '}}' for a literal '}')",
                    ))
                }
                b'!'..=b'~' => {
                    lits.push(c);
                    i += 1;
                }
                _ => {
                    return Err(Error::TemplateSyntax(
                        "may only hold visible ASCII characters (no spaces or control characters)",
                    ))
                }
            }
            if lits.len() > MAX_RENDERED_LEN {
                return Err(Error::TemplateTooLong(lits.len(), MAX_RENDERED_LEN));
            }
        }
        flush(&lits, &mut segs, &mut lit_start);
        let mut t = Template {
            lits: lits.into_boxed_slice(),
            segs: segs.into_boxed_slice(),
            source: Box::from(""),
        };
        t.source = t.to_source().into_boxed_str();
        if t.segs.iter().filter(|s| matches!(s, Seg::Seq(_))).count() != 1 {
            return Err(Error::TemplateSeqCount);
        }
        // Between two unpadded numbers, a literal non-digit must mark where the first ends.
        let mut open_number = false;
        for &s in t.segs.iter() {
            match s {
                Seg::Lit { .. } if t.lit(s).iter().any(|c| !c.is_ascii_digit()) => {
                    open_number = false
                }
                s if s.unpadded() => {
                    if open_number {
                        return Err(Error::TemplateAmbiguous);
                    }
                    open_number = true;
                }
                _ => {}
            }
        }
        Ok(t)
    }

    fn placeholder(name: &[u8]) -> Result<Seg> {
        Ok(match name {
            b"YYYY" => Seg::Year4,
            b"YY" => Seg::Year2,
            b"MM" => Seg::Month,
            b"DD" => Seg::Day,
            b"hh" => Seg::Hour,
            b"seq" => Seg::Seq(0),
            b"worker" => Seg::Worker,
            _ => match name.strip_prefix(b"seq:") {
                Some(n) => {
                    let width = match *n {
                        [d] if d.is_ascii_digit() => Some(d - b'0'),
                        [d1, d2] if d1.is_ascii_digit() && d2.is_ascii_digit() => {
                            Some((d1 - b'0') * 10 + (d2 - b'0'))
                        }
                        _ => None,
                    }
                    .filter(|w| (1..=MAX_SEQ_WIDTH).contains(w));
                    match width {
                        Some(w) => Seg::Seq(w),
                        None => {
                            return Err(Error::OutOfRange(
                                "FORMAT {seq:N} width",
                                1,
                                MAX_SEQ_WIDTH as i64,
                            ))
                        }
                    }
                }
                None => {
                    // Echoed in the reply: clipped, and visible ASCII only.
                    let shown = name
                        .iter()
                        .take(32)
                        .map(|&c| {
                            if (b'!'..=b'~').contains(&c) {
                                c as char
                            } else {
                                '?'
                            }
                        })
                        .collect();
                    return Err(Error::UnknownPlaceholder(shown));
                }
            },
        })
    }

    fn lit(&self, s: Seg) -> &[u8] {
        match s {
            Seg::Lit { start, len } => &self.lits[start as usize..start as usize + len as usize],
            _ => &[],
        }
    }

    fn has(&self, seg: Seg) -> bool {
        self.segs.contains(&seg)
    }

    /// Whether the template uses a date placeholder.
    pub fn has_date(&self) -> bool {
        self.segs.iter().any(|s| {
            matches!(
                s,
                Seg::Year4 | Seg::Year2 | Seg::Month | Seg::Day | Seg::Hour
            )
        })
    }

    pub fn has_worker(&self) -> bool {
        self.has(Seg::Worker)
    }

    /// The `{seq:N}` width, 0 for `{seq}`.
    pub fn seq_width(&self) -> u8 {
        self.segs
            .iter()
            .find_map(|s| match s {
                Seg::Seq(w) => Some(*w),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Checks the template against the sequence it renders: the PERIOD (or none), MINVALUE and
    /// MAXVALUE. Rules and reasons in the module docs.
    pub fn validate(&self, period: Option<Period>, minvalue: i64, maxvalue: i64) -> Result<()> {
        if minvalue < 0 {
            return Err(Error::TemplateNegative);
        }
        match period {
            None if self.has_date() => return Err(Error::TemplateNeedsPeriod),
            None => {}
            Some(p) => {
                let needs: &[(Seg, Period)] = &[
                    (Seg::Month, Period::Month),
                    (Seg::Day, Period::Day),
                    (Seg::Hour, Period::Hour),
                ];
                for &(seg, finest) in needs {
                    if self.has(seg) && p > finest {
                        return Err(Error::TemplateTooFine {
                            placeholder: seg.name(),
                            period: p.name(),
                        });
                    }
                }
                let has_year = self.has(Seg::Year4) || self.has(Seg::Year2);
                let complete = has_year && needs.iter().all(|&(seg, f)| p > f || self.has(seg));
                if !complete {
                    return Err(Error::TemplateMissesPeriod {
                        period: p.name(),
                        needs: match p {
                            Period::Year => "a year ({YYYY} or {YY})",
                            Period::Month => "a year ({YYYY} or {YY}) and {MM}",
                            Period::Day => "a year ({YYYY} or {YY}), {MM} and {DD}",
                            Period::Hour => "a year ({YYYY} or {YY}), {MM}, {DD} and {hh}",
                        },
                    });
                }
            }
        }
        let width = self.seq_width();
        if width > 0 && decimal_digits(maxvalue.max(0) as u64) > width as usize {
            return Err(Error::TemplateSeqWidth {
                width,
                max: maxvalue,
            });
        }
        let len = self.max_len(maxvalue);
        if len > MAX_RENDERED_LEN {
            return Err(Error::TemplateTooLong(len, MAX_RENDERED_LEN));
        }
        Ok(())
    }

    /// The longest text for values up to `maxvalue` (non-negative) and worker ids up to
    /// `MAX_WORKER`: size the render buffer with it.
    pub fn max_len(&self, maxvalue: i64) -> usize {
        let seq_digits = decimal_digits(maxvalue.max(0) as u64);
        self.segs
            .iter()
            .map(|&s| match s {
                Seg::Lit { len, .. } => len as usize,
                Seg::Year4 => 4,
                Seg::Year2 | Seg::Month | Seg::Day | Seg::Hour => 2,
                Seg::Seq(w) => seq_digits.max(w as usize),
                Seg::Worker => decimal_digits(MAX_WORKER as u64),
            })
            .sum()
    }

    /// Appends the text of `seq` in the period `fields` on `worker` to `out`: a `TextBuf` on the
    /// stack (no allocation), or a `Vec` (allocates only when it has less than `max_len` spare
    /// capacity).
    #[inline]
    pub fn render(&self, fields: &PeriodFields, seq: i64, worker: i64, out: &mut impl Sink) {
        for &s in self.segs.iter() {
            match s {
                Seg::Lit { .. } => out.put(self.lit(s)),
                Seg::Year4 => push_decimal(out, fields.year(), 4),
                Seg::Year2 => push_decimal(out, fields.year() % 100, 2),
                Seg::Month => push_decimal(out, fields.month() as i64, 2),
                Seg::Day => push_decimal(out, fields.day() as i64, 2),
                Seg::Hour => push_decimal(out, fields.hour() as i64, 2),
                Seg::Seq(w) => push_decimal(out, seq, w as usize),
                Seg::Worker => push_decimal(out, worker, 0),
            }
        }
    }

    /// The canonical source text, as `to_source` builds it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The canonical source text: `parse(to_source())` gives the same template. For INFO and
    /// persistence.
    pub fn to_source(&self) -> String {
        let mut s = String::new();
        for &seg in self.segs.iter() {
            match seg {
                Seg::Lit { .. } => {
                    for &c in self.lit(seg) {
                        match c {
                            b'{' => s.push_str("{{"),
                            b'}' => s.push_str("}}"),
                            c => s.push(c as char),
                        }
                    }
                }
                Seg::Seq(w) if w > 0 => s.push_str(&format!("{{seq:{w}}}")),
                seg => s.push_str(seg.name()),
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::test_support::*;
    use crate::period::*;
    use proptest::prelude::*;

    fn render(t: &Template, f: &PeriodFields, seq: i64, worker: i64) -> String {
        let mut out = Vec::with_capacity(t.max_len(i64::MAX));
        t.render(f, seq, worker, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn any_period() -> impl Strategy<Value = Period> {
        prop::sample::select(Period::ALL.to_vec())
    }

    /// A template that passes `validate` for `period` in most cases, with random literals
    /// (digits included), optional `{worker}` and `{YY}` instead of `{YYYY}`.
    fn any_template() -> impl Strategy<Value = (Option<Period>, i64, String)> {
        (
            prop::option::weighted(0.85, any_period()),
            prop::collection::vec("[0-9A-Z_{}-]{0,3}", 8),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(1u8..=19),
            prop_oneof![
                Just(9i64),
                Just(999_999),
                Just(i64::MAX),
                1i64..1_000_000_000
            ],
            any::<u64>(),
        )
            .prop_map(|(period, lits, yy, worker, width, max, order)| {
                let esc = |s: &str| s.replace('{', "{{").replace('}', "}}");
                let mut parts: Vec<String> = Vec::new();
                if let Some(p) = period {
                    parts.push(if yy { "{YY}".into() } else { "{YYYY}".into() });
                    if p <= Period::Month {
                        parts.push("{MM}".into());
                    }
                    if p <= Period::Day {
                        parts.push("{DD}".into());
                    }
                    if p == Period::Hour {
                        parts.push("{hh}".into());
                    }
                }
                parts.push(match width {
                    Some(w) => format!("{{seq:{w}}}"),
                    None => "{seq}".into(),
                });
                if worker {
                    parts.push("{worker}".into());
                }
                // Shuffle deterministically from `order`.
                let mut o = order;
                for i in (1..parts.len()).rev() {
                    parts.swap(i, (o % (i as u64 + 1)) as usize);
                    o /= i as u64 + 1;
                }
                let mut src = String::new();
                for (i, p) in parts.iter().enumerate() {
                    src.push_str(&esc(&lits[i]));
                    src.push_str(p);
                }
                src.push_str(&esc(&lits[7]));
                (period, max, src)
            })
    }

    #[test]
    fn the_issue_example() {
        let t = Template::new(b"ORD{YYYY}{MM}{DD}{seq:6}", Some(Period::Day), 1, 999_999).unwrap();
        let o = off("+08:00");
        // 2026-11-30 local starts at 2026-11-29T16:00Z.
        for now in [
            local_ms(2026, 11, 30, 0, o),
            local_ms(2026, 11, 30, 12, o),
            local_ms(2026, 12, 1, 0, o) - 1,
        ] {
            let i = period_index(now, Period::Day, o);
            let f = period_fields(i, Period::Day).unwrap();
            assert_eq!(render(&t, &f, 123, 0), "ORD20261130000123");
        }
        let i = period_index(local_ms(2026, 11, 30, 0, o), Period::Day, o);
        assert_eq!(
            period_start_ms(i, Period::Day, o),
            1_795_996_800_000 - 8 * HOUR_MS
        );
        let before = period_index(local_ms(2026, 11, 30, 0, o) - 1, Period::Day, o);
        let f = period_fields(before, Period::Day).unwrap();
        assert_eq!(render(&t, &f, 7, 0), "ORD20261129000007");
        assert_eq!(t.max_len(999_999), 17);
        assert_eq!(
            period_exhausted(999_999, i, Period::Day, o).to_string(),
            "ERR sequence exhausted: MAXVALUE 999999 reached in this period; the next period starts at 2026-12-01T00:00:00+08:00"
        );
    }

    #[test]
    fn render_every_placeholder() {
        let t = Template::new(
            b"{{x}}-{YYYY}/{YY}/{MM}/{DD}T{hh}-{seq}-w{worker}",
            Some(Period::Hour),
            0,
            i64::MAX,
        )
        .unwrap();
        let i = period_index(
            local_ms(2009, 2, 3, 4, UtcOffset::UTC),
            Period::Hour,
            UtcOffset::UTC,
        );
        let f = period_fields(i, Period::Hour).unwrap();
        assert_eq!((f.year(), f.month(), f.day(), f.hour()), (2009, 2, 3, 4));
        assert_eq!(render(&t, &f, 0, 7), "{x}-2009/09/02/03T04-0-w7");
        assert_eq!(
            render(&t, &f, i64::MAX, 1023),
            "{x}-2009/09/02/03T04-9223372036854775807-w1023"
        );
        assert_eq!(
            t.max_len(i64::MAX),
            "{x}-2009/09/02/03T04-9223372036854775807-w1023".len()
        );
        assert_eq!(
            t.to_source(),
            "{{x}}-{YYYY}/{YY}/{MM}/{DD}T{hh}-{seq}-w{worker}"
        );
        let plain = Template::new(b"INV-{seq:19}", None, 0, i64::MAX).unwrap();
        assert_eq!(
            render(&plain, &PeriodFields::default(), 42, 0),
            "INV-0000000000000000042"
        );
        assert_eq!(plain.seq_width(), 19);
        // Rendering appends.
        let mut out = b"a".to_vec();
        plain.render(&PeriodFields::default(), 1, 0, &mut out);
        assert_eq!(out, b"aINV-0000000000000000001");
    }

    fn refused(src: &str, period: Option<Period>, min: i64, max: i64) -> Error {
        Template::new(src.as_bytes(), period, min, max).unwrap_err()
    }

    #[test]
    fn template_syntax_errors() {
        let d = Some(Period::Day);
        let day = "{YYYY}{MM}{DD}";
        assert!(matches!(
            refused("A{YYYY{MM}{DD}{seq}", d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert!(matches!(
            refused(&[day, "{{seq}"].concat(), d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert!(matches!(
            refused(&[day, "{seq}{"].concat(), d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert!(matches!(
            refused(&[day, "}}{seq}}"].concat(), d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert!(matches!(
            refused(&[day, " {seq}"].concat(), d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert!(matches!(
            refused(&[day, "\n{seq}"].concat(), d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert!(matches!(
            refused(&[day, "é{seq}"].concat(), d, 1, 9),
            Error::TemplateSyntax(_)
        ));
        let escaped = Template::new(b"{YYYY}{MM}{DD}{{mm}}{seq}", d, 1, 9).unwrap();
        let f = period_fields(0, Period::Day).unwrap();
        assert_eq!(
            render(&escaped, &f, 5, 0),
            "19700101{mm}5",
            "escaped braces are literals"
        );
        assert_eq!(
            refused(&[day, "{mm}{seq}"].concat(), d, 1, 9),
            Error::UnknownPlaceholder("mm".into())
        );
        assert_eq!(
            refused(&[day, "{}{seq}"].concat(), d, 1, 9),
            Error::UnknownPlaceholder("".into())
        );
        assert_eq!(
            refused("{a\u{1}b\r\n}", d, 1, 9),
            Error::UnknownPlaceholder("a?b??".into())
        );
        for w in ["0", "20", "", "x", "006", "-1", "+5"] {
            assert_eq!(
                refused(&[day, "{seq:", w, "}"].concat(), d, 1, 9),
                Error::OutOfRange("FORMAT {seq:N} width", 1, 19),
                "{w}"
            );
        }
        assert_eq!(refused("", None, 1, 9), Error::TemplateSeqCount);
        assert_eq!(refused("ABC", None, 1, 9), Error::TemplateSeqCount);
        assert_eq!(refused("{seq}{seq:3}", None, 1, 9), Error::TemplateSeqCount);
        assert!(matches!(
            refused(&"x".repeat(513), None, 1, 9),
            Error::TemplateSyntax(_)
        ));
        assert_eq!(
            refused(&format!("{}{{seq}}", "x".repeat(129)), None, 1, 9),
            Error::TemplateTooLong(129, 128)
        );
        assert_eq!(Template::parse(b"{seq:06}").unwrap().to_source(), "{seq:6}");
    }

    #[test]
    fn template_uniqueness_rules() {
        use Period::*;
        // Unpadded numbers need a non-digit between them.
        assert_eq!(
            refused("{seq}{worker}", None, 1, 9),
            Error::TemplateAmbiguous
        );
        assert_eq!(
            refused("{worker}7{seq}", None, 1, 9),
            Error::TemplateAmbiguous
        );
        assert_eq!(
            refused("{seq}{MM}{worker}", Some(Month), 1, 9),
            Error::TemplateAmbiguous
        );
        assert!(Template::new(b"{worker}-{seq}", None, 1, 9).is_ok());
        assert!(Template::new(b"{worker}{seq:3}", None, 1, 999).is_ok());
        assert!(Template::new(b"{seq}{YYYY}{MM}", Some(Month), 1, 9).is_ok());
        // The template must name the period.
        assert_eq!(
            refused("{YYYY}{MM}{seq}", Some(Day), 1, 9),
            Error::TemplateMissesPeriod {
                period: "DAY",
                needs: "a year ({YYYY} or {YY}), {MM} and {DD}"
            }
        );
        assert!(matches!(
            refused("{MM}{DD}{seq}", Some(Day), 1, 9),
            Error::TemplateMissesPeriod { .. }
        ));
        assert!(matches!(
            refused("{seq}", Some(Year), 1, 9),
            Error::TemplateMissesPeriod { .. }
        ));
        assert!(matches!(
            refused("{YYYY}{MM}{DD}{seq}", Some(Hour), 1, 9),
            Error::TemplateMissesPeriod { .. }
        ));
        assert!(matches!(
            refused("{YYYY}{seq}", Some(Month), 1, 9),
            Error::TemplateMissesPeriod { .. }
        ));
        assert!(Template::new(b"{YY}{seq}", Some(Year), 1, 9).is_ok());
        assert!(Template::new(b"{YY}{MM}{DD}{hh}{seq}", Some(Hour), 1, 9).is_ok());
        // Nothing finer than the period.
        assert_eq!(
            refused("{YYYY}{MM}{DD}{hh}{seq}", Some(Day), 1, 9),
            Error::TemplateTooFine {
                placeholder: "{hh}",
                period: "DAY"
            }
        );
        assert!(matches!(
            refused("{YYYY}{MM}{DD}{seq}", Some(Month), 1, 9),
            Error::TemplateTooFine { .. }
        ));
        assert!(matches!(
            refused("{YYYY}{MM}{seq}", Some(Year), 1, 9),
            Error::TemplateTooFine { .. }
        ));
        // No dates without a period.
        assert_eq!(
            refused("{YYYY}{seq}", None, 1, 9),
            Error::TemplateNeedsPeriod
        );
        // Widths and signs.
        assert_eq!(
            refused("{YYYY}{seq:6}", Some(Year), 1, 1_000_000),
            Error::TemplateSeqWidth {
                width: 6,
                max: 1_000_000
            }
        );
        assert!(Template::new(b"{YYYY}{seq:6}", Some(Year), 1, 999_999).is_ok());
        assert!(Template::new(b"{seq:19}", None, 1, i64::MAX).is_ok());
        assert!(Template::new(b"{seq:19}", None, 0, i64::MAX).is_ok());
        assert_eq!(refused("{seq}", None, -1, 9), Error::TemplateNegative);
        // Length, with MAXVALUE's digits and a 4-digit worker.
        let long = format!("{}-{{worker}}-{{seq}}", "x".repeat(100));
        assert_eq!(long.len() - "{worker}{seq}".len() + 4 + 19, 125);
        assert!(Template::new(long.as_bytes(), None, 0, i64::MAX).is_ok());
        let longer = format!("{}-{{worker}}-{{seq}}", "x".repeat(104));
        assert_eq!(
            refused(&longer, None, 0, i64::MAX),
            Error::TemplateTooLong(129, 128)
        );
        assert!(Template::new(longer.as_bytes(), None, 0, 999).is_ok());
    }

    /// The century repeat `{YY}` is accepted with.
    #[test]
    fn yy_repeats_after_a_century() {
        let t = Template::new(b"{YY}-{seq}", Some(Period::Year), 1, 9).unwrap();
        let a = period_fields(2026 - 1970, Period::Year).unwrap();
        let b = period_fields(2126 - 1970, Period::Year).unwrap();
        assert_eq!(render(&t, &a, 1, 0), render(&t, &b, 1, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Parsing arbitrary text never panics; what parses prints back to the same template.
        #[test]
        fn parse_any_text(src in prop_oneof!["[ -~]{0,40}", "[{}a-zA-Z:0-9]{0,30}"]) {
            if let Ok(t) = Template::parse(src.as_bytes()) {
                prop_assert_eq!(Template::parse(t.to_source().as_bytes()), Ok(t));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        /// An accepted template never renders two (period, value) pairs alike, whatever the
        /// workers, within a century (the `{YY}` limit): every text of small values on a few
        /// workers in two periods is searched for a repeat. Texts fit `max_len`.
        #[test]
        fn accepted_templates_are_injective((period, max, src) in any_template(),
                                            da in 0i64..36_000,
                                            delta in prop_oneof![Just(0i64), 1i64..=2, 27i64..=32, 364i64..=367, 0i64..36_000],
                                            ha in 0i64..24, hb in 0i64..24,
                                            base in prop_oneof![Just(0u64), any::<u64>()]) {
            let t = match Template::new(src.as_bytes(), period, 0, max) {
                Ok(t) => t,
                Err(e) => {
                    // The generated templates break only the width or ambiguity rules.
                    let expected = matches!(e, Error::TemplateAmbiguous | Error::TemplateSeqWidth { .. });
                    prop_assert!(expected, "{}: {}", src, e);
                    return Ok(());
                }
            };
            prop_assert_eq!(Template::parse(t.to_source().as_bytes()), Ok(t.clone()));
            prop_assert!(t.max_len(max) <= MAX_RENDERED_LEN);
            let at = |days: i64, h: i64| days * DAY_MS + h * HOUR_MS;
            // Within 36,500 days (under a century: `{YY}` repeats after one).
            let db = (da + delta) % 36_500;
            let indexes = match period {
                Some(p) => [period_index(at(da, ha), p, UtcOffset::UTC), period_index(at(db, hb), p, UtcOffset::UTC)],
                None => [0, 0],
            };
            let first = (base % (max as u64 + 1)) as i64;
            let mut seen = std::collections::HashMap::new();
            let mut out = Vec::with_capacity(t.max_len(max));
            for i in indexes {
                let f = period.map_or(PeriodFields::default(), |p| period_fields(i, p).unwrap());
                for v in (first..=max).take(120) {
                    for w in [0, 1, 2, 3, 10, 11, 12, 23, 100, 123, 999, 1023] {
                        out.clear();
                        t.render(&f, v, w, &mut out);
                        prop_assert!(out.len() <= t.max_len(max));
                        if let Some(&(i0, v0)) = seen.get(&out) {
                            prop_assert_eq!((i0, v0), (i, v), "{} repeats {}", src, String::from_utf8_lossy(&out));
                        }
                        seen.insert(out.clone(), (i, v));
                    }
                }
            }
        }
    }
}
