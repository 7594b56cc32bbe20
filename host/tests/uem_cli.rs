//! `connector uem test|sync|set-risk` against the MaaS360 emulator over TLS behind a private CA:
//! what an admin types, what they read, and what the sync file holds — tokens, never plaintext.

use std::path::PathBuf;

use maas360_emulator::private_ca::PrivateCa;
use maas360_emulator::{DeviceSnapshot, Emulator, EmulatorConfig, find_personal_value};

mod common;
#[path = "common/connector_cli.rs"]
mod connector_cli;

use connector_cli::{connector, ok, path, text, write_secret};

struct Setup {
    emulator: Emulator,
    dir: tempfile::TempDir,
    config: PathBuf,
}

async fn setup(devices: usize, password: &str) -> Setup {
    let ca = PrivateCa::new("MaaS360 on-prem CA").expect("CA");
    let tenant = EmulatorConfig { devices, ..EmulatorConfig::default() };
    let emulator = Emulator::start_tls(tenant.clone(), ca.server_config().expect("tls")).await.expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| write_secret(dir.path(), name, text);
    write("ca.pem", &ca.ca_pem);
    write("password", password);
    write("access-key", &tenant.access_key);
    let keyring = dir.path().join("pii.keyring");
    ok(&connector(&["keys", "generate", path(&keyring)]).await);
    let origin = emulator.origin();
    let config = dir.path().join("connector.toml");
    std::fs::write(
        &config,
        format!(
            "[connector]\nplugin_dir = {:?}\n\n[pii]\nkeyring = \"pii.keyring\"\ndefault_region = \"US\"\n\n\
             [instances.maas360]\nplugin = \"maas360.wasm\"\nkind = \"uem\"\ndeadline = \"20s\"\nca_file = \"ca.pem\"\n\n\
             [instances.maas360.grants]\nhttp = [\"{origin}\"]\n\n\
             [instances.maas360.config]\nserver_url = \"{origin}\"\nbilling_id = \"{}\"\nusername = \"{}\"\napp_id = \"{}\"\n\
             groups = [\"MP_Devices_Group\", \"Lab\"]\n\n\
             [instances.maas360.secrets]\npassword = {{ file = \"password\" }}\naccess_key = {{ file = \"access-key\" }}\n",
            common::plugin_dir("maas360.wasm").display().to_string(),
            tenant.billing_id,
            tenant.username,
            tenant.app_id,
        ),
    )
    .expect("write config");
    Setup { emulator, dir, config }
}

/// No name, user name, email, asset number or phone number of the tenant appears in `text`.
fn assert_no_plaintext(text: &str, devices: &[DeviceSnapshot]) {
    if let Some(value) = find_personal_value(text, devices) {
        panic!("plaintext `{value}` leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_sync_and_set_risk_from_the_command_line() {
    let s = setup(600, &EmulatorConfig::default().password).await;
    let config = path(&s.config);

    let tested = connector(&["uem", "test", "maas360", "--config", config]).await;
    let out = ok(&tested);
    for line in [
        "ok   authentication",
        "ok   device group `MP_Devices_Group`",
        "ok   device group `Lab`: id",
        "ok   devices: 600 devices",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }

    let file = s.dir.path().join("devices.jsonl");
    let synced = connector(&["uem", "sync", "maas360", "--config", config, "--output", path(&file)]).await;
    ok(&synced);
    let devices = s.emulator.devices();
    let in_groups = devices.iter().filter(|d| d.groups.iter().any(|g| g == "MP_Devices_Group" || g == "Lab")).count();
    let written = std::fs::read_to_string(&file).expect("sync file");
    assert_eq!(written.lines().count(), in_groups);
    let first: serde_json::Value = serde_json::from_str(written.lines().next().expect("a line")).expect("json");
    assert_eq!(first["instance"], "maas360");
    assert!(first["device"]["email"].as_str().expect("email").starts_with("pii1_"));
    assert!(first["apps"].is_array());
    assert_no_plaintext(&written, &devices);
    assert_no_plaintext(&text(&synced), &devices);
    assert_no_plaintext(&text(&tested), &devices);

    // The watermark printed for the next incremental sync gives only what reported since.
    let stderr = String::from_utf8_lossy(&synced.stderr);
    let since = stderr.split("--since ").nth(1).and_then(|t| t.split_whitespace().next()).expect("watermark");
    let recent = s.dir.path().join("recent.jsonl");
    ok(&connector(&["uem", "sync", "maas360", "-c", config, "-o", path(&recent), "--since", since, "--no-apps"]).await);
    let recent = std::fs::read_to_string(&recent).expect("recent");
    let since: i64 = since.parse().expect("milliseconds");
    let expected = devices
        .iter()
        .filter(|d| d.last_reported_ms >= since && d.groups.iter().any(|g| g == "MP_Devices_Group" || g == "Lab"))
        .count();
    assert_eq!(recent.lines().count(), expected);
    assert!(!recent.contains("\"apps\""));

    let device = &devices[0].id;
    let set = ok(&connector(&["uem", "set-risk", "maas360", device, "high", "--config", config]).await);
    assert_eq!(set.trim(), format!("{device}: MP_HighRisk=Yes (changed, verified)"));
    assert_eq!(s.emulator.attribute(device, "MP_HighRisk").as_deref(), Some("Yes"));
    let cleared = ok(&connector(&["uem", "set-risk", "maas360", device, "none", "--config", config]).await);
    assert!(cleared.contains("MP_HighRisk=No (changed, verified)"), "{cleared}");

    let unknown = connector(&["uem", "set-risk", "maas360", "NoSuchDevice", "high", "--config", config]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown).contains("not-found") || text(&unknown).contains("not found"), "{}", text(&unknown));
    let bad_since = connector(&["uem", "sync", "maas360", "-c", config, "-o", "-", "--since", "yesterday"]).await;
    assert!(
        text(&bad_since).contains("neither milliseconds since the epoch nor an RFC 3339 time"),
        "{}",
        text(&bad_since)
    );
    let no_instance = connector(&["uem", "test", "workspace-one", "--config", config]).await;
    assert!(text(&no_instance).contains("workspace-one"), "{}", text(&no_instance));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_the_test_clearly() {
    let s = setup(5, "not-the-password").await;
    let tested = connector(&["uem", "test", "maas360", "--config", path(&s.config)]).await;
    assert_eq!(tested.status.code(), Some(1), "{}", text(&tested));
    let out = text(&tested);
    assert!(out.contains("FAIL authentication: MaaS360: the API user name or password was refused"), "{out}");
    assert!(!out.contains("not-the-password"), "{out}");
}
