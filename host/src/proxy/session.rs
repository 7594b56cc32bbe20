//! Who is logged in: server-side sessions behind an opaque cookie, each with its CSRF token and
//! two clocks (idle and absolute). The cookie value is 256 random bits; the store keeps only its
//! SHA-256, so a memory dump or a log of the map yields no usable cookie.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

/// The session cookie. `__Host-` makes browsers insist on `Secure`, `Path=/` and no `Domain`, so
/// no other host (nor the dashboard's own cookies, rewritten to this origin) can set or shadow it.
pub const SESSION_COOKIE: &str = "__Host-msc-session";
/// The login form's double-submit cookie: a login CSRF token before there is a session.
pub const LOGIN_COOKIE: &str = "__Host-msc-login";
/// The most sessions kept at once; the least recently used goes first beyond it.
const MAX_SESSIONS: usize = 10_000;

/// A logged-in user, as the request handlers see it.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    /// `local` or `ldap`.
    pub method: &'static str,
    pub source: IpAddr,
    /// The synchronizer token state-changing forms of the proxy itself must carry.
    pub csrf: String,
    /// Until the absolute timeout ends the session, whatever the activity.
    pub expires_in: Duration,
}

struct Entry {
    session: Session,
    created: Instant,
    last_seen: Instant,
}

pub struct Sessions {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    idle: Duration,
    absolute: Duration,
}

impl Sessions {
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self { entries: Mutex::default(), idle, absolute }
    }

    /// Starts a session for a user who just proved who they are; returns the cookie value. Every
    /// login gets a new value, so a value planted before login (session fixation) never becomes
    /// a logged-in one.
    pub fn create(&self, user: &str, method: &'static str, source: IpAddr) -> String {
        let cookie = random_token();
        let now = Instant::now();
        let session =
            Session { user: user.to_string(), method, source, csrf: random_token(), expires_in: self.absolute };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        self.prune(&mut entries, now);
        if entries.len() >= MAX_SESSIONS
            && let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.last_seen).map(|(k, _)| *k)
        {
            entries.remove(&oldest);
        }
        entries.insert(digest(&cookie), Entry { session, created: now, last_seen: now });
        cookie
    }

    /// The live session behind a cookie value, its idle clock restarted; `None` when unknown or
    /// expired (an expired one is removed).
    pub fn get(&self, cookie: &str) -> Option<Session> {
        let key = digest(cookie);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get_mut(&key)?;
        if self.expired(entry, now) {
            entries.remove(&key);
            return None;
        }
        entry.last_seen = now;
        let mut session = entry.session.clone();
        session.expires_in = self.absolute.saturating_sub(now - entry.created);
        Some(session)
    }

    /// Ends a session (logout).
    pub fn remove(&self, cookie: &str) -> Option<Session> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(&digest(cookie)).map(|e| e.session)
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        now - entry.last_seen >= self.idle || now - entry.created >= self.absolute
    }

    fn prune(&self, entries: &mut HashMap<[u8; 32], Entry>, now: Instant) {
        entries.retain(|_, entry| !self.expired(entry, now));
    }
}

/// 256 random bits, base64url: session cookies, CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without the OS generator nothing secure can be issued: a fixed value would be guessable.
    if let Err(error) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random generator failed: {error}");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

/// Compares secrets in time that depends only on their lengths.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` for a new session: a browser-session cookie, never sent cross-site.
pub fn session_cookie(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// `Set-Cookie` that deletes `name`.
pub fn expired_cookie(name: &str) -> String {
    format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// `Set-Cookie` for the login form's CSRF token.
pub fn login_cookie(value: &str) -> String {
    format!("{LOGIN_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=3600")
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn sessions_are_found_by_cookie_only() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(3600));
        let cookie = sessions.create("alice", "local", HERE);
        let session = sessions.get(&cookie).expect("live");
        assert_eq!(session.user, "alice");
        assert!(sessions.get("forged").is_none());
        let again = sessions.create("alice", "local", HERE);
        assert_ne!(cookie, again, "each login gets a new cookie");
        assert_ne!(sessions.get(&again).expect("live").csrf, session.csrf);
        assert!(sessions.remove(&cookie).is_some());
        assert!(sessions.get(&cookie).is_none(), "logged out");
        assert!(sessions.get(&again).is_some());
    }

    #[test]
    fn idle_and_absolute_timeouts_end_sessions() {
        let idle = Sessions::new(Duration::from_millis(50), Duration::from_secs(3600));
        let cookie = idle.create("alice", "local", HERE);
        std::thread::sleep(Duration::from_millis(80));
        assert!(idle.get(&cookie).is_none(), "idle too long");

        let absolute = Sessions::new(Duration::from_millis(60), Duration::from_millis(150));
        let cookie = absolute.create("alice", "local", HERE);
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(40));
            assert!(absolute.get(&cookie).is_some(), "activity keeps it alive");
        }
        std::thread::sleep(Duration::from_millis(40));
        assert!(absolute.get(&cookie).is_none(), "absolute timeout, however active");
    }

    #[test]
    fn cookies_are_parsed_and_compared() {
        let mut headers = http::HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1; __Host-msc-session=abc".parse().expect("header"));
        headers.append(http::header::COOKIE, "b=2".parse().expect("header"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
        assert_eq!(random_token().len(), 43);
    }
}
