//! A plugin instance under the real runtime: [`Plugin`] says how it is configured and writes
//! the config (a temporary folder per plugin) when started; [`RunningPlugin`] holds the started
//! runtime and calls it, blocking.

use std::borrow::Borrow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use connector::config::Config;
use connector::ids::PluginKind;
use connector::plugins::self_test::{self, Verdict};
use connector::plugins::worlds::mail::{Delivery, Message, SendError};
use connector::plugins::worlds::siem::{Event, FormatterInfo, Origin};
use connector::plugins::worlds::uem::{App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use connector::plugins::worlds::{CallError, Check};
use connector::plugins::{Mail, PluginError, PluginRuntime, Siem, Uem};

use crate::config::{InstanceSpec, config_text};
use crate::{HarnessError, block_on, logs};

/// The connector name the self-test passes to the plugin.
const CONNECTOR_NAME: &str = "msc-plugin-test";

/// A plugin instance running in-process under the connector's plugin runtime, with the config
/// [`Plugin::start`] wrote. Calls block until the plugin returns.
///
/// Each one is a runtime of its own with one instance under a name no other in the process
/// has, a fresh key-value store and its own temporary folder (removed on drop).
pub struct RunningPlugin {
    runtime: PluginRuntime,
    name: String,
    kind: PluginKind,
    /// The config, secrets and component copy; kept for the runtime's life.
    _dir: tempfile::TempDir,
}

impl RunningPlugin {
    /// The UEM adapter calls. Panics when the plugin is not a UEM adapter.
    pub fn uem(&self) -> UemCalls {
        UemCalls(self.lookup(self.runtime.uem(&self.name)))
    }

    /// The SIEM formatter calls. Panics when the plugin is not a SIEM formatter.
    pub fn siem(&self) -> SiemCalls {
        SiemCalls(self.lookup(self.runtime.siem(&self.name)))
    }

    /// The mail backend calls. Panics when the plugin is not a mail backend.
    pub fn mail(&self) -> MailCalls {
        MailCalls(self.lookup(self.runtime.mail(&self.name)))
    }

    /// The self-test the connector runs at start and before swapping in a new version: UEM and
    /// mail plugins test their connection, a SIEM formatter formats a sample event.
    pub fn self_test(&self) -> Verdict {
        let instance = self.lookup(self.runtime.instance(&self.name));
        block_on(self_test::run(&instance, CONNECTOR_NAME))
    }

    /// The lines this instance logged so far, oldest first, as `LEVEL message`: what the
    /// plugin wrote (scrubbed of the personal data its calls handled, as the connector writes
    /// it) and what the host noted about it (such as a host it was denied).
    pub fn logs(&self) -> Vec<String> {
        logs::of(&self.name)
    }

    /// The instance's name in the config (`test-N`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The runtime itself, for what the blocking calls do not cover (async callers, the PII
    /// filter, the instance's status).
    pub fn runtime(&self) -> &PluginRuntime {
        &self.runtime
    }

    fn lookup<T, E: std::fmt::Display>(&self, found: Result<T, E>) -> T {
        match found {
            Ok(found) => found,
            Err(e) => panic!("msc-plugin-test: the plugin was started as a {} plugin: {e}", self.kind),
        }
    }
}

impl Drop for RunningPlugin {
    fn drop(&mut self) {
        logs::unregister(&self.name);
    }
}

/// A plugin component and how its instance is configured: settings, secrets, grants,
/// deadline, as an admin would write them. Nothing is written until [`Plugin::start`], which
/// returns the [`RunningPlugin`].
#[must_use = "a plugin runs only once started"]
pub struct Plugin {
    kind: PluginKind,
    wasm: PathBuf,
    settings: toml::Table,
    secrets: Vec<(String, String)>,
    http: Vec<String>,
    net: Vec<String>,
    deadline: Option<Duration>,
    ca_pem: Option<String>,
    /// Settings that cannot be written as TOML, reported by `start`.
    problems: Vec<String>,
}

impl Plugin {
    /// A UEM adapter (`msc:uem/uem-adapter`) from the component at `wasm`.
    pub fn uem(wasm: impl AsRef<Path>) -> Self {
        Self::new(PluginKind::Uem, wasm.as_ref())
    }

    /// A SIEM formatter (`msc:siem/siem-formatter`) from the component at `wasm`.
    pub fn siem(wasm: impl AsRef<Path>) -> Self {
        Self::new(PluginKind::Siem, wasm.as_ref())
    }

    /// A mail backend (`msc:mail/mail-backend`) from the component at `wasm`.
    pub fn mail(wasm: impl AsRef<Path>) -> Self {
        Self::new(PluginKind::Mail, wasm.as_ref())
    }

    fn new(kind: PluginKind, wasm: &Path) -> Self {
        Self {
            kind,
            wasm: wasm.to_path_buf(),
            settings: toml::Table::new(),
            secrets: Vec::new(),
            http: Vec::new(),
            net: Vec::new(),
            deadline: None,
            ca_pem: None,
            problems: Vec::new(),
        }
    }

    /// Setting `key` of `[instances.NAME.config]`: a string, number, bool, array or table.
    pub fn config(mut self, key: &str, value: impl serde::Serialize) -> Self {
        match toml::Value::try_from(value) {
            Ok(value) => {
                self.settings.insert(key.to_string(), value);
            }
            Err(e) => self.problems.push(format!("setting `{key}`: {e}")),
        }
        self
    }

    /// Secret `name`, written to a file only the owner can read and referenced as
    /// `name = { file = "…" }` in `[instances.NAME.secrets]`.
    pub fn secret(mut self, name: &str, value: impl Into<String>) -> Self {
        self.secrets.push((name.to_string(), value.into()));
        self
    }

    /// Lets the plugin call `origin` (e.g. `https://localhost:8443`, or `peer.url()`).
    pub fn grant_http(mut self, origin: &str) -> Self {
        self.http.push(origin.to_string());
        self
    }

    /// Lets the plugin open a stream to `host_port` (e.g. `127.0.0.1:2525`).
    pub fn grant_net(mut self, host_port: &str) -> Self {
        self.net.push(host_port.to_string());
        self
    }

    /// Trusts only the CA certificate `pem` for the plugin's TLS connections (`ca_file`):
    /// [`Peer::ca_pem`](crate::Peer::ca_pem) of an HTTPS peer.
    pub fn ca_pem(mut self, pem: &str) -> Self {
        self.ca_pem = Some(pem.to_string());
        self
    }

    /// How long one call may run (the runtime's default when not set).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Writes the config into a fresh temporary folder and starts the runtime from it. Fails
    /// when the config cannot be written or is refused, or the component does not load (the
    /// error says why, in the runtime's words).
    pub fn start(self) -> Result<RunningPlugin, HarnessError> {
        if !self.problems.is_empty() {
            return Err(HarnessError::Setting(self.problems.join("; ")));
        }
        let name = next_name();
        let dir = tempfile::Builder::new().prefix("msc-plugin-test-").tempdir().map_err(io("a temporary folder"))?;
        let spec = self.write_files(&name, dir.path())?;
        let file = dir.path().join("connector.toml");
        let keyring = dir.path().join("pii.keyring");
        connector::pii::keyring::Keyring::generate()
            .and_then(|k| k.create(&keyring))
            .map_err(|e| HarnessError::Keyring(e.to_string()))?;
        std::fs::write(&file, config_text(&spec, &dir.path().join("plugins"), &keyring))
            .map_err(io("the config file"))?;
        let config = Config::load(&file).map_err(|e| HarnessError::Config(e.to_string()))?;

        logs::register(&name);
        match block_on(PluginRuntime::start(config)) {
            Ok(runtime) => Ok(RunningPlugin { runtime, name, kind: self.kind, _dir: dir }),
            Err(e) => {
                logs::unregister(&name);
                Err(HarnessError::Start(e))
            }
        }
    }

    /// Copies the component into `dir/plugins`, writes the secrets and the CA file.
    fn write_files(&self, name: &str, dir: &Path) -> Result<InstanceSpec, HarnessError> {
        let file_name = self
            .wasm
            .file_name()
            .ok_or_else(|| HarnessError::Component { path: self.wasm.clone(), reason: "is not a file".into() })?;
        let plugin_dir = dir.join("plugins");
        std::fs::create_dir(&plugin_dir).map_err(io("the plugin folder"))?;
        // A copy: a rebuild of the component during the test does not change what runs.
        std::fs::copy(&self.wasm, plugin_dir.join(file_name))
            .map_err(|e| HarnessError::Component { path: self.wasm.clone(), reason: e.to_string() })?;

        let secret_dir = dir.join("secrets");
        std::fs::create_dir(&secret_dir).map_err(io("the secrets folder"))?;
        let mut secrets = Vec::new();
        for (secret, value) in &self.secrets {
            let path = secret_dir.join(secret);
            write_private(&path, value).map_err(io("a secret file"))?;
            secrets.push((secret.clone(), path));
        }
        let ca_file = match &self.ca_pem {
            Some(pem) => {
                let path = dir.join("ca.pem");
                std::fs::write(&path, pem).map_err(io("the CA file"))?;
                Some(path)
            }
            None => None,
        };
        Ok(InstanceSpec {
            name: name.to_string(),
            kind: self.kind,
            plugin: file_name.to_string_lossy().into_owned(),
            deadline: self.deadline,
            http: self.http.clone(),
            net: self.net.clone(),
            settings: self.settings.clone(),
            secrets,
            ca_file,
        })
    }
}

/// A name no other instance in this process has, so each plugin's log lines stay its own.
fn next_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!("test-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> HarnessError {
    move |source| HarnessError::Io { what, source }
}

/// Writes `value` to a new file only its owner can read, as the connector wants secret files.
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, value.as_bytes())
}

