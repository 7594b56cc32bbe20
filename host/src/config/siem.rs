//! The `[siem]` section: where security events are delivered. Each target has its own formatter
//! (a plugin instance of kind `siem`), its own transport and its own durable queue.
//!
//! ```toml
//! Queues live in the connector's durable store (`[store] dir`).
//!
//! [siem.targets.soc]
//! formatter = "siem-cef"              # an instance of kind "siem"
//! transport = "tls"                   # udp | tcp | tls | https
//! address = "siem.corp.example:6514"  # udp, tcp, tls
//! ca_file = "siem-ca.pem"             # tls, https: trust only this CA (default: the system's)
//! client_cert = "certs/connector.pem" # tls, https: optional client certificate and key
//! client_key = "certs/connector.key"
//! keep_tokens = false                 # true: personal data stays tokens for this SIEM
//! max_queue = 1000000                 # events waiting at most; beyond, event tasks are refused
//!
//! [siem.targets.splunk]
//! formatter = "siem-json"
//! transport = "https"
//! url = "https://hec.corp.example:8088/services/collector/raw"
//! token = { file = "secrets/hec-token" }   # sent as `Authorization: Splunk <token>`
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use super::relay::parse_origin;
use super::{KeyPath, Validator};
use crate::capabilities::secrets::SecretRef;
use crate::capabilities::tls;
use crate::ids::InstanceName;

pub const DEFAULT_MAX_QUEUE: u64 = 1_000_000;
const MAX_MAX_QUEUE: u64 = 100_000_000;

/// The validated `[siem]` section.
#[derive(Debug)]
pub struct SiemConfig {
    pub targets: BTreeMap<String, TargetConfig>,
}

#[derive(Debug)]
pub struct TargetConfig {
    pub formatter: InstanceName,
    pub transport: Transport,
    pub keep_tokens: bool,
    pub max_queue: u64,
}

/// How a target's records travel.
pub enum Transport {
    /// RFC 5426: one record per datagram.
    Udp { address: String },
    /// RFC 6587: a stream, records framed as the formatter asks (octet counting or lines).
    Tcp { address: String },
    /// RFC 5425: the stream of `Tcp` inside verified TLS.
    Tls { address: String, host: String, tls: Arc<ClientConfig> },
    /// JSON collectors (Splunk HEC, Elastic): records POSTed in batches.
    Https { host: String, port: u16, path: String, tls: Arc<ClientConfig>, token: Option<SecretString> },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Udp { address } => write!(f, "udp://{address}"),
            Transport::Tcp { address } => write!(f, "tcp://{address}"),
            Transport::Tls { address, .. } => write!(f, "tls://{address}"),
            Transport::Https { host, port, path, .. } => write!(f, "https://{host}:{port}{path}"),
        }
    }
}

impl Transport {
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Udp { .. } => "udp",
            Transport::Tcp { .. } => "tcp",
            Transport::Tls { .. } => "tls",
            Transport::Https { .. } => "https",
        }
    }
}

/// Where security events are delivered. Each target has its own formatter, transport and
/// durable queue (in `[store] dir`): events wait there while a SIEM is unreachable.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSiem {
    /// SIEM targets by name (letters, digits, `-`, `_`).
    #[serde(default)]
    targets: BTreeMap<String, RawTarget>,
}

/// The transports a SIEM target can use.
const TRANSPORTS: [&str; 4] = ["udp", "tcp", "tls", "https"];

