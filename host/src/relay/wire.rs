//! The frames of relay protocol v1 (`docs/relay-protocol.md`), as serde types. Unknown keys are
//! ignored both ways, as the protocol's upgrade rules require.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub const PROTOCOL: u32 = 1;
pub const PROTOCOL_HEADER: &str = "msc-relay-protocol";
pub const BASE_PATH: &str = "/relay/v1";

#[derive(Serialize)]
pub struct Register<'a> {
    pub protocol: u32,
    pub connector: ConnectorIdentity<'a>,
    pub keyring: &'a str,
    pub capacity: u32,
    pub instances: Vec<InstanceInfo<'a>>,
}

#[derive(Serialize)]
pub struct ConnectorIdentity<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub run: &'a str,
}

#[derive(Serialize)]
pub struct InstanceInfo<'a> {
    pub name: &'a str,
    pub kind: &'a str,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Registered {
    pub session: String,
    pub connector_id: String,
    #[serde(default)]
    pub group: Option<String>,
    pub heartbeat_ms: u64,
    pub session_timeout_ms: u64,
    pub poll_wait_ms: u64,
    pub max_batch: u32,
}

#[derive(Serialize)]
pub struct Poll {
    pub credit: u32,
    pub wait_ms: u64,
}

/// Tasks stay raw until the dispatcher parses each: one malformed frame must not cost the
/// others of its batch.
#[derive(Deserialize)]
pub struct Polled {
    pub tasks: Vec<Box<RawValue>>,
}

#[derive(Serialize)]
pub struct Heartbeat<'a> {
    pub in_flight: &'a [String],
}

#[derive(Deserialize, Default)]
pub struct HeartbeatAnswer {
    #[serde(default)]
    pub cancel: Vec<String>,
}

#[derive(Serialize)]
pub struct Results<'a> {
    pub results: &'a [&'a RawValue],
}

#[derive(Deserialize, Default)]
pub struct ResultsAnswer {
    #[serde(default)]
    pub accepted: Vec<String>,
    #[serde(default)]
    pub duplicate: Vec<String>,
    #[serde(default)]
    pub unknown: Vec<String>,
}

/// Later outcomes of tasks answered before their work was done (a queued mail).
#[derive(Serialize)]
pub struct Outcomes<'a> {
    pub outcomes: &'a [&'a RawValue],
}

/// Just the task id of a result or outcome frame.
#[derive(Deserialize)]
pub struct FrameTask {
    pub task: String,
}

/// One task's outcome, as sent.
#[derive(Serialize)]
pub struct TaskResult<'a> {
    pub task: &'a str,
    pub attempt: u32,
    #[serde(flatten)]
    pub outcome: Outcome<'a>,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome<'a> {
    Ok { result: &'a RawValue },
    Error { error: &'a ErrorFrame },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ErrorFrame {
    pub code: String,
    pub message: String,
    pub retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry_after_ms: Option<u64>,
}

#[derive(Serialize)]
pub struct Inventory<'a> {
    pub task: &'a str,
    pub attempt: u32,
    pub instance: &'a str,
    pub seq: u64,
    /// Device lines, each already JSON.
    pub devices: &'a [Box<RawValue>],
}

#[derive(Serialize)]
pub struct Release<'a> {
    pub tasks: &'a [String],
}

#[derive(Deserialize, Default)]
pub struct Released {
    #[serde(default)]
    pub released: Vec<String>,
}

/// The body of every non-2xx answer.
#[derive(Deserialize, Debug, Default)]
pub struct RelayError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
}

/// The frame of a task's result (or its later outcome): `{"task", "attempt", "status", "result" | "error"}`.
pub fn result_frame(
    task: &str,
    attempt: u32,
    outcome: &Result<Box<RawValue>, crate::dispatch::TaskError>,
) -> serde_json::Result<Box<RawValue>> {
    let error;
    let outcome = match outcome {
        Ok(result) => Outcome::Ok { result },
        Err(e) => {
            error = ErrorFrame {
                code: e.code.to_string(),
                message: e.message.clone(),
                retryable: e.retryable,
                retry_after_ms: e.retry_after_ms,
            };
            Outcome::Error { error: &error }
        }
    };
    serde_json::value::to_raw_value(&TaskResult { task, attempt, outcome })
}
