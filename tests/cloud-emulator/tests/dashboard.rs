//! The dashboard: pages and API, search, limits, redirects, cookies, compression and ETags, the
//! audit record, the label form and the event stream.

mod client;

use std::io::Read;
use std::time::{Duration, Instant};

use client::{Client, line, start};
use cloud_emulator::{Emulator, TaskSpec};
use http_body_util::BodyExt;
use hyper::Method;
use serde_json::{Value, json};

/// A dashboard GET with extra headers; the body as raw bytes (it may be compressed).
async fn raw(
    client: &Client,
    cloud: &Emulator,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, hyper::HeaderMap, Vec<u8>) {
    let bearer = format!("Bearer {}", cloud.dashboard_token());
    let mut all = vec![("authorization", bearer.as_str())];
    all.extend_from_slice(headers);
    let response = client.open(path, &all).await;
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a hyper::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Three devices stored directly: A1 (name a token), B2 (name a record), C3 (model "Pixel 8").
fn seed(cloud: &Emulator) {
    let mut record = line("B2", json!({"kind": "DeviceName", "value": "pii1_cmVjb3Jk"}), json!(null), "iPhone");
    record["device"]["email"] = json!("pii1_bmFtZTE");
    let lines = vec![
        line("A1", json!("pii1_bmFtZTE"), json!("pii1_ZW1haWwx"), "iPhone"),
        record,
        line("C3", json!(null), json!(null), "Pixel 8"),
    ];
    assert_eq!(cloud.store_inventory("maas360", lines), 3);
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().expect("array").iter().filter_map(|e| e["device"]["id"].as_str()).collect()
}

#[tokio::test]
async fn the_dashboard_shows_stored_values_escaped() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    let id = cloud.enqueue(TaskSpec::new("uem.sync", Some("maas360"), json!({})));
    client.poll(&session, 1, 1000).await;
    let lines = [
        line("A1", json!("pii1_bmFtZTE"), json!("pii1_ZW1haWwx"), "<script>alert('x')</script> & \"q\""),
        line("B 2/x", json!(null), json!(null), "Pixel"),
    ];
    let batch = json!({"task": id, "instance": "maas360", "seq": 0, "devices": lines});
    client.relay("inventory", &session, &batch).await;
    let event = json!({"id": "e1", "event_type": "Threat detected", "time_ms": 0, "severity": "High", "name": "<b>bad</b>",
        "device": {"id": "A1", "name": {"kind": "DeviceName", "value": "pii1_bmFtZTE"}, "owner": null, "email": null, "phone": null}});
    cloud.enqueue(TaskSpec::new("siem.events", Some("siem-cef"), json!({"events": [event]})));

    assert_eq!(client.dashboard("/dashboard", "wrong").await.status, 401);
    let page = client.dashboard("/dashboard", cloud.dashboard_token()).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("content-security-policy"), Some("default-src 'none'; style-src 'unsafe-inline'"));
    assert!(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"), "{}", page.body);
    assert!(!page.body.contains("<script"));
    assert!(page.body.contains("<td>pii1_bmFtZTE</td>") && page.body.contains("<td>pii1_ZW1haWwx</td>"));
    assert!(page.body.contains("href=\"/dashboard/devices/maas360/B%202%2Fx\""), "{}", page.body);
    assert!(page.body.contains("2026-11-01 00:00:00 UTC"));

    let detail = client.dashboard("/dashboard/devices/maas360/B%202%2Fx", cloud.dashboard_token()).await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains("<td>com.apple.mobilemail</td>"), "{}", detail.body);
    assert_eq!(client.dashboard("/dashboard/devices/maas360/none", cloud.dashboard_token()).await.status, 404);
    let events = client.dashboard("/dashboard/events", cloud.dashboard_token()).await;
    assert!(events.body.contains("<td>&lt;b&gt;bad&lt;/b&gt;</td>") && events.body.contains("<td>pii1_bmFtZTE</td>"));

    let api = client.dashboard("/api/devices", cloud.dashboard_token()).await;
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(api.json().as_array().map(Vec::len), Some(2));
    let device = client.dashboard("/api/devices/maas360/A1", cloud.dashboard_token()).await.json();
    assert_eq!(
        (device["device"]["name"].as_str(), device["apps"].as_array().map(Vec::len)),
        (Some("pii1_bmFtZTE"), Some(1))
    );
    let apps = client.dashboard("/api/apps", cloud.dashboard_token()).await.json();
    assert_eq!((apps[0]["device_id"].as_str(), apps.as_array().map(Vec::len)), (Some("A1"), Some(2)));
    assert_eq!(client.dashboard("/api/events", cloud.dashboard_token()).await.json()[0]["id"], "e1");
    assert_eq!(cloud.stats().pii_violations, 0, "{:?}", cloud.pii_violations());
}

