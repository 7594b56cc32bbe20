//! `connector uem test|sync|set-risk` against the Workspace ONE emulator over TLS behind a private
//! CA, the same verbs as for MaaS360 (`uem_cli.rs`): what an admin types, what they read, and what
//! the sync file holds — tokens, never plaintext — with basic auth and with OAuth.

use std::collections::BTreeMap;
use std::path::PathBuf;

use workspace_one_emulator::private_ca::PrivateCa;
use workspace_one_emulator::{DeviceSnapshot, Emulator, EmulatorConfig, find_personal_value};

mod common;
#[path = "common/connector_cli.rs"]
mod connector_cli;

use connector_cli::{connector, ok, path, text, write_secret};

const GROUPS: [&str; 3] = ["Sales", "Engineering", "Engineering BYOD"];

struct Setup {
    emulator: Emulator,
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// A tenant with the risk tags, and a config whose instance `workspace_one` signs in with `auth`
/// (`basic` or `oauth`) and syncs Sales and Engineering (with Engineering BYOD below it).
async fn setup(devices: usize, auth: &str, password: &str) -> Setup {
    let ca = PrivateCa::new("Workspace ONE on-prem CA").expect("CA");
    let tenant = EmulatorConfig { devices, risk_tag_prefix: Some("MTD".into()), ..EmulatorConfig::default() };
    let emulator = Emulator::start_tls(tenant.clone(), ca.server_config().expect("tls")).await.expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| write_secret(dir.path(), name, text);
    write("ca.pem", &ca.ca_pem);
    write("tenant-code", &tenant.tenant_code);
    write("password", password);
    write("client-id", &tenant.client_id);
    write("client-secret", &tenant.client_secret);
    let keyring = dir.path().join("pii.keyring");
    ok(&connector(&["keys", "generate", path(&keyring)]).await);
    let origin = emulator.origin();
    let config = dir.path().join("connector.toml");
    std::fs::write(
        &config,
        format!(
            "[connector]\nplugin_dir = {:?}\n\n[pii]\nkeyring = \"pii.keyring\"\ndefault_region = \"US\"\n\n\
             [instances.workspace_one]\nplugin = \"workspace_one.wasm\"\nkind = \"uem\"\ndeadline = \"20s\"\nca_file = \"ca.pem\"\n\n\
             [instances.workspace_one.grants]\nhttp = [\"{origin}\"]\n\n\
             [instances.workspace_one.config]\nserver_url = \"{origin}\"\nauth = \"{auth}\"\nusername = \"{}\"\n\
             token_url = \"{origin}/connect/token\"\ngroups = [\"Sales\", \"Engineering\"]\n\n\
             [instances.workspace_one.secrets]\ntenant_code = {{ file = \"tenant-code\" }}\npassword = {{ file = \"password\" }}\n\
             client_id = {{ file = \"client-id\" }}\nclient_secret = {{ file = \"client-secret\" }}\n",
            common::plugin_dir("workspace_one.wasm").display().to_string(),
            tenant.username,
        ),
    )
    .expect("write config");
    Setup { emulator, dir, config }
}

/// No name, user name, email or phone number of the tenant appears in `text`.
fn assert_no_plaintext(text: &str, devices: &[DeviceSnapshot]) {
    if let Some(value) = find_personal_value(text, devices) {
        panic!("plaintext `{value}` leaked");
    }
}

/// When each device of a sync file last reported, by id.
fn last_seen(file: &str) -> BTreeMap<String, u64> {
    file.lines()
        .map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).expect("json line");
            let device = &line["device"];
            (device["id"].as_str().expect("id").to_string(), device["last_seen_ms"].as_u64().expect("seen"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_sync_and_set_risk_from_the_command_line() {
    let s = setup(600, "basic", &EmulatorConfig::default().password).await;
    let config = path(&s.config);

    let tested = connector(&["uem", "test", "workspace_one", "--config", config]).await;
    let out = ok(&tested);
    for line in [
        "ok   authentication: signed in with basic auth",
        "ok   organization group `Sales`: id 571",
        "ok   organization group `Engineering BYOD`: id 573",
        "ok   devices: 600 devices in the tenant",
        "ok   risk tags `MTD_Risk_*`",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }

    let file = s.dir.path().join("devices.jsonl");
    let synced = connector(&["uem", "sync", "workspace_one", "--config", config, "--output", path(&file)]).await;
    ok(&synced);
    let devices = s.emulator.devices();
    let in_groups = devices.iter().filter(|d| GROUPS.contains(&d.organization_group.as_str())).count();
    let written = std::fs::read_to_string(&file).expect("sync file");
    assert_eq!(written.lines().count(), in_groups);
    let first: serde_json::Value = serde_json::from_str(written.lines().next().expect("a line")).expect("json");
    assert_eq!(first["instance"], "workspace_one");
    assert!(first["device"]["email"].as_str().expect("email").starts_with("pii1_"));
    assert!(first["apps"].as_array().is_some_and(|apps| !apps.is_empty()));
    assert_no_plaintext(&written, &devices);
    assert_no_plaintext(&text(&synced), &devices);
    assert_no_plaintext(&text(&tested), &devices);

    // The watermark printed for the next incremental sync gives only what reported since (the
    // tenant's data is older than the watermark, so nothing); three days before the newest, a subset.
    let seen = last_seen(&written);
    let stderr = String::from_utf8_lossy(&synced.stderr);
    let watermark = stderr.split("--since ").nth(1).and_then(|t| t.split_whitespace().next()).expect("watermark");
    let latest = *seen.values().max().expect("devices");
    let three_days = latest - 3 * 86_400_000;
    let since_text = three_days.to_string();
    for since in [watermark, since_text.as_str()] {
        let recent = s.dir.path().join("recent.jsonl");
        ok(&connector(&[
            "uem",
            "sync",
            "workspace_one",
            "-c",
            config,
            "-o",
            path(&recent),
            "--since",
            since,
            "--no-apps",
        ])
        .await);
        let recent = std::fs::read_to_string(&recent).expect("recent");
        let since: u64 = since.parse().expect("milliseconds");
        assert_eq!(recent.lines().count(), seen.values().filter(|s| **s >= since).count(), "since {since}");
        assert!(!recent.contains("\"apps\""));
    }

    let id = devices.iter().find(|d| d.organization_group == "Sales").expect("a Sales device").id;
    let device = id.to_string();
    let set = ok(&connector(&["uem", "set-risk", "workspace_one", &device, "high", "--config", config]).await);
    assert_eq!(set.trim(), format!("{device}: MTD_Risk_High (changed, verified)"));
    assert_eq!(s.emulator.risk_label(id).as_deref(), Some("MTD_Risk_High"));
    let cleared = ok(&connector(&["uem", "set-risk", "workspace_one", &device, "none", "--config", config]).await);
    assert!(cleared.contains("MTD_Risk_None (changed, verified)"), "{cleared}");
    assert_eq!(s.emulator.risk_label(id).as_deref(), Some("MTD_Risk_None"));

    let unknown = connector(&["uem", "set-risk", "workspace_one", "99999999", "high", "--config", config]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown).contains("not-found") || text(&unknown).contains("not found"), "{}", text(&unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_signs_in_and_a_wrong_password_fails_the_test_clearly() {
    let s = setup(20, "oauth", "unused").await;
    let out = ok(&connector(&["uem", "test", "workspace_one", "--config", path(&s.config)]).await);
    assert!(out.contains("ok   authentication: signed in with an OAuth token"), "{out}");
    assert!(s.emulator.stats().tokens_issued >= 1);

    let s = setup(5, "basic", "not-the-password").await;
    let tested = connector(&["uem", "test", "workspace_one", "--config", path(&s.config)]).await;
    assert_eq!(tested.status.code(), Some(1), "{}", text(&tested));
    let out = text(&tested);
    assert!(out.contains("FAIL authentication: Workspace ONE refused the API credentials"), "{out}");
    assert!(!out.contains("not-the-password") && !out.contains(&EmulatorConfig::default().tenant_code), "{out}");
}
