//! Calls into a mail backend (`msc:mail/mail-backend`).

use std::sync::Arc;
use std::time::Instant;

use super::{CallError, Check, Error, call_export, known_inputs};
use crate::ids::PluginKind;
pub use crate::plugins::bindings::mail::msc::mail::types::{
    Address, Delivery, Failure, Header, Message, RefusedRecipient, SendError, ServerReply,
};
use crate::plugins::instance::PluginInstance;

/// A mail backend instance, ready to call.
pub struct Mail {
    instance: Arc<PluginInstance>,
    deadline: Option<Instant>,
}

impl Mail {
    pub(crate) fn new(instance: Arc<PluginInstance>) -> Self {
        Self { instance, deadline: None }
    }

    /// Ends calls at `deadline` if that comes before the instance's own deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub async fn send(&self, message: &Message) -> Result<Delivery, CallError<SendError>> {
        let result: Result<Delivery, SendError> = call_export(
            &self.instance,
            self.deadline,
            PluginKind::Mail,
            "send",
            (message,),
            known_inputs(&self.instance, || message.clone()),
        )
        .await?;
        result.map_err(|error| CallError::Reported { instance: self.instance.name().clone(), error })
    }

    pub async fn test_connection(&self) -> Result<Vec<Check>, CallError> {
        let result: Result<Vec<Check>, Error> =
            call_export(&self.instance, self.deadline, PluginKind::Mail, "test-connection", (), Vec::new()).await?;
        result.map_err(|error| CallError::Reported { instance: self.instance.name().clone(), error })
    }
}
