//! Load run of the mail outbox: `mail.send` tasks accepted into the durable outbox, then handed by
//! the deliverer to the SMTP plugin and sent to a real SMTP server (the `tests/common/smtp_server.rs`
//! fixture: Debian's aiosmtpd, STARTTLS and AUTH required) — beside a plain client sending the
//! same messages over one connection, in the same run.
//!
//! - **Accept**: `MSC_BENCH_MAILS` (2 000) relay frames (`mail.send`, each with a tokenized
//!   recipient and display name, a subject and a text + HTML body of a few KB) parsed with the
//!   relay's frame parser and run through `Dispatcher::run` `MSC_MAIL_BENCH_IN_FLIGHT` (8) at a
//!   time, as the relay runs tasks side by side: the instance is checked, the tokens restored as a
//!   check, the mail committed durably (redb, fsync), the task answered. Nothing is delivered yet.
//! - **Deliver**: then `MailOutbox::start`, timed until the server has received every mail, with
//!   the deliverer's `concurrency` at 1 and at 4 (a fresh store and outbox each).
//! - **Plain client** (the baseline): lettre (`AsyncSmtpConnection`), STARTTLS required, the
//!   fixture's CA as its only root, the same credentials, one connection opened once and reused
//!   for every mail, sending the exact bytes (and envelopes) the server received from the
//!   connector at concurrency 1. The benchmark opens the TCP stream itself to set `TCP_NODELAY`:
//!   lettre 0.11.23 leaves Nagle on and then waits for the server's delayed ACK (40 ms) after
//!   every message body. lettre's `SmtpTransport` as published (a pool of at most one connection,
//!   Nagle on) is measured too, in the probes.
//! - **Where a mail's time goes** (`MSC_MAIL_BENCH_PROBE` mails, 200, one at a time): the
//!   accept path alone; `Dispatcher::send_mail` without the outbox (sandbox, TCP, TLS, EHLO, AUTH,
//!   the transaction, QUIT); lettre opening a new connection per mail (TCP, EHLO, STARTTLS, EHLO,
//!   AUTH, the transaction, QUIT); lettre's published `SmtpTransport`; and connections counted
//!   through a counting TCP relay in front of the server, for the plugin and for that transport.
//!
//! `cargo bench -p connector --bench mail_load` (after `scripts/build-plugins`; needs aiosmtpd:
//! `scripts/install-test-deps`).

mod common;
#[path = "../tests/common/smtp_server.rs"]
mod smtp_server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{CpuClock, CpuShares, FIRST, LAST, plugin_dir};
use connector::config::{Config, MailConfig};
use connector::dispatch::{ConnectorStatus, Dispatcher, TaskError};
use connector::mail::MailOutbox;
use connector::pii::canonical::Canonicalizer;
use connector::pii::keyring::Keyring;
use connector::pii::{Kind, PiiFilter, Tokenizer};
use connector::plugins::PluginRuntime;
use connector::store::Store;
use connector::store::outcomes::Outcomes;
use lettre::Transport;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{PoolConfig, SmtpTransport};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use smtp_server::{Mode, Received, SmtpOptions, SmtpServer};

const USER: &str = "mtd-alerts";
const PASSWORD: &str = "smtp-Passw0rd-for-tests";
/// The SMTP instance, straight to the server.
const INSTANCE: &str = "smtp";
/// The same server through the counting relay.
const COUNTED: &str = "smtp-counted";
/// Distinct recipients the mails go to.
const PEOPLE: usize = 400;
/// The deliverer's concurrency per delivery phase.
const CONCURRENCY: [usize; 2] = [1, 4];

struct Settings {
    mails: usize,
    in_flight: usize,
    probe: usize,
}

