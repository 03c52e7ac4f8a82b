//! Per-period sequences (`PERIOD`, `UTC-OFFSET`) and their text templates (`FORMAT template` of
//! `SEQ.CREATE`, called TEMPLATE here).
//!
//! Pure logic: the clock is an argument, the calendar is computed here (proleptic Gregorian,
//! no time zone database, no leap seconds).
//!
//! # Periods
//!
//! A period is an hour, a day, a month or a year of local time at a fixed UTC offset
//! (`+hh:mm`/`-hh:mm`, -14:00..=+14:00; no daylight saving: the offset never changes). A period
//! is named by its **index**, counted from the period holding local 1970-01-01T00:00: hours,
//! days, months or years since then. Indexes grow with time, so comparing indexes compares
//! periods.
//!
//! A per-period sequence restarts at START when the index advances, and never goes back to an
//! older period: a clock stepped back keeps issuing in the newer period (see
//! `effective_period`). Its values are unique within a period, and a template that names the
//! period makes its texts unique across periods.
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

use std::fmt;

use crate::error::{Error, Result};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// The calendar a template renders: local years 1970..=9999.
pub const FIRST_YEAR: i64 = 1970;
pub const LAST_YEAR: i64 = 9999;
/// Days from 1970-01-01 to 9999-12-31.
const LAST_DAY: i64 = 2_932_896;

/// The length of a period. Ordered finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    Hour,
    Day,
    Month,
    Year,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Hour, Period::Day, Period::Month, Period::Year];

    /// Parses a PERIOD option word, case-insensitively.
    pub fn parse(word: &[u8]) -> Result<Period> {
        Period::ALL
            .into_iter()
            .find(|p| word.eq_ignore_ascii_case(p.name().as_bytes()))
            .ok_or(Error::UnknownPeriod)
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "HOUR",
            Period::Day => "DAY",
            Period::Month => "MONTH",
            Period::Year => "YEAR",
        }
    }

    /// The indexes whose periods lie in the renderable calendar (local 1970..=9999).
    pub fn calendar_indexes(self) -> (i64, i64) {
        let last = match self {
            Period::Hour => (LAST_DAY + 1) * 24 - 1,
            Period::Day => LAST_DAY,
            Period::Month => (LAST_YEAR - FIRST_YEAR) * 12 + 11,
            Period::Year => LAST_YEAR - FIRST_YEAR,
        };
        (0, last)
    }
}

/// A fixed UTC offset in minutes, -14:00..=+14:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct UtcOffset {
    minutes: i16,
}

impl UtcOffset {
    pub const UTC: UtcOffset = UtcOffset { minutes: 0 };
    pub const MAX_MINUTES: i16 = 14 * 60;

    pub fn from_minutes(minutes: i32) -> Result<UtcOffset> {
        if minutes.abs() > UtcOffset::MAX_MINUTES as i32 {
            return Err(Error::BadUtcOffset);
        }
        Ok(UtcOffset {
            minutes: minutes as i16,
        })
    }

    /// Parses exactly `+hh:mm` or `-hh:mm` (minutes 00..59, at most 14:00 either way).
    pub fn parse(text: &[u8]) -> Result<UtcOffset> {
        let &[sign, h1, h2, b':', m1, m2] = text else {
            return Err(Error::BadUtcOffset);
        };
        let digit = |c: u8| {
            if c.is_ascii_digit() {
                Ok((c - b'0') as i32)
            } else {
                Err(Error::BadUtcOffset)
            }
        };
        let (h, m) = (digit(h1)? * 10 + digit(h2)?, digit(m1)? * 10 + digit(m2)?);
        if m > 59 {
            return Err(Error::BadUtcOffset);
        }
        let minutes = h * 60 + m;
        match sign {
            b'+' => UtcOffset::from_minutes(minutes),
            b'-' => UtcOffset::from_minutes(-minutes),
            _ => Err(Error::BadUtcOffset),
        }
    }

    pub fn minutes(self) -> i16 {
        self.minutes
    }

