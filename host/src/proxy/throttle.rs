//! Login throttling: after too many failures within a window, a user name or a source address is
//! locked until the oldest failure leaves the window. Locked attempts are refused before any
//! password is checked, so guessing stays slow even against a weak password, and an address
//! spraying many names is stopped as surely as many guesses at one name.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::local_proxy::ThrottleSettings;

/// Beyond this many tracked keys, keys with no failure in the window are dropped.
const PRUNE_ABOVE: usize = 10_000;

pub struct Throttle {
    settings: ThrottleSettings,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self { settings, failures: Mutex::default() }
    }

    /// `Err(wait)` when the user or the address is locked out for `wait` more.
    pub fn check(&self, user: &str, source: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let waits = [
            (Key::User(user_key(user)), self.settings.per_user),
            (Key::Address(address_key(source)), self.settings.per_address),
        ]
        .into_iter()
        .filter_map(|(key, limit)| {
            let times = failures.get_mut(&key)?;
            self.forget_old(times, now);
            (times.len() >= limit as usize).then(|| times.front().map(|t| self.settings.window - (now - *t)))?
        })
        .max();
        waits.map_or(Ok(()), Err)
    }

    /// Records a failed login for both the user name and the address.
    pub fn failed(&self, user: &str, source: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, times| times.back().is_some_and(|t| now - *t < self.settings.window));
        }
        for key in [Key::User(user_key(user)), Key::Address(address_key(source))] {
            let times = failures.entry(key).or_default();
            self.forget_old(times, now);
            times.push_back(now);
            // Only the last `limit` failures matter for the lock.
            if times.len() > 1000 {
                times.pop_front();
            }
        }
    }

    /// A successful login clears the user's failures (the address keeps its own: one good
    /// password must not reset a spray from the same place).
    pub fn succeeded(&self, user: &str) {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&Key::User(user_key(user)));
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times.front().is_some_and(|t| now - *t >= self.settings.window) {
            times.pop_front();
        }
    }
}

/// Names differ only in case for the directory, so they count as one.
fn user_key(user: &str) -> String {
    user.trim().to_lowercase()
}

/// An IPv6 client controls a whole /64: count it as one address.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(segments[0], segments[1], segments[2], segments[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: u32, per_address: u32, window_ms: u64) -> Throttle {
        Throttle::new(ThrottleSettings { per_user, per_address, window: Duration::from_millis(window_ms) })
    }

    #[test]
    fn a_user_is_locked_after_too_many_failures_then_freed() {
        let t = throttle(3, 100, 150);
        let here: IpAddr = "10.0.0.1".parse().expect("ip");
        for _ in 0..3 {
            assert!(t.check("alice", here).is_ok());
            t.failed("Alice", here);
        }
        let wait = t.check("ALICE", here).expect_err("locked, whatever the case");
        assert!(wait <= Duration::from_millis(150));
        assert!(t.check("bob", here).is_ok(), "other users are not locked");
        std::thread::sleep(Duration::from_millis(170));
        assert!(t.check("alice", here).is_ok(), "the window passed");
    }

    #[test]
    fn an_address_spraying_names_is_locked() {
        let t = throttle(100, 4, 10_000);
        let here: IpAddr = "2001:db8::1".parse().expect("ip");
        let neighbour: IpAddr = "2001:db8::2".parse().expect("ip");
        for user in ["a", "b", "c", "d"] {
            t.failed(user, here);
        }
        assert!(t.check("e", here).is_err());
        assert!(t.check("e", neighbour).is_err(), "same /64");
        assert!(t.check("e", "10.0.0.2".parse().expect("ip")).is_ok());
    }

    #[test]
    fn success_clears_the_user_but_not_the_address() {
        let t = throttle(2, 3, 10_000);
        let here: IpAddr = "10.0.0.1".parse().expect("ip");
        t.failed("alice", here);
        t.failed("alice", here);
        assert!(t.check("alice", "10.9.9.9".parse().expect("ip")).is_err());
        t.succeeded("alice");
        assert!(t.check("alice", "10.9.9.9".parse().expect("ip")).is_ok());
        t.failed("bob", here);
        assert!(t.check("carol", here).is_err(), "the address still has three failures");
    }
}
