//! How long one request may wait, so that a slow Graph still leaves the plugin time to report
//! what happened before the connector ends the call.

use std::time::Duration;

/// Kept free after a request gives up, to classify and report.
const RESERVE: Duration = Duration::from_secs(1);
/// The shortest wait worth trying.
const MIN_WAIT: Duration = Duration::from_millis(500);

/// The timeout for the next request, given the call's `remaining` time.
///
/// The connector applies a request's timeout to connecting and again to the first byte of the
/// answer, so each gets half of what is left after the reserve.
pub fn request_timeout(remaining: Duration) -> Duration {
    (remaining.saturating_sub(RESERVE) / 2).max(MIN_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_what_is_left_after_the_reserve() {
        assert_eq!(request_timeout(Duration::from_secs(61)), Duration::from_secs(30));
        assert_eq!(request_timeout(Duration::from_secs(1)), MIN_WAIT);
    }
}
