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
//! The calendar is in `calendar` (re-exported here); templates are in `template`.

use crate::calendar::LAST_DAY;
pub use crate::calendar::{
    civil_from_days, days_from_civil, days_in_month, format_local, is_leap_year, UtcOffset, DAY_MS,
    FIRST_YEAR, HOUR_MS, LAST_YEAR,
};
use crate::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::test_support::*;
    use proptest::prelude::*;

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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

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
        fn effective_period_is_the_max(stored in any::<i64>(), now in any::<i64>()) {
            let (i, restarted) = effective_period(stored, now);
            prop_assert_eq!(i, stored.max(now));
            prop_assert_eq!(restarted, now > stored);
        }
    }
}
