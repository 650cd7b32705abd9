//! Record times: UTC with millisecond precision, written as
//! `YYYY-MM-DDTHH:MM:SS.mmmZ` (RFC 3339). The log never reads a clock; the
//! caller passes the time of each record in.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

/// Latest time a record may carry (9999-12-31T23:59:59.999Z).
const MAX_MS: u64 = 253_402_300_799_999;

/// A time that cannot be written into the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("the clock reads a time before 1970-01-01; set the pad clock (NTP) before logging")]
    BeforeEpoch,
    #[error("the clock reads a time after 9999-12-31; set the pad clock (NTP) before logging")]
    TooLate,
    #[error("\"{0}\" is not a time of the form 2025-01-31T12:00:00.000Z")]
    Malformed(String),
}

impl Timestamp {
    pub fn from_unix_millis(ms: u64) -> Result<Self, TimeError> {
        if ms > MAX_MS {
            return Err(TimeError::TooLate);
        }
        Ok(Self(ms))
    }

    pub fn from_system_time(t: SystemTime) -> Result<Self, TimeError> {
        let d = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TimeError::BeforeEpoch)?;
        let ms = u64::try_from(d.as_millis()).map_err(|_| TimeError::TooLate)?;
        Self::from_unix_millis(ms)
    }

    pub fn unix_millis(self) -> u64 {
        self.0
    }

    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later (the clock
    /// stepped back).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Parses exactly the form this module writes; anything else (other
    /// offsets, missing milliseconds, 31 February) is refused.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let bad = || TimeError::Malformed(text.to_owned());
        let b = text.as_bytes();
        if b.len() != 24 {
            return Err(bad());
        }
        let num = |from: usize, to: usize| -> Result<u64, TimeError> {
            let part = b.get(from..to).ok_or_else(bad)?;
            part.iter().try_fold(0u64, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u64::from(c - b'0'))
                } else {
                    Err(bad())
                }
            })
        };
        let sep = |i: usize, c: u8| b.get(i) == Some(&c);
        if !(sep(4, b'-')
            && sep(7, b'-')
            && sep(10, b'T')
            && sep(13, b':')
            && sep(16, b':')
            && sep(19, b'.')
            && sep(23, b'Z'))
        {
            return Err(bad());
        }
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second, milli) =
            (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
        if year < 1970 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad());
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad());
        }
        let days = days_from_civil(year, month, day);
        let ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli;
        let parsed = Self::from_unix_millis(ms).map_err(|_| bad())?;
        // Round trip to refuse dates such as 2025-02-30.
        if parsed.to_string() != text {
            return Err(bad());
        }
        Ok(parsed)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

// Days since 1970-01-01 to and from a proleptic Gregorian date, for dates
// from 1970 on (H. Hinnant's algorithms, unsigned because the log has no
// earlier times).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_times_format_and_parse_back() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_735_689_599_999, "2024-12-31T23:59:59.999Z"),
            (1_740_787_200_123, "2025-03-01T00:00:00.123Z"),
            (MAX_MS, "9999-12-31T23:59:59.999Z"),
        ];
        for (ms, text) in cases {
            let t = Timestamp::from_unix_millis(ms).unwrap_or(Timestamp(1));
            assert_eq!(t.to_string(), text);
            assert_eq!(Timestamp::parse(text), Ok(t));
        }
    }

    #[test]
    fn every_day_for_centuries_round_trips() {
        for day in (0..150_000u64).step_by(7) {
            let t = Timestamp(day * 86_400_000 + 45_296_789);
            assert_eq!(Timestamp::parse(&t.to_string()), Ok(t), "day {day}");
        }
    }

    #[test]
    fn malformed_or_impossible_times_are_refused() {
        for text in [
            "2025-02-30T00:00:00.000Z",
            "2025-13-01T00:00:00.000Z",
            "2025-01-01T24:00:00.000Z",
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00.000+00:00",
            "2025-01-01 00:00:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "+025-01-01T00:00:00.000Z",
        ] {
            assert!(Timestamp::parse(text).is_err(), "{text}");
        }
    }
}
