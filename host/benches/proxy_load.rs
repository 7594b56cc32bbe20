//! Load run of the local proxy: a logged-in admin's pages fetched through it, every token restored
//! as the body streams, beside a plain hyper pass-through proxy of the same pages in the same run.
//!
//! One process, one tokio runtime of 2 workers: the upstream (a hyper HTTPS server serving two
//! fixed pages), the connector's proxy (`connector::proxy::start`, as `connector run` starts
//! it), the pass-through, and the load generator all share it.
//!
//! - **Pages**: `/page.json`, a 1 MiB JSON device list, and `/page.html`, a 100 KiB HTML table,
//!   each with one token per ~200 bytes; served as they are (no compression) although the proxy
//!   offers gzip and br. `/gz/…` serves the same pages gzip-compressed, which the proxy decodes.
//! - **Targets**: *direct* to the upstream; *pass-through*: hyper on both legs, the same TLS
//!   configuration on each leg as the proxy's, a pool of kept-alive upstream connections like the
//!   proxy's, bodies streamed back untouched; *proxy*: the connector's local proxy with a session.
//! - **Load**: C kept-alive HTTPS connections, each looping GETs and reading every body whole;
//!   every latency recorded after a warm-up. C = 1 for latency, C = 16 for throughput.
//! - **Restore alone**: each page through the proxy's restorer on one thread, with and without
//!   witnessing tokens for the audit, and on two threads at once: where the proxy's time goes.
//!
//! `cargo bench -p connector --bench proxy_load`; `-- --quick` (or `MSC_PROXY_BENCH_QUICK=1`)
//! for a short smoke run; `MSC_PROXY_BENCH_ONLY="html 100 KiB/16"` runs one scenario, and
//! `…/16/proxy` only its proxy run (to profile it). Figures are in docs/benchmarks.md.
//!
//! Each row also reports the CPU time the whole process spent per request: the row minus the
//! direct row is what the proxy in between costs, whatever the 2 shared cores did meanwhile.

#[path = "../tests/common/proxy_site.rs"]
mod proxy_site;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use connector::config::Config;
use connector::pii::keyring::Keyring;
use connector::pii::restore::{Context, Restorer};
use connector::pii::token::PREFIX_STR;
use connector::pii::{Kind, Tokenizer};
use connector::proxy::ProxyBody;
use connector::proxy::users::UserStore;
use connector::relay::transport::Endpoint;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::{TokioIo, TokioTimer};
use proxy_site::{Client, PASSWORD, USER, hidden_value, set_cookie_pair};
use rustls_pki_types::ServerName;
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The pages the upstream serves, tokenized, and plaintext each restored page must show.
struct Pages {
    json: Bytes,
    html: Bytes,
    json_gz: Bytes,
    html_gz: Bytes,
    /// Emails of devices on both pages (lower-cased, as tokenizing canonicalises them).
    plaintext: Vec<String>,
    /// Distinct tokens on the two pages.
    distinct: usize,
}

/// One measured scenario: a page fetched at a concurrency, with its timing.
struct Scenario {
    label: &'static str,
    path: &'static str,
    connections: usize,
    warm_up: Duration,
    measure: Duration,
}

