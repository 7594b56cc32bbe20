//! A task's message as the `sendMail` request Graph takes, checked against Graph's limits before
//! anything is sent: a refusal Graph would give anyway costs no request and no throttling budget.
//!
//! Graph takes one body per message: with both a text and an HTML body, the HTML one is sent
//! (mail clients render it; the text body was its fallback).

use msc_sdk::Error;
use msc_sdk::mail::{Address, Failure, Header, Message, SendError};
use serde::Serialize;

use crate::settings::{self, Settings};

/// Graph refuses larger requests (400 or 413).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Graph refuses messages with more recipients (to, cc and bcc together).
pub const MAX_RECIPIENTS: usize = 500;
/// Graph refuses more custom headers than this.
pub const MAX_HEADERS: usize = 5;

/// A `sendMail` request ready to go.
pub struct Outgoing {
    /// The mailbox sent as: the message's sender, else the configured one.
    pub mailbox: String,
    /// The `internetMessageId`, the same on every retry of the task.
    pub message_id: String,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Outgoing {
    /// `{graph_url}/v1.0/users/{mailbox}/sendMail`.
    pub fn url(&self, graph_url: &str) -> String {
        format!("{graph_url}/v1.0/users/{}/sendMail", path_segment(&self.mailbox))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendMail<'a> {
    message: GraphMessage<'a>,
    save_to_sent_items: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphMessage<'a> {
    subject: &'a str,
    body: ItemBody<'a>,
    to_recipients: Vec<Recipient<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cc_recipients: Vec<Recipient<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bcc_recipients: Vec<Recipient<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reply_to: Vec<Recipient<'a>>,
    internet_message_id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    internet_message_headers: Vec<InternetHeader<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody<'a> {
    content_type: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Recipient<'a> {
    email_address: EmailAddress<'a>,
}

#[derive(Serialize)]
struct EmailAddress<'a> {
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct InternetHeader<'a> {
    name: &'a str,
    value: &'a str,
}

/// The `sendMail` request for `message`, or why it cannot be sent through Graph.
pub fn build(message: &Message, settings: &Settings) -> Result<Outgoing, SendError> {
    let mailbox = match &message.sender {
        Some(sender) => settings::sender(&sender.email.value)
            .map_err(|_| invalid("the message's sender is not a mailbox address".into()))?,
        None => settings.sender.clone(),
    };
    let recipients = message.to.len() + message.cc.len() + message.bcc.len();
    if recipients == 0 {
        return Err(invalid("the message has no recipients".into()));
    }
    if recipients > MAX_RECIPIENTS {
        return Err(rejected(format!(
            "the message has {recipients} recipients; Graph accepts at most {MAX_RECIPIENTS} per message"
        )));
    }
    let headers = headers(&message.headers).map_err(invalid)?;
    let domain = settings.message_id_domain.as_deref().or_else(|| settings::domain_of(&mailbox)).unwrap_or("");
    let message_id = msc_sdk::mail::message_id(&message.id, domain);
    let (content_type, content) = match (&message.html_body, &message.text_body) {
        (Some(html), _) => ("HTML", html.value.as_str()),
        (None, Some(text)) => ("Text", text.value.as_str()),
        (None, None) => ("Text", ""),
    };
    let request = SendMail {
        message: GraphMessage {
            subject: &message.subject.value,
            body: ItemBody { content_type, content },
            to_recipients: recipients_of(&message.to),
            cc_recipients: recipients_of(&message.cc),
            bcc_recipients: recipients_of(&message.bcc),
            reply_to: recipients_of(message.reply_to.as_slice()),
            internet_message_id: &message_id,
            internet_message_headers: headers,
        },
        save_to_sent_items: settings.save_to_sent_items,
    };
    let body = serde_json::to_vec(&request)
        .map_err(|e| SendError::Failed(Error::Internal(format!("cannot encode the message: {e}"))))?;
    if body.len() > MAX_REQUEST_BYTES {
        return Err(rejected(format!(
            "the message is {} bytes as a Graph request; Graph accepts at most {MAX_REQUEST_BYTES}",
            body.len()
        )));
    }
    Ok(Outgoing { mailbox, message_id, body })
}

fn recipients_of(addresses: &[Address]) -> Vec<Recipient<'_>> {
    addresses
        .iter()
        .map(|a| Recipient {
            email_address: EmailAddress {
                address: a.email.value.trim(),
                name: a.display_name.as_ref().map(|n| n.value.as_str()).filter(|n| !n.trim().is_empty()),
            },
        })
        .collect()
}

/// The message's extra headers as `internetMessageHeaders`: Graph takes only `X-` headers, and
/// at most five.
fn headers(headers: &[Header]) -> Result<Vec<InternetHeader<'_>>, String> {
    if headers.len() > MAX_HEADERS {
        return Err(format!("the message has {} extra headers; Graph takes at most {MAX_HEADERS}", headers.len()));
    }
    headers
        .iter()
        .map(|h| {
            let name = h.name.trim();
            let printable = name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            if name.len() < 3 || !name[..2].eq_ignore_ascii_case("x-") || !printable {
                return Err(format!(
                    "the header `{}` cannot be sent through Graph, which takes only custom headers named X-...",
                    name.escape_debug()
                ));
            }
            if h.value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(format!("the header `{name}` has a line break or control character in its value"));
            }
            Ok(InternetHeader { name, value: h.value.as_str() })
        })
        .collect()
}

