//! SIEM delivery end to end: the cloud sends `siem.events` tasks, the connector formats them per
//! target, queues them durably and delivers them to a real rsyslog over UDP, TCP and TLS. What
//! rsyslog wrote is parsed back and checked field by field; an outage with a connector restart
//! in the middle loses nothing and delivers nothing twice.

#[path = "common/relay_site.rs"]
mod relay_site;
#[path = "common/rsyslog.rs"]
mod rsyslog;
#[path = "common/siem_parse.rs"]
mod siem_parse;

use std::path::PathBuf;
use std::time::Duration;

use cloud_emulator::TaskSpec;
use connector::pii::Kind;
use connector::pii::Tokenizer;
use relay_site::{Connector, Site, admin_get};
use rsyslog::{Input, Rsyslog};
use serde_json::{Value, json};

/// A connector config delivering to `rsyslog`: JSON over UDP, TCP and TLS.
fn config(site: &Site, rsyslog: &Rsyslog) -> PathBuf {
    config_with(site, rsyslog, ["siem-json", "siem-json", "siem-json"])
}

/// A connector config delivering to `rsyslog` with these formatters over UDP, TCP and TLS.
fn config_with(site: &Site, rsyslog: &Rsyslog, [udp, tcp, tls]: [&str; 3]) -> PathBuf {
    site.write("rsyslog-ca.pem", rsyslog.ca_pem());
    let path = site.config("hq-1", "pii.keyring", "");
    let mut text = std::fs::read_to_string(&path).expect("config");
    for (name, file) in [("siem-cef", "siem_cef"), ("siem-leef", "siem_leef"), ("siem-rfc5424", "siem_rfc5424")] {
        text.push_str(&format!("\n[instances.{name}]\nplugin = \"{file}.wasm\"\nkind = \"siem\"\n"));
    }
    text.push_str(&format!(
        r#"
[siem.targets.over-udp]
formatter = "{udp}"
transport = "udp"
address = "{udp_addr}"

[siem.targets.over-tcp]
formatter = "{tcp}"
transport = "tcp"
address = "{tcp_addr}"

[siem.targets.over-tls]
formatter = "{tls}"
transport = "tls"
address = "localhost:{tls_port}"
ca_file = "rsyslog-ca.pem"
"#,
        udp_addr = rsyslog.udp_addr(),
        tcp_addr = rsyslog.tcp_addr(),
        tls_port = rsyslog.tls_addr().port(),
    ));
    std::fs::write(&path, text).expect("config");
    path
}