    pub fn ms(self) -> i64 {
        self.minutes as i64 * 60_000
    }
}

/// `+hh:mm` / `-hh:mm`; UTC is `+00:00`.
impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------------------------

pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days in a 400-year cycle of the Gregorian calendar (which repeats every 400 years).
const DAYS_PER_400_YEARS: i64 = 146_097;
/// Days from 0000-03-01 to 1970-01-01.
const DAYS_0000_03_01_TO_EPOCH: i64 = 719_468;

/// Days since 1970-01-01 of a date (month 1..=12, day 1..=31), saturating far outside any
/// clock's range.
///
/// Years are counted from March 1, so that February (with the leap day) ends the counted year
/// and a month's first day follows from its index alone.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (y, m) = if month <= 2 {
        (year as i128 - 1, month as i128 + 9)
    } else {
        (year as i128, month as i128 - 3)
    };
    let cycle = y.div_euclid(400);
    let year_of_cycle = y.rem_euclid(400);
    // Months from March have 31,30,31,30,31 days in a repeating 153-day run of 5 months.
    let day_of_year = (153 * m + 2) / 5 + day as i128 - 1;
    let day_of_cycle = year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    let days = cycle * DAYS_PER_400_YEARS as i128 + day_of_cycle - DAYS_0000_03_01_TO_EPOCH as i128;
    days.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The date `(year, month, day)` of a day count since 1970-01-01 (exact for every day a unix
/// ms can name).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(DAYS_0000_03_01_TO_EPOCH);
    let cycle = z.div_euclid(DAYS_PER_400_YEARS);
    let day_of_cycle = z.rem_euclid(DAYS_PER_400_YEARS);
    // Remove the leap days before this day in the cycle (every 4th year, not the 100th, but
    // the 400th, which is the cycle's last day), then count 365-day years.
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524
        - day_of_cycle / 146_096)
        / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let (month, next_year) = if month_from_march < 10 {
        (month_from_march + 3, 0)
    } else {
        (month_from_march - 9, 1)
    };
    (
        cycle.saturating_mul(400) + year_of_cycle + next_year,
        month as u32,
        day as u32,
    )
}

