//! The plugin under the real runtime against a scripted peer: what it sends (Basic credentials
//! and the tenant code on every call, the API version, 0-based pages within the 500 limit), and
//! how it reads what comes back (204 as the end, one new OAuth token per call on 401).

use std::time::Duration;

use msc_plugin_test::uem::DeviceQuery;
use msc_plugin_test::{AuthFailure, CallError, Error, Peer, Plugin, Reply, RunningPlugin};
use serde_json::{Value, json};

const SEARCH: &str = "/API/mdm/devices/search";

fn device(id: u64) -> Value {
    json!({"Id": {"Value": id}, "Uuid": format!("uuid-{id}"), "Platform": "Android", "LastSeen": "2026-10-30T12:00:00.000"})
}

fn page(ids: &[u64], page: u32, size: u32, total: u64) -> Reply {
    let devices: Vec<Value> = ids.iter().copied().map(device).collect();
    Reply::json(200, json!({"Devices": devices, "Page": page, "PageSize": size, "Total": total}))
}

/// An instance against `peer` (HTTPS, trusting its CA) with basic auth, or OAuth at the peer's
/// on-prem token URL.
fn plugin(peer: &Peer, oauth: bool) -> RunningPlugin {
    let mut plugin = Plugin::uem(msc_plugin_test::plugin_wasm!())
        .config("server_url", peer.url())
        .secret("tenant_code", "tenant-code-1")
        .grant_http(&peer.url())
        .ca_pem(peer.ca_pem().expect("an HTTPS peer"))
        .deadline(Duration::from_secs(10));
    plugin = if oauth {
        plugin.config("auth", "oauth").secret("client_id", "client-1").secret("client_secret", "client-secret-1")
    } else {
        plugin.config("username", "api").secret("password", "pw")
    };
    plugin.start().expect("the plugin starts")
}

fn query(page_size: u32) -> DeviceQuery {
    DeviceQuery { cursor: None, page_size, groups: vec![], changed_since_ms: None }
}

#[test]
fn basic_credentials_the_tenant_code_and_the_version_go_with_every_call() {
    let peer = Peer::start_tls();
    peer.on("GET", SEARCH).reply(page(&[10001, 10002], 0, 500, 2));
    let plugin = plugin(&peer, false);
    let page = plugin.uem().list_devices(query(1000)).expect("page");
    assert_eq!(page.devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["10001", "10002"]);
    assert_eq!((page.next_cursor, page.total), (None, Some(2)));

    let requests = peer.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let search = &requests[0];
    assert_eq!(search.header("authorization"), Some("Basic YXBpOnB3"));
    assert_eq!(search.header("aw-tenant-code"), Some("tenant-code-1"));
    assert_eq!(search.header("accept"), Some("application/json;version=2"));
    assert_eq!((search.query("page"), search.query("pagesize")), (Some("0"), Some("500")), "capped at 500");
    assert!(plugin.logs().iter().all(|line| !line.contains("tenant-code-1") && !line.contains("YXBpOnB3")));
}

#[test]
fn the_cursor_walks_zero_based_pages_until_the_total() {
    let peer = Peer::start_tls();
    peer.on("GET", SEARCH).when_query("page", "0").reply(page(&[1, 2], 0, 2, 3));
    peer.on("GET", SEARCH).when_query("page", "1").reply(page(&[3], 1, 2, 3));
    let plugin = plugin(&peer, false);
    let first = plugin.uem().list_devices(query(2)).expect("page 0");
    let cursor = first.next_cursor.expect("a second page");
    let second = plugin.uem().list_devices(DeviceQuery { cursor: Some(cursor), ..query(2) }).expect("page 1");
    assert_eq!(second.devices.len(), 1);
    assert_eq!(second.next_cursor, None, "(1+1)·2 ≥ 3 ends the listing");
    let requests = peer.requests();
    let pages: Vec<Option<&str>> = requests.iter().map(|r| r.query("page")).collect();
    assert_eq!(pages, [Some("0"), Some("1")]);
}

#[test]
fn an_empty_answer_is_204_and_ends_the_listing() {
    let peer = Peer::start_tls();
    peer.on("GET", SEARCH).reply(Reply::status(204));
    let plugin = plugin(&peer, false);
    let page = plugin.uem().list_devices(query(100)).expect("an empty page");
    assert!(page.devices.is_empty());
    assert_eq!((page.next_cursor, page.total), (None, Some(0)));
}

#[test]
fn a_401_gets_one_new_token_and_a_second_is_token_rejected() {
    let peer = Peer::start_tls();
    peer.on("POST", "/oauth/token")
        .reply(Reply::json(200, json!({"access_token": "tok", "expires_in": 3600, "token_type": "Bearer"})));
    peer.on("GET", SEARCH).once().reply(Reply::json(401, json!({"errorCode": 1005, "message": "expired"})));
    peer.on("GET", SEARCH).once().reply(page(&[7], 0, 500, 1));
    let plugin = plugin(&peer, true);
    let page = plugin.uem().list_devices(query(500)).expect("page after a new token");
    assert_eq!(page.devices.len(), 1);
    let tokens = |peer: &Peer| peer.requests().iter().filter(|r| r.path == "/oauth/token").count();
    assert_eq!(tokens(&peer), 2, "one token, and one more after the 401");
    let token = peer.requests().into_iter().find(|r| r.path == "/oauth/token").expect("token request");
    assert_eq!(token.form("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(token.form("client_id").as_deref(), Some("client-1"));
    let search = peer.requests().into_iter().rfind(|r| r.path == SEARCH).expect("search");
    assert_eq!(search.header("authorization"), Some("Bearer tok"));
    assert_eq!(search.header("aw-tenant-code"), Some("tenant-code-1"));

    // Refused every time: one new token for the call, then token-rejected.
    peer.on("GET", SEARCH).reply(Reply::json(401, json!({"errorCode": 1005, "message": "no"})));
    match plugin.uem().list_devices(query(500)) {
        Err(CallError::Reported { error: Error::AuthFailed(auth), .. }) => {
            assert_eq!(auth.reason, AuthFailure::TokenRejected)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tokens(&peer), 3);
}
