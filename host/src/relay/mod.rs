//! The relay link: the connector's only connection to the cloud, always dialed from here
//! (`docs/relay-protocol.md`).
//!
//! Four loops share one session: the **poller** asks for as many tasks as there are free slots
//! (flow control: with no free slot it does not ask) and starts each on the dispatcher; the
//! **result sender** posts finished results in batches and keeps each until the relay lists it;
//! the **heartbeat** keeps the session and the running tasks' leases alive and stops tasks the
//! relay cancelled; **inventory** uploads stream a sync's devices. Each loop retries on its own with
//! jittered backoff; registration is shared, so a relay restart costs one new session.
//!
//! A slot is held from the poll that asked for a task until the relay acknowledged its result,
//! so a relay that stops taking results also stops the connector from taking more work.

pub mod backoff;
pub mod client;
pub mod transport;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::value::RawValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::AbortHandle;

use crate::config::RelayConfig;
use crate::dispatch::{self, Dispatcher, InventorySink, Malformed, TaskError};
use backoff::Backoff;
pub use client::{Identity, LinkError, RelayClient};
use transport::{Endpoint, Lane};

/// How long the result sender keeps trying to post what it holds once the link is stopping.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// A poll request may take this much longer than the wait it asked for.
const POLL_SLACK: Duration = Duration::from_secs(15);

/// A finished task's result, waiting for the relay to acknowledge it.
struct Pending {
    task: String,
    frame: Box<RawValue>,
    /// Freed when the relay has the result: until then the slot stays taken.
    _slot: Option<OwnedSemaphorePermit>,
}

pub struct RelayLink {
    client: Arc<RelayClient>,
    dispatcher: Arc<Dispatcher>,
    slots: Arc<Semaphore>,
    drain: Duration,
    running: Mutex<HashMap<String, AbortHandle>>,
    results: mpsc::UnboundedSender<Pending>,
    /// The other end of `results`, taken by the result sender when the link is served.
    pending: Mutex<Option<mpsc::UnboundedReceiver<Pending>>>,
    inventory: RelayInventory,
}

/// What [`RelayLink::serve`] did, for the log line at exit.
#[derive(Debug, Default)]
pub struct ShutdownReport {
    pub finished_in_drain: usize,
    pub released: usize,
    pub unsent_results: usize,
}

impl RelayLink {
    /// A link for `config`; nothing is dialed until [`RelayLink::serve`].
    pub fn new(config: &RelayConfig, identity: Identity, dispatcher: Arc<Dispatcher>) -> Result<Arc<Self>, LinkError> {
        let endpoint = Arc::new(Endpoint::new(config)?);
        let client = Arc::new(RelayClient::new(endpoint.clone(), config.enrollment_token.clone(), identity));
        let (results, pending) = mpsc::unbounded_channel();
        let link = Arc::new(Self {
            inventory: RelayInventory { client: client.clone(), lane: tokio::sync::Mutex::new(Lane::new(endpoint)) },
            client,
            dispatcher,
            slots: Arc::new(Semaphore::new(config.capacity as usize)),
            drain: config.drain,
            running: Mutex::new(HashMap::new()),
            results,
            pending: Mutex::new(Some(pending)),
        });
        Ok(link)
    }

    /// Registers, serves tasks until `shutdown` completes, then drains: running tasks get the
    /// configured drain time, the rest are released to other connectors, held results are
    /// posted, and the session ends. Returns early only on an error no retry can fix (refused
    /// enrollment token, keyring mismatch, protocol version).
    pub async fn serve(self: &Arc<Self>, shutdown: impl Future<Output = ()>) -> Result<ShutdownReport, LinkError> {
        let Some(pending) = self.pending.lock().ok().and_then(|mut p| p.take()) else {
            return Err(LinkError::Decode { what: "serve", reason: "a link can be served only once".into() });
        };
        let (stop, stopped) = watch::channel(false);
        let sender = tokio::spawn(self.clone().send_results(pending, stopped.clone()));
        let heartbeat = tokio::spawn(self.clone().heartbeat(stopped.clone()));
        tokio::pin!(shutdown);
        let outcome = tokio::select! {
            result = self.poll() => Err(result),
            () = &mut shutdown => Ok(()),
        };
        let report = self.stop(stop, sender).await;
        heartbeat.abort();
        match outcome {
            Ok(()) => Ok(report),
            Err(error) => Err(error),
        }
    }

