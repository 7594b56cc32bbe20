//! What the emulators' test clients answer (feature `test-client`). The clients themselves stay
//! with each emulator's tests: one speaks plain HTTP with MaaS360 logins, the other HTTPS trusting
//! a private CA with relay calls.

use hyper::header::HeaderMap;
use serde_json::Value;

/// A response, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body as JSON; panics (failing the test) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header's value, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
