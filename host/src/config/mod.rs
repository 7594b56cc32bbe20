//! The connector's config: one TOML file, read and validated at once, with every problem reported
//! as `file:line:column: key: message` (see [`diagnostics`]).
//!
//! ```toml
//! [connector]
//! name = "hq-1"                    # shown in logs; default: the host name
//! plugin_dir = "plugins"           # where plugin files are found; relative to this file
//!
//! [runtime]
//! max_concurrent_calls = 32        # sandboxes that may run at once, all instances together
//! max_memory = "256MiB"            # the most memory any one instance may be given
//!
//! [pii]                            # personal data: required by `run` and `check`
//! keyring = "pii.keyring"          # made by `connector keys generate`; mode 0600
//! audit_log = "pii-audit.log"      # where reveals are recorded (default: beside the keyring)
//! default_region = "US"            # phone numbers without a country code are from here
//! detect = ["email", "phone"]      # detectors run on free text (default: both)
//!
//! [pii.fields]                     # free-form UEM attributes / SIEM fields that hold PII
//! "Employee ID" = "identifier"     # kinds: device-name person-name user-name email phone identifier
//!
//! [admin]                          # health and plugin status over plain HTTP: keep it on loopback
//! listen = "127.0.0.1:9464"        # GET /healthz, /readyz, /metrics, /plugins (docs/operations.md)
//!
//! [plugins]                        # signatures and trusted publishers: see `plugins.rs`
//! signatures = "require"           # refuse unsigned plugins (default "warn": load them, log it)
//!
//! [local_proxy]                    # admins browse the dashboard here: see `local_proxy.rs`
//! listen = "0.0.0.0:8443"
//!
//! [store]                          # the durable queues (SIEM events, mail outbox): one file
//! dir = "store"                    # relative to this file; mode 0700
//!
//! [mail]                           # the mail outbox's retries and limits: see `mail.rs`
//! expire_after = "3d"
//!
//! [siem.targets.soc]               # deliver security events: see `siem.rs`
//! formatter = "siem-cef"
//! transport = "tcp"
//! address = "siem.corp.example:514"
//!
//! [relay]                          # the cloud relay to take tasks from: see `relay.rs`
//! url = "https://relay.example.com"
//! enrollment_token = { file = "secrets/enrollment-token" }
//!
//! [instances.maas360]              # one plugin instance: a plugin file plus what it is granted
//! plugin = "maas360.wasm"
//! kind = "uem"                     # uem | siem | mail: the world the plugin must implement
//! deadline = "60s"                 # each call is stopped after this long (default 30s)
//! memory = "64MiB"                 # linear memory limit per call (default 64MiB)
//! max_concurrent_calls = 4         # calls of this instance at once (default 8)
//! ca_file = "certs/maas-ca.pem"    # trust only this CA for its connections (default: system)
//!
//! [instances.maas360.grants]
//! http = ["https://services.fiberlink.com"]   # origins it may call
//! net = ["smtp.corp.example:587"]             # host:port streams it may open
//!
//! [instances.maas360.config]       # settings the plugin reads; any TOML
//! billing_id = "30012345"
//!
//! [instances.maas360.secrets]      # secrets the plugin reads; from files or the environment
//! password = { file = "secrets/maas360-password" }
//! ```

pub mod diagnostics;
pub mod local_proxy;
pub mod login;
pub mod mail;
pub mod plugins;
pub mod reference;
pub mod relay;
pub mod schema;
pub mod siem;
pub mod writable;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytesize::ByteSize;
use rustls::ClientConfig;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use crate::capabilities::http::HttpGrant;
use crate::capabilities::net::NetGrant;
use crate::capabilities::secrets::{SecretRef, Secrets};
use crate::capabilities::settings::Settings;
use crate::capabilities::tls;
use crate::ids::{InstanceName, PluginKind};
use crate::pii::keyring::Keyring;
use crate::pii::{Detector, Kind};
use diagnostics::SourceIndex;
pub use diagnostics::{ConfigError, Diagnostic, KeyPath, Severity};
pub use local_proxy::LocalProxyConfig;
pub use mail::MailConfig;
pub use plugins::PluginsConfig;
pub use relay::{ProxyConfig, RelayConfig};
pub use siem::SiemConfig;

pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
pub const MAX_DEADLINE: Duration = Duration::from_secs(3600);
pub const DEFAULT_MEMORY: u64 = 64 * 1024 * 1024;
pub const DEFAULT_MAX_MEMORY: u64 = 256 * 1024 * 1024;
pub const DEFAULT_INSTANCE_CONCURRENCY: u32 = 8;
pub const DEFAULT_RUNTIME_CONCURRENCY: u32 = 32;
const MAX_RUNTIME_CONCURRENCY: u32 = 1024;
const MIN_MEMORY: u64 = 1024 * 1024;
const DEFAULT_PLUGIN_DIR: &str = "plugins";
const DEFAULT_STORE_DIR: &str = "store";
const DEFAULT_PII_AUDIT_LOG: &str = "pii-audit.log";

/// A validated config: every path resolved, every grant parsed, every secret read.
#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub connector: ConnectorSettings,
    pub runtime: RuntimeSettings,
    pub instances: BTreeMap<InstanceName, InstanceConfig>,
    /// The PII filter's keyring and policy; `None` when the file has no `[pii]` section.
    pub pii: Option<PiiConfig>,
    /// The cloud relay to take tasks from; `None` when the file has no `[relay]` section.
    pub relay: Option<RelayConfig>,
    /// Plugin signatures and the compiled-plugin cache; defaults when the file has no `[plugins]`.
    pub plugins: PluginsConfig,
    /// Where the admin listener (`/healthz`, `/plugins`) serves; `None` when not configured.
    pub admin: Option<std::net::SocketAddr>,
    /// Where security events are delivered; `None` when the file has no `[siem]` section.
    pub siem: Option<SiemConfig>,
    /// The local dashboard proxy; `None` when the file has no `[local_proxy]` section.
    pub local_proxy: Option<LocalProxyConfig>,
    /// The folder of the durable store (SIEM queues, mail outbox); `[store] dir`.
    pub store_dir: PathBuf,
    /// The mail outbox's retries and limits; defaults when the file has no `[mail]`.
    pub mail: MailConfig,
    /// Problems that do not stop the connector, e.g. a secret file others can read.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Clone, Debug)]
pub struct ConnectorSettings {
    pub name: String,
    pub plugin_dir: PathBuf,
}

/// The `[pii]` section, with the keyring loaded.
#[derive(Debug)]
pub struct PiiConfig {
    pub keyring_file: PathBuf,
    pub keyring: Keyring,
    pub audit_log: PathBuf,
    pub default_region: Option<phonenumber::country::Id>,
    pub fields: Vec<(String, Kind)>,
    pub detect: Vec<Detector>,
}

impl PiiConfig {
    /// The filter this section describes.
    pub fn into_filter(self) -> crate::pii::PiiFilter {
        use crate::pii::{Detectors, FieldPolicy, PiiFilter, Tokenizer, canonical::Canonicalizer};
        let tokenizer = Tokenizer::new(self.keyring, Canonicalizer::new(self.default_region));
        PiiFilter::new(
            std::sync::Arc::new(tokenizer),
            FieldPolicy::new(self.fields),
            Detectors::new(&self.detect, self.default_region),
        )
    }
}

/// Sizes the plugin runtime's sandbox pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeSettings {
    pub max_concurrent_calls: u32,
    pub max_memory: u64,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self { max_concurrent_calls: DEFAULT_RUNTIME_CONCURRENCY, max_memory: DEFAULT_MAX_MEMORY }
    }
}

/// Limits on each call of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceLimits {
    pub deadline: Duration,
    pub memory: u64,
    pub max_concurrent_calls: u32,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self { deadline: DEFAULT_DEADLINE, memory: DEFAULT_MEMORY, max_concurrent_calls: DEFAULT_INSTANCE_CONCURRENCY }
    }
}

/// One plugin instance: a plugin file plus what the admin granted it.
#[derive(Debug)]
pub struct InstanceConfig {
    pub kind: PluginKind,
    pub plugin: PathBuf,
    pub limits: InstanceLimits,
    pub http: Vec<HttpGrant>,
    pub net: Vec<NetGrant>,
    pub ca_file: Option<PathBuf>,
    pub tls: Arc<ClientConfig>,
    pub settings: Settings,
    pub secrets: Secrets,
}

