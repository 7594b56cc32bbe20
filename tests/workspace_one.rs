//! The Workspace ONE UEM plugin end to end against the Workspace ONE emulator over TLS, the same
//! suite shape as MaaS360's: full and incremental sync through organization groups and the whole
//! tenant, paging within the service's page-size limit, token expiry, throttling and outages
//! mid-sync, each way sign-in fails, both auth modes, the risk label set, changed and cleared as a
//! tag and as a custom attribute, a private CA honoured and an unknown one refused — and no
//! plaintext personal data in what is synced or logged.

use std::collections::{BTreeMap, BTreeSet};

use connector::inventory::{self, SyncOptions, SyncReport, SyncedDevice, SyncedLine};
use connector::plugins::worlds::uem::{DeviceQuery, RiskLevel};
use connector::plugins::worlds::{AuthFailure, Error};
use connector::plugins::{CallError, PluginRuntime};
use connector_tests::logs;
use connector_tests::test_ca::TestCa;
use connector_tests::workspace_one::{AuthMode, Credentials, WorkspaceOne};
use serde_json::Value;
use workspace_one_emulator::{DeviceSnapshot, EmulatorConfig, MAX_PAGE_SIZE, find_personal_value};

const INSTANCE: &str = "workspace_one";
/// Sales, and Engineering with Engineering BYOD below it.
const GROUPS: &str = "groups = [\"Sales\", \"Engineering\"]";

fn tenant(devices: usize) -> EmulatorConfig {
    EmulatorConfig { devices, risk_tag_prefix: Some("MTD".into()), ..EmulatorConfig::default() }
}

/// Syncs the instance and returns the JSON lines the cloud would receive.
async fn sync(
    runtime: &PluginRuntime,
    options: &SyncOptions,
) -> Result<(Vec<Value>, SyncReport), inventory::InventoryError> {
    let uem = runtime.uem(INSTANCE).expect("instance");
    let filter = runtime.pii().expect("pii configured");
    let mut lines = Vec::new();
    let report = inventory::sync(&uem, filter, options, |synced: SyncedDevice| {
        lines.push(serde_json::to_value(SyncedLine::new(INSTANCE, &synced))?);
        Ok(())
    })
    .await?;
    Ok((lines, report))
}

fn devices_only() -> SyncOptions {
    SyncOptions { apps: false, ..SyncOptions::default() }
}

fn query(page_size: u32) -> DeviceQuery {
    DeviceQuery { cursor: None, page_size, groups: vec![], changed_since_ms: None }
}

fn ids(lines: &[Value]) -> Vec<String> {
    lines.iter().map(|l| l["device"]["id"].as_str().expect("id").to_string()).collect()
}

fn in_groups(devices: &[DeviceSnapshot], groups: &[&str]) -> BTreeSet<String> {
    devices.iter().filter(|d| groups.contains(&d.organization_group.as_str())).map(|d| d.id.to_string()).collect()
}

