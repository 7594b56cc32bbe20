//! Load run of SIEM delivery: `siem.events` tasks, parsed from relay frames, through the
//! dispatcher (tokens restored), the formatter plugin, the durable queue and the deliverer, to a
//! real rsyslog's TCP input — every figure beside a baseline measured in the same run.
//!
//! - **Plain write** (the baseline, per format): the same number of records, formatted by the
//!   same plugin beforehand and framed for TCP, written by a plain loop over one TCP connection
//!   to the same rsyslog port in 1 MiB writes (as the deliverer batches).
//! - **Connector, per format** (CEF, LEEF, RFC 5424, JSON, then CEF again to show whether the
//!   order matters; one target each): tasks of `MSC_SIEM_BENCH_PER_TASK` events (1000),
//!   `MSC_SIEM_BENCH_IN_FLIGHT` at once (8; the relay runs tasks side by side). Time from the
//!   first frame's arrival until the target's queue is empty — every record written to the
//!   socket; also when every task was answered (all committed), when rsyslog had written every
//!   line to its file, and the CPU the machine, this process and rsyslogd used meanwhile.
//! - **Accept only**: CEF to a target whose SIEM refuses connections: parse, restore, format,
//!   frame and the durable commit, with nothing delivered.
//! - **Phases**: each step of a CEF task timed on its own, one task at a time.
//!
//! Each event carries five personal values as tokens (device name, owner, email, phone, and an
//! email inside the message), drawn from `DEVICES` devices, so restoring is part of the cost.
//!
//! `cargo bench -p connector --bench siem_load` (after `scripts/build-plugins`; needs rsyslog:
//! `scripts/install-test-deps`). `MSC_SIEM_BENCH_EVENTS` sets the events per format (default
//! 200 000), `MSC_SIEM_BENCH_FORMATS` which targets run, in order (e.g. `leef,cef`);
//! `MSC_BENCH_QUICK=1` runs a short smoke version.

mod common;
#[path = "../tests/common/rsyslog.rs"]
mod rsyslog;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{CpuClock, CpuShares, FIRST, LAST, plugin_dir};
use connector::config::Config;
use connector::config::siem::Transport;
use connector::dispatch::{Dispatcher, TaskKind};
use connector::pii::canonical::Canonicalizer;
use connector::pii::keyring::Keyring;
use connector::pii::{Kind, PiiFilter, Tokenizer, known_values};
use connector::plugins::PluginRuntime;
use connector::plugins::worlds::siem::Origin;
use connector::siem::SiemDelivery;
use connector::store::Store;
use rsyslog::Rsyslog;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// Formats measured: target name (also the tasks' `instance`) and its formatter instance.
/// `cef-again` repeats CEF last (a target of its own, so the same events are not taken for
/// duplicates): whether the order of the runs matters.
const FORMATS: [(&str, &str); 5] = [
    ("cef", "siem-cef"),
    ("leef", "siem-leef"),
    ("rfc5424", "siem-rfc5424"),
    ("json", "siem-json"),
    ("cef-again", "siem-cef"),
];
/// The formatter instances, one per plugin.
const FORMATTERS: [&str; 4] = ["siem-cef", "siem-leef", "siem-rfc5424", "siem-json"];
/// The accept-only target: CEF to a port nobody listens on.
const NOWHERE: &str = "cef-nowhere";
/// Distinct devices the events come from (each with four personal values).
const DEVICES: usize = 2000;
/// The deliverer's batch size, copied by the plain write.
const WRITE_BYTES: usize = 1 << 20;

struct Settings {
    events: usize,
    per_task: usize,
    in_flight: usize,
    /// Formats to measure, in this order.
    formats: Vec<(&'static str, &'static str)>,
}

