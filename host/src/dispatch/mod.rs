//! The dispatcher: one task from the relay in, one result out. It routes each task to the
//! plugin instance it names, restores the personal values inside the task just before the plugin
//! sees them, and sends every result back through the PII filter: typed records field by field,
//! free text (plugin messages, error text) through the scrubber, which knows the values the task
//! restored. Nothing a plugin says reaches the relay any other way.

pub mod task;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::inventory::{self, AppLine, DeviceLine, SyncOptions, SyncedLine};
use crate::mail::MailOutbox;
use crate::pii::{FieldPolicy, Kind, PiiFields, PiiFilter, known_values};
use crate::plugins::worlds::mail::{Message, SendError};
use crate::plugins::worlds::siem::Origin;
use crate::plugins::worlds::{CallError, Error};
use crate::plugins::{LookupError, PluginError, PluginFault, PluginRuntime};
use crate::siem::{AcceptError, SiemDelivery};
use crate::store::StoreError;
pub use task::{Malformed, Task, TaskError, TaskKind};

/// Devices per inventory request.
pub const INVENTORY_BATCH: usize = 250;

/// Where a `uem.sync` sends its device lines (the relay's inventory endpoint).
pub trait InventorySink: Send + Sync {
    /// Stores batch `seq` of attempt `attempt` of `task`'s devices; retried by the implementation
    /// until it succeeds or gives up with a message.
    fn send<'a>(
        &'a self,
        task: &'a str,
        attempt: u32,
        instance: &'a str,
        seq: u64,
        devices: Vec<Box<RawValue>>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// What `connector.status` reports about this process.
pub struct ConnectorStatus {
    pub name: String,
    pub version: String,
    pub run: String,
    pub keyring: String,
    pub capacity: u32,
    pub started: Instant,
    pub in_flight: Arc<AtomicUsize>,
}

pub struct Dispatcher {
    runtime: Arc<PluginRuntime>,
    filter: Arc<PiiFilter>,
    status: ConnectorStatus,
    origin: Origin,
    /// SIEM targets with durable queues; without any, `siem.events` only formats.
    siem: Option<Arc<SiemDelivery>>,
    /// The durable mail outbox; without it, `mail.send` sends at once and answers with the delivery.
    mail: Option<Arc<MailOutbox>>,
}

impl Dispatcher {
    pub fn new(runtime: Arc<PluginRuntime>, filter: Arc<PiiFilter>, status: ConnectorStatus) -> Self {
        let origin = Origin { hostname: status.name.clone(), app_name: "connector".into() };
        Self { runtime, filter, status, origin, siem: None, mail: None }
    }

    /// Delivers `siem.events` to these targets (queued durably before the task is answered).
    pub fn with_siem(mut self, siem: Arc<SiemDelivery>) -> Self {
        self.siem = Some(siem);
        self
    }

    /// Stores `mail.send` tasks in `outbox` and answers them once stored; the outbox's
    /// deliverer sends them with [`Dispatcher::send_mail`].
    pub fn with_mail(mut self, outbox: Arc<MailOutbox>) -> Self {
        self.mail = Some(outbox);
        self
    }

    pub fn filter(&self) -> &Arc<PiiFilter> {
        &self.filter
    }

    pub fn status(&self) -> &ConnectorStatus {
        &self.status
    }

    /// Runs `task` to its result, stopping at its deadline. The result is JSON with every personal
    /// value a token; so is the error's message.
    pub async fn run(&self, task: &Task, inventory: &dyn InventorySink) -> Result<Box<RawValue>, TaskError> {
        let started = Instant::now();
        let deadline = started + task.deadline;
        let mut known = Vec::new();
        let outcome = tokio::time::timeout_at(deadline.into(), self.route(task, deadline, inventory, &mut known)).await;
        let result = self.finished(outcome, deadline, known, || {
            format!("{} did not finish within its deadline of {:?}", task.kind.name(), task.deadline)
        });
        let code = result.as_ref().map_or_else(|e| e.code, |_| "ok");
        crate::metrics::metrics().task(task.kind.name(), code, started.elapsed());
        result
    }

