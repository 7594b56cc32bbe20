//! The relay link: the connector's only connection to the cloud, always dialed from here
//! (`docs/relay-protocol.md`).
//!
//! Four loops share one session: the **poller** asks for as many tasks as there are free slots
//! (flow control: with no free slot it does not ask) and starts each on the dispatcher; the
//! **result sender** posts finished results in batches and keeps each until the relay lists it
//! (and the **outcome sender** does the same for the durable outcomes of mails delivered later);
//! the **heartbeat** keeps the session and the leases of every task held here (running, or
//! answered and not yet acknowledged) alive and stops tasks the relay cancelled; **inventory** uploads stream a sync's devices. Each loop retries on its own with
//! jittered backoff; registration is shared, so a relay restart costs one new session.
//!
//! A slot is held from the poll that asked for a task until the relay acknowledged its result,
//! so a relay that stops taking results also stops the connector from taking more work.

pub mod backoff;
pub mod client;
mod held;
pub mod transport;
pub mod wire;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::value::RawValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::background::AbortOnDrop;
use crate::capabilities::log::sanitize;
use crate::config::RelayConfig;
use crate::dispatch::{self, Dispatcher, InventorySink, Malformed, TaskError};
use crate::store::outcomes::Outcomes;
use backoff::Backoff;
pub use client::{Identity, LinkError, RelayClient};
use held::Held;
use transport::{Endpoint, Lane};
use wire::result_frame;

/// How long the result sender keeps trying to post what it holds once the link is stopping.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long releasing unfinished tasks and ending the session may take at shutdown.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);
/// A poll request may take this much longer than the wait it asked for.
const POLL_SLACK: Duration = Duration::from_secs(15);
/// A relay answering polls at once with nothing is not polled more often than this.
const MIN_EMPTY_POLL_GAP: Duration = Duration::from_millis(100);
/// The longest a relay may make the connector wait (`Retry-After`).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

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
    held: Held,
    results: mpsc::UnboundedSender<Pending>,
    /// The other end of `results`, taken by the result sender when the link is served.
    pending: Mutex<Option<mpsc::UnboundedReceiver<Pending>>>,
    inventory: RelayInventory,
    /// Outcomes decided after their task was answered; posted when set.
    outcomes: Mutex<Option<Arc<Outcomes>>>,
    /// Told whether polls are answered, for `/readyz` and `/metrics`; when set.
    state: std::sync::OnceLock<LinkState>,
}

/// Whether the relay answers this connector's polls: up after an answered poll, down after a
/// failed registration or poll. Shared with the admin listener, which starts before the link.
#[derive(Clone, Debug, Default)]
pub struct LinkState(Arc<std::sync::atomic::AtomicBool>);

