//! The `[local_proxy]` section: the HTTPS listener admins browse the cloud dashboard through,
//! who may log in, and where the dashboard is. The dashboard is reached like the relay: through
//! `[relay.proxy]` when configured, trusting `[relay].ca_file`.
//!
//! ```toml
//! [local_proxy]
//! listen = "0.0.0.0:8443"
//! origin = "https://connector.corp.example:8443"  # as browsers reach it (default: https://<listen>)
//! cert_file = "tls/proxy.pem"                    # the admin's certificate and key; without them a
//! key_file = "tls/proxy.key"                     #   self-signed one is made in tls_dir on first start
//! dashboard_url = "https://dashboard.example.com"
//! dashboard_token = { file = "secrets/dashboard-token" }   # the connector's own credentials
//! users_file = "users.toml"                      # local users (`connector users add`)
//! audit_log = "proxy-audit.log"                  # who saw which records, without the plaintext
//! idle_timeout = "15m"
//! absolute_timeout = "8h"
//! max_failures_per_user = 5                      # failed logins within `lockout` before a lock
//! max_failures_per_address = 20
//! lockout = "15m"
//!
//! [local_proxy.ldap]                             # optional: the company directory (see login.rs)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use super::login::RawLdap;
use super::relay::parse_origin;
use super::schema::{self, DurationText};
use super::{KeyPath, ProxyConfig, RelayConfig, Validator};
use crate::capabilities::secrets::SecretRef;
use crate::proxy::ldap::LdapConfig;

/// The validated `[local_proxy]` section.
#[derive(Debug)]
pub struct LocalProxyConfig {
    pub listen: SocketAddr,
    /// `https://host[:port]` as browsers reach the proxy: redirects and cookies from the dashboard
    /// are rewritten to it, and state-changing requests must come from it.
    pub origin: String,
    pub certificate: CertificateSource,
    pub dashboard: DashboardConfig,
    pub users_file: PathBuf,
    pub ldap: Option<LdapConfig>,
    pub audit_log: PathBuf,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub throttle: ThrottleSettings,
}

/// Where the listener's certificate comes from.
#[derive(Debug, Clone)]
pub enum CertificateSource {
    /// The admin's certificate chain and key (PEM).
    Files { cert: PathBuf, key: PathBuf },
    /// A self-signed certificate kept in this folder, made on first start.
    SelfSigned { dir: PathBuf },
}

/// The cloud dashboard the proxy forwards to.
pub struct DashboardConfig {
    pub host: String,
    pub port: u16,
    pub origin: String,
    pub token: SecretString,
    pub tls: Arc<ClientConfig>,
    pub proxy: Option<ProxyConfig>,
}

impl std::fmt::Debug for DashboardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardConfig")
            .field("origin", &self.origin)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// Failed logins allowed within `window` before the user or address is locked out for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    pub per_user: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self { per_user: 5, per_address: 20, window: Duration::from_secs(15 * 60) }
    }
}

const DEFAULT_IDLE: Duration = Duration::from_secs(15 * 60);
const DEFAULT_ABSOLUTE: Duration = Duration::from_secs(8 * 3600);
const DEFAULT_TLS_DIR: &str = "local-proxy-tls";
const DEFAULT_USERS_FILE: &str = "users.toml";
const DEFAULT_AUDIT_LOG: &str = "local-proxy-audit.log";

/// The local proxy: the HTTPS listener admins browse the cloud dashboard through, seeing
/// personal data in plaintext that the cloud only holds as tokens. Needs `[relay]`: the dashboard
/// is reached through `[relay.proxy]` when set, trusting `[relay] ca_file`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLocalProxy {
    /// address:port browsers connect to, e.g. `0.0.0.0:8443`.
    listen: String,
    /// The origin browsers use to reach the proxy, e.g. `https://connector.corp.example:8443`;
    /// requests from other origins are refused (CSRF protection).
    #[schemars(extend("x-default" = "https://<listen> (localhost for 0.0.0.0)"))]
    origin: Option<String>,
    /// The proxy's certificate chain (PEM), with `key_file`. Without both, a self-signed
    /// certificate is made in `tls_dir` on first start.
    cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    key_file: Option<PathBuf>,
    /// Where the self-signed certificate is kept when `cert_file` is not set. Must be writable
    /// by the connector (under the packaged service: below /var/lib/msc).
    #[schemars(extend("default" = DEFAULT_TLS_DIR))]
    tls_dir: Option<PathBuf>,
    /// The cloud dashboard's origin, `https://…`.
    dashboard_url: String,
    /// The connector's own credentials for the dashboard (from the cloud console).
    dashboard_token: SecretRef,
    /// Local users and their argon2 password hashes (`connector users add`).
    #[schemars(extend("default" = DEFAULT_USERS_FILE))]
    users_file: Option<PathBuf>,
    /// Who saw which records through the proxy, and logins; never the plaintext. Must be
    /// writable by the connector.
    #[schemars(extend("default" = DEFAULT_AUDIT_LOG))]
    audit_log: Option<PathBuf>,
    /// A session without requests for this long ends (1m up to `absolute_timeout`).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(DEFAULT_IDLE)))]
    idle_timeout: Option<Duration>,
    /// Every session ends this long after login (at most 7 days).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(DEFAULT_ABSOLUTE)))]
    absolute_timeout: Option<Duration>,
    /// Failed logins for one user name within `lockout` before that name is locked (1 to 1000).
    #[schemars(extend("default" = ThrottleSettings::default().per_user))]
    max_failures_per_user: Option<u32>,
    /// Failed logins from one client address within `lockout` before it is locked (1 to 1000).
    #[schemars(extend("default" = ThrottleSettings::default().per_address))]
    max_failures_per_address: Option<u32>,
    /// The window failed logins are counted in, and how long a lock lasts (1s to 24h).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(ThrottleSettings::default().window)))]
    lockout: Option<Duration>,
    ldap: Option<RawLdap>,
}

