//! The Microsoft Graph mail backend end to end against the Graph emulator over TLS (private CA):
//! a message arrives whole with its stable `internetMessageId`, the token is cached and renewed
//! after a 401, each refusal maps to the send error the connector acts on — throttling deferred
//! with Graph's wait, a 504 or a timeout after the message left reported as an unknown outcome
//! and never retried — and the self-test checks credentials, permission and mailbox without
//! sending anything.

use std::time::Duration;

use connector::plugins::CallError;
use connector::plugins::PluginRuntime;
use connector::plugins::worlds::mail::{Address, Delivery, Header, Message, SendError};
use connector::plugins::worlds::{AuthFailure, Check, Error, Pii, PiiKind};
use connector_tests::setup::TestConfig;
use graph_emulator::{Emulator, EmulatorConfig, Fault};

const INSTANCE: &str = "graph";

/// The emulator, and a connector config with one Graph instance `graph` pointed at it.
struct Graph {
    emulator: Emulator,
}

impl Graph {
    async fn start(tenant: EmulatorConfig) -> Self {
        Self { emulator: Emulator::start(tenant).await.expect("start the Graph emulator") }
    }

    /// The instance the way an admin writes it, with the right secret; `settings` are extra
    /// lines of its config table.
    async fn runtime(&self, settings: &str) -> PluginRuntime {
        let secret = self.emulator.config().client_secret.clone();
        self.config(settings, &secret, "30s", &[]).start().await
    }

    /// The config with `secret`, a call `deadline`, and `more_origins` granted too.
    fn config(&self, settings: &str, secret: &str, deadline: &str, more_origins: &[&str]) -> TestConfig {
        let tenant = self.emulator.config();
        let origin = self.emulator.origin();
        let grants: Vec<String> =
            std::iter::once(origin.as_str()).chain(more_origins.iter().copied()).map(|o| format!("\"{o}\"")).collect();
        let config = TestConfig::new(&format!(
            "[instances.{INSTANCE}]\nplugin = \"graph_mail.wasm\"\nkind = \"mail\"\ndeadline = \"{deadline}\"\n\
             ca_file = \"graph-ca.pem\"\n\n\
             [instances.{INSTANCE}.grants]\nhttp = [{}]\n\n\
             [instances.{INSTANCE}.config]\ntenant = \"{}\"\nclient_id = \"{}\"\nsender = \"alerts@contoso.com\"\n\
             login_url = \"{origin}\"\ngraph_url = \"{origin}\"\n{settings}\n\n\
             [instances.{INSTANCE}.secrets]\nclient_secret = {{ file = \"graph-client-secret\" }}\n",
            grants.join(", "),
            tenant.tenant,
            tenant.client_id,
        ));
        config.write("graph-ca.pem", self.emulator.ca_pem());
        config.write("graph-client-secret", secret);
        config
    }
}

fn address(email: &str, name: Option<&str>) -> Address {
    Address {
        email: Pii { kind: PiiKind::Email, value: email.into() },
        display_name: name.map(|n| Pii { kind: PiiKind::PersonName, value: n.into() }),
    }
}

fn text(value: &str) -> Pii {
    Pii { kind: PiiKind::FreeText, value: value.into() }
}

fn message(id: &str) -> Message {
    Message {
        id: id.into(),
        sender: None,
        to: vec![address("alice@example.com", Some("Alice Example")), address("bob@example.com", None)],
        cc: vec![address("carol@example.com", None)],
        bcc: vec![address("audit@contoso.com", None)],
        reply_to: Some(address("soc@contoso.com", Some("Security Operations"))),
        subject: text("High risk on Alice's iPhone"),
        text_body: Some(text("The device is at high risk.")),
        html_body: Some(text("<p>The device is at <b>high</b> risk.</p>")),
        headers: vec![Header { name: "X-MSC-Task".into(), value: id.into() }],
    }
}

async fn send(runtime: &PluginRuntime, message: &Message) -> Result<Delivery, CallError<SendError>> {
    runtime.mail(INSTANCE).expect("mail instance").send(message).await
}

/// The send error the plugin reported.
async fn refused(runtime: &PluginRuntime, message: &Message) -> SendError {
    match send(runtime, message).await {
        Err(CallError::Reported { error, .. }) => error,
        other => panic!("expected the plugin to report a send error, got {other:?}"),
    }
}

async fn checks(runtime: &PluginRuntime) -> Vec<Check> {
    runtime.mail(INSTANCE).expect("mail instance").test_connection().await.expect("self-test")
}

fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check `{name}` in {checks:?}"))
}