fn settings() -> Settings {
    let var = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    Settings {
        mails: var("MSC_BENCH_MAILS", 2000).max(1),
        in_flight: var("MSC_MAIL_BENCH_IN_FLIGHT", 8).max(1),
        probe: var("MSC_MAIL_BENCH_PROBE", 200).max(1),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let settings = settings();
    let server = SmtpServer::start(SmtpOptions::new(Mode::StartTls).auth(USER, PASSWORD));
    let counter = ConnectionCounter::start(server.port).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let keyring = Keyring::generate().expect("keyring");
    keyring.create(&dir.path().join("pii.keyring")).expect("write keyring");
    let config = Config::load(&write_config(dir.path(), &server, counter.port)).expect("config");
    let base_mail = config.mail.clone();
    let runtime = Arc::new(PluginRuntime::start(config).await.expect("plugin runtime"));
    let filter = runtime.pii().cloned().expect("[pii]");
    let tokenizer =
        Tokenizer::new(Keyring::load(&dir.path().join("pii.keyring")).expect("keyring"), Canonicalizer::new(None));
    let people = people(&tokenizer);
    let status = || common::status(&keyring);
    let mail_config = |concurrency: usize| MailConfig {
        concurrency,
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
        ..base_mail.clone()
    };
    let mut inbox = Inbox::new(&server);

    // Warm-up: the plugin's first calls, the server's first TLS handshakes.
    let direct = Dispatcher::new(runtime.clone(), filter.clone(), status());
    let warm = tasks(&people, INSTANCE, "warm", 20);
    for frame in &warm {
        send_now(&direct, frame).await.expect("warm-up send");
    }
    inbox.wait(warm.len(), Duration::from_secs(60)).await;

    let sample_bytes = tasks(&people, INSTANCE, "sample", 1)[0].len();
    println!(
        "{} mails per phase to {PEOPLE} recipients (relay frame ~{sample_bytes} bytes, tokens for the recipient, \
         name, subject and bodies); accept with {} tasks in flight; 2 tokio workers, aiosmtpd on the same 2 cores",
        settings.mails, settings.in_flight
    );

    let mut rows = Vec::new();
    let mut delivered = Vec::new();
    for concurrency in CONCURRENCY {
        let prefix = format!("c{concurrency}");
        let frames = tasks(&people, INSTANCE, &prefix, settings.mails);
        let store_dir = dir.path().join(format!("store-{prefix}"));
        let store = Arc::new(Store::open(&store_dir).expect("durable store"));
        let outbox = MailOutbox::new(store.clone(), Outcomes::new(store), mail_config(concurrency));
        let dispatcher = Arc::new(Dispatcher::new(runtime.clone(), filter.clone(), status()).with_mail(outbox.clone()));

        let accepted = drive(&dispatcher, &frames, settings.in_flight).await;
        assert_eq!(outbox.status().waiting, settings.mails as u64, "every mail waits in the outbox");

        let cpu = CpuClock::start(server_pid(server.port));
        let started = Instant::now();
        outbox.start(dispatcher.clone());
        let base = inbox.expected;
        let received = inbox.wait(settings.mails, Duration::from_secs(900)).await;
        let on_server = started.elapsed();
        let cpu = cpu_shown(cpu.stop(), settings.mails);
        let settled = wait_settled(&outbox).await.duration_since(started);
        outbox.shutdown().await;
        let status = outbox.status();
        assert_eq!(status.outcomes_waiting, settings.mails as u64, "an outcome per mail");
        let got = server.wait_for(received, Duration::from_secs(10));
        let ours = &got[base..base + settings.mails];
        check_received(ours, &people);
        rows.push((concurrency, accepted, on_server, settled, cpu));
        if delivered.is_empty() {
            delivered = ours.to_vec();
        }
    }

    // The baseline: the same bytes, over one kept connection.
    let cpu = CpuClock::start(server_pid(server.port));
    let plain_took = plain_send(&delivered, server.port, server.ca_pem()).await;
    let cpu_plain = cpu_shown(cpu.stop(), delivered.len());
    inbox.wait(delivered.len(), Duration::from_secs(60)).await;

    let rate = |d: Duration| settings.mails as f64 / d.as_secs_f64();
    let bytes = delivered.iter().map(|r| r.data.len()).sum::<usize>() / delivered.len();
    println!("\nmails of ~{bytes} bytes as received (MIME, text + HTML):");
    println!(
        "  plain client (lettre), one kept connection:{:>8.2?} = {:>6.0} mails/s ({:.2} ms a mail); CPU in cores of 2: {cpu_plain}",
        plain_took,
        rate(plain_took),
        plain_took.as_secs_f64() * 1e3 / settings.mails as f64
    );
    for (concurrency, accepted, on_server, settled, cpu) in &rows {
        println!("  connector, deliverer concurrency {concurrency}:");
        println!("    accepted (durable, answered):     {:>8.2?} = {:>6.0} mails/s", accepted, rate(*accepted));
        println!(
            "    on the server:                     {:>8.2?} = {:>6.0} mails/s ({:.2} ms a mail), {:.3}x the plain \
             client's rate; all settled {:.2?}",
            on_server,
            rate(*on_server),
            on_server.as_secs_f64() * 1e3 / settings.mails as f64,
            rate(*on_server) / rate(plain_took),
            settled
        );
        println!("    CPU in cores of 2: {cpu}");
    }

    probes(&settings, &runtime, &filter, &people, &server, &counter, &mut inbox, dir.path(), status()).await;
}

/// One at a time: what the accept path, the plugin's send and a plain client's fresh connection
/// each cost per mail, and how many connections each side opens.
#[allow(clippy::too_many_arguments)]
async fn probes(
    settings: &Settings,
    runtime: &Arc<PluginRuntime>,
    filter: &Arc<PiiFilter>,
    people: &[Person],
    server: &SmtpServer,
    counter: &ConnectionCounter,
    inbox: &mut Inbox,
    dir: &Path,
    status: ConnectorStatus,
) {
    let n = settings.probe;
    let per_mail = |d: Duration| {
        format!("{:>7.2} ms a mail ({:>5.0} mails/s)", d.as_secs_f64() * 1e3 / n as f64, n as f64 / d.as_secs_f64())
    };
    println!("\nwhere a mail's time goes, {n} mails one at a time:");

    // The accept path alone, one task at a time (a durable commit each).
    let store = Arc::new(Store::open(&dir.join("store-probe")).expect("durable store"));
    let outbox = MailOutbox::new(store.clone(), Outcomes::new(store), MailConfig::default());
    let dispatcher = Arc::new(Dispatcher::new(runtime.clone(), filter.clone(), status).with_mail(outbox));
    let accepted = drive(&dispatcher, &tasks(people, INSTANCE, "probe-accept", n), 1).await;
    println!("  {}  accept: check, restore as a check, durable commit (redb, fsync), answer", per_mail(accepted));

    // The plugin's send without the outbox: a fresh sandbox and connection per mail.
    let frames = tasks(people, INSTANCE, "probe-send", n);
    let started = Instant::now();
    for frame in &frames {
        send_now(&dispatcher, frame).await.expect("send");
    }
    let sent = started.elapsed();
    inbox.wait(n, Duration::from_secs(120)).await;
    println!(
        "  {}  send_mail() without the outbox: sandbox + TCP + EHLO + STARTTLS + EHLO + AUTH + transaction + QUIT",
        per_mail(sent)
    );

    // A plain client opening a connection per mail, the same steps natively.
    let got = server.wait_for(inbox.expected, Duration::from_secs(10));
    let sample: Vec<Received> = got[inbox.expected - n..inbox.expected].to_vec();
    let fresh = plain_send_fresh(&sample, server.port, server.ca_pem()).await;
    inbox.wait(n, Duration::from_secs(120)).await;
    println!(
        "  {}  plain client, a new connection per mail: TCP + EHLO + STARTTLS + EHLO + AUTH + transaction + QUIT",
        per_mail(fresh)
    );

    // Through the counting relay: the plugin's connections, and lettre's pooled transport's.
    counter.reset();
    for frame in &tasks(people, COUNTED, "probe-counted", n) {
        send_now(&dispatcher, frame).await.expect("counted send");
    }
    inbox.wait(n, Duration::from_secs(120)).await;
    let ours = counter.reset();
    let published = published_send(sample, counter.port, server.ca_pem()).await;
    inbox.wait(n, Duration::from_secs(120)).await;
    let pooled = counter.reset();
    println!(
        "  {}  lettre's SmtpTransport as published: pool of one connection, Nagle on (through the counting relay)",
        per_mail(published)
    );
    println!("  connections opened for {n} mails: connector {ours}, lettre's pooled SmtpTransport {pooled}");
}

/// Counts `*.json` message files by looking for the last one expected: the server numbers them
/// in arrival order and renames each into place under one lock, so file k means k arrived.
struct Inbox {
    dir: PathBuf,
    expected: usize,
}

impl Inbox {
    fn new(server: &SmtpServer) -> Self {
        Self { dir: server.path("messages"), expected: 0 }
    }

    /// Waits for `more` messages beyond those expected so far; returns the new total.
    async fn wait(&mut self, more: usize, timeout: Duration) -> usize {
        self.expected += more;
        let last = self.dir.join(format!("{:06}.json", self.expected));
        let started = Instant::now();
        while !last.is_file() {
            assert!(started.elapsed() < timeout, "message {} not received within {timeout:?}", self.expected);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.expected
    }
}

/// What the server received is the restored mail, over TLS, signed in.
fn check_received(received: &[Received], people: &[Person]) {
    for got in received {
        assert!(got.tls && got.login.as_deref() == Some(USER), "over TLS, authenticated");
        let text = String::from_utf8_lossy(&got.data);
        assert!(!text.contains(connector::pii::token::PREFIX_STR), "a token reached the server");
    }
    let parsed = mail_parser::MessageParser::default().parse(&received[0].data).expect("RFC 5322 message");
    let to = parsed.to().and_then(|to| to.first()).expect("To");
    let person = people.iter().find(|p| Some(p.email.as_str()) == to.address()).expect("a known recipient, restored");
    assert_eq!(to.name(), Some(person.name.as_str()));
}

/// Waits until the outbox is empty (every mail's outcome committed).
async fn wait_settled(outbox: &MailOutbox) -> Instant {
    let started = Instant::now();
    while outbox.status().waiting > 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "mails still in the outbox");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Instant::now()
}

struct Person {
    name: String,
    email: String,
    name_token: String,
    email_token: String,
}

fn people(tokenizer: &Tokenizer) -> Vec<Person> {
    (0..PEOPLE)
        .map(|i| {
            let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
            let name = format!("{first} {last}");
            let email = format!("{}.{}{i}@corp.example", first.to_lowercase(), last.to_lowercase());
            let name_token = tokenizer.tokenize(Kind::PersonName, &name).expect("token");
            let email_token = tokenizer.tokenize(Kind::Email, &email).expect("token");
            Person { name, email, name_token, email_token }
        })
        .collect()
}

/// `count` `mail.send` relay frames for `instance`, task ids `PREFIX-i`.
fn tasks(people: &[Person], instance: &str, prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let person = &people[i % people.len()];
            let id = format!("{prefix}-{i}");
            let text = |value: String| json!({"kind": "FreeText", "value": value});
            let device = format!("iPhone {}", 1000 + i);
            let mut plain = format!(
                "Hello {},\n\nThe device \"{device}\" of {} was rated High risk at 09:41 UTC:\n\
                 a sideloaded app (com.flashlight.free 2.3.1) asks for device administration.\n\n",
                person.name_token, person.email_token
            );
            let mut html = format!(
                "<html><body><p>Hello <b>{}</b>,</p><p>The device <i>{device}</i> of {} was rated \
                 <span style=\"color:#c00\">High</span> risk at 09:41 UTC.</p><table>",
                person.name_token, person.email_token
            );
            for step in 1..=12 {
                plain.push_str(&format!(
                    "Step {step}: open Settings, then General, then VPN & Device Management, and check that no \
                     profile you do not know is installed; remove the app if it is still there.\n"
                ));
                html.push_str(&format!(
                    "<tr><td>{step}</td><td>Open <b>Settings</b> → General → VPN &amp; Device Management; \
                     remove any profile you do not know, and the app if it is still there.</td></tr>"
                ));
            }
            plain.push_str("\n-- \nMobile threat defense, on behalf of the security team\n");
            html.push_str("</table><p>Mobile threat defense, on behalf of the security team</p></body></html>");
            let message = json!({
                "id": id, "sender": null, "cc": [], "bcc": [], "reply_to": null,
                "to": [{"email": {"kind": "Email", "value": person.email_token},
                        "display_name": {"kind": "PersonName", "value": person.name_token}}],
                "subject": text(format!("Device at risk: {device} of {}", person.name_token)),
                "text_body": text(plain),
                "html_body": text(html),
                "headers": [{"name": "X-MTD-Alert", "value": "device-risk"}],
            });
            json!({"id": id, "kind": "mail.send", "instance": instance, "deadline_ms": 60_000,
                   "payload": {"message": message}})
            .to_string()
        })
        .collect()
}

