//! The MaaS360 plugin end to end against the MaaS360 emulator over TLS with every quirk on:
//! full and incremental sync through device groups and the whole tenant, pages that shift while
//! paging, token expiry, throttling and outages mid-sync, each way sign-in fails, the mitigation
//! label set and cleared, a private CA honoured and an unknown one refused — and no plaintext
//! personal data in what is synced or logged.

use std::collections::{BTreeSet, HashMap};

use connector::inventory::{self, SyncOptions, SyncReport, SyncedDevice, SyncedLine};
use connector::plugins::worlds::uem::{DeviceQuery, RiskLevel};
use connector::plugins::worlds::{AuthFailure, Error};
use connector::plugins::{CallError, PluginRuntime};
use connector_tests::logs;
use connector_tests::maas360::{Credentials, Maas360};
use connector_tests::test_ca::TestCa;
use maas360_emulator::{DeviceSnapshot, EmulatorConfig, find_personal_value};
use serde_json::Value;

const GROUPS: &str = "groups = [\"MP_Devices_Group\", \"Executives\", \"Lab\"]";

fn tenant(devices: usize) -> EmulatorConfig {
    EmulatorConfig { devices, ..EmulatorConfig::default() }
}

/// Syncs instance `maas360` and returns the JSON lines the cloud would receive.
async fn sync(
    runtime: &PluginRuntime,
    options: &SyncOptions,
) -> Result<(Vec<Value>, SyncReport), inventory::InventoryError> {
    let uem = runtime.uem("maas360").expect("instance");
    let filter = runtime.pii().expect("pii configured");
    let mut lines = Vec::new();
    let report = inventory::sync(&uem, filter, options, |synced: SyncedDevice| {
        lines.push(serde_json::to_value(SyncedLine::new("maas360", &synced))?);
        Ok(())
    })
    .await?;
    Ok((lines, report))
}

fn devices_only() -> SyncOptions {
    SyncOptions { apps: false, ..SyncOptions::default() }
}

fn ids(lines: &[Value]) -> Vec<String> {
    lines.iter().map(|l| l["device"]["id"].as_str().expect("id").to_string()).collect()
}

fn in_groups(devices: &[DeviceSnapshot], groups: &[&str]) -> BTreeSet<String> {
    devices.iter().filter(|d| d.groups.iter().any(|g| groups.contains(&g.as_str()))).map(|d| d.id.clone()).collect()
}

fn assert_no_plaintext(text: &str, devices: &[DeviceSnapshot]) {
    if let Some(value) = find_personal_value(text, devices) {
        panic!("plaintext `{value}` leaked");
    }
}

fn reported(result: Result<impl std::fmt::Debug, CallError>) -> Error {
    match result {
        Err(CallError::Reported { error, .. }) => error,
        other => panic!("expected the plugin to report an error, got {other:?}"),
    }
}

