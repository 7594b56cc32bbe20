//! Fault knobs, the rate limit, the admin API, TLS and the binary.

mod client;

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use client::{Client, config, session};
use hyper::Method;
use maas360_emulator::{Emulator, EmulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SEARCH: &str = "/device-apis/devices/2.0/search/customer/30012345?pageSize=25";

#[tokio::test]
async fn throttle_answers_429_with_retry_after() {
    let (emulator, client, token) = session(config(10)).await;
    emulator.throttle(2, 7);
    for _ in 0..2 {
        let answer = client.get(SEARCH, &token).await;
        assert_eq!((answer.status, answer.header("retry-after")), (429, Some("7")));
        assert_eq!(answer.header("x-rate-limit-remaining"), Some("0"));
    }
    assert_eq!(client.get(SEARCH, &token).await.status, 200);
    assert_eq!(emulator.stats().throttled, 2);
}

#[tokio::test]
async fn the_rate_limit_is_per_second() {
    let config = EmulatorConfig { rate_limit: Some(3), ..config(10) };
    let emulator = Emulator::start(config.clone()).await.expect("start");
    let client = Client::new(&emulator);
    // The login counts too.
    let (token, _) = client.login(&config).await;
    let ok = client.get(SEARCH, &token).await;
    assert_eq!((ok.status, ok.header("x-rate-limit-remaining")), (200, Some("1")));
    client.get(SEARCH, &token).await;
    let limited = client.get(SEARCH, &token).await;
    assert_eq!((limited.status, limited.header("retry-after")), (429, Some("1")));
    let reset: u64 = limited.header("x-rate-limit-resetwindow").expect("reset").parse().expect("ms");
    assert!(reset <= 1000);
    tokio::time::sleep(Duration::from_millis(reset + 20)).await;
    assert_eq!(client.get(SEARCH, &token).await.status, 200);
}

#[tokio::test]
async fn fail_and_html_login_come_first_and_hit_auth_too() {
    let config = config(10);
    let (emulator, client, token) = session(config.clone()).await;
    emulator.throttle(1, 1);
    emulator.fail(1, 503);
    emulator.html_login(1);
    let bounce = client.get(SEARCH, &token).await;
    assert_eq!(bounce.status, 200);
    assert!(bounce.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    assert!(bounce.body.contains("<form"));
    let failed = client.authenticate(&config, &config.password).await;
    assert_eq!(failed.status, 503);
    assert!(failed.body.contains("Service Unavailable"));
    assert_eq!(client.get(SEARCH, "no-token").await.status, 429, "faults come before the token check");
    assert_eq!(client.get(SEARCH, &token).await.status, 200);
    let stats = emulator.stats();
    assert_eq!((stats.html_pages, stats.server_errors, stats.throttled), (1, 1, 1));
    assert_eq!((stats.requests.get("search_v2"), stats.requests.get("authenticate_v2")), (Some(&3), Some(&2)));
}

#[tokio::test]
async fn the_admin_api_turns_the_same_knobs() {
    let (emulator, client, token) = session(config(10)).await;
    let post = |path: &'static str| client.send(Method::POST, path, &[], "");
    assert_eq!(post("/_emulator/fail?requests=1&status=502").await.status, 200);
    assert_eq!(client.get(SEARCH, &token).await.status, 502);
    assert_eq!(post("/_emulator/throttle?requests=1&retry_after=3").await.status, 200);
    assert_eq!(client.get(SEARCH, &token).await.header("retry-after"), Some("3"));
    assert_eq!(post("/_emulator/html-login?requests=1").await.status, 200);
    assert!(client.get(SEARCH, &token).await.body.contains("<form"));
    assert_eq!(post("/_emulator/expire-tokens").await.status, 200);
    assert_eq!(client.get(SEARCH, &token).await.body, "Token expired.");
    assert_eq!(post("/_emulator/lock?locked=true").await.status, 200);
    let locked = client.authenticate(&config(10), "demo-password").await.json();
    assert_eq!(locked["authResponse"]["errorCode"], 1011);
    post("/_emulator/lock?locked=false").await;
    let (token, _) = client.login(&config(10)).await;
    assert_eq!(post("/_emulator/churn?after=0&insert=2&remove=1").await.status, 200);
    assert_eq!(client.get(SEARCH, &token).await.json()["devices"]["count"], 11);
    assert_eq!(post("/_emulator/throttle").await.status, 400);
    assert_eq!(post("/_emulator/fail?requests=1&status=200").await.status, 400);

    let stats = client.send(Method::GET, "/_emulator/stats", &[], "").await.json();
    assert_eq!(stats["server_errors"], 1);
    let id = emulator.devices()[0].id.clone();
    let device = client.send(Method::GET, &format!("/_emulator/devices/{id}"), &[], "").await.json();
    assert_eq!(device["id"], id.as_str());
    assert_eq!(device["custom_attributes"]["MP_HighRisk"], "No");
    assert_eq!(client.send(Method::GET, "/_emulator/devices/nope", &[], "").await.status, 404);
    assert_eq!(client.send(Method::GET, "/_emulator/expire-tokens", &[], "").await.status, 405);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let (_emulator, client, token) = session(config(5)).await;
    assert_eq!(client.get("/device-apis/devices/9.0/search/30012345", &token).await.status, 404);
    let post = client.send(Method::POST, SEARCH, &[], "").await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));
}

fn tls_pair() -> (Arc<rustls::ServerConfig>, rustls_pki_types::CertificateDer<'static>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("cert");
    let der = cert.der().clone();
    let private = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], private)
        .expect("server config");
    (Arc::new(server), der)
}

#[tokio::test]
async fn serves_https_for_localhost() {
    let (server, cert) = tls_pair();
    let emulator = Emulator::start_tls(config(5), server).await.expect("start");
    assert!(emulator.origin().starts_with("https://localhost:"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(emulator.addr()).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, tcp).await.expect("handshake");
    tls.write_all(
        b"GET /group-apis/group/1.0/groups/customer/30012345 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("write");
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.ends_with("Token invalid"), "{answer}");
}

#[test]
fn the_binary_announces_its_origin_and_serves() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_maas360-emulator"))
        .args(["--listen", "127.0.0.1:0", "--devices", "20", "--password", "s3cret"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).expect("a line");
    let origin = line.trim().strip_prefix("maas360-emulator listening on ").map(str::to_string);
    let stats = origin.as_deref().and_then(|origin| {
        let addr = origin.strip_prefix("http://")?;
        let mut tcp = std::net::TcpStream::connect(addr).ok()?;
        use std::io::{Read, Write};
        tcp.write_all(b"GET /_emulator/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).ok()?;
        Some(answer)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(origin.is_some_and(|o| o.starts_with("http://127.0.0.1:")), "{line}");
    assert!(stats.is_some_and(|s| s.starts_with("HTTP/1.1 200") && s.contains("\"authenticate\":0")));
}