/// Sends one frame's mail now, without the outbox, as the deliverer would.
async fn send_now(dispatcher: &Dispatcher, frame: &str) -> Result<Box<RawValue>, TaskError> {
    let raw: &RawValue = serde_json::from_str(frame).expect("frame JSON");
    let task = connector::dispatch::task::parse(raw).unwrap_or_else(|m| panic!("frame refused: {}", m.error.message));
    let connector::dispatch::TaskKind::MailSend { message } = task.kind else { unreachable!("a mail.send task") };
    let instance = task.instance.as_deref().expect("an instance");
    dispatcher.send_mail(instance, &message, Instant::now() + Duration::from_secs(60)).await
}

/// Runs each frame as the relay does — parsed on arrival, then on its own task — at most
/// `in_flight` at once; checks that every mail was queued. How long until all were answered.
async fn drive(dispatcher: &Arc<Dispatcher>, frames: &[String], in_flight: usize) -> Duration {
    let tally = |result: Result<Box<RawValue>, TaskError>| {
        let result = result.unwrap_or_else(|e| panic!("task failed: {} {}", e.code, e.message));
        let queued: Value = serde_json::from_str(result.get()).expect("result JSON");
        assert_eq!(queued["queued"], true, "{queued}");
    };
    let (_, answered) = common::drive(dispatcher, frames, in_flight, tally).await;
    answered
}