#[tokio::test]
async fn search_matches_whole_field_values() {
    let (cloud, client) = start().await;
    seed(&cloud);
    let token = cloud.dashboard_token();
    let api = |q: &str| {
        let path = format!("/api/devices?q={q}");
        let client = client.clone();
        async move { client.dashboard(&path, token).await.json() }
    };
    assert_eq!(ids(&api("pii1_bmFtZTE").await), ["A1", "B2"], "a plain value, and B2's email");
    assert_eq!(ids(&api("pii1_cmVjb3Jk").await), ["B2"], "a {{kind,value}} record's value");
    assert_eq!(ids(&api("Pixel+8").await), ["C3"], "+ is a space");
    assert_eq!(ids(&api("Pixel%208").await), ["C3"]);
    assert!(ids(&api("pii1_bmFt").await).is_empty(), "no prefix matches");
    assert!(ids(&api("DeviceName").await).is_empty(), "a record's kind is not its value");
    assert_eq!(ids(&api("").await).len(), 3, "an empty search shows everything");

    let page = client.dashboard("/dashboard?q=pii1_cmVjb3Jk", token).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<p>Results for pii1_cmVjb3Jk</p>"), "{}", page.body);
    assert!(page.body.contains(
        "<form method=\"get\" action=\"/dashboard\"><input name=\"q\" type=\"search\" value=\"pii1_cmVjb3Jk\"><button>Search</button></form>"
    ));
    assert!(page.body.contains("<p>1 devices.</p>") && page.body.contains("/dashboard/devices/maas360/B2\""));
    assert!(!page.body.contains("/dashboard/devices/maas360/A1\""));
    let hostile = client.dashboard("/dashboard?q=%22%3E%3Cscript%3E", token).await;
    assert!(hostile.body.contains("value=\"&quot;&gt;&lt;script&gt;\""), "{}", hostile.body);
    assert!(hostile.body.contains("<p>Results for &quot;&gt;&lt;script&gt;</p>") && !hostile.body.contains("<script"));
    let all = client.dashboard("/dashboard", token).await;
    assert!(!all.body.contains("Results for") && all.body.contains("value=\"\""));
}

#[tokio::test]
async fn limits_cut_lists() {
    let (cloud, client) = start().await;
    seed(&cloud);
    let token = cloud.dashboard_token();
    assert_eq!(ids(&client.dashboard("/api/devices?limit=2", token).await.json()), ["A1", "B2"]);
    assert_eq!(ids(&client.dashboard("/api/devices?limit=1&q=pii1_bmFtZTE", token).await.json()), ["A1"]);
    let page = client.dashboard("/dashboard?limit=1", token).await;
    assert!(page.body.contains("<p>1 devices.</p>") && !page.body.contains("/B2\""), "{}", page.body);
    let bad = client.dashboard("/api/devices?limit=x", token).await;
    assert_eq!((bad.status, bad.json()["error"].as_str()), (400, Some("bad-request")));
    assert_eq!(client.dashboard("/dashboard?limit=-1", token).await.status, 400);
}

#[tokio::test]
async fn the_root_redirects_to_the_absolute_dashboard_url_the_client_addressed() {
    let (cloud, client) = start().await;
    let root = client.send(Method::GET, "/", &[], "").await;
    assert_eq!(root.status, 302, "no token needed");
    assert_eq!(root.header("location"), Some(format!("{}/dashboard", cloud.origin()).as_str()));
    let named = client.send(Method::GET, "/", &[("host", "cloud.example:9443")], "").await;
    assert_eq!(named.header("location"), Some("https://cloud.example:9443/dashboard"));
    let hostile = client.send(Method::GET, "/", &[("host", "evil.example/x?")], "").await;
    assert_eq!(hostile.header("location"), Some(format!("{}/dashboard", cloud.origin()).as_str()));
}