/// What one target did in one scenario.
struct Run {
    /// Requests started after the warm-up.
    requests: usize,
    bytes: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    /// Requests including the warm-up's, and the CPU time the whole process (load generator,
    /// upstream, proxies) spent per request over them.
    all_requests: usize,
    cpu_per_request: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn megabytes(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("MSC_PROXY_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run(quick));
}

async fn run(quick: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca_pem, cert_pem, key_pem) = proxy_site::issue_localhost();
    for (name, text) in [
        ("ca.pem", ca_pem.as_str()),
        ("server.pem", &cert_pem),
        ("server.key", &key_pem),
        ("enrollment-token", "bench-enrollment-token"),
        ("dashboard-token", "bench-dashboard-token"),
    ] {
        write_private(&dir.path().join(name), text);
    }
    Keyring::generate().expect("keyring").create(&dir.path().join("pii.keyring")).expect("keyring file");

    // The upstream's port goes into the config, so its listener is bound first.
    let upstream_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let upstream_port = upstream_listener.local_addr().expect("addr").port();
    let proxy_port = proxy_site::free_port();
    let config_file = dir.path().join("connector.toml");
    std::fs::write(
        &config_file,
        format!(
            r#"[pii]
keyring = "pii.keyring"
default_region = "US"

# Required beside [local_proxy]; never contacted. Its CA is the one the dashboard is trusted with.
[relay]
url = "https://127.0.0.1:{upstream_port}"
enrollment_token = {{ file = "enrollment-token" }}
ca_file = "ca.pem"

[local_proxy]
listen = "127.0.0.1:{proxy_port}"
cert_file = "server.pem"
key_file = "server.key"
dashboard_url = "https://127.0.0.1:{upstream_port}"
dashboard_token = {{ file = "dashboard-token" }}
"#
        ),
    )
    .expect("config");
    let mut config = Config::load(&config_file).unwrap_or_else(|e| panic!("config: {e}"));
    let filter = Arc::new(config.pii.take().expect("[pii]").into_filter());
    let local_proxy = config.local_proxy.take().expect("[local_proxy]");
    UserStore::new(&local_proxy.users_file).add(USER, &SecretString::from(PASSWORD.to_string())).expect("add user");

    let pages = Arc::new(pages(filter.tokenizer()));
    let tokens = |body: &[u8]| String::from_utf8_lossy(body).matches(PREFIX_STR).count();
    println!(
        "pages: /page.json {} bytes, {} tokens (one per {} bytes); /page.html {} bytes, {} tokens (one per {} bytes); {} distinct tokens; gzip: {} and {} bytes",
        pages.json.len(),
        tokens(&pages.json),
        pages.json.len() / tokens(&pages.json),
        pages.html.len(),
        tokens(&pages.html),
        pages.html.len() / tokens(&pages.html),
        pages.distinct,
        pages.json_gz.len(),
        pages.html_gz.len(),
    );

    // Every server presents the same certificate through the proxy's own TLS set-up, and every
    // upstream leg uses the dashboard's client configuration: the same TLS work on each path.
    let server_tls = connector::proxy::tls::load(&local_proxy.certificate, "localhost").expect("tls").server;
    let dashboard_tls = local_proxy.dashboard.tls.clone();
    tokio::spawn(serve_upstream(upstream_listener, TlsAcceptor::from(server_tls.clone()), {
        let pages = pages.clone();
        move |request| upstream(&pages, &request)
    }));
    let upstream_addr: SocketAddr = ([127, 0, 0, 1], upstream_port).into();

    let pass = Arc::new(PassThrough {
        endpoint: Endpoint::to("127.0.0.1", upstream_port, dashboard_tls, None).expect("endpoint"),
        authority: HeaderValue::from_str(&format!("127.0.0.1:{upstream_port}")).expect("authority"),
        idle: Mutex::default(),
    });
    let pass_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind pass-through");
    let pass_addr = pass_listener.local_addr().expect("addr");
    tokio::spawn(serve_pass_through(pass_listener, TlsAcceptor::from(server_tls.clone()), pass));

    let proxy = connector::proxy::start(local_proxy, filter.clone(), None).await.expect("proxy starts");
    let session = login(proxy.listen, &proxy.origin, &ca_pem).await;

    let client_tls = client_tls(&ca_pem);
    verify(proxy.listen, &session, &client_tls, &pages).await;

    let (warm_up, measure, short) = if quick {
        (Duration::from_millis(200), Duration::from_secs(1), Duration::from_secs(1))
    } else {
        (Duration::from_secs(1), Duration::from_secs(5), Duration::from_millis(2500))
    };
    let scenario = |label, path, connections, measure| Scenario { label, path, connections, warm_up, measure };
    let scenarios = [
        scenario("json 1 MiB", "/page.json", 1, measure),
        scenario("json 1 MiB", "/page.json", 16, measure),
        scenario("html 100 KiB", "/page.html", 1, measure),
        scenario("html 100 KiB", "/page.html", 16, measure),
        scenario("json 1 MiB gzip", "/gz/page.json", 16, short),
        scenario("html 100 KiB gzip", "/gz/page.html", 1, short),
        scenario("html 100 KiB gzip", "/gz/page.html", 16, short),
    ];
    let targets =
        [("direct", upstream_addr, None), ("pass-through", pass_addr, None), ("proxy", proxy.listen, Some(&session))];
    let audit_log = dir.path().join("local-proxy-audit.log");
    let audit_size = || std::fs::metadata(&audit_log).map_or(0, |m| m.len());

    println!();
    println!(
        "{:<18} {:>3}  {:<12} {:>8} {:>7} {:>7} {:>7}  {:>8}  {:>7} {:>10}",
        "page", "C", "target", "req/s", "MB/s", "p50 ms", "p99 ms", "CPU/req", "vs pass", "added p99"
    );
    let mut summary = Vec::new();
    // For profiling: `MSC_PROXY_BENCH_ONLY="html 100 KiB/16"` runs one scenario,
    // `…/16/proxy` one target of it.
    let only = std::env::var("MSC_PROXY_BENCH_ONLY").ok();
    for scenario in &scenarios {
        let mut runs = Vec::new();
        for (name, addr, cookie) in &targets {
            let this = format!("{}/{}", scenario.label, scenario.connections);
            if only.as_ref().is_some_and(|only| *only != this && *only != format!("{this}/{name}")) {
                continue;
            }
            let audit_before = audit_size();
            let run = load(*addr, scenario, cookie.map(String::as_str), &client_tls).await;
            let audit = (audit_size() - audit_before) / run.all_requests as u64;
            runs.push((*name, run, audit));
        }
        let find = |target: &str| runs.iter().find(|(name, ..)| *name == target).map(|(_, run, audit)| (run, *audit));
        let (direct, pass) = (find("direct").map(|r| r.0), find("pass-through").map(|r| r.0));
        for (name, run, _) in &runs {
            let vs_pass = pass.filter(|_| *name != "direct").map(|pass| format!("{:.2}x", run.rate() / pass.rate()));
            let added =
                direct.filter(|_| *name != "direct").map(|d| format!("{:+.2} ms", millis(run.p99) - millis(d.p99)));
            println!(
                "{:<18} {:>3}  {:<12} {:>8.0} {:>7.0} {:>7.2} {:>7.2}  {:>5.0} µs  {:>7} {:>10}",
                scenario.label,
                scenario.connections,
                name,
                run.rate(),
                run.megabytes(),
                millis(run.p50),
                millis(run.p99),
                run.cpu_per_request.as_secs_f64() * 1e6,
                vs_pass.unwrap_or_else(|| "-".into()),
                added.unwrap_or_else(|| "-".into()),
            );
        }
        if let (Some(direct), Some(pass), Some((proxy, audit))) = (direct, pass, find("proxy")) {
            let own = |run: &Run| (run.cpu_per_request.as_secs_f64() - direct.cpu_per_request.as_secs_f64()) * 1e6;
            summary.push(format!(
                "{} C={}: proxy {:.0}% of the pass-through's req/s; added p99: proxy {:+.2} ms, pass-through {:+.2} ms; \
                 CPU per request beyond direct: proxy {:.0} µs, pass-through {:.0} µs; audit log {} bytes per page",
                scenario.label,
                scenario.connections,
                proxy.rate() / pass.rate() * 100.0,
                millis(proxy.p99) - millis(direct.p99),
                millis(pass.p99) - millis(direct.p99),
                own(proxy),
                own(pass),
                audit,
            ));
        }
    }
    println!();
    for line in summary {
        println!("{line}");
    }

    // Where a proxied page's time goes: restoring alone, as the proxy does it (16 KiB pieces, the
    // size of TLS records), with and without witnessing tokens for the audit, on one thread and
    // on two at once (they share the tokenizer's cache of opened tokens).
    println!();
    let tokenizer = filter.tokenizer();
    for (name, body, gz, context) in [
        ("json", &pages.json, &pages.json_gz, Context::JsonString),
        ("html", &pages.html, &pages.html_gz, Context::Html),
    ] {
        let rounds = (if body.len() > 512 * 1024 { 200 } else { 2000 }) / (if quick { 10 } else { 1 });
        let restore = |witness: bool| {
            let mut out = Vec::with_capacity(body.len() * 2);
            let started = Instant::now();
            for _ in 0..rounds {
                out.clear();
                let mut restorer = Restorer::new(tokenizer.clone(), context);
                if witness {
                    restorer = restorer.witness(500);
                }
                for chunk in body.chunks(16 * 1024) {
                    restorer.push(chunk, &mut out);
                }
                restorer.finish(&mut out);
                std::hint::black_box(restorer.take_witnessed());
            }
            started.elapsed() / rounds
        };
        let (witnessed, bare) = (restore(true), restore(false));
        let two = std::thread::scope(|scope| {
            let other = scope.spawn(|| restore(true));
            let this = restore(true);
            (this + other.join().expect("restore thread")) / 2
        });
        // Inflating the gzip variant, with the flate2 backend the proxy's decoder uses.
        let started = Instant::now();
        let mut inflated = Vec::with_capacity(body.len());
        for _ in 0..rounds {
            inflated.clear();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut inflated).expect("gunzip");
        }
        let gunzip = started.elapsed() / rounds;
        println!(
            "restore alone, {name}: {:.3} ms per page ({:.0} MB/s of tokenized input); without witnessing {:.3} ms; \
             two threads at once {:.3} ms each; gunzip alone {:.3} ms",
            millis(witnessed),
            body.len() as f64 / 1e6 / witnessed.as_secs_f64(),
            millis(bare),
            millis(two),
            millis(gunzip),
        );
    }
    proxy.task.abort();
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
}