impl Validator<'_> {
    pub(super) fn local_proxy(
        &mut self,
        base: &Path,
        raw: RawLocalProxy,
        relay: Option<&RelayConfig>,
    ) -> Option<LocalProxyConfig> {
        let key = KeyPath::root().key("local_proxy");
        let errors_before = self.error_count();
        let listen: Option<SocketAddr> = match raw.listen.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.error(
                    key.key("listen"),
                    format!("`{}` is not an address:port (e.g. \"0.0.0.0:8443\")", raw.listen),
                );
                None
            }
        };
        let origin = match (&raw.origin, listen) {
            (Some(origin), _) => match parse_origin(origin, "https") {
                Ok((host, port)) => Some(origin_of(&host, port)),
                Err(e) => {
                    self.error(key.key("origin"), e);
                    None
                }
            },
            (None, Some(listen)) => {
                let host = if listen.ip().is_unspecified() { "localhost".to_string() } else { listen.ip().to_string() };
                Some(origin_of(&host, listen.port()))
            }
            (None, None) => None,
        };
        let certificate = match (raw.cert_file, raw.key_file) {
            (Some(cert), Some(key_file)) => {
                Some(CertificateSource::Files { cert: base.join(cert), key: base.join(key_file) })
            }
            (None, None) => Some(CertificateSource::SelfSigned {
                dir: base.join(raw.tls_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_TLS_DIR))),
            }),
            (Some(_), None) => {
                self.error(key.key("cert_file"), "needs `key_file` too");
                None
            }
            (None, Some(_)) => {
                self.error(key.key("key_file"), "needs `cert_file` too");
                None
            }
        };
        let dashboard = match parse_origin(&raw.dashboard_url, "https") {
            Ok(endpoint) => Some(endpoint),
            Err(e) => {
                self.error(key.key("dashboard_url"), e);
                None
            }
        };
        let token = self.secret(key.key("dashboard_token"), base, &raw.dashboard_token);
        if relay.is_none() {
            self.error(
                key.clone(),
                "needs a [relay] section: the dashboard is reached through the relay's egress proxy and CA",
            );
        }
        let idle_timeout = raw.idle_timeout.unwrap_or(DEFAULT_IDLE);
        let absolute_timeout = raw.absolute_timeout.unwrap_or(DEFAULT_ABSOLUTE);
        if idle_timeout < Duration::from_secs(60) || idle_timeout > absolute_timeout {
            self.error(key.key("idle_timeout"), "must be at least 1m and at most absolute_timeout");
        }
        if absolute_timeout > Duration::from_secs(7 * 24 * 3600) {
            self.error(key.key("absolute_timeout"), "must be at most 7 days");
        }
        let defaults = ThrottleSettings::default();
        let throttle = ThrottleSettings {
            per_user: raw.max_failures_per_user.unwrap_or(defaults.per_user),
            per_address: raw.max_failures_per_address.unwrap_or(defaults.per_address),
            window: raw.lockout.unwrap_or(defaults.window),
        };
        for (name, value) in
            [("max_failures_per_user", throttle.per_user), ("max_failures_per_address", throttle.per_address)]
        {
            if value == 0 || value > 1000 {
                self.error(key.key(name), "must be between 1 and 1000");
            }
        }
        if throttle.window < Duration::from_secs(1) || throttle.window > Duration::from_secs(24 * 3600) {
            self.error(key.key("lockout"), "must be between 1s and 24h");
        }
        let ldap = raw.ldap.and_then(|raw| self.ldap(&key.key("ldap"), base, raw));
        if self.error_count() > errors_before {
            return None;
        }
        let relay = relay?;
        let (host, port) = dashboard?;
        Some(LocalProxyConfig {
            listen: listen?,
            origin: origin?,
            certificate: certificate?,
            dashboard: DashboardConfig {
                origin: origin_of(&host, port),
                host,
                port,
                token: token?,
                tls: relay.tls.clone(),
                proxy: relay.proxy.clone(),
            },
            users_file: base.join(raw.users_file.unwrap_or_else(|| PathBuf::from(DEFAULT_USERS_FILE))),
            ldap,
            audit_log: base.join(raw.audit_log.unwrap_or_else(|| PathBuf::from(DEFAULT_AUDIT_LOG))),
            idle_timeout,
            absolute_timeout,
            throttle,
        })
    }
}

/// `https://host[:port]`, the default port left out as browsers send it in `Origin`.
fn origin_of(host: &str, port: u16) -> String {
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    if port == 443 { format!("https://{host}") } else { format!("https://{host}:{port}") }
}