    /// Tasks running now.
    pub fn in_flight(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Asks for work whenever a slot is free; returns only on a fatal error.
    async fn poll(self: &Arc<Self>) -> LinkError {
        let mut lane = Lane::new(self.client.endpoint().clone());
        let mut backoff = Backoff::relay();
        loop {
            let Ok(first) = self.slots.clone().acquire_owned().await else {
                return LinkError::Decode { what: "poll", reason: "the task slots were closed".into() };
            };
            let session = match self.client.session(&mut lane).await {
                Ok(session) => session,
                Err(error) => match self.retry_wait(error, &mut backoff, "registering with the relay") {
                    Ok(wait) => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    Err(fatal) => return fatal,
                },
            };
            let max = session.registered.max_batch.max(1) as usize;
            let mut slots = vec![first];
            while slots.len() < max {
                match self.slots.clone().try_acquire_owned() {
                    Ok(slot) => slots.push(slot),
                    Err(_) => break,
                }
            }
            let wait_ms = session.registered.poll_wait_ms;
            let request = wire::Poll { credit: slots.len() as u32, wait_ms };
            let timeout = Duration::from_millis(wait_ms) + POLL_SLACK;
            match self.client.call::<wire::Polled>(&mut lane, Method::POST, "poll", &request, Some(timeout)).await {
                Ok(polled) => {
                    backoff.reset();
                    if polled.tasks.len() > slots.len() {
                        tracing::warn!(
                            credit = slots.len(),
                            sent = polled.tasks.len(),
                            "the relay sent more tasks than asked for; running them all"
                        );
                    }
                    for raw in polled.tasks {
                        self.start(raw, slots.pop());
                    }
                }
                Err(error) => match self.retry_wait(error, &mut backoff, "polling for tasks") {
                    Ok(wait) => {
                        drop(slots);
                        tokio::time::sleep(wait).await;
                    }
                    Err(fatal) => return fatal,
                },
            }
        }
    }

    /// Logs a failed exchange and says how long to wait before the next, or returns the error
    /// if it is fatal.
    fn retry_wait(&self, error: LinkError, backoff: &mut Backoff, doing: &str) -> Result<Duration, LinkError> {
        if error.is_fatal() {
            return Err(error);
        }
        let wait = error.retry_after().unwrap_or_else(|| backoff.next_delay());
        tracing::warn!(retry_in = ?wait, "{doing}: {error}");
        Ok(wait)
    }

    /// Parses a frame and runs it on its own task; a frame that is not a task is answered with
    /// an error result at once.
    fn start(self: &Arc<Self>, raw: Box<RawValue>, slot: Option<OwnedSemaphorePermit>) {
        let task = match dispatch::task::parse(&raw) {
            Ok(task) => task,
            Err(Malformed { id: Some(id), attempt, error }) => {
                tracing::warn!(task = %id, code = error.code, "refused a task: {}", self.scrub(&error.message));
                self.finish(&id, attempt, Err(error), slot);
                return;
            }
            Err(Malformed { id: None, error, .. }) => {
                tracing::warn!("dropped a task frame with no usable id: {}", self.scrub(&error.message));
                return;
            }
        };
        let Ok(mut running) = self.running.lock() else { return };
        if running.contains_key(&task.id) {
            // The relay re-issued a task this connector is still running (e.g. after a new
            // session): the running one will answer for both.
            tracing::debug!(task = %task.id, "already running");
            return;
        }
        let link = self.clone();
        let id = task.id.clone();
        self.dispatcher.status().in_flight.fetch_add(1, Ordering::Relaxed);
        // The lock is held while spawning, so the task cannot finish (and remove its entry)
        // before the entry exists.
        let handle = tokio::spawn(async move {
            let started = Instant::now();
            let outcome = link.dispatcher.run(&task, &link.inventory).await;
            tracing::debug!(task = %task.id, kind = task.kind.name(), elapsed = ?started.elapsed(), ok = outcome.is_ok(), "task done");
            link.finish(&task.id, task.attempt, outcome, slot);
        });
        running.insert(id, handle.abort_handle());
    }

    /// Queues a task's result for the relay and forgets the task as running.
    fn finish(
        &self,
        task: &str,
        attempt: u32,
        outcome: Result<Box<RawValue>, TaskError>,
        slot: Option<OwnedSemaphorePermit>,
    ) {
        if let Ok(mut running) = self.running.lock()
            && running.remove(task).is_some()
        {
            self.dispatcher.status().in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        let frame = match result_frame(task, attempt, &outcome) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::error!(task, "cannot serialize a result: {e}");
                return;
            }
        };
        if self.results.send(Pending { task: task.to_string(), frame, _slot: slot }).is_err() {
            tracing::warn!(task, "the result sender has stopped; the relay will re-issue this task");
        }
    }