const FIRST: [&str; 8] = ["Alice", "Bob", "Chidi", "Dagny", "Eun-ji", "Fatima", "Gustavo", "Hélène"];
const LAST: [&str; 8] = ["Smith", "Okafor", "Nakamura", "Schmidt", "García", "O'Neil", "Kowalski", "Dubois"];
const MODELS: [&str; 4] = ["iPhone 15", "Galaxy S24", "Pixel 9", "iPad Pro"];

/// Device `i`'s personal fields as tokens: device name, owner, email; and the email in clear.
fn device(tokenizer: &Tokenizer, i: usize) -> ([String; 3], String) {
    let (first, last) = (FIRST[i % 8], LAST[(i / 8) % 8]);
    let email = format!("{first}.{last}{i}@Example.com");
    let token = |kind, value: &str| tokenizer.tokenize(kind, value).expect("tokenize");
    let tokens = [
        token(Kind::DeviceName, &format!("{first}'s {} {i}", MODELS[i % 4])),
        token(Kind::PersonName, &format!("{first} {last}")),
        token(Kind::Email, &email),
    ];
    (tokens, email.to_lowercase())
}

/// A 1 MiB JSON device list and a 100 KiB HTML table of the same devices, one token per ~200
/// bytes. Each JSON record is a different device, as on a real list page.
fn pages(tokenizer: &Tokenizer) -> Pages {
    let mut json = String::from("{\"devices\":[");
    let mut distinct = std::collections::HashSet::new();
    let mut i = 0;
    while json.len() < (1 << 20) - 700 {
        let ([name, owner, email], _) = device(tokenizer, i);
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            concat!(
                "{{\"id\":\"dev-{i:06}\",\"name\":\"{name}\",\"platform\":\"ios\",\"model\":\"{model}\",",
                "\"osName\":\"iOS\",\"osVersion\":\"18.1.{minor}\",\"owner\":{{\"name\":\"{owner}\",\"email\":\"{email}\"}},",
                "\"risk\":{{\"level\":\"high\",\"score\":{score},\"threats\":[\"jailbreak\",\"sideloaded-app\"]}},",
                "\"compliance\":{{\"state\":\"non-compliant\",\"policy\":\"corp-ios-baseline\",\"since\":\"2026-11-{day:02}T08:15:00Z\"}},",
                "\"enrolledAt\":\"2025-02-14T09:12:00Z\",\"lastSeen\":{seen},\"apps\":{apps},",
                "\"groups\":[\"Sales\",\"EMEA\"],\"managedBy\":\"maas360\"}}"
            ),
            i = i,
            name = name,
            owner = owner,
            email = email,
            model = MODELS[i % 4],
            minor = i % 3,
            score = 40 + i % 60,
            day = 1 + i % 28,
            seen = 1_763_000_000_000u64 + i as u64 * 61_000,
            apps = 20 + i % 80,
        ));
        distinct.extend([name, owner, email]);
        i += 1;
    }
    json.push_str(&format!("],\"total\":{i}}}"));

    let mut html = String::from(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Devices</title>",
        "<link rel=\"stylesheet\" href=\"/static/app.css\"><script src=\"/static/app.js\" defer></script></head>",
        "<body><main><h1>Devices</h1><table class=\"devices\"><thead><tr><th>Device</th><th>Owner</th>",
        "<th>Email</th><th>Model</th><th>OS</th><th>Risk</th><th>Compliance</th><th>Last seen</th><th></th></tr></thead><tbody>\n"
    ));
    let mut plaintext = Vec::new();
    let mut j = 0;
    while html.len() < 100 * 1024 - 700 {
        let ([name, owner, email], clear) = device(tokenizer, j);
        html.push_str(&format!(
            concat!(
                "<tr class=\"device-row\" data-id=\"dev-{j:06}\"><td class=\"name\"><a href=\"/devices/dev-{j:06}\">{name}</a></td>",
                "<td class=\"owner\">{owner}</td><td class=\"email\">{email}</td><td>{model}</td><td>iOS 18.1.{minor}</td>",
                "<td class=\"risk high\"><span class=\"badge\">High</span> {score}</td><td class=\"compliance\">Non-compliant</td>",
                "<td><time datetime=\"2026-11-{day:02}T08:15:00Z\">{day} Nov</time></td>",
                "<td><a class=\"button\" href=\"/devices/dev-{j:06}/actions\">Actions</a></td></tr>\n"
            ),
            j = j,
            name = name,
            owner = owner,
            email = email,
            model = MODELS[j % 4],
            minor = j % 3,
            score = 40 + j % 60,
            day = 1 + j % 28,
        ));
        if j % 50 == 1 {
            plaintext.push(clear);
        }
        j += 1;
    }
    html.push_str("</tbody></table></main></body></html>\n");
    let gzip = |body: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(body).expect("gzip");
        Bytes::from(encoder.finish().expect("gzip"))
    };
    let (json, html) = (Bytes::from(json), Bytes::from(html));
    Pages { json_gz: gzip(&json), html_gz: gzip(&html), json, html, plaintext, distinct: distinct.len() }
}