/// One SIEM: how its events are formatted and how they travel.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    /// The name of an instance of kind `siem` that formats the events (CEF, LEEF, RFC 5424, JSON).
    formatter: String,
    /// `udp`, `tcp` (syslog, octet-counted frames), `tls` (syslog over TLS) or `https` (e.g.
    /// Splunk HEC).
    #[schemars(extend("enum" = TRANSPORTS))]
    transport: String,
    /// `host:port` of the SIEM, for `udp`, `tcp` and `tls`.
    address: Option<String>,
    /// `https://host[:port]/path` events are POSTed to, for `https`.
    url: Option<String>,
    /// For `tls` and `https`: a PEM file of the CAs the SIEM's certificate is checked against.
    #[schemars(extend("x-default" = "the system's trusted CAs"))]
    ca_file: Option<PathBuf>,
    /// For `tls` and `https`: a client certificate chain (PEM), with `client_key`.
    client_cert: Option<PathBuf>,
    /// The private key (PEM) of `client_cert`.
    client_key: Option<PathBuf>,
    /// For `https`: sent as `Authorization: Splunk <token>`.
    token: Option<SecretRef>,
    /// `true`: personal data stays as tokens in this SIEM's events instead of being restored
    /// to plaintext on the premises.
    #[serde(default)]
    keep_tokens: bool,
    /// Events waiting at most (1 to 100000000); beyond, event tasks are refused as retryable.
    #[schemars(extend("default" = DEFAULT_MAX_QUEUE))]
    max_queue: Option<u64>,
}

impl Validator<'_> {
    pub(super) fn siem(&mut self, base: &Path, raw: RawSiem) -> Option<SiemConfig> {
        let key = KeyPath::root().key("siem");
        let errors_before = self.error_count();
        let mut targets = BTreeMap::new();
        for (name, raw_target) in raw.targets {
            let key = key.key("targets").key(&name);
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                self.error(key.clone(), "a target name is letters, digits, `-` and `_`");
                continue;
            }
            if let Some(target) = self.target(&key, base, raw_target) {
                targets.insert(name, target);
            }
        }
        if self.error_count() > errors_before {
            return None;
        }
        Some(SiemConfig { targets })
    }

    fn target(&mut self, key: &KeyPath, base: &Path, raw: RawTarget) -> Option<TargetConfig> {
        let formatter = match InstanceName::new(raw.formatter) {
            Ok(name) => Some(name),
            Err(e) => {
                self.error(key.key("formatter"), e.to_string());
                None
            }
        };
        let max_queue = raw.max_queue.unwrap_or(DEFAULT_MAX_QUEUE);
        if max_queue == 0 || max_queue > MAX_MAX_QUEUE {
            self.error(key.key("max_queue"), format!("must be between 1 and {MAX_MAX_QUEUE}"));
        }
        let stream = matches!(raw.transport.as_str(), "tls" | "https");
        let tls = if stream {
            let identity = match (&raw.client_cert, &raw.client_key) {
                (Some(cert), Some(k)) => Some((base.join(cert), base.join(k))),
                (None, None) => None,
                _ => {
                    self.error(key.key("client_cert"), "give both `client_cert` and `client_key`, or neither");
                    None
                }
            };
            let ca_file = raw.ca_file.as_ref().map(|f| base.join(f));
            match tls::client_config_with_identity(ca_file.as_deref(), identity.as_ref()) {
                Ok(tls) => Some(tls),
                Err(e) => {
                    self.error(key.key(if ca_file.is_some() { "ca_file" } else { "client_cert" }), e.to_string());
                    None
                }
            }
        } else {
            for (name, given) in [
                ("ca_file", raw.ca_file.is_some()),
                ("client_cert", raw.client_cert.is_some()),
                ("client_key", raw.client_key.is_some()),
            ] {
                if given {
                    self.error(
                        key.key(name),
                        format!("only for transport \"tls\" or \"https\", not \"{}\"", raw.transport),
                    );
                }
            }
            None
        };
        let token = match (&raw.token, raw.transport.as_str()) {
            (Some(token), "https") => self.secret(key.key("token"), base, token),
            (Some(_), other) => {
                self.error(key.key("token"), format!("only for transport \"https\", not \"{other}\""));
                None
            }
            (None, _) => None,
        };
        let address = |this: &mut Self| match &raw.address {
            Some(address) if valid_address(address) => Some(address.clone()),
            Some(address) => {
                this.error(key.key("address"), format!("`{address}` is not host:port"));
                None
            }
            None => {
                this.error(
                    key.key("address"),
                    format!("missing: transport \"{}\" needs `address = \"host:port\"`", raw.transport),
                );
                None
            }
        };
        let transport = match raw.transport.as_str() {
            "udp" => address(self).map(|address| Transport::Udp { address }),
            "tcp" => address(self).map(|address| Transport::Tcp { address }),
            "tls" => address(self).and_then(|address| {
                let host = host_of(&address);
                Some(Transport::Tls { address, host, tls: tls? })
            }),
            "https" => match raw.url.as_deref().map(split_url) {
                Some(Ok((host, port, path))) => tls.map(|tls| Transport::Https { host, port, path, tls, token }),
                Some(Err(e)) => {
                    self.error(key.key("url"), e);
                    None
                }
                None => {
                    self.error(key.key("url"), "missing: transport \"https\" needs `url = \"https://…\"`");
                    None
                }
            },
            other => {
                self.error(key.key("transport"), format!("`{other}` is not one of {}", TRANSPORTS.join(", ")));
                None
            }
        };
        Some(TargetConfig { formatter: formatter?, transport: transport?, keep_tokens: raw.keep_tokens, max_queue })
    }
}

