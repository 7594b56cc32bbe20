//! Authentication against the emulator: logins in every format and every refusal, token refresh
//! rotation, token expiry and the 401 bodies.

mod client;

use std::time::Duration;

use client::{BILLING, Client, config, login_body, session};
use hyper::Method;
use maas360_emulator::{Emulator, EmulatorConfig};

const SEARCH: &str = "/device-apis/devices/2.0/search/customer/30012345?pageSize=25";

#[tokio::test]
async fn v2_login_issues_a_token_that_opens_the_api() {
    let (emulator, client, token) = session(config(30)).await;
    assert!(token.len() >= 32);
    let answer = client.get(SEARCH, &token).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["devices"]["count"], 30);
    let stats = emulator.stats();
    assert_eq!((stats.authenticate, stats.authenticate_ok), (1, 1));
}

#[tokio::test]
async fn without_accept_json_the_answer_is_xml() {
    let config = config(5);
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let path = format!("/auth-apis/auth/2.0/authenticate/customer/{BILLING}");
    let ok = client.send(Method::POST, &path, &[], &login_body(&config, "demo-password")).await;
    assert_eq!(ok.header("content-type"), Some("application/xml"));
    assert!(ok.body.contains("<authResponse><authToken>"), "{}", ok.body);
    assert!(ok.body.contains("<errorCode>0</errorCode><refreshToken>"), "{}", ok.body);
    let refused = client.send(Method::POST, &path, &[], &login_body(&config, "wrong")).await;
    assert_eq!(refused.status, 200);
    assert!(refused.body.contains(
        "<authResponse><errorCode>1001</errorCode><errorDesc>Authentication failed: invalid user name or password</errorDesc></authResponse>"
    ), "{}", refused.body);
}

#[tokio::test]
async fn v1_takes_xml_and_answers_without_a_refresh_token() {
    let config = config(5);
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let xml = "<authRequest><maaS360AdminAuth><billingID>30012345</billingID><platformID>3</platformID>\
        <appID>com.msc.connector</appID><appVersion>1.0</appVersion><appAccessKey>demo-access-key</appAccessKey>\
        <userName>mp_api_admin</userName><password>demo-password</password></maaS360AdminAuth></authRequest>";
    let path = format!("/auth-apis/auth/1.0/authenticate/{BILLING}");
    let answer = client.send(Method::POST, &path, &[("accept", "application/json")], xml).await.json();
    assert_eq!(answer["authResponse"]["errorCode"], 0);
    assert!(answer["authResponse"].get("refreshToken").is_none());
    let token = answer["authResponse"]["authToken"].as_str().expect("token");
    assert_eq!(client.get(SEARCH, token).await.status, 200);
    let json = client.send(Method::POST, &path, &[], &login_body(&config, "demo-password")).await;
    assert!(json.body.contains("<authToken>") && !json.body.contains("refreshToken"), "{}", json.body);
}

#[tokio::test]
async fn each_refusal_has_its_code() {
    let config = EmulatorConfig { lock_after_failures: 3, ..config(5) };
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let code = |answer: client::Answer| {
        assert_eq!(answer.status, 200);
        let json = answer.json();
        (json["authResponse"]["errorCode"].as_u64().expect("code"), json["authResponse"]["errorDesc"].clone())
    };
    let (c, desc) = code(client.authenticate(&config, "wrong").await);
    assert_eq!((c, desc.as_str()), (1001, Some("Authentication failed: invalid user name or password")));
    let bad_app = EmulatorConfig { access_key: "other".into(), ..config.clone() };
    let (c, desc) = code(client.authenticate(&bad_app, "demo-password").await);
    assert_eq!((c, desc.as_str()), (1007, Some("Authentication failed: invalid app ID or app access key")));
    let bad_version = EmulatorConfig { app_version: "2.0".into(), ..config.clone() };
    assert_eq!(code(client.authenticate(&bad_version, "demo-password").await).0, 1007);
    let other_tenant = EmulatorConfig { billing_id: "999".into(), ..config.clone() };
    assert_eq!(code(client.authenticate(&other_tenant, "demo-password").await).0, 1001);

    // A success resets the count; three consecutive failures lock, and then even the right password is refused.
    client.login(&config).await;
    for _ in 0..3 {
        assert_eq!(code(client.authenticate(&config, "wrong").await).0, 1001);
    }
    let (c, desc) = code(client.authenticate(&config, "demo-password").await);
    assert_eq!((c, desc.as_str()), (1011, Some("Account is locked. Contact your administrator.")));
    // The lock is checked before the app.
    assert_eq!(code(client.authenticate(&bad_app, "demo-password").await).0, 1011);
    emulator.lock_account(false);
    client.login(&config).await;
    emulator.lock_account(true);
    assert_eq!(code(client.authenticate(&config, "demo-password").await).0, 1011);
}

#[tokio::test]
async fn malformed_logins_are_400_with_no_body() {
    let config = config(5);
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let path = format!("/auth-apis/auth/2.0/authenticate/customer/{BILLING}");
    for body in ["", "{", r#"{"authRequest":{"maaS360AdminAuth":{"userName":"mp_api_admin"}}}"#, "<authRequest/>"] {
        let answer = client.send(Method::POST, &path, &[("accept", "application/json")], body).await;
        assert_eq!((answer.status, answer.body.as_str()), (400, ""), "{body}");
    }
}