/// The upstream: the fixed pages, with their type and length, never compressed unless asked for
/// by path (`/gz/…`).
fn upstream(pages: &Pages, request: &Request<Incoming>) -> Response<ProxyBody> {
    let (body, content_type, gzip) = match request.uri().path() {
        "/page.json" => (&pages.json, "application/json", false),
        "/page.html" => (&pages.html, "text/html; charset=utf-8", false),
        "/gz/page.json" => (&pages.json_gz, "application/json", true),
        "/gz/page.html" => (&pages.html_gz, "text/html; charset=utf-8", true),
        _ => {
            let mut response = Response::new(Empty::new().map_err(|e| match e {}).boxed_unsync());
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
    };
    let mut response = Response::new(Full::new(body.clone()).map_err(|e| match e {}).boxed_unsync());
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if gzip {
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Serves HTTP/1.1 over TLS with `handle` on every connection `listener` accepts.
async fn serve_upstream<F>(listener: TcpListener, acceptor: TlsAcceptor, handle: F)
where
    F: Fn(Request<Incoming>) -> Response<ProxyBody> + Clone + Send + Sync + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (acceptor, handle) = (acceptor.clone(), handle.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let service = hyper::service::service_fn(move |request| {
                let response = handle(request);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

/// The baseline: a plain hyper reverse proxy with a pool of kept-alive upstream connections,
/// like the connector's, passing each body back untouched.
struct PassThrough {
    endpoint: Endpoint,
    authority: HeaderValue,
    idle: Mutex<Vec<SendRequest<ProxyBody>>>,
}

impl PassThrough {
    async fn forward(self: Arc<Self>, request: Request<Incoming>) -> Response<ProxyBody> {
        let (mut parts, body) = request.into_parts();
        parts.headers.insert(header::HOST, self.authority.clone());
        let request = Request::from_parts(parts, body.map_err(Into::into).boxed_unsync());
        let pooled = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut sender = match pooled {
            Some(sender) if sender.is_ready() => sender,
            _ => self.endpoint.connect::<ProxyBody>().await.expect("pass-through dials the upstream"),
        };
        let response = sender.send_request(request).await;
        // Back to the pool once the body has been read, as the connector's proxy does.
        let this = self.clone();
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                this.idle.lock().unwrap_or_else(PoisonError::into_inner).push(sender);
            }
        });
        match response {
            Ok(response) => response.map(|body| body.map_err(Into::into).boxed_unsync()),
            Err(error) => {
                let mut response =
                    Response::new(Full::new(Bytes::from(error.to_string())).map_err(|e| match e {}).boxed_unsync());
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                response
            }
        }
    }
}

async fn serve_pass_through(listener: TcpListener, acceptor: TlsAcceptor, pass: Arc<PassThrough>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (acceptor, pass) = (acceptor.clone(), pass.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let service = hyper::service::service_fn(move |request| {
                let pass = pass.clone();
                async move { Ok::<_, std::convert::Infallible>(pass.forward(request).await) }
            });
            // The same server settings as the connector's listener.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn client_tls(ca_pem: &str) -> TlsConnector {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// One kept-alive HTTPS connection of the load generator.
async fn connect(addr: SocketAddr, tls: &TlsConnector) -> SendRequest<Empty<Bytes>> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let _ = tcp.set_nodelay(true);
    let tls = tls.connect(ServerName::try_from("localhost").expect("name"), tcp).await.expect("tls");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("handshake");
    tokio::spawn(connection);
    sender
}

fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> Request<Empty<Bytes>> {
    let mut request = Request::get(path).header(header::HOST, format!("localhost:{}", addr.port()));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Empty::new()).expect("request")
}

/// Logs in through the proxy's login form (with its CSRF cookie); returns the session cookie.
async fn login(addr: SocketAddr, origin: &str, ca_pem: &str) -> String {
    let client = Client::new(addr, ca_pem);
    let page = client.get("/_connector/login", &[]).await;
    let login_cookie = set_cookie_pair(&page, "__Host-msc-login").expect("login cookie");
    let csrf = hidden_value(&String::from_utf8_lossy(page.body()), "csrf").expect("csrf field");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("next", "/")
        .append_pair("username", USER)
        .append_pair("password", PASSWORD)
        .finish();
    let answer = client.post_form("/_connector/login", &[("cookie", &login_cookie), ("origin", origin)], form).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "login: {}", proxy_site::text(&answer));
    set_cookie_pair(&answer, "__Host-msc-session").expect("session cookie")
}

/// Fails loudly unless every proxied page comes back restored: plaintext in, no token left.
async fn verify(proxy: SocketAddr, session: &str, tls: &TlsConnector, pages: &Pages) {
    let mut sender = connect(proxy, tls).await;
    for path in ["/page.json", "/page.html", "/gz/page.json", "/gz/page.html"] {
        sender.ready().await.expect("ready");
        let response = sender.send_request(get(proxy, path, Some(session))).await.expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains(PREFIX_STR), "{path}: a token came through the proxy unrestored");
        for email in &pages.plaintext {
            assert!(text.contains(email.as_str()), "{path}: {email} was not restored");
        }
        println!("verified {path} through the proxy: {} bytes, no token left, plaintext restored", body.len());
    }
}

/// `scenario` against one target: connections dialed first, then every one loops GETs until the
/// end; requests started after the warm-up are counted.
async fn load(addr: SocketAddr, scenario: &Scenario, cookie: Option<&str>, tls: &TlsConnector) -> Run {
    let mut senders = Vec::new();
    for _ in 0..scenario.connections {
        senders.push(connect(addr, tls).await);
    }
    let cpu_before = cpu_time();
    let started = Instant::now();
    let measured_from = started + scenario.warm_up;
    let until = measured_from + scenario.measure;
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let (path, cookie) = (scenario.path, cookie.map(str::to_string));
            tokio::spawn(async move {
                let (mut latencies, mut bytes, mut last, mut all) = (Vec::new(), 0u64, measured_from, 0);
                loop {
                    let start = Instant::now();
                    if start >= until {
                        break;
                    }
                    sender.ready().await.expect("ready");
                    let response = sender.send_request(get(addr, path, cookie.as_deref())).await.expect("response");
                    assert_eq!(response.status(), StatusCode::OK, "{path}");
                    let mut body = response.into_body();
                    let mut received = 0;
                    while let Some(frame) = body.frame().await {
                        if let Ok(data) = frame.expect("body").into_data() {
                            received += data.len() as u64;
                        }
                    }
                    let end = Instant::now();
                    all += 1;
                    if start >= measured_from {
                        latencies.push(end - start);
                        bytes += received;
                        last = end;
                    }
                }
                (latencies, bytes, last, all)
            })
        })
        .collect();
    let (mut latencies, mut bytes, mut last, mut all_requests) = (Vec::new(), 0, measured_from, 0);
    for task in tasks {
        let (l, b, end, all) = task.await.expect("load connection");
        latencies.extend(l);
        bytes += b;
        last = last.max(end);
        all_requests += all;
    }
    let cpu = cpu_time() - cpu_before;
    latencies.sort_unstable();
    assert!(!latencies.is_empty(), "no request finished in the measured window");
    let pick = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    Run {
        requests: latencies.len(),
        bytes,
        elapsed: last - measured_from,
        p50: pick(0.50),
        p99: pick(0.99),
        all_requests,
        cpu_per_request: cpu / all_requests as u32,
    }
}

/// CPU time (user and system) this process has used so far: every thread, the proxies', the
/// upstream's and the load generator's alike. From `/proc/self/stat`, in 10 ms ticks (Linux's
/// USER_HZ).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which is in parentheses: state, ppid, …; utime and stime
    // are the 14th and 15th fields of the line.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default().split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).expect("utime and stime");
    Duration::from_millis((tick(11) + tick(12)) * 10)
}
