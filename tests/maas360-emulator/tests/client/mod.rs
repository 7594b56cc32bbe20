//! A minimal HTTP/1.1 client for the emulator's tests, and the login every test starts with.

#![allow(dead_code)]

use bytes::Bytes;
pub use emulator_kit::client::Answer;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use maas360_emulator::{Emulator, EmulatorConfig};
use serde_json::json;

pub const BILLING: &str = "30012345";

pub struct Client {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    origin: String,
}

impl Client {
    pub fn new(emulator: &Emulator) -> Self {
        Self { http: HyperClient::builder(TokioExecutor::new()).build_http(), origin: emulator.origin() }
    }

    pub async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut request = Request::builder().method(method).uri(format!("{}{path}", self.origin));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(body.to_string()))).expect("request");
        let response = self.http.request(request).await.expect("emulator answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, body: String::from_utf8(body.to_vec()).expect("UTF-8 body") }
    }

    /// GET with `Authorization: MaaS token="…"`.
    pub async fn get(&self, path: &str, token: &str) -> Answer {
        let authorization = format!("MaaS token=\"{token}\"");
        self.send(Method::GET, path, &[("authorization", &authorization), ("accept", "application/json")], "").await
    }

    pub async fn post_form(&self, path: &str, token: &str, form: &[(&str, &str)]) -> Answer {
        let authorization = format!("MaaS token=\"{token}\"");
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let headers =
            [("authorization", authorization.as_str()), ("content-type", "application/x-www-form-urlencoded")];
        self.send(Method::POST, path, &headers, &body).await
    }

    /// A v2 login with `config`'s credentials, `password` instead of the configured one.
    pub async fn authenticate(&self, config: &EmulatorConfig, password: &str) -> Answer {
        let body = login_body(config, password);
        let path = format!("/auth-apis/auth/2.0/authenticate/customer/{}", config.billing_id);
        self.send(Method::POST, &path, &[("accept", "application/json"), ("content-type", "application/json")], &body)
            .await
    }

    /// A successful v2 login: (auth token, refresh token).
    pub async fn login(&self, config: &EmulatorConfig) -> (String, String) {
        let answer = self.authenticate(config, &config.password).await.json();
        let response = &answer["authResponse"];
        assert_eq!(response["errorCode"], 0, "{answer}");
        let text = |key: &str| response[key].as_str().expect("token").to_string();
        (text("authToken"), text("refreshToken"))
    }
}

pub fn login_body(config: &EmulatorConfig, password: &str) -> String {
    json!({"authRequest": {"maaS360AdminAuth": {
        "billingID": config.billing_id, "platformID": "3", "appID": config.app_id,
        "appVersion": config.app_version, "appAccessKey": config.access_key,
        "userName": config.username, "password": password,
    }}})
    .to_string()
}

/// A small tenant for tests.
pub fn config(devices: usize) -> EmulatorConfig {
    EmulatorConfig { devices, ..EmulatorConfig::default() }
}

/// An emulator and a logged-in client.
pub async fn session(config: EmulatorConfig) -> (Emulator, Client, String) {
    let emulator = Emulator::start(config.clone()).await.expect("emulator starts");
    let client = Client::new(&emulator);
    let (token, _) = client.login(&config).await;
    (emulator, client, token)
}
