//! Calls into a SIEM formatter (`msc:siem/siem-formatter`).

use std::time::Instant;

use wasmtime::Store;

use super::{CallError, Error, call_world, wrong_world};
use crate::ids::PluginKind;
use crate::plugins::bindings::siem::SiemFormatter;
pub use crate::plugins::bindings::siem::msc::siem::types::{
    Event, EventApp, EventDevice, EventNetwork, Field, FieldValue, FormatterInfo, Framing, Origin, Severity,
};
use crate::plugins::component::{LoadedPlugin, WorldPre};
use crate::plugins::error::PluginError;
use crate::plugins::instance::PluginInstance;
use crate::plugins::store::CallState;

/// A SIEM formatter instance, ready to call.
pub struct Siem<'a> {
    instance: &'a PluginInstance,
    deadline: Option<Instant>,
}

impl<'a> Siem<'a> {
    pub(crate) fn new(instance: &'a PluginInstance) -> Self {
        Self { instance, deadline: None }
    }

    /// Ends calls at `deadline` if that comes before the instance's own deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub async fn describe(&self) -> Result<FormatterInfo, PluginError> {
        self.call(async |store, siem| siem.msc_siem_formatter().call_describe(store).await).await
    }

    /// Formats a batch; one result per event, in order.
    pub async fn format(&self, origin: &Origin, events: &[Event]) -> Result<Vec<Result<Vec<u8>, CallError>>, PluginError> {
        let results = self.call(async |store, siem| siem.msc_siem_formatter().call_format(store, origin, events).await).await?;
        let instance = self.instance.name();
        Ok(results
            .into_iter()
            .map(|r| r.map_err(|error: Error| CallError::Reported { instance: instance.clone(), error }))
            .collect())
    }

    async fn call<R>(
        &self,
        call: impl AsyncFnOnce(&mut Store<CallState>, &SiemFormatter) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        call_world(self.instance, self.deadline, instantiate, call).await
    }
}

async fn instantiate(plugin: &LoadedPlugin, store: &mut Store<CallState>) -> wasmtime::Result<SiemFormatter> {
    match &plugin.pre {
        WorldPre::Siem(pre) => pre.instantiate_async(store).await,
        _ => Err(wrong_world(plugin, PluginKind::Siem)),
    }
}
