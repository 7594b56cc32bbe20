//! The outbox's deliverer: hands due mails to their backends, a few at once, and settles each
//! answer in one commit — delivered or refused for good: out of the outbox, its outcome queued
//! for the relay; refused for now: tried again after a backoff, until `expire_after`.
//!
//! A backend that fails twice in a row without a success in between (its server is down) is
//! paused for a backoff of its own, so an outage costs a few attempts, not one per waiting mail.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::QUEUE;
use super::entry::Entry;
use super::settle::{Change, Committer};
use crate::config::MailConfig;
use crate::dispatch::{Dispatcher, TaskError};
use crate::relay::backoff::Backoff;
use crate::relay::wire::result_frame;
use crate::store::outcomes::Outcomes;
use crate::store::{self, Store, StoreError, now_ms};

/// Mails read from the store per round.
const ROUND: usize = 10_000;
/// The longest one send may take, whatever the backend's own deadline.
const SEND_DEADLINE: Duration = Duration::from_secs(300);
/// A `Retry-After` longer than this is not honoured as is.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

pub struct Deliverer {
    store: Arc<Store>,
    config: MailConfig,
    wake: Arc<Notify>,
    dispatcher: Arc<Dispatcher>,
    committer: Committer,
    backends: HashMap<String, BackendState>,
}

/// Failures of one backend since its last success, and until when it rests.
#[derive(Default)]
struct BackendState {
    failures: u32,
    paused_until: Option<Instant>,
}

/// What became of one send.
enum Verdict {
    Delivered(Box<RawValue>),
    /// Refused for good, maybe sent, or out of time: reported, never tried again.
    Final(TaskError),
    /// Tried again at `next_ms`.
    Later {
        next_ms: u64,
        error: TaskError,
    },
}

impl Deliverer {
    pub fn new(
        store: Arc<Store>,
        outcomes: Arc<Outcomes>,
        config: MailConfig,
        wake: Arc<Notify>,
        dispatcher: Arc<Dispatcher>,
    ) -> Self {
        let committer = Committer::start(store.clone(), outcomes);
        Self { store, config, wake, dispatcher, committer, backends: HashMap::new() }
    }

