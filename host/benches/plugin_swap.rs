//! Hot swap of the MaaS360 plugin under a running runtime, through the real file watcher, against
//! the MaaS360 emulator (HTTPS, private CA). Two versions differ only by a custom section, so
//! they hash and cache apart while behaving alike.
//!
//! - **cold**: rename a version never compiled over the plugin file → the instance's status shows
//!   it serving (the next call runs it): debounce, read, signature policy, compile, self-test
//!   against the emulator, swap.
//! - **warm**: the same with a version already in the compiled cache (a rollback).
//! - **throughput**: two callers hammer `get-device` for 3 s without swaps, then 3 s with a warm
//!   swap every 300 ms; calls/s of both, and failed calls.
//!
//! `cargo bench -p connector --bench plugin_swap` (after `scripts/build-plugins`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use connector::config::Config;
use connector::plugins::{PluginRuntime, watch};
use maas360_emulator::private_ca::PrivateCa;
use maas360_emulator::{Emulator, EmulatorConfig};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

fn plugin_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    target.join("wasm32-wasip2/plugin")
}

/// `bytes` with a custom section appended: the same component, another hash.
fn variant(bytes: &[u8], tag: u8) -> Vec<u8> {
    let name = b"msc-bench";
    let mut out = bytes.to_vec();
    out.push(0); // custom section
    out.push((1 + name.len() + 1) as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.push(tag);
    out
}

async fn run() {
    let ca = PrivateCa::new("MaaS360 on-prem CA").expect("CA");
    let tenant = EmulatorConfig { devices: 50, ..EmulatorConfig::default() };
    let emulator = Emulator::start_tls(tenant.clone(), ca.server_config().expect("tls")).await.expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    };
    secret("ca.pem", &ca.ca_pem);
    secret("password", &tenant.password);
    secret("access-key", &tenant.access_key);
    std::fs::create_dir(dir.path().join("plugins")).expect("mkdir");
    let original = std::fs::read(plugin_dir().join("maas360.wasm")).expect("maas360.wasm: run scripts/build-plugins");
    let plugin = dir.path().join("plugins/maas360.wasm");
    std::fs::write(&plugin, &original).expect("write plugin");
    let origin = emulator.origin();
    let file = dir.path().join("connector.toml");
    std::fs::write(
        &file,
        format!(
            "[connector]\nname = \"bench\"\nplugin_dir = \"plugins\"\n\n[instances.maas360]\nplugin = \"maas360.wasm\"\n\
             kind = \"uem\"\nca_file = \"ca.pem\"\n[instances.maas360.grants]\nhttp = [\"{origin}\"]\n\
             [instances.maas360.config]\nserver_url = \"{origin}\"\nbilling_id = \"{}\"\nusername = \"{}\"\napp_id = \"{}\"\n\
             [instances.maas360.secrets]\npassword = {{ file = \"password\" }}\naccess_key = {{ file = \"access-key\" }}\n",
            tenant.billing_id, tenant.username, tenant.app_id
        ),
    )
    .expect("write config");
    let runtime = Arc::new(PluginRuntime::start(Config::load(&file).expect("config")).await.expect("runtime"));
    let _watching =
        watch::watch(runtime.clone(), file.clone(), dir.path().join("plugins"), "bench".into()).expect("watch");
    let device = emulator.devices().into_iter().next().expect("a device").id;

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for round in 0..5u8 {
        cold.push(swap(&runtime, &plugin, &variant(&original, 10 + round)).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
        warm.push(swap(&runtime, &plugin, &original).await); // compiled at start: in the cache
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cold.sort();
    warm.sort();
    println!("cold swap (compile), rename → serving: median {:?}, min {:?}, max {:?}", cold[2], cold[0], cold[4]);
    println!("warm swap (cached), rename → serving: median {:?}, min {:?}, max {:?}", warm[2], warm[0], warm[4]);

    let (quiet, quiet_failed, _) = throughput(&runtime, &plugin, &device, None).await;
    let (busy, busy_failed, swaps) = throughput(&runtime, &plugin, &device, Some(&original)).await;
    println!(
        "get-device calls/s: {quiet:.0} without swaps, {busy:.0} with {swaps} warm swaps in 3 s (dip {:.1}%); failed calls: {}",
        (1.0 - busy / quiet) * 100.0,
        quiet_failed + busy_failed
    );
}

/// Renames `bytes` over `plugin` as deploy tools do; returns the time until they serve.
async fn swap(runtime: &PluginRuntime, plugin: &Path, bytes: &[u8]) -> Duration {
    let sha = sha256(bytes);
    let temporary = plugin.with_extension("tmp");
    std::fs::write(&temporary, bytes).expect("write");
    let renamed = Instant::now();
    std::fs::rename(&temporary, plugin).expect("rename");
    while runtime.status().first().is_none_or(|s| s.sha256 != sha) {
        assert!(renamed.elapsed() < Duration::from_secs(30), "the swap did not happen: {:?}", runtime.status());
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    renamed.elapsed()
}

/// Two callers hammer `get-device` for 3 s; with `swapping`, a warm swap every 300 ms between
/// `swapping` and a variant of it. Returns calls/s, failed calls and swaps.
async fn throughput(
    runtime: &Arc<PluginRuntime>,
    plugin: &Path,
    device: &str,
    swapping: Option<&[u8]>,
) -> (f64, u64, u32) {
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (runtime, device, stop, calls, failures) =
                (runtime.clone(), device.to_string(), stop.clone(), calls.clone(), failures.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match runtime.uem("maas360").expect("instance").get_device(&device).await {
                        Ok(_) => calls.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failures.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut swaps = 0;
    while started.elapsed() < Duration::from_secs(3) {
        if let Some(original) = swapping {
            let bytes = if swaps % 2 == 0 { variant(original, 10) } else { original.to_vec() };
            swap(runtime, plugin, &bytes).await;
            swaps += 1;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await.expect("caller");
    }
    (calls.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(), failures.load(Ordering::Relaxed), swaps)
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
