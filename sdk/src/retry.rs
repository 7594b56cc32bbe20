//! Retrying what the remote system asked us to retry, within the call's deadline.
//!
//! The plugin [`Error`] already says what may be retried: [`Error::RateLimited`] and
//! [`Error::Unavailable`], with the wait the server asked for when it said (`Retry-After`).
//! [`Backoff::run`] repeats an operation on those two, waiting what the server asked or an
//! exponentially growing, jittered delay, and gives up, returning the last error, when the next
//! attempt could not finish before the call's deadline. The host then sees the server's wait
//! in the error and can schedule the work again later.
//!
//! ```no_run
//! use msc_sdk::http::Request;
//! use msc_sdk::retry::Backoff;
//! # fn demo() -> Result<(), msc_sdk::Error> {
//! let body = Backoff::default().run(|_attempt| {
//!     Ok(Request::get("https://api.example.com/devices").send()?.error_for_status()?.text())
//! })?;
//! # Ok(()) }
//! ```

use std::hash::BuildHasher;
use std::time::Duration;

use crate::{Error, RetryLater};

/// How to wait between attempts.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The wait before the second attempt; it doubles after each further failure.
    pub first: Duration,
    /// No single wait is longer than this unless the server asked for it.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Time kept free after a wait for the next attempt itself to run.
    pub reserve: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(30),
            attempts: 6,
            reserve: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// Runs `operation` (given the attempt number, from 0) until it succeeds, fails with an error
    /// that is not worth retrying, runs out of attempts, or the next wait would not leave
    /// `reserve` before the call's deadline.
    pub fn run<T>(&self, mut operation: impl FnMut(u32) -> Result<T, Error>) -> Result<T, Error> {
        let mut attempt = 0;
        loop {
            let error = match operation(attempt) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            attempt += 1;
            let Some(wait) = self.wait(&error, attempt) else { return Err(error) };
            if attempt >= self.attempts || wait + self.reserve > crate::call::remaining() {
                return Err(error);
            }
            std::thread::sleep(wait);
        }
    }

    /// How long to wait before attempt `attempt` (from 1) after `error`; `None` when the error
    /// is not one to retry.
    pub fn wait(&self, error: &Error, attempt: u32) -> Option<Duration> {
        let asked = match error {
            Error::RateLimited(RetryLater { retry_after_ms, .. })
            | Error::Unavailable(RetryLater { retry_after_ms, .. }) => retry_after_ms.map(Duration::from_millis),
            _ => return None,
        };
        Some(asked.unwrap_or_else(|| self.jittered(attempt)))
    }

    /// `first · 2^(attempt-1)`, capped at `max`, then a random point in its upper half, so that
    /// many instances retrying at once spread out.
    fn jittered(&self, attempt: u32) -> Duration {
        let exponential = self.first.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exponential.min(self.max);
        let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
        let fraction = 0.5 + (random % 1000) as f64 / 2000.0;
        ceiling.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_what_the_server_asked_or_grows_with_jitter() {
        let backoff = Backoff::default();
        let limited = Error::RateLimited(RetryLater { retry_after_ms: Some(7000), message: String::new() });
        assert_eq!(backoff.wait(&limited, 1), Some(Duration::from_secs(7)));
        let down = Error::Unavailable(RetryLater { retry_after_ms: None, message: String::new() });
        for attempt in 1..10 {
            let wait = backoff.wait(&down, attempt).expect("retryable");
            let ceiling = backoff.first.saturating_mul(1 << (attempt - 1)).min(backoff.max);
            assert!(wait >= ceiling / 2 && wait <= ceiling, "attempt {attempt}: {wait:?}");
        }
        assert_eq!(backoff.wait(&Error::NotFound("x".into()), 1), None);
    }
}
