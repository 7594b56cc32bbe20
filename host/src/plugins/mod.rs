//! The plugin runtime: every configured plugin instance, loaded into one engine and called through
//! typed clients ([`PluginRuntime::uem`], [`PluginRuntime::siem`], [`PluginRuntime::mail`]).
//!
//! Each call runs in a fresh sandbox from a pre-linked component: no state survives a call except
//! what the instance's key-value store holds, and no instance can see another's grants.

pub mod bindings;
pub mod component;
pub mod engine;
pub mod error;
pub mod instance;
pub mod store;
pub mod worlds;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::capabilities::InstanceCapabilities;
use crate::capabilities::http::HttpEgress;
use crate::capabilities::kv::KvStore;
use crate::capabilities::net::NetEgress;
use crate::config::{Config, InstanceConfig};
use crate::ids::{InstanceName, PluginKind};
use crate::pii::PiiFilter;
pub use component::LoadedPlugin;
pub use engine::PluginEngine;
pub use error::{LoadError, LookupError, PluginError, PluginFault, RuntimeError};
pub use instance::PluginInstance;
pub use worlds::{CallError, mail::Mail, siem::Siem, uem::Uem};

pub struct PluginRuntime {
    engine: Arc<PluginEngine>,
    instances: BTreeMap<InstanceName, Arc<PluginInstance>>,
    pii: Option<Arc<PiiFilter>>,
}

impl PluginRuntime {
    /// Loads every instance of `config`. Plugin files are compiled once each, off the async
    /// runtime. Every instance that cannot be loaded is reported, not just the first.
    pub async fn start(config: Config) -> Result<Self, RuntimeError> {
        let engine = Arc::new(PluginEngine::new(config.runtime)?);
        let pii = config.pii.map(|pii| Arc::new(pii.into_filter()));
        let mut compiled: HashMap<(PathBuf, PluginKind), Result<Arc<LoadedPlugin>, LoadError>> = HashMap::new();
        let mut instances = BTreeMap::new();
        let mut failures = Vec::new();
        for (name, instance) in config.instances {
            let key = (instance.plugin.clone(), instance.kind);
            if !compiled.contains_key(&key) {
                let loaded = load_blocking(engine.clone(), key.0.clone(), key.1).await;
                compiled.insert(key.clone(), loaded);
            }
            match &compiled[&key] {
                Ok(plugin) => {
                    let instance = build_instance(&engine, name.clone(), plugin.clone(), instance, pii.clone());
                    tracing::info!(
                        instance = %name,
                        kind = %plugin.kind,
                        plugin = %plugin.path.display(),
                        sha256 = %&plugin.sha256[..16],
                        "plugin instance ready"
                    );
                    instances.insert(name, Arc::new(instance));
                }
                Err(error) => failures.push((name, error.clone())),
            }
        }
        if !failures.is_empty() {
            return Err(RuntimeError::Instances(failures));
        }
        Ok(Self { engine, instances, pii })
    }

    /// The PII filter, when the config has a `[pii]` section.
    pub fn pii(&self) -> Option<&Arc<PiiFilter>> {
        self.pii.as_ref()
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub fn instances(&self) -> impl Iterator<Item = &Arc<PluginInstance>> {
        self.instances.values()
    }

    pub fn instance(&self, name: &str) -> Result<&Arc<PluginInstance>, LookupError> {
        InstanceName::new(name)
            .ok()
            .and_then(|n| self.instances.get(&n))
            .ok_or_else(|| LookupError::Unknown(name.to_string()))
    }

    /// The UEM adapter instance `name`.
    pub fn uem(&self, name: &str) -> Result<Uem<'_>, LookupError> {
        self.of_kind(name, PluginKind::Uem).map(Uem::new)
    }

    /// The SIEM formatter instance `name`.
    pub fn siem(&self, name: &str) -> Result<Siem<'_>, LookupError> {
        self.of_kind(name, PluginKind::Siem).map(Siem::new)
    }

    /// The mail backend instance `name`.
    pub fn mail(&self, name: &str) -> Result<Mail<'_>, LookupError> {
        self.of_kind(name, PluginKind::Mail).map(Mail::new)
    }

    fn of_kind(&self, name: &str, expected: PluginKind) -> Result<&PluginInstance, LookupError> {
        let instance = self.instance(name)?;
        if instance.kind() != expected {
            return Err(LookupError::WrongKind { name: instance.name().clone(), expected, actual: instance.kind() });
        }
        Ok(instance)
    }
}

async fn load_blocking(
    engine: Arc<PluginEngine>,
    path: PathBuf,
    kind: PluginKind,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    let failed_path = path.clone();
    tokio::task::spawn_blocking(move || component::load(&engine, &path, kind).map(Arc::new))
        .await
        .unwrap_or_else(|e| Err(LoadError::Invalid { path: failed_path, reason: format!("compilation crashed: {e}") }))
}

fn build_instance(
    engine: &Arc<PluginEngine>,
    name: InstanceName,
    plugin: Arc<LoadedPlugin>,
    config: InstanceConfig,
    pii: Option<Arc<PiiFilter>>,
) -> PluginInstance {
    let InstanceConfig { limits, http, net, tls, settings, secrets, .. } = config;
    let capabilities = InstanceCapabilities {
        http: Arc::new(HttpEgress::new(name.clone(), http, tls.clone())),
        net: NetEgress::new(name.clone(), net, tls),
        kv: KvStore::default(),
        settings,
        secrets,
        name,
        pii,
    };
    PluginInstance::new(engine.clone(), plugin, capabilities, limits)
}