/// The calls of a UEM adapter, blocking; each mirrors [`Uem`]'s method of the same name.
pub struct UemCalls(Uem);

impl UemCalls {
    /// One page of devices (takes the query by value or by reference).
    pub fn list_devices(&self, query: impl Borrow<DeviceQuery>) -> Result<DevicePage, CallError> {
        block_on(self.0.list_devices(query.borrow()))
    }

    /// One device by the UEM's id.
    pub fn get_device(&self, id: &str) -> Result<Device, CallError> {
        block_on(self.0.get_device(id))
    }

    /// The apps installed on a device.
    pub fn list_apps(&self, device_id: &str) -> Result<Vec<App>, CallError> {
        block_on(self.0.list_apps(device_id))
    }

    /// Reports a device's risk level to the UEM (e.g. sets the mitigation label).
    pub fn set_risk(&self, device_id: &str, level: RiskLevel) -> Result<RiskUpdate, CallError> {
        block_on(self.0.set_risk(device_id, level))
    }

    /// The plugin's connection checks.
    pub fn test_connection(&self) -> Result<Vec<Check>, CallError> {
        block_on(self.0.test_connection())
    }
}

/// The calls of a SIEM formatter, blocking; each mirrors [`Siem`]'s method of the same name.
pub struct SiemCalls(Siem);