/// When each synced device last reported, by id.
fn last_seen(lines: &[Value]) -> BTreeMap<String, u64> {
    lines
        .iter()
        .map(|l| {
            (l["device"]["id"].as_str().expect("id").to_string(), l["device"]["last_seen_ms"].as_u64().expect("seen"))
        })
        .collect()
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
    let ws1 = WorkspaceOne::start(tenant(3000)).await;
    let runtime = ws1.config(GROUPS, &Credentials::default()).start().await;
    let (captured, _guard) = logs::capture();

    let (lines, _report) = sync(&runtime, &devices_only()).await.expect("full sync");
    let devices = ws1.emulator.devices();
    // Engineering brings its child group Engineering BYOD; the customer group's own devices stay out.
    let expected = in_groups(&devices, &["Sales", "Engineering", "Engineering BYOD"]);
    let got = ids(&lines);
    assert_eq!(got.len(), expected.len(), "each device once");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(expected.len() < devices.len(), "the customer group's devices are not synced");
    let stats = ws1.emulator.stats();
    assert!(stats.max_page_size <= MAX_PAGE_SIZE as u64, "{stats:?}");
    assert!(stats.basic_auth > 0 && stats.bearer_auth == 0 && stats.token_requests == 0, "{stats:?}");

    // The quirks came through as typed values: a device without a phone has none, CompromisedStatus
    // absent is unknown, LastSeen without a zone is UTC, every device names its group.
    let by_id: BTreeMap<String, &DeviceSnapshot> = devices.iter().map(|d| (d.id.to_string(), d)).collect();
    for line in &lines {
        let device = &line["device"];
        let snapshot = by_id[device["id"].as_str().expect("id")];
        assert_eq!(device["phone"].as_str().is_some(), !snapshot.phone.is_empty(), "{device}");
        if let Some(phone) = device["phone"].as_str() {
            assert!(phone.starts_with("pii1_"), "{phone}");
        }
        assert!(device["email"].as_str().expect("email").starts_with("pii1_"));
        assert_eq!(device["groups"][0].as_str(), Some(snapshot.organization_group.as_str()));
        assert_eq!(device["serial_number"].as_str(), Some(snapshot.serial_number.as_str()));
        assert!(device["last_seen_ms"].as_u64().expect("last seen") > 1_790_000_000_000);
    }
    assert!(lines.iter().any(|l| l["device"]["compromised"].is_null()), "CompromisedStatus absent on some");
    assert!(lines.iter().any(|l| l["device"]["compromised"].is_boolean()));

    // Tokens restore to the tenant's values (canonical spelling).
    let filter = runtime.pii().expect("pii");
    let first = &lines[0]["device"];
    let snapshot = by_id[first["id"].as_str().expect("id")];
    let email = filter.tokenizer().reveal(first["email"].as_str().expect("email token")).expect("opens");
    assert_eq!(&*email.value, snapshot.email.to_lowercase());

    assert_no_plaintext(&serde_json::to_string(&lines).expect("json"), &devices);
    assert_no_plaintext(&captured.text(), &devices);

    // Incremental: only what reported since, asked of the service with `seensince`.
    let seen = last_seen(&lines);
    let since = seen.values().max().expect("devices") - 3 * 24 * 3600 * 1000;
    let before = ws1.emulator.stats();
    let options = SyncOptions { changed_since_ms: Some(since), ..devices_only() };
    let (recent, _) = sync(&runtime, &options).await.expect("incremental sync");
    let expected: BTreeSet<String> = seen.iter().filter(|(_, s)| **s >= since).map(|(id, _)| id.clone()).collect();
    assert!(!expected.is_empty() && expected.len() < got.len());
    assert_eq!(ids(&recent).into_iter().collect::<BTreeSet<_>>(), expected);
    let searches = |s: &workspace_one_emulator::Stats| s.requests.get("devices_search").copied().unwrap_or(0);
    assert!(
        searches(&ws1.emulator.stats()) - searches(&before) <= 3 + expected.len() as u64 / 250,
        "filtered by the service"
    );
}

#[tokio::test]
async fn whole_tenant_sync_with_apps() {
    let ws1 = WorkspaceOne::start(tenant(300)).await;
    let runtime = ws1.config("", &Credentials::default()).start().await;
    let (lines, report) = sync(&runtime, &SyncOptions::default()).await.expect("full sync");
    let devices = ws1.emulator.devices();
    assert_eq!(lines.len(), devices.len());
    assert_eq!(report.repeats, 0);
    let apps: Vec<&Value> = lines.iter().flat_map(|l| l["apps"].as_array().expect("apps").iter()).collect();
    assert!(apps.len() >= 3 * devices.len(), "apps synced: {}", apps.len());
    assert!(apps.iter().all(|a| a["name"].is_string()));
    assert!(apps.iter().any(|a| a["identifier"].is_string() && a["size_bytes"].is_u64() && a["managed"].is_boolean()));
    assert_no_plaintext(&serde_json::to_string(&lines).expect("json"), &devices);

    // One device and its apps, as the cloud's tasks ask for them.
    let uem = runtime.uem(INSTANCE).expect("instance");
    let snapshot = &devices[7];
    let device = uem.get_device(&snapshot.id.to_string()).await.expect("device");
    assert_eq!(device.serial_number.as_deref(), Some(snapshot.serial_number.as_str()));
    assert_eq!(device.groups, std::slice::from_ref(&snapshot.organization_group));
    let id = snapshot.id.to_string();
    let line = lines.iter().find(|l| l["device"]["id"].as_str() == Some(id.as_str())).expect("synced");
    let apps = uem.list_apps(&snapshot.id.to_string()).await.expect("apps");
    assert_eq!(apps.len(), line["apps"].as_array().expect("apps").len());
    assert!(matches!(reported(uem.get_device("99999999").await), Error::NotFound(_)));
    assert!(matches!(reported(uem.list_apps("99999999").await), Error::NotFound(_)));
}

