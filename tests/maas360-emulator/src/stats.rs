//! Counters of what the emulator served, so tests can prove what a client did.

use std::collections::BTreeMap;

use serde::Serialize;

/// What the emulator has seen since it started.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Login requests (v1 and v2) that reached authentication, whatever their outcome.
    pub authenticate: u64,
    /// Logins that issued a token.
    pub authenticate_ok: u64,
    /// Token refresh requests that reached authentication, whatever their outcome.
    pub refresh: u64,
    /// Refreshes that issued a token.
    pub refresh_ok: u64,
    /// Requests per endpoint (`search_v2`, `software_installed`, …), counted on arrival, faults included.
    pub requests: BTreeMap<String, u64>,
    /// Device-list requests served (`search` v1/v2 and `searchByDeviceGroup` that passed
    /// authentication and parameter checks): what a churn counts.
    pub device_list_requests: u64,
    /// 401 answers (token missing, invalid or expired).
    pub unauthorized: u64,
    /// 429 answers (throttle and rate limit).
    pub throttled: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// HTML pages served in place of an API answer (session bounces and HTML login errors).
    pub html_pages: u64,
    /// `setCustomAttributeValue` calls that passed authentication, whatever their outcome.
    pub set_attribute: u64,
    /// The largest `pageSize` a device list was asked for (including refused sizes).
    pub max_page_size: u32,
}

impl Stats {
    pub(crate) fn request(&mut self, endpoint: &'static str) {
        *self.requests.entry(endpoint.to_string()).or_default() += 1;
    }

    /// Counts an answer by its status.
    pub(crate) fn answered(&mut self, status: u16) {
        match status {
            401 => self.unauthorized += 1,
            429 => self.throttled += 1,
            500..=599 => self.server_errors += 1,
            _ => {}
        }
    }
}
