//! Calendar dates: the one place that reads, normalises and counts them.
//!
//! Sources write dates many ways (`2024-03-05`, `2024/03/05`, `2024-03-05T10:00Z`, Unix
//! seconds); loaders normalise them to `YYYY-MM-DD` ([`normalize_date`]), the full-text index
//! stores them as days since 1970-01-01, and callers filter with a [`Date`]. The calendar
//! itself (valid days, day counts, today in UTC) is jiff's.

use std::fmt;
use std::str::FromStr;

use jiff::civil;
use jiff::tz::Offset;
use jiff::{Span, Timestamp, Unit};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A calendar day (proleptic Gregorian), as date filters take it.
///
/// ```
/// use lore::Date;
/// let d: Date = "2026-02-10".parse()?;
/// assert_eq!(d.to_string(), "2026-02-10");
/// assert!(Date::from_ymd(2026, 2, 30).is_none());
/// # Ok::<(), lore::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

impl Date {
    /// The date `year-month-day`, or `None` when there is no such day (or it lies outside
    /// the years -9999 to 9999).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        let civil = civil::Date::new(
            i16::try_from(year).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
        )
        .ok()?;
        Some(Date::of(civil))
    }

    fn of(civil: civil::Date) -> Date {
        // Within jiff's years every day is a whole number of days from the epoch.
        let days = EPOCH
            .until((Unit::Day, civil))
            .map_or(0, |span| i64::from(span.get_days()));
        Date { days }
    }

    fn civil(self) -> civil::Date {
        EPOCH
            .checked_add(Span::new().days(self.days))
            .expect("a Date holds a day jiff can name")
    }

    /// Year, month (1–12) and day (1–31).
    pub fn ymd(self) -> (i64, u32, u32) {
        let d = self.civil();
        (
            i64::from(d.year()),
            d.month().unsigned_abs().into(),
            d.day().unsigned_abs().into(),
        )
    }

    /// Today (UTC), by the system clock.
    pub fn today() -> Date {
        Date::of(Offset::UTC.to_datetime(Timestamp::now()).date())
    }

    /// Days since 1970-01-01 (the form the full-text index stores).
    pub(crate) fn days(self) -> i64 {
        self.days
    }
}

/// Day 0 of [`Date::days`].
const EPOCH: civil::Date = civil::date(1970, 1, 1);

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl FromStr for Date {
    type Err = Error;

    /// `YYYY-MM-DD`; a longer timestamp (`2026-02-03T10:00:00Z`) is cut to its date.
    fn from_str(text: &str) -> Result<Date> {
        parse_date(text).ok_or_else(|| {
            Error::invalid_request(format!(
                "`{}` is not a date of the form YYYY-MM-DD",
                text.trim()
            ))
        })
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Parse `YYYY-MM-DD` (a longer timestamp is accepted and cut to its date); `None` when it is
/// not a valid date.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let date = text.get(..10).unwrap_or(text);
    let mut parts = date.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Date::from_ymd(year, month, day)
}

/// The UTC civil date (`YYYY-MM-DD`) of a Unix timestamp in seconds.
pub(crate) fn civil_date(secs: i64) -> String {
    match Timestamp::from_second(secs) {
        Ok(t) => Date::of(Offset::UTC.to_datetime(t).date()).to_string(),
        // Out of jiff's range (years -9999 to 9999): no day to name; keep the number.
        Err(_) => secs.to_string(),
    }
}

/// Normalises a date to `YYYY-MM-DD` when it starts with one (`2024-03-05T10:00Z`,
/// `2024/03/05`) or is a Unix timestamp in seconds (`1709632800`, `"1709632800.000200"`);
/// anything else is returned trimmed, as written.
pub(crate) fn normalize_date(s: &str) -> String {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && (b[4] == b'-' || b[4] == b'/' || b[4] == b'.')
        && b[7] == b[4]
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || !b[10].is_ascii_digit())
    {
        let month: u32 = s[5..7].parse().unwrap_or(0);
        let day: u32 = s[8..10].parse().unwrap_or(0);
        if (1..=12).contains(&month) && (1..=31).contains(&day) {
            return format!("{}-{:02}-{:02}", &s[..4], month, day);
        }
    }
    if let Some(secs) = unix_seconds(s) {
        return civil_date(secs);
    }
    s.to_string()
}

/// Parses a Unix timestamp in seconds (`1709632800` or `1709632800.000200`), 9–11 digits.
pub(crate) fn unix_seconds(s: &str) -> Option<i64> {
    let int = match s.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b.is_ascii_digit()) => int,
        Some(_) => return None,
        None => s,
    };
    if !(9..=11).contains(&int.len()) || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(text: &str) -> Option<i64> {
        parse_date(text).map(Date::days)
    }

    #[test]
    fn parses_dates_to_days() {
        assert_eq!(days("1970-01-01"), Some(0));
        assert_eq!(days("2000-03-01"), Some(11017));
        assert_eq!(days("2026-02-03T10:00:00Z"), days("2026-02-03"));
        assert_eq!(days("2025-02-29"), None);
        assert_eq!(days("2024-02-29"), Some(19_782));
        assert_eq!(days("1969-12-31"), Some(-1));
        assert_eq!(days("0001-01-01"), Some(-719_162));
        assert_eq!(days("March 3"), None);
        assert_eq!(days("2024-13-01"), None);
        assert_eq!(days("2024-04-31"), None);
    }

    #[test]
    fn dates_round_trip_through_text_and_json() {
        for text in ["1970-01-01", "1969-12-31", "2000-02-29", "2026-12-06"] {
            let date: Date = text.parse().unwrap();
            assert_eq!(date.to_string(), text);
            let json = serde_json::to_string(&date).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Date>(&json).unwrap(), date);
        }
        let err = "yesterday".parse::<Date>().unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        assert!(serde_json::from_str::<Date>("\"2026-02-30\"").is_err());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_700_000_000), "2023-11-14");
        assert_eq!(civil_date(-86_400), "1969-12-31");
    }

    #[test]
    fn dates_are_normalised() {
        assert_eq!(normalize_date("2024-03-05"), "2024-03-05");
        assert_eq!(normalize_date(" 2024-03-05T10:00:00Z"), "2024-03-05");
        assert_eq!(normalize_date("2024/3/05"), "2024/3/05");
        assert_eq!(normalize_date("2024/03/05"), "2024-03-05");
        assert_eq!(normalize_date("1700000000.000200"), "2023-11-14");
        assert_eq!(normalize_date("March 5th"), "March 5th");
        assert_eq!(normalize_date("2024-13-05"), "2024-13-05");
    }
}