fn envelope(received: &Received) -> Envelope {
    let address = |text: &str| text.parse::<Address>().unwrap_or_else(|e| panic!("address {text}: {e}"));
    let from = address(&received.mail_from);
    let to = received.rcpt_tos.iter().map(|t| address(t)).collect();
    Envelope::new(Some(from), to).expect("envelope")
}

fn tls_parameters(ca_pem: &str) -> TlsParameters {
    TlsParameters::builder("localhost".into())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(Certificate::from_pem(ca_pem.as_bytes()).expect("CA"))
        .build_rustls()
        .expect("TLS parameters")
}

fn hello() -> ClientId {
    ClientId::Domain("bench.localhost".into())
}

fn credentials() -> Credentials {
    Credentials::new(USER.into(), PASSWORD.into())
}

/// One signed-in connection by lettre: TCP (with `TCP_NODELAY`, which lettre 0.11.23 does not
/// set itself), EHLO, STARTTLS (required), EHLO, AUTH PLAIN.
async fn plain_connection(port: u16, tls: &TlsParameters) -> AsyncSmtpConnection {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello()).await.expect("EHLO");
    connection.starttls(tls.clone(), &hello()).await.expect("STARTTLS");
    connection.auth(&[Mechanism::Plain], &credentials()).await.expect("AUTH");
    connection
}