#[tokio::test]
async fn full_and_incremental_sync_through_groups_with_every_quirk() {
    let maas = Maas360::start(tenant(3000)).await;
    let config = maas.config(GROUPS, &Credentials::default());
    let runtime = config.start().await;
    let (captured, _guard) = logs::capture();

    let (lines, report) = sync(&runtime, &devices_only()).await.expect("full sync");
    let devices = maas.emulator.devices();
    let expected = in_groups(&devices, &["MP_Devices_Group", "Executives", "Lab"]);
    let got = ids(&lines);
    assert_eq!(got.len(), expected.len(), "each device once");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(report.repeats > 0, "devices in two groups are dropped the second time: {report:?}");
    let stats = maas.emulator.stats();
    assert_eq!(stats.max_page_size, 250, "paged at 250: {stats:?}");
    assert_eq!(stats.authenticate, 1, "one sign-in, then the cached token: {stats:?}");

    // The quirks came through as typed values: a number for a phone, floats and ints for OS
    // versions, "N/A" as absent.
    let by_id: HashMap<&str, &DeviceSnapshot> = devices.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut os_versions = BTreeSet::new();
    for line in &lines {
        let device = &line["device"];
        let snapshot = by_id[device["id"].as_str().expect("id")];
        assert_eq!(device["email"].as_str().is_some(), !snapshot.email.is_empty());
        if let Some(phone) = device["phone"].as_str() {
            assert!(phone.starts_with("pii1_"), "{phone}");
        }
        os_versions.insert(device["os_version"].to_string());
        assert_ne!(device["ownership"], "n/a");
    }
    assert!(os_versions.iter().any(|v| v.contains('.')), "{os_versions:?}");

    // Tokens restore to the tenant's values (canonical spelling).
    let filter = runtime.pii().expect("pii");
    let first = &lines[0]["device"];
    let snapshot = by_id[first["id"].as_str().expect("id")];
    let email = filter.tokenizer().reveal(first["email"].as_str().expect("email token")).expect("opens");
    assert_eq!(&*email.value, snapshot.email.to_lowercase());

    let synced = serde_json::to_string(&lines).expect("json");
    assert_no_plaintext(&synced, &devices);
    assert_no_plaintext(&captured.text(), &devices);

    // Incremental: only what reported since; searchByDeviceGroup has no time filter, the plugin
    // filters.
    let latest = devices.iter().map(|d| d.last_reported_ms).max().expect("devices") as u64;
    let since = latest - 3 * 24 * 3600 * 1000;
    let options = SyncOptions { changed_since_ms: Some(since), ..devices_only() };
    let (recent, _) = sync(&runtime, &options).await.expect("incremental sync");
    let expected: BTreeSet<String> = devices
        .iter()
        .filter(|d| expected.contains(&d.id) && d.last_reported_ms >= since as i64)
        .map(|d| d.id.clone())
        .collect();
    assert!(!expected.is_empty() && expected.len() < got.len());
    assert_eq!(ids(&recent).into_iter().collect::<BTreeSet<_>>(), expected);
}

#[tokio::test]
async fn whole_tenant_sync_with_apps_and_server_side_incremental_filter() {
    let maas = Maas360::start(tenant(400)).await;
    let config = maas.config("", &Credentials::default());
    let runtime = config.start().await;
    let (lines, report) = sync(&runtime, &SyncOptions::default()).await.expect("full sync");
    let devices = maas.emulator.devices();
    assert_eq!(lines.len(), devices.len());
    assert_eq!(report.repeats, 0);
    let apps: Vec<&Value> = lines.iter().flat_map(|l| l["apps"].as_array().expect("apps").iter()).collect();
    assert!(apps.len() > devices.len(), "apps synced: {}", apps.len());
    assert!(lines.iter().any(|l| l["apps"].as_array().is_some_and(Vec::is_empty)), "a device without apps");
    assert!(lines.iter().any(|l| l["apps"].as_array().is_some_and(|a| a.len() == 1)), "a device with one app");
    assert!(apps.iter().all(|a| a["name"].is_string()));
    assert!(apps.iter().any(|a| a["identifier"].is_string() && a["size_bytes"].is_u64() && a["managed"].is_boolean()));
    assert_no_plaintext(&serde_json::to_string(&lines).expect("json"), &devices);

    let before = maas.emulator.stats();
    let since = devices.iter().map(|d| d.last_reported_ms as u64).max().expect("devices") - 24 * 3600 * 1000;
    let options = SyncOptions { changed_since_ms: Some(since), ..devices_only() };
    let (recent, _) = sync(&runtime, &options).await.expect("incremental sync");
    let expected: BTreeSet<String> =
        devices.iter().filter(|d| d.last_reported_ms >= since as i64).map(|d| d.id.clone()).collect();
    assert_eq!(ids(&recent).into_iter().collect::<BTreeSet<_>>(), expected);
    let after = maas.emulator.stats();
    assert!(after.device_list_requests - before.device_list_requests <= 1 + expected.len() as u64 / 250);
}

