//! The local proxy end to end in headless Chromium (Debian's `chromium`, driven through
//! chromedriver): log in, see the device list with plaintext restored, hostile device names render
//! as text and run nothing, search by email, log out. The same page fetched straight from the cloud
//! emulator shows only tokens.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/proxy_site.rs"]
mod proxy_site;

use browser::{Browser, spki_sha256_base64};
use proxy_site::{Client, PASSWORD, ProxySite, USER, text};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

/// Every table cell's text on the page.
async fn cells(browser: &Browser) -> Vec<String> {
    let value = browser.eval("return Array.from(document.querySelectorAll('td')).map(td => td.textContent)").await;
    value.as_array().expect("array").iter().filter_map(Value::as_str).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_logs_in_sees_plaintext_safely_searches_and_logs_out() {
    let site = ProxySite::start(4, "").await;
    let pem = std::fs::read(site.path("proxy.pem")).expect("certificate");
    let der = CertificateDer::from_pem_slice(&pem).expect("PEM");
    let browser = Browser::start(Some(&spki_sha256_base64(&der))).await;
    let origin = site.origin();

    // Not logged in: the login page, whatever was asked for.
    browser.goto(&format!("{origin}/dashboard")).await;
    assert!(browser.exists("#login").await, "{}", browser.source().await);
    browser.fill("#username", USER).await;
    browser.fill("#password", PASSWORD).await;
    browser.submit("#login").await;
    browser.wait_for("table").await;
    assert_eq!(browser.current_url().await, format!("{origin}/dashboard"), "back where the admin was going");

    // Plaintext, restored; hostile names are text and nothing ran.
    let shown = cells(&browser).await;
    for person in &site.people {
        for value in [&person.device, &person.owner, &person.email, &person.phone] {
            assert!(shown.iter().any(|c| c == value), "{value:?} not shown as a cell's text: {shown:?}");
        }
    }
    assert!(!browser.alert_open().await, "a script from a device name ran");
    let injected = browser.eval("return document.querySelectorAll('img, script').length").await;
    assert_eq!(injected, Value::from(0), "no element came out of a device name");
    assert!(!browser.source().await.contains("pii1_"), "every token restored");

    // The same page straight from the cloud: tokens only.
    let cloud = Client::new(site.cloud.addr(), site.cloud.ca_pem());
    let bearer = format!("Bearer {}", site.cloud.dashboard_token());
    let direct = cloud.get("/dashboard", &[("authorization", &bearer)]).await;
    let direct = text(&direct);
    assert!(direct.contains("pii1_"), "{direct}");
    for value in site.personal_values() {
        assert!(
            !direct.contains(&value) && !direct.contains(&value.replace('<', "&lt;")),
            "{value:?} reached the cloud"
        );
    }

    // Search by a person's email: it leaves as a token and finds them.
    let wanted = site.people[2].clone();
    browser.fill("input[name=q]", &wanted.email).await;
    browser.submit("form[action='/dashboard']").await;
    // The old page has a table too: wait for the results page's address first.
    let started = std::time::Instant::now();
    while !browser.current_url().await.contains("?q=") {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the search did not navigate");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.wait_for("table").await;
    let shown = cells(&browser).await;
    assert!(shown.contains(&wanted.email) && shown.contains(&wanted.owner), "{shown:?}");
    assert!(!shown.contains(&site.people[3].email), "only the person searched for: {shown:?}");
    let sent = site.cloud.dashboard_requests().last().expect("request").path_and_query.clone();
    assert!(sent.contains("pii1_") && !sent.contains("corp.example.com"), "{sent}");

    // Log out: the session is gone and the dashboard is behind the login page again.
    browser.goto(&format!("{origin}/_connector/account")).await;
    assert_eq!(browser.text_of("#user").await, USER);
    browser.click("#logout-button").await;
    browser.wait_for("#login").await;
    assert!(browser.text_of("#notice").await.contains("logged out"));
    assert!(browser.cookies().await.iter().all(|c| c.name() != "__Host-msc-session"), "session cookie removed");
    browser.goto(&format!("{origin}/dashboard")).await;
    assert!(browser.exists("#login").await && !browser.exists("table").await);
    browser.close().await;
}