/// A security event whose personal values are tokens; `tricky` fills text with characters every
/// format must escape.
fn event(tokenizer: &Tokenizer, id: &str, owner: &str, tricky: &str) -> Value {
    let token =
        |kind, value: &str| json!({"kind": kind_name(kind), "value": tokenizer.tokenize(kind, value).expect("token")});
    json!({
        "id": id, "event_type": "Threat detected", "time_ms": 1_793_491_200_123u64, "client_time_ms": 1_793_491_199_000u64,
        "severity": "High", "name": format!("Malicious app {tricky}"), "attack_vector": "App", "threat_factors": ["sideloaded", tricky],
        "signature": null, "url": "https://evil.example/a?b=c|d", "tenant": "acme",
        "message": {"kind": "FreeText", "value": format!("Device of {} flagged", tokenizer.tokenize(Kind::Email, "grace@corp.example.com").expect("token"))},
        "device": {"id": format!("dev-{id}"), "name": token(Kind::DeviceName, &format!("{owner}'s phone")),
                   "owner": token(Kind::PersonName, owner), "email": token(Kind::Email, "grace@corp.example.com"),
                   "phone": token(Kind::Phone, "+14155550100"), "platform": "iOS", "os_version": "18.1", "model": tricky,
                   "serial_number": null, "client_version": "5.1", "policy": null, "groups": ["Lab", tricky], "risk": "High"},
        "app": null, "network": null, "fields": [{"name": "extra", "value": {"Text": tricky}}]
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::DeviceName => "DeviceName",
        Kind::PersonName => "PersonName",
        Kind::Email => "Email",
        Kind::Phone => "Phone",
        _ => "FreeText",
    }
}

async fn wait_tasks(site: &Site, ids: &[String], connector: &Connector) {
    assert!(site.cloud.wait_completed(ids, Duration::from_secs(120)).await, "tasks not done: {}", connector.log());
    for id in ids {
        let view = site.cloud.task(id).expect("task");
        assert_eq!(view.status.as_deref(), Some("ok"), "{:?} {}", view.error, connector.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_rsyslog_over_udp_tcp_and_tls_with_plaintext_restored() {
    let rsyslog = Rsyslog::start();
    let site = Site::start(5).await;
    let config = config(&site, &rsyslog);
    let mut connector = Connector::start(&config);
    let tokenizer = site.tokenizer();
    let tricky = "a|b=c\\d]e\"f\nline two\tZoë 東京";
    let events: Vec<Value> = (0..3).map(|i| event(&tokenizer, &format!("ev-{i}"), "Grace O'Hopper", tricky)).collect();
    let id = site.cloud.enqueue(TaskSpec::new("siem.events", None, json!({ "events": events })));
    wait_tasks(&site, std::slice::from_ref(&id), &connector).await;
    let result = site.cloud.task(&id).and_then(|t| t.result).expect("result");
    assert_eq!(result["targets"].as_array().expect("targets").len(), 3, "{result}");

    for input in [Input::Udp, Input::Tcp, Input::Tls] {
        let lines = rsyslog.wait_for(input, 3, Duration::from_secs(20));
        assert_eq!(lines.len(), 3, "{input:?}: {lines:?}");
        for (i, line) in lines.iter().enumerate() {
            let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{input:?}: {e}: {line}"));
            assert_eq!(parsed["id"], format!("ev-{i}"));
            assert_eq!(parsed["device"]["owner"], "Grace O'Hopper", "{input:?}: restored");
            assert_eq!(parsed["device"]["email"], "grace@corp.example.com");
            assert_eq!(parsed["device"]["model"], tricky, "{input:?}: every byte intact");
            assert_eq!(parsed["message"], "Device of grace@corp.example.com flagged");
        }
    }
    // The cloud never saw the plaintext.
    site.assert_cloud_holds_no_plaintext(&["Grace O'Hopper", "grace@corp.example.com"]);
    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true), "{}", connector.log());
    assert!(!connector.log().contains("grace@corp.example.com"), "plaintext in the connector's log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc5424_cef_and_leef_parse_back_field_by_field() {
    let rsyslog = Rsyslog::start();
    let site = Site::start(5).await;
    let config = config_with(&site, &rsyslog, ["siem-rfc5424", "siem-cef", "siem-leef"]);
    let mut connector = Connector::start(&config);
    let tokenizer = site.tokenizer();
    let tricky = "a|b=c\\d]e\"f\nline two\r\tZoë 東京 x";
    let owner = "Zoë Ünal-O'Brien";
    let events: Vec<Value> = (0..2).map(|i| event(&tokenizer, &format!("ev-{i}"), owner, tricky)).collect();
    let id = site.cloud.enqueue(TaskSpec::new("siem.events", None, json!({ "events": events })));
    wait_tasks(&site, std::slice::from_ref(&id), &connector).await;
    let device_name = format!("{owner}'s phone");

    for (i, line) in rsyslog.wait_for(Input::Udp, 2, Duration::from_secs(20)).iter().enumerate() {
        let syslog = siem_parse::rfc5424(line);
        assert_eq!((syslog.facility(), syslog.severity()), (16, 3), "local0, high → error");
        assert_eq!(syslog.hostname.as_deref(), Some("hq-1"));
        let param = |name| syslog.param("mtd@32473", name).unwrap_or_else(|| panic!("{name} missing: {line}"));
        assert_eq!(param("eventId"), format!("ev-{i}"));
        assert_eq!(param("deviceOwner"), owner);
        assert_eq!(param("deviceName"), device_name);
        assert_eq!(param("deviceEmail"), "grace@corp.example.com");
        assert_eq!(param("devicePhone"), "+14155550100");
        assert_eq!(param("deviceModel"), tricky, "SD escaping round trip");
        assert_eq!(param("field_extra"), tricky);
        assert!(syslog.msg.contains("Device of grace@corp.example.com flagged"), "{}", syslog.msg);
    }
    for (i, line) in rsyslog.wait_for(Input::Tcp, 2, Duration::from_secs(20)).iter().enumerate() {
        let cef = siem_parse::cef(&siem_parse::rfc5424(line).msg);
        assert_eq!((cef.vendor.as_str(), cef.severity.as_str()), ("MTD Cloud", "10"));
        assert_eq!(cef.signature_id, "Threat detected");
        let ext = |key| cef.ext(key).unwrap_or_else(|| panic!("{key} missing: {line}"));
        assert_eq!(ext("externalId"), format!("ev-{i}"));
        assert_eq!(ext("flexString1"), owner);
        assert_eq!(ext("suser"), device_name);
        assert_eq!(ext("duser"), "grace@corp.example.com");
        assert_eq!(ext("cs2"), "+14155550100");
        assert_eq!(ext("cs4"), tricky, "CEF extension escaping round trip");
        assert_eq!(ext("msg"), "Device of grace@corp.example.com flagged");
        assert_eq!(ext("request"), "https://evil.example/a?b=c|d");
    }
    for (i, line) in rsyslog.wait_for(Input::Tls, 2, Duration::from_secs(20)).iter().enumerate() {
        let leef = siem_parse::leef(&siem_parse::rfc5424(line).msg);
        assert_eq!((leef.version.as_str(), leef.delimiter), ("2.0", '\t'));
        let attr = |key| leef.attr(key).unwrap_or_else(|| panic!("{key} missing: {line}"));
        assert_eq!(attr("eventId"), format!("ev-{i}"));
        assert_eq!(attr("sev"), "10");
        assert_eq!(attr("deviceOwner"), owner);
        assert_eq!(attr("resource"), device_name);
        assert_eq!(attr("usrName"), "grace@corp.example.com");
        assert_eq!(attr("deviceModel"), tricky, "LEEF escaping round trip");
        assert_eq!(attr("devTime"), "1793491200123");
    }
    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true), "{}", connector.log());
    site.assert_cloud_holds_no_plaintext(&[owner, "grace@corp.example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_siem_outage_and_a_connector_restart_lose_nothing_and_repeat_nothing() {
    const TASKS: usize = 10;
    const PER_TASK: usize = 1000;
    let mut rsyslog = Rsyslog::start();
    let site = Site::start(5).await;
    let config = config(&site, &rsyslog);
    let mut connector = Connector::start(&config);
    let tokenizer = site.tokenizer();
    rsyslog.stop();

    let specs: Vec<TaskSpec> = (0..TASKS)
        .map(|t| {
            let events: Vec<Value> = (0..PER_TASK)
                .map(|e| event(&tokenizer, &format!("ev-{:06}", t * PER_TASK + e), "Ada Lovelace", "plain"))
                .collect();
            TaskSpec::new("siem.events", None, json!({ "events": events }))
        })
        .collect();
    let ids = site.cloud.enqueue_many(specs);
    // Acknowledged: every event is on disk, though the SIEM is down.
    wait_tasks(&site, &ids, &connector).await;

    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true), "{}", connector.log());
    let mut connector = Connector::start(&config);
    tokio::time::sleep(Duration::from_millis(500)).await;
    rsyslog.restart();

    let total = TASKS * PER_TASK;
    for input in [Input::Tcp, Input::Tls] {
        let lines = rsyslog.wait_for(input, total, Duration::from_secs(120));
        let ids: Vec<String> = lines
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].as_str().expect("id").to_string())
            .collect();
        assert_eq!(ids.len(), total, "{input:?}: none lost, none twice");
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), total, "{input:?}: each event once");
        // Tasks run side by side, so tasks may be queued in any order; each task's events are
        // queued in one commit and delivered as one run, in order.
        for run in ids.chunks(PER_TASK) {
            let first: usize = run[0]["ev-".len()..].parse().expect("number");
            assert_eq!(first % PER_TASK, 0, "{input:?}: a task's run starts at its first event");
            let expected: Vec<String> = (first..first + PER_TASK).map(|i| format!("ev-{i:06}")).collect();
            assert!(run == expected.as_slice(), "{input:?}: a task's events in order, together");
        }
    }
    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true));
}

