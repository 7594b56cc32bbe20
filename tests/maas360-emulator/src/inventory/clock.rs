//! The tenant's fixed clock: every timestamp is derived from one base instant so data and tests are stable.

use emulator_kit::civil::{civil_from_days, days_from_civil};

/// 2026-11-01T00:00:00Z in milliseconds since the Unix epoch: "now" for the generated data.
pub const BASE_MS: i64 = days_from_civil(2026, 11, 1) * DAY_MS;

pub const SECOND_MS: i64 = 1000;
pub const DAY_MS: i64 = 86_400 * SECOND_MS;

/// `YYYY-MM-DDTHH:MM:SS` in UTC without a zone, the way MaaS360 writes dates.
pub fn format(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let secs = ms.rem_euclid(DAY_MS) / SECOND_MS;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_without_zone() {
        assert_eq!(BASE_MS, 1_793_491_200_000);
        assert_eq!(format(BASE_MS), "2026-11-01T00:00:00");
        assert_eq!(format(BASE_MS - 1), "2026-10-31T23:59:59");
        assert_eq!(format(0), "1970-01-01T00:00:00");
        assert_eq!(format(951_782_400_000 + 3_723_000), "2000-02-29T01:02:03");
    }
}