impl LinkState {
    pub fn is_up(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.0.store(up, std::sync::atomic::Ordering::Relaxed);
    }
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
        let held = Held::new(dispatcher.status().in_flight.clone());
        Ok(Arc::new(Self {
            inventory: RelayInventory { client: client.clone(), lane: tokio::sync::Mutex::new(Lane::new(endpoint)) },
            client,
            dispatcher,
            slots: Arc::new(Semaphore::new(config.capacity as usize)),
            drain: config.drain,
            held,
            results,
            pending: Mutex::new(Some(pending)),
            outcomes: Mutex::new(None),
            state: std::sync::OnceLock::new(),
        }))
    }

    /// Posts the outcomes `outcomes` receives (mails delivered after their task was answered)
    /// while the link serves. Set before [`RelayLink::serve`].
    pub fn report_outcomes(&self, outcomes: Arc<Outcomes>) {
        if let Ok(mut slot) = self.outcomes.lock() {
            *slot = Some(outcomes);
        }
    }

    /// Registers, serves tasks until `shutdown` completes, then drains: running tasks get the
    /// configured drain time, the rest are released to other connectors, held results are
    /// posted, and the session ends. Returns early only on an error no retry can fix (refused
    /// enrollment token, keyring mismatch, protocol version). Serve a link once, and to the end:
    /// dropping the future leaves its loops running.
    pub async fn serve(self: &Arc<Self>, shutdown: impl Future<Output = ()>) -> Result<ShutdownReport, LinkError> {
        let Some(pending) = self.pending.lock().ok().and_then(|mut p| p.take()) else {
            return Err(LinkError::AlreadyServed);
        };
        let (stop, stopped) = watch::channel(false);
        let sender = tokio::spawn(self.clone().send_results(pending, stopped.clone()));
        let heartbeat = tokio::spawn(self.clone().heartbeat(stopped));
        let outcomes = self.outcomes.lock().ok().and_then(|o| o.clone());
        // Outcomes are durable: the sender just stops with the link, nothing is lost.
        let outcome_sender = outcomes.map(|outcomes| AbortOnDrop(tokio::spawn(self.clone().send_outcomes(outcomes))));
        tokio::pin!(shutdown);
        let outcome = tokio::select! {
            result = self.poll() => Err(result),
            () = &mut shutdown => Ok(()),
        };
        self.set_up(false);
        let report = self.stop(stop, sender).await;
        heartbeat.abort();
        drop(outcome_sender);
        outcome.map(|()| report)
    }

    /// Keeps `state` told whether the relay answers (its registration or the last poll). Set before [`RelayLink::serve`].
    pub fn report_state(&self, state: LinkState) {
        let _ = self.state.set(state);
    }

    fn set_up(&self, up: bool) {
        if let Some(state) = self.state.get() {
            state.set(up);
        }
    }

    /// Tasks running now.
    pub fn in_flight(&self) -> usize {
        self.held.running()
    }

    /// Asks for work whenever a slot is free; returns only on a fatal error.
    async fn poll(self: &Arc<Self>) -> LinkError {
        let mut lane = Lane::new(self.client.endpoint().clone());
        let mut backoff = Backoff::relay();
        // The session generation last seen: a new one is a registration the relay just answered,
        // so the link is up without waiting for the first long poll to come back.
        let mut seen = 0;
        loop {
            // The slots are never closed, so this waits until one is free.
            let Ok(first) = self.slots.clone().acquire_owned().await else {
                return LinkError::AlreadyServed;
            };
            let session = match self.client.session(&mut lane).await {
                Ok(session) => session,
                Err(error) => match retry_wait(error, &mut backoff, "registering with the relay") {
                    Ok(wait) => {
                        self.set_up(false);
                        drop(first);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    Err(fatal) => return fatal,
                },
            };
            if session.generation != seen {
                seen = session.generation;
                self.set_up(true);
            }
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
            let asked = Instant::now();
            match self.client.call::<wire::Polled>(&mut lane, Method::POST, "poll", &request, Some(timeout)).await {
                Ok(polled) => {
                    backoff.reset();
                    self.set_up(true);
                    if polled.tasks.len() > slots.len() {
                        tracing::warn!(
                            credit = slots.len(),
                            sent = polled.tasks.len(),
                            "the relay sent more tasks than asked for; running them all"
                        );
                    }
                    let empty = polled.tasks.is_empty();
                    for raw in polled.tasks {
                        self.start(raw, slots.pop());
                    }
                    drop(slots);
                    if empty && asked.elapsed() < MIN_EMPTY_POLL_GAP {
                        tokio::time::sleep(MIN_EMPTY_POLL_GAP).await;
                    }
                }
                Err(error) => match retry_wait(error, &mut backoff, "polling for tasks") {
                    Ok(wait) => {
                        self.set_up(false);
                        drop(slots);
                        tokio::time::sleep(wait).await;
                    }
                    Err(fatal) => return fatal,
                },
            }
        }
    }

    /// Parses a frame and runs it on its own task; a frame that is not a task is answered with
    /// an error result at once.
    fn start(self: &Arc<Self>, raw: Box<RawValue>, slot: Option<OwnedSemaphorePermit>) {
        let task = match dispatch::task::parse(&raw) {
            Ok(task) => task,
            Err(Malformed { id: Some(id), attempt, mut error }) => {
                // Parse errors quote the frame: scrub them like any text that leaves.
                error.message = self.scrub(&error.message);
                tracing::warn!(task = %shown(&id), code = error.code, "refused a task: {}", error.message);
                self.finish(&id, attempt, Err(error), slot);
                return;
            }
            Err(Malformed { id: None, error, .. }) => {
                tracing::warn!("dropped a task frame with no usable id: {}", self.scrub(&error.message));
                return;
            }
        };
        let link = self.clone();
        let id = task.id.clone();
        let started = self.held.start(&id, move || {
            tokio::spawn(async move {
                // Answers the task with an error if the dispatcher panics, so its lease does not
                // live on forever in the heartbeats.
                let mut guard =
                    PanicGuard { link: link.clone(), task: task.id.clone(), attempt: task.attempt, slot, armed: true };
                let outcome = link.dispatcher.run(&task, &link.inventory).await;
                guard.armed = false;
                let slot = guard.slot.take();
                drop(guard);
                link.finish(&task.id, task.attempt, outcome, slot);
            })
            .abort_handle()
        });
        if !started {
            // The relay re-issued a task held here (running, or answered and not yet
            // acknowledged, e.g. across a new session): the one held answers for both.
            tracing::debug!(task = %shown(&id), "already held");
        }
    }

    /// Records a task's outcome and queues its result for the relay.
    fn finish(
        &self,
        task: &str,
        attempt: u32,
        outcome: Result<Box<RawValue>, TaskError>,
        slot: Option<OwnedSemaphorePermit>,
    ) {
        self.held.answered(task);
        let frame = match result_frame(task, attempt, &outcome) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::error!(task = %shown(task), "cannot serialize a result: {e}");
                self.held.acknowledged([task]);
                return;
            }
        };
        if self.results.send(Pending { task: task.to_string(), frame, _slot: slot }).is_err() {
            self.held.acknowledged([task]);
            tracing::warn!(task = %shown(task), "the result sender has stopped; the relay will re-issue this task");
        }
    }

    fn scrub(&self, text: &str) -> String {
        self.dispatcher.filter().scrub(text).into_owned()
    }

    /// Posts results in batches until the link stops and nothing is left to post.
    /// Returns how many results it still held when it stopped (0 on a clean stop).
    async fn send_results(
        self: Arc<Self>,
        mut queue: mpsc::UnboundedReceiver<Pending>,
        mut stopped: watch::Receiver<bool>,
    ) -> usize {
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
                        None => return 0,
                    },
                    _ = stopped.wait_for(|stop| *stop) => match queue.try_recv() {
                        Ok(result) => pending.push(result),
                        Err(_) => return 0,
                    },
                }
            }
            while let Ok(result) = queue.try_recv() {
                pending.push(result);
            }
            let max_batch = self.client.existing_session().map_or(256, |s| s.registered.max_batch.max(1) as usize);
            let count = pending.len().min(max_batch).min(limit);
            let frames: Vec<&RawValue> = pending[..count].iter().map(|p| p.frame.as_ref()).collect();
            let body = wire::Results { results: &frames };
            let wait = match self
                .client
                .call::<wire::ResultsAnswer>(&mut lane, Method::POST, "results", &body, None)
                .await
            {
                Ok(answer) => {
                    limit = usize::MAX;
                    for task in &answer.unknown {
                        tracing::warn!(task = %shown(task), "the relay does not know this task; its result was dropped");
                    }
                    let listed: HashSet<&str> = answer
                        .accepted
                        .iter()
                        .chain(&answer.duplicate)
                        .chain(&answer.unknown)
                        .map(String::as_str)
                        .collect();
                    self.held.acknowledged(listed.iter().copied());
                    let before = pending.len();
                    pending.retain(|p| !listed.contains(p.task.as_str()));
                    if before - pending.len() == count {
                        backoff.reset();
                        None
                    } else {
                        // Sending the same batch again at once would spin.
                        tracing::warn!(
                            unlisted = count - (before - pending.len()),
                            "the relay did not list every result it was sent; sending those again"
                        );
                        Some(backoff.next_delay())
                    }
                }
                Err(LinkError::Refused { status: StatusCode::PAYLOAD_TOO_LARGE, .. }) if count > 1 => {
                    limit = count / 2;
                    None
                }
                Err(LinkError::Refused { status: StatusCode::PAYLOAD_TOO_LARGE, .. }) => {
                    // One result too large for the relay: answer the task with an error instead,
                    // or it would block every result behind it.
                    let too_large = TaskError::new("internal", "the result is larger than the relay accepts");
                    let first = &mut pending[0];
                    tracing::error!(task = %shown(&first.task), "a result is too large for the relay; sending an error in its place");
                    match result_frame(&first.task, 0, &Err(too_large)) {
                        Ok(frame) => first.frame = frame,
                        Err(_) => {
                            let dropped = pending.remove(0);
                            self.held.acknowledged([dropped.task.as_str()]);
                        }
                    }
                    None
                }
                Err(LinkError::Refused { status: StatusCode::BAD_REQUEST, message, .. }) => {
                    if count > 1 {
                        // One bad result must not hold back the others: find it.
                        limit = 1;
                    } else {
                        let dropped = pending.remove(0);
                        self.held.acknowledged([dropped.task.as_str()]);
                        tracing::error!(task = %shown(&dropped.task), "the relay refused this result as malformed ({}); dropped", shown(&message));
                    }
                    None
                }
                Err(error) => {
                    let wait = error.retry_after().unwrap_or_else(|| backoff.next_delay());
                    tracing::warn!(results = count, retry_in = ?wait, "posting results: {error}");
                    Some(wait)
                }
            };
            if let Some(wait) = wait {
                tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
            }
        }
    }

    /// Posts durable outcomes in batches, removing each once the relay lists it. Runs until
    /// aborted.
    async fn send_outcomes(self: Arc<Self>, outcomes: Arc<Outcomes>) {
        let mut lane = Lane::new(self.client.endpoint().clone());
        let mut backoff = Backoff::relay();
        // Lowered to one after a 400 or 413, to find the outcome the relay refuses.
        let mut limit = usize::MAX;
        loop {
            let max = self.client.existing_session().map_or(256, |s| s.registered.max_batch.max(1) as usize);
            let batch = match outcomes.next(max.min(limit)).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!("reading outcomes: {error}");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            let mut done = Vec::new();
            let mut sent = Vec::new();
            for (seq, frame) in batch {
                let task = frame.as_ref().and_then(|f| serde_json::from_str::<wire::FrameTask>(f.get()).ok());
                match (frame, task) {
                    (Some(frame), Some(task)) => sent.push((seq, task.task, frame)),
                    _ => {
                        tracing::error!(seq, "an outcome in the store is damaged; dropped");
                        done.push(seq);
                    }
                }
            }
            let frames: Vec<&RawValue> = sent.iter().map(|(_, _, frame)| frame.as_ref()).collect();
            let answer = if frames.is_empty() {
                Ok(wire::ResultsAnswer::default())
            } else {
                let body = wire::Outcomes { outcomes: &frames };
                self.client.call::<wire::ResultsAnswer>(&mut lane, Method::POST, "outcomes", &body, None).await
            };
            let wait = match answer {
                Ok(answer) => {
                    limit = usize::MAX;
                    backoff.reset();
                    let listed: HashSet<&str> = answer
                        .accepted
                        .iter()
                        .chain(&answer.duplicate)
                        .chain(&answer.unknown)
                        .map(String::as_str)
                        .collect();
                    for task in &answer.unknown {
                        tracing::warn!(task = %shown(task), "the relay does not know this task; its outcome was dropped");
                    }
                    let taken: Vec<u64> = sent
                        .iter()
                        .filter(|(_, task, _)| listed.contains(task.as_str()))
                        .map(|(seq, ..)| *seq)
                        .collect();
                    // Unlisted ones (their results not accepted yet) go again, after a pause.
                    let wait = (taken.len() < sent.len()).then(|| backoff.next_delay());
                    done.extend(taken);
                    wait
                }
                Err(LinkError::Refused { status, message, .. })
                    if status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    if sent.len() > 1 {
                        limit = 1;
                    } else if let Some((seq, task, _)) = sent.first() {
                        tracing::error!(task = %shown(task), "the relay refused this outcome ({}); dropped", shown(&message));
                        done.push(*seq);
                    }
                    None
                }
                Err(error) => {
                    let wait = error.retry_after().unwrap_or_else(|| backoff.next_delay());
                    tracing::warn!(outcomes = sent.len(), retry_in = ?wait, "posting outcomes: {error}");
                    Some(wait)
                }
            };
            if !done.is_empty()
                && let Err(error) = outcomes.remove(done).await
            {
                tracing::error!("removing posted outcomes: {error}");
            }
            if let Some(wait) = wait {
                tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
            }
        }
    }

    /// Keeps the session and the held tasks' leases alive; stops tasks the relay cancelled.
    async fn heartbeat(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut lane = Lane::new(self.client.endpoint().clone());
        loop {
            let Some(session) = self.client.existing_session() else {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue, // the poller registers
                    _ = stopped.wait_for(|stop| *stop) => return,
                }
            };
            let every = Duration::from_millis(session.registered.heartbeat_ms.max(50));
            // A heartbeat still unanswered when the session would time out is worthless: give up
            // on it and dial again rather than let the session die waiting.
            let timeout = Duration::from_millis(session.registered.session_timeout_ms).saturating_sub(every).max(every);
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
            let in_flight = self.held.ids();
            let body = wire::Heartbeat { in_flight: &in_flight };
            match self
                .client
                .call::<wire::HeartbeatAnswer>(&mut lane, Method::POST, "heartbeat", &body, Some(timeout))
                .await
            {
                Ok(answer) => {
                    for task in self.held.cancel(&answer.cancel) {
                        tracing::info!(task = %shown(&task), "the relay cancelled this task (done elsewhere); stopped");
                    }
                }
                Err(error) => tracing::warn!("heartbeat: {error}"),
            }
        }
    }

    /// The shutdown sequence: drain, release, flush, goodbye.
    async fn stop(&self, stop: watch::Sender<bool>, mut sender: tokio::task::JoinHandle<usize>) -> ShutdownReport {
        let mut report = ShutdownReport::default();
        let running_at_stop = self.in_flight();
        let drain_until = Instant::now() + self.drain;
        while self.in_flight() > 0 && Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unfinished = self.held.abort_running();
        report.finished_in_drain = running_at_stop.saturating_sub(unfinished.len());
        let mut lane = Lane::new(self.client.endpoint().clone());
        if !unfinished.is_empty() {
            let body = wire::Release { tasks: &unfinished };
            match self.client.call_in_session::<wire::Released>(&mut lane, "release", &body, GOODBYE_TIMEOUT).await {
                Ok(answer) => report.released = answer.released.len(),
                Err(error) => tracing::warn!(
                    tasks = unfinished.len(),
                    "releasing unfinished tasks: {error}; the relay will re-issue them when their leases end"
                ),
            }
        }
        let _ = stop.send(true);
        report.unsent_results = match tokio::time::timeout(FLUSH_TIMEOUT, &mut sender).await {
            Ok(Ok(unsent)) => unsent,
            Ok(Err(_)) | Err(_) => {
                sender.abort();
                self.held.ids().len()
            }
        };
        if report.unsent_results > 0 {
            tracing::warn!(
                results = report.unsent_results,
                "results not posted before shutdown; the relay will re-issue their tasks"
            );
        }
        if let Err(error) = self.client.end_session(&mut lane, GOODBYE_TIMEOUT).await {
            tracing::warn!("ending the session: {error}");
        }
        report
    }
}

