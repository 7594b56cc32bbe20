//! A small HTTPS client for the emulator's tests, trusting its private CA, and the relay calls
//! every test makes.

#![allow(dead_code)]

use bytes::Bytes;
use cloud_emulator::{Emulator, EmulatorConfig};
pub use emulator_kit::client::Answer;
use emulator_kit::client::HttpsClient;
use hyper::Method;
use serde_json::{Value, json};

pub const ENROLLMENT: &str = "demo-enrollment-token";
pub const KEYRING: &str = "9c1e0b5d2f3a4e6c8b7a9d0e1f2a3b4c";

#[derive(Clone)]
pub struct Client {
    https: HttpsClient,
}

impl Client {
    pub fn new(emulator: &Emulator) -> Self {
        Self { https: HttpsClient::new(emulator.origin(), emulator.ca_pem()) }
    }

    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Answer, String> {
        self.https.try_send(method, path, headers, body).await
    }

    /// The response with its body unread, for streams.
    pub async fn open(&self, path: &str, headers: &[(&str, &str)]) -> hyper::Response<hyper::body::Incoming> {
        self.https.open(Method::GET, path, headers, Bytes::new()).await.expect("the emulator answers")
    }

    pub async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
        self.https.send(method, path, headers, body).await
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