/// `host:port` with a port number (hosts in brackets for IPv6).
fn valid_address(address: &str) -> bool {
    address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

fn host_of(address: &str) -> String {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']').to_string()
}

/// `https://host[:port]/path` → (host, port, path and query).
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let origin = format!("https://{}", uri.authority().map(|a| a.as_str()).unwrap_or_default());
    let (host, port) = parse_origin(&origin, "https")?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("`{url}`: must be a https:// URL"));
    }
    let path = uri.path_and_query().map_or("/".to_string(), |p| p.as_str().to_string());
    Ok((host, port, path))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn targets_are_validated_with_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.toml");
        std::fs::create_dir(dir.path().join("plugins")).expect("mkdir");
        std::fs::write(dir.path().join("plugins/cef.wasm"), b"").expect("plugin file");
        let instance = "[instances.cef]\nplugin = \"cef.wasm\"\nkind = \"siem\"\n";
        let good = "[siem.targets.soc]\nformatter = \"cef\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:514\"\n\
                    [siem.targets.udp]\nformatter = \"cef\"\ntransport = \"udp\"\naddress = \"[::1]:514\"\nkeep_tokens = true\n";
        let config = Config::parse(&file, &format!("{good}{instance}")).expect("valid");
        let siem = config.siem.expect("[siem]");
        assert_eq!(siem.targets.len(), 2);
        assert_eq!(siem.targets["soc"].transport.name(), "tcp");
        assert!(siem.targets["udp"].keep_tokens);
        assert_eq!(config.store_dir, dir.path().join("store"));

        let bad = "[siem.targets.a]\nformatter = \"cef\"\ntransport = \"carrier-pigeon\"\n\
                   [siem.targets.b]\nformatter = \"cef\"\ntransport = \"tcp\"\naddress = \"nowhere\"\nca_file = \"x.pem\"\n\
                   [siem.targets.c]\nformatter = \"cef\"\ntransport = \"https\"\nurl = \"http://hec\"\n";
        let errors: Vec<String> =
            Config::parse(&file, bad).expect_err("refused").errors().map(|d| d.to_string()).collect();
        let shown = file.display();
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{shown}:3:13: siem.targets.a.transport: `carrier-pigeon`"))),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{shown}:7:11: siem.targets.b.address: `nowhere`"))),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("siem.targets.b.ca_file: only for transport")), "{errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("siem.targets.c.url: `http://hec`: must be a https://")),
            "{errors:?}"
        );

        let unknown = "[siem.targets.soc]\nformatter = \"nope\"\ntransport = \"tcp\"\naddress = \"h:1\"\n";
        let errors: Vec<String> = Config::parse(&file, &format!("{unknown}{instance}"))
            .expect_err("refused")
            .errors()
            .map(|d| d.to_string())
            .collect();
        assert!(errors[0].contains("siem.targets.soc.formatter: no instance named `nope`"), "{errors:?}");
    }
}
