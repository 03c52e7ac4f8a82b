//! The calendar under periods and templates: fixed UTC offsets (`UTC-OFFSET`) and civil
//! dates, proleptic Gregorian, no time zone database, no leap seconds. Pure logic.

use std::fmt;

use crate::error::{Error, Result};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// The calendar a template renders: local years 1970..=9999.
pub const FIRST_YEAR: i64 = 1970;
pub const LAST_YEAR: i64 = 9999;
/// Days from 1970-01-01 to 9999-12-31.
pub(crate) const LAST_DAY: i64 = 2_932_896;

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

/// Test helpers for the calendar, period and template tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn off(s: &str) -> UtcOffset {
        UtcOffset::parse(s.as_bytes()).unwrap()
    }

    /// Unix ms of a local time at an offset.
    pub(crate) fn local_ms(y: i64, mo: u32, d: u32, h: i64, offset: UtcOffset) -> i64 {
        days_from_civil(y, mo, d) * DAY_MS + h * HOUR_MS - offset.ms()
    }

    pub(crate) fn any_offset() -> impl Strategy<Value = UtcOffset> {
        prop_oneof![
            Just(UtcOffset::UTC),
            (-840i32..=840).prop_map(|m| UtcOffset::from_minutes(m).unwrap()),
            prop::sample::select(vec![-840, -570, 330, 345, 480, 840])
                .prop_map(|m| UtcOffset::from_minutes(m).unwrap()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use proptest::prelude::*;

    const MONTHS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

    /// A date in 1970..=9999.
    fn any_date() -> impl Strategy<Value = (i64, u32, u32)> {
        (FIRST_YEAR..=LAST_YEAR, 1u32..=12, 1u32..=31)
            .prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m))))
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

        #[test]
        fn offset_text_round_trip(o in any_offset()) {
            prop_assert_eq!(UtcOffset::parse(o.to_string().as_bytes()), Ok(o));
        }
    }
}