fn settings() -> Settings {
    let quick = std::env::var_os("MSC_BENCH_QUICK").is_some_and(|v| v != "0");
    let var = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    Settings {
        events: var("MSC_SIEM_BENCH_EVENTS", if quick { 20_000 } else { 200_000 }),
        per_task: var("MSC_SIEM_BENCH_PER_TASK", 1000).max(1),
        in_flight: var("MSC_SIEM_BENCH_IN_FLIGHT", 8).max(1),
        formats: match std::env::var("MSC_SIEM_BENCH_FORMATS") {
            Ok(names) => names
                .split(',')
                .map(|name| *FORMATS.iter().find(|(target, _)| *target == name.trim()).expect("a format of FORMATS"))
                .collect(),
            Err(_) => FORMATS.to_vec(),
        },
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let settings = settings();
    let rsyslog = Rsyslog::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let keyring = Keyring::generate().expect("keyring");
    keyring.create(&dir.path().join("pii.keyring")).expect("write keyring");
    let mut config = Config::load(&write_config(dir.path(), &rsyslog)).expect("config");
    let siem_config = config.siem.take().expect("[siem]");
    let config_store_dir = config.store_dir.clone();
    let runtime = Arc::new(PluginRuntime::start(config).await.expect("plugin runtime"));
    let store = Arc::new(Store::open(&config_store_dir).expect("durable store"));
    let siem = Arc::new(SiemDelivery::start(store, siem_config));
    let filter = runtime.pii().cloned().expect("[pii]");
    let status = common::status(&keyring);
    let dispatcher = Arc::new(Dispatcher::new(runtime.clone(), filter.clone(), status).with_siem(siem.clone()));

    let tokenizer =
        Tokenizer::new(Keyring::load(&dir.path().join("pii.keyring")).expect("keyring"), Canonicalizer::new(None));
    let started = Instant::now();
    let warm_up = payloads(&tokenizer, "warm", settings.per_task * 2, settings.per_task);
    let payloads = payloads(&tokenizer, "ev", settings.events, settings.per_task);
    println!(
        "{} events per format in tasks of {}, {} tasks in flight; events from {DEVICES} devices, 5 tokens each \
         (built in {:.1?}); 2 tokio workers, rsyslog on the same 2 cores",
        settings.events,
        settings.per_task,
        settings.in_flight,
        started.elapsed()
    );

    let mut lines = LineCounter::new(rsyslog.path("tcp.jsonl"));
    let mut cef = Vec::new();
    for &(target, formatter) in &settings.formats {
        // Warm-up: instances compiled and pooled, the connection to rsyslog open.
        let warm = drive(&dispatcher, &frames(&warm_up, target), settings.in_flight).await;
        wait_drained(&siem, target).await;
        lines.wait(warm.events, Duration::from_secs(60)).await;

        // The baseline: this format's records, written plainly.
        let records = sample_records(&runtime, &filter, formatter, &payloads[0], &rsyslog).await;
        let plain = plain_write(&rsyslog, &records, settings.events).await;
        let plain_file = lines.wait(settings.events, Duration::from_secs(120)).await;
        let plain_file = plain_file.map(|_| plain.started.elapsed());

        let frames = frames(&payloads, target);
        let cpu = CpuClock::start(rsyslogd_pid(&rsyslog));
        let run = drive(&dispatcher, &frames, settings.in_flight).await;
        assert_eq!(run.events, settings.events, "{target}: every event queued once");
        let on_socket = wait_drained(&siem, target).await.duration_since(run.started);
        let in_file = lines.wait(settings.events, Duration::from_secs(120)).await.map(|_| run.started.elapsed());
        let cpu = cpu_shown(cpu.stop(), settings.events);

        let rate = |d: Duration| settings.events as f64 / d.as_secs_f64();
        let bytes: usize = records.iter().map(Vec::len).sum::<usize>() / records.len();
        println!("\n{target} ({formatter}, ~{bytes} bytes a framed record):");
        println!(
            "  plain write:  on the socket {:>9.1?} = {:>7.0} events/s; in rsyslog's file {}",
            plain.elapsed,
            rate(plain.elapsed),
            shown(plain_file, rate)
        );
        println!(
            "  connector:    on the socket {:>9.1?} = {:>7.0} events/s ({:.2}x the plain write's time); \
             all tasks answered {:.1?} ({:.0} events/s); in rsyslog's file {}",
            on_socket,
            rate(on_socket),
            on_socket.as_secs_f64() / plain.elapsed.as_secs_f64(),
            run.answered,
            rate(run.answered),
            shown(in_file, rate)
        );
        println!("  CPU meanwhile, in cores of 2: {cpu}");
        if formatter == "siem-cef" {
            cef.push((target, rate(on_socket), on_socket.as_secs_f64() / plain.elapsed.as_secs_f64()));
        }
    }
    check_restored(&rsyslog);

    let nowhere_frames = frames(&payloads, NOWHERE);
    let cpu = CpuClock::start(rsyslogd_pid(&rsyslog));
    let nowhere = drive(&dispatcher, &nowhere_frames, settings.in_flight).await;
    let cpu = cpu_shown(cpu.stop(), settings.events);
    assert_eq!(nowhere.events, settings.events, "accept-only: every event queued");
    println!(
        "\naccept only (cef, SIEM down: parse, restore, format, frame, durable commit): {:.1?} = {:.0} events/s\n  \
         CPU meanwhile, in cores of 2: {cpu}",
        nowhere.answered,
        settings.events as f64 / nowhere.answered.as_secs_f64()
    );

    let tasks = payloads.len().min(50);
    phases(&runtime, &filter, &frames(&payloads[..tasks], "cef"), &rsyslog, dir.path()).await;

    for (target, rate, ratio) in cef {
        let mark = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "\ngoals, CEF over TCP with the durable queue ({target}): >= 50 000 events/s: {rate:.0} ({}); \
             <= 2x the plain write: {ratio:.2}x ({})",
            mark(rate >= 50_000.0),
            mark(ratio <= 2.0)
        );
    }
    siem.shutdown().await;
}

