//! The SMTP mail backend (`plugins/smtp`) against a real SMTP server (aiosmtpd): STARTTLS and
//! implicit TLS with AUTH, the downgrade defence, refused and deferred recipients and messages,
//! an outage, a wrong CA, and the self-test. Every delivered message is parsed back with
//! `mail-parser` and checked header by header.

mod common;

use std::time::Duration;

use common::smtp_server::{Mode, SmtpOptions, SmtpServer, test_ca};
use connector::config::Config;
use connector::plugins::worlds::mail::{Address, Delivery, Header, Message, SendError};
use connector::plugins::worlds::{AuthFailure, Check, Error, Pii, PiiKind};
use connector::plugins::{CallError, PluginRuntime};
use mail_parser::{MessageParser, MimeHeaders};

const USER: &str = "relay-user";
const PASSWORD: &str = "relay-pässword-1";
const SUBJECT: &str = "Gerät von Zoë — Risiko hoch ✓";

/// A runtime serving `smtp.wasm` as instance `mail`, pointed at `server`.
struct Site {
    _dir: tempfile::TempDir,
    runtime: PluginRuntime,
}

impl Site {
    /// `config` is added to `[instances.mail.config]`; `password` becomes the secret; `ca_pem`
    /// replaces the server's CA as the instance's `ca_file`.
    async fn start(server: &SmtpServer, config: &str, password: Option<&str>, ca_pem: Option<&str>) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca_pem.unwrap_or(server.ca_pem())).expect("write CA");
        let secrets = match password {
            Some(password) => {
                let file = dir.path().join("password");
                std::fs::write(&file, password).expect("write secret");
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
                "[instances.mail.secrets]\npassword = { file = \"password\" }\n"
            }
            None => "",
        };
        let port = server.port;
        let text = format!(
            r#"[connector]
name = "test"
plugin_dir = {plugin_dir:?}

[instances.mail]
plugin = "smtp.wasm"
kind = "mail"
deadline = "20s"
ca_file = "ca.pem"

[instances.mail.grants]
net = ["localhost:{port}"]

[instances.mail.config]
host = "localhost"
port = {port}
from = "alerts@corp.example"
from_name = "MTD Alerts"
{config}

{secrets}"#,
            plugin_dir = common::plugin_dir("smtp.wasm").display().to_string(),
        );
        let file = dir.path().join("connector.toml");
        std::fs::write(&file, text).expect("write config");
        let config = Config::load(&file).unwrap_or_else(|e| panic!("config:\n{e}"));
        let runtime = PluginRuntime::start(config).await.unwrap_or_else(|e| panic!("runtime:\n{e}"));
        Site { _dir: dir, runtime }
    }

    async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        match self.runtime.mail("mail").expect("instance").send(message).await {
            Ok(delivery) => Ok(delivery),
            Err(CallError::Reported { error, .. }) => Err(error),
            Err(other) => panic!("the plugin did not answer: {other}"),
        }
    }

    async fn checks(&self) -> Vec<Check> {
        self.runtime.mail("mail").expect("instance").test_connection().await.expect("self-test")
    }
}

fn pii(kind: PiiKind, value: &str) -> Pii {
    Pii { kind, value: value.into() }
}

fn address(email: &str, name: Option<&str>) -> Address {
    Address { email: pii(PiiKind::Email, email), display_name: name.map(|n| pii(PiiKind::PersonName, n)) }
}

/// To: Zoë and Bob, Cc: Carol, Bcc: Dave; both bodies; one extra header.
fn message(id: &str) -> Message {
    Message {
        id: id.into(),
        sender: None,
        to: vec![address("zoe@corp.example", Some("Zoë Ünal-O'Brien")), address("bob@corp.example", Some("Bob"))],
        cc: vec![address("carol@corp.example", Some("Hopper, Carol"))],
        bcc: vec![address("dave@corp.example", None)],
        reply_to: Some(address("soc@corp.example", Some("SOC"))),
        subject: pii(PiiKind::FreeText, SUBJECT),
        text_body: Some(pii(PiiKind::FreeText, "Risiko: hoch ✓\n.a line starting with a dot\nZoë's phone")),
        html_body: Some(pii(PiiKind::FreeText, "<p>Risiko: <b>hoch</b> ✓</p>")),
        headers: vec![Header { name: "X-MTD-Severity".into(), value: "high".into() }],
    }
}

