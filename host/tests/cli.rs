//! The `connector` binary as admins run it: `check` prints every problem as
//! `file:line:column: key: message` and exits non-zero; `run --once` starts and self-tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn plugin_dir() -> PathBuf {
    common::plugin_dir("siem_json.wasm")
}

/// Writes a config with `body` from line 4 on, and a `[pii]` section (with a fresh keyring) last.
fn write_config(dir: &Path, body: &str) -> PathBuf {
    let keyring = dir.join("pii.keyring");
    if !keyring.exists() {
        let made = connector(&["keys", "generate", keyring.to_str().expect("utf-8")]);
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    }
    let file = dir.join("connector.toml");
    let plugin_dir = plugin_dir().display().to_string();
    std::fs::write(
        &file,
        format!("[connector]\nplugin_dir = {plugin_dir:?}\n\n{body}\n[pii]\nkeyring = \"pii.keyring\"\n"),
    )
    .expect("write config");
    file
}

fn connector(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connector")).args(args).env("MSC_LOG", "warn").output().expect("run connector")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `connector check --config FILE`: its exit code and what it printed.
fn check(file: &Path) -> (Option<i32>, String) {
    let output = connector(&["check", "--config", file.to_str().expect("utf-8")]);
    (output.status.code(), stdout(&output))
}

#[test]
fn check_accepts_a_good_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(dir.path(), "[instances.json]\nplugin = \"siem_json.wasm\"\nkind = \"siem\"\n");
    let (code, printed) = check(&file);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.ends_with("ok (1 plugin instance)\n"), "{printed}");
}

#[test]
fn check_points_at_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(
        dir.path(),
        "[instances.json]\n\
         plugin = \"siem_json.wasm\"\n\
         kind = \"siem\"\n\
         deadline = \"soon\"\n",
    );
    let (code, printed) = check(&file);
    assert_eq!(code, Some(1), "{printed}");
    let expected = format!("{}:7:12: instances.json.deadline: ", file.display());
    assert!(printed.starts_with(&expected), "{printed}");
}

#[test]
fn check_reports_every_semantic_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(
        dir.path(),
        "[instances.json]\n\
         plugin = \"siem_json.wasm\"\n\
         kind = \"siem\"\n\
         [instances.json.grants]\n\
         http = [\"https://ok.example\", \"https://bad.example/path\"]\n\
         net = [\"no-port.example\"]\n\
         [instances.json.secrets]\n\
         token = { env = \"MSC_CLI_TEST_UNSET\" }\n",
    );
    let (code, printed) = check(&file);
    assert_eq!(code, Some(1), "{printed}");
    let lines: Vec<String> = printed.lines().map(str::to_string).collect();
    let f = file.display();
    assert_eq!(
        lines,
        [
            format!(
                "{f}:8:31: instances.json.grants.http[1]: `https://bad.example/path`: grant an origin (scheme, host, port) without a path, query or credentials"
            ),
            format!("{f}:9:8: instances.json.grants.net[0]: `no-port.example` is not `host:port`"),
            format!("{f}:11:9: instances.json.secrets.token: environment variable `MSC_CLI_TEST_UNSET` is not set"),
        ]
    );
}

#[test]
fn check_refuses_plugins_that_do_not_fit() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("truncated.wasm"), b"\0asm\x0d\0\x01\0\x01").expect("write");
    let body = format!(
        "[instances.wrong-kind]\nplugin = \"siem_json.wasm\"\nkind = \"uem\"\n\n\
         [instances.reader]\nplugin = \"test_plugin_hostile_fs.wasm\"\nkind = \"uem\"\n\n\
         [instances.broken]\nplugin = {:?}\nkind = \"mail\"\n",
        dir.path().join("truncated.wasm").display().to_string()
    );
    let file = write_config(dir.path(), &body);
    let (code, printed) = check(&file);
    assert_eq!(code, Some(1), "{printed}");
    let f = file.display();
    assert!(printed.contains(&format!("{f}:5:10: instances.wrong-kind.plugin: ")), "{printed}");
    assert!(
        printed.contains("is a siem plugin (`msc:siem/formatter@1.0.0`), but the config says kind = \"uem\""),
        "{printed}"
    );
    assert!(printed.contains(&format!("{f}:9:10: instances.reader.plugin: ")), "{printed}");
    assert!(printed.contains("`wasi:filesystem/preopens@0.2.6`: plugins get no filesystem"), "{printed}");
    assert!(printed.contains(&format!("{f}:13:10: instances.broken.plugin: ")), "{printed}");
    assert!(printed.contains("is not a valid component"), "{printed}");
}

#[test]
fn check_reports_an_unreadable_file() {
    let (code, printed) = check(Path::new("/nonexistent/connector.toml"));
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.starts_with("/nonexistent/connector.toml: cannot be read"), "{printed}");
}

#[test]
fn run_once_starts_and_self_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(
        dir.path(),
        "[instances.json]\nplugin = \"siem_json.wasm\"\nkind = \"siem\"\n\n\
         [instances.probe]\nplugin = \"test_plugin_trivial.wasm\"\nkind = \"uem\"\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["run", "--once", "--log-format", "json", "--config", file.to_str().expect("utf-8")])
        .output()
        .expect("run connector");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{logs}");
    assert!(logs.contains("connector started"), "{logs}");
    assert!(logs.contains("JSON formatter"), "{logs}");
    assert!(logs.lines().all(|l| l.starts_with('{')), "every line is JSON: {logs}");
}

#[test]
fn config_reference_and_schema_describe_the_file() {
    let output = connector(&["config", "reference"]);
    assert!(output.status.success(), "{output:?}");
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config-reference.md"))
        .expect("docs/config-reference.md");
    assert_eq!(stdout(&output), committed, "`connector config reference` is what docs/config-reference.md holds");

    let output = connector(&["config", "schema"]);
    assert!(output.status.success(), "{output:?}");
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(schema["additionalProperties"], false, "unknown sections are refused");
    let relay = &schema["$defs"]["RawRelay"];
    assert_eq!(relay["required"], serde_json::json!(["url", "enrollment_token"]));
    assert_eq!(relay["properties"]["drain"]["default"], "10s");
}
