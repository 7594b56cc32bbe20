//! Faults in front of the API: session bounces, gateway errors, throttling and the rate limit,
//! checked in that order before a request reaches its endpoint.

use std::time::{Duration, Instant};

/// What happens to the next API request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Served; with a rate limit, what is left of the current window.
    Pass(Option<Window>),
    /// 200 `text/html`: the login page, as after a session bounce.
    HtmlLogin,
    /// This status with a short HTML page.
    Fail(u16),
    /// 429 with this `Retry-After` (seconds).
    Throttle(u64),
    /// 429 from the rate limit; the window resets in this many milliseconds.
    RateLimited { reset_ms: u64 },
}

/// The state of the rate-limit window after a request was counted.
#[derive(Debug, PartialEq, Eq)]
pub struct Window {
    pub remaining: u32,
    pub reset_ms: u64,
}

const SECOND: Duration = Duration::from_secs(1);

pub struct Faults {
    html_login: u32,
    fail: u32,
    fail_status: u16,
    throttle: u32,
    retry_after: u64,
    rate_limit: Option<u32>,
    window_start: Option<Instant>,
    window_used: u32,
}

impl Faults {
    pub fn new(rate_limit: Option<u32>) -> Self {
        Self {
            html_login: 0,
            fail: 0,
            fail_status: 503,
            throttle: 0,
            retry_after: 1,
            rate_limit,
            window_start: None,
            window_used: 0,
        }
    }

    pub fn html_login(&mut self, requests: u32) {
        self.html_login = requests;
    }

    pub fn fail(&mut self, requests: u32, status: u16) {
        self.fail = requests;
        self.fail_status = status;
    }

    pub fn throttle(&mut self, requests: u32, retry_after_secs: u64) {
        self.throttle = requests;
        self.retry_after = retry_after_secs;
    }

    /// Decides the fate of one API request, using up one count of the first fault that applies.
    pub fn next(&mut self, now: Instant) -> Verdict {
        if take(&mut self.html_login) {
            return Verdict::HtmlLogin;
        }
        if take(&mut self.fail) {
            return Verdict::Fail(self.fail_status);
        }
        if take(&mut self.throttle) {
            return Verdict::Throttle(self.retry_after);
        }
        let Some(limit) = self.rate_limit else {
            return Verdict::Pass(None);
        };
        // A fixed one-second window from the first request in it.
        let start = match self.window_start {
            Some(start) if now.duration_since(start) < SECOND => start,
            _ => {
                self.window_start = Some(now);
                self.window_used = 0;
                now
            }
        };
        let reset_ms = (SECOND.saturating_sub(now.duration_since(start))).as_millis() as u64;
        if self.window_used >= limit {
            return Verdict::RateLimited { reset_ms };
        }
        self.window_used += 1;
        Verdict::Pass(Some(Window { remaining: limit - self.window_used, reset_ms }))
    }
}

fn take(count: &mut u32) -> bool {
    if *count == 0 {
        return false;
    }
    *count -= 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_and_run_out() {
        let mut faults = Faults::new(None);
        let now = Instant::now();
        faults.throttle(1, 7);
        faults.fail(1, 502);
        faults.html_login(1);
        assert_eq!(faults.next(now), Verdict::HtmlLogin);
        assert_eq!(faults.next(now), Verdict::Fail(502));
        assert_eq!(faults.next(now), Verdict::Throttle(7));
        assert_eq!(faults.next(now), Verdict::Pass(None));
    }

    #[test]
    fn rate_limit_is_a_one_second_window() {
        let mut faults = Faults::new(Some(2));
        let now = Instant::now();
        assert_eq!(faults.next(now), Verdict::Pass(Some(Window { remaining: 1, reset_ms: 1000 })));
        assert!(matches!(faults.next(now), Verdict::Pass(Some(Window { remaining: 0, .. }))));
        assert_eq!(faults.next(now + Duration::from_millis(400)), Verdict::RateLimited { reset_ms: 600 });
        assert!(matches!(faults.next(now + SECOND), Verdict::Pass(_)));
    }
}