/// rsyslogd's process id, from the pid file the fixture has it write.
fn rsyslogd_pid(rsyslog: &Rsyslog) -> Option<u32> {
    std::fs::read_to_string(rsyslog.path("rsyslogd.pid")).ok().and_then(|p| p.trim().parse().ok())
}

/// What the CPU did over a measurement, with this process's CPU time per event.
fn cpu_shown(cpu: CpuShares, events: usize) -> String {
    let per_event = cpu.this_process * cpu.seconds * 1e6 / events as f64;
    format!(
        "machine {:.2}, this process {:.2} ({per_event:.1} µs per event), rsyslogd {:.2}, other processes {:.2}",
        cpu.machine, cpu.this_process, cpu.server, cpu.others
    )
}

fn shown(took: Option<Duration>, rate: impl Fn(Duration) -> f64) -> String {
    match took {
        Some(took) => format!("{took:.1?} = {:.0} events/s", rate(took)),
        None => "not reached in 120 s".into(),
    }
}

fn write_config(dir: &Path, rsyslog: &Rsyslog) -> PathBuf {
    let mut text = format!(
        "[connector]\nname = \"bench-1\"\nplugin_dir = {:?}\n\n[pii]\nkeyring = \"pii.keyring\"\ndefault_region = \"US\"\n\n\
         [store]\ndir = \"store\"\n",
        plugin_dir("siem_cef.wasm").display().to_string()
    );
    for formatter in FORMATTERS {
        let file = formatter.replace('-', "_");
        text.push_str(&format!("\n[instances.{formatter}]\nplugin = \"{file}.wasm\"\nkind = \"siem\"\n"));
    }
    for (target, formatter) in FORMATS {
        text.push_str(&format!(
            "\n[siem.targets.{target}]\nformatter = \"{formatter}\"\ntransport = \"tcp\"\naddress = \"{}\"\n",
            rsyslog.tcp_addr()
        ));
    }
    // A port that was free a moment ago: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    text.push_str(&format!(
        "\n[siem.targets.{NOWHERE}]\nformatter = \"siem-cef\"\ntransport = \"tcp\"\naddress = \"{closed}\"\n"
    ));
    let path = dir.join("connector.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The `events` of each task, as the JSON the relay sends: `count` events in tasks of `per_task`.
fn payloads(tokenizer: &Tokenizer, prefix: &str, count: usize, per_task: usize) -> Vec<String> {
    let token = |kind, value: &str| tokenizer.tokenize(kind, value).expect("token");
    let devices: Vec<[String; 4]> = (0..DEVICES)
        .map(|d| {
            let (first, last) = (FIRST[d % FIRST.len()], LAST[(d / FIRST.len()) % LAST.len()]);
            [
                token(Kind::DeviceName, &format!("{first}'s iPhone {d}")),
                token(Kind::PersonName, &format!("{first} {last}")),
                token(Kind::Email, &format!("{}.{}{d}@corp.example.com", first.to_lowercase(), last.to_lowercase())),
                token(Kind::Phone, &format!("+1415555{:04}", d % 10_000)),
            ]
        })
        .collect();
    // A fixed pseudo-random walk over the devices: some repeat within a task, most do not.
    let mut state = 0x2545_f491_u64;
    let mut pick = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % DEVICES
    };
    (0..count.div_ceil(per_task))
        .map(|t| {
            let events: Vec<Value> = (t * per_task..((t + 1) * per_task).min(count))
                .map(|i| {
                    let d = pick();
                    event(&format!("{prefix}-{i:08}"), d, &devices[d])
                })
                .collect();
            json!({ "events": events }).to_string()
        })
        .collect()
}