/// A JSON collector in the style of Splunk HEC: `POST /services/collector/raw` with
/// `Authorization: Splunk <token>`; answers 503 to the first batch (a collector restarting).
struct Collector {
    addr: std::net::SocketAddr,
    ca_pem: String,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Collector {
    async fn start(token: &'static str) -> Collector {
        use http_body_util::BodyExt;
        let (ca_pem, cert_pem, key_pem) = rsyslog::test_ca::issue_localhost();
        let chain = rustls_pki_types::pem::PemObject::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<rustls_pki_types::CertificateDer<'static>>, _>>()
            .expect("cert");
        let key =
            <rustls_pki_types::PrivateKeyDer as rustls_pki_types::pem::PemObject>::from_pem_slice(key_pem.as_bytes())
                .expect("key");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (kept, count) = (lines.clone(), refused.clone());
        tokio::spawn(async move {
            let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (acceptor, kept, count, first) = (acceptor.clone(), kept.clone(), count.clone(), first.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (kept, count, first) = (kept.clone(), count.clone(), first.clone());
                        async move {
                            let authorized = request.headers().get("authorization").and_then(|v| v.to_str().ok())
                                == Some(&format!("Splunk {token}"));
                            let path_ok = request.uri().path() == "/services/collector/raw";
                            let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let status = if !authorized || !path_ok {
                                401
                            } else if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                503
                            } else {
                                let text = String::from_utf8_lossy(&body).into_owned();
                                kept.lock().expect("lines").extend(text.lines().map(str::to_string));
                                200
                            };
                            let mut response =
                                hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Collector { addr, ca_pem, lines, refused }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_events_reach_an_https_collector_after_it_refuses_once() {
    let collector = Collector::start("hec-token-1").await;
    let site = Site::start(5).await;
    site.write("hec-ca.pem", &collector.ca_pem);
    site.write("hec-token", "hec-token-1");
    let path = site.config("hq-1", "pii.keyring", "");
    let mut text = std::fs::read_to_string(&path).expect("config");
    text.push_str(&format!(
        "\n[siem.targets.hec]\nformatter = \"siem-json\"\ntransport = \"https\"\n\
         url = \"https://localhost:{}/services/collector/raw\"\nca_file = \"hec-ca.pem\"\ntoken = {{ file = \"hec-token\" }}\n",
        collector.addr.port()
    ));
    std::fs::write(&path, text).expect("config");
    let mut connector = Connector::start(&path);
    let tokenizer = site.tokenizer();
    let events: Vec<Value> = (0..4).map(|i| event(&tokenizer, &format!("ev-{i}"), "Katherine Johnson", "x")).collect();
    let id = site.cloud.enqueue(TaskSpec::new("siem.events", None, json!({ "events": events })));
    wait_tasks(&site, &[id], &connector).await;
    let started = std::time::Instant::now();
    while collector.lines.lock().expect("lines").len() < 4 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lines = collector.lines.lock().expect("lines").clone();
    assert_eq!(collector.refused.load(std::sync::atomic::Ordering::SeqCst), 1, "the first batch was refused");
    let ids: Vec<String> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids, ["ev-0", "ev-1", "ev-2", "ev-3"], "retried, in order, once");
    assert!(lines[0].contains("Katherine Johnson"), "restored: {}", lines[0]);
    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true));
    assert!(!connector.log().contains("hec-token-1"), "the token in the log");
}

/// `GET path` on the admin listener (plain HTTP on loopback), the body as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_event_tasks_retryably_and_health_says_so() {
    let site = Site::start(5).await;
    let closed = rsyslog::test_ca::free_port();
    let admin = rsyslog::test_ca::free_port();
    let path = site.config("hq-1", "pii.keyring", "");
    let mut text = std::fs::read_to_string(&path).expect("config");
    text = text.replacen("[relay]", &format!("[admin]\nlisten = \"127.0.0.1:{admin}\"\n\n[relay]"), 1);
    text.push_str(&format!(
        "\n[siem.targets.down]\nformatter = \"siem-json\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\nmax_queue = 5\n"
    ));
    std::fs::write(&path, text).expect("config");
    let mut connector = Connector::start(&path);
    let tokenizer = site.tokenizer();
    let batch = |from: usize, n: usize| {
        let events: Vec<Value> =
            (from..from + n).map(|i| event(&tokenizer, &format!("ev-{i}"), "Alan Turing", "x")).collect();
        TaskSpec::new("siem.events", None, json!({ "events": events }))
    };
    let first = site.cloud.enqueue(batch(0, 3));
    wait_tasks(&site, std::slice::from_ref(&first), &connector).await;
    let over = site.cloud.enqueue(batch(3, 4));
    assert!(site.cloud.wait_completed(std::slice::from_ref(&over), Duration::from_secs(30)).await);
    let error = site.cloud.task(&over).and_then(|t| t.error).expect("refused");
    assert_eq!(error["code"], "queue-full", "{error}");
    assert_eq!(error["retryable"], true, "{error}");
    let health = admin_get(&format!("127.0.0.1:{admin}"), "/healthz").await;
    assert_eq!(health["siem"][0]["waiting"], 3, "{health}");
    let fill = site.cloud.enqueue(batch(3, 2));
    wait_tasks(&site, std::slice::from_ref(&fill), &connector).await;
    let health = admin_get(&format!("127.0.0.1:{admin}"), "/healthz").await;
    assert_eq!(
        (health["status"].as_str(), health["siem"][0]["full"].as_bool()),
        (Some("degraded"), Some(true)),
        "{health}"
    );
    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(20)), Some(true));
}