impl SiemCalls {
    /// The formatter's format name, framing and media type.
    pub fn describe(&self) -> Result<FormatterInfo, PluginError> {
        block_on(self.0.describe())
    }

    /// Formats a batch; one result per event, in order.
    pub fn format(&self, origin: &Origin, events: &[Event]) -> Result<Vec<Result<Vec<u8>, CallError>>, PluginError> {
        block_on(self.0.format(origin, events))
    }
}

/// The calls of a mail backend, blocking; each mirrors [`Mail`]'s method of the same name.
pub struct MailCalls(Mail);

impl MailCalls {
    /// Sends one message (takes it by value or by reference).
    #[allow(clippy::result_large_err, reason = "the runtime's own result type, as `Mail::send` returns it")]
    pub fn send(&self, message: impl Borrow<Message>) -> Result<Delivery, CallError<SendError>> {
        block_on(self.0.send(message.borrow()))
    }

    /// The plugin's connection checks.
    pub fn test_connection(&self) -> Result<Vec<Check>, CallError> {
        block_on(self.0.test_connection())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_no_component_is_refused_in_the_runtimes_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wasm = dir.path().join("broken.wasm");
        std::fs::write(&wasm, b"not wasm").expect("write");
        let error = match Plugin::uem(&wasm).config("server_url", "https://x").secret("password", "p").start() {
            Ok(_) => panic!("a file that is not WebAssembly must not load"),
            Err(e) => e,
        };
        assert!(matches!(error, HarnessError::Start(_)), "the config was accepted, the load failed: {error:?}");
        assert!(error.to_string().contains("broken.wasm"), "{error}");
    }

    #[test]
    fn a_missing_component_and_an_unwritable_setting_are_errors() {
        let missing = Plugin::siem("/nonexistent/x.wasm").start();
        assert!(matches!(missing, Err(HarnessError::Component { .. })), "{:?}", missing.err());
        let bad = Plugin::siem("/nonexistent/x.wasm").config("x", Option::<u8>::None).start();
        assert!(matches!(bad, Err(HarnessError::Setting(_))), "{:?}", bad.err());
    }

    #[test]
    fn secrets_are_private_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s");
        write_private(&path, "s3cret").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "s3cret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
