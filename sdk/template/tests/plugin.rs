//! The Acme UEM plugin under the connector's real runtime (sandbox, grants, secrets, PII
//! handling, log scrubbing) against a scripted Acme API over HTTPS: `cargo test` runs it all.
//! Change the scripted answers into your UEM's, then the plugin until these pass.

use std::time::Duration;

use msc_plugin_test::uem::{DeviceQuery, Platform, RiskLevel};
use msc_plugin_test::{AuthFailure, CallError, Error, Peer, PiiKind, Plugin, Reply, RunningPlugin};
use serde_json::{Value, json};

const TOKEN: &str = "acme-token-never-logged";
const DEVICES: &str = "/api/v1/devices";

fn start(peer: &Peer) -> RunningPlugin {
    let started = Plugin::uem(msc_plugin_test::plugin_wasm!())
        .config("server_url", peer.url())
        .config("page_size", 2)
        .secret("api_token", TOKEN)
        .grant_http(&peer.url())
        .ca_pem(peer.ca_pem().expect("an HTTPS peer"))
        .deadline(Duration::from_secs(10))
        .start();
    match started {
        Ok(plugin) => plugin,
        Err(e) => panic!("the plugin did not start:\n{e}"),
    }
}

fn device(id: &str, name: &str, user: &str) -> Value {
    json!({"id": id, "name": name, "user": user, "email": format!("{user}@example.com"),
           "platform": "iOS", "os_version": "17.4", "last_seen_ms": 1_764_800_000_000u64})
}

fn query(cursor: Option<String>) -> DeviceQuery {
    DeviceQuery {
        cursor,
        page_size: 100,
        groups: vec![],
        changed_since_ms: None,
    }
}

/// The error the plugin reported, or a panic saying what came instead.
fn reported<T: std::fmt::Debug>(result: Result<T, CallError>) -> Error {
    match result {
        Err(CallError::Reported { error, .. }) => error,
        other => panic!("expected the plugin to report an error, got {other:?}"),
    }
}

#[test]
fn pages_through_devices_with_personal_data_as_pii() {
    let peer = Peer::start_tls();
    let first = json!({"devices": [device("d1", "Alice's iPhone", "alice"), device("d2", "Bob's iPad", "bob")], "total": 3});
    let second = json!({"devices": [device("d3", "Carol's Pixel", "carol")], "total": 3});
    peer.on("GET", DEVICES)
        .when_query("page", "0")
        .reply(Reply::json(200, first));
    peer.on("GET", DEVICES)
        .when_query("page", "1")
        .reply(Reply::json(200, second));
    let plugin = start(&peer);

    let page = plugin
        .uem()
        .list_devices(query(None))
        .expect("the first page");
    assert_eq!(
        page.devices
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["d1", "d2"]
    );
    assert_eq!(page.total, Some(3));
    let alice = &page.devices[0];
    let pii =
        |field: &Option<msc_plugin_test::Pii>| field.as_ref().map(|p| (p.kind, p.value.clone()));
    assert_eq!(
        pii(&alice.name),
        Some((PiiKind::DeviceName, "Alice's iPhone".into()))
    );
    assert_eq!(
        pii(&alice.user_name),
        Some((PiiKind::UserName, "alice".into()))
    );
    assert_eq!(
        pii(&alice.email),
        Some((PiiKind::Email, "alice@example.com".into()))
    );
    assert!(
        matches!(alice.platform, Platform::Ios),
        "{:?}",
        alice.platform
    );
    assert_eq!(alice.last_seen_ms, Some(1_764_800_000_000));

    let cursor = page
        .next_cursor
        .expect("3 devices, 2 per page: a next page");
    let last = plugin
        .uem()
        .list_devices(query(Some(cursor)))
        .expect("the second page");
    assert_eq!(
        last.devices
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["d3"]
    );
    assert_eq!(last.next_cursor, None, "the last page");

    // Every request was signed in and asked for at most `page_size` devices.
    for request in peer.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(request.query("per_page"), Some("2"));
    }
    assert!(peer.unmatched().is_empty(), "{:?}", peer.unmatched());
}

#[test]
fn a_tampered_cursor_is_refused_without_a_request() {
    let peer = Peer::start_tls();
    let plugin = start(&peer);
    let error = reported(
        plugin
            .uem()
            .list_devices(query(Some("c1.eyJwYWdlIjo5OTl9.0".into()))),
    );
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(peer.requests().is_empty());
}