/// `text` percent-encoded for one URL path segment (`@` kept, as Graph's examples write UPNs).
pub fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn invalid(message: String) -> SendError {
    SendError::Failed(Error::InvalidInput(message))
}

fn rejected(message: String) -> SendError {
    SendError::Rejected(Failure { message, reply: None, retry_after_ms: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::example;
    use msc_sdk::{Pii, PiiKind};
    use serde_json::{Value, json};

    fn address(email: &str, name: Option<&str>) -> Address {
        Address {
            email: Pii { kind: PiiKind::Email, value: email.into() },
            display_name: name.map(|n| Pii { kind: PiiKind::PersonName, value: n.into() }),
        }
    }

    fn text(value: &str) -> Pii {
        Pii { kind: PiiKind::FreeText, value: value.into() }
    }

    fn message() -> Message {
        Message {
            id: "t-42".into(),
            sender: None,
            to: vec![address("alice@example.com", Some("Alice Example"))],
            cc: vec![address("bob@example.com", None)],
            bcc: vec![],
            reply_to: Some(address("soc@contoso.com", Some("SOC"))),
            subject: text("Risk on a device"),
            text_body: Some(text("plain")),
            html_body: Some(text("<p>html</p>")),
            headers: vec![Header { name: "X-Task".into(), value: "t-42".into() }],
        }
    }

    fn json_of(outgoing: &Outgoing) -> Value {
        serde_json::from_slice(&outgoing.body).expect("json")
    }

    #[test]
    fn builds_the_send_mail_request() {
        let outgoing = build(&message(), &example()).expect("built");
        assert_eq!(outgoing.mailbox, "alerts@contoso.com");
        assert_eq!(outgoing.message_id, "<msc.t-42@contoso.com>");
        assert_eq!(
            outgoing.url("https://graph.microsoft.com"),
            "https://graph.microsoft.com/v1.0/users/alerts@contoso.com/sendMail"
        );
        assert_eq!(
            json_of(&outgoing),
            json!({
                "message": {
                    "subject": "Risk on a device",
                    "body": {"contentType": "HTML", "content": "<p>html</p>"},
                    "toRecipients": [{"emailAddress": {"address": "alice@example.com", "name": "Alice Example"}}],
                    "ccRecipients": [{"emailAddress": {"address": "bob@example.com"}}],
                    "replyTo": [{"emailAddress": {"address": "soc@contoso.com", "name": "SOC"}}],
                    "internetMessageId": "<msc.t-42@contoso.com>",
                    "internetMessageHeaders": [{"name": "X-Task", "value": "t-42"}]
                },
                "saveToSentItems": false
            })
        );
    }

    #[test]
    fn text_only_bodies_the_senders_mailbox_and_the_id_domain() {
        let mut m = message();
        m.html_body = None;
        m.headers.clear();
        m.sender = Some(address("ops@fabrikam.com", None));
        let mut settings = example();
        settings.save_to_sent_items = true;
        let outgoing = build(&m, &settings).expect("built");
        let body = json_of(&outgoing);
        assert_eq!(body["message"]["body"], json!({"contentType": "Text", "content": "plain"}));
        assert_eq!(body["saveToSentItems"], json!(true));
        assert!(body["message"].get("internetMessageHeaders").is_none());
        assert_eq!(
            (outgoing.mailbox.as_str(), outgoing.message_id.as_str()),
            ("ops@fabrikam.com", "<msc.t-42@fabrikam.com>")
        );
        settings.message_id_domain = Some("msc.contoso.com".into());
        assert_eq!(build(&m, &settings).expect("built").message_id, "<msc.t-42@msc.contoso.com>");
    }

    #[test]
    fn refuses_what_graph_would_refuse_before_sending() {
        let settings = example();
        let mut m = message();
        m.headers.push(Header { name: "In-Reply-To".into(), value: "<a@b>".into() });
        assert!(
            matches!(build(&m, &settings), Err(SendError::Failed(Error::InvalidInput(t))) if t.contains("In-Reply-To"))
        );
        let mut m = message();
        m.headers = (0..6).map(|i| Header { name: format!("X-H{i}"), value: "v".into() }).collect();
        assert!(
            matches!(build(&m, &settings), Err(SendError::Failed(Error::InvalidInput(t))) if t.contains("at most 5"))
        );
        let mut m = message();
        m.headers[0].value = "a\r\nBcc: evil@example.com".into();
        assert!(matches!(build(&m, &settings), Err(SendError::Failed(Error::InvalidInput(_)))));

        let mut m = message();
        m.to = (0..=MAX_RECIPIENTS).map(|i| address(&format!("u{i}@example.com"), None)).collect();
        assert!(matches!(build(&m, &settings), Err(SendError::Rejected(f)) if f.message.contains("500")));
        let mut m = message();
        m.html_body = Some(text(&"x".repeat(MAX_REQUEST_BYTES)));
        assert!(matches!(build(&m, &settings), Err(SendError::Rejected(f)) if f.message.contains("4194304")));
        let mut m = message();
        (m.to, m.cc) = (vec![], vec![]);
        assert!(matches!(build(&m, &settings), Err(SendError::Failed(Error::InvalidInput(_)))));
    }

    #[test]
    fn mailboxes_are_one_path_segment() {
        assert_eq!(path_segment("alerts@contoso.com"), "alerts@contoso.com");
        assert_eq!(path_segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(path_segment("ü"), "%C3%BC");
    }
}