/// Syncs `MP_Devices_Group` while, after the second page, `insert` devices enrol and `remove`
/// leave from the front of the order; every device there before and after is sent exactly once.
async fn sync_while_churning(runtime: &PluginRuntime, maas: &Maas360, insert: usize, remove: usize) -> SyncReport {
    let before = in_groups(&maas.emulator.devices(), &["MP_Devices_Group"]);
    maas.emulator.churn(2, insert, remove);
    let (lines, report) = sync(runtime, &devices_only()).await.expect("sync");
    let after = in_groups(&maas.emulator.devices(), &["MP_Devices_Group"]);
    let got = ids(&lines);
    let distinct: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(distinct.len(), got.len(), "no device twice");
    let stayed: BTreeSet<&String> = before.intersection(&after).collect();
    assert_ne!(before, after, "the churn happened");
    let missing: Vec<&&String> = stayed.iter().filter(|id| !distinct.contains(**id)).collect();
    assert!(missing.is_empty(), "{} devices that stayed were skipped: {missing:?}", missing.len());
    report
}

#[tokio::test]
async fn pages_that_shift_while_paging_lose_nothing_and_repeat_nothing() {
    let maas = Maas360::start(tenant(2000)).await;
    let runtime = maas.config("groups = [\"MP_Devices_Group\"]", &Credentials::default()).start().await;
    // Devices leaving pull later ones onto pages already read: the plugin steps back.
    let report = sync_while_churning(&runtime, &maas, 0, 40).await;
    assert!(report.repeats > 0, "the step back re-read a page, and its repeats were dropped: {report:?}");
    // Devices enrolling push earlier ones onto later pages: the repeats are dropped.
    let report = sync_while_churning(&runtime, &maas, 40, 0).await;
    assert!(report.repeats > 0, "the shift repeated devices, and they were dropped: {report:?}");
}

#[tokio::test]
async fn token_expiry_throttling_and_outages_mid_sync() {
    let maas = Maas360::start(tenant(1500)).await;
    let config = maas.config("", &Credentials::default());
    let runtime = config.start().await;
    let uem = runtime.uem("maas360").expect("instance");
    let mut query = DeviceQuery { cursor: None, page_size: 250, groups: vec![], changed_since_ms: None };
    let mut seen = BTreeSet::new();
    let mut page_number = 0;
    loop {
        match page_number {
            1 => maas.emulator.expire_tokens(),
            2 => maas.emulator.throttle(2, 1),
            3 => maas.emulator.fail(2, 503),
            4 => maas.emulator.html_login(1),
            _ => {}
        }
        let page = uem.list_devices(&query).await.expect("page");
        seen.extend(page.devices.into_iter().map(|d| d.id));
        page_number += 1;
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1500);
    let stats = maas.emulator.stats();
    // The expiry and the session bounce each renewed the token with the refresh token.
    assert_eq!((stats.authenticate_ok, stats.refresh_ok), (1, 2), "{stats:?}");
    assert!(stats.unauthorized >= 1 && stats.throttled >= 2 && stats.server_errors >= 2, "{stats:?}");
    assert!(stats.html_pages >= 1, "{stats:?}");
}

#[tokio::test]
async fn each_renewal_uses_the_newest_refresh_token_and_a_refused_one_falls_back_to_sign_in() {
    let maas = Maas360::start(tenant(30)).await;
    let runtime = maas.config("", &Credentials::default()).start().await;
    let uem = runtime.uem("maas360").expect("instance");
    let query = DeviceQuery { cursor: None, page_size: 25, groups: vec![], changed_since_ms: None };
    uem.list_devices(&query).await.expect("signed in");
    for _ in 0..3 {
        maas.emulator.expire_tokens();
        uem.list_devices(&query).await.expect("page after expiry");
    }
    // Refresh tokens are single-use: three refreshes in a row only work if each stored the new one.
    let stats = maas.emulator.stats();
    assert_eq!((stats.authenticate_ok, stats.refresh_ok), (1, 3), "{stats:?}");

    // Refresh tokens that expire at once: every renewal is refused and signs in again.
    let short = Maas360::start(EmulatorConfig { refresh_ttl: std::time::Duration::from_millis(1), ..tenant(30) }).await;
    let runtime = short.config("", &Credentials::default()).start().await;
    let uem = runtime.uem("maas360").expect("instance");
    uem.list_devices(&query).await.expect("first page");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    short.emulator.expire_tokens();
    uem.list_devices(&query).await.expect("page after a refused refresh");
    let stats = short.emulator.stats();
    assert_eq!((stats.authenticate_ok, stats.refresh, stats.refresh_ok), (2, 1, 0), "{stats:?}");
}

