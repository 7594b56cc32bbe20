//! The plugin runtime: every configured plugin instance, loaded into one engine and called through
//! typed clients ([`PluginRuntime::uem`], [`PluginRuntime::siem`], [`PluginRuntime::mail`]).
//!
//! Each call runs in a fresh sandbox from a pre-linked component: no state survives a call except
//! what the instance's key-value store holds, and no instance can see another's grants.

pub mod bindings;
pub mod cache;
pub mod component;
pub mod engine;
pub mod error;
pub mod inspect;
pub mod instance;
pub mod lifecycle;
pub mod self_test;
pub mod signature;
pub mod store;
pub mod watch;
pub mod worlds;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::capabilities::InstanceCapabilities;
use crate::capabilities::http::HttpEgress;
use crate::capabilities::kv::KvStore;
use crate::capabilities::net::NetEgress;
use crate::config::{Config, InstanceConfig, PluginsConfig};
use crate::ids::{InstanceName, PluginKind};
use crate::pii::PiiFilter;
use cache::CompiledCache;
pub use component::LoadedPlugin;
pub use engine::PluginEngine;
pub use error::{LoadError, LookupError, PluginError, PluginFault, RuntimeError};
pub use instance::PluginInstance;
use signature::{SignaturePolicy, TrustedPublishers};
pub use worlds::{CallError, mail::Mail, siem::Siem, uem::Uem};

pub struct PluginRuntime {
    engine: Arc<PluginEngine>,
    /// Replaced whole when the config is reloaded; a caller holding an instance keeps it until
    /// its call ends.
    instances: RwLock<Arc<Instances>>,
    pii: Option<Arc<PiiFilter>>,
    /// Replaced on a config reload.
    admission: RwLock<Admission>,
    /// Held for the whole of each reload (plugin or config), so they apply one at a time.
    pub(crate) reloading: tokio::sync::Mutex<()>,
    /// What happened to each instance's plugin: serving, or the last version refused and why.
    status: Mutex<BTreeMap<InstanceName, PluginStatus>>,
}

pub type Instances = BTreeMap<InstanceName, Arc<PluginInstance>>;

/// An instance's plugin as an admin sees it (`/healthz`, `connector plugins list`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PluginStatus {
    pub instance: String,
    pub kind: &'static str,
    pub plugin: PathBuf,
    /// The version serving calls.
    pub sha256: String,
    /// Who signed it, when the signature was verified.
    pub publisher: Option<String>,
    /// Why the last version offered was refused (the previous one kept serving).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The file is gone; the loaded version serves until the config drops the instance.
    pub file_missing: bool,
    pub reloads: u64,
    /// The serving version's last self-test; `None` until one has run since the config was
    /// (re)loaded.
    pub self_test: Option<self_test::SelfTestStatus>,
}

impl PluginRuntime {
    /// Loads every instance of `config`. Plugin files are compiled once each, off the async
    /// runtime. Every instance that cannot be loaded is reported, not just the first.
    pub async fn start(config: Config) -> Result<Self, RuntimeError> {
        let engine = Arc::new(PluginEngine::new(config.runtime)?);
        let pii = config.pii.map(|pii| Arc::new(pii.into_filter()));
        let admission = Admission::of(&config.plugins);
        let instances = build_instances(&engine, config.instances, pii.clone(), &Instances::new(), &admission).await?;
        let runtime = Self {
            engine,
            instances: RwLock::new(Arc::new(Instances::new())),
            pii,
            admission: RwLock::new(admission),
            reloading: tokio::sync::Mutex::new(()),
            status: Mutex::default(),
        };
        runtime.install(instances);
        Ok(runtime)
    }

