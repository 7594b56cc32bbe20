//! Load run of the task path: the cloud emulator (in this process) hands tasks to a `connector
//! run` process (release build) over HTTPS; every figure is measured against a baseline in the
//! same run.
//!
//! - **Baseline**: a no-op client in this process that polls and posts an empty `ok` result for
//!   every task, with the connector's own HTTP/TLS client: the relay round trip alone.
//! - **Trivial plugin**: `uem.test` on `test_plugin_trivial.wasm` — one sandboxed plugin call per
//!   task, result through the PII filter.
//! - **Latency** at half the trivial throughput: tasks enqueued at a steady rate; latency from
//!   enqueue to the relay storing the result (the emulator's clock has 1 ms resolution).
//! - **MaaS360 set-risk** against the MaaS360 emulator (HTTPS, private CA).
//! - **Failover**: two connectors take a steady stream; one is killed with SIGKILL; the time
//!   until every task it held is completed by the other, and the number lost.
//!
//! `cargo bench -p connector --bench relay_load` (after `scripts/build-plugins`);
//! `MSC_RELAY_BENCH_TASKS` sets the burst size (default 50 000).

#[path = "../tests/common/relay_site.rs"]
mod relay_site;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloud_emulator::TaskSpec;
use connector::config::Config;
use connector::pii::keyring::Keyring;
use connector::relay::transport::{Endpoint, Lane};
use connector::relay::{Identity, RelayClient, wire};
use http::Method;
use relay_site::{Connector, Site};
use serde_json::{Value, json};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let tasks: usize = std::env::var("MSC_RELAY_BENCH_TASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let site = Site::start(200).await;
    let config = site.config("bench-1", "pii.keyring", "");

    let baseline = baseline(&site, &config, tasks).await;
    println!(
        "baseline (no-op client, relay round trip only): {tasks} tasks in {:.2?} = {:.0} tasks/s",
        baseline.0, baseline.1
    );

    let connector = Connector::start_logging(&config, "warn");
    warm_up(&site).await;
    let polls_before = site.cloud.stats().polls;
    let (elapsed, trivial_rate) = burst(&site, tasks, trivial).await;
    let polls = site.cloud.stats().polls - polls_before;
    println!(
        "connector, trivial plugin: {tasks} tasks in {elapsed:.2?} = {trivial_rate:.0} tasks/s ({:.2}x the baseline's time; {polls} polls)",
        baseline.1 / trivial_rate
    );

    for (rate, what) in [(trivial_rate / 2.0, "half the trivial rate"), (5000.0, "half the 10 000/s goal")] {
        let (p50, p99, offered) = latency(&site, rate, Duration::from_secs(5)).await;
        println!("latency at {offered:.0} tasks/s ({what}): p50 {p50} ms, p99 {p99} ms");
    }

    let devices: Vec<String> = site.maas360.devices().into_iter().map(|d| d.id).collect();
    let risk_tasks = 2000;
    let mut n = 0;
    let (elapsed, risk_rate) = burst(&site, risk_tasks, || {
        n += 1;
        let level = if n % 2 == 0 { "High" } else { "None" };
        TaskSpec::new("uem.set-risk", Some("maas360"), json!({"device_id": devices[n % devices.len()], "level": level}))
    })
    .await;
    println!("connector, MaaS360 set-risk: {risk_tasks} tasks in {elapsed:.2?} = {risk_rate:.0} tasks/s");
    drop(connector);

    let (failover, lost, held) = failover(&site).await;
    println!(
        "failover after SIGKILL of one of two connectors: {failover} ms until the {held} tasks it held unanswered were completed by the other; lost: {lost}"
    );
}

fn trivial() -> TaskSpec {
    TaskSpec::new("uem.test", Some("trivial"), json!({}))
}

async fn warm_up(site: &Site) {
    let ids = site.cloud.enqueue_many((0..2000).map(|_| trivial()).collect());
    assert!(site.cloud.wait_completed(&ids, Duration::from_secs(120)).await, "warm-up did not complete");
}

