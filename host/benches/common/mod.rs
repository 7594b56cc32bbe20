//! Shared by the load benchmarks: where the plugins are, the connector's status, frames run as
//! the relay runs them (with an inventory sink that takes nothing), names for made-up people,
//! and a clock of the CPU the machine, this process and a server use.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector::dispatch::{ConnectorStatus, Dispatcher, InventorySink, TaskError};
use connector::pii::keyring::Keyring;
use serde_json::value::RawValue;

/// Where `scripts/build-plugins` put the components; `plugin` (e.g. `smtp.wasm`) must be there.
pub fn plugin_dir(plugin: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let dir = target.join("wasm32-wasip2/plugin");
    assert!(dir.join(plugin).is_file(), "plugins are not built: run `scripts/build-plugins` first");
    dir
}

/// The status of connector `bench-1` (capacity 256), started now.
pub fn status(keyring: &Keyring) -> ConnectorStatus {
    ConnectorStatus {
        name: "bench-1".into(),
        version: "0".into(),
        run: "bench".into(),
        keyring: keyring.fingerprint(),
        capacity: 256,
        started: Instant::now(),
        in_flight: Arc::default(),
    }
}

/// An inventory sink that takes nothing: the benchmarks run no inventory tasks.
pub struct NoInventory;

impl InventorySink for NoInventory {
    fn send<'a>(
        &'a self,
        _: &'a str,
        _: u32,
        _: &'a str,
        _: u64,
        _: Vec<Box<RawValue>>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Err("no inventory here".to_string()) })
    }
}

/// Runs each frame as the relay does — parsed on arrival, then on its own task — at most
/// `in_flight` at once, handing every task's result to `tally`. When the first frame was taken,
/// and how long until every task was answered.
pub async fn drive(
    dispatcher: &Arc<Dispatcher>,
    frames: &[String],
    in_flight: usize,
    mut tally: impl FnMut(Result<Box<RawValue>, TaskError>),
) -> (Instant, Duration) {
    let mut running = tokio::task::JoinSet::new();
    let started = Instant::now();
    for frame in frames {
        while running.len() >= in_flight {
            tally(running.join_next().await.expect("a task").expect("task ran"));
        }
        let raw: &RawValue = serde_json::from_str(frame).expect("frame JSON");
        let task =
            connector::dispatch::task::parse(raw).unwrap_or_else(|m| panic!("frame refused: {}", m.error.message));
        let dispatcher = dispatcher.clone();
        running.spawn(async move { dispatcher.run(&task, &NoInventory).await });
    }
    while let Some(result) = running.join_next().await {
        tally(result.expect("task ran"));
    }
    (started, started.elapsed())
}

/// First names of made-up people (`FIRST.len() * LAST.len()` distinct full names).
pub const FIRST: [&str; 20] = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Linus",
    "Frances",
    "Dennis",
    "Radia",
    "Ken",
    "Hedy",
    "John",
    "Sophie",
    "Tim",
    "Anita",
    "Niklaus",
    "Shafi",
];
/// Last names of made-up people.
pub const LAST: [&str; 20] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Torvalds",
    "Allen",
    "Ritchie",
    "Perlman",
    "Thompson",
    "Lamarr",
    "McCarthy",
    "Wilson",
    "Berners-Lee",
    "Borg",
    "Wirth",
    "Goldwasser",
];

/// CPU time over a measurement: the machine's, this process's, one server process's, and the
/// rest (other work on the machine skews every figure, so it is shown with them).
pub struct CpuClock {
    started: Instant,
    server: Option<u32>,
    at_start: [u64; 3],
}

/// What the CPU did over a measurement, in cores used (CPU seconds per second).
pub struct CpuShares {
    /// How long the measurement took, in seconds.
    pub seconds: f64,
    pub machine: f64,
    pub this_process: f64,
    /// The server process (0 without one).
    pub server: f64,
    /// The machine less this process and the server.
    pub others: f64,
}

impl CpuClock {
    /// Starts counting; `server_pid` is the server process to count apart, if found.
    pub fn start(server_pid: Option<u32>) -> Self {
        Self { started: Instant::now(), server: server_pid, at_start: Self::ticks(server_pid) }
    }

    /// Busy ticks of the machine, of this process, of the server.
    fn ticks(server: Option<u32>) -> [u64; 3] {
        let machine = std::fs::read_to_string("/proc/stat").ok().map_or(0, |stat| {
            let cpu: Vec<u64> = stat
                .lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal: all but idle and iowait.
            cpu.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum()
        });
        let process = |path: String| {
            std::fs::read_to_string(path).ok().map_or(0, |stat| {
                // Fields after the command name, from the state: utime and stime are the 12th and 13th.
                let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
                let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                field(11) + field(12)
            })
        };
        let server = server.map_or(0, |pid| process(format!("/proc/{pid}/stat")));
        [machine, process("/proc/self/stat".into()), server]
    }

    /// What the CPU did since `start`.
    pub fn stop(self) -> CpuShares {
        let now = Self::ticks(self.server);
        let seconds = self.started.elapsed().as_secs_f64();
        // Ticks are 1/100 s (USER_HZ on Linux).
        let cores = |i: usize| now[i].saturating_sub(self.at_start[i]) as f64 / 100.0 / seconds;
        let others = (cores(0) - cores(1) - cores(2)).max(0.0);
        CpuShares { seconds, machine: cores(0), this_process: cores(1), server: cores(2), others }
    }
}
