//! What an emulated cloud looks like: its identity groups, its relay timings and its secrets.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

/// The cloud the emulator serves. `Default` gives the demo cloud described in the README: one
/// group `default` (enrollment token `demo-enrollment-token`), short timeouts so that failover
/// after a connector crash takes well under two seconds.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free one. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Identity groups as `(group, enrollment token)`; a group named more than once has several
    /// tokens. The first group is where [`TaskSpec`]s without a group go.
    pub groups: Vec<(String, String)>,
    /// Bearer token of the admin API; `None` draws a random one at start
    /// ([`crate::Emulator::admin_token`]).
    pub admin_token: Option<String>,
    /// Bearer token of the dashboard (`/dashboard`, `/api/`). The admin token works there too.
    pub dashboard_token: String,
    /// Told to connectors at registration: how often they heartbeat.
    pub heartbeat_ms: u64,
    /// A session that sends nothing for this long is dead and loses its leases.
    pub session_timeout_ms: u64,
    /// The longest a poll is held (a poll's `wait_ms` is capped to it).
    pub poll_wait_ms: u64,
    /// The most tasks one poll hands out.
    pub max_batch: usize,
    /// Serve this TLS configuration instead of a certificate from a new private CA
    /// ([`crate::Emulator::ca_pem`] is then empty).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// With the private CA: require every connector to present a client certificate signed by
    /// one of these CA certificates (PEM), as a relay binding connectors to certificates does.
    pub client_ca: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: (Ipv4Addr::LOCALHOST, 0).into(),
            groups: vec![("default".to_string(), "demo-enrollment-token".to_string())],
            admin_token: None,
            dashboard_token: "demo-dashboard-token".to_string(),
            heartbeat_ms: 500,
            session_timeout_ms: 1500,
            poll_wait_ms: 20_000,
            max_batch: 256,
            tls: None,
            client_ca: None,
        }
    }
}

/// A task to enqueue. `TaskSpec::new("uem.set-risk", Some("maas360"), json!({…}))`, or the
/// fields with `..TaskSpec::default()` (deadline 30 s, payload `{}`, the first group).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub kind: String,
    #[serde(default)]
    pub instance: Option<String>,
    #[serde(default = "empty_object")]
    pub payload: Value,
    #[serde(default = "default_deadline")]
    pub deadline_ms: u64,
    /// The identity group whose connectors get the task; `None` = the first configured group.
    #[serde(default)]
    pub group: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn default_deadline() -> u64 {
    30_000
}

impl Default for TaskSpec {
    fn default() -> Self {
        Self { kind: String::new(), instance: None, payload: empty_object(), deadline_ms: 30_000, group: None }
    }
}

impl TaskSpec {
    pub fn new(kind: &str, instance: Option<&str>, payload: Value) -> Self {
        Self { kind: kind.to_string(), instance: instance.map(str::to_string), payload, ..Self::default() }
    }
}
