//! A task frame from the relay, parsed into a typed task, or into the precise reason it cannot
//! be one. Parsing never panics and never gives up on a frame silently: anything with an id gets
//! an error result the cloud can show.

use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::MAX_DEADLINE;
use crate::plugins::worlds::mail::Message;
use crate::plugins::worlds::siem::Event;
use crate::plugins::worlds::uem::RiskLevel;

/// Used when a task names no deadline.
pub const DEFAULT_TASK_DEADLINE: Duration = Duration::from_secs(30);

pub struct Task {
    pub id: String,
    pub attempt: u32,
    pub deadline: Duration,
    pub instance: Option<String>,
    pub kind: TaskKind,
}

pub enum TaskKind {
    UemSync(SyncPayload),
    UemDevice { device_id: String },
    UemApps { device_id: String },
    UemSetRisk { device_id: String, level: RiskLevel },
    UemTest,
    SiemEvents { events: Vec<Event> },
    MailSend { message: Box<Message> },
    Status,
}

impl TaskKind {
    pub fn name(&self) -> &'static str {
        match self {
            TaskKind::UemSync(_) => "uem.sync",
            TaskKind::UemDevice { .. } => "uem.device",
            TaskKind::UemApps { .. } => "uem.apps",
            TaskKind::UemSetRisk { .. } => "uem.set-risk",
            TaskKind::UemTest => "uem.test",
            TaskKind::SiemEvents { .. } => "siem.events",
            TaskKind::MailSend { .. } => "mail.send",
            TaskKind::Status => "connector.status",
        }
    }
}

#[derive(Deserialize, Default)]
pub struct SyncPayload {
    pub since_ms: Option<u64>,
    pub page_size: Option<u32>,
    pub apps: Option<bool>,
}

/// Why a task failed, as the result frame carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
    pub retry_after_ms: Option<u64>,
}

impl TaskError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let retryable = matches!(
            code,
            "deadline-exceeded"
                | "plugin-failed"
                | "rate-limited"
                | "unavailable"
                | "timeout"
                | "deferred"
                | "shutting-down"
                | "queue-full"
                | "queue-unavailable"
        );
        Self { code, message: message.into(), retryable, retry_after_ms: None }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new("malformed-task", message)
    }
}

/// A frame that is not a task. With an id, the relay gets an error result for it; without one
/// there is nothing to answer and it is only logged.
#[derive(Debug)]
pub struct Malformed {
    pub id: Option<String>,
    pub attempt: u32,
    pub error: TaskError,
}

#[derive(Deserialize)]
struct Frame<'a> {
    id: String,
    kind: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default = "first_attempt")]
    attempt: u32,
    #[serde(default)]
    deadline_ms: Option<u64>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

fn first_attempt() -> u32 {
    1
}

/// Just enough of a broken frame to answer it.
#[derive(Deserialize)]
struct IdOnly {
    id: String,
    #[serde(default = "first_attempt")]
    attempt: u32,
}

const MAX_ID_BYTES: usize = 256;

pub fn parse(raw: &RawValue) -> Result<Task, Malformed> {
    let frame: Frame = serde_json::from_str(raw.get()).map_err(|e| {
        let (id, attempt) = match serde_json::from_str::<IdOnly>(raw.get()) {
            Ok(IdOnly { id, attempt }) if !id.is_empty() => (Some(id), attempt),
            _ => (None, 1),
        };
        Malformed { id, attempt, error: TaskError::malformed(format!("task frame: {e}")) }
    })?;
    // Any non-empty id is answered, even one this connector refuses to run under: otherwise the
    // relay would re-issue the frame forever.
    let malformed = |message: String| Malformed {
        id: (!frame.id.is_empty()).then(|| frame.id.clone()),
        attempt: frame.attempt,
        error: TaskError::malformed(message),
    };
    if !valid_id(&frame.id) {
        return Err(malformed(format!("task id must be 1 to {MAX_ID_BYTES} printable ASCII characters")));
    }
    let deadline = match frame.deadline_ms {
        None => DEFAULT_TASK_DEADLINE,
        Some(0) => return Err(malformed("deadline_ms must be more than 0".into())),
        Some(ms) => Duration::from_millis(ms).min(MAX_DEADLINE),
    };
    let payload = frame.payload.map_or("{}", RawValue::get);
    let kind = parse_kind(&frame.kind, payload).map_err(|error| Malformed {
        id: Some(frame.id.clone()),
        attempt: frame.attempt,
        error,
    })?;
    // Events without an instance go to every configured SIEM target.
    let needs_instance = !matches!(kind, TaskKind::Status | TaskKind::SiemEvents { .. });
    if needs_instance && frame.instance.as_deref().is_none_or(str::is_empty) {
        return Err(malformed(format!("a {} task must name its `instance`", kind.name())));
    }
    Ok(Task { id: frame.id, attempt: frame.attempt, deadline, instance: frame.instance, kind })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES && id.bytes().all(|b| b.is_ascii_graphic())
}

#[derive(Deserialize)]
struct DevicePayload {
    device_id: String,
}

#[derive(Deserialize)]
struct SetRiskPayload {
    device_id: String,
    level: RiskLevel,
}

