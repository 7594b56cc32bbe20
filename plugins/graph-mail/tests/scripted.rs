//! The Graph mail backend under the real runtime against a scripted identity platform and Graph
//! (one HTTPS peer serving both): a message sent with a client-credentials token, a refused
//! token replaced once, throttling deferred with Graph's wait, and the secret never logged.

use std::time::Duration;

use msc_plugin_test::mail::{Address, Message, SendError};
use msc_plugin_test::{CallError, Peer, Pii, PiiKind, Plugin, Recorded, Reply, RunningPlugin};
use serde_json::{Value, json};

const SECRET: &str = "client-secret-never-logged";
const TOKEN: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";
const SEND_MAIL: &str = "/v1.0/users/alerts@contoso.com/sendMail";

fn start(peer: &Peer) -> RunningPlugin {
    let started = Plugin::mail(msc_plugin_test::plugin_wasm!())
        .config("tenant", "contoso.onmicrosoft.com")
        .config("client_id", "11111111-2222-3333-4444-555555555555")
        .config("sender", "alerts@contoso.com")
        .config("login_url", peer.url())
        .config("graph_url", peer.url())
        .secret("client_secret", SECRET)
        .grant_http(&peer.url())
        .ca_pem(peer.ca_pem().expect("an HTTPS peer"))
        .deadline(Duration::from_secs(10))
        .start();
    match started {
        Ok(plugin) => plugin,
        Err(e) => panic!("the Graph mail plugin did not start:\n{e}"),
    }
}

fn token(access_token: &str) -> Reply {
    Reply::json(200, json!({"token_type": "Bearer", "expires_in": 3599, "access_token": access_token}))
}

fn pii(kind: PiiKind, value: &str) -> Pii {
    Pii { kind, value: value.into() }
}

fn message(id: &str) -> Message {
    Message {
        id: id.into(),
        sender: None,
        to: vec![Address { email: pii(PiiKind::Email, "soc@contoso.com"), display_name: None }],
        cc: vec![],
        bcc: vec![],
        reply_to: None,
        subject: pii(PiiKind::FreeText, "High risk device"),
        text_body: Some(pii(PiiKind::FreeText, "Alice's iPhone is at high risk.")),
        html_body: None,
        headers: vec![],
    }
}

fn calls_to(peer: &Peer, path: &str) -> Vec<Recorded> {
    peer.requests().into_iter().filter(|r| r.path == path).collect()
}

#[test]
fn sends_a_message_with_a_client_credentials_token() {
    let peer = Peer::start_tls();
    peer.on("POST", TOKEN).reply(token("graph-token-1"));
    peer.on("POST", SEND_MAIL).reply(Reply::status(202));
    let plugin = start(&peer);

    let delivery = plugin.mail().send(message("task-18c2")).expect("sent");

    assert_eq!(delivery.message_id, "<msc.task-18c2@contoso.com>");
    assert!(delivery.refused.is_empty());
    let grant = &calls_to(&peer, TOKEN)[0];
    assert_eq!(grant.form("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(grant.form("client_secret").as_deref(), Some(SECRET));
    let sent = &calls_to(&peer, SEND_MAIL)[0];
    assert_eq!(sent.header("authorization"), Some("Bearer graph-token-1"));
    let body: Value = sent.json().expect("a JSON sendMail request");
    assert_eq!(body["message"]["subject"], "High risk device");
    assert_eq!(body["message"]["toRecipients"][0]["emailAddress"]["address"], "soc@contoso.com");
    assert_eq!(body["message"]["internetMessageId"], "<msc.task-18c2@contoso.com>");
    assert!(peer.unmatched().is_empty(), "{:?}", peer.unmatched());

    let logs = plugin.logs().join("\n");
    assert!(!logs.contains(SECRET) && !logs.contains("graph-token-1"), "a secret was logged:\n{logs}");
}

#[test]
fn a_refused_token_is_replaced_once() {
    let peer = Peer::start_tls();
    peer.on("POST", TOKEN).once().reply(token("revoked-token"));
    peer.on("POST", TOKEN).reply(token("new-token"));
    peer.on("POST", SEND_MAIL).reply_with(|req| match req.header("authorization") {
        Some("Bearer new-token") => Reply::status(202),
        _ => Reply::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "expired"}})),
    });
    let plugin = start(&peer);

    plugin.mail().send(message("task-2")).expect("sent with the new token");

    assert_eq!(calls_to(&peer, TOKEN).len(), 2);
    assert_eq!(calls_to(&peer, SEND_MAIL).len(), 2);
    let logs = plugin.logs();
    assert!(logs.iter().any(|l| l.starts_with("INFO ") && l.contains("fetching a new one")), "{logs:?}");
    assert!(logs.iter().all(|l| !l.contains("new-token") && !l.contains(SECRET)), "{logs:?}");
}

#[test]
fn throttling_defers_the_message_with_graphs_wait() {
    let peer = Peer::start_tls();
    peer.on("POST", TOKEN).reply(token("graph-token-1"));
    peer.on("POST", SEND_MAIL).reply(
        Reply::json(429, json!({"error": {"code": "ApplicationThrottled", "message": "slow down"}}))
            .header("retry-after", "30"),
    );
    let plugin = start(&peer);

    match plugin.mail().send(message("task-3")) {
        Err(CallError::Reported { error: SendError::Deferred(failure), .. }) => {
            assert_eq!(failure.retry_after_ms, Some(30_000), "{failure:?}")
        }
        other => panic!("expected the message to be deferred, got {other:?}"),
    }
    assert_eq!(calls_to(&peer, SEND_MAIL).len(), 1, "nothing retried within the call");
}