    fn scrub(&self, text: &str) -> String {
        self.dispatcher.filter().scrub(text).into_owned()
    }

    /// Posts results in batches until the link stops and nothing is left to post.
    async fn send_results(
        self: Arc<Self>,
        mut queue: mpsc::UnboundedReceiver<Pending>,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut lane = Lane::new(self.client.endpoint().clone());
        let mut backoff = Backoff::relay();
        let mut pending: Vec<Pending> = Vec::new();
        // Lowered after a 413 or 400, raised again after a success.
        let mut limit = usize::MAX;
        loop {
            if pending.is_empty() {
                tokio::select! {
                    next = queue.recv() => match next {
                        Some(result) => pending.push(result),
                        None => return,
                    },
                    _ = stopped.wait_for(|stop| *stop) => {
                        match queue.try_recv() {
                            Ok(result) => pending.push(result),
                            Err(_) => return,
                        }
                    }
                }
            }
            while let Ok(result) = queue.try_recv() {
                pending.push(result);
            }
            let max_batch = self.client.existing_session().map_or(256, |s| s.registered.max_batch.max(1) as usize);
            let count = pending.len().min(max_batch).min(limit);
            let frames: Vec<&RawValue> = pending[..count].iter().map(|p| p.frame.as_ref()).collect();
            let body = wire::Results { results: &frames };
            match self.client.call::<wire::ResultsAnswer>(&mut lane, Method::POST, "results", &body, None).await {
                Ok(answer) => {
                    backoff.reset();
                    limit = usize::MAX;
                    for task in &answer.unknown {
                        tracing::warn!(task = %task, "the relay does not know this task; its result was dropped");
                    }
                    let listed: HashSet<&str> = answer
                        .accepted
                        .iter()
                        .chain(&answer.duplicate)
                        .chain(&answer.unknown)
                        .map(String::as_str)
                        .collect();
                    let before = pending.len();
                    pending.retain(|p| !listed.contains(p.task.as_str()));
                    if pending.len() + count > before {
                        tracing::warn!(
                            unlisted = pending.len() + count - before,
                            "the relay did not list every result it was sent; sending those again"
                        );
                    }
                }
                Err(LinkError::Refused { status: StatusCode::PAYLOAD_TOO_LARGE, .. }) if count > 1 => {
                    limit = count / 2;
                }
                Err(LinkError::Refused { status: StatusCode::BAD_REQUEST, message, .. }) => {
                    if count > 1 {
                        // One bad result must not hold back the others: find it.
                        limit = 1;
                    } else {
                        let dropped = pending.remove(0);
                        tracing::error!(task = %dropped.task, "the relay refused this result as malformed ({message}); dropped");
                    }
                }
                Err(error) => {
                    let wait = error.retry_after().unwrap_or_else(|| backoff.next_delay());
                    tracing::warn!(results = count, retry_in = ?wait, "posting results: {error}");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Keeps the session and the running tasks' leases alive; stops tasks the relay cancelled.
    async fn heartbeat(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut lane = Lane::new(self.client.endpoint().clone());
        loop {
            let every = self
                .client
                .existing_session()
                .map_or(Duration::from_secs(1), |s| Duration::from_millis(s.registered.heartbeat_ms.max(50)));
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
            if self.client.existing_session().is_none() {
                continue; // the poller registers
            }
            let in_flight: Vec<String> = self.running.lock().map(|r| r.keys().cloned().collect()).unwrap_or_default();
            let body = wire::Heartbeat { in_flight: &in_flight };
            match self.client.call::<wire::HeartbeatAnswer>(&mut lane, Method::POST, "heartbeat", &body, None).await {
                Ok(answer) => self.cancel(&answer.cancel),
                Err(error) => tracing::warn!("heartbeat: {error}"),
            }
        }
    }

    /// Stops running tasks the relay no longer leases to this connector; their slots free up.
    fn cancel(&self, tasks: &[String]) {
        let Ok(mut running) = self.running.lock() else { return };
        for task in tasks {
            if let Some(handle) = running.remove(task) {
                handle.abort();
                self.dispatcher.status().in_flight.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(task = %task, "the relay cancelled this task (done elsewhere); stopped");
            }
        }
    }

    /// The shutdown sequence: drain, release, flush, goodbye.
    async fn stop(&self, stop: watch::Sender<bool>, sender: tokio::task::JoinHandle<()>) -> ShutdownReport {
        let mut report = ShutdownReport::default();
        let running_at_stop = self.in_flight();
        let drain_until = Instant::now() + self.drain;
        while self.in_flight() > 0 && Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unfinished: Vec<String> = match self.running.lock() {
            Ok(mut running) => running
                .drain()
                .map(|(task, handle)| {
                    handle.abort();
                    task
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        report.finished_in_drain = running_at_stop.saturating_sub(unfinished.len());
        let mut lane = Lane::new(self.client.endpoint().clone());
        if !unfinished.is_empty() {
            let body = wire::Release { tasks: &unfinished };
            match self.client.call::<serde_json::Value>(&mut lane, Method::POST, "release", &body, None).await {
                Ok(_) => report.released = unfinished.len(),
                Err(error) => tracing::warn!(
                    tasks = unfinished.len(),
                    "releasing unfinished tasks: {error}; the relay will re-issue them when their leases end"
                ),
            }
        }
        let _ = stop.send(true);
        if tokio::time::timeout(FLUSH_TIMEOUT, sender).await.is_err() {
            tracing::warn!("some results could not be posted before shutdown; the relay will re-issue their tasks");
            report.unsent_results = 1;
        }
        if self.client.existing_session().is_some()
            && let Err(error) = self
                .client
                .call::<serde_json::Value>(
                    &mut lane,
                    Method::DELETE,
                    "session",
                    &serde_json::json!({}),
                    Some(Duration::from_secs(5)),
                )
                .await
        {
            tracing::warn!("ending the session: {error}");
        }
        report
    }
}

fn result_frame(
    task: &str,
    attempt: u32,
    outcome: &Result<Box<RawValue>, TaskError>,
) -> serde_json::Result<Box<RawValue>> {
    let error;
    let outcome = match outcome {
        Ok(result) => wire::Outcome::Ok { result },
        Err(e) => {
            error = wire::ErrorFrame {
                code: e.code.to_string(),
                message: e.message.clone(),
                retryable: e.retryable,
                retry_after_ms: e.retry_after_ms,
            };
            wire::Outcome::Error { error: &error }
        }
    };
    serde_json::value::to_raw_value(&wire::TaskResult { task, attempt, outcome })
}

/// Uploads a sync's device batches on a lane of their own, retrying until the relay stores
/// each (the task's deadline bounds the whole sync).
struct RelayInventory {
    client: Arc<RelayClient>,
    lane: tokio::sync::Mutex<Lane>,
}

impl InventorySink for RelayInventory {
    fn send<'a>(
        &'a self,
        task: &'a str,
        instance: &'a str,
        seq: u64,
        devices: Vec<Box<RawValue>>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let body = wire::Inventory { task, instance, seq, devices: &devices };
            let mut backoff = Backoff::relay();
            let mut lane = self.lane.lock().await;
            loop {
                match self.client.call::<serde_json::Value>(&mut lane, Method::POST, "inventory", &body, None).await {
                    Ok(_) => return Ok(()),
                    Err(error)
                        if error.is_fatal()
                            || matches!(error, LinkError::Refused { status, .. } if status.is_client_error()) =>
                    {
                        return Err(error.to_string());
                    }
                    Err(error) => {
                        let wait = error.retry_after().unwrap_or_else(|| backoff.next_delay());
                        tracing::warn!(task, seq, retry_in = ?wait, "uploading inventory: {error}");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        })
    }
}