    /// Sends one mail of the outbox now, exactly as a `mail.send` task without an outbox would:
    /// tokens restored for the backend, the delivery tokenized, error text scrubbed.
    pub async fn send_mail(
        &self,
        instance: &str,
        message: &Message,
        deadline: Instant,
    ) -> Result<Box<RawValue>, TaskError> {
        let mut known = Vec::new();
        let outcome =
            tokio::time::timeout_at(deadline.into(), self.send_now(instance, message, deadline, &mut known)).await;
        self.finished(outcome, deadline, known, || format!("the mail backend `{instance}` did not answer in time"))
    }

    /// A task's (or a mail's) outcome as the cloud may see it: out of time becomes
    /// `deadline-exceeded`, and error text loses every value the work restored.
    fn finished(
        &self,
        outcome: Result<Result<Box<RawValue>, TaskError>, tokio::time::error::Elapsed>,
        deadline: Instant,
        known: Vec<(Kind, String)>,
        late: impl FnOnce() -> String,
    ) -> Result<Box<RawValue>, TaskError> {
        out_of_time(outcome, deadline, Instant::now(), late).map_err(|mut error| {
            error.message = self.filter.scrubber(known).scrub(&error.message).into_owned();
            error
        })
    }

    async fn route(
        &self,
        task: &Task,
        deadline: Instant,
        inventory: &dyn InventorySink,
        known: &mut Vec<(Kind, String)>,
    ) -> Result<Box<RawValue>, TaskError> {
        let instance = task.instance.as_deref().unwrap_or_default();
        let policy = self.filter.fields();
        match &task.kind {
            TaskKind::Status => to_raw(&self.status_report()),
            TaskKind::UemTest => {
                let checks = self.uem(instance, deadline)?.test_connection().await.map_err(call_error)?;
                self.scrubbed(&Checks { checks }, known)
            }
            TaskKind::UemDevice { device_id } => {
                let mut device = self.uem(instance, deadline)?.get_device(device_id).await.map_err(call_error)?;
                known.extend(known_values(&mut device, policy));
                self.tokenize(&mut device)?;
                to_raw(&DeviceResult { device: DeviceLine(&device) })
            }
            TaskKind::UemApps { device_id } => {
                let mut apps = self.uem(instance, deadline)?.list_apps(device_id).await.map_err(call_error)?;
                known.extend(known_values(&mut apps, policy));
                self.tokenize(&mut apps)?;
                to_raw(&AppsResult { apps: apps.iter().map(AppLine).collect() })
            }
            TaskKind::UemSetRisk { device_id, level } => {
                let update = self.uem(instance, deadline)?.set_risk(device_id, *level).await.map_err(call_error)?;
                self.scrubbed(&RiskResult { update }, known)
            }
            TaskKind::UemSync(payload) => self.sync(task, instance, deadline, payload, inventory).await,
            TaskKind::SiemEvents { events } => {
                let mut restored = events.clone();
                self.restore(&mut restored, policy, known)?;
                if let Some(siem) = self.siem.as_ref().filter(|s| !s.is_empty()) {
                    let mut report = siem
                        .accept(&self.runtime, &self.origin, events, &restored, task.instance.as_deref(), deadline)
                        .await
                        .map_err(accept_error)?;
                    // Only a formatter's error text can carry what the events held: scrub just
                    // that, rather than build a scrubber over every restored value of every task.
                    if report.targets.iter().any(|t| t.first_error.is_some()) {
                        let scrubber = self.filter.scrubber(known.iter().cloned());
                        for error in report.targets.iter_mut().filter_map(|t| t.first_error.as_mut()) {
                            *error = scrubber.scrub(error).into_owned();
                        }
                    }
                    return to_raw(&report);
                }
                if instance.is_empty() {
                    return Err(TaskError::new(
                        "unknown-instance",
                        "no [siem] targets are configured here, so a siem.events task must name a formatter instance",
                    ));
                }
                let siem = self.runtime.siem(instance).map_err(lookup_error)?.with_deadline(deadline);
                let formatted = siem.format(&self.origin, &restored).await.map_err(plugin_error)?;
                let mut report = SiemReport::default();
                for outcome in formatted {
                    match outcome {
                        Ok(bytes) => {
                            report.formatted += 1;
                            report.bytes += bytes.len() as u64;
                        }
                        Err(error) => {
                            report.failed += 1;
                            report.first_error.get_or_insert_with(|| call_error(error).message);
                        }
                    }
                }
                self.scrubbed(&report, known)
            }
            TaskKind::MailSend { message } => {
                // Backends make the Message-ID from `id`: the task's, whatever the payload said,
                // so every attempt of a task sends the same Message-ID.
                let message = Message { id: task.id.clone(), ..message.as_ref().clone() };
                let Some(outbox) = &self.mail else {
                    return self.send_now(instance, &message, deadline, known).await;
                };
                // Checked before storing: a mail that can never be sent is refused now, not
                // after it waited in the outbox. The outbox keeps the tokens, not the plaintext.
                self.runtime.mail(instance).map_err(lookup_error)?;
                self.restore(&mut message.clone(), policy, known)?;
                let queued =
                    outbox.accept(&task.id, task.attempt, instance, &message).await.map_err(|e| store_error(&e))?;
                to_raw(&queued)
            }
        }
    }

