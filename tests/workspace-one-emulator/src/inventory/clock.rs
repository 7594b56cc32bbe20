//! The tenant's fixed clock: timestamps derive from one base instant so data and tests are stable.
//! Workspace ONE writes `LastSeen` in UTC without a zone, with milliseconds.

use emulator_kit::civil::{civil_from_days, days_from_civil};

/// 2026-11-01T00:00:00Z in milliseconds since the Unix epoch: "now" for the generated data.
pub const BASE_MS: i64 = days_from_civil(2026, 11, 1) * DAY_MS;

pub const SECOND_MS: i64 = 1000;
pub const DAY_MS: i64 = 86_400 * SECOND_MS;

/// `YYYY-MM-DDTHH:MM:SS.fff`, e.g. `2021-06-28T04:35:20.150`.
pub fn format(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let secs = in_day / SECOND_MS;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}", secs / 3600, secs / 60 % 60, secs % 60, in_day % 1000)
}

/// Reads `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fff]]` (UTC); `None` if malformed.
pub fn parse(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T').unwrap_or((text, ""));
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * DAY_MS;
    if !time.is_empty() {
        let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut fields = hms.split(':');
        let h: i64 = fields.next()?.parse().ok()?;
        let min: i64 = fields.next()?.parse().ok()?;
        let s: i64 = fields.next().map_or(Some(0), |s| s.parse().ok())?;
        if fields.next().is_some() || h > 23 || min > 59 || s > 59 {
            return None;
        }
        let millis: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<3}")[..3].parse().ok()? };
        ms += (h * 3600 + min * 60 + s) * SECOND_MS + millis;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_utc_without_zone() {
        assert_eq!(format(BASE_MS), "2026-11-01T00:00:00.000");
        assert_eq!(format(BASE_MS - 850), "2026-10-31T23:59:59.150");
        assert_eq!(parse("2026-11-01"), Some(BASE_MS));
        assert_eq!(parse("2026-10-31T23:59:59.150"), Some(BASE_MS - 850));
        assert_eq!(parse("2026-10-31T23:59"), Some(BASE_MS - 60_000));
        for bad in ["", "2026-13-01", "yesterday", "2026-11-01T25:00", "2026-11-01T1:2:3:4"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