// ----- The file as written -----
//
// The doc comments below are the config reference: `connector config reference` renders them
// (with types, defaults and allowed values) into docs/config-reference.md.

/// The connector's config file. Every section is optional except where a command needs it:
/// `run` and `check` need `[pii]`; the dashboard needs `[relay]` and `[local_proxy]`. Relative
/// paths anywhere in the file are relative to the file's own folder.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    connector: RawConnector,
    #[serde(default)]
    runtime: RawRuntime,
    /// Plugin instances by name (letters, digits, `-`, `_`): each is a plugin file plus what the
    /// admin grants it. Several instances may run the same plugin with different settings.
    #[serde(default)]
    instances: BTreeMap<String, RawInstance>,
    pii: Option<RawPii>,
    relay: Option<relay::RawRelay>,
    #[serde(default)]
    plugins: plugins::RawPlugins,
    admin: Option<RawAdmin>,
    local_proxy: Option<local_proxy::RawLocalProxy>,
    siem: Option<siem::RawSiem>,
    store: Option<RawStore>,
    #[serde(default)]
    mail: mail::RawMail,
}

/// The durable store: one crash-safe file holding the SIEM event queues and the mail outbox.
/// Without this section it is `store`, beside the config file.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// The store's folder (created with mode 0700). Back it up with the keyring: queued events
    /// and mails wait here across restarts.
    dir: PathBuf,
}

/// The admin listener: liveness, readiness, Prometheus metrics and plugin status over plain
/// HTTP, without login. Keep it on loopback or a management network.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    /// address:port to serve `/healthz`, `/readyz`, `/metrics` and `/plugins` on, e.g.
    /// `127.0.0.1:9464`. Without an `[admin]` section there is no admin listener.
    listen: String,
}

/// Personal data: the keyring that turns device and user names, emails and phone numbers into
/// tokens before anything leaves for the cloud, and what counts as personal.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawPii {
    /// The keyring file made by `connector keys generate` (mode 0600, owned by the connector's
    /// user). Losing it makes every token already in the cloud unreadable: back it up.
    keyring: PathBuf,
    /// Where reveals of tokens (`connector pii reveal`) are recorded.
    #[schemars(extend("x-default" = format!("{DEFAULT_PII_AUDIT_LOG} beside the keyring")))]
    audit_log: Option<PathBuf>,
    /// Phone numbers written without a country code are read as numbers of this region (two
    /// letters, ISO 3166, e.g. `US`, `GB`, `DE`); without it such numbers are tokenized as written.
    default_region: Option<String>,
    /// Free-form UEM attributes and SIEM fields, by name, that hold personal data, with the kind
    /// of each, e.g. `"Employee ID" = "identifier"`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Kind>")]
    fields: BTreeMap<String, Kind>,
    /// Detectors run on free text (messages, descriptions) to find personal data inside it.
    #[schemars(extend("default" = ["email", "phone"]))]
    detect: Option<Vec<Detector>>,
}

/// Who this connector is.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    /// The connector's name in logs, metrics and the dashboard; give the two of an HA pair
    /// different names.
    #[schemars(extend("x-default" = "the host name"))]
    name: Option<String>,
    /// The folder plugin files (`plugin = "…"` of an instance) are found in.
    #[schemars(extend("default" = DEFAULT_PLUGIN_DIR))]
    plugin_dir: Option<PathBuf>,
}

/// Limits of the plugin runtime, for all instances together.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    /// Plugin sandboxes that may run at once, all instances together (1 to 1024). Calls beyond
    /// wait for a free sandbox.
    #[schemars(extend("default" = DEFAULT_RUNTIME_CONCURRENCY))]
    max_concurrent_calls: Option<u32>,
    /// The most linear memory any one instance may be given (`memory` of an instance above it is
    /// an error).
    #[schemars(with = "Option<schema::ByteSizeText>", extend("default" = schema::bytes(DEFAULT_MAX_MEMORY)))]
    max_memory: Option<ByteSize>,
}

