//! What an emulated MaaS360 tenant looks like: its credentials, its size and how it misbehaves.

use std::time::Duration;

/// The tenant the emulator serves. `Default` gives the demo tenant described in the README.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The customer's billing ID; every path carries it.
    pub billing_id: String,
    /// The API administrator's user name.
    pub username: String,
    /// The API administrator's password.
    pub password: String,
    /// The registered API app's ID.
    pub app_id: String,
    /// The registered API app's version.
    pub app_version: String,
    /// The registered API app's access key.
    pub access_key: String,
    /// How many devices to generate.
    pub devices: usize,
    /// Seed of the generated data: the same seed gives the same devices.
    pub seed: u64,
    /// How long an auth token is accepted.
    pub token_ttl: Duration,
    /// How long a refresh token is accepted (each is also single use).
    pub refresh_ttl: Duration,
    /// Requests per second over all API endpoints; `None` = unlimited.
    pub rate_limit: Option<u32>,
    /// Serve the documented quirks (single-item lists as objects, numbers for strings, …).
    pub quirks: bool,
    /// Consecutive bad passwords that lock the account; 0 = never lock.
    pub lock_after_failures: u32,
    /// Answer bad credentials and a locked account with the HTML login page instead of a JSON error.
    pub html_login_errors: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            billing_id: "30012345".to_string(),
            username: "mp_api_admin".to_string(),
            password: "demo-password".to_string(),
            app_id: "com.msc.connector".to_string(),
            app_version: "1.0".to_string(),
            access_key: "demo-access-key".to_string(),
            devices: 1000,
            seed: 1,
            token_ttl: Duration::from_secs(60 * 60),
            refresh_ttl: Duration::from_secs(24 * 60 * 60),
            rate_limit: None,
            quirks: true,
            lock_after_failures: 5,
            html_login_errors: false,
        }
    }
}