    /// Makes `instances` the set new calls use, and resets their status.
    pub(crate) fn install(&self, instances: Instances) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = std::mem::take(&mut *status);
        for (name, instance) in &instances {
            let plugin = instance.plugin();
            let reloads = previous.get(name).map_or(0, |s| s.reloads);
            status.insert(
                name.clone(),
                PluginStatus {
                    instance: name.to_string(),
                    kind: instance.kind().as_str(),
                    plugin: plugin.path.clone(),
                    sha256: plugin.sha256.clone(),
                    publisher: plugin.publisher.clone(),
                    refused: None,
                    file_missing: false,
                    reloads,
                    self_test: None,
                },
            );
        }
        *self.instances.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(instances);
    }

    /// Updates the status of `name`.
    pub(crate) fn set_status(&self, name: &InstanceName, update: impl FnOnce(&mut PluginStatus)) {
        if let Some(status) = self.status.lock().unwrap_or_else(PoisonError::into_inner).get_mut(name) {
            update(status);
        }
    }

    /// Every instance's plugin status, by name.
    pub fn status(&self) -> Vec<PluginStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    /// The PII filter, when the config has a `[pii]` section.
    pub fn pii(&self) -> Option<&Arc<PiiFilter>> {
        self.pii.as_ref()
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub(crate) fn shared_engine(&self) -> &Arc<PluginEngine> {
        &self.engine
    }

    pub(crate) fn admission(&self) -> Admission {
        self.admission.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn set_admission(&self, admission: Admission) {
        *self.admission.write().unwrap_or_else(PoisonError::into_inner) = admission;
    }

    /// The instances now: a snapshot that a reload does not change.
    pub fn instances(&self) -> Arc<Instances> {
        self.instances.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn instance(&self, name: &str) -> Result<Arc<PluginInstance>, LookupError> {
        InstanceName::new(name)
            .ok()
            .and_then(|n| self.instances().get(&n).cloned())
            .ok_or_else(|| LookupError::Unknown(name.to_string()))
    }

    /// The UEM adapter instance `name`.
    pub fn uem(&self, name: &str) -> Result<Uem, LookupError> {
        self.of_kind(name, PluginKind::Uem).map(Uem::new)
    }

    /// The SIEM formatter instance `name`.
    pub fn siem(&self, name: &str) -> Result<Siem, LookupError> {
        self.of_kind(name, PluginKind::Siem).map(Siem::new)
    }

    /// The mail backend instance `name`.
    pub fn mail(&self, name: &str) -> Result<Mail, LookupError> {
        self.of_kind(name, PluginKind::Mail).map(Mail::new)
    }

    fn of_kind(&self, name: &str, expected: PluginKind) -> Result<Arc<PluginInstance>, LookupError> {
        let instance = self.instance(name)?;
        if instance.kind() != expected {
            return Err(LookupError::WrongKind { name: instance.name().clone(), expected, actual: instance.kind() });
        }
        Ok(instance)
    }
}

/// Builds the instances of a config. Plugin files are compiled once each (and not at all when
/// `current` already runs the same file contents), off the async runtime; an instance that keeps
/// its name keeps its key-value store. Every instance that cannot be loaded is reported.
pub(crate) async fn build_instances(
    engine: &Arc<PluginEngine>,
    configs: BTreeMap<InstanceName, InstanceConfig>,
    pii: Option<Arc<PiiFilter>>,
    current: &Instances,
    admission: &Admission,
) -> Result<Instances, RuntimeError> {
    let mut compiled: HashMap<(PathBuf, PluginKind), Result<Arc<LoadedPlugin>, LoadError>> = HashMap::new();
    let mut instances = Instances::new();
    let mut failures = Vec::new();
    for (name, instance) in configs {
        let key = (instance.plugin.clone(), instance.kind);
        if !compiled.contains_key(&key) {
            let loaded = match reusable(current, &key.0, key.1, admission).await {
                Some(kept) => kept,
                None => load_blocking(engine.clone(), key.0.clone(), key.1, admission.clone()).await,
            };
            compiled.insert(key.clone(), loaded);
        }
        match &compiled[&key] {
            Ok(plugin) => {
                let kv = current.get(&name).map(|i| i.shared_capabilities().kv.clone());
                let built = build_instance(engine, name.clone(), plugin.clone(), instance, pii.clone(), kv);
                tracing::info!(
                    instance = %name,
                    kind = %plugin.kind,
                    plugin = %plugin.path.display(),
                    sha256 = %&plugin.sha256[..16],
                    "plugin instance ready"
                );
                instances.insert(name, Arc::new(built));
            }
            Err(error) => failures.push((name, error.clone())),
        }
    }
    if !failures.is_empty() {
        return Err(RuntimeError::Instances(failures));
    }
    Ok(instances)
}

/// The version `current` serves from `path`, if any: a config reload keeps it (a changed file
/// is swapped in by `reload_plugin`, after its checks and self-test, never by a config reload).
/// It must still meet `admission`, which the new config may have tightened.
async fn reusable(
    current: &Instances,
    path: &std::path::Path,
    kind: PluginKind,
    admission: &Admission,
) -> Option<Result<Arc<LoadedPlugin>, LoadError>> {
    let plugin = current.values().map(|i| i.plugin()).find(|p| p.path == path && p.kind == kind)?;
    let serving_bytes = tokio::fs::read(path).await.ok().filter(|b| component::sha256_hex(b) == plugin.sha256);
    let verdict = match serving_bytes {
        Some(bytes) => signature::check(path, &bytes, admission.signatures, &admission.trusted).map(drop),
        // The file changed since: judge the serving version by who signed it.
        None => match (&plugin.publisher, admission.signatures) {
            (Some(publisher), _) if admission.trusted.get(publisher).is_none() => {
                Err(signature::SignatureError::UnknownPublisher { publisher: publisher.clone() })
            }
            (None, SignaturePolicy::Require) => Err(signature::SignatureError::Unsigned),
            _ => Ok(()),
        },
    };
    Some(verdict.map(|()| plugin).map_err(|error| LoadError::Signature { path: path.to_path_buf(), error }))
}

/// How plugin files are admitted: the signature policy and trusted publishers, and where
/// compiled artifacts are kept (`[plugins]`).
#[derive(Clone)]
pub(crate) struct Admission {
    pub signatures: SignaturePolicy,
    pub trusted: TrustedPublishers,
    pub cache: CompiledCache,
}

impl Admission {
    pub(crate) fn of(config: &PluginsConfig) -> Self {
        Self {
            signatures: config.signatures,
            trusted: config.trusted.clone(),
            cache: CompiledCache::new(config.cache_dir.clone()),
        }
    }
}

/// Reads `path`, checks its signature under `admission`, and compiles it (or takes it from the
/// compiled cache), off the async runtime.
async fn load_blocking(
    engine: Arc<PluginEngine>,
    path: PathBuf,
    kind: PluginKind,
    admission: Admission,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    let failed_path = path.clone();
    tokio::task::spawn_blocking(move || {
        let bytes =
            std::fs::read(&path).map_err(|e| LoadError::Unreadable { path: path.clone(), reason: e.to_string() })?;
        let verified = signature::check(&path, &bytes, admission.signatures, &admission.trusted)
            .map_err(|error| LoadError::Signature { path: path.clone(), error })?;
        // Exactly the bytes whose signature was checked are compiled.
        let mut plugin = component::load_bytes(&engine, &path, &bytes, kind, Some(&admission.cache))?;
        plugin.publisher = verified.map(|v| v.publisher);
        Ok(Arc::new(plugin))
    })
    .await
    .unwrap_or_else(|e| Err(LoadError::Invalid { path: failed_path, reason: format!("compilation crashed: {e}") }))
}

fn build_instance(
    engine: &Arc<PluginEngine>,
    name: InstanceName,
    plugin: Arc<LoadedPlugin>,
    config: InstanceConfig,
    pii: Option<Arc<PiiFilter>>,
    kv: Option<Arc<KvStore>>,
) -> PluginInstance {
    let InstanceConfig { limits, http, net, tls, settings, secrets, .. } = config;
    let capabilities = InstanceCapabilities {
        http: Arc::new(HttpEgress::new(name.clone(), http, tls.clone())),
        net: NetEgress::new(name.clone(), net, tls),
        kv: kv.unwrap_or_default(),
        settings,
        secrets,
        name,
        pii,
    };
    PluginInstance::new(engine.clone(), plugin, capabilities, limits)
}