#[derive(Deserialize)]
struct EventsPayload {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct MailPayload {
    message: Box<Message>,
}

fn parse_kind(kind: &str, payload: &str) -> Result<TaskKind, TaskError> {
    fn read<'a, T: Deserialize<'a>>(kind: &str, payload: &'a str) -> Result<T, TaskError> {
        serde_json::from_str(payload).map_err(|e| TaskError::malformed(format!("payload of {kind}: {e}")))
    }
    let device = |payload| -> Result<String, TaskError> {
        let p: DevicePayload = read(kind, payload)?;
        if p.device_id.is_empty() {
            return Err(TaskError::malformed(format!("payload of {kind}: `device_id` is empty")));
        }
        Ok(p.device_id)
    };
    Ok(match kind {
        "uem.sync" => TaskKind::UemSync(read(kind, payload)?),
        "uem.device" => TaskKind::UemDevice { device_id: device(payload)? },
        "uem.apps" => TaskKind::UemApps { device_id: device(payload)? },
        "uem.set-risk" => {
            let p: SetRiskPayload = read(kind, payload)?;
            TaskKind::UemSetRisk { device_id: p.device_id, level: p.level }
        }
        "uem.test" => TaskKind::UemTest,
        "siem.events" => TaskKind::SiemEvents { events: read::<EventsPayload>(kind, payload)?.events },
        "mail.send" => TaskKind::MailSend { message: read::<MailPayload>(kind, payload)?.message },
        "connector.status" => TaskKind::Status,
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(TaskError::new("unsupported-kind", format!("this connector does not handle `{shown}` tasks")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Result<Task, Malformed> {
        let raw: Box<RawValue> = serde_json::from_str(json).expect("valid JSON");
        parse(&raw)
    }

    fn refusal(json: &str) -> (Option<String>, String, &'static str) {
        match frame(json) {
            Ok(task) => panic!("{json} parsed as {}", task.kind.name()),
            Err(m) => (m.id, m.error.message, m.error.code),
        }
    }

    #[test]
    fn parses_every_kind() {
        let task = frame(
            r#"{"id":"t-1","kind":"uem.set-risk","instance":"maas360","attempt":2,"deadline_ms":5000,
                "payload":{"device_id":"D1","level":"High"},"future_key":true}"#,
        )
        .expect("valid");
        assert_eq!((task.id.as_str(), task.attempt, task.deadline), ("t-1", 2, Duration::from_secs(5)));
        assert!(
            matches!(task.kind, TaskKind::UemSetRisk { ref device_id, level: RiskLevel::High } if device_id == "D1")
        );
        let status = frame(r#"{"id":"t-2","kind":"connector.status"}"#).expect("valid");
        assert!(matches!(status.kind, TaskKind::Status));
        assert_eq!(status.deadline, DEFAULT_TASK_DEADLINE);
        let sync = frame(r#"{"id":"t-3","kind":"uem.sync","instance":"m","payload":{"since_ms":5}}"#).expect("valid");
        assert!(matches!(sync.kind, TaskKind::UemSync(SyncPayload { since_ms: Some(5), .. })));
    }

    #[test]
    fn malformed_frames_say_what_is_wrong() {
        let (id, message, code) =
            refusal(r#"{"id":"t-1","kind":"uem.set-risk","instance":"m","payload":{"device_id":"D"}}"#);
        assert_eq!((id.as_deref(), code), (Some("t-1"), "malformed-task"));
        assert!(message.contains("payload of uem.set-risk: missing field `level`"), "{message}");

        let (_, message, _) = refusal(
            r#"{"id":"t-1","kind":"uem.set-risk","instance":"m","payload":{"device_id":"D","level":"Severe"}}"#,
        );
        assert!(message.contains("unknown variant `Severe`"), "{message}");

        let (id, message, code) = refusal(r#"{"id":"t-9","kind":"uem.wipe","instance":"m"}"#);
        assert_eq!((id.as_deref(), code), (Some("t-9"), "unsupported-kind"));
        assert!(message.contains("`uem.wipe`"), "{message}");

        let (id, message, _) = refusal(r#"{"id":"t-4","kind":"uem.test"}"#);
        assert_eq!(id.as_deref(), Some("t-4"));
        assert!(message.contains("must name its `instance`"), "{message}");

        let (id, message, _) = refusal(r#"{"id":"t-5","attempt":3}"#);
        assert_eq!(id.as_deref(), Some("t-5"));
        assert!(message.contains("missing field `kind`"), "{message}");

        assert_eq!(refusal("42").0, None);
        assert_eq!(refusal(r#"{"kind":"uem.test"}"#).0, None);
        assert_eq!(refusal(r#"{"id":"","kind":"uem.test","instance":"m"}"#).0, None);
        let long = "x".repeat(300);
        let (id, message, _) = refusal(&format!(r#"{{"id":"{long}","kind":"uem.test","instance":"m"}}"#));
        assert_eq!(id, Some(long));
        assert!(message.contains("task id must be"), "{message}");
        let (_, message, _) = refusal(r#"{"id":"t-6","kind":"uem.test","instance":"m","deadline_ms":0}"#);
        assert!(message.contains("deadline_ms"), "{message}");
    }
}