#[tokio::test]
async fn paging_stays_within_the_page_size_limit_and_refuses_foreign_cursors() {
    let ws1 = WorkspaceOne::start(tenant(1200)).await;
    let runtime = ws1.config("", &Credentials::default()).start().await;
    let uem = runtime.uem(INSTANCE).expect("instance");
    for (asked, pages) in [(1000, 3), (500, 3), (100, 12)] {
        let mut query = query(asked);
        let mut seen = BTreeSet::new();
        let mut count = 0;
        loop {
            let page = uem.list_devices(&query).await.expect("page");
            assert!(page.devices.len() <= MAX_PAGE_SIZE);
            assert_eq!(page.total, Some(1200));
            seen.extend(page.devices.into_iter().map(|d| d.id));
            count += 1;
            match page.next_cursor {
                Some(next) => query.cursor = Some(next),
                None => break,
            }
        }
        assert_eq!((seen.len(), count), (1200, pages), "page size {asked}");
    }
    assert_eq!(ws1.emulator.stats().max_page_size, MAX_PAGE_SIZE as u64, "never asked for more than 500");

    let mut tampered = query(100);
    tampered.cursor = Some("c1.eyJwYWdlIjo5OTl9AAAAAAAAAAA".into());
    assert!(matches!(reported(uem.list_devices(&tampered).await), Error::InvalidInput(_)));
}

