//! The mail outbox: `mail.send` tasks are stored durably and answered; a deliverer hands each mail
//! to its backend (a plugin instance of kind `mail`), retries transient failures with backoff,
//! and reports each mail's final outcome — delivered, refused for good, maybe sent, or expired —
//! to the cloud as the task's outcome (`docs/mail.md`).
//!
//! The data path: [`MailOutbox::accept`] (from the dispatcher: the instance and every token are
//! checked, the message is stored with its personal data still tokens) → [`entry`] in the `mail`
//! queue of the shared [`crate::store`] → [`deliver`] (due mails, restored just before the
//! backend sees them) → [`settle`]: the mail leaves the outbox and its outcome enters the
//! `outcomes` queue in one commit (group-committed with its neighbours) → the relay link posts it.

pub mod deliver;
pub mod entry;
pub mod settle;

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::MailConfig;
use crate::dispatch::Dispatcher;
use crate::plugins::worlds::mail::Message;
use crate::store::outcomes::Outcomes;
use crate::store::{self, Store, StoreError};
use entry::Entry;

/// Whether `message_id` is `<msc.ID@DOMAIN>` made from the message's `id` (the form
/// `msc_sdk::mail::message_id` writes: bytes outside `atext` as `=XX`; a domain of letters,
/// digits, dots and dashes). Such an id names the task, not a person.
pub fn is_derived_message_id(message_id: &str, id: &str) -> bool {
    let Some(inner) = message_id.strip_prefix("<msc.").and_then(|rest| rest.strip_suffix('>')) else {
        return false;
    };
    let Some((left, domain)) = inner.rsplit_once('@') else { return false };
    let domain_ok = !domain.is_empty() && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    domain_ok && decode_left(left).is_some_and(|decoded| decoded == id.as_bytes())
}

/// The bytes of a Message-ID's left part with each `=XX` decoded; `None` when malformed.
fn decode_left(left: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(left.len());
    let mut bytes = left.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'=' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(byte);
        }
    }
    Some(out)
}

/// The outbox's queue in the store.
pub const QUEUE: &str = "mail";

pub struct MailOutbox {
    store: Arc<Store>,
    outcomes: Arc<Outcomes>,
    config: MailConfig,
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    deliverer: Mutex<Option<JoinHandle<()>>>,
}

/// A `mail.send` task's result: the mail is in the outbox (or was already).
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Queued {
    pub queued: bool,
    /// The task was accepted before (the cloud sent it again): not queued twice.
    pub duplicate: bool,
    /// Mails waiting in the outbox now.
    pub waiting: u64,
}

/// What `/healthz` shows of the outbox.
#[derive(Serialize, Debug, Clone)]
pub struct OutboxStatus {
    pub waiting: u64,
    pub max: u64,
    pub full: bool,
    pub outcomes_waiting: u64,
}

impl MailOutbox {
    pub fn new(store: Arc<Store>, outcomes: Arc<Outcomes>, config: MailConfig) -> Arc<Self> {
        let (stop, _) = watch::channel(false);
        Arc::new(Self { store, outcomes, config, wake: Arc::new(Notify::new()), stop, deliverer: Mutex::new(None) })
    }

    /// Stores `message` (personal data as tokens) for `instance`, durably; returns once it is on
    /// disk. The task id is the outbox key: a task the cloud sends again is not queued twice.
    pub async fn accept(
        &self,
        task: &str,
        attempt: u32,
        instance: &str,
        message: &Message,
    ) -> Result<Queued, StoreError> {
        let entry = Entry::new(task, attempt, instance, message.clone());
        let bytes = entry.to_bytes();
        let (store, id, max) = (self.store.clone(), task.to_string(), self.config.max_outbox);
        let appended = store::blocking(move || {
            let appended = store.append(QUEUE, &[(id, bytes)], max)?;
            Ok((appended, store.len(QUEUE)?))
        })
        .await?;
        let (appended, waiting) = appended;
        if appended.queued > 0 {
            self.wake.notify_one();
        }
        Ok(Queued { queued: appended.queued > 0, duplicate: appended.duplicates > 0, waiting })
    }

    /// Starts delivering, with `dispatcher` sending each mail. Once per outbox.
    pub fn start(self: &Arc<Self>, dispatcher: Arc<Dispatcher>) {
        let deliverer = deliver::Deliverer::new(
            self.store.clone(),
            self.outcomes.clone(),
            self.config.clone(),
            self.wake.clone(),
            dispatcher,
        );
        let handle = tokio::spawn(deliverer.run(self.stop.subscribe()));
        if let Some(old) = self.deliverer.lock().unwrap_or_else(PoisonError::into_inner).replace(handle) {
            old.abort();
        }
    }

    pub fn status(&self) -> OutboxStatus {
        let waiting = self.store.len(QUEUE).unwrap_or_default();
        OutboxStatus {
            waiting,
            max: self.config.max_outbox,
            full: waiting >= self.config.max_outbox,
            outcomes_waiting: self.outcomes.waiting(),
        }
    }

    /// Stops the deliverer after the sends in progress (queued mails stay for the next start).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let deliverer = self.deliverer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(deliverer) = deliverer {
            let _ = deliverer.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_derived_message_id;

    #[test]
    fn only_message_ids_made_from_the_message_id_are_recognised() {
        assert!(is_derived_message_id("<msc.t-42@corp.example>", "t-42"));
        assert!(is_derived_message_id("<msc.a=20b=40c=2Ed@corp.example>", "a b@c.d"));
        for (message_id, id) in [
            ("<msc.t-42@corp.example>", "t-43"),
            ("<zoe.mueller@corp.example>", "t-42"),
            ("<msc.zoe.mueller@corp.example>", "t-42"),
            ("<msc.t-42@zoe@corp.example>", "t-42"),
            ("<msc.t-42@corp example>", "t-42"),
            ("<msc.t-42=4@corp.example>", "t-42"),
            ("msc.t-42@corp.example", "t-42"),
        ] {
            assert!(!is_derived_message_id(message_id, id), "{message_id} for {id}");
        }
    }
}