/// Enqueues `count` tasks at once and waits for all; returns the time and the rate.
async fn burst(site: &Site, count: usize, mut spec: impl FnMut() -> TaskSpec) -> (Duration, f64) {
    let specs: Vec<TaskSpec> = (0..count).map(|_| spec()).collect();
    let started = Instant::now();
    let ids = site.cloud.enqueue_many(specs);
    assert!(site.cloud.wait_completed(&ids, Duration::from_secs(600)).await, "burst did not complete");
    let elapsed = started.elapsed();
    for id in ids.iter().step_by(97) {
        let view = site.cloud.task(id).expect("task");
        assert_eq!(view.status.as_deref(), Some("ok"), "{view:?}");
    }
    (elapsed, count as f64 / elapsed.as_secs_f64())
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// Offers `rate` tasks/s for `duration` in 1 ms ticks; returns p50 and p99 latency in ms.
async fn latency(site: &Site, rate: f64, duration: Duration) -> (u64, u64, f64) {
    let mut sent: Vec<(String, f64)> = Vec::new();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    while started.elapsed() < duration {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as usize;
        if due > sent.len() {
            let at = now_ms();
            let ids = site.cloud.enqueue_many((sent.len()..due).map(|_| trivial()).collect());
            sent.extend(ids.into_iter().map(|id| (id, at)));
        }
    }
    let offered = sent.len() as f64 / started.elapsed().as_secs_f64();
    let ids: Vec<String> = sent.iter().map(|(id, _)| id.clone()).collect();
    assert!(site.cloud.wait_completed(&ids, Duration::from_secs(120)).await, "latency run did not complete");
    let mut latencies: Vec<u64> = sent
        .iter()
        .filter_map(|(id, at)| {
            let done = site.cloud.task(id)?.completed_at_ms? as f64;
            Some((done - at).max(0.0).round() as u64)
        })
        .collect();
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (pick(0.50), pick(0.99), offered)
}

/// The relay round trip alone: poll, answer `ok` at once, post, repeat.
async fn baseline(site: &Site, config: &std::path::Path, count: usize) -> (Duration, f64) {
    let relay = Config::load(config).expect("config").relay.expect("[relay]");
    let keyring = Keyring::load(&site.path("pii.keyring")).expect("keyring").fingerprint();
    let identity = Identity {
        name: "baseline".into(),
        version: "0".into(),
        run: "baseline".into(),
        keyring,
        capacity: 256,
        instances: vec![],
    };
    let endpoint = std::sync::Arc::new(Endpoint::new(&relay).expect("endpoint"));
    let client = RelayClient::new(endpoint.clone(), relay.enrollment_token.clone(), identity);
    let mut lane = Lane::new(endpoint);
    let ids = site.cloud.enqueue_many((0..count).map(|_| trivial()).collect());
    let mut open: HashSet<String> = ids.iter().cloned().collect();
    let started = Instant::now();
    while !open.is_empty() {
        let polled: wire::Polled = client
            .call(&mut lane, Method::POST, "poll", &wire::Poll { credit: 256, wait_ms: 1000 }, None)
            .await
            .expect("poll");
        let results: Vec<Value> = polled
            .tasks
            .iter()
            .filter_map(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .map(|task| json!({"task": task["id"], "attempt": task["attempt"], "status": "ok", "result": {}}))
            .collect();
        for result in &results {
            if let Some(id) = result["task"].as_str() {
                open.remove(id);
            }
        }
        let _: wire::ResultsAnswer =
            client.call(&mut lane, Method::POST, "results", &json!({"results": results}), None).await.expect("results");
    }
    let elapsed = started.elapsed();
    let _: Result<Value, _> = client.call(&mut lane, Method::DELETE, "session", &json!({}), None).await;
    (elapsed, count as f64 / elapsed.as_secs_f64())
}

/// Two connectors take a steady 20 000 tasks/s; one is killed while it holds leases; returns the
/// time from the kill until the last task it held unanswered was completed by the other, the
/// tasks lost, and how many of its tasks were re-issued.
async fn failover(site: &Site) -> (u64, usize, usize) {
    let mut a = Connector::start_logging(&site.config("fail-a", "pii.keyring", ""), "warn");
    let b = Connector::start_logging(&site.config("fail-b", "pii.keyring", ""), "warn");
    warm_up(site).await;
    let rate = 20_000.0;
    let mut ids: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut killed: Option<f64> = None;
    while started.elapsed() < Duration::from_secs(6) {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as usize;
        if due > ids.len() {
            ids.extend(site.cloud.enqueue_many((ids.len()..due).map(|_| trivial()).collect()));
        }
        if killed.is_none() && started.elapsed() > Duration::from_secs(2) {
            // Kill A while it holds leases: tasks it took and has not answered.
            let a_ids: HashSet<String> =
                site.cloud.sessions().into_iter().filter(|s| s.name == "fail-a").map(|s| s.connector_id).collect();
            let held: Vec<String> = site
                .cloud
                .tasks(Some("leased"))
                .into_iter()
                .filter(|t| t.leased_to.as_ref().is_some_and(|c| a_ids.contains(c)))
                .map(|t| t.id)
                .collect();
            if !held.is_empty() {
                // `Child::kill` is SIGKILL, sent at once (no `kill` process in between).
                let _ = a.child.kill();
                killed = Some(now_ms());
            }
        }
    }
    let completed = site.cloud.wait_completed(&ids, Duration::from_secs(120)).await;
    drop(b);
    let kill_ms = killed.expect("killed");
    let lost = ids.iter().filter(|id| site.cloud.task(id).is_none_or(|t| t.state != "completed")).count();
    assert!(completed || lost > 0);
    // B lives on, so every task handed out twice is one A held and never answered.
    let reissued: Vec<u64> = ids
        .iter()
        .filter_map(|id| site.cloud.task(id))
        .filter(|t| t.issued > 1)
        .filter_map(|t| t.completed_at_ms)
        .collect();
    let failover = reissued.iter().map(|&done| (done as f64 - kill_ms).max(0.0) as u64).max().unwrap_or(0);
    (failover, lost, reissued.len())
}
