//! Issued auth and refresh tokens, and the account's lock: what authentication remembers.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use crate::prng::Prng;

/// Why a token was refused; the 401 body names it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Invalid,
    Expired,
}

impl Refused {
    pub fn body(&self) -> &'static str {
        match self {
            Self::Invalid => "Token invalid",
            Self::Expired => "Token expired.",
        }
    }
}

pub struct Sessions {
    token_ttl: Duration,
    refresh_ttl: Duration,
    lock_after: u32,
    /// auth token → when it expires (an `expire_tokens` moves this to the past).
    tokens: HashMap<String, Instant>,
    /// refresh token → when it expires; removed when used.
    refresh: HashMap<String, Instant>,
    failures: u32,
    locked: bool,
    random: Prng,
}

impl Sessions {
    pub fn new(token_ttl: Duration, refresh_ttl: Duration, lock_after: u32) -> Self {
        // Tokens must not be predictable from the data seed: start from the process's hash keys.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write(b"maas360-emulator");
        Self {
            token_ttl,
            refresh_ttl,
            lock_after,
            tokens: HashMap::new(),
            refresh: HashMap::new(),
            failures: 0,
            locked: false,
            random: Prng::new(hasher.finish()),
        }
    }

    pub fn locked(&self) -> bool {
        self.locked
    }

    pub fn set_locked(&mut self, locked: bool) {
        self.locked = locked;
        self.failures = 0;
    }

    /// A bad password: counts toward the lock.
    pub fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        if self.lock_after > 0 && self.failures >= self.lock_after {
            self.locked = true;
        }
    }

    /// A successful login: resets the failure count and issues an auth token, and with
    /// `with_refresh` (v2) a refresh token.
    pub fn issue(&mut self, now: Instant, with_refresh: bool) -> (String, Option<String>) {
        self.failures = 0;
        self.prune(now);
        let token = self.random_token();
        self.tokens.insert(token.clone(), now + self.token_ttl);
        let refresh = with_refresh.then(|| {
            let refresh = self.random_token();
            self.refresh.insert(refresh.clone(), now + self.refresh_ttl);
            refresh
        });
        (token, refresh)
    }

    /// Uses up a refresh token: true if it was issued, unused and unexpired.
    pub fn redeem(&mut self, refresh: &str, now: Instant) -> bool {
        match self.refresh.remove(refresh) {
            Some(expires) => expires > now,
            None => false,
        }
    }

    pub fn check(&self, token: &str, now: Instant) -> Result<(), Refused> {
        match self.tokens.get(token) {
            None => Err(Refused::Invalid),
            Some(&expires) if expires <= now => Err(Refused::Expired),
            Some(_) => Ok(()),
        }
    }

    /// Every token issued so far is now expired.
    pub fn expire_all(&mut self, now: Instant) {
        for expires in self.tokens.values_mut() {
            *expires = (*expires).min(now);
        }
    }

    /// Forgets tokens long expired, so a long demo does not grow without bound; a token expired
    /// less than a refresh lifetime ago still answers "Token expired.".
    fn prune(&mut self, now: Instant) {
        let keep = self.refresh_ttl;
        self.tokens.retain(|_, expires| now.saturating_duration_since(*expires) < keep);
        self.refresh.retain(|_, expires| *expires > now);
    }

    fn random_token(&mut self) -> String {
        const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..48).map(|_| char::from(ALPHABET[self.random.below(62) as usize])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_refresh_tokens_are_single_use() {
        let mut sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600), 2);
        let now = Instant::now();
        let (token, refresh) = sessions.issue(now, true);
        let refresh = refresh.expect("v2 issues a refresh token");
        assert!(token.len() >= 32 && token != refresh);
        assert_eq!(sessions.check(&token, now), Ok(()));
        assert_eq!(sessions.check(&token, now + Duration::from_secs(61)), Err(Refused::Expired));
        assert_eq!(sessions.check("nope", now), Err(Refused::Invalid));
        sessions.expire_all(now);
        assert_eq!(sessions.check(&token, now), Err(Refused::Expired));
        assert!(sessions.redeem(&refresh, now));
        assert!(!sessions.redeem(&refresh, now));
        let (_, late) = sessions.issue(now, true);
        assert!(!sessions.redeem(&late.expect("refresh"), now + Duration::from_secs(601)));
        assert_eq!(sessions.issue(now, false).1, None);
    }

    #[test]
    fn locks_after_consecutive_failures_only() {
        let mut sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600), 2);
        sessions.failed();
        sessions.issue(Instant::now(), false);
        sessions.failed();
        assert!(!sessions.locked());
        sessions.failed();
        assert!(sessions.locked());
        sessions.set_locked(false);
        assert!(!sessions.locked());
    }
}
