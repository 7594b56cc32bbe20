//! A plugin instance: a loaded plugin plus what the admin granted it, and the life of one call:
//! wait for a free sandbox, instantiate fresh, run under the deadline, classify what went wrong.

use crate::pii::Kind;
use crate::plugins::worlds::CallOutput;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::Store;

use super::component::LoadedPlugin;
use super::engine::PluginEngine;
use super::error::{PluginError, PluginFault};
use super::store::{CallState, DeadlineReached, TABLE_ELEMENTS, new_store};
use crate::capabilities::InstanceCapabilities;
use crate::config::InstanceLimits;
use crate::ids::{InstanceName, PluginKind};

pub struct PluginInstance {
    engine: Arc<PluginEngine>,
    /// The version new calls run; swapped whole by a reload. A call takes its own reference at
    /// the start, so it finishes on the version it started with.
    plugin: RwLock<Arc<LoadedPlugin>>,
    capabilities: Arc<InstanceCapabilities>,
    limits: InstanceLimits,
    /// Bounds this instance's share of the pool, so one slow instance cannot take every sandbox.
    concurrency: Semaphore,
}

impl PluginInstance {
    pub fn new(
        engine: Arc<PluginEngine>,
        plugin: Arc<LoadedPlugin>,
        capabilities: InstanceCapabilities,
        limits: InstanceLimits,
    ) -> Self {
        Self::with_capabilities(engine, plugin, Arc::new(capabilities), limits)
    }

    fn with_capabilities(
        engine: Arc<PluginEngine>,
        plugin: Arc<LoadedPlugin>,
        capabilities: Arc<InstanceCapabilities>,
        limits: InstanceLimits,
    ) -> Self {
        let concurrency = Semaphore::new(limits.max_concurrent_calls as usize);
        Self { engine, plugin: RwLock::new(plugin), capabilities, limits, concurrency }
    }

    /// The same instance (grants, secrets, key-value store) running `plugin`: a candidate
    /// version to self-test before it is swapped in.
    pub fn candidate(&self, plugin: Arc<LoadedPlugin>) -> PluginInstance {
        Self::with_capabilities(self.engine.clone(), plugin, self.capabilities.clone(), self.limits)
    }

    /// Makes `plugin` the version new calls run; returns the one it replaces.
    pub fn swap(&self, plugin: Arc<LoadedPlugin>) -> Arc<LoadedPlugin> {
        let mut current = self.plugin.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut current, plugin)
    }

    pub fn name(&self) -> &InstanceName {
        &self.capabilities.name
    }

    pub fn kind(&self) -> PluginKind {
        self.plugin().kind
    }

    /// The version new calls run now.
    pub fn plugin(&self) -> Arc<LoadedPlugin> {
        self.plugin.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn shared_capabilities(&self) -> &Arc<InstanceCapabilities> {
        &self.capabilities
    }

    pub fn capabilities(&self) -> &InstanceCapabilities {
        &self.capabilities
    }

    pub fn limits(&self) -> InstanceLimits {
        self.limits
    }

    /// Runs one call in a fresh sandbox. `call` instantiates the plugin in the store it is given
    /// and calls one export. The call ends at the instance's deadline, or at `deadline` if that
    /// comes first.
    ///
    /// `inputs` are the personal values handed to the plugin; with the values its result holds,
    /// they are scrubbed from what the call logged.
    pub(crate) async fn run<R: CallOutput>(
        &self,
        deadline: Option<Instant>,
        inputs: Vec<(Kind, String)>,
        call: impl AsyncFnOnce(&mut Store<CallState>, &LoadedPlugin) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let started = Instant::now();
        let deadline = deadline.map_or(started + self.limits.deadline, |d| d.min(started + self.limits.deadline));
        let budget = deadline.saturating_duration_since(started);
        let fail = |fault| PluginError { instance: self.name().clone(), fault };

        let _instance_permit = tokio::time::timeout_at(deadline.into(), self.concurrency.acquire())
            .await
            .map_err(|_| fail(PluginFault::Overloaded(budget)))?
            .map_err(|_| fail(PluginFault::Overloaded(budget)))?;
        let _pool_permit = tokio::time::timeout_at(deadline.into(), self.engine.admission().acquire())
            .await
            .map_err(|_| fail(PluginFault::Overloaded(budget)))?
            .map_err(|_| fail(PluginFault::Overloaded(budget)))?;

        let plugin = self.plugin();
        let mut store = new_store(self.engine.engine(), self.capabilities.clone(), deadline, self.limits.memory);
        // The epoch callback stops wasm code at the deadline; this stops host calls (HTTP,
        // streams) that the epoch cannot interrupt.
        let outcome = tokio::time::timeout_at(deadline.into(), call(&mut store, &plugin)).await;
        let mut result = match outcome {
            Err(_elapsed) => Err(fail(PluginFault::DeadlineExceeded(budget))),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(fail(classify(&error, store.data(), budget))),
        };
        if let Some(pii) = &self.capabilities.pii {
            let mut known = inputs;
            if let Ok(value) = &mut result {
                known.extend(value.known_pii(pii.fields()));
            }
            // Dropping the store flushes a last stdout/stderr line that had no newline into the
            // log first, so it is scrubbed with the rest.
            let log = store.data().log.clone();
            drop(store);
            log.flush(known);
        }
        let outcome = result.as_ref().map_or_else(|e| e.fault.label(), |_| "ok");
        crate::metrics::metrics().plugin_call(self.name().as_str(), outcome, started.elapsed());
        match &result {
            Ok(_) => {
                tracing::debug!(instance = %self.name(), elapsed_ms = elapsed_ms(started), "plugin call")
            }
            Err(e) => {
                tracing::warn!(instance = %self.name(), elapsed_ms = elapsed_ms(started), error = %e.fault, "plugin call failed")
            }
        }
        result
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Turns what wasmtime reported into the reason an admin needs.
fn classify(error: &wasmtime::Error, state: &CallState, budget: Duration) -> PluginFault {
    if error.downcast_ref::<DeadlineReached>().is_some() {
        return PluginFault::DeadlineExceeded(budget);
    }
    // A plugin that hits its memory limit usually aborts (`unreachable`) when its allocator
    // fails; the limiter saw why.
    if state.limits.memory_hit {
        return PluginFault::MemoryLimit { limit: state.limits.memory };
    }
    if state.limits.table_hit {
        return PluginFault::TableLimit { limit: TABLE_ELEMENTS as u64 };
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return PluginFault::Exited(exit.0);
    }
    if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        let reason = match (trap, state.log.stderr_tail()) {
            // A Rust panic prints its message to stderr, then executes `unreachable`.
            (wasmtime::Trap::UnreachableCodeReached, Some(tail)) => {
                format!("{trap}; the plugin last wrote: {tail}")
            }
            _ => trap.to_string(),
        };
        return PluginFault::Trapped { reason };
    }
    PluginFault::Host(format!("{error:#}"))
}
