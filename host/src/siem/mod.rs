//! SIEM delivery: events formatted per target, queued durably, delivered in order.
//!
//! The data path: [`SiemDelivery::accept`] (from the dispatcher: format with each target's
//! formatter, PII restored unless the target keeps tokens) → [`queue`] (one durable commit per
//! target in the shared [`crate::store`], then the task may be acknowledged) → [`deliver`] (one loop per target: read the oldest
//! records, send them over [`transport`], remove them once sent; back off while the SIEM is down).

pub mod deliver;
pub mod transport;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::SiemConfig;
use crate::config::siem::Transport;
use crate::ids::InstanceName;
use crate::plugins::error::PluginError;
use crate::plugins::worlds::siem::{Event, Origin};
use crate::plugins::{LookupError, PluginRuntime};
use crate::store::{self, Store, StoreError};
use deliver::Deliverer;

/// Every configured target, its queue and its deliverer.
pub struct SiemDelivery {
    store: Arc<Store>,
    targets: Vec<Target>,
    stop: watch::Sender<bool>,
    deliverers: Mutex<Vec<JoinHandle<()>>>,
}

struct Target {
    name: String,
    formatter: InstanceName,
    keep_tokens: bool,
    max_queue: u64,
    transport: Arc<Transport>,
    wake: Arc<Notify>,
}

/// What one event task did, per target. Text from formatters is scrubbed by the dispatcher.
#[derive(Serialize, Debug, Default)]
pub struct DeliveryReport {
    pub events: usize,
    pub targets: Vec<TargetReport>,
}

#[derive(Serialize, Debug)]
pub struct TargetReport {
    pub target: String,
    /// Events now in the target's durable queue.
    pub queued: u64,
    /// Events queued before (a task the cloud sent again): not queued twice.
    pub duplicates: u64,
    /// Events the formatter refused; they are not delivered.
    pub failed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct QueueStatus {
    pub target: String,
    pub waiting: u64,
    pub max: u64,
    pub full: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("no SIEM target named `{0}`")]
    UnknownTarget(String),
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error("{0}")]
    Plugin(#[from] PluginError),
    #[error("{0}")]
    Queue(#[from] StoreError),
}

impl SiemDelivery {
    /// Starts one deliverer per target, on the queues `store` keeps for them.
    pub fn start(store: Arc<Store>, config: SiemConfig) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut targets = Vec::new();
        let mut deliverers = Vec::new();
        for (name, target) in config.targets {
            let transport = Arc::new(target.transport);
            let wake = Arc::new(Notify::new());
            let deliverer = Deliverer {
                queue: queue_name(&name),
                store: store.clone(),
                transport: transport.clone(),
                wake: wake.clone(),
            };
            deliverers.push(tokio::spawn(deliverer.run(stopped.clone())));
            targets.push(Target {
                name,
                formatter: target.formatter,
                keep_tokens: target.keep_tokens,
                max_queue: target.max_queue,
                transport,
                wake,
            });
        }
        Self { store, targets, stop, deliverers: Mutex::new(deliverers) }
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Formats `events` for every target (or only `only`) and queues them durably. `restored`
    /// is the same events with personal data restored; targets that keep tokens get `tokens`.
    /// Returns once every record is on disk: the task may then be acknowledged.
    pub async fn accept(
        &self,
        runtime: &PluginRuntime,
        origin: &Origin,
        tokens: &[Event],
        restored: &[Event],
        only: Option<&str>,
        deadline: Instant,
    ) -> Result<DeliveryReport, AcceptError> {
        if let Some(only) = only
            && !self.targets.iter().any(|t| t.name == only)
        {
            return Err(AcceptError::UnknownTarget(only.to_string()));
        }
        let mut report = DeliveryReport { events: tokens.len(), targets: Vec::new() };
        for target in self.targets.iter().filter(|t| only.is_none_or(|o| o == t.name)) {
            let events = if target.keep_tokens { tokens } else { restored };
            let formatter = runtime.siem(target.formatter.as_str())?.with_deadline(deadline);
            let framing = formatter.describe().await?.framing;
            let formatted = formatter.format(origin, events).await?;
            let mut records = Vec::with_capacity(formatted.len());
            let mut failed = 0;
            let mut first_error = None;
            for (event, outcome) in events.iter().zip(formatted) {
                match outcome {
                    Ok(bytes) => records.push((event.id.clone(), transport::frame(&target.transport, framing, bytes))),
                    Err(error) => {
                        failed += 1;
                        first_error.get_or_insert_with(|| format!("event {}: {error}", event.id));
                    }
                }
            }
            let (store, queue, max) = (self.store.clone(), queue_name(&target.name), target.max_queue);
            let appended = store::blocking(move || store.append(&queue, &records, max)).await?;
            if appended.queued > 0 {
                target.wake.notify_one();
            }
            report.targets.push(TargetReport {
                target: target.name.clone(),
                queued: appended.queued,
                duplicates: appended.duplicates,
                failed,
                first_error,
            });
        }
        Ok(report)
    }

    /// Each target's queue: waiting events, the bound, whether it is full (event tasks refused).
    pub fn queues(&self) -> Vec<QueueStatus> {
        self.targets
            .iter()
            .map(|t| {
                let waiting = self.store.len(&queue_name(&t.name)).unwrap_or_default();
                QueueStatus { target: t.name.clone(), waiting, max: t.max_queue, full: waiting >= t.max_queue }
            })
            .collect()
    }

    /// Stops the deliverers (queued events stay for the next start).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let deliverers = std::mem::take(&mut *self.deliverers.lock().unwrap_or_else(PoisonError::into_inner));
        for deliverer in deliverers {
            let _ = deliverer.await;
        }
    }
}

/// A target's queue in the shared store.
fn queue_name(target: &str) -> String {
    format!("siem:{target}")
}
