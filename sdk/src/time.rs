//! Timestamps as vendor APIs write them: ISO 8601 / RFC 3339-like text, often in UTC without a
//! zone (`2021-06-28T04:35:20.150`), to and from milliseconds since the Unix epoch — what the
//! device record's `last-seen-ms` and the query's `changed-since-ms` hold.
//!
//! ```
//! use msc_sdk::time::{parse_utc_ms, utc_seconds};
//!
//! assert_eq!(parse_utc_ms("2021-06-28T04:35:20.150"), Some(1_624_854_920_150));
//! assert_eq!(parse_utc_ms("2021-06-28 04:35:20Z"), Some(1_624_854_920_000));
//! assert_eq!(parse_utc_ms("N/A"), None);
//! assert_eq!(utc_seconds(1_624_854_920_150), "2021-06-28T04:35:20");
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch of a UTC timestamp `YYYY-MM-DD[T| ]HH:MM:SS[.fraction]`,
/// with or without a trailing `Z` or `+00:00` (a zone-less time is taken as UTC); `None` when
/// the text is not one or lies before 1970. Other zones are not supported.
pub fn parse_utc_ms(text: &str) -> Option<u64> {
    let time = humantime::parse_rfc3339_weak(text.trim()).ok()?;
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

/// The UTC time `ms` (milliseconds since the Unix epoch) as `YYYY-MM-DDTHH:MM:SS`, without a zone
/// and rounded down to the second: the form date filters of vendor APIs take (append `Z` for
/// RFC 3339).
pub fn utc_seconds(ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(time).to_string();
    text.trim_end_matches('Z').to_string()
}

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zone_less_utc_and_formats_seconds() {
        assert_eq!(parse_utc_ms("1970-01-01T00:00:00"), Some(0));
        assert_eq!(parse_utc_ms("2026-11-01T00:00:00.000"), Some(1_793_491_200_000));
        assert_eq!(parse_utc_ms("2026-11-01T00:00:00+00:00"), Some(1_793_491_200_000));
        for bad in ["", "yesterday", "2026-13-01T00:00:00", "1969-12-31T23:59:59"] {
            assert_eq!(parse_utc_ms(bad), None, "{bad}");
        }
        assert_eq!(utc_seconds(1_793_491_200_999), "2026-11-01T00:00:00");
        assert_eq!(parse_utc_ms(&utc_seconds(1_624_854_920_150)), Some(1_624_854_920_000));
    }
}
