//! Plugins and config changing under a running connector.
//!
//! A changed plugin file is read, checked and compiled off the async runtime, self-tested as
//! each instance that uses it, and swapped in for those that pass; calls already running finish on
//! the version they started with. Anything wrong keeps the previous version serving, with the
//! reason in the log and the instance's status. A changed config is validated whole and applied
//! whole (instances added, removed, regranted), or refused whole with its diagnostics.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::self_test::{self, Verdict};
use super::{LoadedPlugin, PluginInstance, PluginRuntime, build_instances, load_blocking};
use crate::config::Config;
use crate::ids::InstanceName;

/// What became of one instance when its plugin file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginReload {
    /// The new version serves; the time from reading the file to the swap.
    Swapped { sha256: String, elapsed_ms: u64 },
    /// The file holds the version already serving.
    Unchanged,
    /// The previous version keeps serving.
    Refused(String),
    /// The file is gone; the loaded version keeps serving until the config drops the instance.
    Missing,
}

/// What a config reload did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigReload {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
    /// Set when `[runtime]` changed: it applies at the next restart, like `[pii]` and `[relay]`,
    /// which are read only at start.
    pub runtime_changed: bool,
}

impl PluginRuntime {
    /// Offers the plugin file `path` to every instance that uses it; returns what happened to
    /// each. Instances that use other files are untouched.
    pub async fn reload_plugin(&self, path: &Path, connector: &str) -> Vec<(InstanceName, PluginReload)> {
        let _one_at_a_time = self.reloading.lock().await;
        let users: Vec<Arc<PluginInstance>> =
            self.instances().values().filter(|i| i.plugin().path == path).cloned().collect();
        let Some(first) = users.first() else { return Vec::new() };
        if !path.exists() {
            return users
                .iter()
                .map(|user| {
                    tracing::warn!(instance = %user.name(), plugin = %path.display(), "plugin file removed; the loaded version keeps serving until the config drops the instance");
                    self.set_status(user.name(), |s| s.file_missing = true);
                    (user.name().clone(), PluginReload::Missing)
                })
                .collect();
        }
        let started = Instant::now();
        let loaded =
            load_blocking(self.shared_engine().clone(), path.to_path_buf(), first.kind(), self.admission()).await;
        let mut outcomes = Vec::new();
        for user in &users {
            let outcome = match &loaded {
                Err(error) => PluginReload::Refused(error.to_string()),
                Ok(plugin) => self.offer(user, plugin, connector, started).await,
            };
            self.record(user, &outcome);
            outcomes.push((user.name().clone(), outcome));
        }
        outcomes
    }

    /// Self-tests `plugin` as `user` and swaps it in if it passes.
    async fn offer(
        &self,
        user: &Arc<PluginInstance>,
        plugin: &Arc<LoadedPlugin>,
        connector: &str,
        started: Instant,
    ) -> PluginReload {
        if user.plugin().sha256 == plugin.sha256 {
            return PluginReload::Unchanged;
        }
        let candidate = Arc::new(user.candidate(plugin.clone()));
        let verdict = self_test::run(&candidate, connector).await;
        match &verdict {
            Verdict::Failed(reason) => {
                return PluginReload::Refused(format!("self-test failed: {}", self.scrubbed(reason)));
            }
            Verdict::Degraded(problem) => tracing::warn!(
                instance = %user.name(),
                "the new version's self-test found a problem outside the plugin; swapping it in anyway: {}",
                self.scrubbed(problem)
            ),
            Verdict::Passed(_) => {}
        }
        // Reloads run one at a time, so the instance set cannot have changed meanwhile; checked
        // anyway, since a swap on a discarded instance would be lost silently.
        if !self.instances().get(user.name()).is_some_and(|live| Arc::ptr_eq(live, user)) {
            return PluginReload::Refused(
                "the config was reloaded meanwhile; the next change of the file loads it".into(),
            );
        }
        user.swap(plugin.clone());
        self.record_self_test(user.name(), &verdict);
        PluginReload::Swapped {
            sha256: plugin.sha256.clone(),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn record(&self, user: &PluginInstance, outcome: &PluginReload) {
        let name = user.name();
        match outcome {
            PluginReload::Swapped { sha256, elapsed_ms } => {
                crate::metrics::metrics().plugin_reload(name.as_str(), true);
                tracing::info!(instance = %name, sha256 = %&sha256[..16], elapsed_ms, "new plugin version serving");
                let publisher = user.plugin().publisher.clone();
                self.set_status(name, |s| {
                    s.sha256 = sha256.clone();
                    s.publisher = publisher;
                    s.refused = None;
                    s.file_missing = false;
                    s.reloads += 1;
                });
            }
            PluginReload::Refused(reason) => {
                crate::metrics::metrics().plugin_reload(name.as_str(), false);
                tracing::error!(instance = %name, "new plugin version refused; the previous one keeps serving: {reason}");
                self.set_status(name, |s| {
                    s.refused = Some(reason.clone());
                    s.file_missing = false;
                });
            }
            PluginReload::Unchanged => self.set_status(name, |s| s.file_missing = false),
            PluginReload::Missing => {}
        }
    }

    /// Keeps `verdict` as the self-test of `name`'s serving version, for admins to see.
    pub fn record_self_test(&self, name: &InstanceName, verdict: &Verdict) {
        let status = verdict.status(|text| self.scrubbed(text));
        self.set_status(name, |s| s.self_test = Some(status));
    }

    fn scrubbed(&self, text: &str) -> String {
        match self.pii() {
            Some(pii) => pii.scrub(text).into_owned(),
            None => text.to_string(),
        }
    }

    /// Reads `file` again and applies it whole, or refuses it whole and keeps the running config.
    /// A plugin file already serving keeps its serving version (a changed file is swapped in by
    /// [`PluginRuntime::reload_plugin`], after its checks, never here), which must meet the new
    /// signature policy; instances that keep their name keep their key-value store. Calls running finish on the instances they started
    /// with.
    pub async fn reload_config(&self, file: &Path) -> Result<ConfigReload, Vec<String>> {
        let _one_at_a_time = self.reloading.lock().await;
        let path = file.to_path_buf();
        let config = tokio::task::spawn_blocking(move || Config::load(&path))
            .await
            .map_err(|e| vec![format!("reading the config crashed: {e}")])?
            .map_err(|e| e.errors().map(ToString::to_string).collect::<Vec<_>>())?;
        let runtime_changed = config.runtime != self.shared_engine().settings();
        if runtime_changed {
            tracing::warn!("[runtime] changed: it applies at the next restart");
        }
        let current = self.instances();
        let admission = super::Admission::of(&config.plugins);
        let instances =
            build_instances(self.shared_engine(), config.instances, self.pii().cloned(), &current, &admission)
                .await
                .map_err(|e| vec![e.to_string()])?;
        self.set_admission(admission);
        let mut summary = ConfigReload { runtime_changed, ..ConfigReload::default() };
        for name in instances.keys() {
            match current.get(name) {
                Some(_) => summary.kept.push(name.to_string()),
                None => summary.added.push(name.to_string()),
            }
        }
        summary.removed = current.keys().filter(|n| !instances.contains_key(*n)).map(ToString::to_string).collect();
        self.install(instances);
        tracing::info!(added = ?summary.added, removed = ?summary.removed, kept = summary.kept.len(), "config reloaded");
        Ok(summary)
    }
}

/// The plugin files the running instances use, for the watcher.
pub fn plugin_files(runtime: &PluginRuntime) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = runtime.instances().values().map(|i| i.plugin().path.clone()).collect();
    files.sort();
    files.dedup();
    files
}
