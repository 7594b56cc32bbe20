//! Graph's mail throttling per app and mailbox: a request budget per window (10 000 per 10
//! minutes) and a limit on requests at once (4).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Why a request was throttled; both answer 429 `ApplicationThrottled`.
#[derive(Debug, PartialEq, Eq)]
pub enum Throttled {
    /// The window's budget is spent; it renews in this many seconds.
    Rate { retry_after_secs: u64 },
    /// Too many requests at once.
    Concurrency,
}

pub struct Throttle {
    per_window: u32,
    window: Duration,
    max_concurrent: u32,
    keys: HashMap<String, Budget>,
}

struct Budget {
    start: Instant,
    used: u32,
    in_flight: u32,
}

impl Throttle {
    pub fn new(per_window: u32, window: Duration, max_concurrent: u32) -> Self {
        Self { per_window, window, max_concurrent, keys: HashMap::new() }
    }

    /// Admits one request for `key` (app and mailbox), returning how many are now in flight for
    /// it, or says why not; an admitted request must be [`Throttle::release`]d when answered.
    pub fn admit(&mut self, key: &str, now: Instant) -> Result<u32, Throttled> {
        let budget = self.keys.entry(key.to_string()).or_insert(Budget { start: now, used: 0, in_flight: 0 });
        if budget.in_flight >= self.max_concurrent {
            return Err(Throttled::Concurrency);
        }
        // A fixed window from the first request in it.
        let elapsed = now.saturating_duration_since(budget.start);
        if elapsed >= self.window {
            (budget.start, budget.used) = (now, 0);
        }
        if budget.used >= self.per_window {
            let left = self.window.saturating_sub(now.saturating_duration_since(budget.start));
            return Err(Throttled::Rate { retry_after_secs: left.as_secs_f64().ceil().max(1.0) as u64 });
        }
        budget.used += 1;
        budget.in_flight += 1;
        Ok(budget.in_flight)
    }

    pub fn release(&mut self, key: &str) {
        if let Some(budget) = self.keys.get_mut(key) {
            budget.in_flight = budget.in_flight.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_per_window_and_key() {
        let mut throttle = Throttle::new(2, Duration::from_secs(600), 4);
        let now = Instant::now();
        for _ in 0..2 {
            throttle.admit("app|a", now).expect("within budget");
            throttle.release("app|a");
        }
        let later = now + Duration::from_secs(100);
        assert_eq!(throttle.admit("app|a", later), Err(Throttled::Rate { retry_after_secs: 500 }));
        assert_eq!(throttle.admit("app|b", later), Ok(1), "another mailbox has its own budget");
        assert_eq!(throttle.admit("app|a", now + Duration::from_secs(600)), Ok(1), "a new window");
    }

    #[test]
    fn at_most_so_many_at_once() {
        let mut throttle = Throttle::new(100, Duration::from_secs(600), 2);
        let now = Instant::now();
        throttle.admit("k", now).expect("first");
        throttle.admit("k", now).expect("second");
        assert_eq!(throttle.admit("k", now), Err(Throttled::Concurrency));
        throttle.release("k");
        assert_eq!(throttle.admit("k", now), Ok(2));
    }
}