#[tokio::test]
async fn html_login_errors_answer_the_login_page() {
    let config = EmulatorConfig { html_login_errors: true, lock_after_failures: 2, ..config(5) };
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let bad = client.authenticate(&config, "wrong").await;
    assert_eq!(bad.status, 200);
    assert!(bad.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    assert!(bad.body.contains("The username or password you have entered is incorrect"));
    client.authenticate(&config, "wrong").await;
    let locked = client.authenticate(&config, "demo-password").await;
    assert!(locked.body.contains("Your account is locked"), "{}", locked.body);
    // A wrong app is still a JSON error.
    let bad_app = EmulatorConfig { app_id: "other".into(), ..config.clone() };
    emulator.lock_account(false);
    assert_eq!(client.authenticate(&bad_app, "demo-password").await.json()["authResponse"]["errorCode"], 1007);
    assert_eq!(emulator.stats().html_pages, 3);
}

fn refresh_body(config: &EmulatorConfig, refresh: &str, wrapped: bool) -> String {
    let auth = serde_json::json!({"maaS360AdminAuth": {
        "billingID": config.billing_id, "userName": config.username, "appID": config.app_id,
        "appVersion": config.app_version, "platformID": "3", "refreshToken": refresh,
    }});
    if wrapped { serde_json::json!({ "authRequest": auth }).to_string() } else { auth.to_string() }
}

#[tokio::test]
async fn refresh_rotates_and_a_used_refresh_token_is_refused() {
    let config = config(5);
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let (_, first) = client.login(&config).await;
    let path = format!("/auth-apis/auth/2.0/refreshToken/customer/{BILLING}");
    let accept = [("accept", "application/json")];
    let answer = client.send(Method::POST, &path, &accept, &refresh_body(&config, &first, true)).await.json();
    let response = &answer["authResponse"];
    assert_eq!(response["errorCode"], 0, "{answer}");
    let second = response["refreshToken"].as_str().expect("new refresh token");
    assert_ne!(second, first);
    assert_eq!(client.get(SEARCH, response["authToken"].as_str().expect("token")).await.status, 200);

    let reused = client.send(Method::POST, &path, &accept, &refresh_body(&config, &first, true)).await.json();
    assert_eq!(reused["authResponse"]["errorCode"], 1009);
    assert_eq!(reused["authResponse"]["errorDesc"], "Invalid refresh token");
    // The body without the authRequest wrapper is accepted too.
    let unwrapped = client.send(Method::POST, &path, &accept, &refresh_body(&config, second, false)).await.json();
    assert_eq!(unwrapped["authResponse"]["errorCode"], 0, "{unwrapped}");
    emulator.lock_account(true);
    let new = unwrapped["authResponse"]["refreshToken"].as_str().expect("refresh");
    let locked = client.send(Method::POST, &path, &accept, &refresh_body(&config, new, true)).await.json();
    assert_eq!(locked["authResponse"]["errorCode"], 1011);
    let stats = emulator.stats();
    assert_eq!((stats.refresh, stats.refresh_ok), (4, 2));
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let config = EmulatorConfig { refresh_ttl: Duration::from_millis(50), ..config(5) };
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    let (_, refresh) = client.login(&config).await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    let path = format!("/auth-apis/auth/2.0/refreshToken/customer/{BILLING}");
    let body = refresh_body(&config, &refresh, true);
    let answer = client.send(Method::POST, &path, &[("accept", "application/json")], &body).await;
    assert_eq!(answer.json()["authResponse"]["errorCode"], 1009);
}

#[tokio::test]
async fn tokens_are_checked_and_expire() {
    let (emulator, client, token) = session(config(5)).await;
    let invalid = |answer: client::Answer| (answer.status, answer.body);
    assert_eq!(invalid(client.get(SEARCH, "not-a-token").await), (401, "Token invalid".to_string()));
    let unquoted = client.send(Method::GET, SEARCH, &[("authorization", &format!("MaaS token={token}"))], "").await;
    assert_eq!(invalid(unquoted), (401, "Token invalid".to_string()));
    assert_eq!(invalid(client.send(Method::GET, SEARCH, &[], "").await), (401, "Token invalid".to_string()));
    let other_billing = client.get("/device-apis/devices/2.0/search/customer/999?pageSize=25", &token).await;
    assert_eq!(other_billing.status, 401);
    assert_eq!(client.get(SEARCH, &token).await.status, 200);

    emulator.expire_tokens();
    let expired = client.get(SEARCH, &token).await;
    assert_eq!((expired.status, expired.body.as_str()), (401, "Token expired."));
    assert_eq!(expired.header("content-type"), Some("text/plain; charset=utf-8"));
    // A new login works again.
    let (fresh, _) = client.login(&config(5)).await;
    assert_eq!(client.get(SEARCH, &fresh).await.status, 200);
    assert_eq!(emulator.stats().unauthorized, 5);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let config = EmulatorConfig { token_ttl: Duration::from_millis(100), ..config(5) };
    let (_emulator, client, token) = session(config).await;
    assert_eq!(client.get(SEARCH, &token).await.status, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(client.get(SEARCH, &token).await.body, "Token expired.");
}
