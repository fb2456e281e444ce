//! Event-time helpers: nanoseconds since the Unix epoch, UTC (DESIGN §6).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

pub const NS_PER_SEC: i64 = 1_000_000_000;
pub const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

/// The UTC day number (days since 1970-01-01) of a timestamp.
pub fn utc_day(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(NS_PER_DAY)
}

/// `2026-11-24T06:52:30.123456789Z`.
pub fn format_rfc3339(ts_ns: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ts_ns as i128)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts_ns.to_string())
}

/// A time for people: to the nearest second, `2023-01-02 16:50:00Z`. A bucket's last
/// nanosecond (`…16:49:59.999999999`) reads as the minute it ends on.
pub fn format_human(ts_ns: i64) -> String {
    let s = ts_ns.saturating_add(500_000_000).div_euclid(1_000_000_000);
    OffsetDateTime::from_unix_timestamp(s)
        .ok()
        .and_then(|t| {
            let f =
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
            t.format(&f).ok()
        })
        .unwrap_or_else(|| ts_ns.to_string())
}

/// Parses a time given as integer nanoseconds, RFC 3339 (`2026-01-02T03:04:05Z`) or a bare
/// date (`2026-01-02`, midnight UTC: what a trader typing `--from 2026-01-02` means).
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(ns) = s.parse::<i64>() {
        return Ok(ns);
    }
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        return Ok(d.midnight().assume_utc().unix_timestamp_nanos() as i64);
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| t.unix_timestamp_nanos() as i64)
        .map_err(|e| {
            format!(
                "`{s}` is neither a date (2026-01-02), an RFC 3339 time (2026-01-02T03:04:05Z) \
                 nor nanoseconds since the epoch ({e})"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_times_are_whole_seconds() {
        let t = 1_672_678_200_000_000_000; // 2023-01-02T16:50:00Z
        assert_eq!(format_human(t), "2023-01-02 16:50:00Z");
        assert_eq!(format_human(t - 1), "2023-01-02 16:50:00Z");
        assert_eq!(format_human(t + 400_000_000), "2023-01-02 16:50:00Z");
    }

    #[test]
    fn days_and_formats() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(NS_PER_DAY - 1), 0);
        assert_eq!(utc_day(-1), -1);
        assert_eq!(
            format_rfc3339(1_500_000_000_000_000_000),
            "2017-07-14T02:40:00Z"
        );
        assert_eq!(
            parse_time("2017-07-14T02:40:00Z"),
            Ok(1_500_000_000_000_000_000)
        );
        assert_eq!(parse_time("42"), Ok(42));
        assert_eq!(parse_time("2017-07-14"), Ok(1_499_990_400_000_000_000));
        assert!(parse_time("2017-13-14").is_err());
        assert!(parse_time("yesterday").is_err());
    }
}
