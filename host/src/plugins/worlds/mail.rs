//! Calls into a mail backend (`msc:mail/mail-backend`).

use std::time::Instant;

use wasmtime::Store;

use super::{CallError, Check, Error, call_world, wrong_world};
use crate::ids::PluginKind;
use crate::plugins::bindings::mail::MailBackend;
pub use crate::plugins::bindings::mail::msc::mail::types::{
    Address, Delivery, Failure, Header, Message, RefusedRecipient, SendError, ServerReply,
};
use crate::plugins::component::{LoadedPlugin, WorldPre};
use crate::plugins::instance::PluginInstance;
use crate::plugins::store::CallState;

/// A mail backend instance, ready to call.
pub struct Mail<'a> {
    instance: &'a PluginInstance,
    deadline: Option<Instant>,
}

impl<'a> Mail<'a> {
    pub(crate) fn new(instance: &'a PluginInstance) -> Self {
        Self { instance, deadline: None }
    }

    /// Ends calls at `deadline` if that comes before the instance's own deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub async fn send(&self, message: &Message) -> Result<Delivery, CallError<SendError>> {
        let result = call_world(self.instance, self.deadline, instantiate, async |store, mail: &MailBackend| {
            mail.msc_mail_backend().call_send(store, message).await
        })
        .await?;
        result.map_err(|error| CallError::Reported { instance: self.instance.name().clone(), error })
    }

    pub async fn test_connection(&self) -> Result<Vec<Check>, CallError> {
        let result = call_world(self.instance, self.deadline, instantiate, async |store, mail: &MailBackend| {
            mail.msc_mail_backend().call_test_connection(store).await
        })
        .await?;
        result.map_err(|error: Error| CallError::Reported { instance: self.instance.name().clone(), error })
    }
}

async fn instantiate(plugin: &LoadedPlugin, store: &mut Store<CallState>) -> wasmtime::Result<MailBackend> {
    match &plugin.pre {
        WorldPre::Mail(pre) => pre.instantiate_async(store).await,
        _ => Err(wrong_world(plugin, PluginKind::Mail)),
    }
}