    async fn send_now(
        &self,
        instance: &str,
        message: &Message,
        deadline: Instant,
        known: &mut Vec<(Kind, String)>,
    ) -> Result<Box<RawValue>, TaskError> {
        let mut message = message.clone();
        self.restore(&mut message, self.filter.fields(), known)?;
        let mail = self.runtime.mail(instance).map_err(lookup_error)?.with_deadline(deadline);
        let mut delivery = mail.send(&message).await.map_err(send_error)?;
        self.tokenize(&mut delivery)?;
        // A Message-ID made from the message's id looks like an address to the detectors, but
        // names the task, not a person: it goes as is, so the cloud can match it with bounces.
        let derived = crate::mail::is_derived_message_id(&delivery.message_id, &message.id);
        let message_id = derived.then(|| delivery.message_id.clone());
        let mut result = self.scrubbed_value(&MailResult { delivery }, known)?;
        if let Some(message_id) = message_id {
            result["delivery"]["message_id"] = message_id.into();
        }
        to_raw(&result)
    }

    fn uem(&self, instance: &str, deadline: Instant) -> Result<crate::plugins::Uem, TaskError> {
        Ok(self.runtime.uem(instance).map_err(lookup_error)?.with_deadline(deadline))
    }

    /// Restores the tokens of a task's record in place and remembers their plaintext, which the
    /// result and error text must not carry back.
    fn restore<T: PiiFields + ?Sized>(
        &self,
        record: &mut T,
        policy: &FieldPolicy,
        known: &mut Vec<(Kind, String)>,
    ) -> Result<(), TaskError> {
        self.filter.incoming(record).map_err(|e| TaskError::new("restore-failed", e.to_string()))?;
        known.extend(known_values(record, policy));
        Ok(())
    }

    fn tokenize<T: PiiFields + ?Sized>(&self, record: &mut T) -> Result<(), TaskError> {
        self.filter.outgoing(record).map_err(|e| {
            TaskError::new("internal", format!("a result could not be tokenized, so it was not sent: {e}"))
        })
    }

    /// Serializes a result whose strings are free text (plugin messages): every string value
    /// goes through the scrubber.
    fn scrubbed<T: Serialize>(&self, result: &T, known: &[(Kind, String)]) -> Result<Box<RawValue>, TaskError> {
        to_raw(&self.scrubbed_value(result, known)?)
    }

    fn scrubbed_value<T: Serialize>(
        &self,
        result: &T,
        known: &[(Kind, String)],
    ) -> Result<serde_json::Value, TaskError> {
        let mut value = serde_json::to_value(result).map_err(serialize_error)?;
        let scrubber = self.filter.scrubber(known.iter().cloned());
        scrub_strings(&mut value, &|text| scrubber.scrub(text).into_owned());
        Ok(value)
    }

