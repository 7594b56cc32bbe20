//! The integration tests' client: an HTTPS emulator behind a private CA, and requests with the
//! credentials a plugin would send.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
pub use emulator_kit::client::{Answer, HttpsClient};
use hyper::Method;
use workspace_one_emulator::private_ca::PrivateCa;
use workspace_one_emulator::{Emulator, EmulatorConfig};

pub const JSON_V1: &str = "application/json;version=1";

pub struct Session {
    pub emulator: Emulator,
    pub client: HttpsClient,
    pub config: EmulatorConfig,
}

impl Session {
    /// An HTTPS emulator of `devices` devices with the risk tags pre-created under prefix `MTD`.
    pub async fn start(devices: usize) -> Self {
        let config = EmulatorConfig { devices, risk_tag_prefix: Some("MTD".to_string()), ..EmulatorConfig::default() };
        let ca = PrivateCa::new("workspace-one-emulator test CA").expect("CA");
        let emulator =
            Emulator::start_tls(config.clone(), ca.server_config().expect("TLS config")).await.expect("starts");
        let client = HttpsClient::new(emulator.origin(), &ca.ca_pem);
        Self { emulator, client, config }
    }

    pub fn basic(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.config.username, self.config.password)))
    }

    /// A request with Basic credentials, the tenant code and `accept`.
    pub async fn call(&self, method: Method, path: &str, accept: &str, body: &str) -> Answer {
        let basic = self.basic();
        let headers = [
            ("authorization", basic.as_str()),
            ("aw-tenant-code", self.config.tenant_code.as_str()),
            ("accept", accept),
            ("content-type", "application/json"),
        ];
        self.client.send(method, path, &headers, body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, JSON_V1, "").await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        self.call(Method::POST, path, JSON_V1, body).await
    }

    /// A client-credentials access token.
    pub async fn token(&self) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            self.config.client_id, self.config.client_secret
        );
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let answer = self.client.send(Method::POST, "/connect/token", &headers, form).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["access_token"].as_str().expect("token").to_string()
    }
}
