//! `connector run` with a `[local_proxy]`: the proxy starts with the connector, reports its
//! certificate, serves what a real sync put in the cloud with the plaintext restored — and
//! nothing personal or secret reaches the connector's log or the cloud.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/proxy_site.rs"]
mod proxy_site;
#[path = "common/relay_site.rs"]
mod relay_site;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use browser::{Browser, spki_sha256_base64};
use cloud_emulator::TaskSpec;
use proxy_site::{Client, issue_localhost, login, text};
use relay_site::{Connector, Site};
use rustls_pki_types::pem::PemObject;
use serde_json::json;

const PASSWORD: &str = "a long local password";

fn add_user(users_file: &std::path::Path, name: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["users", "add", name, "--users-file"])
        .arg(users_file)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("connector users add");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("password");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// A connector (`connector run`) with a `[local_proxy]` on a free port, user alice, and
/// `extra` appended to its config; returns it once the proxy serves, with the port and the CA
/// that issued the proxy's certificate.
async fn start_connector(site: &Site, extra: &str) -> (Connector, u16, String) {
    let (ca_pem, cert_pem, key_pem) = issue_localhost();
    site.write("proxy.pem", &cert_pem);
    site.write("proxy.key", &key_pem);
    site.write("dashboard-token", site.cloud.dashboard_token());
    add_user(&site.path("users.toml"), "alice", PASSWORD);
    let port = proxy_site::free_port();
    let config = site.config("hq-1", "pii.keyring", "");
    let mut text_of_config = std::fs::read_to_string(&config).expect("config");
    text_of_config.push_str(&format!(
        "\n[local_proxy]\nlisten = \"127.0.0.1:{port}\"\ncert_file = \"proxy.pem\"\nkey_file = \"proxy.key\"\n\
         dashboard_url = \"{}\"\ndashboard_token = {{ file = \"dashboard-token\" }}\n{extra}",
        site.cloud.relay_url()
    ));
    std::fs::write(&config, text_of_config).expect("config");
    let mut connector = Connector::start_logging(&config, "debug,wasmtime=warn,cranelift_codegen=warn");

    let started = Instant::now();
    while !connector.log().contains("local proxy: admins log in here") {
        assert!(connector.is_running(), "the connector stopped: {}", connector.log());
        assert!(started.elapsed() < Duration::from_secs(60), "no proxy: {}", connector.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (connector, port, ca_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_serves_the_proxy_and_logs_no_personal_data() {
    let site = Site::start(40).await;
    let (mut connector, port, ca_pem) = start_connector(&site, "").await;
    assert!(connector.log().contains("certificate_sha256="), "the fingerprint is reported");

    let sync = site.cloud.enqueue(TaskSpec::new("uem.sync", Some("maas360"), json!({})));
    assert!(site.cloud.wait_completed(&[sync], Duration::from_secs(60)).await, "sync: {}", connector.log());

    let client = Client::new(([127, 0, 0, 1], port).into(), &ca_pem);
    let origin = format!("https://127.0.0.1:{port}");
    assert!(login(&client, &origin, "alice", "wrong password, surely").await.is_err());
    let cookie = login(&client, &origin, "alice", PASSWORD).await.expect("login");
    let page = text(&client.get("/api/devices", &[("cookie", &cookie)]).await);
    let devices = site.maas360.devices();
    let shown = devices.iter().filter(|d| page.contains(&d.email)).count();
    assert_eq!(shown, devices.len(), "every synced device's email restored: {page:.400}");

    // The status page, for logged-in admins only: the link, each instance, recent problems.
    let anonymous = client.get("/_connector/status", &[]).await;
    assert_eq!(anonymous.status(), 401, "the login page for the unauthenticated");
    let status = text(&client.get("/_connector/status", &[("cookie", &cookie)]).await);
    assert!(status.contains("<b id=\"relay\">up: the relay answers</b>"), "{status}");
    assert!(status.contains("<td>maas360</td><td>uem</td>"), "{status}");
    assert!(status.contains("id=\"problems\""), "{status}");
    for value in site.personal_values() {
        assert!(!status.contains(&value), "{value:?} on the status page");
    }

    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true));
    let log = connector.log();
    for value in site.personal_values() {
        assert!(!log.contains(&value), "{value:?} in the connector's log");
    }
    for secret in [PASSWORD, site.cloud.dashboard_token(), "wrong password, surely"] {
        assert!(!log.contains(secret), "a secret in the connector's log");
    }
    site.assert_cloud_holds_no_plaintext(&[]);
}

/// The status page in headless Chromium: behind the login, it shows the link, the instances and
/// the recent problems, and text a plugin or a config chose (here a failing self-test check named
/// after markup) is shown as text and runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_the_status_page_in_a_browser_and_nothing_in_it_runs() {
    const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    let site = Site::start(5).await;
    let probe = format!(
        "\n[instances.probe]\nplugin = \"test_plugin_probe.wasm\"\nkind = \"uem\"\n\n\
         [instances.probe.config]\nsecrets_to_probe = [{HOSTILE:?}]\n"
    );
    let (connector, port, _) = start_connector(&site, &probe).await;
    // The probe's self-test fails its check of that secret: a warning, kept for the status page.
    let started = Instant::now();
    while !connector.log().contains("checks failed") {
        assert!(started.elapsed() < Duration::from_secs(60), "no failed self-test: {}", connector.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pem = std::fs::read(site.path("proxy.pem")).expect("certificate");
    let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).expect("PEM");
    let browser = Browser::start(Some(&spki_sha256_base64(&der))).await;
    let origin = format!("https://127.0.0.1:{port}");

    browser.goto(&format!("{origin}/_connector/status")).await;
    assert!(browser.exists("#login").await, "the status page is behind the login");
    browser.fill("#username", "alice").await;
    browser.fill("#password", PASSWORD).await;
    browser.submit("#login").await;
    browser.wait_for("#plugins").await;
    assert_eq!(browser.current_url().await, format!("{origin}/_connector/status"));

    let started = Instant::now();
    while browser.text_of("#relay").await != "up: the relay answers" {
        assert!(started.elapsed() < Duration::from_secs(30), "relay link: {}", browser.text_of("#relay").await);
        browser.goto(&format!("{origin}/_connector/status")).await;
    }
    let instances = browser
        .eval("return Array.from(document.querySelectorAll('#plugins tr td:first-child')).map(td => td.textContent)")
        .await;
    for instance in ["maas360", "probe", "siem-json", "mail"] {
        assert!(instances.as_array().is_some_and(|a| a.iter().any(|i| i == instance)), "{instance}: {instances}");
    }
    // The probe's row says its self-test found a problem, with the check's name as text.
    let probe_row = browser
        .eval("return Array.from(document.querySelectorAll('#plugins tr')).map(tr => tr.textContent).find(t => t.startsWith('probe')) || ''")
        .await;
    let probe_row = probe_row.as_str().unwrap_or_default();
    assert!(probe_row.contains("degraded: ") && probe_row.contains(HOSTILE), "{probe_row}");
    let problems = browser.text_of("#problems").await;
    assert!(problems.contains(HOSTILE), "the check's name is shown as written: {problems}");
    assert!(!browser.alert_open().await, "a script from the problem list ran");
    let injected = browser.eval("return document.querySelectorAll('img, script').length").await;
    assert_eq!(injected, serde_json::Value::from(0), "no element came out of a self-test's or a problem's text");
    browser.close().await;
}
