//! WIT evolution (docs/wit-evolution.md): a plugin built against the previous minor version of
//! `msc:host` (1.0, frozen in `wit/compat/1.0/`) still loads and serves in the current connector
//! (1.1), side by side with a plugin built against 1.1; plugins built for another major or a
//! newer minor are refused, naming the import.

use connector::capabilities::ImportProblem;
use connector::ids::PluginKind;
use connector::plugins::component::load_bytes;
use connector::plugins::inspect::inspect;
use connector::plugins::{LoadError, PluginRuntime};
use connector_tests::logs;
use connector_tests::setup::TestConfig;

/// The UEM adapter generated from `wit/compat/1.0/`.
const OLD: &str = "uem_wit_1_0";

fn both_minors() -> TestConfig {
    TestConfig::new(
        "[instances.old]\nplugin = \"uem_wit_1_0.wasm\"\nkind = \"uem\"\n[instances.old.config]\ndevice = \"dev-10\"\n\n\
         [instances.current]\nplugin = \"test_plugin_probe.wasm\"\nkind = \"uem\"\n",
    )
}

/// The `msc:host` interfaces `plugin` imports, as `connector plugins inspect` lists them.
fn host_imports(runtime: &PluginRuntime, plugin: &str) -> Vec<String> {
    let path = connector_tests::plugin(plugin);
    let bytes = std::fs::read(&path).expect("read plugin");
    let inspection = inspect(runtime.engine(), &path, &bytes).expect("inspect");
    assert!(inspection.imports.iter().all(|i| i.refused.is_none()), "{:?}", inspection.imports);
    inspection.imports.into_iter().map(|i| i.name).filter(|name| name.starts_with("msc:host/")).collect()
}

/// Whether the component's bytes contain `name` (its import types name every function imported).
fn names(plugin: &str, name: &str) -> bool {
    let bytes = std::fs::read(connector_tests::plugin(plugin)).expect("read plugin");
    bytes.windows(name.len()).any(|w| w == name.as_bytes())
}

#[tokio::test(flavor = "current_thread")]
async fn a_plugin_built_against_1_0_serves_beside_a_1_1_plugin() {
    let (captured, _guard) = logs::capture();
    let runtime = both_minors().start().await;

    // What each plugin was built against, as the host sees it: the versions in its import names.
    let old = host_imports(&runtime, OLD);
    assert!(old.contains(&"msc:host/log@1.0.0".to_string()), "{old:?}");
    assert!(old.iter().all(|name| name.ends_with("@1.0.0")), "{old:?}");
    assert!(!names(OLD, "enabled"), "1.0 has no `log.enabled`");
    let current = host_imports(&runtime, "test_plugin_probe");
    assert!(current.contains(&"msc:host/log@1.1.0".to_string()), "{current:?}");
    assert!(names("test_plugin_probe", "enabled"), "the SDK's macros import `log.enabled`");

    // The 1.0 plugin's calls, through the host's current (1.1) linker.
    let uem = runtime.uem("old").expect("1.0 instance");
    let query = connector::plugins::worlds::uem::DeviceQuery {
        cursor: None,
        page_size: 10,
        groups: vec![],
        changed_since_ms: None,
    };
    let page = uem.list_devices(&query).await.expect("list devices");
    assert_eq!(page.devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["dev-10"]);
    assert_eq!(page.total, Some(1));
    let checks = uem.test_connection().await.expect("self-test");
    assert_eq!(
        checks.iter().map(|c| (c.name.as_str(), c.passed, c.detail.as_str())).collect::<Vec<_>>(),
        [("device setting", true, "device dev-10")]
    );

    // The 1.1 plugin, beside it, in the same engine: its `info!` asks `log.enabled` first.
    let probe = runtime.uem("current").expect("1.1 instance");
    let checks = probe.test_connection().await.expect("probe self-test");
    assert!(checks.iter().any(|c| c.name == "instance" && c.detail == "current"), "{checks:?}");

    let text = captured.text();
    let line = |needle: &str| text.lines().find(|l| l.contains(needle)).map(str::to_string);
    let old_line = line("wit 1.0 adapter listing dev-10").unwrap_or_else(|| panic!("the 1.0 log line:\n{text}"));
    assert!(old_line.contains("instance=\"old\"") && old_line.contains("INFO"), "{old_line}");
    let probe_line = line("probe current ran").unwrap_or_else(|| panic!("the 1.1 log line:\n{text}"));
    assert!(probe_line.contains("instance=\"current\""), "{probe_line}");
}

#[tokio::test(flavor = "current_thread")]
async fn log_enabled_follows_the_connectors_filter() {
    // The connector logs plugin lines at warn and above only: the probe's `info!` is skipped by
    // the plugin itself (its `enabled` call answers false), and the call still succeeds.
    let captured = logs::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,plugin=warn"))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = both_minors().start().await;
    let probe = runtime.uem("current").expect("1.1 instance");
    probe.test_connection().await.expect("probe self-test");
    let old = runtime.uem("old").expect("1.0 instance");
    let query = connector::plugins::worlds::uem::DeviceQuery {
        cursor: None,
        page_size: 10,
        groups: vec![],
        changed_since_ms: None,
    };
    old.list_devices(&query).await.expect("list devices");
    let text = captured.text();
    assert!(!text.contains("probe current ran"), "{text}");
    assert!(!text.contains("wit 1.0 adapter listing"), "the host filters a 1.0 plugin's lines itself: {text}");
}

/// The 1.0 plugin with every `from` in its bytes replaced by `to` (of the same length, so the
/// component stays well formed): a plugin that imports `to` instead.
fn patched(from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(connector_tests::plugin(OLD)).expect("read plugin");
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found > 0, "the plugin names {}", String::from_utf8_lossy(from));
    bytes
}

#[tokio::test]
async fn plugins_for_a_newer_minor_or_another_major_are_refused() {
    let runtime = both_minors().start().await;
    let load = |bytes: Vec<u8>| {
        let path = std::path::Path::new("patched.wasm");
        match load_bytes(runtime.engine(), path, &bytes, PluginKind::Uem, None) {
            Err(LoadError::Imports { problems, .. }) => problems,
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("loaded"),
        }
    };

    // Sanity: the unpatched bytes load.
    let bytes = std::fs::read(connector_tests::plugin(OLD)).expect("read plugin");
    load_bytes(runtime.engine(), std::path::Path::new("old.wasm"), &bytes, PluginKind::Uem, None).expect("1.0 loads");

    let problems = load(patched("msc:host/log@1.0.0", "msc:host/log@1.2.0"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(matches!(problems[0], ImportProblem::Newer { .. }), "{problems:?}");
    assert_eq!(
        problems[0].to_string(),
        "`msc:host/log@1.2.0`: built for msc:host 1.2.0; the connector implements msc:host 1.1: update the connector"
    );

    let problems = load(patched("msc:host/log@1.0.0", "msc:host/log@2.0.0"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].to_string(),
        "`msc:host/log@2.0.0`: the connector implements msc:host 1.1, not version 2.0.0"
    );
}