    async fn sync(
        &self,
        task: &Task,
        instance: &str,
        deadline: Instant,
        payload: &task::SyncPayload,
        inventory: &dyn InventorySink,
    ) -> Result<Box<RawValue>, TaskError> {
        let uem = self.uem(instance, deadline)?;
        let options = SyncOptions {
            page_size: payload.page_size.unwrap_or(SyncOptions::default().page_size).clamp(1, 1000),
            changed_since_ms: payload.since_ms,
            apps: payload.apps.unwrap_or(true),
        };
        // Lines go to an uploader running beside the sync, a batch at a time. The sync's sink
        // cannot wait, so the channel is unbounded; the plugin paging the UEM is far slower than
        // the relay storing what it found, so few batches ever wait in it.
        let (batches, mut to_upload) = tokio::sync::mpsc::unbounded_channel::<Vec<Box<RawValue>>>();
        let upload = async {
            let mut seq = 0;
            while let Some(devices) = to_upload.recv().await {
                inventory.send(&task.id, task.attempt, instance, seq, devices).await?;
                seq += 1;
            }
            Ok::<_, String>(())
        };
        let collect = async {
            let mut batch = Vec::with_capacity(INVENTORY_BATCH);
            let report = inventory::sync(&uem, &self.filter, &options, |synced| {
                let line = serde_json::value::to_raw_value(&SyncedLine::new(instance, &synced))
                    .map_err(std::io::Error::other)?;
                batch.push(line);
                if batch.len() == INVENTORY_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(INVENTORY_BATCH));
                    batches.send(full).map_err(|_| std::io::Error::other("the inventory upload stopped"))?;
                }
                Ok(())
            })
            .await;
            if !batch.is_empty() {
                let _ = batches.send(batch);
            }
            drop(batches);
            report
        };
        let (report, uploaded) = tokio::join!(collect, upload);
        uploaded.map_err(|reason| TaskError::new("unavailable", format!("uploading the inventory: {reason}")))?;
        let report = report.map_err(|e| match e {
            inventory::InventoryError::Call(error) => call_error(error),
            other => TaskError::new("internal", other.to_string()),
        })?;
        to_raw(&SyncResult {
            devices: report.devices,
            pages: report.pages,
            repeats: report.repeats,
            vanished: report.vanished,
            page_retries: report.page_retries,
            next_since_ms: report.next_since_ms,
        })
    }

    fn status_report(&self) -> StatusReport<'_> {
        let s = &self.status;
        StatusReport {
            name: &s.name,
            version: &s.version,
            run: &s.run,
            keyring: &s.keyring,
            uptime_ms: u64::try_from(s.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            in_flight: s.in_flight.load(Ordering::Relaxed),
            capacity: s.capacity,
            instances: self
                .runtime
                .status()
                .into_iter()
                .map(|s| InstanceStatus { name: s.instance, kind: s.kind, plugin_sha256: s.sha256, refused: s.refused })
                .collect(),
        }
    }
}

fn to_raw<T: Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, TaskError> {
    serde_json::value::to_raw_value(value).map_err(serialize_error)
}

fn serialize_error(e: serde_json::Error) -> TaskError {
    TaskError::new("internal", format!("the result could not be serialized: {e}"))
}

fn scrub_strings(value: &mut serde_json::Value, scrub: &dyn Fn(&str) -> String) {
    match value {
        serde_json::Value::String(text) => *text = scrub(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| scrub_strings(v, scrub)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| scrub_strings(v, scrub)),
        _ => {}
    }
}

/// A full queue is worth retrying later (the cloud keeps the work); a broken store is not ours
/// to fix from the cloud, but retrying after the admin repairs it is still right.
fn accept_error(error: AcceptError) -> TaskError {
    match error {
        AcceptError::Lookup(error) => lookup_error(error),
        AcceptError::Plugin(error) => plugin_error(error),
        AcceptError::UnknownTarget(_) => TaskError::new("unknown-instance", error.to_string()),
        AcceptError::Queue(error) => store_error(&error),
    }
}

fn store_error(error: &StoreError) -> TaskError {
    match error {
        StoreError::Full { .. } => TaskError::new("queue-full", error.to_string()),
        StoreError::Unavailable { .. } => TaskError::new("queue-unavailable", error.to_string()),
    }
}

/// Work that ran out of its time, whichever way it noticed, is `deadline-exceeded`: the task's
/// timer fired, or a plugin's `timeout` came back at or after the deadline — its HTTP waits end
/// there (capabilities::http caps them), so that and the timer are one event, and which of the
/// two wins the race must not change the code the cloud sees.
fn out_of_time(
    outcome: Result<Result<Box<RawValue>, TaskError>, tokio::time::error::Elapsed>,
    deadline: Instant,
    now: Instant,
    late: impl FnOnce() -> String,
) -> Result<Box<RawValue>, TaskError> {
    match outcome {
        Err(_) => Err(TaskError::new("deadline-exceeded", late())),
        Ok(Err(error)) if error.code == "timeout" && now >= deadline => {
            Err(TaskError::new("deadline-exceeded", error.message))
        }
        Ok(result) => result,
    }
}

