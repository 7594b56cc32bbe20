//! Counters of what the emulator served, so tests can prove what a client did (and did not do).

use std::collections::BTreeMap;

use serde::Serialize;

/// What the emulator has seen since it started.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Requests to the token endpoint, whatever their outcome.
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// `sendMail` requests that arrived, whatever their outcome.
    pub send_requests: u64,
    /// Messages taken (stored), including those answered 504.
    pub accepted: u64,
    /// `GET /users/{id}` requests.
    pub user_lookups: u64,
    /// Graph answers (not the token endpoint's) by HTTP status.
    pub answers: BTreeMap<u16, u64>,
    /// The most `sendMail` requests in flight at once for one app and mailbox.
    pub max_concurrent: u32,
}

impl Stats {
    /// Graph answers with `status`.
    pub fn answered(&self, status: u16) -> u64 {
        self.answers.get(&status).copied().unwrap_or(0)
    }
}
