//! What an emulated Workspace ONE UEM tenant looks like: its credentials, its size and its limits.

use std::time::Duration;

/// The tenant the emulator serves. `Default` gives the demo tenant described in the README.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The REST API key, sent as `aw-tenant-code`.
    pub tenant_code: String,
    /// The basic-auth API administrator.
    pub username: String,
    pub password: String,
    /// The OAuth client of the client-credentials grant.
    pub client_id: String,
    pub client_secret: String,
    /// How long an OAuth access token is accepted (the service: 3600 s).
    pub token_ttl: Duration,
    /// How many devices to generate.
    pub devices: usize,
    /// Seed of the generated data: the same seed gives the same devices.
    pub seed: u64,
    /// The per-tenant daily request quota in `x-ratelimit-limit`; 429 once it is used up.
    pub daily_quota: u32,
    /// Pre-create `<prefix>_Risk_{None,Low,Medium,High}` at the top organization group, as the
    /// vendor's MTD guide asks admins to; `None` leaves the tenant without tags.
    pub risk_tag_prefix: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            tenant_code: "demo-tenant-code".to_string(),
            username: "ws1_api_admin".to_string(),
            password: "demo-password".to_string(),
            client_id: "demo-client".to_string(),
            client_secret: "demo-client-secret".to_string(),
            token_ttl: Duration::from_secs(3600),
            devices: 200,
            seed: 1,
            daily_quota: 250_000,
            risk_tag_prefix: None,
        }
    }
}