#[tokio::test]
async fn token_expiry_throttling_and_outages_mid_sync() {
    let ws1 = WorkspaceOne::start(tenant(1500)).await;
    let runtime = ws1.config("", &Credentials::oauth()).start().await;
    let uem = runtime.uem(INSTANCE).expect("instance");
    let mut query = query(250);
    let mut seen = BTreeSet::new();
    let mut page_number = 0;
    loop {
        match page_number {
            1 => ws1.emulator.expire_tokens(),
            2 => ws1.emulator.throttle(2, 1),
            3 => ws1.emulator.fail(2, 503),
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
    let stats = ws1.emulator.stats();
    // One token, cached across calls, and one more after the expiry.
    assert_eq!(stats.tokens_issued, 2, "{stats:?}");
    assert!(stats.unauthorized >= 1 && stats.throttled >= 2 && stats.server_errors >= 2, "{stats:?}");
}

#[tokio::test]
async fn the_sync_waits_out_a_throttle_the_plugin_could_not() {
    let ws1 = WorkspaceOne::start(tenant(600)).await;
    let config = ws1.config("", &Credentials::default());
    let text = std::fs::read_to_string(config.path()).expect("read").replace("deadline = \"60s\"", "deadline = \"3s\"");
    std::fs::write(config.path(), text).expect("write");
    let runtime = config.start().await;
    // Each 2 s wait plus the plugin's reserve overruns a 3 s call: the plugin reports the wait,
    // the sync waits it and asks for the same page again.
    ws1.emulator.throttle(3, 2);
    let (lines, report) = sync(&runtime, &devices_only()).await.expect("sync");
    assert_eq!(lines.len(), 600);
    assert_eq!(report.page_retries, 3, "{report:?}");
}

#[tokio::test]
async fn a_throttle_longer_than_the_deadline_or_a_spent_quota_is_reported_with_its_wait() {
    let ws1 = WorkspaceOne::start(tenant(50)).await;
    let runtime = ws1.config("", &Credentials::default()).start().await;
    let uem = runtime.uem(INSTANCE).expect("instance");
    ws1.emulator.throttle(100, 120);
    match reported(uem.list_devices(&query(250)).await) {
        Error::RateLimited(retry) => assert_eq!(retry.retry_after_ms, Some(120_000)),
        other => panic!("{other:?}"),
    }
    ws1.emulator.throttle(0, 1);
    ws1.emulator.set_quota_remaining(0);
    // The daily quota used up: reported at once with the wait until it refills (about a day).
    match reported(uem.list_devices(&query(250)).await) {
        Error::RateLimited(retry) => assert!(retry.retry_after_ms.is_some_and(|ms| ms > 23 * 3600 * 1000), "{retry:?}"),
        other => panic!("{other:?}"),
    }
}

/// The sign-in failure `credentials` cause, as the plugin reports it.
async fn sign_in_failure(credentials: Credentials) -> (AuthFailure, String) {
    let ws1 = WorkspaceOne::start(tenant(5)).await;
    let runtime = ws1.config("", &credentials).start().await;
    match reported(runtime.uem(INSTANCE).expect("instance").list_devices(&query(250)).await) {
        Error::AuthFailed(auth) => {
            for secret in credentials.secrets() {
                assert!(!auth.message.contains(secret), "{}", auth.message);
            }
            (auth.reason, auth.message)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_sign_in_failure_is_told_apart() {
    let basic = Credentials::default();
    let oauth = Credentials::oauth();
    let wrong_password = Credentials { password: "not-the-password".into(), ..basic.clone() };
    let (reason, message) = sign_in_failure(wrong_password.clone()).await;
    assert_eq!(reason, AuthFailure::BadCredentials, "{message}");
    let (reason, message) = sign_in_failure(Credentials { tenant_code: "not-the-code".into(), ..basic.clone() }).await;
    assert_eq!(reason, AuthFailure::BadApiKey, "{message}");
    assert!(message.contains("tenant code"), "{message}");
    let (reason, message) =
        sign_in_failure(Credentials { client_secret: "not-the-secret".into(), ..oauth.clone() }).await;
    assert_eq!(reason, AuthFailure::BadCredentials, "{message}");
    assert!(message.contains("OAuth client"), "{message}");
    let (reason, _) = sign_in_failure(Credentials { tenant_code: "not-the-code".into(), ..oauth.clone() }).await;
    assert_eq!(reason, AuthFailure::BadApiKey);

    // The self-test says so in its authentication check, and stops there.
    let ws1 = WorkspaceOne::start(tenant(5)).await;
    let runtime = ws1.config("", &wrong_password).start().await;
    let checks = runtime.uem(INSTANCE).expect("instance").test_connection().await.expect("checks");
    let auth = checks.iter().find(|c| c.name == "authentication").expect("auth check");
    assert!(!auth.passed && auth.detail.contains("credentials"), "{auth:?}");
    assert_eq!(checks.last().map(|c| c.name.as_str()), Some("authentication"));

    // Nothing listening: unavailable, to be retried, not an authentication problem.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = ws1.config("", &basic);
    let text = std::fs::read_to_string(down.path())
        .expect("read")
        .replace(&ws1.emulator.origin(), &format!("https://localhost:{port}"))
        .replace("deadline = \"60s\"", "deadline = \"4s\"");
    std::fs::write(down.path(), text).expect("write");
    let runtime = down.start().await;
    assert!(matches!(
        reported(runtime.uem(INSTANCE).expect("instance").list_devices(&query(250)).await),
        Error::Unavailable(_)
    ));
}

#[tokio::test]
async fn both_auth_modes_sync_and_oauth_caches_its_token() {
    let ws1 = WorkspaceOne::start(tenant(120)).await;
    let basic = ws1.config("", &Credentials::default()).start().await;
    let (lines, _) = sync(&basic, &SyncOptions { page_size: 50, ..devices_only() }).await.expect("basic sync");
    assert_eq!(lines.len(), 120);
    let stats = ws1.emulator.stats();
    assert_eq!((stats.bearer_auth, stats.token_requests), (0, 0), "{stats:?}");
    let basic_calls = stats.basic_auth;

    let oauth = ws1.config("", &Credentials::oauth()).start().await;
    let (lines, _) = sync(&oauth, &SyncOptions { page_size: 50, ..devices_only() }).await.expect("oauth sync");
    assert_eq!(lines.len(), 120);
    let stats = ws1.emulator.stats();
    assert_eq!(stats.basic_auth, basic_calls, "no Basic credentials in OAuth mode: {stats:?}");
    assert!(stats.bearer_auth >= 3, "{stats:?}");
    assert_eq!(stats.tokens_issued, 1, "one token for every call of the sync: {stats:?}");

    // The on-prem token URL, from the default when `token_url` is not set.
    let config = ws1.config("", &Credentials::oauth());
    let text = std::fs::read_to_string(config.path()).expect("read");
    let text: String = text.lines().filter(|l| !l.starts_with("token_url")).map(|l| format!("{l}\n")).collect();
    std::fs::write(config.path(), text).expect("write");
    let on_prem = config.start().await;
    on_prem.uem(INSTANCE).expect("instance").list_devices(&query(10)).await.expect("on-prem token URL");
    assert_eq!(ws1.emulator.stats().tokens_issued, 2);
}

#[tokio::test]
async fn test_connection_reports_groups_count_and_label() {
    let ws1 = WorkspaceOne::start(tenant(300)).await;
    let runtime = ws1.config(GROUPS, &Credentials::default()).start().await;
    let checks = runtime.uem(INSTANCE).expect("instance").test_connection().await.expect("checks");
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    for name in [
        "settings",
        "authentication",
        "organization group `Sales`",
        "organization group `Engineering BYOD`",
        "devices",
        "risk tags `MTD_Risk_*`",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let devices = checks.iter().find(|c| c.name == "devices").expect("devices");
    assert_eq!(devices.detail, "300 devices in the tenant");
    let sales = checks.iter().find(|c| c.name == "organization group `Sales`").expect("sales");
    let in_sales = in_groups(&ws1.emulator.devices(), &["Sales"]).len();
    assert_eq!(sales.detail, format!("id 571, {in_sales} devices"));

    // Without child groups, Engineering is Engineering alone.
    let alone = ws1.config(&format!("{GROUPS}\ninclude_child_groups = false"), &Credentials::default()).start().await;
    let checks = alone.uem(INSTANCE).expect("instance").test_connection().await.expect("checks");
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"organization group `Engineering`"), "{names:?}");
    assert!(!names.contains(&"organization group `Engineering BYOD`"), "{names:?}");

    let missing = ws1.config("groups = [\"No Such Group\"]", &Credentials::oauth()).start().await;
    let checks = missing.uem(INSTANCE).expect("instance").test_connection().await.expect("checks");
    let groups = checks.iter().find(|c| c.name == "organization groups").expect("groups check");
    assert!(!groups.passed && groups.detail.contains("No Such Group") && groups.detail.contains("Sales"), "{groups:?}");

    // A tenant without the risk tags: the label check says what to create.
    let bare = WorkspaceOne::start(EmulatorConfig { devices: 5, ..EmulatorConfig::default() }).await;
    let runtime = bare.config("", &Credentials::default()).start().await;
    let checks = runtime.uem(INSTANCE).expect("instance").test_connection().await.expect("checks");
    let label = checks.iter().find(|c| c.name == "risk tags `MTD_Risk_*`").expect("label check");
    assert!(!label.passed && label.detail.contains("MTD_Risk_High"), "{label:?}");
}

#[tokio::test]
async fn the_risk_tag_is_set_changed_and_cleared() {
    let ws1 = WorkspaceOne::start(tenant(20)).await;
    let runtime = ws1.config("risk_label = \"tag\"", &Credentials::default()).start().await;
    let uem = runtime.uem(INSTANCE).expect("instance");
    let id = ws1.emulator.devices()[3].id;
    let device = id.to_string();

    let set = uem.set_risk(&device, RiskLevel::High).await.expect("set");
    assert_eq!((set.applied.as_str(), set.changed, set.verified), ("MTD_Risk_High", Some(true), true));
    assert_eq!(ws1.emulator.risk_label(id).as_deref(), Some("MTD_Risk_High"));
    let again = uem.set_risk(&device, RiskLevel::High).await.expect("set again");
    assert_eq!((again.changed, again.verified), (Some(false), true), "nothing to write");
    let changes = ws1.emulator.stats().tag_changes;
    let medium = uem.set_risk(&device, RiskLevel::Medium).await.expect("medium");
    assert_eq!((medium.applied.as_str(), medium.changed, medium.verified), ("MTD_Risk_Medium", Some(true), true));
    // Exactly one risk tag: the old level was removed (risk_label is None for two).
    assert_eq!(ws1.emulator.risk_label(id).as_deref(), Some("MTD_Risk_Medium"));
    assert_eq!(ws1.emulator.stats().tag_changes, changes + 2, "one add, one remove");
    let cleared = uem.set_risk(&device, RiskLevel::None).await.expect("clear");
    assert_eq!(cleared.applied, "MTD_Risk_None");
    assert_eq!(ws1.emulator.risk_label(id).as_deref(), Some("MTD_Risk_None"));
    let risk_tags = ws1.emulator.tags_of(id).into_iter().filter(|t| t.contains("_Risk_")).count();
    assert_eq!(risk_tags, 1);

    assert!(matches!(reported(uem.set_risk("99999999", RiskLevel::High).await), Error::NotFound(_)));
    assert!(matches!(reported(uem.set_risk("bad id\n", RiskLevel::High).await), Error::InvalidInput(_)));

    // A tenant without the tags: a configuration error saying what to create, or, with
    // `create_tags`, the tags made at the customer group.
    let bare = WorkspaceOne::start(EmulatorConfig { devices: 5, ..EmulatorConfig::default() }).await;
    let id = bare.emulator.devices()[0].id;
    let refused = bare.config("", &Credentials::default()).start().await;
    match reported(refused.uem(INSTANCE).expect("instance").set_risk(&id.to_string(), RiskLevel::Low).await) {
        Error::InvalidConfig(m) => assert!(m.contains("MTD_Risk_Low") && m.contains("create_tags"), "{m}"),
        other => panic!("{other:?}"),
    }
    let creating = bare.config("tag_prefix = \"Zimperium\"\ncreate_tags = true", &Credentials::oauth()).start().await;
    let set = creating.uem(INSTANCE).expect("instance").set_risk(&id.to_string(), RiskLevel::Low).await.expect("set");
    assert!(set.verified);
    assert_eq!(bare.emulator.risk_label(id).as_deref(), Some("Zimperium_Risk_Low"));
    assert!(bare.emulator.tag_id("Zimperium_Risk_High").is_some(), "all four made");
}

#[tokio::test]
async fn the_risk_attribute_is_set_changed_and_cleared() {
    let ws1 = WorkspaceOne::start(tenant(20)).await;
    let runtime = ws1.config("risk_label = \"attribute\"", &Credentials::default()).start().await;
    let uem = runtime.uem(INSTANCE).expect("instance");
    let id = ws1.emulator.devices()[5].id;
    let device = id.to_string();

    let set = uem.set_risk(&device, RiskLevel::High).await.expect("set");
    assert_eq!(set.applied, "MTD_Risk=High");
    assert_eq!(ws1.emulator.attribute(id, "MTD_Risk").as_deref(), Some("High"));
    uem.set_risk(&device, RiskLevel::Low).await.expect("change");
    assert_eq!(ws1.emulator.attribute(id, "MTD_Risk").as_deref(), Some("Low"));
    let cleared = uem.set_risk(&device, RiskLevel::None).await.expect("clear");
    assert_eq!(cleared.applied, "MTD_Risk removed");
    assert_eq!(ws1.emulator.attribute(id, "MTD_Risk"), None);
    assert!(ws1.emulator.risk_label(id).is_none(), "no tag in attribute mode");
    assert!(matches!(reported(uem.set_risk("99999999", RiskLevel::High).await), Error::NotFound(_)));

    // Boolean: on at or above the threshold, off below it.
    let boolean = ws1
        .config(
            "risk_label = \"attribute\"\nattribute_name = \"MTD_HighRisk\"\nattribute_type = \"boolean\"\nrisk_threshold = \"medium\"",
            &Credentials::oauth(),
        )
        .start()
        .await;
    let uem = boolean.uem(INSTANCE).expect("instance");
    assert_eq!(uem.set_risk(&device, RiskLevel::Medium).await.expect("on").applied, "MTD_HighRisk=true");
    assert_eq!(ws1.emulator.attribute(id, "MTD_HighRisk").as_deref(), Some("true"));
    uem.set_risk(&device, RiskLevel::None).await.expect("off");
    assert_eq!(ws1.emulator.attribute(id, "MTD_HighRisk").as_deref(), Some("false"));

    // A setting the plugin does not take is refused, naming it.
    let typo = ws1.config("risk_lable = \"attribute\"", &Credentials::default()).start().await;
    match reported(typo.uem(INSTANCE).expect("instance").set_risk(&device, RiskLevel::High).await) {
        Error::InvalidConfig(m) => assert!(m.contains("risk_lable"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_private_ca_is_honoured_and_an_unknown_one_refused() {
    let ws1 = WorkspaceOne::start(tenant(5)).await;
    let stranger = TestCa::new("Some other CA");
    for credentials in [Credentials::default(), Credentials::oauth()] {
        let runtime = ws1.config_trusting(stranger.ca_pem(), "", &credentials).start().await;
        match reported(runtime.uem(INSTANCE).expect("instance").list_devices(&query(250)).await) {
            Error::InvalidConfig(m) => assert!(m.contains("TLS") && m.contains("ca_file"), "{m}"),
            other => panic!("{:?}: {other:?}", credentials.mode),
        }
    }
    let stats = ws1.emulator.stats();
    assert_eq!((stats.requests.len(), stats.token_requests), (0, 0), "no request reached the server");
    // The emulator's own CA: trusted.
    let runtime = ws1.config("", &Credentials { mode: AuthMode::OAuth, ..Credentials::default() }).start().await;
    let page = runtime.uem(INSTANCE).expect("instance").list_devices(&query(250)).await.expect("trusted");
    assert_eq!(page.devices.len(), 5);
}