/// `YYYY-MM-DDThh:mm:ss+hh:mm` of a unix ms in local time (`.mmm` when not a whole second);
/// for messages.
pub fn format_local(unix_ms: i64, offset: UtcOffset) -> String {
    let local = unix_ms.saturating_add(offset.ms());
    let (y, mo, d) = civil_from_days(local.div_euclid(DAY_MS));
    let t = local.rem_euclid(DAY_MS);
    let (h, mi, s, ms) = (t / HOUR_MS, t / 60_000 % 60, t / 1000 % 60, t % 1000);
    let frac = if ms == 0 {
        String::new()
    } else {
        format!(".{ms:03}")
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{offset}")
}

// ---------------------------------------------------------------------------------------------
// Period indexes
// ---------------------------------------------------------------------------------------------

/// The index of the period holding `now_ms` (unix ms): periods since the one holding local
/// 1970-01-01T00:00. Non-decreasing in `now_ms`; negative before 1970.
pub fn period_index(now_ms: i64, period: Period, offset: UtcOffset) -> i64 {
    let local = now_ms.saturating_add(offset.ms());
    match period {
        Period::Hour => local.div_euclid(HOUR_MS),
        Period::Day => local.div_euclid(DAY_MS),
        Period::Month => {
            let (y, m, _) = civil_from_days(local.div_euclid(DAY_MS));
            (y - FIRST_YEAR) * 12 + m as i64 - 1
        }
        Period::Year => civil_from_days(local.div_euclid(DAY_MS)).0 - FIRST_YEAR,
    }
}

/// The first unix ms of period `index` (saturating far outside any clock's range).
pub fn period_start_ms(index: i64, period: Period, offset: UtcOffset) -> i64 {
    // Years beyond the i64 ms range saturate anyway; bounding them keeps the day count exact.
    const YEAR_BOUND: i64 = 400_000_000;
    let start_of = |year: i64, month: u32| {
        days_from_civil(year.clamp(-YEAR_BOUND, YEAR_BOUND), month, 1) as i128 * DAY_MS as i128
    };
    let local: i128 = match period {
        Period::Hour => index as i128 * HOUR_MS as i128,
        Period::Day => index as i128 * DAY_MS as i128,
        Period::Month => start_of(
            FIRST_YEAR.saturating_add(index.div_euclid(12)),
            index.rem_euclid(12) as u32 + 1,
        ),
        Period::Year => start_of(FIRST_YEAR.saturating_add(index), 1),
    };
    (local - offset.ms() as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// When the period after `index` starts (for "exhausted until ..." messages).
pub fn next_period_start_ms(index: i64, period: Period, offset: UtcOffset) -> i64 {
    period_start_ms(index.saturating_add(1), period, offset)
}

/// The refusal of a per-period sequence that reached MAXVALUE in period `index`.
pub fn period_exhausted(max: i64, index: i64, period: Period, offset: UtcOffset) -> Error {
    Error::PeriodExhausted {
        max,
        next: format_local(next_period_start_ms(index, period, offset), offset),
    }
}

/// The period a per-period sequence issues in, given the period it last issued in (`stored`)
/// and the clock's (`now`): `(index, restarted)`.
///
/// - `now > stored`: a new period; the value restarts at START (`restarted`), and the new index
///   must be stored and replicated with the restarted position before anything is issued.
/// - `now <= stored`: the same period, or a clock stepped back: the sequence stays in the newer
///   period it already issued in and continues its values there. A period never moves back, so
///   no (period, value) pair is issued twice, at the price of texts that carry the newer
///   period's date until the clock catches up.
pub fn effective_period(stored_index: i64, now_index: i64) -> (i64, bool) {
    if now_index > stored_index {
        (now_index, true)
    } else {
        (stored_index, false)
    }
}

/// The calendar fields of a period's start, in local time, for rendering. Fields finer than the
/// period are at their first value (month 1, day 1, hour 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodFields {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
}

/// 1970-01-01 00h, for templates without date placeholders.
impl Default for PeriodFields {
    fn default() -> Self {
        PeriodFields {
            year: FIRST_YEAR as u16,
            month: 1,
            day: 1,
            hour: 0,
        }
    }
}

impl PeriodFields {
    pub fn year(&self) -> i64 {
        self.year as i64
    }
    pub fn month(&self) -> u32 {
        self.month as u32
    }
    pub fn day(&self) -> u32 {
        self.day as u32
    }
    pub fn hour(&self) -> u32 {
        self.hour as u32
    }
}

/// The fields of period `index`; `OutsideCalendar` (a refusal) outside local years 1970..=9999.
pub fn period_fields(index: i64, period: Period) -> Result<PeriodFields> {
    let (lo, hi) = period.calendar_indexes();
    if index < lo || index > hi {
        return Err(Error::OutsideCalendar);
    }
    let (year, month, day, hour) = match period {
        Period::Hour => {
            let (y, m, d) = civil_from_days(index / 24);
            (y, m, d, index % 24)
        }
        Period::Day => {
            let (y, m, d) = civil_from_days(index);
            (y, m, d, 0)
        }
        Period::Month => (FIRST_YEAR + index / 12, (index % 12) as u32 + 1, 1, 0),
        Period::Year => (FIRST_YEAR + index, 1, 1, 0),
    };
    Ok(PeriodFields {
        year: year as u16,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
    })
}

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

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
                Seg::Year4 => push_decimal(out, fields.year as i64, 4),
                Seg::Year2 => push_decimal(out, fields.year as i64 % 100, 2),
                Seg::Month => push_decimal(out, fields.month as i64, 2),
                Seg::Day => push_decimal(out, fields.day as i64, 2),
                Seg::Hour => push_decimal(out, fields.hour as i64, 2),
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
    use proptest::prelude::*;

    const MONTHS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

    fn off(s: &str) -> UtcOffset {
        UtcOffset::parse(s.as_bytes()).unwrap()
    }

    /// Unix ms of a local time at an offset.
    fn local_ms(y: i64, mo: u32, d: u32, h: i64, offset: UtcOffset) -> i64 {
        days_from_civil(y, mo, d) * DAY_MS + h * HOUR_MS - offset.ms()
    }

    fn render(t: &Template, f: &PeriodFields, seq: i64, worker: i64) -> String {
        let mut out = Vec::with_capacity(t.max_len(i64::MAX));
        t.render(f, seq, worker, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn words_and_offsets() {
        assert_eq!(Period::parse(b"day"), Ok(Period::Day));
        assert_eq!(Period::parse(b"HOUR"), Ok(Period::Hour));
        assert_eq!(Period::parse(b"Month"), Ok(Period::Month));
        assert_eq!(Period::parse(b"year"), Ok(Period::Year));
        assert_eq!(Period::parse(b"week"), Err(Error::UnknownPeriod));
        assert!(Period::Hour < Period::Day && Period::Month < Period::Year);

        assert_eq!(off("+08:00").minutes(), 480);
        assert_eq!(off("-05:30").minutes(), -330);
        assert_eq!(off("+14:00").minutes(), 840);
        assert_eq!(off("-14:00").minutes(), -840);
        assert_eq!(off("-00:00"), UtcOffset::UTC);
        assert_eq!(off("+05:45").to_string(), "+05:45");
        assert_eq!(off("-09:30").to_string(), "-09:30");
        assert_eq!(UtcOffset::UTC.to_string(), "+00:00");
        for bad in [
            "", "Z", "+8:00", "+08", "+0800", "08:00", "+14:01", "-15:00", "+08:60", "+08:0a",
            "*08:00", "+08:00 ", "+99:00",
        ] {
            assert_eq!(
                UtcOffset::parse(bad.as_bytes()),
                Err(Error::BadUtcOffset),
                "{bad}"
            );
        }
        assert_eq!(UtcOffset::from_minutes(841), Err(Error::BadUtcOffset));
    }

    #[test]
    fn calendar_constants() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(9999, 12, 31), LAST_DAY);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
        assert_eq!(
            days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28),
            1
        );
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        // The extremes a unix ms can name convert without panicking, and saturate beyond.
        for ms in [i64::MIN, i64::MAX] {
            let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
            assert_eq!(days_from_civil(y, m, d), ms.div_euclid(DAY_MS));
        }
        assert_eq!(days_from_civil(i64::MAX, 12, 31), i64::MAX);
        assert_eq!(days_from_civil(i64::MIN, 1, 1), i64::MIN);
        let _ = civil_from_days(i64::MAX);
        let _ = civil_from_days(i64::MIN);
        assert_eq!(
            format_local(1_796_054_400_000, off("+08:00")),
            "2026-12-01T00:00:00+08:00"
        );
        assert_eq!(
            format_local(-1, UtcOffset::UTC),
            "1969-12-31T23:59:59.999+00:00"
        );
    }

    /// Every day of 1970..=9999 against a plain day-by-day count.
    #[test]
    fn calendar_exhaustive() {
        let mut days = 0i64;
        for y in FIRST_YEAR..=LAST_YEAR {
            for (i, &len) in MONTHS.iter().enumerate() {
                let m = i as u32 + 1;
                let len = if m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
                    29
                } else {
                    len
                };
                assert_eq!(days_in_month(y, m), len);
                for d in 1..=len {
                    assert_eq!(civil_from_days(days), (y, m, d));
                    assert_eq!(days_from_civil(y, m, d), days);
                    days += 1;
                }
            }
        }
        assert_eq!(days - 1, LAST_DAY);
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

    #[test]
    fn fields_of_coarse_periods_are_period_starts() {
        let o = off("-03:00");
        let now = local_ms(2031, 7, 19, 22, o);
        let f = period_fields(period_index(now, Period::Month, o), Period::Month).unwrap();
        assert_eq!((f.year(), f.month(), f.day(), f.hour()), (2031, 7, 1, 0));
        let f = period_fields(period_index(now, Period::Year, o), Period::Year).unwrap();
        assert_eq!((f.year(), f.month(), f.day(), f.hour()), (2031, 1, 1, 0));
        // Local 22:00 on 07-31 at -03:00 is already August in UTC; the local month counts.
        let late = local_ms(2031, 7, 31, 22, o);
        let f = period_fields(period_index(late, Period::Month, o), Period::Month).unwrap();
        assert_eq!(f.month(), 7);
        assert_eq!(
            period_fields(
                period_index(late, Period::Month, UtcOffset::UTC),
                Period::Month
            )
            .unwrap()
            .month(),
            8
        );
    }

    #[test]
    fn calendar_limits() {
        for p in Period::ALL {
            let (lo, hi) = p.calendar_indexes();
            let first = period_fields(lo, p).unwrap();
            assert_eq!(
                (first.year(), first.month(), first.day(), first.hour()),
                (1970, 1, 1, 0)
            );
            let last = period_fields(hi, p).unwrap();
            assert_eq!(last.year(), 9999);
            assert_eq!(period_fields(lo - 1, p), Err(Error::OutsideCalendar));
            assert_eq!(period_fields(hi + 1, p), Err(Error::OutsideCalendar));
            assert_eq!(period_fields(i64::MAX, p), Err(Error::OutsideCalendar));
            assert_eq!(period_fields(i64::MIN, p), Err(Error::OutsideCalendar));
            // The last period ends at local 10000-01-01.
            assert_eq!(
                next_period_start_ms(hi, p, UtcOffset::UTC),
                days_from_civil(10_000, 1, 1) * DAY_MS
            );
            // Extreme clocks and indexes never panic.
            for now in [i64::MIN, i64::MAX, 0, -1] {
                for o in [off("-14:00"), off("+14:00")] {
                    let i = period_index(now, p, o);
                    let _ = period_start_ms(i, p, o);
                    let _ = next_period_start_ms(i, p, o);
                }
            }
            for i in [i64::MIN, i64::MAX] {
                let _ = period_start_ms(i, p, off("+14:00"));
                let _ = period_exhausted(1, i, p, off("-14:00")).to_string();
            }
        }
    }

    #[test]
    fn effective_period_never_goes_back() {
        assert_eq!(effective_period(10, 10), (10, false));
        assert_eq!(effective_period(10, 11), (11, true));
        assert_eq!(effective_period(10, 13), (13, true));
        assert_eq!(
            effective_period(10, 9),
            (10, false),
            "a clock stepped back keeps the newer period"
        );
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

    fn any_offset() -> impl Strategy<Value = UtcOffset> {
        prop_oneof![
            Just(UtcOffset::UTC),
            (-840i32..=840).prop_map(|m| UtcOffset::from_minutes(m).unwrap()),
            prop::sample::select(vec![-840, -570, 330, 345, 480, 840])
                .prop_map(|m| UtcOffset::from_minutes(m).unwrap()),
        ]
    }

    fn any_period() -> impl Strategy<Value = Period> {
        prop::sample::select(Period::ALL.to_vec())
    }

    /// A date in 1970..=9999.
    fn any_date() -> impl Strategy<Value = (i64, u32, u32)> {
        (FIRST_YEAR..=LAST_YEAR, 1u32..=12, 1u32..=31)
            .prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m))))
    }

    /// Unix ms whose local times (any offset) lie in 1970..=9999.
    fn any_ms() -> impl Strategy<Value = i64> {
        let lo = 14 * HOUR_MS;
        let hi = (LAST_DAY + 1) * DAY_MS - 14 * HOUR_MS - 1;
        prop_oneof![lo..=hi, 1_700_000_000_000i64..1_900_000_000_000]
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn civil_round_trip((y, m, d) in any_date()) {
            let days = days_from_civil(y, m, d);
            prop_assert_eq!(civil_from_days(days), (y, m, d));
            let next = if d < days_in_month(y, m) { (y, m, d + 1) }
                else if m < 12 { (y, m + 1, 1) } else { (y + 1, 1, 1) };
            prop_assert_eq!(days_from_civil(next.0, next.1, next.2), days + 1);
        }

        /// Indexes never decrease with time, and each instant lies in its period's bounds.
        #[test]
        fn index_is_monotone_and_bounded(a in any_ms(), b in any_ms(), p in any_period(), o in any_offset()) {
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(period_index(lo, p, o) <= period_index(hi, p, o));
            let i = period_index(a, p, o);
            let start = period_start_ms(i, p, o);
            let next = next_period_start_ms(i, p, o);
            prop_assert!(start <= a && a < next);
            prop_assert_eq!(period_index(start, p, o), i);
            prop_assert_eq!(period_index(start - 1, p, o), i - 1);
            prop_assert_eq!(period_index(next, p, o), i + 1);
            prop_assert_eq!(period_start_ms(i + 1, p, o), next);
        }

        /// Period boundaries fall exactly on local midnight (and month/year starts) in the offset.
        #[test]
        fn boundaries_at_local_midnight((y, m, d) in any_date(), h in 0i64..24, o in any_offset()) {
            let midnight = local_ms(y, m, d, 0, o);
            let f = period_fields(period_index(midnight, Period::Day, o), Period::Day).unwrap();
            prop_assert_eq!((f.year(), f.month(), f.day(), f.hour()), (y, m, d, 0));
            prop_assert_eq!(period_start_ms(period_index(midnight, Period::Day, o), Period::Day, o), midnight);
            if (y, m, d) != (1970, 1, 1) {
                let before = period_fields(period_index(midnight - 1, Period::Day, o), Period::Day).unwrap();
                prop_assert_eq!(days_from_civil(before.year(), before.month(), before.day()) + 1,
                                days_from_civil(y, m, d));
            }
            let at = local_ms(y, m, d, h, o);
            let hf = period_fields(period_index(at, Period::Hour, o), Period::Hour).unwrap();
            prop_assert_eq!((hf.year(), hf.month(), hf.day(), hf.hour()), (y, m, d, h as u32));
            let month_start = local_ms(y, m, 1, 0, o);
            let mi = period_index(at, Period::Month, o);
            prop_assert_eq!(period_start_ms(mi, Period::Month, o), month_start);
            // The month lasts as many days as the calendar says: 28, 29, 30 or 31.
            prop_assert_eq!(next_period_start_ms(mi, Period::Month, o) - month_start,
                            days_in_month(y, m) as i64 * DAY_MS);
            let yi = period_index(at, Period::Year, o);
            prop_assert_eq!(yi, y - FIRST_YEAR);
            prop_assert_eq!(period_start_ms(yi, Period::Year, o), local_ms(y, 1, 1, 0, o));
            let year_days = if is_leap_year(y) { 366 } else { 365 };
            prop_assert_eq!(next_period_start_ms(yi, Period::Year, o) - period_start_ms(yi, Period::Year, o),
                            year_days * DAY_MS);
        }

        /// Fields agree with the local date of any instant.
        #[test]
        fn fields_match_local_date(ms in any_ms(), p in any_period(), o in any_offset()) {
            let local = ms + o.ms();
            let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
            let h = local.rem_euclid(DAY_MS) / HOUR_MS;
            let f = period_fields(period_index(ms, p, o), p).unwrap();
            let expect = match p {
                Period::Hour => (y, m, d, h as u32),
                Period::Day => (y, m, d, 0),
                Period::Month => (y, m, 1, 0),
                Period::Year => (y, 1, 1, 0),
            };
            prop_assert_eq!((f.year(), f.month(), f.day(), f.hour()), expect);
        }

        #[test]
        fn offset_text_round_trip(o in any_offset()) {
            prop_assert_eq!(UtcOffset::parse(o.to_string().as_bytes()), Ok(o));
        }

        #[test]
        fn effective_period_is_the_max(stored in any::<i64>(), now in any::<i64>()) {
            let (i, restarted) = effective_period(stored, now);
            prop_assert_eq!(i, stored.max(now));
            prop_assert_eq!(restarted, now > stored);
        }

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
