//! Reconnect delays: exponential with full jitter, so connectors that lost the relay together do
//! not come back together.

use std::time::Duration;

pub struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// 250 ms doubling to 30 s, as `docs/relay-protocol.md` says.
    pub fn relay() -> Self {
        Self::new(Duration::from_millis(250), Duration::from_secs(30))
    }

    pub fn new(first: Duration, max: Duration) -> Self {
        Self { first, max, failures: 0 }
    }

    /// The wait after one more failure: uniformly random up to the current ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        ceiling.mul_f64(jitter())
    }

    /// The wait after `failures` earlier failures, for callers that keep their own count (each
    /// mail of the outbox): at least half the ceiling, so a retry never comes at once.
    pub fn after(mut self, failures: u32) -> Duration {
        self.failures = failures;
        let half = self.ceiling() / 2;
        half + half.mul_f64(jitter())
    }

    /// Back to the shortest wait, after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(16)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// Uniform in [0, 1).
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::relay();
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(backoff.ceiling());
            let delay = backoff.next_delay();
            assert!(delay <= *ceilings.last().expect("pushed"));
        }
        assert_eq!(ceilings[0], Duration::from_millis(250));
        assert_eq!(ceilings[3], Duration::from_secs(2));
        assert_eq!(ceilings[9], Duration::from_secs(30));
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(250));
        for failures in [0, 3, 40] {
            let wait = Backoff::relay().after(failures);
            let ceiling = Backoff { failures, ..Backoff::relay() }.ceiling();
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?} for {failures}");
        }
    }
}
