//! Calls into a SIEM formatter (`msc:siem/siem-formatter`).

use std::sync::Arc;
use std::time::Instant;

use super::{CallError, Error, call_export, known_inputs};
use crate::ids::PluginKind;
pub use crate::plugins::bindings::siem::msc::siem::types::{
    Event, EventApp, EventDevice, EventNetwork, Field, FieldValue, FormatterInfo, Framing, Origin, Severity,
};
use crate::plugins::error::PluginError;
use crate::plugins::instance::PluginInstance;

/// A SIEM formatter instance, ready to call.
pub struct Siem {
    instance: Arc<PluginInstance>,
    deadline: Option<Instant>,
}

impl Siem {
    pub(crate) fn new(instance: Arc<PluginInstance>) -> Self {
        Self { instance, deadline: None }
    }

    /// Ends calls at `deadline` if that comes before the instance's own deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub async fn describe(&self) -> Result<FormatterInfo, PluginError> {
        call_export(&self.instance, self.deadline, PluginKind::Siem, "describe", (), Vec::new()).await
    }

    /// Formats a batch; one result per event, in order.
    pub async fn format(
        &self,
        origin: &Origin,
        events: &[Event],
    ) -> Result<Vec<Result<Vec<u8>, CallError>>, PluginError> {
        let results: Vec<Result<Vec<u8>, Error>> = call_export(
            &self.instance,
            self.deadline,
            PluginKind::Siem,
            "format",
            (origin, events),
            known_inputs(&self.instance, || events.to_vec()),
        )
        .await?;
        let instance = self.instance.name();
        Ok(results
            .into_iter()
            .map(|r| r.map_err(|error: Error| CallError::Reported { instance: instance.clone(), error }))
            .collect())
    }
}
