//! The MaaS360 plugin under the real runtime against a scripted MaaS360 (HTTPS, private CA):
//! sign-in and one page of devices, one sign-in again after a 401, a 429 surfacing with its
//! wait, and no secret in the plugin's log.

use std::time::Duration;

use msc_plugin_test::uem::{AttributeValue, DeviceQuery, DeviceStatus, Ownership, Platform};
use msc_plugin_test::{CallError, Error, Peer, PiiKind, Plugin, Recorded, Reply, RunningPlugin};
use serde_json::{Value, json};

const BILLING_ID: &str = "30012345";
const PASSWORD: &str = "pa55-w0rd-never-logged";
const ACCESS_KEY: &str = "access-key-never-logged";
const AUTHENTICATE: &str = "/auth-apis/auth/2.0/authenticate/customer/30012345";
const EXPIRED: &str = "tok-EXPIRED-7f3a";
const FRESH: &str = "tok-FRESH-91c2";
const SEARCH: &str = "/device-apis/devices/2.0/search/customer/30012345";

fn start(peer: &Peer) -> RunningPlugin {
    let started = Plugin::uem(msc_plugin_test::plugin_wasm!())
        .config("server_url", peer.url())
        .config("billing_id", BILLING_ID)
        .config("username", "api-admin")
        .config("app_id", "com.example.msc")
        .config("app_version", "1.0")
        .secret("password", PASSWORD)
        .secret("access_key", ACCESS_KEY)
        .grant_http(&peer.url())
        .ca_pem(peer.ca_pem().expect("an HTTPS peer"))
        .deadline(Duration::from_secs(10))
        .start();
    match started {
        Ok(plugin) => plugin,
        Err(e) => panic!("the MaaS360 plugin did not start:\n{e}"),
    }
}

/// MaaS360's sign-in answer carrying `token` (no refresh token: a renewal signs in again).
fn signed_in(token: &str) -> Reply {
    Reply::json(200, json!({"authResponse": {"authToken": token, "errorCode": 0, "errorDesc": null}}))
}

/// One page holding two devices, with the type quirks MaaS360 sends (a number for a phone,
/// a float for an OS version, "" and "N/A" for nothing).
fn page() -> Value {
    json!({"devices": {"count": 2, "pageNumber": 1, "pageSize": 25, "device": [
        {
            "maas360DeviceID": "ApplF17X1QZ", "deviceName": "Alice's iPhone", "deviceOwner": "Alice Example",
            "username": "alice", "emailAddress": "alice@example.com", "phoneNumber": 14155550100u64,
            "customAssetNumber": "EMP-0042", "platformName": "iOS", "osName": "iOS", "osVersion": 17.4,
            "manufacturer": "Apple", "model": "iPhone 15", "ownership": "Corporate Owned",
            "deviceStatus": "Active", "imeiEsn": "", "udid": "00008110-001A2B3C4D5E", "wifiMacAddress": "N/A",
            "lastReportedInEpochms": 1764800000000u64, "installedDate": "2024-01-02T03:04:05",
            "maas360ManagedStatus": "Enrolled", "jailbreakStatus": "No", "isSupervisedDevice": true,
            "testDevice": false
        },
        {
            "maas360DeviceID": "Andr0099", "deviceName": "Bob's Pixel", "username": "bob",
            "emailAddress": "", "phoneNumber": "", "platformName": "Android", "osVersion": "14",
            "ownership": "Employee Owned", "deviceStatus": "Inactive"
        }
    ]}})
}

/// The first sign-in gets a token MaaS360 then refuses (401); the next one a token it takes.
fn script_expiring_session(peer: &Peer) {
    peer.on("POST", AUTHENTICATE).once().reply(signed_in(EXPIRED));
    peer.on("POST", AUTHENTICATE).reply(signed_in(FRESH));
    peer.on("GET", SEARCH).reply_with(|req| match req.header("authorization") {
        Some(h) if h.contains(FRESH) => Reply::json(200, page()),
        _ => Reply::text(401, "Token expired."),
    });
}

fn first_page() -> DeviceQuery {
    DeviceQuery { cursor: None, page_size: 25, groups: vec![], changed_since_ms: None }
}

fn calls_to(peer: &Peer, path: &str) -> Vec<Recorded> {
    peer.requests().into_iter().filter(|r| r.path == path).collect()
}