/// A realistic threat event from device `d`, its personal values tokens.
fn event(id: &str, d: usize, tokens: &[String; 4]) -> Value {
    let [name, owner, email, phone] = tokens;
    let pii = |kind: &str, value: &str| json!({ "kind": kind, "value": value });
    json!({
        "id": id, "event_type": "Threat detected", "time_ms": 1_793_491_200_123u64 + d as u64,
        "client_time_ms": 1_793_491_199_000u64, "severity": "High",
        "name": "Malicious app com.flashlight.free", "attack_vector": "App",
        "threat_factors": ["sideloaded", "requests device admin"], "signature": "a3f1c9e2",
        "url": "https://evil.example/payload?id=42&src=sms", "tenant": "acme",
        "message": { "kind": "FreeText", "value": format!("Device of {email} flagged: sideloaded app") },
        "device": { "id": format!("dev-{d:05}"), "name": pii("DeviceName", name), "owner": pii("PersonName", owner),
                    "email": pii("Email", email), "phone": pii("Phone", phone), "platform": "iOS",
                    "os_version": "18.1", "model": "iPhone 15", "serial_number": format!("F2LX{d:08}"),
                    "client_version": "5.1.2", "policy": "Corporate", "groups": ["Sales", "EMEA"], "risk": "High" },
        "app": { "name": "Flashlight Free", "package": "com.flashlight.free", "version": "2.3.1",
                 "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                 "developer": "Unknown", "repackaged": true, "system_app": false },
        "network": null,
        "fields": [{ "name": "detection_engine", "value": { "Text": "heuristics-v7" } }]
    })
}

/// Relay task frames around `payloads`, addressed to `target`.
fn frames(payloads: &[String], target: &str) -> Vec<String> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| {
            format!(
                r#"{{"id":"{target}-{i}-{}","kind":"siem.events","instance":"{target}","payload":{payload}}}"#,
                payload.len()
            )
        })
        .collect()
}

struct Driven {
    started: Instant,
    /// Until every task was answered: all its records committed to the queue.
    answered: Duration,
    events: usize,
}

/// Runs each frame as the relay does — parsed on arrival, then on its own task — at most
/// `in_flight` at once; checks every result.
async fn drive(dispatcher: &Arc<Dispatcher>, frames: &[String], in_flight: usize) -> Driven {
    let mut events = 0;
    let tally = |result: Result<Box<RawValue>, connector::dispatch::TaskError>| {
        let result = result.unwrap_or_else(|e| panic!("task failed: {} {}", e.code, e.message));
        let report: Value = serde_json::from_str(result.get()).expect("result JSON");
        for target in report["targets"].as_array().expect("targets") {
            assert_eq!(target["failed"], 0, "{report}");
            events += target["queued"].as_u64().expect("queued") as usize;
        }
    };
    let (started, answered) = common::drive(dispatcher, frames, in_flight, tally).await;
    Driven { started, answered, events }
}