#[test]
fn sets_the_risk_level_and_checks_what_acme_says_it_set() {
    let peer = Peer::start_tls();
    peer.on("PUT", "/api/v1/devices/d1/risk").reply(Reply::json(
        200,
        json!({"level": "high", "previous": "none"}),
    ));
    peer.on("PUT", "/api/v1/devices/d2/risk").reply(Reply::json(
        200,
        json!({"level": "none", "previous": "none"}),
    ));
    let plugin = start(&peer);

    let update = plugin.uem().set_risk("d1", RiskLevel::High).expect("set");
    assert_eq!(
        (update.applied.as_str(), update.changed, update.verified),
        ("risk=high", Some(true), true)
    );
    let body: Value = peer.requests()[0].json().expect("a JSON body");
    assert_eq!(body, json!({"level": "high"}));

    let error = reported(plugin.uem().set_risk("d2", RiskLevel::High));
    assert!(
        matches!(&error, Error::Protocol(m) if m.contains("`none`")),
        "{error:?}"
    );
}

#[test]
fn an_id_from_the_cloud_cannot_change_the_endpoint() {
    let peer = Peer::start_tls();
    let plugin = start(&peer);
    let _ = plugin.uem().get_device("../../admin?delete=1");
    let request = &peer.requests()[0];
    assert_eq!(request.path, "/api/v1/devices/..%2F..%2Fadmin%3Fdelete%3D1");
    assert_eq!(request.query("delete"), None);
}

#[test]
fn refusals_surface_as_typed_errors_and_the_token_is_never_logged() {
    let peer = Peer::start_tls();
    peer.on("GET", "/api/v1/devices/d1")
        .reply(Reply::text(401, "token revoked"));
    peer.on("GET", "/api/v1/devices/d2")
        .reply(Reply::status(404));
    peer.on("GET", DEVICES)
        .reply(Reply::status(429).header("retry-after", "120"));
    // One short wait is retried within the call's deadline.
    peer.on("GET", "/api/v1/devices/d3/apps")
        .once()
        .reply(Reply::status(503).header("retry-after", "1"));
    peer.on("GET", "/api/v1/devices/d3/apps").reply(Reply::json(
        200,
        json!({"apps": [{"name": "Mail", "bundle_id": "com.apple.mobilemail"}]}),
    ));
    let plugin = start(&peer);

    let error = reported(plugin.uem().get_device("d1"));
    assert!(
        matches!(&error, Error::AuthFailed(e) if e.reason == AuthFailure::Other),
        "{error:?}"
    );
    assert!(matches!(
        reported(plugin.uem().get_device("d2")),
        Error::NotFound(_)
    ));
    match reported(plugin.uem().list_devices(query(None))) {
        Error::RateLimited(wait) => assert_eq!(
            wait.retry_after_ms,
            Some(120_000),
            "the wait Acme asked for"
        ),
        other => panic!("expected the 429 to surface: {other:?}"),
    }
    let apps = plugin.uem().list_apps("d3").expect("apps after one retry");
    assert_eq!(apps[0].identifier.as_deref(), Some("com.apple.mobilemail"));

    let logs = plugin.logs().join("\n");
    assert!(!logs.contains(TOKEN), "{logs}");
}

#[test]
fn the_self_test_reports_each_check_and_refuses_plain_http() {
    let peer = Peer::start_tls();
    peer.on("GET", DEVICES)
        .reply(Reply::json(200, json!({"devices": [], "total": 42})));
    let plugin = start(&peer);
    let checks = plugin.uem().test_connection().expect("checks");
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    assert!(
        checks.iter().any(|c| c.detail.contains("42 devices")),
        "{checks:?}"
    );

    let plain = Plugin::uem(msc_plugin_test::plugin_wasm!())
        .config("server_url", "http://acme.example")
        .secret("api_token", TOKEN)
        .grant_http("http://acme.example")
        .start()
        .expect("starts; the self-test says what is wrong");
    let checks = plain.uem().test_connection().expect("checks");
    assert!(
        checks
            .iter()
            .any(|c| !c.passed && c.detail.contains("https://")),
        "{checks:?}"
    );
}