#[test]
fn signs_in_and_reads_a_page_of_devices_with_personal_data_as_pii() {
    let peer = Peer::start_tls();
    peer.on("POST", AUTHENTICATE).reply(signed_in("token-1"));
    peer.on("GET", SEARCH).when_query("pageNumber", "1").reply(Reply::json(200, page()));
    let plugin = start(&peer);

    let page = plugin.uem().list_devices(first_page()).expect("one page");

    assert_eq!(page.next_cursor, None, "count 2 on one page: the last page");
    assert_eq!(page.devices.len(), 2);
    let alice = &page.devices[0];
    assert_eq!(alice.id, "ApplF17X1QZ");
    let pii = |field: &Option<msc_plugin_test::Pii>| field.as_ref().map(|p| (p.kind, p.value.clone()));
    assert_eq!(pii(&alice.name), Some((PiiKind::DeviceName, "Alice's iPhone".into())));
    assert_eq!(pii(&alice.owner), Some((PiiKind::PersonName, "Alice Example".into())));
    assert_eq!(pii(&alice.user_name), Some((PiiKind::UserName, "alice".into())));
    assert_eq!(pii(&alice.email), Some((PiiKind::Email, "alice@example.com".into())));
    assert_eq!(pii(&alice.phone), Some((PiiKind::Phone, "14155550100".into())));
    let asset = alice.attributes.iter().find(|a| a.name == "customAssetNumber").expect("the asset number");
    assert!(
        matches!(&asset.value, AttributeValue::Personal(p) if p.kind == PiiKind::Identifier && p.value == "EMP-0042"),
        "{asset:?}"
    );
    assert!(matches!(alice.platform, Platform::Ios));
    assert_eq!(alice.os_version.as_deref(), Some("17.4"));
    assert!(matches!(alice.ownership, Ownership::Corporate));
    assert!(matches!(alice.status, DeviceStatus::Active));
    assert_eq!((alice.imei.as_deref(), alice.wifi_mac.as_deref()), (None, None), "\"\" and \"N/A\" are absent");
    assert_eq!(alice.last_seen_ms, Some(1_764_800_000_000));
    assert_eq!((alice.managed, alice.compromised, alice.supervised), (Some(true), Some(false), Some(true)));
    let bob = &page.devices[1];
    assert_eq!((bob.email.is_none(), bob.phone.is_none()), (true, true), "empty values are absent");
    assert!(matches!(bob.status, DeviceStatus::Inactive));

    // The sign-in carried the credentials; the search the token, and a MaaS360 page size.
    let sign_in: Value = calls_to(&peer, AUTHENTICATE)[0].json().expect("a JSON sign-in");
    let auth = &sign_in["authRequest"]["maaS360AdminAuth"];
    assert_eq!((auth["password"].as_str(), auth["appAccessKey"].as_str()), (Some(PASSWORD), Some(ACCESS_KEY)));
    let search = &calls_to(&peer, SEARCH)[0];
    assert_eq!(search.header("authorization"), Some("MaaS token=\"token-1\""));
    assert_eq!(search.query("pageSize"), Some("25"));
    assert!(peer.unmatched().is_empty(), "{:?}", peer.unmatched());
}

#[test]
fn a_401_signs_in_once_more_and_retries_with_the_new_token() {
    let peer = Peer::start_tls();
    script_expiring_session(&peer);
    let plugin = start(&peer);

    let page = plugin.uem().list_devices(first_page()).expect("a page after signing in again");

    assert_eq!(page.devices.len(), 2);
    assert_eq!(calls_to(&peer, AUTHENTICATE).len(), 2, "one sign-in, then exactly one more");
    let searches = calls_to(&peer, SEARCH);
    assert_eq!(searches.len(), 2, "the refused search, then the retry");
    assert_eq!(searches[1].header("authorization"), Some(format!("MaaS token=\"{FRESH}\"").as_str()));
}

#[test]
fn a_429_surfaces_as_rate_limited_with_the_wait_maas360_asked_for() {
    let peer = Peer::start_tls();
    peer.on("POST", AUTHENTICATE).reply(signed_in("token-1"));
    // Longer than the call's deadline: the plugin must not wait, but hand the wait to the host.
    peer.on("GET", SEARCH)
        .once()
        .reply(Reply::json(429, json!({"errorDesc": "slow down"})).header("retry-after", "120"));
    peer.on("GET", SEARCH).reply(Reply::json(200, page()));
    let plugin = start(&peer);

    match plugin.uem().list_devices(first_page()) {
        Err(CallError::Reported { error: Error::RateLimited(wait), .. }) => {
            assert_eq!(wait.retry_after_ms, Some(120_000), "{wait:?}")
        }
        other => panic!("expected a rate-limited error, got {other:?}"),
    }
    assert_eq!(calls_to(&peer, SEARCH).len(), 1, "no retry within the call");

    // The next call (the host's retry, later) gets the page with the cached session.
    assert_eq!(plugin.uem().list_devices(first_page()).expect("a page").devices.len(), 2);
    assert_eq!(calls_to(&peer, AUTHENTICATE).len(), 1, "the session is reused");
}

#[test]
fn no_secret_reaches_the_log() {
    let peer = Peer::start_tls();
    script_expiring_session(&peer);
    let plugin = start(&peer);

    plugin.uem().list_devices(first_page()).expect("a page");
    let checks = plugin.uem().test_connection().expect("the self-test runs");
    assert!(!checks.is_empty());

    let logs = plugin.logs().join("\n");
    for secret in [PASSWORD, ACCESS_KEY, FRESH, EXPIRED] {
        assert!(!logs.contains(secret), "`{secret}` was logged:\n{logs}");
    }
    for personal in ["Alice's iPhone", "alice@example.com", "14155550100"] {
        assert!(!logs.contains(personal), "`{personal}` was logged in plaintext:\n{logs}");
    }
}