/// One plugin instance: a WebAssembly component, the world it must implement, its limits, and
/// exactly what it is granted. A plugin reaches nothing it is not granted here.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    /// The component file, relative to `[connector] plugin_dir` (or absolute). Replacing the file
    /// hot-swaps the instance; a `.sig` beside it is its signature.
    plugin: PathBuf,
    /// The world the component must implement; a component of another world is refused.
    kind: PluginKind,
    /// Each call into the plugin is stopped after this long (at most 1h).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<schema::DurationText>", extend("default" = schema::duration(DEFAULT_DEADLINE)))]
    deadline: Option<Duration>,
    /// Linear memory limit of each call (at least 1MiB, at most `[runtime] max_memory`).
    #[schemars(with = "Option<schema::ByteSizeText>", extend("default" = schema::bytes(DEFAULT_MEMORY)))]
    memory: Option<ByteSize>,
    /// Calls of this instance at once; more wait (they also count against
    /// `[runtime] max_concurrent_calls`).
    #[schemars(extend("default" = DEFAULT_INSTANCE_CONCURRENCY))]
    max_concurrent_calls: Option<u32>,
    /// A PEM file of the CAs the plugin's HTTPS and TLS connections trust, instead of the
    /// system's. Certificates are always verified.
    #[schemars(extend("x-default" = "the system's trusted CAs"))]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    grants: RawGrants,
    /// Settings the plugin reads (`config::load` in the SDK): any TOML, as the plugin's own
    /// documentation describes. Never put secrets here: use `secrets`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, schema::AnyValue>")]
    config: toml::Table,
    /// Secrets the plugin reads, by name, each from a file or an environment variable of the
    /// connector. They never appear in logs: the connector scrubs them from the plugin's output.
    #[serde(default)]
    secrets: BTreeMap<String, SecretRef>,
}

/// What an instance may reach over the network. Empty by default: a plugin without grants
/// cannot connect anywhere.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    /// Origins the plugin may send HTTP requests to: scheme, host and optional port, e.g.
    /// `https://services.fiberlink.com` or `https://*.maas360.com` (any subdomain).
    #[serde(default)]
    http: Vec<String>,
    /// `host:port` TCP streams the plugin may open (e.g. `smtp.corp.example:587`), with or
    /// without TLS; `*.corp.example:587` allows any subdomain.
    #[serde(default)]
    net: Vec<String>,
}

// ----- Loading -----

impl Config {
    /// Reads and validates `file`. Any error refuses the whole config.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                key: KeyPath::root(),
                message: format!("cannot be read: {e}"),
            }],
        })?;
        Self::validate(file, &text, true)
    }

    /// Validates `text` as if read from `file` (which places relative paths). Unlike
    /// [`Config::load`], it does not probe whether the connector could write where it will.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        Self::validate(file, text, false)
    }

    fn validate(file: &Path, text: &str, probe_writes: bool) -> Result<Config, ConfigError> {
        let index = SourceIndex::parse(file, text).map_err(|d| ConfigError { diagnostics: vec![d] })?;
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError { diagnostics: vec![index.from_de_error(&e)] })?;
        let mut validator = Validator { index: &index, diagnostics: Vec::new() };
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let config = validator.config(file, &base, raw);
        if let Some(config) = config.as_ref().filter(|_| probe_writes) {
            validator.writable_paths(config);
        }
        let (errors, warnings): (Vec<_>, Vec<_>) =
            validator.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
        match config {
            Some(mut config) if errors.is_empty() => {
                config.warnings = warnings;
                Ok(config)
            }
            _ => Err(ConfigError { diagnostics: errors.into_iter().chain(warnings).collect() }),
        }
    }
}

impl Config {
    /// The error for a config without `[pii]`, which `run` and `check` need: without a keyring no
    /// personal data can leave, so the connector would have nothing safe to do.
    pub fn missing_pii(&self) -> Option<Diagnostic> {
        self.pii.is_none().then(|| Diagnostic {
            severity: Severity::Error,
            file: self.file.clone(),
            line: 1,
            column: 1,
            key: KeyPath::root().key("pii"),
            message: "missing: add a [pii] section with `keyring = \"PATH\"` (create the keyring with `connector keys generate PATH`)".into(),
        })
    }
}

/// A diagnostic about `key` of the config `file`, placed on its line: for problems found after
/// loading, such as a plugin file that fails to compile (reported at `instances.NAME.plugin`).
pub fn locate(file: &Path, severity: Severity, key: KeyPath, message: impl Into<String>) -> Diagnostic {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    match SourceIndex::parse(file, &text) {
        Ok(index) => index.at_key(severity, key, message),
        Err(_) => Diagnostic { severity, file: file.to_path_buf(), line: 0, column: 0, key, message: message.into() },
    }
}

