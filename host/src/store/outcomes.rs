//! Outcomes of tasks that were answered before their work was done — a mail accepted into the
//! outbox, delivered or refused later — waiting durably for the relay to take them
//! (`POST /relay/v1/outcomes`). Written in the same commit as the change that decided them, so
//! an outcome is neither lost nor reported twice across a crash.

use std::sync::Arc;

use serde_json::value::RawValue;
use tokio::sync::Notify;

use super::{Store, StoreError, Tx};

/// The outcomes' queue in the store.
const QUEUE: &str = "outcomes";
/// Outcomes waiting at most: far beyond what a relay outage of days produces.
const MAX_WAITING: u64 = 10_000_000;

pub struct Outcomes {
    store: Arc<Store>,
    added: Notify,
}

impl Outcomes {
    pub fn new(store: Arc<Store>) -> Arc<Self> {
        Arc::new(Self { store, added: Notify::new() })
    }

    /// Adds the outcome `frame` of `task` inside `tx` (once per task: a second is skipped).
    /// Call [`Outcomes::added`] after the commit.
    pub fn add(tx: &mut Tx<'_>, task: &str, frame: &RawValue) -> Result<(), StoreError> {
        tx.append(QUEUE, &[(task.to_string(), frame.get().as_bytes().to_vec())], MAX_WAITING).map(drop)
    }

    /// Wakes the sender: outcomes were committed.
    pub fn added(&self) {
        self.added.notify_one();
    }

    /// Waits until outcomes are waiting, then returns the oldest, at most `max`. Frames that
    /// are not JSON (a damaged store) are returned for removal with `None`.
    pub async fn next(&self, max: usize) -> Result<Vec<(u64, Option<Box<RawValue>>)>, StoreError> {
        loop {
            let woken = self.added.notified();
            let store = self.store.clone();
            let batch = super::blocking(move || store.peek(QUEUE, max, 4 << 20)).await?;
            if !batch.is_empty() {
                return Ok(batch
                    .into_iter()
                    .map(|(seq, bytes)| {
                        let frame = String::from_utf8(bytes).ok().and_then(|t| RawValue::from_string(t).ok());
                        (seq, frame)
                    })
                    .collect());
            }
            woken.await;
        }
    }

    /// Removes outcomes the relay has taken.
    pub async fn remove(&self, seqs: Vec<u64>) -> Result<(), StoreError> {
        let store = self.store.clone();
        super::blocking(move || {
            store.write(|tx| {
                for seq in seqs {
                    tx.remove(QUEUE, seq)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Outcomes waiting for the relay.
    pub fn waiting(&self) -> u64 {
        self.store.len(QUEUE).unwrap_or_default()
    }
}