/// Answers a task whose dispatcher panicked. Disarmed when the task finishes; dropped armed
/// without a panic means the task was cancelled, which needs no answer.
struct PanicGuard {
    link: Arc<RelayLink>,
    task: String,
    attempt: u32,
    slot: Option<OwnedSemaphorePermit>,
    armed: bool,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if self.armed && std::thread::panicking() {
            tracing::error!(task = %shown(&self.task), "the task panicked (a bug); answering it with an error");
            let error = TaskError::new("internal", "the connector failed while running this task");
            self.link.finish(&self.task, self.attempt, Err(error), self.slot.take());
        }
    }
}

/// Text the relay chose (task ids, error messages), as logged: at most 80 characters, control
/// and invisible characters escaped by the log's own `sanitize`.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    let escaped = sanitize(&cut);
    if text.chars().count() > 80 { format!("{escaped}…") } else { escaped }
}

/// Logs a failed exchange and says how long to wait before the next, or returns the error if it
/// is fatal.
fn retry_wait(error: LinkError, backoff: &mut Backoff, doing: &str) -> Result<Duration, LinkError> {
    if error.is_fatal() {
        return Err(error);
    }
    let wait = error.retry_after().unwrap_or_else(|| backoff.next_delay()).min(MAX_RETRY_AFTER);
    tracing::warn!(retry_in = ?wait, "{doing}: {error}");
    Ok(wait)
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
        attempt: u32,
        instance: &'a str,
        seq: u64,
        devices: Vec<Box<RawValue>>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let body = wire::Inventory { task, attempt, instance, seq, devices: &devices };
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