#[tokio::test]
async fn the_tenant_rate_limit_is_waited_out() {
    let maas = Maas360::start(EmulatorConfig { rate_limit: Some(40), ..tenant(120) }).await;
    let runtime = maas.config("", &Credentials::default()).start().await;
    let (lines, _) = sync(&runtime, &SyncOptions::default()).await.expect("sync with apps under a rate limit");
    assert_eq!(lines.len(), 120);
    assert!(maas.emulator.stats().throttled > 0, "the limit was hit and honoured");
}

#[tokio::test]
async fn the_sync_waits_out_a_throttle_the_plugin_could_not() {
    let maas = Maas360::start(tenant(600)).await;
    let config = maas.config("", &Credentials::default());
    let text = std::fs::read_to_string(config.path()).expect("read").replace("deadline = \"60s\"", "deadline = \"3s\"");
    std::fs::write(config.path(), text).expect("write");
    let runtime = config.start().await;
    // Each 2 s wait plus the plugin's reserve overruns a 3 s call: the plugin reports the wait,
    // the sync waits it and asks for the same page again.
    maas.emulator.throttle(3, 2);
    let (lines, report) = sync(&runtime, &devices_only()).await.expect("sync");
    assert_eq!(lines.len(), 600);
    assert_eq!(report.page_retries, 3, "{report:?}");
}

#[tokio::test]
async fn a_throttle_longer_than_the_deadline_is_reported_with_its_wait() {
    let maas = Maas360::start(tenant(50)).await;
    let config = maas.config("", &Credentials::default());
    let runtime = config.start().await;
    maas.emulator.throttle(100, 120);
    let query = DeviceQuery { cursor: None, page_size: 250, groups: vec![], changed_since_ms: None };
    match reported(runtime.uem("maas360").expect("instance").list_devices(&query).await) {
        Error::RateLimited(retry) => assert_eq!(retry.retry_after_ms, Some(120_000)),
        other => panic!("{other:?}"),
    }
}