#[tokio::test]
async fn a_message_arrives_with_its_recipients_html_body_and_stable_message_id() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let runtime = graph.runtime("").await;

    let delivery = send(&runtime, &message("task-18c2")).await.expect("sent");
    assert_eq!(delivery.message_id, "<msc.task-18c2@contoso.com>");
    assert!(delivery.refused.is_empty());
    let reply = delivery.reply.expect("Graph's answer");
    assert_eq!((reply.code, reply.text.as_str()), (202, "accepted"));

    let sent = graph.emulator.messages();
    assert_eq!(sent.len(), 1);
    let mail = &sent[0];
    assert_eq!(mail.mailbox, "alerts@contoso.com");
    let to: Vec<(&str, Option<&str>)> = mail.to.iter().map(|r| (r.address.as_str(), r.name.as_deref())).collect();
    assert_eq!(to, [("alice@example.com", Some("Alice Example")), ("bob@example.com", None)]);
    assert_eq!(mail.cc[0].address, "carol@example.com");
    assert_eq!(mail.bcc[0].address, "audit@contoso.com");
    assert_eq!(mail.reply_to[0].name.as_deref(), Some("Security Operations"));
    assert_eq!(mail.subject, "High risk on Alice's iPhone");
    // Graph takes one body: with both, the HTML one.
    assert_eq!((mail.content_type.as_str(), mail.body.as_str()), ("HTML", "<p>The device is at <b>high</b> risk.</p>"));
    assert_eq!(mail.internet_message_id.as_deref(), Some("<msc.task-18c2@contoso.com>"));
    assert_eq!(mail.headers, [("X-MSC-Task".to_string(), "task-18c2".to_string())]);
    assert!(!mail.save_to_sent_items, "off unless configured");

    // Configured: a copy in Sent Items, message ids from another domain, a text-only body.
    let runtime = graph.runtime("save_to_sent_items = true\nmessage_id_domain = \"msc.contoso.com\"").await;
    let mut plain = message("task-18c3");
    plain.html_body = None;
    let delivery = send(&runtime, &plain).await.expect("sent");
    assert_eq!(delivery.message_id, "<msc.task-18c3@msc.contoso.com>");
    let mail = graph.emulator.messages().pop().expect("second message");
    assert!(mail.save_to_sent_items);
    assert_eq!((mail.content_type.as_str(), mail.body.as_str()), ("Text", "The device is at high risk."));
}

#[tokio::test]
async fn the_token_is_reused_across_sends_and_renewed_after_a_401() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let runtime = graph.runtime("").await;
    for i in 0..3 {
        send(&runtime, &message(&format!("task-{i}"))).await.expect("sent");
    }
    let stats = graph.emulator.stats();
    assert_eq!((stats.token_requests, stats.send_requests), (1, 3), "one token for three sends: {stats:?}");

    // Graph stops accepting the cached token (revoked, or expired early): one 401, a new
    // token, the same request again, and the message goes once.
    graph.emulator.expire_tokens();
    send(&runtime, &message("task-3")).await.expect("sent with a new token");
    let stats = graph.emulator.stats();
    assert_eq!((stats.token_requests, stats.tokens_issued), (2, 2), "{stats:?}");
    assert_eq!((stats.answered(401), stats.answered(202)), (1, 4), "{stats:?}");
    assert_eq!(graph.emulator.messages().len(), 4);
    send(&runtime, &message("task-4")).await.expect("sent");
    assert_eq!(graph.emulator.stats().token_requests, 2, "the new token is cached in turn");
}