/// Checks the parsed file and collects every problem with its key.
struct Validator<'a> {
    index: &'a SourceIndex<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, key: KeyPath, message: impl Into<String>) {
        let diagnostic = self.index.at_key(Severity::Error, key, message);
        self.diagnostics.push(diagnostic);
    }

    fn warning(&mut self, key: KeyPath, message: impl Into<String>) {
        let diagnostic = self.index.at_key(Severity::Warning, key, message);
        self.diagnostics.push(diagnostic);
    }

    fn config(&mut self, file: &Path, base: &Path, raw: RawConfig) -> Option<Config> {
        let connector = ConnectorSettings {
            name: raw.connector.name.unwrap_or_else(default_connector_name),
            plugin_dir: base.join(raw.connector.plugin_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_PLUGIN_DIR))),
        };
        let runtime = self.runtime(raw.runtime);
        let declared: BTreeMap<String, PluginKind> = raw.instances.iter().map(|(n, i)| (n.clone(), i.kind)).collect();
        let mut instances = BTreeMap::new();
        for (name, raw_instance) in raw.instances {
            let key = KeyPath::root().key("instances").key(&name);
            let name = match InstanceName::new(name) {
                Ok(name) => name,
                Err(e) => {
                    self.error(key, e.to_string());
                    continue;
                }
            };
            if let Some(instance) = self.instance(&key, base, &connector, &runtime, raw_instance) {
                instances.insert(name, instance);
            }
        }
        let pii = raw.pii.and_then(|raw| self.pii(base, raw));
        let relay = raw.relay.and_then(|raw| self.relay(base, raw));
        let plugins = self.plugins(base, raw.plugins);
        let admin = raw.admin.and_then(|admin| match admin.listen.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.error(
                    KeyPath::root().key("admin").key("listen"),
                    format!("`{}` is not an address:port (e.g. \"127.0.0.1:9464\")", admin.listen),
                );
                None
            }
        });
        let local_proxy = raw.local_proxy.and_then(|raw| self.local_proxy(base, raw, relay.as_ref()));
        let siem = raw.siem.and_then(|raw| self.siem(base, raw)).filter(|siem| self.formatters_exist(siem, &declared));
        Some(Config {
            file: file.to_path_buf(),
            connector,
            runtime,
            instances,
            pii,
            relay,
            plugins,
            admin,
            local_proxy,
            siem,
            store_dir: base.join(raw.store.map_or_else(|| PathBuf::from(DEFAULT_STORE_DIR), |s| s.dir)),
            mail: self.mail(raw.mail),
            warnings: Vec::new(),
        })
    }

    /// Warns about each place the connector writes (the store when it is used, the plugin cache,
    /// the local proxy's audit log and certificate folder) that this process cannot write.
    fn writable_paths(&mut self, config: &Config) {
        // The store is opened only for the relay (the mail outbox) and SIEM queues.
        if config.relay.is_some() || config.siem.is_some() {
            self.writable(KeyPath::root().key("store").key("dir"), &config.store_dir, writable::check_dir);
        }
        self.writable(KeyPath::root().key("plugins").key("cache_dir"), &config.plugins.cache_dir, writable::check_dir);
        if let Some(proxy) = &config.local_proxy {
            let key = KeyPath::root().key("local_proxy");
            self.writable(key.key("audit_log"), &proxy.audit_log, writable::check_file);
            if let local_proxy::CertificateSource::SelfSigned { dir } = &proxy.certificate {
                self.writable(key.key("tls_dir"), dir, writable::check_dir);
            }
        }
    }

    /// Warns when `check` says the connector could not write `path`: the service would fail
    /// there later, with less of a hint.
    fn writable(&mut self, key: KeyPath, path: &Path, check: fn(&Path) -> Result<(), String>) {
        if let Err(reason) = check(path) {
            self.warning(
                key,
                format!(
                    "the connector writes to {} but {reason}; under the packaged service only /var/lib/msc is writable",
                    path.display()
                ),
            );
        }
    }

    /// Every SIEM target's formatter is a configured instance of kind `siem`.
    fn formatters_exist(&mut self, siem: &SiemConfig, declared: &BTreeMap<String, PluginKind>) -> bool {
        let mut ok = true;
        for (name, target) in &siem.targets {
            let key = KeyPath::root().key("siem").key("targets").key(name).key("formatter");
            match declared.get(target.formatter.as_str()) {
                Some(PluginKind::Siem) => {}
                Some(kind) => {
                    self.error(
                        key,
                        format!("instance `{}` is a {} plugin, not a siem formatter", target.formatter, kind.as_str()),
                    );
                    ok = false;
                }
                None => {
                    self.error(
                        key,
                        format!(
                            "no instance named `{}` (add [instances.{}] with kind = \"siem\")",
                            target.formatter, target.formatter
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    fn pii(&mut self, base: &Path, raw: RawPii) -> Option<PiiConfig> {
        let key = KeyPath::root().key("pii");
        let keyring_file = base.join(&raw.keyring);
        let keyring = match Keyring::load(&keyring_file) {
            Ok(keyring) => Some(keyring),
            Err(e) => {
                self.error(key.key("keyring"), e.to_string());
                None
            }
        };
        let default_region = match raw.default_region {
            Some(region) => match region.trim().to_ascii_uppercase().parse::<phonenumber::country::Id>() {
                Ok(id) => Some(id),
                Err(_) => {
                    self.error(
                        key.key("default_region"),
                        format!("`{region}` is not a two-letter region code (ISO 3166, e.g. US, GB, DE)"),
                    );
                    None
                }
            },
            None => None,
        };
        let audit_log = match raw.audit_log {
            Some(path) => base.join(path),
            None => keyring_file.with_file_name(DEFAULT_PII_AUDIT_LOG),
        };
        Some(PiiConfig {
            keyring_file,
            keyring: keyring?,
            audit_log,
            default_region,
            fields: raw.fields.into_iter().collect(),
            detect: raw.detect.unwrap_or_else(|| vec![Detector::Email, Detector::Phone]),
        })
    }

    fn runtime(&mut self, raw: RawRuntime) -> RuntimeSettings {
        let key = KeyPath::root().key("runtime");
        let mut settings = RuntimeSettings::default();
        if let Some(n) = raw.max_concurrent_calls {
            if n == 0 || n > MAX_RUNTIME_CONCURRENCY {
                self.error(key.key("max_concurrent_calls"), format!("must be between 1 and {MAX_RUNTIME_CONCURRENCY}"));
            } else {
                settings.max_concurrent_calls = n;
            }
        }
        if let Some(max) = raw.max_memory {
            if max.as_u64() < MIN_MEMORY {
                self.error(key.key("max_memory"), "must be at least 1MiB");
            } else {
                settings.max_memory = max.as_u64();
            }
        }
        settings
    }

    fn instance(
        &mut self,
        key: &KeyPath,
        base: &Path,
        connector: &ConnectorSettings,
        runtime: &RuntimeSettings,
        raw: RawInstance,
    ) -> Option<InstanceConfig> {
        let errors_before = self.error_count();

        let plugin = connector.plugin_dir.join(&raw.plugin);
        if !plugin.is_file() {
            self.error(key.key("plugin"), format!("plugin file {} does not exist", plugin.display()));
        }

        let limits = self.limits(key, runtime, &raw);

        let mut http = Vec::new();
        for (i, grant) in raw.grants.http.iter().enumerate() {
            let grant_key = key.key("grants").key("http").index(i);
            match HttpGrant::parse(grant) {
                Ok(g) => {
                    if !g.tls {
                        self.warning(
                            grant_key,
                            format!("`{grant}` is plaintext HTTP: credentials and data cross the network unencrypted"),
                        );
                    }
                    http.push(g);
                }
                Err(e) => self.error(grant_key, e.to_string()),
            }
        }
        let mut net = Vec::new();
        for (i, grant) in raw.grants.net.iter().enumerate() {
            match NetGrant::parse(grant) {
                Ok(g) => net.push(g),
                Err(e) => self.error(key.key("grants").key("net").index(i), e.to_string()),
            }
        }

        let ca_file = raw.ca_file.map(|f| base.join(f));
        let tls = match tls::client_config(ca_file.as_deref()) {
            Ok(tls) => Some(tls),
            Err(e) => {
                let at = if ca_file.is_some() { key.key("ca_file") } else { key.clone() };
                self.error(at, e.to_string());
                None
            }
        };

        let mut secrets = BTreeMap::new();
        for (name, secret) in &raw.secrets {
            let secret_key = key.key("secrets").key(name);
            match secret.resolve(base) {
                Ok(resolved) => {
                    if let Some(warning) = resolved.warning {
                        self.warning(secret_key, warning);
                    }
                    secrets.insert(name.clone(), resolved.value);
                }
                Err(e) => self.error(secret_key, e.to_string()),
            }
        }

        if self.error_count() > errors_before {
            return None;
        }
        Some(InstanceConfig {
            kind: raw.kind,
            plugin,
            limits,
            http,
            net,
            ca_file,
            tls: tls?,
            settings: Settings::from_toml(&raw.config),
            secrets: Secrets::new(secrets.into_iter().collect::<BTreeMap<String, SecretString>>()),
        })
    }

    fn limits(&mut self, key: &KeyPath, runtime: &RuntimeSettings, raw: &RawInstance) -> InstanceLimits {
        let mut limits = InstanceLimits::default();
        if let Some(deadline) = raw.deadline {
            if deadline < Duration::from_millis(10) {
                self.error(key.key("deadline"), "must be at least 10ms");
            } else if deadline > MAX_DEADLINE {
                self.error(key.key("deadline"), "must be at most 1h: a plugin call holds a sandbox while it runs");
            } else {
                limits.deadline = deadline;
            }
        }
        let memory = raw.memory.map_or(DEFAULT_MEMORY.min(runtime.max_memory), |m| m.as_u64());
        if memory < MIN_MEMORY {
            self.error(key.key("memory"), "must be at least 1MiB");
        } else if memory > runtime.max_memory {
            self.error(
                key.key("memory"),
                format!("{} is more than runtime.max_memory ({})", ByteSize(memory), ByteSize(runtime.max_memory)),
            );
        }
        limits.memory = memory;
        if let Some(n) = raw.max_concurrent_calls {
            if n == 0 || n > runtime.max_concurrent_calls {
                self.error(
                    key.key("max_concurrent_calls"),
                    format!("must be between 1 and runtime.max_concurrent_calls ({})", runtime.max_concurrent_calls),
                );
            } else {
                limits.max_concurrent_calls = n;
            }
        } else {
            limits.max_concurrent_calls = limits.max_concurrent_calls.min(runtime.max_concurrent_calls);
        }
        limits
    }

    fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }
}

fn default_connector_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "connector".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    fn errors(result: Result<Config, ConfigError>) -> Vec<String> {
        result.expect_err("config must be refused").errors().map(|d| d.to_string()).collect()
    }

    #[test]
    fn paths_the_connector_cannot_write_are_warned_about_at_their_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Even root cannot create files in /proc: the stand-in for a read-only /etc under the service.
        let file = write(dir.path(), "connector.toml", "[plugins]\ncache_dir = \"/proc/msc-cache\"\n");
        let config = Config::load(&file).expect("a warning, not an error");
        let warnings: Vec<String> = config.warnings.iter().map(|d| d.to_string()).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("connector.toml:2:13: warning: plugins.cache_dir: the connector writes to /proc/msc-cache but /proc is not writable"),
            "{warnings:?}"
        );
        assert!(warnings[0].ends_with("under the packaged service only /var/lib/msc is writable"), "{warnings:?}");
    }

    #[test]
    fn loads_a_full_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "plugins/maas360.wasm", "");
        let pw = write(dir.path(), "secrets/pw", "hunter2\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let file = write(
            dir.path(),
            "connector.toml",
            r#"
[connector]
name = "hq-1"

[instances.maas360]
plugin = "maas360.wasm"
kind = "uem"
deadline = "45s"
memory = "32MiB"

[instances.maas360.grants]
http = ["https://services.fiberlink.com"]
net = ["smtp.corp.example:587"]

[instances.maas360.config]
billing_id = "30012345"

[instances.maas360.secrets]
password = { file = "secrets/pw" }
"#,
        );
        let config = Config::load(&file).expect("valid");
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let instance = &config.instances[&InstanceName::new("maas360").expect("valid")];
        assert_eq!(instance.kind, PluginKind::Uem);
        assert_eq!(instance.limits.deadline, Duration::from_secs(45));
        assert_eq!(instance.limits.memory, 32 * 1024 * 1024);
        assert_eq!(instance.http.len(), 1);
        assert_eq!(instance.settings.get("billing_id"), Some("30012345"));
        assert_eq!(instance.secrets.names().collect::<Vec<_>>(), ["password"]);
        assert_eq!(instance.plugin, dir.path().join("plugins/maas360.wasm"));
    }

    #[test]
    fn reports_every_problem_with_line_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(
            dir.path(),
            "c.toml",
            r#"[instances.maas360]
plugin = "missing.wasm"
kind = "uem"
memory = "1GiB"
deadline = "500000000000years"

[instances.maas360.grants]
http = ["https://ok.example", "ftp://bad.example"]

[instances.maas360.secrets]
password = { env = "MSC_TEST_SURELY_UNSET_VARIABLE" }
"#,
        );
        let found = errors(Config::load(&file));
        let file = file.display();
        assert_eq!(
            found,
            [
                format!(
                    "{file}:2:10: instances.maas360.plugin: plugin file {}/plugins/missing.wasm does not exist",
                    dir.path().display()
                ),
                format!(
                    "{file}:5:12: instances.maas360.deadline: must be at most 1h: a plugin call holds a sandbox while it runs"
                ),
                format!("{file}:4:10: instances.maas360.memory: 1.0 GiB is more than runtime.max_memory (256.0 MiB)"),
                format!(
                    "{file}:8:31: instances.maas360.grants.http[1]: `ftp://bad.example`: only http and https origins can be granted"
                ),
                format!(
                    "{file}:11:12: instances.maas360.secrets.password: environment variable `MSC_TEST_SURELY_UNSET_VARIABLE` is not set"
                ),
            ]
        );
    }

    #[test]
    fn serde_errors_name_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(dir.path(), "c.toml", "[instances.a]\nplugin = \"a.wasm\"\nkind = \"ldap\"\n");
        let found = errors(Config::load(&file));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with(&format!("{}:3:8: instances.a.kind: unknown variant `ldap`", file.display())),
            "{}",
            found[0]
        );

        let file = write(dir.path(), "d.toml", "[runtime]\nmax_concurent_calls = 3\n");
        let found = errors(Config::load(&file));
        assert!(
            found[0].starts_with(&format!("{}:2:1: runtime.max_concurent_calls: unknown field", file.display())),
            "{}",
            found[0]
        );

        let file = write(dir.path(), "e.toml", "[instances.a]\nkind = \"uem\"\n");
        let found = errors(Config::load(&file));
        assert!(found[0].contains("missing field `plugin`"), "{}", found[0]);
        assert!(found[0].starts_with(&format!("{}:1:", file.display())), "{}", found[0]);
    }

    #[test]
    fn pii_section_errors_point_at_their_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(
            dir.path(),
            "c.toml",
            "[pii]\nkeyring = \"missing.keyring\"\ndefault_region = \"Atlantis\"\n\n[pii.fields]\n\"Employee ID\" = \"identifier\"\n",
        );
        let found = errors(Config::load(&file));
        let file_name = file.display();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(&format!("{file_name}:2:11: pii.keyring: keyring ")), "{}", found[0]);
        assert!(found[1].starts_with(&format!("{file_name}:3:18: pii.default_region: `Atlantis`")), "{}", found[1]);

        let bad_kind = write(dir.path(), "d.toml", "[pii]\nkeyring = \"k\"\n[pii.fields]\nManager = \"boss\"\n");
        let found = errors(Config::load(&bad_kind));
        assert!(found[0].contains("pii.fields.Manager: unknown PII kind `boss`"), "{}", found[0]);
    }

    #[test]
    fn bad_instance_names_and_missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "plugins/a.wasm", "");
        let file = write(dir.path(), "c.toml", "[instances.\"Bad Name\"]\nplugin = \"a.wasm\"\nkind = \"uem\"\n");
        let found = errors(Config::load(&file));
        assert!(found[0].contains("instances.Bad Name: instance name `Bad Name` is not valid"), "{}", found[0]);

        let found = errors(Config::load(&dir.path().join("nope.toml")));
        assert!(found[0].contains("nope.toml: cannot be read"), "{}", found[0]);
    }
}
