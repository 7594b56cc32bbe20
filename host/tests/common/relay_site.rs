//! A site for relay tests and benchmarks: the cloud emulator, the MaaS360 emulator behind a
//! private CA, a keyring, and connector processes (`connector run`) configured against them.
//! Included by `tests/relay.rs` and `benches/relay_load.rs` with `#[path]`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloud_emulator::{Emulator as Cloud, EmulatorConfig as CloudConfig};
use connector::pii::Tokenizer;
use connector::pii::canonical::Canonicalizer;
use connector::pii::keyring::Keyring;
use maas360_emulator::private_ca::PrivateCa;
use maas360_emulator::{Emulator as Maas360, EmulatorConfig as Maas360Config};

/// Where `scripts/build-plugins` put the components.
fn plugin_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let dir = target.join("wasm32-wasip2/plugin");
    assert!(dir.join("maas360.wasm").is_file(), "plugins are not built: run `scripts/build-plugins` first");
    dir
}

/// A folder with a keyring, the emulators' CAs and secrets, where connector configs are written.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub cloud: Cloud,
    pub maas360: Maas360,
    pub maas360_config: Maas360Config,
}

impl Site {
    pub async fn start(devices: usize) -> Site {
        Self::start_with(devices, CloudConfig::default()).await
    }

    /// A site whose cloud emulator runs with `cloud` (e.g. requiring client certificates).
    pub async fn start_with(devices: usize, cloud: CloudConfig) -> Site {
        let ca = PrivateCa::new("MaaS360 on-prem CA").expect("CA");
        let maas360_config = Maas360Config { devices, ..Maas360Config::default() };
        let maas360 = Maas360::start_tls(maas360_config.clone(), ca.server_config().expect("tls"))
            .await
            .expect("MaaS360 emulator");
        let cloud = Cloud::start(cloud).await.expect("cloud emulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let site = Site { dir, cloud, maas360, maas360_config };
        site.write("maas360-ca.pem", &ca.ca_pem);
        site.write("relay-ca.pem", site.cloud.ca_pem());
        site.write("password", &site.maas360_config.password);
        site.write("access-key", &site.maas360_config.access_key);
        site.write("enrollment-token", "demo-enrollment-token");
        let keyring = Keyring::generate().expect("keyring");
        keyring.create(&site.path("pii.keyring")).expect("write keyring");
        site
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    }

    pub fn tokenizer(&self) -> Tokenizer {
        let keyring = Keyring::load(&self.path("pii.keyring")).expect("keyring");
        Tokenizer::new(keyring, Canonicalizer::new(None))
    }

    /// Writes `NAME.toml` for a connector; `relay_extra` is appended to its `[relay]` section.
    pub fn config(&self, name: &str, keyring: &str, relay_extra: &str) -> PathBuf {
        let maas = self.maas360.origin();
        let c = &self.maas360_config;
        let text = format!(
            r#"[connector]
name = "{name}"
plugin_dir = {plugins:?}

[pii]
keyring = "{keyring}"
default_region = "US"

[store]
dir = "{name}-store"

[relay]
url = "{relay}"
enrollment_token = {{ file = "enrollment-token" }}
ca_file = "relay-ca.pem"
{relay_extra}

[instances.maas360]
plugin = "maas360.wasm"
kind = "uem"
deadline = "20s"
ca_file = "maas360-ca.pem"

[instances.maas360.grants]
http = ["{maas}"]

[instances.maas360.config]
server_url = "{maas}"
billing_id = "{billing}"
username = "{user}"
app_id = "{app}"

[instances.maas360.secrets]
password = {{ file = "password" }}
access_key = {{ file = "access-key" }}

[instances.trivial]
plugin = "test_plugin_trivial.wasm"
kind = "uem"

[instances.siem-json]
plugin = "siem_json.wasm"
kind = "siem"

[instances.mail]
plugin = "test_plugin_mail_echo.wasm"
kind = "mail"
"#,
            plugins = plugin_dir().display().to_string(),
            relay = self.cloud.relay_url(),
            billing = c.billing_id,
            user = c.username,
            app = c.app_id,
        );
        let path = self.path(&format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Every personal value the MaaS360 tenant holds: none may reach the cloud.
    pub fn personal_values(&self) -> Vec<String> {
        self.maas360.devices().iter().flat_map(|d| d.personal_values()).collect()
    }

    pub fn assert_cloud_holds_no_plaintext(&self, extra: &[&str]) {
        let mut needles = self.personal_values();
        needles.extend(extra.iter().map(|s| s.to_string()));
        let found = self.cloud.find_plaintext(&needles);
        assert!(found.is_empty(), "plaintext personal data reached the cloud: {found:?}");
        let violations = self.cloud.pii_violations();
        assert!(violations.is_empty(), "the cloud's PII guard flagged: {violations:?}");
    }
}

/// `GET path` on a connector's admin listener at `addr`, as JSON.
pub async fn admin_get(addr: &str, path: &str) -> serde_json::Value {
    let (status, body) = admin_get_text(addr, path).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {status} {body}"))
}

/// The status code and body of `GET path` on the admin listener.
pub async fn admin_get_text(addr: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("admin listener");
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer.as_str(), ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// Waits until the relay holds the later outcome of task `id` (a queued mail's delivery).
pub async fn wait_outcome(cloud: &Cloud, id: &str, timeout: Duration) -> cloud_emulator::TaskView {
    let started = Instant::now();
    loop {
        match cloud.task(id) {
            Some(task) if task.later_status.is_some() => return task,
            Some(task) if started.elapsed() > timeout => panic!("no outcome for {id} within {timeout:?}: {task:?}"),
            None => panic!("no task {id}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A `connector run` process; its log is kept in a file and shown when a test fails.
pub struct Connector {
    pub child: Child,
    log: PathBuf,
}

impl Connector {
    pub fn start(config: &Path) -> Connector {
        Self::start_logging(config, "info,connector=debug,wasmtime=warn,cranelift_codegen=warn")
    }

    /// Starts `connector run` with `MSC_LOG` set to `filter`.
    pub fn start_logging(config: &Path, filter: &str) -> Connector {
        let log = config.with_extension("log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_connector"))
            .args(["run", "--config"])
            .arg(config)
            .env("MSC_LOG", filter)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start connector");
        Connector { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns whether it exited successfully.
    pub fn wait(&mut self, timeout: Duration) -> Option<bool> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