/// `mails` (their bytes and envelopes as the server received them) sent by lettre over one
/// connection kept for all of them; how long from connecting until the last was accepted.
async fn plain_send(mails: &[Received], port: u16, ca_pem: &str) -> Duration {
    let tls = tls_parameters(ca_pem);
    let envelopes: Vec<Envelope> = mails.iter().map(envelope).collect();
    let started = Instant::now();
    let mut connection = plain_connection(port, &tls).await;
    for (mail, envelope) in mails.iter().zip(&envelopes) {
        let reply = connection.send(envelope, &mail.data).await.expect("plain send");
        assert!(reply.is_positive(), "{reply:?}");
    }
    let took = started.elapsed();
    connection.quit().await.expect("QUIT");
    took
}

/// `mails` sent by lettre with a new connection each: connect, EHLO, STARTTLS, EHLO, AUTH, the
/// transaction, QUIT.
async fn plain_send_fresh(mails: &[Received], port: u16, ca_pem: &str) -> Duration {
    let tls = tls_parameters(ca_pem);
    let envelopes: Vec<Envelope> = mails.iter().map(envelope).collect();
    let started = Instant::now();
    for (mail, envelope) in mails.iter().zip(&envelopes) {
        let mut connection = plain_connection(port, &tls).await;
        let reply = connection.send(envelope, &mail.data).await.expect("plain send");
        assert!(reply.is_positive(), "{reply:?}");
        connection.quit().await.expect("QUIT");
    }
    started.elapsed()
}