#[tokio::test]
async fn a_bad_secret_is_explained_without_repeating_it() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    // The classic mistake: the secret's id pasted where its value belongs.
    let pasted_id = graph.emulator.config().client_secret_id.clone();
    let runtime = graph.config("", &pasted_id, "30s", &[]).start().await;
    match refused(&runtime, &message("task-1")).await {
        SendError::Failed(Error::AuthFailed(auth)) => {
            assert_eq!(auth.reason, AuthFailure::BadApiKey);
            assert!(auth.message.contains("AADSTS7000215"), "{}", auth.message);
            assert!(auth.message.contains("the secret's value, not its id"), "{}", auth.message);
            assert!(!auth.message.contains(&pasted_id), "{}", auth.message);
        }
        other => panic!("{other:?}"),
    }
    let token = checks(&runtime).await;
    let token = check(&token, "token");
    assert!(!token.passed && token.detail.contains("AADSTS7000215") && !token.detail.contains(&pasted_id), "{token:?}");
    assert_eq!(graph.emulator.stats().send_requests, 0, "nothing reached Graph");

    // An expired secret says so.
    let expired = Graph::start(EmulatorConfig { secret_expired: true, ..EmulatorConfig::default() }).await;
    let runtime = expired.runtime("").await;
    match refused(&runtime, &message("task-1")).await {
        SendError::Failed(Error::AuthFailed(auth)) => {
            assert!(auth.message.contains("AADSTS7000222") && auth.message.contains("expired"), "{}", auth.message)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn throttling_and_busy_answers_are_deferred_with_graphs_wait() {
    // A budget of two sends per ten minutes for the mailbox.
    let graph = Graph::start(EmulatorConfig { requests_per_window: 2, ..EmulatorConfig::default() }).await;
    let runtime = graph.runtime("").await;
    send(&runtime, &message("task-1")).await.expect("within the budget");
    graph.emulator.script(Fault::Busy { retry_after_secs: 5 }, 1);
    match refused(&runtime, &message("task-2")).await {
        SendError::Deferred(failure) => {
            assert_eq!(failure.retry_after_ms, Some(5_000));
            assert_eq!(failure.reply.map(|r| r.code), Some(503));
        }
        other => panic!("{other:?}"),
    }
    match refused(&runtime, &message("task-2")).await {
        SendError::Deferred(failure) => {
            let wait = failure.retry_after_ms.expect("Retry-After honoured");
            assert!((590_000..=600_000).contains(&wait), "the rest of the window: {wait}");
            let reply = failure.reply.expect("reply");
            assert_eq!((reply.code, reply.enhanced_code.as_deref()), (429, Some("ApplicationThrottled")));
            assert!(failure.message.contains("ApplicationThrottled"), "{}", failure.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(graph.emulator.messages().len(), 1, "neither refusal took the message");
    assert_eq!(graph.emulator.stats().send_requests, 3, "each refusal was reported, not retried in the call");
}

#[tokio::test]
async fn a_504_after_graph_took_the_message_is_an_unknown_outcome_and_not_retried() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let runtime = graph.runtime("").await;
    graph.emulator.script(Fault::AcceptThen504, 1);
    match refused(&runtime, &message("task-1")).await {
        SendError::OutcomeUnknown(failure) => {
            assert_eq!(failure.reply.map(|r| r.code), Some(504));
            assert!(failure.message.contains("not retried"), "{}", failure.message);
        }
        other => panic!("{other:?}"),
    }
    let stats = graph.emulator.stats();
    assert_eq!((stats.send_requests, stats.accepted), (1, 1), "sent once, no blind retry: {stats:?}");
    let sent = graph.emulator.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].internet_message_id.as_deref(), Some("<msc.task-1@contoso.com>"), "recognisable if resent");
}

#[tokio::test]
async fn a_timeout_after_sending_is_an_unknown_outcome_and_the_mail_may_still_go() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let secret = graph.emulator.config().client_secret.clone();
    // A 4 s call: the plugin gives up waiting early enough to say what happened.
    let runtime = graph.config("", &secret, "4s", &[]).start().await;
    graph.emulator.script(Fault::Delay(Duration::from_secs(5)), 1);
    match refused(&runtime, &message("task-1")).await {
        SendError::OutcomeUnknown(failure) => {
            assert!(failure.message.contains("may still be sent"), "{}", failure.message)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(graph.emulator.stats().send_requests, 1, "not retried");
    // Graph kept working on it: the message goes out anyway.
    for _ in 0..50 {
        if !graph.emulator.messages().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(graph.emulator.messages().len(), 1);
}

#[tokio::test]
async fn a_connection_refused_before_sending_is_deferred() {
    // Graph's address, with nothing listening there; the token endpoint works.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let down = format!("https://localhost:{}", closed.local_addr().expect("addr").port());
    drop(closed);
    let tenant = EmulatorConfig { extra_resources: vec![down.clone()], ..EmulatorConfig::default() };
    let graph = Graph::start(tenant).await;
    let secret = graph.emulator.config().client_secret.clone();
    let config = graph.config("", &secret, "30s", &[&down]);
    let text = std::fs::read_to_string(config.path())
        .expect("read")
        .replace(&format!("graph_url = \"{}\"", graph.emulator.origin()), &format!("graph_url = \"{down}\""));
    std::fs::write(config.path(), text).expect("write");
    let runtime = config.start().await;
    match refused(&runtime, &message("task-1")).await {
        SendError::Deferred(failure) => assert!(failure.message.contains("nothing was sent"), "{}", failure.message),
        other => panic!("{other:?}"),
    }
    assert_eq!(graph.emulator.stats().token_requests, 1);
}

#[tokio::test]
async fn unknown_and_disabled_mailboxes_are_rejected() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let runtime = graph.runtime("").await;
    for (mailbox, code) in
        [("nobody@contoso.com", "ErrorInvalidUser"), ("onprem@contoso.com", "MailboxNotEnabledForRESTAPI")]
    {
        let mut from = message("task-1");
        from.sender = Some(address(mailbox, None));
        match refused(&runtime, &from).await {
            SendError::Rejected(failure) => {
                let reply = failure.reply.clone().expect("reply");
                assert_eq!((reply.code, reply.enhanced_code.as_deref()), (404, Some(code)));
                assert!(reply.text.contains(code) && failure.message.contains(code), "{failure:?}");
            }
            other => panic!("{mailbox}: {other:?}"),
        }
    }
    assert!(graph.emulator.messages().is_empty());
}

#[tokio::test]
async fn without_mail_send_sending_is_rejected_with_403() {
    let graph = Graph::start(EmulatorConfig { mail_send: false, ..EmulatorConfig::default() }).await;
    let runtime = graph.runtime("").await;
    match refused(&runtime, &message("task-1")).await {
        SendError::Rejected(failure) => {
            let reply = failure.reply.expect("reply");
            assert_eq!((reply.code, reply.enhanced_code.as_deref()), (403, Some("ErrorAccessDenied")));
            assert!(failure.message.contains("Mail.Send"), "{}", failure.message);
        }
        other => panic!("{other:?}"),
    }
    // The self-test sees it in the token, without sending.
    let checks = checks(&runtime).await;
    let permission = check(&checks, "Mail.Send permission");
    assert!(!permission.passed && permission.detail.contains("admin consent"), "{permission:?}");
    assert_eq!(graph.emulator.stats().send_requests, 1);
}

#[tokio::test]
async fn headers_graph_would_refuse_are_refused_before_sending() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let runtime = graph.runtime("").await;
    let mut threaded = message("task-1");
    threaded.headers.push(Header { name: "In-Reply-To".into(), value: "<msc.task-0@contoso.com>".into() });
    match refused(&runtime, &threaded).await {
        SendError::Failed(Error::InvalidInput(text)) => {
            assert!(text.contains("In-Reply-To") && text.contains("X-"), "{text}")
        }
        other => panic!("{other:?}"),
    }
    let mut six = message("task-2");
    six.headers = (0..6).map(|i| Header { name: format!("X-Tag-{i}"), value: "v".into() }).collect();
    assert!(matches!(refused(&runtime, &six).await, SendError::Failed(Error::InvalidInput(_))));
    let stats = graph.emulator.stats();
    assert_eq!((stats.token_requests, stats.send_requests), (0, 0), "no request at all: {stats:?}");
}

#[tokio::test]
async fn test_connection_checks_credentials_permission_and_mailbox_without_sending() {
    let graph = Graph::start(EmulatorConfig::default()).await;
    let runtime = graph.runtime("").await;
    let all = checks(&runtime).await;
    let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["settings", "token", "Mail.Send permission", "sender mailbox"]);
    assert!(all.iter().all(|c| c.passed), "{all:?}");

    // An unknown sender fails its check.
    let secret = graph.emulator.config().client_secret.clone();
    let config = graph.config("", &secret, "30s", &[]);
    let text =
        std::fs::read_to_string(config.path()).expect("read").replace("alerts@contoso.com", "nobody@contoso.com");
    std::fs::write(config.path(), text).expect("write");
    let mailbox = checks(&config.start().await).await;
    let mailbox = check(&mailbox, "sender mailbox");
    assert!(!mailbox.passed && mailbox.detail.contains("nobody@contoso.com"), "{mailbox:?}");

    // Without User.Read.All the mailbox cannot be looked up: noted, not a failure.
    graph.emulator.set_user_read_all(false);
    let all = checks(&runtime).await;
    let mailbox = check(&all, "sender mailbox");
    assert!(mailbox.passed && mailbox.detail.contains("User.Read.All"), "{mailbox:?}");

    // A missing setting is named.
    let config = graph.config("", &secret, "30s", &[]);
    let text = std::fs::read_to_string(config.path()).expect("read").replace("client_id = ", "app_id = ");
    std::fs::write(config.path(), text).expect("write");
    let all = checks(&config.start().await).await;
    assert_eq!(all.len(), 1);
    assert!(!all[0].passed && all[0].detail.contains("client_id"), "{all:?}");

    assert_eq!(graph.emulator.stats().send_requests, 0, "the self-test sends nothing");
}
