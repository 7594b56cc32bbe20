//! Hostile plugin: its instance config's `mode` picks the attack, run by every export.
//!
//! | mode | what it does |
//! |---|---|
//! | `loop` | spins forever |
//! | `alloc` | allocates memory without bound |
//! | `panic` | panics |
//! | `trap` | executes `unreachable` |
//! | `stack` | recurses without bound |
//! | `exit` | calls `exit(3)` |
//! | `sleep` | blocks in a host call (a one-hour clock wait) |
//! | `http` | fetches config `url`, which the test does not grant |
//! | `host-header` | fetches config `url` (granted) with a forged `Host` header for `forged_host` |
//! | `net` | opens a stream to config `target` (`host:port`), which the test does not grant |
//! | `env` | reads the environment |
//! | `log-flood` | writes 100 000 log lines |
//!
//! What it observed comes back as `Error::Internal("observed: ...")`, for the test to check.

use std::hint::black_box;
use std::time::Duration;

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

struct Hostile;

fn attack() -> Error {
    let mode = msc_sdk::config::get("mode").unwrap_or_default();
    let observed = match mode.as_str() {
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![0xA5; 1 << 20]);
                black_box(&hoard);
            }
        }
        "panic" => panic!("hostile plugin panicked on purpose"),
        "trap" => core::arch::wasm32::unreachable(),
        "stack" => format!("depth {}", recurse(0)),
        "exit" => std::process::exit(3),
        "sleep" => {
            let hour = Duration::from_secs(3600).as_nanos() as u64;
            msc_sdk::bindings::base::wasi::clocks::monotonic_clock::subscribe_duration(hour).block();
            "woke up".to_string()
        }
        "http" => {
            let url = msc_sdk::config::get("url").unwrap_or_default();
            match msc_sdk::http::Request::get(&url).send() {
                Ok(r) => format!("status {}", r.status),
                Err(e) => format!("error: {e:?}"),
            }
        }
        "host-header" => {
            let url = msc_sdk::config::get("url").unwrap_or_default();
            let forged = msc_sdk::config::get("forged_host").unwrap_or_default();
            match msc_sdk::http::Request::get(&url).header("host", &forged).send() {
                Ok(r) => format!("status {}: {}", r.status, r.text()),
                Err(e) => format!("error: {e:?}"),
            }
        }
        "net" => {
            let target = msc_sdk::config::get("target").unwrap_or_default();
            let (host, port) = target.rsplit_once(':').unwrap_or((&target, "0"));
            match msc_sdk::net::connect(host, port.parse().unwrap_or(0), msc_sdk::net::Security::Plaintext) {
                Ok(_) => "connected".to_string(),
                Err(e) => format!("error: {e:?}"),
            }
        }
        "env" => {
            format!("env {:?} args {:?}", std::env::vars().collect::<Vec<_>>(), std::env::args().collect::<Vec<_>>())
        }
        "log-flood" => {
            for i in 0..100_000 {
                msc_sdk::info!("flood line {i}");
            }
            "flooded".to_string()
        }
        other => format!("unknown mode `{other}`"),
    };
    Error::Internal(format!("observed: {observed}"))
}

fn recurse(depth: u64) -> u64 {
    let here = black_box([depth; 16]);
    if black_box(depth) == u64::MAX { here[0] } else { recurse(depth + 1) + here[1] }
}

impl Adapter for Hostile {
    fn list_devices(_query: DeviceQuery) -> Result<DevicePage, Error> {
        Err(attack())
    }
    fn get_device(_id: String) -> Result<Device, Error> {
        Err(attack())
    }
    fn list_apps(_device_id: String) -> Result<Vec<App>, Error> {
        Err(attack())
    }
    fn set_risk(_device_id: String, _level: RiskLevel) -> Result<RiskUpdate, Error> {
        Err(attack())
    }
    fn test_connection() -> Result<Vec<Check>, Error> {
        Err(attack())
    }
}

msc_sdk::export_uem!(Hostile);