/// The sign-in failure `credentials` cause, as the plugin reports it.
async fn sign_in_failure(tenant: EmulatorConfig, credentials: Credentials) -> (AuthFailure, String) {
    let maas = Maas360::start(tenant).await;
    let config = maas.config("", &credentials);
    let runtime = config.start().await;
    let query = DeviceQuery { cursor: None, page_size: 250, groups: vec![], changed_since_ms: None };
    match reported(runtime.uem("maas360").expect("instance").list_devices(&query).await) {
        Error::AuthFailed(auth) => {
            assert!(!auth.message.contains(&credentials.password) && !auth.message.contains(&credentials.access_key));
            (auth.reason, auth.message)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_sign_in_failure_is_told_apart() {
    let right = Credentials::default();
    let wrong_password = Credentials { password: "not-the-password".into(), ..right.clone() };
    let wrong_key = Credentials { access_key: "not-the-key".into(), ..right.clone() };
    assert_eq!(sign_in_failure(tenant(5), wrong_password.clone()).await.0, AuthFailure::BadCredentials);
    assert_eq!(sign_in_failure(tenant(5), wrong_key).await.0, AuthFailure::BadApiKey);
    let html = EmulatorConfig { html_login_errors: true, ..tenant(5) };
    assert_eq!(sign_in_failure(html, wrong_password).await.0, AuthFailure::BadCredentials);

    let maas = Maas360::start(tenant(5)).await;
    maas.emulator.lock_account(true);
    let runtime = maas.config("", &right).start().await;
    let checks = runtime.uem("maas360").expect("instance").test_connection().await.expect("checks");
    let auth = checks.iter().find(|c| c.name == "authentication").expect("auth check");
    assert!(!auth.passed && auth.detail.contains("locked"), "{auth:?}");

    // Nothing listening: unavailable, to be retried, not an authentication problem.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = maas.config("", &right);
    // A short deadline: the plugin retries an unreachable server until little of it is left.
    let text = std::fs::read_to_string(down.path())
        .expect("read")
        .replace(&maas.emulator.origin(), &format!("https://localhost:{port}"))
        .replace("deadline = \"60s\"", "deadline = \"4s\"");
    std::fs::write(down.path(), text).expect("write");
    let runtime = down.start().await;
    let query = DeviceQuery { cursor: None, page_size: 250, groups: vec![], changed_since_ms: None };
    assert!(matches!(
        reported(runtime.uem("maas360").expect("instance").list_devices(&query).await),
        Error::Unavailable(_)
    ));
}

#[tokio::test]
async fn test_connection_reports_groups_count_and_label() {
    let maas = Maas360::start(tenant(300)).await;
    let runtime = maas.config(&format!("{GROUPS}\n"), &Credentials::default()).start().await;
    let checks = runtime.uem("maas360").expect("instance").test_connection().await.expect("checks");
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    for name in ["authentication", "device group `Lab`", "devices", "mitigation label `MP_HighRisk`"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let lab = checks.iter().find(|c| c.name == "device group `Lab`").expect("lab");
    assert!(lab.detail.ends_with(", 1 devices"), "{lab:?}");

    let missing = maas.config("groups = [\"No Such Group\"]", &Credentials::default()).start().await;
    let checks = missing.uem("maas360").expect("instance").test_connection().await.expect("checks");
    let groups = checks.iter().find(|c| c.name == "device groups").expect("groups check");
    assert!(!groups.passed && groups.detail.contains("No Such Group") && groups.detail.contains("MP_Devices_Group"));
}

#[tokio::test]
async fn the_label_is_set_verified_and_cleared() {
    let maas = Maas360::start(tenant(20)).await;
    let runtime = maas.config("", &Credentials::default()).start().await;
    let uem = runtime.uem("maas360").expect("instance");
    let device = maas.emulator.devices()[3].id.clone();

    let set = uem.set_risk(&device, RiskLevel::High).await.expect("set");
    assert_eq!((set.applied.as_str(), set.changed, set.verified), ("MP_HighRisk=Yes", Some(true), true));
    assert_eq!(maas.emulator.attribute(&device, "MP_HighRisk").as_deref(), Some("Yes"));
    let again = uem.set_risk(&device, RiskLevel::High).await.expect("set again");
    assert_eq!(again.changed, Some(false), "nothing to write");
    let medium = uem.set_risk(&device, RiskLevel::Medium).await.expect("medium is below the threshold");
    assert_eq!(medium.applied, "MP_HighRisk=No");
    assert_eq!(maas.emulator.attribute(&device, "MP_HighRisk").as_deref(), Some("No"));
    let sets = maas.emulator.stats().set_attribute;
    assert_eq!(sets, 2);

    assert!(matches!(reported(uem.set_risk("NoSuchDevice1", RiskLevel::High).await), Error::NotFound(_)));
    assert!(matches!(reported(uem.set_risk("bad id\n", RiskLevel::High).await), Error::InvalidInput(_)));

    // A label MaaS360 would refuse is refused before any request, naming the setting.
    let bad = maas.config("mitigation_label = \"MP.HighRisk\"", &Credentials::default()).start().await;
    match reported(bad.uem("maas360").expect("instance").set_risk(&device, RiskLevel::High).await) {
        Error::InvalidConfig(m) => assert!(m.contains("mitigation_label") && m.contains("`.`"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A label the tenant never defined: a configuration error saying what to create.
    let undefined = maas.config("mitigation_label = \"MP_Undefined\"", &Credentials::default()).start().await;
    match reported(undefined.uem("maas360").expect("instance").set_risk(&device, RiskLevel::High).await) {
        Error::InvalidConfig(m) => assert!(m.contains("MP_Undefined"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_private_ca_is_honoured_and_an_unknown_one_refused() {
    let maas = Maas360::start(tenant(5)).await;
    let stranger = TestCa::new("Some other CA");
    let runtime = maas.config_trusting(stranger.ca_pem(), "", &Credentials::default()).start().await;
    let query = DeviceQuery { cursor: None, page_size: 250, groups: vec![], changed_since_ms: None };
    match reported(runtime.uem("maas360").expect("instance").list_devices(&query).await) {
        Error::InvalidConfig(m) => assert!(m.contains("TLS") && m.contains("ca_file"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(maas.emulator.stats().authenticate, 0, "no request reached the server");
}
