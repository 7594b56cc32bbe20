//! Calls into a UEM adapter (`msc:uem/uem-adapter`).

use std::time::Instant;

use wasmtime::Store;

use super::{CallError, Check, Error, call_world, wrong_world};
use crate::ids::PluginKind;
use crate::plugins::bindings::uem::UemAdapter;
pub use crate::plugins::bindings::uem::msc::uem::types::{
    App, Attribute, AttributeValue, Device, DevicePage, DeviceQuery, DeviceStatus, Ownership, Platform, RiskLevel,
    RiskUpdate,
};
use crate::plugins::component::{LoadedPlugin, WorldPre};
use crate::plugins::instance::PluginInstance;
use crate::plugins::store::CallState;

/// A UEM adapter instance, ready to call.
pub struct Uem<'a> {
    instance: &'a PluginInstance,
    deadline: Option<Instant>,
}

impl<'a> Uem<'a> {
    pub(crate) fn new(instance: &'a PluginInstance) -> Self {
        Self { instance, deadline: None }
    }

    /// Ends calls at `deadline` if that comes before the instance's own deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub async fn list_devices(&self, query: &DeviceQuery) -> Result<DevicePage, CallError> {
        self.call(async |store, uem| uem.msc_uem_adapter().call_list_devices(store, query).await).await
    }

    pub async fn get_device(&self, id: &str) -> Result<Device, CallError> {
        self.call(async |store, uem| uem.msc_uem_adapter().call_get_device(store, id).await).await
    }

    pub async fn list_apps(&self, device_id: &str) -> Result<Vec<App>, CallError> {
        self.call(async |store, uem| uem.msc_uem_adapter().call_list_apps(store, device_id).await).await
    }

    pub async fn set_risk(&self, device_id: &str, level: RiskLevel) -> Result<RiskUpdate, CallError> {
        self.call(async |store, uem| uem.msc_uem_adapter().call_set_risk(store, device_id, level).await).await
    }

    pub async fn test_connection(&self) -> Result<Vec<Check>, CallError> {
        self.call(async |store, uem| uem.msc_uem_adapter().call_test_connection(store).await).await
    }

    async fn call<R>(
        &self,
        call: impl AsyncFnOnce(&mut Store<CallState>, &UemAdapter) -> wasmtime::Result<Result<R, Error>>,
    ) -> Result<R, CallError> {
        call_world(self.instance, self.deadline, instantiate, call)
            .await?
            .map_err(|error| CallError::Reported { instance: self.instance.name().clone(), error })
    }
}

async fn instantiate(plugin: &LoadedPlugin, store: &mut Store<CallState>) -> wasmtime::Result<UemAdapter> {
    match &plugin.pre {
        WorldPre::Uem(pre) => pre.instantiate_async(store).await,
        _ => Err(wrong_world(plugin, PluginKind::Uem)),
    }
}
