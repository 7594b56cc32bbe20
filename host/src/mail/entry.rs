//! One mail in the outbox: the task it came from, the message with its personal data still
//! tokens (restored only for the moment a backend sends it), and its delivery bookkeeping.

use serde::{Deserialize, Serialize};

use crate::plugins::worlds::mail::Message;
use crate::store::now_ms;

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Entry {
    pub task: String,
    /// The task attempt that was answered "queued"; the outcome names it.
    pub attempt: u32,
    pub instance: String,
    pub message: Message,
    pub queued_ms: u64,
    /// Sends tried so far.
    #[serde(default)]
    pub tries: u32,
    /// Not tried again before this time.
    #[serde(default)]
    pub next_ms: u64,
    /// The last transient failure, as the cloud would see it (tokens, never plaintext).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Entry {
    pub fn new(task: &str, attempt: u32, instance: &str, message: Message) -> Self {
        let now = now_ms();
        Self {
            task: task.to_string(),
            attempt,
            instance: instance.to_string(),
            message,
            queued_ms: now,
            tries: 0,
            next_ms: now,
            last_error: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // A message is strings and lists of strings: serializing it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
