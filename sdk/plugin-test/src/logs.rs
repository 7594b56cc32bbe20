//! What each plugin instance logged during a test, for [`RunningPlugin::logs`](crate::RunningPlugin::logs).
//!
//! The runtime writes a plugin's lines (and the host's notes about it, such as a denied host)
//! as `tracing` events with an `instance` field. The harness's own dispatcher keeps the events
//! of the instances it started; it is the default on the harness's runtime threads and around
//! every blocking call, so the test's own global subscriber, if it has one, is left alone.
//! With `RUST_LOG` set, events are also printed (e.g. `RUST_LOG=info cargo test -- --nocapture`).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer};

/// Lines per instance, for the instances registered (the harness's own).
static LINES: LazyLock<Mutex<HashMap<String, Vec<String>>>> = LazyLock::new(Mutex::default);

/// The harness's dispatcher: the capture, and printing when `RUST_LOG` is set.
pub(crate) fn dispatch() -> &'static Dispatch {
    static DISPATCH: OnceLock<Dispatch> = OnceLock::new();
    DISPATCH.get_or_init(|| {
        let print = EnvFilter::try_from_default_env()
            .ok()
            .map(|filter| tracing_subscriber::fmt::layer().with_test_writer().with_filter(filter));
        Dispatch::new(tracing_subscriber::registry().with(Capture).with(print))
    })
}

/// Starts keeping the lines of `instance`.
pub(crate) fn register(instance: &str) {
    lines().insert(instance.to_string(), Vec::new());
}

/// Stops keeping the lines of `instance` and forgets them.
pub(crate) fn unregister(instance: &str) {
    lines().remove(instance);
}

/// The lines `instance` logged so far.
pub(crate) fn of(instance: &str) -> Vec<String> {
    lines().get(instance).cloned().unwrap_or_default()
}

fn lines() -> MutexGuard<'static, HashMap<String, Vec<String>>> {
    LINES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps each event that names a registered instance as `LEVEL message key=value…`.
struct Capture;

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        let Some(instance) = line.instance else { return };
        if let Some(kept) = lines().get_mut(&instance) {
            kept.push(format!("{} {}{}", event.metadata().level(), line.message, line.fields));
        }
    }
}

#[derive(Default)]
struct Line {
    instance: Option<String>,
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "instance" => self.instance = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            // Where a plugin's line came from (log, stdout, stderr): noise in a test.
            "source" => {}
            name => {
                let _ = write!(self.fields, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_events_of_registered_instances_only() {
        register("logs-test-a");
        tracing::dispatcher::with_default(dispatch(), || {
            let instance = "logs-test-a";
            tracing::info!(target: "plugin", instance, source = "log", "signed in");
            tracing::warn!(instance = %"logs-test-a", target = "https://x", "http denied");
            tracing::info!(instance = "logs-test-b", "someone else");
            tracing::info!("no instance");
        });
        assert_eq!(of("logs-test-a"), ["INFO signed in", "WARN http denied target=https://x"]);
        assert!(of("logs-test-b").is_empty());
        unregister("logs-test-a");
        assert!(of("logs-test-a").is_empty());
    }
}