fn starttls_auth() -> SmtpOptions {
    SmtpOptions::new(Mode::StartTls).auth(USER, PASSWORD)
}

fn auth_config() -> String {
    format!("username = \"{USER}\"")
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_auth_plain_deliver_a_message_that_parses_back() {
    let server = SmtpServer::start(starttls_auth());
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    let delivery = site.send(&message("task-1")).await.expect("delivered");
    assert_eq!(delivery.message_id, "<msc.task-1@corp.example>");
    assert!(delivery.refused.is_empty(), "{:?}", delivery.refused);
    let reply = delivery.reply.expect("final reply");
    assert_eq!((reply.code, reply.enhanced_code.as_deref()), (250, Some("2.0.0")), "{reply:?}");

    let received = server.wait_for(1, WAIT);
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert!(got.tls, "sent over TLS");
    assert_eq!((got.login.as_deref(), got.mechanism.as_deref()), (Some(USER), Some("PLAIN")));
    assert_eq!(got.mail_from, "alerts@corp.example");
    assert_eq!(got.rcpt_tos, ["zoe@corp.example", "bob@corp.example", "carol@corp.example", "dave@corp.example"]);

    let parsed = MessageParser::default().parse(&got.data).expect("RFC 5322 message");
    assert_eq!(parsed.subject(), Some(SUBJECT));
    assert_eq!(parsed.message_id(), Some("msc.task-1@corp.example"));
    let names = |list: Option<&mail_parser::Address>| -> Vec<(String, String)> {
        list.expect("address header")
            .iter()
            .map(|a| (a.name.as_deref().unwrap_or("").to_string(), a.address.as_deref().unwrap_or("").to_string()))
            .collect()
    };
    assert_eq!(
        names(parsed.to()),
        [("Zoë Ünal-O'Brien".to_string(), "zoe@corp.example".to_string()), ("Bob".into(), "bob@corp.example".into())]
    );
    assert_eq!(names(parsed.cc()), [("Hopper, Carol".to_string(), "carol@corp.example".to_string())]);
    assert_eq!(names(parsed.from()), [("MTD Alerts".to_string(), "alerts@corp.example".to_string())]);
    assert_eq!(names(parsed.reply_to()), [("SOC".to_string(), "soc@corp.example".to_string())]);
    assert!(parsed.bcc().is_none(), "Bcc only in the envelope");
    assert!(!String::from_utf8_lossy(&got.data).contains("dave@"), "Bcc only in the envelope");
    assert_eq!(parsed.header_raw("X-MTD-Severity").map(str::trim), Some("high"));
    assert!(parsed.date().is_some(), "Date header");
    let content_type = parsed.content_type().expect("Content-Type");
    assert_eq!((content_type.ctype(), content_type.subtype()), ("multipart", Some("alternative")));
    assert_eq!(parsed.text_body.len(), 1);
    assert_eq!(parsed.html_body.len(), 1);
    assert_eq!(
        parsed.body_text(0).as_deref().map(|t| t.replace("\r\n", "\n")),
        Some("Risiko: hoch ✓\n.a line starting with a dot\nZoë's phone".to_string()),
        "the CRLF before a boundary belongs to the boundary: the text round-trips exactly"
    );
    assert_eq!(parsed.body_html(0).as_deref().map(str::to_string), Some("<p>Risiko: <b>hoch</b> ✓</p>".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_auth_login() {
    let server = SmtpServer::start(SmtpOptions::new(Mode::Tls).auth(USER, PASSWORD));
    let config = format!("{}\nsecurity = \"tls\"\nauth = \"login\"", auth_config());
    let site = Site::start(&server, &config, Some(PASSWORD), None).await;
    site.send(&message("task-465")).await.expect("delivered");
    let got = &server.wait_for(1, WAIT)[0];
    assert!(got.tls);
    assert_eq!((got.login.as_deref(), got.mechanism.as_deref()), (Some(USER), Some("LOGIN")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_auth_failed_and_sends_nothing() {
    let server = SmtpServer::start(starttls_auth());
    let site = Site::start(&server, &auth_config(), Some("not-the-password"), None).await;
    match site.send(&message("task-2")).await {
        Err(SendError::Failed(Error::AuthFailed(auth))) => {
            assert_eq!(auth.reason, AuthFailure::BadCredentials);
            assert!(auth.message.contains("535"), "{}", auth.message);
            assert!(!auth.message.contains("not-the-password"), "no secret in errors");
        }
        other => panic!("expected auth-failed, got {other:?}"),
    }
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_starttls_is_refused_when_starttls_is_configured() {
    // The classic downgrade: the relay (or someone on the path) does not offer STARTTLS.
    let server = SmtpServer::start(SmtpOptions::new(Mode::Plain));
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    match site.send(&message("task-3")).await {
        Err(SendError::Failed(Error::InvalidConfig(m))) => assert!(m.contains("STARTTLS"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.messages().is_empty(), "nothing sent in plaintext");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_only_with_allow_plaintext() {
    let server = SmtpServer::start(SmtpOptions::new(Mode::Plain));
    let site = Site::start(&server, "security = \"none\"", None, None).await;
    match site.send(&message("task-4")).await {
        Err(SendError::Failed(Error::InvalidConfig(m))) => assert!(m.contains("allow_plaintext"), "{m}"),
        other => panic!("expected invalid-config, got {other:?}"),
    }
    let site = Site::start(&server, "security = \"none\"\nallow_plaintext = true", None, None).await;
    site.send(&message("task-4")).await.expect("delivered");
    let got = &server.wait_for(1, WAIT)[0];
    assert!(!got.tls && got.login.is_none());
    // Credentials never go out in plaintext, even when allowed for the messages.
    let config = format!("security = \"none\"\nallow_plaintext = true\n{}", auth_config());
    let site = Site::start(&server, &config, Some(PASSWORD), None).await;
    assert!(matches!(site.send(&message("task-5")).await, Err(SendError::Failed(Error::InvalidConfig(_)))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_recipient_is_reported_and_the_others_get_the_message() {
    let server = SmtpServer::start(starttls_auth().reject("bob@corp.example"));
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    let delivery = site.send(&message("task-6")).await.expect("delivered to the others");
    assert_eq!(delivery.refused.len(), 1, "{:?}", delivery.refused);
    let refused = &delivery.refused[0];
    assert_eq!(refused.address.value, "bob@corp.example");
    let reply = refused.reply.as_ref().expect("reply");
    assert_eq!((reply.code, reply.enhanced_code.as_deref()), (550, Some("5.1.1")));
    let got = &server.wait_for(1, WAIT)[0];
    assert_eq!(got.rcpt_tos, ["zoe@corp.example", "carol@corp.example", "dave@corp.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipient_rejected_is_a_rejection_with_the_enhanced_code() {
    let mut options = starttls_auth();
    for recipient in ["zoe@corp.example", "bob@corp.example", "carol@corp.example", "dave@corp.example"] {
        options = options.reject(recipient);
    }
    let server = SmtpServer::start(options);
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    match site.send(&message("task-7")).await {
        Err(SendError::Rejected(failure)) => {
            let reply = failure.reply.expect("reply");
            assert_eq!((reply.code, reply.enhanced_code.as_deref()), (550, Some("5.1.1")), "{reply:?}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferral_is_deferred_and_the_next_send_goes_through() {
    let server = SmtpServer::start(starttls_auth().defer_first(1));
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    match site.send(&message("task-8")).await {
        Err(SendError::Deferred(failure)) => {
            let reply = failure.reply.expect("reply");
            assert_eq!((reply.code, reply.enhanced_code.as_deref()), (451, Some("4.3.0")), "{reply:?}");
        }
        other => panic!("expected a deferral, got {other:?}"),
    }
    assert!(server.messages().is_empty());
    site.send(&message("task-8")).await.expect("delivered on the retry");
    assert_eq!(server.wait_for(1, WAIT).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferral_after_the_data_is_deferred_too() {
    let server = SmtpServer::start(starttls_auth().defer_first(1).defer_at_data());
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    match site.send(&message("task-9")).await {
        Err(SendError::Deferred(failure)) => assert_eq!(failure.reply.map(|r| r.code), Some(451)),
        other => panic!("expected a deferral, got {other:?}"),
    }
    site.send(&message("task-9")).await.expect("delivered on the retry");
    assert_eq!(server.wait_for(1, WAIT).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_defers_and_one_back_up_delivers() {
    let mut server = SmtpServer::start(starttls_auth());
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    server.stop();
    match site.send(&message("task-10")).await {
        Err(SendError::Deferred(failure)) => assert!(failure.reply.is_none(), "{failure:?}"),
        other => panic!("expected a deferral, got {other:?}"),
    }
    server.restart();
    site.send(&message("task-10")).await.expect("delivered after the outage");
    assert_eq!(server.wait_for(1, WAIT).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_fails_tls_and_sends_nothing() {
    let (other_ca, _, _) = test_ca::issue_localhost();
    for (options, config) in [
        (starttls_auth(), auth_config()),
        (SmtpOptions::new(Mode::Tls).auth(USER, PASSWORD), format!("{}\nsecurity = \"tls\"", auth_config())),
    ] {
        let server = SmtpServer::start(options);
        let site = Site::start(&server, &config, Some(PASSWORD), Some(&other_ca)).await;
        match site.send(&message("task-11")).await {
            Err(SendError::Failed(Error::InvalidConfig(m))) => assert!(m.contains("ca_file"), "{m}"),
            other => panic!("expected a TLS failure, got {other:?}"),
        }
        assert!(server.messages().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_checks_each_step_without_sending() {
    let mut server = SmtpServer::start(starttls_auth());
    let site = Site::start(&server, &auth_config(), Some(PASSWORD), None).await;
    let checks = site.checks().await;
    let summary: Vec<(&str, bool)> = checks.iter().map(|c| (c.name.as_str(), c.passed)).collect();
    assert_eq!(
        summary,
        [
            ("settings", true),
            ("connection", true),
            ("greeting", true),
            ("EHLO", true),
            ("TLS", true),
            ("authentication", true)
        ],
        "{checks:#?}"
    );
    assert!(checks[4].detail.contains("STARTTLS"), "{}", checks[4].detail);
    assert!(checks[5].detail.contains(USER), "{}", checks[5].detail);

    let wrong = Site::start(&server, &auth_config(), Some("wrong"), None).await;
    let checks = wrong.checks().await;
    let last = checks.last().expect("checks");
    assert_eq!((last.name.as_str(), last.passed), ("authentication", false), "{checks:#?}");
    assert!(last.detail.contains("535"), "{}", last.detail);

    server.stop();
    let checks = site.checks().await;
    let last = checks.last().expect("checks");
    assert_eq!((last.name.as_str(), last.passed), ("connection", false), "{checks:#?}");
    assert!(server.messages().is_empty(), "a self-test sends nothing");

    let misconfigured = Site::start(&server, "security = \"ssl\"", None, None).await;
    let checks = misconfigured.checks().await;
    assert_eq!(checks.len(), 1);
    assert!(!checks[0].passed && checks[0].detail.contains("`security`"), "{checks:#?}");
}
