//! The `[relay]` section: where the cloud relay is, how the connector proves who it is, and how
//! it gets out of the network.
//!
//! ```toml
//! [relay]
//! url = "https://relay.example.com"                        # https only
//! enrollment_token = { file = "secrets/enrollment-token" }  # from the cloud dashboard
//! ca_file = "certs/relay-ca.pem"        # trust only this CA for the relay (default: system)
//! client_cert = "certs/connector.pem"   # mutual TLS, with client_key (optional)
//! client_key = "certs/connector.key"
//! capacity = 256                        # tasks held at once (flow control)
//! drain = "10s"                         # on shutdown, how long running tasks may finish
//!
//! [relay.proxy]                         # corporate forward proxy (HTTP CONNECT)
//! url = "http://proxy.corp.example:3128"
//! username = "svc-connector"
//! password = { file = "secrets/proxy-password" }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use super::schema::{self, DurationText};
use super::{KeyPath, Validator};
use crate::capabilities::secrets::SecretRef;
use crate::capabilities::tls;

pub const DEFAULT_CAPACITY: u32 = 256;
const MAX_CAPACITY: u32 = 65_536;
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

/// A validated `[relay]` section.
#[derive(Debug)]
pub struct RelayConfig {
    /// The relay's host, as in its certificate.
    pub host: String,
    pub port: u16,
    /// `https://host:port`, for messages.
    pub origin: String,
    pub enrollment_token: SecretString,
    pub tls: Arc<ClientConfig>,
    pub proxy: Option<ProxyConfig>,
    pub capacity: u32,
    pub drain: Duration,
}

/// A forward proxy reached over plain TCP that opens tunnels with `CONNECT`.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub host: String,
    pub port: u16,
    /// `Basic …`, the value of `Proxy-Authorization`, when credentials are configured.
    pub authorization: Option<SecretString>,
}

/// The cloud relay the connector takes tasks from. The connector dials out over HTTPS (through
/// `[relay.proxy]` when set) and never accepts connections from the cloud.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelay {
    /// The relay's origin, `https://host[:port]`.
    url: String,
    /// The connector's enrollment token, from the cloud dashboard.
    enrollment_token: SecretRef,
    /// A PEM file of the CAs the relay's (and the dashboard's) certificate is checked against.
    #[schemars(extend("x-default" = "the system's trusted CAs"))]
    ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM) for mutual TLS, with `client_key`.
    client_cert: Option<PathBuf>,
    /// The private key (PEM) of `client_cert`.
    client_key: Option<PathBuf>,
    /// Tasks held at once (flow control: the relay sends no more until some finish); 1 to 65536.
    #[schemars(extend("default" = DEFAULT_CAPACITY))]
    capacity: Option<u32>,
    /// On shutdown (SIGTERM), how long running tasks may finish before they are abandoned (and
    /// re-offered by the relay); at most 1h.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(DEFAULT_DRAIN)))]
    drain: Option<Duration>,
    proxy: Option<RawProxy>,
}

/// The corporate forward proxy (HTTP CONNECT) the connector reaches the relay and the dashboard
/// through. TLS runs end to end through it: the proxy sees only host names.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    /// The proxy, `http://host:port`.
    url: String,
    /// Basic authentication at the proxy, with `password`.
    username: Option<String>,
    /// The password of `username`.
    password: Option<SecretRef>,
}

impl Validator<'_> {
    pub(super) fn relay(&mut self, base: &Path, raw: RawRelay) -> Option<RelayConfig> {
        let key = KeyPath::root().key("relay");
        let errors_before = self.error_count();
        let endpoint = match parse_origin(&raw.url, "https") {
            Ok(endpoint) => Some(endpoint),
            Err(e) => {
                self.error(key.key("url"), e);
                None
            }
        };
        let enrollment_token = self.secret(key.key("enrollment_token"), base, &raw.enrollment_token);
        let identity = match (&raw.client_cert, &raw.client_key) {
            (Some(cert), Some(key_file)) => Some((base.join(cert), base.join(key_file))),
            (None, None) => None,
            (Some(_), None) => {
                self.error(key.key("client_cert"), "needs `client_key` too");
                None
            }
            (None, Some(_)) => {
                self.error(key.key("client_key"), "needs `client_cert` too");
                None
            }
        };
        let ca_file = raw.ca_file.map(|f| base.join(f));
        let tls = match tls::client_config_with_identity(ca_file.as_deref(), identity.as_ref()) {
            Ok(tls) => Some(tls),
            Err(e) => {
                let at = match &e {
                    tls::TlsConfigError::Identity { .. } => key.key("client_cert"),
                    _ if ca_file.is_some() => key.key("ca_file"),
                    _ => key.clone(),
                };
                self.error(at, e.to_string());
                None
            }
        };
        let capacity = raw.capacity.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 || capacity > MAX_CAPACITY {
            self.error(key.key("capacity"), format!("must be between 1 and {MAX_CAPACITY}"));
        }
        let drain = raw.drain.unwrap_or(DEFAULT_DRAIN);
        if drain > Duration::from_secs(3600) {
            self.error(key.key("drain"), "must be at most 1h");
        }
        let proxy = raw.proxy.and_then(|p| self.proxy(&key.key("proxy"), base, p));
        if self.error_count() > errors_before {
            return None;
        }
        let (host, port) = endpoint?;
        Some(RelayConfig {
            origin: format!("https://{host}:{port}"),
            host,
            port,
            enrollment_token: enrollment_token?,
            tls: tls?,
            proxy,
            capacity,
            drain,
        })
    }

    fn proxy(&mut self, key: &KeyPath, base: &Path, raw: RawProxy) -> Option<ProxyConfig> {
        let endpoint = match parse_origin(&raw.url, "http") {
            Ok(endpoint) => Some(endpoint),
            Err(e) => {
                self.error(key.key("url"), e);
                None
            }
        };
        let authorization = match (raw.username, &raw.password) {
            (None, None) => None,
            (Some(user), Some(password)) => {
                let password = self.secret(key.key("password"), base, password)?;
                Some(basic_authorization(&user, &password))
            }
            (Some(_), None) => {
                self.error(key.key("username"), "needs `password` too");
                None
            }
            (None, Some(_)) => {
                self.error(key.key("password"), "needs `username` too");
                None
            }
        };
        let (host, port) = endpoint?;
        Some(ProxyConfig { host, port, authorization })
    }

    pub(super) fn secret(&mut self, key: KeyPath, base: &Path, secret: &SecretRef) -> Option<SecretString> {
        match secret.resolve(base) {
            Ok(resolved) => {
                if let Some(warning) = resolved.warning {
                    self.warning(key, warning);
                }
                Some(resolved.value)
            }
            Err(e) => {
                self.error(key, e.to_string());
                None
            }
        }
    }
}

