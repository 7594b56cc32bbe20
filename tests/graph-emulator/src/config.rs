//! What an emulated tenant looks like: its app registration, its mailboxes, and its limits.

use std::time::Duration;

/// The tenant the emulator serves. `Default` gives the tenant the README describes.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The tenant's primary domain; the token endpoint's path takes it or [`Self::tenant_id`].
    pub tenant: String,
    /// The tenant's directory id.
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// The client secret's value: the only secret the token endpoint accepts.
    pub client_secret: String,
    /// The client secret's id, which admins paste by mistake: refused like any wrong secret.
    pub client_secret_id: String,
    /// The secret is past its end date (AADSTS7000222).
    pub secret_expired: bool,
    /// How long issued tokens live (`expires_in`).
    pub token_lifetime: Duration,
    /// Resources (origins) besides Graph and the emulator itself that tokens may be asked for
    /// (`scope={resource}/.default`); others get AADSTS500011.
    pub extra_resources: Vec<String>,
    /// The app holds the application permission `Mail.Send` (with admin consent).
    pub mail_send: bool,
    /// The app holds `User.Read.All` (looking users up).
    pub user_read_all: bool,
    /// Users with an active mailbox, by UPN (or the id the emulator gives them).
    pub mailboxes: Vec<String>,
    /// Users whose mailbox is inactive, unlicensed or on-premises (404 MailboxNotEnabledForRESTAPI).
    pub disabled_mailboxes: Vec<String>,
    /// Mailboxes an application access policy keeps the app out of (403 ErrorAccessDenied).
    pub blocked_mailboxes: Vec<String>,
    /// Requests per app and mailbox in one [`Self::window`] (Graph: 10 000 per 10 minutes).
    pub requests_per_window: u32,
    pub window: Duration,
    /// Requests per app and mailbox at once (Graph: 4).
    pub max_concurrent: u32,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            tenant: "contoso.onmicrosoft.com".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            client_id: "6731de76-14a6-49ae-97bc-6eba6914391e".into(),
            client_secret: "Qx58Q~demo.client.secret.value".into(),
            client_secret_id: "a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b".into(),
            secret_expired: false,
            token_lifetime: Duration::from_secs(3599),
            extra_resources: Vec::new(),
            mail_send: true,
            user_read_all: true,
            mailboxes: vec!["alerts@contoso.com".into(), "soc@contoso.com".into()],
            disabled_mailboxes: vec!["onprem@contoso.com".into()],
            blocked_mailboxes: vec!["ceo@contoso.com".into()],
            requests_per_window: 10_000,
            window: Duration::from_secs(600),
            max_concurrent: 4,
        }
    }
}
