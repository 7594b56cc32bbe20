//! A small HTTPS client for the emulator's tests, trusting its private CA, and the relay calls
//! every test makes.

#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use cloud_emulator::{Emulator, EmulatorConfig};
pub use emulator_kit::client::Answer;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

pub const ENROLLMENT: &str = "demo-enrollment-token";
pub const KEYRING: &str = "9c1e0b5d2f3a4e6c8b7a9d0e1f2a3b4c";

#[derive(Clone)]
pub struct Client {
    http: HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    origin: String,
}

impl Client {
    pub fn new(emulator: &Emulator) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(emulator.ca_pem().as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
        Self { http: HyperClient::builder(TokioExecutor::new()).build(https), origin: emulator.origin() }
    }

    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Answer, String> {
        let mut request = Request::builder().method(method).uri(format!("{}{path}", self.origin));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).expect("request");
        let response = self.http.request(request).await.map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
    }

    /// The response with its body unread, for streams.
    pub async fn open(&self, path: &str, headers: &[(&str, &str)]) -> hyper::Response<hyper::body::Incoming> {
        let mut request = Request::builder().uri(format!("{}{path}", self.origin));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.http.request(request.body(Full::default()).expect("request")).await.expect("the emulator answers")
    }

    pub async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
        self.try_send(method, path, headers, body).await.expect("the emulator answers")
    }

    /// A relay request: protocol header, JSON, bearer `token`.
    pub async fn relay(&self, path: &str, token: &str, body: &Value) -> Answer {
        let bearer = format!("Bearer {token}");
        let headers =
            [("msc-relay-protocol", "1"), ("content-type", "application/json"), ("authorization", bearer.as_str())];
        self.send(Method::POST, &format!("/relay/v1/{path}"), &headers, body.to_string()).await
    }

    pub async fn register_as(&self, enrollment: &str, name: &str, keyring: &str) -> Answer {
        let body = json!({"protocol": 1, "connector": {"name": name, "version": "0.1.0", "run": format!("run-{name}")},
            "keyring": keyring, "capacity": 256,
            "instances": [{"name": "maas360", "kind": "uem"}, {"name": "siem-cef", "kind": "siem"}]});
        self.relay("register", enrollment, &body).await
    }

    /// Registers `name` with the demo token and keyring: (session, connector_id).
    pub async fn register(&self, name: &str) -> (String, String) {
        let answer = self.register_as(ENROLLMENT, name, KEYRING).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let json = answer.json();
        (json["session"].as_str().expect("session").to_string(), json["connector_id"].as_str().expect("id").to_string())
    }

    /// A poll; the tasks it got.
    pub async fn poll(&self, session: &str, credit: u64, wait_ms: u64) -> Vec<Value> {
        let answer = self.relay("poll", session, &json!({"credit": credit, "wait_ms": wait_ms})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["tasks"].as_array().expect("tasks").clone()
    }

    /// Posts an ok result for each task; the answer's JSON.
    pub async fn complete(&self, session: &str, tasks: &[Value]) -> Value {
        let results: Vec<Value> = tasks
            .iter()
            .map(|t| json!({"task": t["id"], "attempt": t["attempt"], "status": "ok", "result": {"checks": []}}))
            .collect();
        let answer = self.relay("results", session, &json!({ "results": results })).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()
    }

    pub async fn admin(&self, emulator: &Emulator, method: Method, path: &str, body: &Value) -> Answer {
        let bearer = format!("Bearer {}", emulator.admin_token());
        let body = if body.is_null() { String::new() } else { body.to_string() };
        self.send(method, path, &[("authorization", bearer.as_str())], body).await
    }

    pub async fn dashboard(&self, path: &str, token: &str) -> Answer {
        let bearer = format!("Bearer {token}");
        self.send(Method::GET, path, &[("authorization", bearer.as_str())], "").await
    }
}

/// An emulator with default settings and a client trusting it.
pub async fn start() -> (Emulator, Client) {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> (Emulator, Client) {
    let emulator = Emulator::start(config).await.expect("the emulator starts");
    let client = Client::new(&emulator);
    (emulator, client)
}

/// A device line as `connector uem sync --output` writes it.
pub fn line(id: &str, name: Value, email: Value, model: &str) -> Value {
    json!({"instance": "maas360", "device": {"id": id, "name": name, "owner": "pii1_b3duZXI", "user_name": null,
        "email": email, "phone": "", "platform": "ios", "os_name": "iOS", "os_version": "17.4.1",
        "manufacturer": "Apple", "model": model, "ownership": "corporate", "status": "active",
        "last_seen_ms": 1_793_491_200_000u64, "managed": true, "groups": ["MP_Devices_Group"], "attributes": []},
        "apps": [{"name": "Mail", "identifier": "com.apple.mobilemail", "version": "17.4", "size_bytes": 1000,
                  "managed": false, "attributes": []}]})
}
