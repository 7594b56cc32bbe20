//! The connector's Prometheus metrics, served as OpenMetrics text by the admin listener's
//! `/metrics`. Counters and histograms are recorded where things happen (tasks, plugin calls,
//! reloads, restores, logins); gauges (queue depths, the relay link, plugins serving) are read
//! when scraped.
//!
//! Labels are task kinds, outcome codes and instance names an admin chose: never a device, a
//! user name, a token or anything else that comes from the data.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Call {
    instance: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Instance {
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Path {
    path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Queue {
    queue: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latencies from 1 ms to about 33 s, doubling.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric, registered once per process.
pub struct Metrics {
    registry: Registry,
    tasks: Family<Outcome, Counter>,
    task_seconds: Histograms<Kind>,
    plugin_calls: Family<Call, Counter>,
    plugin_call_seconds: Histograms<Instance>,
    plugin_reloads: Family<Call, Counter>,
    tokens_restored: Family<Path, Counter>,
    login_failures: Family<Kind, Counter>,
    queue_depth: Family<Queue, Gauge>,
    queue_full: Family<Queue, Gauge>,
    relay_up: Gauge,
    plugins_serving: Gauge,
    plugins_refused: Gauge,
}

/// What the scrape reads from the running parts: the gauges.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Waiting items and whether the queue is full, per queue (`siem:<target>`, `mail`).
    pub queues: Vec<(String, u64, bool)>,
    /// `None` without a `[relay]`.
    pub relay_up: Option<bool>,
    pub plugins_serving: u64,
    pub plugins_refused: u64,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix("msc"),
            tasks: Family::default(),
            task_seconds: Family::new_with_constructor(latency),
            plugin_calls: Family::default(),
            plugin_call_seconds: Family::new_with_constructor(latency),
            plugin_reloads: Family::default(),
            tokens_restored: Family::default(),
            login_failures: Family::default(),
            queue_depth: Family::default(),
            queue_full: Family::default(),
            relay_up: Gauge::default(),
            plugins_serving: Gauge::default(),
            plugins_refused: Gauge::default(),
        };
        let mut registry = metrics.registry;
        registry.register(
            "tasks",
            "Tasks from the relay run to an answer, by kind and outcome (ok or the error code)",
            metrics.tasks.clone(),
        );
        registry.register("task_duration_seconds", "How long tasks took, by kind", metrics.task_seconds.clone());
        registry.register(
            "plugin_calls",
            "Plugin calls by instance and outcome: ok (the plugin answered, with a result or its own error), deadline, overloaded, memory, table, trap, exit, host, wrong-kind",
            metrics.plugin_calls.clone(),
        );
        registry.register(
            "plugin_call_duration_seconds",
            "How long plugin calls took, by instance",
            metrics.plugin_call_seconds.clone(),
        );
        registry.register(
            "plugin_reloads",
            "New plugin versions offered while running, by instance and outcome (swapped, refused)",
            metrics.plugin_reloads.clone(),
        );
        registry.register(
            "tokens_restored",
            "PII tokens restored to plaintext, by path (proxy: dashboard pages, task: records for plugins)",
            metrics.tokens_restored.clone(),
        );
        registry.register(
            "login_failures",
            "Failed local proxy logins, by kind (password, throttled)",
            metrics.login_failures.clone(),
        );
        registry.register("queue_depth", "Items waiting in each durable queue", metrics.queue_depth.clone());
        registry.register(
            "queue_full",
            "1 when a durable queue is full and refuses new items",
            metrics.queue_full.clone(),
        );
        registry.register(
            "relay_up",
            "1 while the relay link answers (registration or the last poll; absent without a [relay])",
            metrics.relay_up.clone(),
        );
        registry.register("plugins_serving", "Plugin instances serving a version", metrics.plugins_serving.clone());
        registry.register(
            "plugins_refused",
            "Plugin instances whose newest version was refused",
            metrics.plugins_refused.clone(),
        );
        Self { registry, ..metrics }
    }

    /// A task of `kind` answered with `outcome` (`ok` or its error code) after `elapsed`.
    pub fn task(&self, kind: &str, outcome: &str, elapsed: Duration) {
        self.tasks.get_or_create(&Outcome { kind: kind.into(), outcome: outcome.into() }).inc();
        self.task_seconds.get_or_create(&Kind { kind: kind.into() }).observe(elapsed.as_secs_f64());
    }

    /// A call of `instance` ended with `outcome` after `elapsed`.
    pub fn plugin_call(&self, instance: &str, outcome: &str, elapsed: Duration) {
        self.plugin_calls.get_or_create(&Call { instance: instance.into(), outcome: outcome.into() }).inc();
        self.plugin_call_seconds.get_or_create(&Instance { instance: instance.into() }).observe(elapsed.as_secs_f64());
    }

    /// A new version of `instance`'s plugin was `swapped` in or refused.
    pub fn plugin_reload(&self, instance: &str, swapped: bool) {
        let outcome = if swapped { "swapped" } else { "refused" };
        self.plugin_reloads.get_or_create(&Call { instance: instance.into(), outcome: outcome.into() }).inc();
    }

    /// `count` tokens restored on `path` (`proxy` or `task`).
    pub fn tokens_restored(&self, path: &str, count: u64) {
        if count > 0 {
            self.tokens_restored.get_or_create(&Path { path: path.into() }).inc_by(count);
        }
    }

    /// A local proxy login failed: a wrong password (or unknown user), or refused while throttled.
    pub fn login_failed(&self, kind: &str) {
        self.login_failures.get_or_create(&Kind { kind: kind.into() }).inc();
    }

    /// The OpenMetrics text of every metric, the gauges set from `snapshot` first.
    pub fn encode(&self, snapshot: &Snapshot) -> String {
        // Queues of a config no longer loaded disappear rather than keep their last depth.
        self.queue_depth.clear();
        self.queue_full.clear();
        for (queue, depth, full) in &snapshot.queues {
            let label = Queue { queue: queue.clone() };
            self.queue_depth.get_or_create(&label).set(i64::try_from(*depth).unwrap_or(i64::MAX));
            self.queue_full.get_or_create(&label).set(i64::from(*full));
        }
        self.relay_up.set(snapshot.relay_up.map_or(0, i64::from));
        self.plugins_serving.set(i64::try_from(snapshot.plugins_serving).unwrap_or(i64::MAX));
        self.plugins_refused.set(i64::try_from(snapshot.plugins_refused).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_gauges_come_out_as_openmetrics() {
        let metrics = Metrics::new();
        metrics.task("uem.sync", "ok", Duration::from_millis(20));
        metrics.task("uem.sync", "unavailable", Duration::from_millis(3));
        metrics.plugin_call("maas360", "deadline", Duration::from_secs(30));
        metrics.plugin_reload("maas360", false);
        metrics.tokens_restored("proxy", 3);
        metrics.tokens_restored("proxy", 0);
        metrics.login_failed("password");
        let snapshot = Snapshot {
            queues: vec![("siem:splunk".into(), 7, false), ("mail".into(), 0, true)],
            relay_up: Some(true),
            plugins_serving: 2,
            plugins_refused: 1,
        };
        let text = metrics.encode(&snapshot);
        for line in [
            "msc_tasks_total{kind=\"uem.sync\",outcome=\"ok\"} 1",
            "msc_tasks_total{kind=\"uem.sync\",outcome=\"unavailable\"} 1",
            "msc_task_duration_seconds_count{kind=\"uem.sync\"} 2",
            "msc_plugin_calls_total{instance=\"maas360\",outcome=\"deadline\"} 1",
            "msc_plugin_reloads_total{instance=\"maas360\",outcome=\"refused\"} 1",
            "msc_tokens_restored_total{path=\"proxy\"} 3",
            "msc_login_failures_total{kind=\"password\"} 1",
            "msc_queue_depth{queue=\"siem:splunk\"} 7",
            "msc_queue_full{queue=\"mail\"} 1",
            "msc_relay_up 1",
            "msc_plugins_serving 2",
            "msc_plugins_refused 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        let again = metrics.encode(&Snapshot::default());
        assert!(!again.contains("siem:splunk"), "a queue no longer configured is dropped");
    }
}
