//! The last warnings and errors the connector logged, kept in memory for the local proxy's
//! status page: what an admin checks first when something is off, without a shell on the host.
//!
//! A `tracing` layer beside the log's own: it sees what the log filter lets through, formatted
//! the same way, so it holds nothing the log does not (no secrets, personal values scrubbed).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// How many problems are kept; older ones are dropped first.
pub const KEPT: usize = 50;

/// One logged warning or error.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Problem {
    /// Seconds since the Unix epoch.
    pub at: u64,
    pub level: &'static str,
    /// The module that logged it, e.g. `connector::relay`.
    pub target: String,
    /// The message, then each field as ` name=value`.
    pub message: String,
}

static PROBLEMS: Mutex<VecDeque<Problem>> = Mutex::new(VecDeque::new());

/// The kept problems, newest first.
pub fn recent() -> Vec<Problem> {
    PROBLEMS.lock().unwrap_or_else(PoisonError::into_inner).iter().rev().cloned().collect()
}

/// The layer that keeps them: add it to the subscriber beside the log's formatter.
pub struct RecentProblems;

impl<S: Subscriber> Layer<S> for RecentProblems {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let problem = Problem {
            at,
            level: if level == Level::ERROR { "error" } else { "warn" },
            target: event.metadata().target().to_string(),
            message: text.message + &text.fields,
        };
        let mut problems = PROBLEMS.lock().unwrap_or_else(PoisonError::into_inner);
        if problems.len() == KEPT {
            problems.pop_front();
        }
        problems.push_back(problem);
    }
}

#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn keeps_warnings_and_errors_newest_first_and_only_the_last_ones() {
        let subscriber = tracing_subscriber::registry().with(RecentProblems);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not a problem");
            tracing::warn!(instance = "maas360", "self-test: 1 of 2 checks failed");
            for i in 0..KEPT {
                tracing::error!("problem {i}");
            }
        });
        let problems = recent();
        assert_eq!(problems.len(), KEPT);
        assert_eq!(problems[0].message, format!("problem {}", KEPT - 1));
        assert_eq!(problems[0].level, "error");
        assert!(problems.iter().all(|p| p.message != "not a problem"));
        assert!(problems.iter().all(|p| !p.message.starts_with("self-test")), "the oldest was dropped");
    }
}