/// Polls `target`'s queue until it is empty; returns when it was seen empty.
async fn wait_drained(siem: &SiemDelivery, target: &str) -> Instant {
    let started = Instant::now();
    loop {
        let waiting = siem.queues().into_iter().find(|q| q.target == target).map_or(0, |q| q.waiting);
        if waiting == 0 {
            return Instant::now();
        }
        assert!(started.elapsed() < Duration::from_secs(300), "{target}: {waiting} events still queued after 300 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One task's events formatted by `formatter` and framed for TCP, as the deliverer sends them.
async fn sample_records(
    runtime: &PluginRuntime,
    filter: &PiiFilter,
    formatter: &str,
    payload: &str,
    rsyslog: &Rsyslog,
) -> Vec<Vec<u8>> {
    let frame = format!(r#"{{"id":"sample","kind":"siem.events","payload":{payload}}}"#);
    let raw: &RawValue = serde_json::from_str(&frame).expect("frame JSON");
    let task = connector::dispatch::task::parse(raw).unwrap_or_else(|m| panic!("{}", m.error.message));
    let TaskKind::SiemEvents { mut events } = task.kind else { unreachable!("a siem.events task") };
    filter.incoming(&mut events).expect("restore");
    let siem = runtime.siem(formatter).expect("formatter");
    let framing = siem.describe().await.expect("describe").framing;
    let origin = Origin { hostname: "bench-1".into(), app_name: "connector".into() };
    let transport = Transport::Tcp { address: rsyslog.tcp_addr().to_string() };
    siem.format(&origin, &events)
        .await
        .expect("format")
        .into_iter()
        .map(|record| connector::siem::transport::frame(&transport, framing, record.expect("formatted")))
        .collect()
}

struct Plain {
    started: Instant,
    elapsed: Duration,
}

/// `count` of `records` (cycled) written over one connection in 1 MiB writes.
async fn plain_write(rsyslog: &Rsyslog, records: &[Vec<u8>], count: usize) -> Plain {
    let mut stream = tokio::net::TcpStream::connect(rsyslog.tcp_addr()).await.expect("connect to rsyslog");
    stream.set_nodelay(true).expect("nodelay");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(WRITE_BYTES + 64 * 1024);
    for record in records.iter().cycle().take(count) {
        if !batch.is_empty() && batch.len() + record.len() > WRITE_BYTES {
            stream.write_all(&batch).await.expect("write");
            batch.clear();
        }
        batch.extend_from_slice(record);
    }
    stream.write_all(&batch).await.expect("write");
    stream.flush().await.expect("flush");
    let elapsed = started.elapsed();
    Plain { started, elapsed }
}

/// Where a CEF event's time goes: each step of the path, one task after another on one thread,
/// in microseconds per event (the concurrent run spreads them over both cores).
async fn phases(runtime: &PluginRuntime, filter: &PiiFilter, frames: &[String], rsyslog: &Rsyslog, dir: &Path) {
    let mut took = [Duration::ZERO; 9];
    // Not a step of its own: what `format()` does first, repeated here to show its share.
    let mut copy_for_log = Duration::ZERO;
    let mut events = 0;
    let store = Store::open(&dir.join("phases-queue")).expect("phase queue");
    let siem = runtime.siem("siem-cef").expect("siem-cef");
    let origin = Origin { hostname: "bench-1".into(), app_name: "connector".into() };
    let transport = Transport::Tcp { address: rsyslog.tcp_addr().to_string() };
    for frame in frames {
        let mut clock = Instant::now();
        let mut lap = |step: usize, clock: &mut Instant| {
            took[step] += clock.elapsed();
            *clock = Instant::now();
        };
        let raw: &RawValue = serde_json::from_str(frame).expect("frame JSON");
        let task = connector::dispatch::task::parse(raw).unwrap_or_else(|m| panic!("{}", m.error.message));
        let TaskKind::SiemEvents { events: tokens } = task.kind else { unreachable!("a siem.events task") };
        events += tokens.len();
        lap(0, &mut clock);
        let mut restored = tokens.clone();
        filter.incoming(&mut restored).expect("restore");
        let known = known_values(&mut restored, filter.fields());
        lap(1, &mut clock);
        let framing = siem.describe().await.expect("describe").framing;
        lap(2, &mut clock);
        let copied = Instant::now();
        std::hint::black_box(known_values(&mut restored.to_vec(), filter.fields()));
        copy_for_log += copied.elapsed();
        clock = Instant::now();
        let formatted = siem.format(&origin, &restored).await.expect("format");
        lap(3, &mut clock);
        let records: Vec<(String, Vec<u8>)> = restored
            .iter()
            .zip(formatted)
            .map(|(event, record)| {
                (event.id.clone(), connector::siem::transport::frame(&transport, framing, record.expect("formatted")))
            })
            .collect();
        lap(4, &mut clock);
        store.append("phases", &records, u64::MAX).expect("append");
        lap(5, &mut clock);
        loop {
            let batch = store.peek("phases", 2048, WRITE_BYTES).expect("peek");
            let Some(&(last, _)) = batch.last() else { break };
            let joined: Vec<u8> = batch.into_iter().flat_map(|(_, record)| record).collect();
            std::hint::black_box(joined);
            store.remove_through("phases", last).expect("remove");
        }
        lap(6, &mut clock);
        // The task's answer, scrubbed of every value the task restored (as the dispatcher does).
        let answer = json!({"events": records.len(), "targets": [{"target": "cef", "queued": records.len()}]});
        let scrubber = filter.scrubber(known);
        std::hint::black_box(scrubber.scrub(&answer.to_string()));
        lap(7, &mut clock);
        drop((tokens, restored, records));
        lap(8, &mut clock);
    }
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / events as f64;
    println!(
        "
where a CEF event's time goes, one task at a time on one thread ({events} events), µs per event:"
    );
    let names = [
        "parse the task frame",
        "copy and restore tokens, list known values",
        "describe() call (a sandbox per task)",
        "format() call (plugin)",
        "frame for TCP",
        "durable commit (redb, fsync)",
        "deliverer's peek + remove (redb, fsync), no socket",
        "scrubber for the answer (Aho-Corasick over known values)",
        "drop the task's copies",
    ];
    for (name, took) in names.iter().zip(took) {
        println!("  {:>6.2} µs  {name}", per_event(took));
        if name.starts_with("format()") {
            println!(
                "           (of which ~{:.2} µs: copying the batch to list its personal values for the log scrubber)",
                per_event(copy_for_log)
            );
        }
    }
    let total: Duration = took.iter().sum();
    let mut each = Vec::new();
    for formatter in FORMATTERS {
        let siem = runtime.siem(formatter).expect("formatter");
        let mut took = Duration::ZERO;
        for frame in &frames[..frames.len().min(20)] {
            let raw: &RawValue = serde_json::from_str(frame).expect("frame JSON");
            let task = connector::dispatch::task::parse(raw).unwrap_or_else(|m| panic!("{}", m.error.message));
            let TaskKind::SiemEvents { events: mut restored } = task.kind else { unreachable!("a siem.events task") };
            filter.incoming(&mut restored).expect("restore");
            let started = Instant::now();
            std::hint::black_box(siem.format(&origin, &restored).await.expect("format"));
            took += started.elapsed() / restored.len() as u32;
        }
        each.push(format!("{formatter} {:.2}", took.as_secs_f64() * 1e6 / frames.len().min(20) as f64));
    }
    println!(
        "  {:>6.2} µs  in all = {:.0} events/s on one core",
        per_event(total),
        events as f64 / total.as_secs_f64()
    );
    println!("  format() alone, µs per event: {}", each.join(", "));
}

/// Counts the lines rsyslog has written to one input's file, reading only what is new.
struct LineCounter {
    path: PathBuf,
    offset: u64,
    lines: usize,
    /// Lines every measurement so far sent: each waits for its own on top.
    expected: usize,
    buffer: Vec<u8>,
}

impl LineCounter {
    fn new(path: PathBuf) -> Self {
        Self { path, offset: 0, lines: 0, expected: 0, buffer: vec![0; 1 << 20] }
    }

    /// Waits until the `more` lines just sent are in the file; `None` after `timeout`.
    async fn wait(&mut self, more: usize, timeout: Duration) -> Option<()> {
        self.expected += more;
        let started = Instant::now();
        loop {
            if let Ok(mut file) = std::fs::File::open(&self.path) {
                file.seek(SeekFrom::Start(self.offset)).expect("seek");
                loop {
                    let n = file.read(&mut self.buffer).expect("read");
                    if n == 0 {
                        break;
                    }
                    self.offset += n as u64;
                    self.lines += self.buffer[..n].iter().filter(|&&b| b == b'\n').count();
                }
            }
            if self.lines >= self.expected {
                return Some(());
            }
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// The last line rsyslog received holds plaintext, not tokens.
fn check_restored(rsyslog: &Rsyslog) {
    let mut file = std::fs::File::open(rsyslog.path("tcp.jsonl")).expect("tcp.jsonl");
    let length = file.metadata().expect("tcp.jsonl").len();
    file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024))).expect("seek");
    let mut text = Vec::new();
    file.read_to_end(&mut text).expect("read tcp.jsonl");
    let tail = String::from_utf8_lossy(&text).into_owned();
    let last = tail.lines().last().expect("a line");
    assert!(last.contains("@corp.example.com"), "restored email in {last}");
    assert!(!last.contains(connector::pii::token::PREFIX_STR), "a token reached the SIEM: {last}");
}
