//! One target's deliverer: takes the oldest queued records, sends them, removes them once sent,
//! and backs off (250 ms doubling to 30 s, jittered) while the SIEM cannot take them. Order is
//! kept: nothing newer goes out before everything older has.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use super::transport::Link;
use crate::config::siem::Transport;
use crate::relay::backoff::Backoff;
use crate::store::{self, Store, StoreError};

/// One batch: at most this many records, about this many bytes.
const BATCH_RECORDS: usize = 2048;
const BATCH_BYTES: usize = 1 << 20;
/// A SIEM that stays down is reported at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(30);

pub struct Deliverer {
    /// The target's queue in the store (`siem:NAME`).
    pub queue: String,
    pub store: Arc<Store>,
    pub transport: Arc<Transport>,
    pub wake: Arc<Notify>,
}

impl Deliverer {
    /// Delivers until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut link = Link::new(self.transport.clone());
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        let mut reported: Option<Instant> = None;
        while !*stop.borrow() {
            // Registered before looking, so an append in between still wakes us.
            let woken = self.wake.notified();
            let batch = match self.peek().await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(siem_queue = %self.queue, "{error}");
                    Vec::new()
                }
            };
            let Some(&(last, _)) = batch.last() else {
                tokio::select! {
                    () = woken => {}
                    _ = stop.changed() => {}
                }
                continue;
            };
            let records: Vec<Vec<u8>> = batch.into_iter().map(|(_, record)| record).collect();
            match link.send(&records).await {
                Ok(()) => {
                    if reported.take().is_some() {
                        tracing::info!(siem_queue = %self.queue, "the SIEM takes events again");
                    }
                    backoff.reset();
                    if let Err(error) = self.remove_through(last).await {
                        tracing::error!(siem_queue = %self.queue, "{error}");
                    }
                }
                Err(error) => {
                    if reported.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
                        let waiting = self.store.len(&self.queue).unwrap_or_default();
                        tracing::warn!(siem_queue = %self.queue, waiting, "{error}; events wait in the queue");
                        reported = Some(Instant::now());
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    async fn peek(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let (store, queue) = (self.store.clone(), self.queue.clone());
        store::blocking(move || store.peek(&queue, BATCH_RECORDS, BATCH_BYTES)).await
    }

    async fn remove_through(&self, seq: u64) -> Result<(), StoreError> {
        let (store, queue) = (self.store.clone(), self.queue.clone());
        store::blocking(move || store.remove_through(&queue, seq)).await
    }
}
