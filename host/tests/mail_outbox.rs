//! The mail outbox end to end: `mail.send` tasks from the cloud emulator through `connector run`
//! and the SMTP plugin to a real SMTP server (aiosmtpd with STARTTLS and AUTH required). Each
//! task is answered once the mail is on disk; its delivery or refusal comes back later as the
//! task's outcome. Received messages are parsed back; an outage with 1 000 mails waiting and a
//! connector restart loses none and duplicates none.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cloud_emulator::{Emulator as Cloud, TaskSpec};
use common::smtp_server::{Mode, SmtpOptions, SmtpServer, test_ca};
use connector::pii::{Kind, Tokenizer};
use mail_parser::MessageParser;
use serde_json::{Value, json};

#[path = "common/relay_site.rs"]
mod relay_site;

use relay_site::{Connector, Site, admin_get, admin_get_text, wait_outcome};

const USER: &str = "mtd-alerts";
const PASSWORD: &str = "smtp-Passw0rd-for-tests";

/// Writes a connector config for `site` with an SMTP instance `smtp` pointed at `server`, quick
/// outbox retries and an admin listener; returns the config and the listener's address.
fn config(site: &Site, server: &SmtpServer) -> (std::path::PathBuf, String) {
    common::plugin_dir("smtp.wasm");
    site.write("smtp-ca.pem", server.ca_pem());
    site.write("smtp-password", PASSWORD);
    let path = site.config("hq-1", "pii.keyring", "");
    let admin = format!("127.0.0.1:{}", test_ca::free_port());
    let mut text = std::fs::read_to_string(&path).expect("config");
    text = text.replacen("[relay]", &format!("[admin]\nlisten = \"{admin}\"\n\n[relay]"), 1);
    text.push_str(&format!(
        r#"
[instances.smtp]
plugin = "smtp.wasm"
kind = "mail"
ca_file = "smtp-ca.pem"

[instances.smtp.grants]
net = ["localhost:{port}"]

[instances.smtp.config]
host = "localhost"
port = {port}
security = "starttls"
from = "mtd-alerts@corp.example"
from_name = "MTD Alerts"
username = "{USER}"

[instances.smtp.secrets]
password = {{ file = "smtp-password" }}

[mail]
retry_min = "200ms"
retry_max = "1s"
"#,
        port = server.port
    ));
    std::fs::write(&path, text).expect("write config");
    (path, admin)
}

fn address(tokenizer: &Tokenizer, email: &str, name: Option<&str>) -> Value {
    let token = |kind, value: &str| tokenizer.tokenize(kind, value).expect("token");
    json!({"email": {"kind": "Email", "value": token(Kind::Email, email)},
           "display_name": name.map(|n| json!({"kind": "PersonName", "value": token(Kind::PersonName, n)}))})
}

fn mail_task(message: Value) -> TaskSpec {
    TaskSpec {
        kind: "mail.send".into(),
        instance: Some("smtp".into()),
        payload: json!({ "message": message }),
        deadline_ms: 30_000,
        group: None,
    }
}

/// A message to `to`, with personal data as tokens. The connector replaces `id` with the task's
/// id, which the Message-ID is made from.
fn message(id: &str, to: Vec<Value>, subject: &str, text: &str, html: Option<&str>) -> Value {
    json!({"id": id, "sender": null, "to": to, "cc": [], "bcc": [], "reply_to": null,
           "subject": {"kind": "FreeText", "value": subject},
           "text_body": {"kind": "FreeText", "value": text},
           "html_body": html.map(|h| json!({"kind": "FreeText", "value": h})),
           "headers": [{"name": "X-MTD-Alert", "value": "device-risk"}]})
}

async fn wait_done(cloud: &Cloud, ids: &[String], timeout: Duration, connector: &Connector) {
    assert!(
        cloud.wait_completed(ids, timeout).await,
        "tasks not completed in time; connector log:\n{}",
        connector.log()
    );
}

