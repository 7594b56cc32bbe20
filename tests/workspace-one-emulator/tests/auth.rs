//! Authentication over HTTPS: Basic with the tenant code, OAuth client credentials, expiry, and the
//! documented statuses and error bodies.

mod client;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client::{JSON_V1, Session};
use hyper::Method;

const SEARCH: &str = "/API/mdm/devices/search";

/// Headers sent, status and errorCode expected.
type Case<'a> = (&'a [(&'a str, &'a str)], u16, u64);

#[tokio::test]
async fn basic_needs_the_right_credentials_and_tenant_code() {
    let session = Session::start(5).await;
    assert_eq!(session.get(SEARCH).await.status, 200);

    let wrong = format!("Basic {}", STANDARD.encode(format!("{}:nope", session.config.username)));
    let code = session.config.tenant_code.as_str();
    let cases: [Case; 5] = [
        (&[("aw-tenant-code", code)], 401, 1005),
        (&[("authorization", &wrong), ("aw-tenant-code", code)], 401, 1005),
        (&[("authorization", "Basic !!"), ("aw-tenant-code", code)], 401, 1005),
        (&[("authorization", &session.basic())], 403, 1001),
        (&[("authorization", &session.basic()), ("aw-tenant-code", "other")], 403, 1001),
    ];
    for (headers, status, code) in cases {
        let answer = session.client.send(Method::GET, SEARCH, headers, "").await;
        assert_eq!(answer.status, status, "{headers:?}");
        let body = answer.json();
        assert_eq!(body["errorCode"], code);
        assert!(body["message"].is_string() && body["activityId"].as_str().is_some_and(|id| id.len() == 36));
    }
    let stats = session.emulator.stats();
    assert_eq!((stats.unauthorized, stats.forbidden), (3, 2));
}

#[tokio::test]
async fn oauth_tokens_work_until_they_expire() {
    let session = Session::start(5).await;
    let token = session.token().await;
    let bearer = format!("Bearer {token}");
    // The tenant code is optional with a token, but checked when sent.
    let answer = session.client.send(Method::GET, SEARCH, &[("authorization", &bearer)], "").await;
    assert_eq!(answer.status, 200);
    let answer =
        session.client.send(Method::GET, SEARCH, &[("authorization", &bearer), ("aw-tenant-code", "x")], "").await;
    assert_eq!(answer.status, 403);

    session.emulator.expire_tokens();
    let answer = session.client.send(Method::GET, SEARCH, &[("authorization", &bearer)], "").await;
    assert_eq!((answer.status, answer.json()["errorCode"].as_u64()), (401, Some(1005)));
    let fresh = format!("Bearer {}", session.token().await);
    assert_eq!(session.client.send(Method::GET, SEARCH, &[("authorization", &fresh)], "").await.status, 200);
    assert_eq!(session.emulator.stats().tokens_issued, 2);
}

async fn post_token(session: &Session, path: &str, authorization: Option<&str>, body: &str) -> client::Answer {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    session.client.send(Method::POST, path, &headers, body.to_string()).await
}

#[tokio::test]
async fn the_token_endpoint_checks_grant_and_client() {
    let session = Session::start(1).await;
    let answer = post_token(&session, "/connect/token", None, "grant_type=password&client_id=demo-client").await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (400, Some("unsupported_grant_type")));
    let body = "grant_type=client_credentials&client_id=demo-client&client_secret=wrong";
    let answer = post_token(&session, "/connect/token", None, body).await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (400, Some("invalid_client")));

    // The client in a Basic header, on the on-prem path.
    let basic = format!("Basic {}", STANDARD.encode("demo-client:demo-client-secret"));
    let answer = post_token(&session, "/oauth/token", Some(&basic), "grant_type=client_credentials").await;
    assert_eq!(answer.status, 200);
    let token = answer.json();
    assert_eq!((token["token_type"].as_str(), token["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
    assert_eq!(answer.header("x-ratelimit-limit"), None, "the auth host is not the API host");
}

#[tokio::test]
async fn versions_are_negotiated_through_accept() {
    let session = Session::start(3).await;
    let answer = session.call(Method::GET, SEARCH, "application/json;version=2", "").await;
    assert_eq!(answer.header("x-api-version"), Some("2.0"));
    assert_eq!(answer.header("api-supported-versions"), Some("1.0, 2.0, 3.0"));
    // An unsupported version is silently v1.
    let answer = session.call(Method::GET, SEARCH, "application/json;version=9", "").await;
    assert_eq!((answer.status, answer.header("x-api-version")), (200, Some("1.0")));
    let answer = session.call(Method::GET, "/API/mdm/devices/10001", "application/json;version=3", "").await;
    assert_eq!(answer.header("x-api-version"), Some("1.0"));
    assert_eq!(session.call(Method::GET, SEARCH, "application/xml", "").await.status, 406);
    assert_eq!(session.call(Method::GET, SEARCH, JSON_V1, "").await.header("x-api-version"), Some("1.0"));
}