/// `mails` sent by lettre's `SmtpTransport` as published (STARTTLS required, AUTH, a pool of
/// at most one connection, Nagle left on); how long they took.
async fn published_send(mails: Vec<Received>, port: u16, ca_pem: &str) -> Duration {
    let tls = tls_parameters(ca_pem);
    tokio::task::spawn_blocking(move || {
        let transport = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(port)
            .tls(Tls::Required(tls))
            .hello_name(hello())
            .credentials(credentials())
            .authentication(vec![Mechanism::Plain])
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(1))
            .build();
        let envelopes: Vec<Envelope> = mails.iter().map(envelope).collect();
        let started = Instant::now();
        for (mail, envelope) in mails.iter().zip(&envelopes) {
            let reply = transport.send_raw(envelope, &mail.data).expect("plain send");
            assert!(reply.is_positive(), "{reply:?}");
        }
        let took = started.elapsed();
        transport.shutdown();
        took
    })
    .await
    .expect("plain client ran")
}

/// A TCP relay in front of the server that counts the connections made through it.
struct ConnectionCounter {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    async fn start(server_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the counting relay");
        let port = listener.local_addr().expect("relay address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", server_port)).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        Self { port, accepted }
    }

    /// Connections since the last reset.
    fn reset(&self) -> usize {
        self.accepted.swap(0, Ordering::SeqCst)
    }
}

fn write_config(dir: &Path, server: &SmtpServer, counted_port: u16) -> PathBuf {
    std::fs::write(dir.join("smtp-ca.pem"), server.ca_pem()).expect("write CA");
    std::fs::write(dir.join("smtp-password"), PASSWORD).expect("write password");
    let mut text = format!(
        "[connector]\nname = \"bench-1\"\nplugin_dir = {:?}\n\n[pii]\nkeyring = \"pii.keyring\"\ndefault_region = \"US\"\n\n\
         [store]\ndir = \"store\"\n",
        plugin_dir("smtp.wasm").display().to_string()
    );
    for (instance, port) in [(INSTANCE, server.port), (COUNTED, counted_port)] {
        text.push_str(&format!(
            r#"
[instances.{instance}]
plugin = "smtp.wasm"
kind = "mail"
ca_file = "smtp-ca.pem"

[instances.{instance}.grants]
net = ["localhost:{port}"]

[instances.{instance}.config]
host = "localhost"
port = {port}
security = "starttls"
from = "mtd-alerts@corp.example"
from_name = "MTD Alerts"
username = "{USER}"

[instances.{instance}.secrets]
password = {{ file = "smtp-password" }}
"#
        ));
    }
    let path = dir.join("connector.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// What the CPU did over a measurement, with this process's and the server's CPU time per mail.
fn cpu_shown(cpu: CpuShares, mails: usize) -> String {
    let per_mail = |cores: f64| cores * cpu.seconds * 1e3 / mails as f64;
    format!(
        "machine {:.2}, this process {:.2} ({:.2} ms a mail), aiosmtpd {:.2} ({:.2} ms a mail), others {:.2}",
        cpu.machine,
        cpu.this_process,
        per_mail(cpu.this_process),
        cpu.server,
        per_mail(cpu.server),
        cpu.others
    )
}

/// The fixture's server process, found by its command line (the fixture keeps its child private).
fn server_pid(port: u16) -> Option<u32> {
    let port = format!("\0--port\0{port}\0");
    std::fs::read_dir("/proc").ok()?.filter_map(Result::ok).find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        (cmdline.contains("smtp_server.py") && cmdline.contains(&port)).then_some(pid)
    })
}
