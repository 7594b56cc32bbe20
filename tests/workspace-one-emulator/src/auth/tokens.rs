//! Issued OAuth access tokens and when they expire.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use crate::prng::Prng;

pub struct Tokens {
    ttl: Duration,
    /// token → when it expires (`expire_all` moves this to the past).
    issued: HashMap<String, Instant>,
    random: Prng,
}

impl Tokens {
    pub fn new(ttl: Duration) -> Self {
        // Tokens must not be predictable from the data seed: start from the process's hash keys.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write(b"workspace-one-emulator");
        Self { ttl, issued: HashMap::new(), random: Prng::new(hasher.finish()) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&mut self, now: Instant) -> String {
        // Forget tokens expired a day ago, so a long run does not grow without bound.
        self.issued.retain(|_, expires| now.saturating_duration_since(*expires) < Duration::from_secs(86_400));
        let token = format!("eyJ{}", self.random.hex(96, false));
        self.issued.insert(token.clone(), now + self.ttl);
        token
    }

    pub fn valid(&self, token: &str, now: Instant) -> bool {
        self.issued.get(token).is_some_and(|expires| *expires > now)
    }

    /// Every token issued so far is now expired.
    pub fn expire_all(&mut self, now: Instant) {
        for expires in self.issued.values_mut() {
            *expires = (*expires).min(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire() {
        let mut tokens = Tokens::new(Duration::from_secs(60));
        let now = Instant::now();
        let token = tokens.issue(now);
        assert!(tokens.valid(&token, now));
        assert!(!tokens.valid(&token, now + Duration::from_secs(60)));
        assert!(!tokens.valid("eyJnope", now));
        let other = tokens.issue(now);
        assert_ne!(token, other);
        tokens.expire_all(now);
        assert!(!tokens.valid(&other, now));
    }
}