fn result_of(cloud: &Cloud, id: &str) -> Value {
    let task = cloud.task(id).expect("task");
    assert_eq!(task.status.as_deref(), Some("ok"), "{task:?}");
    task.result.expect("result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_are_queued_then_delivered_or_refused_and_reported() {
    let rejected = "left.company@corp.example";
    let server = SmtpServer::start(SmtpOptions::new(Mode::StartTls).auth(USER, PASSWORD).reject(rejected));
    let site = Site::start(1).await;
    let (path, admin) = config(&site, &server);
    let connector = Connector::start(&path);
    let tokenizer = site.tokenizer();
    let (person, email) = ("Zoë Müller & <Co>", "zoe.mueller@corp.example");
    let (cc_email, bcc_email) = ("soc@corp.example", "audit@corp.example");
    let email_token = tokenizer.tokenize(Kind::Email, email).expect("token");
    let name_token = tokenizer.tokenize(Kind::PersonName, person).expect("token");

    let mut good = message(
        "placeholder",
        vec![address(&tokenizer, email, Some(person))],
        &format!("Gerät von {email_token} gefährdet ✓"),
        &format!("Hallo {name_token},\n.\nbitte aktualisieren."),
        Some(&format!("<p>Hallo <b>{name_token}</b>, bitte aktualisieren.</p>")),
    );
    good["cc"] = json!([address(&tokenizer, cc_email, None)]);
    good["bcc"] = json!([address(&tokenizer, bcc_email, None)]);
    let refused = message("placeholder", vec![address(&tokenizer, rejected, None)], "Bye", "Bye", None);
    let ids = site.cloud.enqueue_many(vec![mail_task(good), mail_task(refused)]);
    wait_done(&site.cloud, &ids, Duration::from_secs(60), &connector).await;
    for id in &ids {
        let queued = result_of(&site.cloud, id);
        assert_eq!((queued["queued"].as_bool(), queued["duplicate"].as_bool()), (Some(true), Some(false)), "{queued}");
    }

    // Delivered: the outcome carries the Message-ID made from the task's message id.
    let delivered = wait_outcome(&site.cloud, &ids[0], Duration::from_secs(60)).await;
    assert_eq!(delivered.later_status.as_deref(), Some("ok"), "{delivered:?}\n{}", connector.log());
    let delivery = &delivered.later_result.as_ref().expect("result")["delivery"];
    let message_id = format!("<msc.{}@corp.example>", ids[0]);
    assert_eq!(delivery["message_id"], message_id.as_str(), "the task's id, not the payload's: {delivery}");
    assert_eq!(delivery["reply"]["code"], 250, "{delivery}");

    // Refused for good: reported with the server's reply, the address as a token.
    let bounced = wait_outcome(&site.cloud, &ids[1], Duration::from_secs(60)).await;
    assert_eq!(bounced.later_status.as_deref(), Some("error"), "{bounced:?}");
    let error = bounced.later_error.expect("error");
    assert_eq!((error["code"].as_str(), error["retryable"].as_bool()), (Some("rejected"), Some(false)), "{error}");
    let reason = error["message"].as_str().expect("message");
    assert!(reason.contains("550"), "{reason}");
    assert!(!reason.contains(rejected), "plaintext address in the outcome: {reason}");

    // Nothing waits any more, in the outbox or for the relay (the connector removes an outcome
    // just after the relay's answer).
    let started = Instant::now();
    let health = loop {
        let health = admin_get(&admin, "/healthz").await;
        let left = (health["mail"]["waiting"].as_u64(), health["mail"]["outcomes_waiting"].as_u64());
        if left == (Some(0), Some(0)) || started.elapsed() > Duration::from_secs(10) {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!((health["mail"]["waiting"].as_u64(), health["mail"]["outcomes_waiting"].as_u64()), (Some(0), Some(0)));

    // What the server got, parsed back.
    let received = server.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1, "exactly the one deliverable mail");
    let got = &received[0];
    assert!(got.tls && got.login.as_deref() == Some(USER), "over TLS, authenticated");
    let mut envelope = got.rcpt_tos.clone();
    envelope.sort();
    assert_eq!(envelope, [bcc_email, cc_email, email]);
    let parsed = MessageParser::default().parse(&got.data).expect("RFC 5322 message");
    assert_eq!(parsed.subject(), Some(format!("Gerät von {email} gefährdet ✓").as_str()));
    assert_eq!(parsed.message_id(), Some(message_id.trim_matches(['<', '>'])));
    let to = parsed.to().and_then(|to| to.first()).expect("To");
    assert_eq!((to.name(), to.address()), (Some(person), Some(email)));
    assert!(parsed.header("Bcc").is_none(), "Bcc stays in the envelope");
    let text = parsed.body_text(0).expect("text body").replace("\r\n", "\n");
    assert_eq!(text, format!("Hallo {person},\n.\nbitte aktualisieren."), "dot-stuffing undone, plaintext restored");
    let html = parsed.body_html(0).expect("html body");
    assert_eq!(html, "<p>Hallo <b>Zoë Müller &amp; &lt;Co&gt;</b>, bitte aktualisieren.</p>", "restored HTML-escaped");

    // Ready, and the metrics an operator scrapes count what happened.
    let (status, ready) = admin_get_text(&admin, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let (status, metrics) = admin_get_text(&admin, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    for line in [
        "msc_tasks_total{kind=\"mail.send\",outcome=\"ok\"} 2",
        "msc_task_duration_seconds_count{kind=\"mail.send\"} 2",
        "msc_relay_up 1",
        "msc_queue_depth{queue=\"mail\"} 0",
        "msc_queue_full{queue=\"mail\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing `{line}` in\n{metrics}");
    }
    let instances = std::fs::read_to_string(&path)
        .expect("config")
        .lines()
        .filter(|l| l.starts_with("[instances.") && l.matches('.').count() == 1)
        .count();
    let serving = format!("msc_plugins_serving {instances}");
    assert!(metrics.lines().any(|l| l == serving), "missing `{serving}` in\n{metrics}");
    let sum = |prefix: &str, label: &str| -> u64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(prefix) && l.contains(label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    assert!(sum("msc_plugin_calls_total{", "outcome=\"ok\"") >= 2, "two mails went through the plugin:\n{metrics}");
    assert!(
        sum("msc_tokens_restored_total{", "path=\"task\"") >= 5,
        "the addresses and name were restored:\n{metrics}"
    );

    // Nothing personal reached the cloud, the log or the metrics.
    site.assert_cloud_holds_no_plaintext(&[person, email, cc_email, bcc_email, rejected]);
    let log = connector.log();
    for secret in [person, email, cc_email, bcc_email, rejected, PASSWORD] {
        assert!(!log.contains(secret), "`{secret}` in the connector's log");
        assert!(!metrics.contains(secret), "`{secret}` in the metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_defers_gets_the_mail_on_a_later_try_once() {
    let server = SmtpServer::start(SmtpOptions::new(Mode::StartTls).auth(USER, PASSWORD).defer_first(2));
    let site = Site::start(1).await;
    let connector = Connector::start(&config(&site, &server).0);
    let to = vec![address(&site.tokenizer(), "bob@corp.example", Some("Bob"))];
    let ids = site.cloud.enqueue_many(vec![mail_task(message("m-deferred", to, "Risk", "Update now.", None))]);
    wait_done(&site.cloud, &ids, Duration::from_secs(60), &connector).await;
    let outcome = wait_outcome(&site.cloud, &ids[0], Duration::from_secs(60)).await;
    assert_eq!(outcome.later_status.as_deref(), Some("ok"), "{outcome:?}\n{}", connector.log());
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1, "delivered once");
    let log = connector.log();
    assert_eq!(log.matches("mail not delivered yet").count(), 2, "two 451s, each retried:\n{log}");
    assert!(log.contains("451"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_mails_wait_out_an_outage_and_a_restart_and_arrive_once() {
    const MAILS: usize = 1000;
    let mut server = SmtpServer::start(SmtpOptions::new(Mode::StartTls).auth(USER, PASSWORD));
    server.stop();
    let site = Site::start(1).await;
    let (config, admin) = config(&site, &server);
    let outage = Instant::now();
    let mut connector = Connector::start(&config);
    let tokenizer = site.tokenizer();
    let to = vec![address(&tokenizer, "carol@corp.example", Some("Carol"))];
    let specs = (0..MAILS)
        .map(|i| mail_task(message(&format!("m-{i}"), to.clone(), &format!("Alert {i}"), "Update now.", None)))
        .collect();
    let ids = site.cloud.enqueue_many(specs);
    wait_done(&site.cloud, &ids, Duration::from_secs(180), &connector).await;
    let queued = ids.iter().filter(|id| result_of(&site.cloud, id)["queued"] == true).count();
    assert_eq!(queued, MAILS, "every mail task answered once its mail was stored");

    // Let the deliverer fail against the dead server for a while, then stop the connector.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let health = admin_get(&admin, "/healthz").await;
    assert_eq!(health["mail"]["waiting"], MAILS, "{health}");
    connector.signal("-TERM");
    assert_eq!(connector.wait(Duration::from_secs(30)), Some(true), "{}", connector.log());
    let outage_log = connector.log();
    let tries = outage_log.matches("mail not delivered yet").count();
    assert!(tries > 0, "the deliverer tried during the outage:\n{outage_log}");
    // A dead server rests its backend (at least retry_min / 2 = 100 ms, growing to 500 ms-1 s):
    // a probe of up to `concurrency` (4) mails per rest, not one try per waiting mail.
    let probes_at_most = 4 * (outage.elapsed().as_millis() as usize / 100 + 2);
    assert!(
        tries <= probes_at_most.min(MAILS / 2),
        "{tries} tries in {:?} while {MAILS} mails waited",
        outage.elapsed()
    );
    eprintln!("{tries} tries during an outage of {:?}", outage.elapsed());
    assert_eq!(site.cloud.stats().outcomes, 0, "nothing was delivered or refused");

    server.restart();
    let started = Instant::now();
    let connector = Connector::start(&config);
    // The relay refuses the next requests too (outcomes among them): they are posted again.
    site.cloud.fail_requests(4, 503);
    let received = server.wait_for(MAILS, Duration::from_secs(240));
    assert_eq!(received.len(), MAILS, "connector log:\n{}", connector.log());
    let deadline = Instant::now() + Duration::from_secs(60);
    while site.cloud.stats().outcomes < MAILS as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let stats = site.cloud.stats();
    assert_eq!(stats.outcomes, MAILS as u64, "every mail's outcome reached the cloud; log:\n{}", connector.log());
    // Each arrived exactly once: 1 000 distinct Message-IDs, one per task.
    let parser = MessageParser::default();
    let message_ids: HashSet<String> = received
        .iter()
        .map(|r| parser.parse(&r.data).and_then(|m| m.message_id().map(str::to_string)).expect("a Message-ID"))
        .collect();
    let expected: HashSet<String> = ids.iter().map(|id| format!("msc.{id}@corp.example")).collect();
    assert_eq!(message_ids, expected);
    for id in &ids {
        let task = site.cloud.task(id).expect("task");
        assert_eq!(task.later_status.as_deref(), Some("ok"), "{task:?}");
    }
    eprintln!("{MAILS} mails delivered {took:?} after the restart");
    site.assert_cloud_holds_no_plaintext(&["carol@corp.example", "Carol"]);
}

/// The second backend through the same outbox: Graph's throttling is waited out (its
/// `Retry-After` honoured), and a 504 after Graph took the message is reported as an unknown
/// outcome and never sent again — Graph has no idempotency key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_throttling_is_waited_out_and_an_ambiguous_504_is_reported_not_resent() {
    let graph = graph_emulator::Emulator::start(graph_emulator::EmulatorConfig::default()).await.expect("Graph");
    let server = SmtpServer::start(SmtpOptions::new(Mode::StartTls).auth(USER, PASSWORD));
    let site = Site::start(1).await;
    let (path, _) = config(&site, &server);
    let tenant = graph.config();
    site.write("graph-ca.pem", graph.ca_pem());
    site.write("graph-secret", &tenant.client_secret);
    let origin = graph.origin();
    let mut text = std::fs::read_to_string(&path).expect("config");
    text.push_str(&format!(
        "\n[instances.graph]\nplugin = \"graph_mail.wasm\"\nkind = \"mail\"\nca_file = \"graph-ca.pem\"\n\
         [instances.graph.grants]\nhttp = [\"{origin}\"]\n\
         [instances.graph.config]\ntenant = \"{}\"\nclient_id = \"{}\"\nsender = \"alerts@contoso.com\"\n\
         login_url = \"{origin}\"\ngraph_url = \"{origin}\"\n\
         [instances.graph.secrets]\nclient_secret = {{ file = \"graph-secret\" }}\n",
        tenant.tenant, tenant.client_id
    ));
    std::fs::write(&path, text).expect("write config");
    let connector = Connector::start(&path);
    let to = vec![address(&site.tokenizer(), "dave@contoso.com", Some("Dave"))];
    let graph_task = |id: &str| TaskSpec {
        instance: Some("graph".into()),
        ..mail_task(message(id, to.clone(), "Risk", "Update now.", Some("<p>Update now.</p>")))
    };

    graph.script(graph_emulator::Fault::Throttled { retry_after_secs: 1 }, 1);
    let throttled = site.cloud.enqueue_many(vec![graph_task("g-1")]);
    let outcome = wait_outcome(&site.cloud, &throttled[0], Duration::from_secs(60)).await;
    assert_eq!(outcome.later_status.as_deref(), Some("ok"), "{outcome:?}\n{}", connector.log());
    let delivery = &outcome.later_result.as_ref().expect("result")["delivery"];
    assert_eq!(delivery["message_id"], format!("<msc.{}@contoso.com>", throttled[0]), "{delivery}");
    assert!(connector.log().contains("rate-limited") || connector.log().contains("deferred"), "{}", connector.log());

    graph.script(graph_emulator::Fault::AcceptThen504, 1);
    let ambiguous = site.cloud.enqueue_many(vec![graph_task("g-2")]);
    let outcome = wait_outcome(&site.cloud, &ambiguous[0], Duration::from_secs(60)).await;
    assert_eq!(outcome.later_status.as_deref(), Some("error"), "{outcome:?}");
    let error = outcome.later_error.expect("error");
    assert_eq!(
        (error["code"].as_str(), error["retryable"].as_bool()),
        (Some("outcome-unknown"), Some(false)),
        "{error}"
    );
    // Give a wrong retry time to happen: the message stays sent once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent: Vec<Option<String>> = graph.messages().into_iter().map(|m| m.internet_message_id).collect();
    let expected = [throttled[0].as_str(), ambiguous[0].as_str()].map(|id| Some(format!("<msc.{id}@contoso.com>")));
    assert_eq!(sent, expected);
    site.assert_cloud_holds_no_plaintext(&["dave@contoso.com", "Dave"]);
}
