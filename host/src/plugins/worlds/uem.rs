//! Calls into a UEM adapter (`msc:uem/uem-adapter`).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{ComponentNamedList, Lift, Lower};

use super::{CallError, Check, Error, call_export};
use crate::ids::PluginKind;
pub use crate::plugins::bindings::uem::msc::uem::types::{
    App, Attribute, AttributeValue, Device, DevicePage, DeviceQuery, DeviceStatus, Ownership, Platform, RiskLevel,
    RiskUpdate,
};
use crate::plugins::instance::PluginInstance;

/// A UEM adapter instance, ready to call.
pub struct Uem {
    instance: Arc<PluginInstance>,
    deadline: Option<Instant>,
}

impl Uem {
    pub(crate) fn new(instance: Arc<PluginInstance>) -> Self {
        Self { instance, deadline: None }
    }

    /// Ends calls at `deadline` if that comes before the instance's own deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub async fn list_devices(&self, query: &DeviceQuery) -> Result<DevicePage, CallError> {
        self.call("list-devices", (query,)).await
    }

    pub async fn get_device(&self, id: &str) -> Result<Device, CallError> {
        self.call("get-device", (id,)).await
    }

    pub async fn list_apps(&self, device_id: &str) -> Result<Vec<App>, CallError> {
        self.call("list-apps", (device_id,)).await
    }

    pub async fn set_risk(&self, device_id: &str, level: RiskLevel) -> Result<RiskUpdate, CallError> {
        self.call("set-risk", (device_id, level)).await
    }

    pub async fn test_connection(&self) -> Result<Vec<Check>, CallError> {
        self.call("test-connection", ()).await
    }

    /// Calls `function` of `msc:uem/adapter`, typed by the caller's parameters and result.
    async fn call<P, R>(&self, function: &str, params: P) -> Result<R, CallError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        (Result<R, Error>,): ComponentNamedList + Lift + Send + Sync + 'static,
        R: crate::pii::PiiFields,
    {
        call_export(&self.instance, self.deadline, PluginKind::Uem, function, params, Vec::new())
            .await?
            .map_err(|error| CallError::Reported { instance: self.instance.name().clone(), error })
    }
}