#[tokio::test]
async fn pages_set_a_domain_cookie_and_the_cookies_received_are_recorded() {
    let (cloud, client) = start().await;
    seed(&cloud);
    let (_, headers, _) = raw(&client, &cloud, "/dashboard", &[("host", "cloud.example:9443")]).await;
    assert_eq!(
        header(&headers, "set-cookie"),
        Some("dash_view=devices; Path=/; Domain=cloud.example; Secure; HttpOnly; SameSite=Lax")
    );
    let (_, headers, _) = raw(&client, &cloud, "/dashboard/devices/maas360/A1", &[]).await;
    assert_eq!(
        header(&headers, "set-cookie"),
        Some("dash_view=device; Path=/; Domain=127.0.0.1; Secure; HttpOnly; SameSite=Lax")
    );
    let (status, headers, _) = raw(&client, &cloud, "/dashboard/nope", &[]).await;
    assert_eq!(
        (status, header(&headers, "set-cookie").map(|c| c.starts_with("dash_view=not-found;"))),
        (404, Some(true))
    );
    let (_, headers, _) = raw(&client, &cloud, "/api/devices", &[]).await;
    assert_eq!(header(&headers, "set-cookie"), None, "JSON is not a page");

    raw(&client, &cloud, "/dashboard/events", &[("cookie", "dash_view=devices; other=1")]).await;
    let last = cloud.dashboard_requests().pop().expect("recorded");
    assert_eq!(
        (last.path_and_query.as_str(), last.cookie.as_deref()),
        ("/dashboard/events", Some("dash_view=devices; other=1"))
    );
}

#[tokio::test]
async fn answers_are_compressed_as_accepted_with_etags() {
    let (cloud, client) = start().await;
    seed(&cloud);
    let (_, plain_headers, plain) = raw(&client, &cloud, "/dashboard", &[]).await;
    assert_eq!(header(&plain_headers, "content-encoding"), None);
    assert_eq!(header(&plain_headers, "vary"), Some("Accept-Encoding"));
    let etag = header(&plain_headers, "etag").expect("an etag").to_string();
    assert!(String::from_utf8_lossy(&plain).contains("<td>pii1_bmFtZTE</td>"));

    let (_, headers, body) =
        raw(&client, &cloud, "/dashboard", &[("accept-encoding", "gzip, deflate, br, zstd")]).await;
    assert_eq!((header(&headers, "content-encoding"), header(&headers, "etag")), (Some("br"), Some(etag.as_str())));
    let mut unpacked = Vec::new();
    brotli::Decompressor::new(body.as_slice(), 4096).read_to_end(&mut unpacked).expect("brotli");
    assert_eq!(unpacked, plain);

    let (_, headers, body) = raw(&client, &cloud, "/dashboard", &[("accept-encoding", "br;q=0, gzip")]).await;
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(body.as_slice()).read_to_end(&mut unpacked).expect("gzip");
    assert_eq!(unpacked, plain);

    for identity in ["identity", "br;q=0, gzip;q=0"] {
        let (_, headers, body) = raw(&client, &cloud, "/dashboard", &[("accept-encoding", identity)]).await;
        assert_eq!((header(&headers, "content-encoding"), &body), (None, &plain), "{identity}");
    }
    let (_, headers, body) = raw(&client, &cloud, "/api/devices", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"), "JSON too");
    let mut unpacked = String::new();
    flate2::read::GzDecoder::new(body.as_slice()).read_to_string(&mut unpacked).expect("gzip");
    assert_eq!(serde_json::from_str::<Value>(&unpacked).expect("json").as_array().map(Vec::len), Some(3));

    let (status, headers, body) =
        raw(&client, &cloud, "/dashboard", &[("if-none-match", etag.as_str()), ("accept-encoding", "br")]).await;
    assert_eq!((status, header(&headers, "etag"), body.len()), (304, Some(etag.as_str()), 0));
    cloud.store_inventory("maas360", vec![line("D4", json!(null), json!(null), "Pixel")]);
    let (status, headers, _) = raw(&client, &cloud, "/dashboard", &[("if-none-match", etag.as_str())]).await;
    assert_eq!(status, 200, "the page changed");
    assert_ne!(header(&headers, "etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn every_request_is_audited_with_the_connector_user() {
    let (cloud, client) = start().await;
    let bearer = format!("Bearer {}", cloud.dashboard_token());
    let headers = [("authorization", bearer.as_str()), ("x-connector-user", "alice"), ("accept-encoding", "gzip")];
    client.send(Method::GET, "/dashboard?q=pii1_x&limit=5", &headers, "").await;
    client.send(Method::GET, "/api/events", &[("authorization", "Bearer wrong")], "").await;
    let log = cloud.dashboard_requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].method.as_str(), log[0].path_and_query.as_str(), log[0].status, log[0].connector_user.as_deref()),
        ("GET", "/dashboard?q=pii1_x&limit=5", 200, Some("alice"))
    );
    assert_eq!((log[0].accept_encoding.as_deref(), log[0].cookie.as_deref()), (Some("gzip"), None));
    assert_eq!((log[1].status, log[1].connector_user.as_deref()), (401, None));
    let over_http = client.admin(&cloud, Method::GET, "/admin/dashboard-requests", &Value::Null).await.json();
    assert_eq!(over_http[0]["connector_user"], "alice");
    assert_eq!(over_http[1]["path_and_query"], "/api/events");

    for _ in 0..cloud_emulator::KEPT_DASHBOARD_REQUESTS {
        client.send(Method::GET, "/", &[], "").await;
    }
    let log = cloud.dashboard_requests();
    assert_eq!(log.len(), cloud_emulator::KEPT_DASHBOARD_REQUESTS);
    assert!(log.iter().all(|r| r.path_and_query == "/"), "the oldest went first");
}

