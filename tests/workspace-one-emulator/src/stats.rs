//! Counters of what the emulator served, so tests can prove what a client did.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Requests per endpoint (`devices_search`, `tags_add_devices`, …), counted on arrival, faults
    /// included; the token endpoint is `token`.
    pub requests: BTreeMap<String, u64>,
    /// Token endpoint calls, whatever their outcome.
    pub token_requests: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Requests that authenticated with Basic credentials / a Bearer token (accepted or not).
    pub basic_auth: u64,
    pub bearer_auth: u64,
    /// 401 answers.
    pub unauthorized: u64,
    /// 403 answers (tenant code).
    pub forbidden: u64,
    /// 429 answers (scripted throttling and the exhausted quota).
    pub throttled: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// The largest page size a list was asked for (before the service caps it at 500).
    pub max_page_size: u64,
    /// Device additions and removals to tags that were accepted.
    pub tag_changes: u64,
}

impl Stats {
    pub(crate) fn request(&mut self, endpoint: &'static str) {
        *self.requests.entry(endpoint.to_string()).or_default() += 1;
    }

    pub(crate) fn answered(&mut self, status: u16) {
        match status {
            401 => self.unauthorized += 1,
            403 => self.forbidden += 1,
            429 => self.throttled += 1,
            500..=599 => self.server_errors += 1,
            _ => {}
        }
    }
}
