//! Load run: a full inventory sync of 100 000 devices from the MaaS360 emulator over TLS on
//! loopback, beside a bare HTTP client fetching the same pages from the same emulator in the
//! same run. Reports wall times, their ratio, and the connector's peak memory growth for a
//! tenth of the tenant and for all of it (flat when the sync streams).
//!
//! `cargo bench -p connector-tests --bench maas360_sync` (after `scripts/build-plugins`);
//! `MAAS360_BENCH_DEVICES` and `MAAS360_BENCH_ROUNDS` change the size and the rounds.

use std::io::Write;
use std::time::{Duration, Instant};

use connector::inventory::{self, SyncOptions, SyncedLine};
use connector::plugins::PluginRuntime;
use connector_tests::maas360::{Credentials, Maas360};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use maas360_emulator::EmulatorConfig;

const PAGE: usize = 250;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    runtime.block_on(bench());
}

async fn bench() {
    let devices = env("MAAS360_BENCH_DEVICES", 100_000);
    let rounds = env("MAAS360_BENCH_ROUNDS", 3);
    let generated = Instant::now();
    let maas = Maas360::start(EmulatorConfig { devices, ..EmulatorConfig::default() }).await;
    println!("emulator: {devices} devices generated in {:.1?}", generated.elapsed());
    let config = maas.config("", &Credentials::default());
    let connector = config.start().await;

    // Memory first, before earlier syncs have grown the allocator's pools: peak resident growth
    // while syncing a tenth of the tenant, then all of it. Flat means streamed.
    let tenth = sync_memory(&connector, Some(devices / 10)).await;
    let all = sync_memory(&connector, None).await;
    println!(
        "peak RSS growth: {} devices {:.1} MiB, {devices} devices {:.1} MiB",
        devices / 10,
        tenth as f64 / 1048576.0,
        all as f64 / 1048576.0
    );

    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let t = fetch_bare(&maas, devices).await;
        let c = sync(&connector, None).await;
        println!("round {round}: bare fetch {t:.2?}, connector sync {c:.2?}");
        bare.push(t);
        ours.push(c);
    }
    let (bare, ours) = (median(bare), median(ours));
    println!(
        "median of {rounds}: bare fetch {bare:.2?} ({:.0} devices/s), connector sync {ours:.2?} ({:.0} devices/s), connector/bare = {:.2}",
        devices as f64 / bare.as_secs_f64(),
        devices as f64 / ours.as_secs_f64(),
        ours.as_secs_f64() / bare.as_secs_f64()
    );
}

/// The connector's sync (devices only), written as JSON lines to nowhere; `limit` stops early.
async fn sync(connector: &PluginRuntime, limit: Option<usize>) -> Duration {
    let uem = connector.uem("maas360").expect("instance");
    let filter = connector.pii().expect("pii");
    let options = SyncOptions { apps: false, ..SyncOptions::default() };
    let mut out = std::io::BufWriter::new(std::io::sink());
    let mut written = 0usize;
    let started = Instant::now();
    let result = inventory::sync(&uem, filter, &options, |synced| {
        written += 1;
        if limit.is_some_and(|l| written > l) {
            return Err(std::io::Error::other("limit reached"));
        }
        serde_json::to_writer(&mut out, &SyncedLine::new("maas360", &synced))?;
        out.write_all(b"\n")
    })
    .await;
    let elapsed = started.elapsed();
    match (result, limit) {
        (Ok(report), None) => assert!(report.devices > 0),
        (Err(inventory::InventoryError::Output(_)), Some(_)) => {}
        (other, _) => panic!("sync: {other:?}"),
    }
    elapsed
}

async fn sync_memory(connector: &PluginRuntime, limit: Option<usize>) -> u64 {
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current size.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    sync(connector, limit).await;
    status_kib("VmHWM:").saturating_sub(before) * 1024
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A bare client: one sign-in, then every page of the same search, bodies read whole, over one
/// pooled TLS client like the connector's.
async fn fetch_bare(maas: &Maas360, devices: usize) -> Duration {
    let roots = {
        let mut roots = rustls::RootCertStore::empty();
        use rustls_pki_types::pem::PemObject;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(maas.ca.ca_pem().as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
        roots
    };
    let tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let tenant = EmulatorConfig::default();
    let origin = maas.emulator.origin();
    let started = Instant::now();

    let body = serde_json::json!({ "authRequest": { "maaS360AdminAuth": {
        "billingID": tenant.billing_id, "platformID": "3", "appID": tenant.app_id, "appVersion": tenant.app_version,
        "appAccessKey": tenant.access_key, "userName": tenant.username, "password": tenant.password }}});
    let request =
        hyper::Request::post(format!("{origin}/auth-apis/auth/2.0/authenticate/customer/{}", tenant.billing_id))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(Full::from(serde_json::to_vec(&body).expect("json")))
            .expect("request");
    let answer = client.request(request).await.expect("auth");
    let answer: serde_json::Value =
        serde_json::from_slice(&answer.into_body().collect().await.expect("body").to_bytes()).expect("json");
    let token = answer["authResponse"]["authToken"].as_str().expect("token").to_string();

    let pages = devices.div_ceil(PAGE);
    let mut bytes = 0;
    for page in 1..=pages {
        let uri = format!(
            "{origin}/device-apis/devices/2.0/search/customer/{}?pageSize={PAGE}&pageNumber={page}&sortAttribute=installedDate&sortOrder=asc",
            tenant.billing_id
        );
        let request = hyper::Request::get(uri)
            .header("authorization", format!("MaaS token=\"{token}\""))
            .header("accept", "application/json")
            .body(Full::default())
            .expect("request");
        let response = client.request(request).await.expect("page");
        assert!(response.status().is_success(), "{}", response.status());
        bytes += response.into_body().collect().await.expect("body").to_bytes().len();
    }
    assert!(bytes > devices * 100);
    started.elapsed()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}