    /// Delivers until `stop` turns true; sends in progress then finish.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let wake = self.wake.clone();
        while !*stop.borrow() {
            // Registered before looking, so a mail accepted in between still wakes us.
            let woken = wake.notified();
            let entries = match self.read().await {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::error!("mail outbox: {error}");
                    Vec::new()
                }
            };
            let now = now_ms();
            let due: VecDeque<(u64, Entry)> = entries.iter().filter(|(_, e)| e.next_ms <= now).cloned().collect();
            let sent_any = !due.is_empty() && self.send_round(due, &stop).await;
            if sent_any {
                continue;
            }
            // Nothing could go now: sleep until the next mail or backend is due, or a new mail.
            let next_ms = entries.iter().map(|(_, e)| e.next_ms).min();
            let wait = match next_ms {
                Some(at) => Duration::from_millis(at.saturating_sub(now)).max(self.rest_left()),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Sends the due mails, `concurrency` at once, skipping paused backends. Whether any was
    /// handed to a backend.
    async fn send_round(&mut self, mut due: VecDeque<(u64, Entry)>, stop: &watch::Receiver<bool>) -> bool {
        let mut running = JoinSet::new();
        let mut started = false;
        loop {
            while running.len() < self.config.concurrency && !*stop.borrow() {
                let Some((seq, entry)) = due.pop_front() else { break };
                if self.is_paused(&entry.instance) {
                    continue;
                }
                started = true;
                let dispatcher = self.dispatcher.clone();
                running.spawn(async move {
                    let deadline = Instant::now() + SEND_DEADLINE;
                    let outcome = dispatcher.send_mail(&entry.instance, &entry.message, deadline).await;
                    (seq, entry, outcome)
                });
            }
            let Some(joined) = running.join_next().await else {
                // The next read must see what this round decided.
                self.committer.flush().await;
                return started;
            };
            let Ok((seq, entry, outcome)) = joined else {
                tracing::error!("a mail send panicked (a bug); the mail stays in the outbox");
                continue;
            };
            self.settle(seq, entry, outcome);
        }
    }

    /// Decides what one send means and hands the change to the committer.
    fn settle(&mut self, seq: u64, mut entry: Entry, outcome: Result<Box<RawValue>, TaskError>) {
        entry.tries += 1;
        let backend = self.backends.entry(entry.instance.clone()).or_default();
        let verdict = judge(&self.config, backend, &entry, outcome, now_ms());
        let (task, tries) = (entry.task.as_str(), entry.tries);
        let outcome = match verdict {
            Verdict::Delivered(result) => {
                tracing::info!(task, instance = %entry.instance, tries, "mail delivered");
                Ok(result)
            }
            Verdict::Final(error) => {
                tracing::warn!(
                    task, instance = %entry.instance, tries, code = error.code,
                    "mail not delivered, for good: {}", error.message
                );
                Err(error)
            }
            Verdict::Later { next_ms, error } => {
                tracing::warn!(
                    task, instance = %entry.instance, tries, code = error.code,
                    retry_in_ms = next_ms.saturating_sub(now_ms()),
                    "mail not delivered yet: {}", error.message
                );
                entry.next_ms = next_ms;
                entry.last_error = Some(format!("{}: {}", error.code, error.message));
                self.committer.add(Change::Retry { seq, entry: entry.to_bytes() });
                return;
            }
        };
        match result_frame(task, entry.attempt, &outcome) {
            Ok(frame) => self.committer.add(Change::Done { seq, task: entry.task, frame }),
            // Cannot happen (the result is JSON already); the mail stays and goes again.
            Err(error) => tracing::error!(task, "the outcome cannot be serialized: {error}"),
        }
    }

    fn is_paused(&self, instance: &str) -> bool {
        self.backends.get(instance).and_then(|b| b.paused_until).is_some_and(|until| until > Instant::now())
    }

    /// How long until the last paused backend may be tried again.
    fn rest_left(&self) -> Duration {
        let now = Instant::now();
        self.backends
            .values()
            .filter_map(|b| b.paused_until)
            .map(|u| u.saturating_duration_since(now))
            .min()
            .unwrap_or_default()
    }

    /// The outbox's mails in order; an entry that does not decode (a damaged store) is logged
    /// and removed, as no task could be named for it.
    async fn read(&self) -> Result<Vec<(u64, Entry)>, StoreError> {
        let store = self.store.clone();
        let items = store::blocking(move || store.peek(QUEUE, ROUND, 256 << 20)).await?;
        let mut entries = Vec::with_capacity(items.len());
        let mut broken = Vec::new();
        for (seq, bytes) in items {
            match Entry::from_bytes(&bytes) {
                Ok(entry) => entries.push((seq, entry)),
                Err(error) => {
                    tracing::error!(seq, "mail outbox: an entry cannot be read ({error}); removed");
                    broken.push(seq);
                }
            }
        }
        if !broken.is_empty() {
            let store = self.store.clone();
            store::blocking(move || store.write(|tx| broken.into_iter().try_for_each(|seq| tx.remove(QUEUE, seq))))
                .await?;
        }
        Ok(entries)
    }
}

/// Decides what a send's outcome (at `now_ms`) means for the mail, and for its backend's rest.
fn judge(
    config: &MailConfig,
    backend: &mut BackendState,
    entry: &Entry,
    outcome: Result<Box<RawValue>, TaskError>,
    now_ms: u64,
) -> Verdict {
    let error = match outcome {
        Ok(result) => {
            *backend = BackendState::default();
            return Verdict::Delivered(result);
        }
        Err(error) if is_final(error.code) => return Verdict::Final(final_error(error)),
        Err(error) => error,
    };
    backend.failures += 1;
    if backend.failures >= 2 {
        let rest = Backoff::new(config.retry_min, config.retry_max).after(backend.failures - 2);
        backend.paused_until = Some(Instant::now() + rest);
    }
    let delay = match error.retry_after_ms {
        Some(ms) => Duration::from_millis(ms).min(MAX_RETRY_AFTER),
        None => Backoff::new(config.retry_min, config.retry_max).after(entry.tries.saturating_sub(1)),
    };
    let next_ms = now_ms + delay.as_millis() as u64;
    let expires_ms = entry.queued_ms + config.expire_after.as_millis() as u64;
    if next_ms > expires_ms {
        let message = format!(
            "not delivered within {} ({} tries); the last: {}: {}",
            humantime::format_duration(config.expire_after),
            entry.tries,
            error.code,
            error.message
        );
        return Verdict::Final(final_error(TaskError::new("expired", message)));
    }
    Verdict::Later { next_ms, error }
}

/// Errors a retry cannot fix: the server refused the mail, may already have sent it (sending
/// again could deliver it twice), or the task itself is wrong. Everything else — unreachable
/// servers, throttling, and what the admin can repair (credentials, config, a missing
/// instance) — is tried again until the mail expires.
fn is_final(code: &str) -> bool {
    matches!(
        code,
        "rejected" | "outcome-unknown" | "restore-failed" | "invalid-input" | "not-found" | "forbidden" | "protocol"
    )
}

/// An outcome is final: the cloud must not read it as "try again".
fn final_error(error: TaskError) -> TaskError {
    TaskError { retryable: false, retry_after_ms: None, ..error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::worlds::mail::Message;
    use crate::plugins::worlds::{Pii, PiiKind};

    fn entry(tries: u32, queued_ms: u64) -> Entry {
        let text = |value: &str| Pii { kind: PiiKind::FreeText, value: value.into() };
        let message = Message {
            id: "t-1".into(),
            sender: None,
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: None,
            subject: text("s"),
            text_body: Some(text("b")),
            html_body: None,
            headers: Vec::new(),
        };
        Entry { tries, queued_ms, ..Entry::new("t-1", 1, "smtp", message) }
    }

    fn config() -> MailConfig {
        MailConfig {
            retry_min: Duration::from_secs(10),
            retry_max: Duration::from_secs(80),
            expire_after: Duration::from_secs(3600),
            ..MailConfig::default()
        }
    }

    fn deferred() -> Result<Box<RawValue>, TaskError> {
        Err(TaskError::new("deferred", "451 4.3.0 try later"))
    }

    #[test]
    fn transient_failures_back_off_and_then_expire() {
        let (config, mut backend) = (config(), BackendState::default());
        let Verdict::Later { next_ms, error } = judge(&config, &mut backend, &entry(1, 0), deferred(), 1000) else {
            panic!("retried")
        };
        assert!((6_000..=11_000).contains(&next_ms), "first retry after 5-10 s: {next_ms}");
        assert_eq!(error.code, "deferred");
        assert!(backend.paused_until.is_none(), "one failure does not rest the backend");
        let Verdict::Later { next_ms, .. } = judge(&config, &mut backend, &entry(5, 0), deferred(), 1000) else {
            panic!("retried")
        };
        assert!((41_000..=81_000).contains(&next_ms), "capped at retry_max: {next_ms}");
        assert!(backend.paused_until.is_some(), "two failures in a row rest the backend");
        let throttled = Err(TaskError { retry_after_ms: Some(120_000), ..TaskError::new("rate-limited", "429") });
        let Verdict::Later { next_ms, .. } = judge(&config, &mut backend, &entry(1, 0), throttled, 1000) else {
            panic!("retried")
        };
        assert_eq!(next_ms, 121_000, "Retry-After is honoured");
        let Verdict::Final(error) = judge(&config, &mut backend, &entry(3, 0), deferred(), 3_595_000) else {
            panic!("expired")
        };
        assert_eq!((error.code, error.retryable), ("expired", false));
        assert!(error.message.contains("1h") && error.message.contains("451 4.3.0"), "{}", error.message);
    }

    #[test]
    fn refusals_and_ambiguous_sends_are_final_and_success_resets_the_backend() {
        let (config, mut backend) = (config(), BackendState { failures: 5, paused_until: Some(Instant::now()) });
        for code in ["rejected", "outcome-unknown", "restore-failed", "invalid-input"] {
            let Verdict::Final(error) = judge(&config, &mut backend, &entry(1, 0), Err(TaskError::new(code, "x")), 0)
            else {
                panic!("{code} is final")
            };
            assert!(!error.retryable, "{code}");
        }
        for code in ["auth-failed", "invalid-config", "unknown-instance", "plugin-failed", "unavailable"] {
            let verdict = judge(&config, &mut backend, &entry(1, 0), Err(TaskError::new(code, "x")), 0);
            assert!(matches!(verdict, Verdict::Later { .. }), "{code} is retried");
        }
        let delivered = serde_json::value::to_raw_value(&serde_json::json!({"delivery": {}})).expect("json");
        assert!(matches!(judge(&config, &mut backend, &entry(1, 0), Ok(delivered), 0), Verdict::Delivered(_)));
        assert_eq!((backend.failures, backend.paused_until), (0, None));
    }
}