#[tokio::test]
async fn the_label_form_changes_the_device_and_redirects_back() {
    let (cloud, client) = start().await;
    seed(&cloud);
    let bearer = format!("Bearer {}", cloud.dashboard_token());
    let form = [("authorization", bearer.as_str()), ("content-type", "application/x-www-form-urlencoded")];
    let page = client.dashboard("/dashboard/devices/maas360/A1", cloud.dashboard_token()).await;
    assert!(page.body.contains(
        "<form method=\"post\" action=\"/dashboard/devices/maas360/A1/label\"><input name=\"label\"><button>Set label</button></form>"
    ), "{}", page.body);

    let set = client.send(Method::POST, "/dashboard/devices/maas360/A1/label", &form, "label=Front+desk+%3C1%3E").await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.header("location"), Some(format!("{}/dashboard/devices/maas360/A1", cloud.origin()).as_str()));
    assert_eq!(cloud.device("maas360", "A1").expect("device").label.as_deref(), Some("Front desk <1>"));
    let page = client.dashboard("/dashboard/devices/maas360/A1", cloud.dashboard_token()).await;
    assert!(page.body.contains("<span id=\"label\">Front desk &lt;1&gt;</span>"), "{}", page.body);
    let api = client.dashboard("/api/devices/maas360/A1", cloud.dashboard_token()).await.json();
    assert_eq!(api["label"], "Front desk <1>");
    cloud.store_inventory("maas360", vec![line("A1", json!(null), json!(null), "iPhone")]);
    assert!(cloud.device("maas360", "A1").expect("device").label.is_some(), "a new sync keeps the label");

    let named = [form[0], form[1], ("host", "cloud.example")];
    let set = client.send(Method::POST, "/dashboard/devices/maas360/C3/label", &named, "label=x").await;
    assert_eq!(set.header("location"), Some("https://cloud.example/dashboard/devices/maas360/C3"));
    let json_body = [form[0], ("content-type", "application/json")];
    assert_eq!(client.send(Method::POST, "/dashboard/devices/maas360/A1/label", &json_body, "{}").await.status, 415);
    assert_eq!(client.send(Method::POST, "/dashboard/devices/maas360/A1/label", &form, "other=1").await.status, 400);
    assert_eq!(client.send(Method::POST, "/dashboard/devices/maas360/none/label", &form, "label=x").await.status, 404);
    let anonymous = [form[1]];
    assert_eq!(
        client.send(Method::POST, "/dashboard/devices/maas360/A1/label", &anonymous, "label=x").await.status,
        401
    );
    assert_eq!(client.send(Method::POST, "/dashboard", &form, "label=x").await.status, 405);
    assert_eq!(client.send(Method::POST, "/api/devices", &form, "").await.status, 405);
}

#[tokio::test]
async fn the_event_stream_sends_each_event_as_it_goes_then_ends() {
    let (cloud, client) = start().await;
    let events: Vec<Value> = (0..3).map(|i| json!({"id": format!("e{i}"), "event_type": "Threat detected"})).collect();
    cloud.enqueue(TaskSpec::new("siem.events", Some("siem-cef"), json!({ "events": events })));
    let started = Instant::now();
    let bearer = format!("Bearer {}", cloud.dashboard_token());
    let response = client
        .open(
            "/dashboard/events/stream?interval_ms=150",
            &[("authorization", &bearer), ("accept-encoding", "gzip, br")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
    assert!(response.headers().get("content-encoding").is_none());
    let mut body = response.into_body();
    let mut text = String::new();
    let mut first_at = None;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("in time") {
        if let Ok(data) = frame.expect("frame").into_data() {
            first_at.get_or_insert_with(|| started.elapsed());
            text.push_str(std::str::from_utf8(&data).expect("utf-8"));
        }
    }
    let ended_at = started.elapsed();
    let sent: Vec<Value> = text
        .split("\n\n")
        .filter(|m| !m.is_empty())
        .map(|m| serde_json::from_str(m.strip_prefix("data: ").expect("a data line")).expect("json"))
        .collect();
    assert_eq!(sent, events);
    let first_at = first_at.expect("data");
    assert!(
        ended_at >= Duration::from_millis(300) && ended_at - first_at >= Duration::from_millis(250),
        "{first_at:?} {ended_at:?}"
    );
}
