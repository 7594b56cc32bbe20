//! What stands in front of the API: the per-tenant daily quota every call uses up (and reports in
//! `x-ratelimit-*`), then the scripted faults tests turn on.

/// What happens to the next API request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// This status with an IIS error page.
    Fail(u16),
    /// 429 with this `Retry-After` (seconds).
    Throttle(u64),
    /// 429: the daily quota is used up.
    QuotaExhausted,
}

/// The quota after a request was counted: what the `x-ratelimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the quota refills.
    pub reset: u64,
}

pub struct Faults {
    fail: u32,
    fail_status: u16,
    throttle: u32,
    retry_after: u64,
    quota: Quota,
}

impl Faults {
    pub fn new(limit: u32, reset: u64) -> Self {
        Self { fail: 0, fail_status: 503, throttle: 0, retry_after: 1, quota: Quota { limit, remaining: limit, reset } }
    }

    pub fn fail(&mut self, requests: u32, status: u16) {
        self.fail = requests;
        self.fail_status = status;
    }

    pub fn throttle(&mut self, requests: u32, retry_after_secs: u64) {
        self.throttle = requests;
        self.retry_after = retry_after_secs;
    }

    pub fn set_remaining(&mut self, remaining: u32) {
        self.quota.remaining = remaining.min(self.quota.limit);
    }

    /// Counts one API call against the quota, then decides its fate, using up one count of the
    /// first scripted fault that applies.
    pub fn next(&mut self) -> (Verdict, Quota) {
        if self.quota.remaining == 0 {
            return (Verdict::QuotaExhausted, self.quota);
        }
        self.quota.remaining -= 1;
        let verdict = if take(&mut self.fail) {
            Verdict::Fail(self.fail_status)
        } else if take(&mut self.throttle) {
            Verdict::Throttle(self.retry_after)
        } else {
            Verdict::Pass
        };
        (verdict, self.quota)
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
    fn faults_apply_in_order_and_every_call_counts() {
        let mut faults = Faults::new(5, 99);
        faults.throttle(1, 7);
        faults.fail(1, 502);
        assert_eq!(faults.next(), (Verdict::Fail(502), Quota { limit: 5, remaining: 4, reset: 99 }));
        assert_eq!(faults.next().0, Verdict::Throttle(7));
        assert_eq!(faults.next(), (Verdict::Pass, Quota { limit: 5, remaining: 2, reset: 99 }));
        faults.set_remaining(0);
        assert_eq!(faults.next().0, Verdict::QuotaExhausted);
    }
}
