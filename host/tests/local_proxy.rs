//! The local proxy over HTTPS, against the cloud emulator's dashboard: login, restore, search,
//! CSRF, throttling, logout, rewriting, audit. The browser-level proof is in
//! `local_proxy_browser.rs`.

#[path = "common/proxy_site.rs"]
mod proxy_site;
#[path = "common/slapd.rs"]
mod slapd;
#[path = "common/tinyproxy.rs"]
mod tinyproxy;

use proxy_site::{PASSWORD, ProxySite, USER, hidden_value, set_cookie_pair, text};
use serde_json::Value;

fn html_escaped(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_only_the_login_page_is_served_and_nothing_reaches_the_dashboard() {
    let site = ProxySite::start(3, "").await;
    for path in ["/dashboard", "/api/devices", "/", "/dashboard/events"] {
        let answer = site.client.get(path, &[]).await;
        assert_eq!(answer.status(), 401, "{path}");
        let page = text(&answer);
        assert!(page.contains("id=\"login\""), "{path}: {page}");
        assert!(!page.contains("pii1_") && !page.contains("Devices"), "{path}: not a proxied byte");
    }
    let forged = site.client.get("/dashboard", &[("cookie", "__Host-msc-session=forged")]).await;
    assert_eq!(forged.status(), 401);
    assert!(text(&forged).contains("Your session has ended"));
    let wrong = site.login(USER, "not the password at all").await.expect_err("refused");
    assert_eq!(wrong.status(), 401);
    assert!(text(&wrong).contains("Wrong user name or password"));
    assert!(site.cloud.dashboard_requests().is_empty(), "the dashboard saw a request without a login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_admin_sees_plaintext_the_cloud_keeps_tokens() {
    let site = ProxySite::start(5, "").await;
    let cookie = site.login(USER, PASSWORD).await.expect("login");
    let page = site.client.get("/dashboard", &[("cookie", &cookie)]).await;
    assert_eq!(page.status(), 200);
    let html = text(&page);
    for person in &site.people {
        assert!(html.contains(&html_escaped(&person.email)), "email restored: {html}");
        assert!(html.contains(&html_escaped(&person.owner)), "owner restored");
        assert!(html.contains(&html_escaped(&person.device)), "device name restored, escaped as HTML text");
    }
    assert!(!html.contains("<img src=x") && !html.contains("<script>alert"), "hostile names stay text");
    assert!(!html.contains("pii1_"), "no token left in the page");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers().get("content-encoding").is_none(), "not recompressed toward the browser");
    assert!(page.headers().get("etag").is_none() && page.headers().get("content-length").is_none());

    // JSON: restored with JSON escaping, still valid JSON.
    let api = site.client.get("/api/devices", &[("cookie", &cookie)]).await;
    let devices: Value = serde_json::from_slice(api.body()).expect("valid JSON after restoring");
    let names: Vec<&str> =
        devices.as_array().expect("list").iter().filter_map(|d| d["device"]["name"].as_str()).collect();
    assert!(names.contains(&site.people[1].device.as_str()), "{names:?}");

    // What the dashboard saw: tokens only, compressed, with the admin named.
    let seen = site.cloud.dashboard_requests();
    assert!(seen.iter().all(|r| r.connector_user.as_deref() == Some(USER)), "{seen:?}");
    assert!(seen.iter().all(|r| r.accept_encoding.as_deref() == Some("gzip, br")));
    assert!(
        seen.iter().all(|r| r.cookie.as_deref().is_none_or(|c| !c.contains("msc-"))),
        "the proxy's cookies stay local"
    );
    assert!(site.cloud.find_plaintext(&site.personal_values()).is_empty());

    // The audit log names the viewer and the tokens, never the plaintext.
    let mut audit = String::new();
    for _ in 0..50 {
        audit = site.audit_log();
        if audit.contains("\"view\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(audit.contains("\"action\":\"login\"") && audit.contains("\"action\":\"view\""), "{audit}");
    assert!(audit.contains("pii1_"), "the tokens seen are recorded");
    for value in site.personal_values() {
        assert!(!audit.contains(&value), "plaintext {value:?} in the audit log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_typed_into_search_leaves_as_a_token_and_finds_the_person() {
    let site = ProxySite::start(6, "").await;
    let cookie = site.login(USER, PASSWORD).await.expect("login");
    let wanted = &site.people[3];
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("q", &wanted.email).finish();
    let page = site.client.get(&format!("/dashboard?{query}"), &[("cookie", &cookie)]).await;
    let html = text(&page);
    assert_eq!(page.status(), 200, "{html}");
    assert!(html.contains(&wanted.email) && html.contains(&html_escaped(&wanted.owner)), "{html}");
    assert!(!html.contains(&site.people[4].email), "only the person searched for");
    let sent = site.cloud.dashboard_requests().last().expect("one request").path_and_query.clone();
    assert!(!sent.contains("corp.example.com") && sent.contains("pii1_"), "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_strict_cookies_rotated_at_login_and_ended_by_logout() {
    let site = ProxySite::start(1, "").await;
    let first = site.login(USER, PASSWORD).await.expect("login");
    let second = site.login(USER, PASSWORD).await.expect("login again");
    assert_ne!(first, second, "a new session id at each login");

    let page = site.client.get("/_connector/login", &[]).await;
    let csrf = hidden_value(&text(&page), "csrf").expect("csrf");
    let login_cookie = set_cookie_pair(&page, "__Host-msc-login").expect("cookie");
    let form = format!("csrf={csrf}&next=%2F&username={USER}&password={}", PASSWORD.replace(' ', "+"));
    let origin = site.origin();
    let answer =
        site.client.post_form("/_connector/login", &[("cookie", &login_cookie), ("origin", &origin)], form).await;
    let set = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-msc-session="))
        .expect("session cookie")
        .to_string();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }

    let account = site.client.get("/_connector/account", &[("cookie", &second)]).await;
    assert!(text(&account).contains(USER));
    let token = hidden_value(&text(&account), "csrf").expect("logout token");
    let forged = site
        .client
        .post_form("/_connector/logout", &[("cookie", &second), ("origin", &origin)], "csrf=nope".into())
        .await;
    assert_eq!(forged.status(), 403, "logout needs the session's token");
    let out = site
        .client
        .post_form("/_connector/logout", &[("cookie", &second), ("origin", &origin)], format!("csrf={token}"))
        .await;
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/_connector/login?logged_out=1");
    assert_eq!(site.client.get("/dashboard", &[("cookie", &second)]).await.status(), 401, "logged out");
    assert_eq!(site.client.get("/dashboard", &[("cookie", &first)]).await.status(), 200, "other sessions live on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changing_requests_need_this_origin_and_logins_need_the_form_token() {
    let site = ProxySite::start(3, "").await;
    let cookie = site.login(USER, PASSWORD).await.expect("login");
    let path = format!("/dashboard/devices/maas360/{}/label", site.people[2].id);
    let before = site.cloud.dashboard_requests().len();
    for headers in [
        vec![("cookie", cookie.as_str()), ("origin", "https://evil.example")],
        vec![("cookie", cookie.as_str())],
        vec![("cookie", cookie.as_str()), ("origin", site.proxy.origin.as_str()), ("sec-fetch-site", "cross-site")],
    ] {
        let answer = site.client.post_form(&path, &headers, "label=pwned".into()).await;
        assert_eq!(answer.status(), 403, "{headers:?}");
    }
    assert_eq!(site.cloud.dashboard_requests().len(), before, "nothing forwarded");
    let origin = site.origin();
    let answer =
        site.client.post_form(&path, &[("cookie", &cookie), ("origin", &origin)], "label=reviewed".into()).await;
    assert_eq!(answer.status(), 303, "{}", text(&answer));
    let location = answer.headers()["location"].to_str().expect("location");
    assert!(location.starts_with(&format!("{origin}/dashboard/devices/")), "redirect rewritten: {location}");

    // A login posted without the login form's cookie (login CSRF) is refused.
    let page = site.client.get("/_connector/login", &[]).await;
    let csrf = hidden_value(&text(&page), "csrf").expect("csrf");
    let form = format!("csrf={csrf}&username={USER}&password={}", PASSWORD.replace(' ', "+"));
    let refused = site.client.post_form("/_connector/login", &[("origin", &origin)], form).await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_lock_the_user_and_then_the_address() {
    let site = ProxySite::start(1, "max_failures_per_user = 3\nmax_failures_per_address = 5").await;
    for _ in 0..3 {
        assert_eq!(site.login(USER, "wrong password here").await.expect_err("refused").status(), 401);
    }
    let locked = site.login(USER, PASSWORD).await.expect_err("locked even with the right password");
    assert_eq!(locked.status(), 429);
    assert!(text(&locked).contains("Too many failed logins"));
    for user in ["bob", "carol"] {
        assert_eq!(site.login(user, "wrong password here").await.expect_err("refused").status(), 401);
    }
    assert_eq!(site.login("dave", "whatever password").await.expect_err("address locked").status(), 429);
    let audit = site.audit_log();
    assert!(audit.contains("login-failed") && audit.contains("login-locked"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_cookies_from_the_dashboard_are_rewritten_to_this_origin() {
    let site = ProxySite::start(1, "").await;
    let cookie = site.login(USER, PASSWORD).await.expect("login");
    let root = site.client.get("/", &[("cookie", &cookie)]).await;
    assert_eq!(root.status(), 302);
    assert_eq!(root.headers()["location"], format!("{}/dashboard", site.origin()).as_str());
    let page = site.client.get("/dashboard", &[("cookie", &cookie)]).await;
    let dash = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("dash_view="))
        .expect("the dashboard's cookie")
        .to_string();
    assert!(!dash.to_ascii_lowercase().contains("domain="), "{dash}");
    assert!(dash.contains("Secure"), "{dash}");
    let with_both = format!("{cookie}; dash_view=devices");
    site.client.get("/dashboard", &[("cookie", &with_both)]).await;
    let sent = site.cloud.dashboard_requests().last().and_then(|r| r.cookie.clone());
    assert_eq!(sent.as_deref(), Some("dash_view=devices"), "only the dashboard's own cookie travels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_restored_as_json_event_by_event() {
    let site = ProxySite::start(2, "").await;
    let tokenizer = site.filter.tokenizer();
    let events: Vec<Value> = site
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "id": format!("e{i}"), "event_type": "threat", "severity": "high", "name": "Malicious app",
                "device": {
                    "id": p.id,
                    "name": tokenizer.tokenize(connector::pii::Kind::DeviceName, &p.device).expect("token"),
                    "email": tokenizer.tokenize(connector::pii::Kind::Email, &p.email).expect("token"),
                }
            })
        })
        .collect();
    site.cloud.enqueue(cloud_emulator::TaskSpec::new("siem.events", None, serde_json::json!({ "events": events })));
    let cookie = site.login(USER, PASSWORD).await.expect("login");
    let answer = site.client.get("/dashboard/events/stream?interval_ms=20", &[("cookie", &cookie)]).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let stream = text(&answer);
    let data: Vec<Value> = stream
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|json| serde_json::from_str(json).expect("each event is valid JSON after restoring"))
        .collect();
    assert_eq!(data.len(), 2, "{stream}");
    for (event, person) in data.iter().zip(&site.people) {
        assert_eq!(event["device"]["email"], person.email.as_str());
        assert_eq!(event["device"]["name"], person.device.as_str(), "quotes and tags survive as JSON");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_users_in_the_allowed_group_log_in_through_the_proxy() {
    let mut directory = slapd::Slapd::start();
    let secrets = tempfile::tempdir().expect("tempdir");
    let bind = secrets.path().join("ldap-bind");
    std::fs::write(&bind, slapd::SERVICE_PASSWORD).expect("write");
    std::fs::set_permissions(&bind, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let extra = format!(
        r#"
[local_proxy.ldap]
url = "{url}"
ca_file = {ca:?}
bind_dn = "{service}"
bind_password = {{ file = {bind:?} }}
user_base = "{people}"
user_filter = "(&(objectClass=inetOrgPerson)(uid={{user}}))"
group_base = "{groups}"
allowed_groups = ["{admins}"]
"#,
        url = directory.ldaps_url(),
        ca = directory.ca_file().display().to_string(),
        service = slapd::SERVICE_DN,
        bind = bind.display().to_string(),
        people = slapd::PEOPLE,
        groups = slapd::GROUPS,
        admins = slapd::ADMINS,
    );
    let site = ProxySite::start(2, &extra).await;
    let cookie = site.login("alice", slapd::ALICE_PASSWORD).await.expect("alice is a connector admin in the directory");
    assert_eq!(site.client.get("/dashboard", &[("cookie", &cookie)]).await.status(), 200);
    let account = text(&site.client.get("/_connector/account", &[("cookie", &cookie)]).await);
    assert!(account.contains("(ldap)"), "{account}");
    let bob = site.login("bob", slapd::BOB_PASSWORD).await.expect_err("bob is not in the group");
    assert_eq!(bob.status(), 401);
    let injected = site.login("*", slapd::ALICE_PASSWORD).await.expect_err("no filter injection");
    assert_eq!(injected.status(), 401);
    // The local user of the same name still logs in with the local password.
    site.login(USER, PASSWORD).await.expect("local login");

    directory.stop();
    let down = site.login("alice", slapd::ALICE_PASSWORD).await.expect_err("directory down");
    assert_eq!(down.status(), 503);
    assert!(text(&down).contains("directory cannot be reached"));
    let audit = site.audit_log();
    assert!(audit.contains("\"method\":\"ldap\"") && audit.contains("\"method\":\"local\""), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_reached_through_the_relays_egress_proxy() {
    let egress = tinyproxy::Tinyproxy::start();
    let secrets = tempfile::tempdir().expect("tempdir");
    let password = secrets.path().join("proxy-password");
    std::fs::write(&password, tinyproxy::PASSWORD).expect("write");
    std::fs::set_permissions(&password, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let relay_extra = format!(
        "[relay.proxy]\nurl = \"{}\"\nusername = \"{}\"\npassword = {{ file = {:?} }}\n",
        egress.url(),
        tinyproxy::USER,
        password.display().to_string()
    );
    let site = ProxySite::start_with(2, &relay_extra, "").await;
    let cookie = site.login(USER, PASSWORD).await.expect("login");
    let page = site.client.get("/dashboard", &[("cookie", &cookie)]).await;
    assert_eq!(page.status(), 200);
    assert!(text(&page).contains(&site.people[0].email));
    let target = site.cloud.relay_url().trim_start_matches("https://").to_string();
    assert!(egress.connects_to(&target) >= 1, "no tunnel to {target}: {}", egress.log());
}