fn basic_authorization(user: &str, password: &SecretString) -> SecretString {
    use base64::Engine;
    use secrecy::ExposeSecret;
    let pair = zeroize::Zeroizing::new(format!("{user}:{}", password.expose_secret()));
    SecretString::from(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())))
}

/// `scheme://host[:port]` with nothing after it but an optional `/`.
pub(super) fn parse_origin(url: &str, scheme: &str) -> Result<(String, u16), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some(scheme) {
        return Err(format!("`{url}`: must be a {scheme}:// URL"));
    }
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/" && !p.as_str().is_empty()) {
        return Err(format!("`{url}`: give only scheme, host and port, no path"));
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| format!("`{url}` has no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked() {
        assert_eq!(parse_origin("https://relay.example.com", "https"), Ok(("relay.example.com".into(), 443)));
        assert_eq!(parse_origin("https://127.0.0.1:8443/", "https"), Ok(("127.0.0.1".into(), 8443)));
        assert_eq!(parse_origin("http://[::1]:3128", "http"), Ok(("::1".into(), 3128)));
        assert!(parse_origin("http://relay.example.com", "https").is_err_and(|e| e.contains("must be a https://")));
        assert!(parse_origin("https://relay.example.com/v1", "https").is_err_and(|e| e.contains("no path")));
        assert!(parse_origin("relay", "https").is_err());
    }

    #[test]
    fn relay_sections_are_validated_with_lines() {
        use crate::config::Config;
        let dir = tempfile::tempdir().expect("tempdir");
        let token = dir.path().join("token");
        std::fs::write(&token, "enroll-me\n").expect("write");
        std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let file = dir.path().join("c.toml");
        let good = "[relay]\nurl = \"https://relay.example.com:8443\"\nenrollment_token = { file = \"token\" }\n\
                    capacity = 64\ndrain = \"3s\"\n[relay.proxy]\nurl = \"http://proxy.corp:3128\"\n";
        let config = Config::parse(&file, good).expect("valid");
        let relay = config.relay.expect("[relay]");
        assert_eq!((relay.host.as_str(), relay.port, relay.capacity), ("relay.example.com", 8443, 64));
        assert_eq!(relay.drain, Duration::from_secs(3));
        let proxy = relay.proxy.expect("proxy");
        assert_eq!((proxy.host.as_str(), proxy.port, proxy.authorization.is_none()), ("proxy.corp", 3128, true));

        let bad = "[relay]\nurl = \"http://relay.example.com\"\nenrollment_token = { file = \"missing\" }\n\
                   capacity = 0\nclient_cert = \"c.pem\"\n[relay.proxy]\nurl = \"http://proxy.corp:3128\"\nusername = \"svc\"\n";
        let errors: Vec<String> =
            Config::parse(&file, bad).expect_err("refused").errors().map(|d| d.to_string()).collect();
        let shown = file.display();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!("{shown}:2:7: relay.url: `http://relay.example.com`: must be a https://")),
            "{errors:?}"
        );
        assert!(errors[1].starts_with(&format!("{shown}:3:20: relay.enrollment_token: secret file")), "{errors:?}");
        assert!(
            errors[2].starts_with(&format!("{shown}:5:15: relay.client_cert: needs `client_key` too")),
            "{errors:?}"
        );
        assert!(errors[3].starts_with(&format!("{shown}:4:12: relay.capacity: must be between 1 and")), "{errors:?}");
        assert!(
            errors[4].starts_with(&format!("{shown}:8:12: relay.proxy.username: needs `password` too")),
            "{errors:?}"
        );
    }

    #[test]
    fn proxy_credentials_are_basic() {
        use secrecy::ExposeSecret;
        let header = basic_authorization("svc", &SecretString::from("p:w".to_string()));
        assert_eq!(header.expose_secret(), "Basic c3ZjOnA6dw==");
    }
}