fn lookup_error(error: LookupError) -> TaskError {
    TaskError::new("unknown-instance", error.to_string())
}

fn plugin_error(error: PluginError) -> TaskError {
    let code = match error.fault {
        PluginFault::DeadlineExceeded(_) => "deadline-exceeded",
        PluginFault::WrongKind { .. } => "unknown-instance",
        _ => "plugin-failed",
    };
    TaskError::new(code, error.to_string())
}

/// A plugin's typed error keeps its name as the code; the sandbox's faults become
/// `plugin-failed` or `deadline-exceeded`.
fn call_error(error: CallError) -> TaskError {
    match error {
        CallError::Sandbox(error) => plugin_error(error),
        CallError::Reported { error, .. } => reported(&error),
    }
}

fn reported(error: &Error) -> TaskError {
    let (code, retry_after_ms) = match error {
        Error::AuthFailed(_) => ("auth-failed", None),
        Error::Forbidden(_) => ("forbidden", None),
        Error::NotFound(_) => ("not-found", None),
        Error::RateLimited(r) => ("rate-limited", r.retry_after_ms),
        Error::Unavailable(r) => ("unavailable", r.retry_after_ms),
        Error::Timeout(_) => ("timeout", None),
        Error::InvalidInput(_) => ("invalid-input", None),
        Error::InvalidConfig(_) => ("invalid-config", None),
        Error::Protocol(_) => ("protocol", None),
        Error::Internal(_) => ("internal", None),
    };
    TaskError { retry_after_ms, ..TaskError::new(code, error.to_string()) }
}

fn send_error(error: CallError<SendError>) -> TaskError {
    match error {
        CallError::Sandbox(error) => plugin_error(error),
        CallError::Reported { error, .. } => match error {
            SendError::Rejected(f) => TaskError::new("rejected", f.message),
            SendError::Deferred(f) => {
                TaskError { retry_after_ms: f.retry_after_ms, ..TaskError::new("deferred", f.message) }
            }
            SendError::OutcomeUnknown(f) => TaskError::new("outcome-unknown", f.message),
            SendError::Failed(error) => reported(&error),
        },
    }
}

#[derive(Serialize)]
struct Checks {
    checks: Vec<crate::plugins::worlds::Check>,
}

#[derive(Serialize)]
struct DeviceResult<'a> {
    device: DeviceLine<'a>,
}

#[derive(Serialize)]
struct AppsResult<'a> {
    apps: Vec<AppLine<'a>>,
}

#[derive(Serialize)]
struct RiskResult {
    update: crate::plugins::worlds::uem::RiskUpdate,
}

#[derive(Serialize)]
struct MailResult {
    delivery: crate::plugins::worlds::mail::Delivery,
}

#[derive(Serialize, Default)]
struct SiemReport {
    formatted: u64,
    failed: u64,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
}

#[derive(Serialize)]
struct SyncResult {
    devices: u64,
    pages: u32,
    repeats: u64,
    vanished: u64,
    page_retries: u32,
    next_since_ms: u64,
}

#[derive(Serialize)]
struct StatusReport<'a> {
    name: &'a str,
    version: &'a str,
    run: &'a str,
    keyring: &'a str,
    uptime_ms: u64,
    in_flight: usize,
    capacity: u32,
    instances: Vec<InstanceStatus>,
}

#[derive(Serialize)]
struct InstanceStatus {
    name: String,
    kind: &'static str,
    plugin_sha256: String,
    /// Why the last version offered was refused (the one named by `plugin_sha256` serves).
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_timeout_at_the_deadline_is_the_deadline() {
        let deadline = Instant::now();
        let timeout = || Ok(Err(TaskError::new("timeout", "timed out")));
        let code = |result: Result<Box<RawValue>, TaskError>| result.err().map(|e| e.code);
        let late = || "late".to_string();
        assert_eq!(code(out_of_time(timeout(), deadline, deadline, late)), Some("deadline-exceeded"));
        let before = deadline - std::time::Duration::from_millis(5);
        assert_eq!(code(out_of_time(timeout(), deadline, before, late)), Some("timeout"), "the UEM's own timeout");
        let not_found = Ok(Err(TaskError::new("not-found", "no such device")));
        assert_eq!(code(out_of_time(not_found, deadline, deadline, late)), Some("not-found"), "a real answer");
    }
}
