//! The `sendMail` body checked the way Graph checks it, and the message it records.

use serde::Serialize;
use serde_json::{Map, Value};

/// Graph refuses requests larger than this (413).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Recipients (to, cc and bcc together) Graph takes in one message.
pub const MAX_RECIPIENTS: usize = 500;
/// Custom headers Graph takes in one message.
pub const MAX_HEADERS: usize = 5;

/// A message Graph accepted, as a test reads it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// The mailbox sent as: the `users/{id}` of the request.
    pub mailbox: String,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub bcc: Vec<Recipient>,
    pub reply_to: Vec<Recipient>,
    pub subject: String,
    pub body: String,
    /// `Text` or `HTML`.
    pub content_type: String,
    pub internet_message_id: Option<String>,
    /// `internetMessageHeaders`, as sent.
    pub headers: Vec<(String, String)>,
    /// Graph's default when the request leaves it out: `true`.
    pub save_to_sent_items: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub address: String,
    pub name: Option<String>,
}

/// Why Graph refuses the body: 400 with this code and message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

const TOP_LEVEL: &[&str] = &["message", "saveToSentItems"];
const MESSAGE_PROPERTIES: &[&str] = &[
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "from",
    "sender",
    "internetMessageId",
    "internetMessageHeaders",
    "importance",
    "attachments",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
];

/// Checks a `sendMail` body for `mailbox` and reads the message out of it.
pub fn read(mailbox: &str, body: &[u8]) -> Result<SentMessage, Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        refuse(
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    })?;
    let top = value.as_object().ok_or_else(|| refuse("BadRequest", "Empty Payload. JSON content expected."))?;
    unknown_property(top, TOP_LEVEL, |name| {
        format!("The parameter '{name}' in the request payload is not a valid parameter for the operation 'sendMail'.")
    })?;
    let message = top
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| refuse("ErrorInvalidParameter", "The value of the parameter 'Message' is empty."))?;
    unknown_property(message, MESSAGE_PROPERTIES, |name| {
        format!(
            "The property '{name}' does not exist on type 'microsoft.graph.message'. Make sure to only use property names \
             that are defined by the type or mark the type as open type."
        )
    })?;
    let save_to_sent_items = match top.get("saveToSentItems") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(cannot_convert("saveToSentItems", "Edm.Boolean")),
    };
    let subject = optional_string(message, "subject")?;
    let (content_type, body) = match message.get("body") {
        None | Some(Value::Null) => ("Text".to_string(), String::new()),
        Some(Value::Object(item)) => {
            let content_type = match optional_string(item, "contentType")?.to_ascii_lowercase().as_str() {
                "" | "text" => "Text",
                "html" => "HTML",
                other => {
                    return Err(refuse(
                        "RequestBodyRead",
                        format!(
                            "Cannot convert the literal '{other}' to the expected type 'microsoft.graph.bodyType'."
                        ),
                    ));
                }
            };
            (content_type.to_string(), optional_string(item, "content")?)
        }
        Some(_) => return Err(cannot_convert("body", "microsoft.graph.itemBody")),
    };
    let to = recipients(message, "toRecipients")?;
    let cc = recipients(message, "ccRecipients")?;
    let bcc = recipients(message, "bccRecipients")?;
    let reply_to = recipients(message, "replyTo")?;
    let count = to.len() + cc.len() + bcc.len();
    if count == 0 {
        return Err(refuse(
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
        ));
    }
    if count > MAX_RECIPIENTS {
        return Err(refuse(
            "ErrorInvalidRecipients",
            format!("The message has {count} recipients; at most {MAX_RECIPIENTS} are allowed per message."),
        ));
    }
    if let Some(bad) = to.iter().chain(&cc).chain(&bcc).chain(&reply_to).find(|r| !valid_address(&r.address)) {
        return Err(refuse(
            "ErrorInvalidRecipients",
            format!(
                "At least one recipient is not valid., Recipient '{}' is not resolved. All recipients must be resolved \
                 before a message can be submitted.",
                bad.address
            ),
        ));
    }
    let internet_message_id = match message.get("internetMessageId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if valid_message_id(id) => Some(id.clone()),
        Some(_) => {
            return Err(refuse(
                "InvalidInternetMessageId",
                "The internet message id must be a single id enclosed in '<' and '>' with an '@', such as <id@domain>.",
            ));
        }
    };
    Ok(SentMessage {
        mailbox: mailbox.to_string(),
        to,
        cc,
        bcc,
        reply_to,
        subject,
        body,
        content_type,
        internet_message_id,
        headers: headers(message)?,
        save_to_sent_items,
    })
}

fn unknown_property(object: &Map<String, Value>, known: &[&str], say: impl Fn(&str) -> String) -> Result<(), Refusal> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(name) => Err(refuse("RequestBodyRead", say(name))),
        None => Ok(()),
    }
}

fn cannot_convert(name: &str, to: &str) -> Refusal {
    refuse("RequestBodyRead", format!("Cannot convert the value of the property '{name}' to the expected type '{to}'."))
}

fn optional_string(object: &Map<String, Value>, name: &str) -> Result<String, Refusal> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(cannot_convert(name, "Edm.String")),
    }
}

fn recipients(message: &Map<String, Value>, name: &str) -> Result<Vec<Recipient>, Refusal> {
    let list = match message.get(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(cannot_convert(name, "Collection(microsoft.graph.recipient)")),
    };
    list.iter()
        .map(|item| {
            let address = item
                .get("emailAddress")
                .and_then(Value::as_object)
                .ok_or_else(|| cannot_convert(name, "microsoft.graph.recipient"))?;
            let name_of = optional_string(address, "name")?;
            Ok(Recipient {
                address: optional_string(address, "address")?,
                name: Some(name_of).filter(|n| !n.is_empty()),
            })
        })
        .collect()
}

fn headers(message: &Map<String, Value>) -> Result<Vec<(String, String)>, Refusal> {
    let list = match message.get("internetMessageHeaders") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(cannot_convert("internetMessageHeaders", "Collection(microsoft.graph.internetMessageHeader)"));
        }
    };
    if list.len() > MAX_HEADERS {
        return Err(refuse(
            "InvalidInternetMessageHeaderCollection",
            format!("Maximum number of headers in one message should be less than or equal to {MAX_HEADERS}."),
        ));
    }
    list.iter()
        .map(|item| {
            let item = item
                .as_object()
                .ok_or_else(|| cannot_convert("internetMessageHeaders", "microsoft.graph.internetMessageHeader"))?;
            let (name, value) = (optional_string(item, "name")?, optional_string(item, "value")?);
            if !name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-")) {
                return Err(refuse(
                    "InvalidInternetMessageHeader",
                    format!("The internet message header name '{name}' should start with 'x-' or 'X-'."),
                ));
            }
            Ok((name, value))
        })
        .collect()
}

/// `local@domain.tld`, no spaces or angle brackets: what Exchange resolves as an SMTP address.
fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else { return false };
    let label_ok = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-');
    !local.is_empty()
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | ':' | '@'))
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

fn valid_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|i| i.strip_suffix('>')) else { return false };
    inner.contains('@') && !inner.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(message: Value) -> Vec<u8> {
        json!({ "message": message, "saveToSentItems": false }).to_string().into_bytes()
    }

    fn to(address: &str) -> Value {
        json!([{ "emailAddress": { "address": address, "name": "Alice" } }])
    }

    #[test]
    fn reads_a_valid_message() {
        let sent = read(
            "alerts@contoso.com",
            &body(json!({
                "subject": "Hi", "body": { "contentType": "html", "content": "<p>x</p>" },
                "toRecipients": to("alice@example.com"), "internetMessageId": "<msc.1@contoso.com>",
                "internetMessageHeaders": [{ "name": "X-Task", "value": "1" }],
            })),
        )
        .expect("valid");
        assert_eq!(sent.content_type, "HTML");
        assert_eq!(sent.to, vec![Recipient { address: "alice@example.com".into(), name: Some("Alice".into()) }]);
        assert_eq!(sent.headers, vec![("X-Task".to_string(), "1".to_string())]);
        assert!(!sent.save_to_sent_items);
        let default =
            read("a@b.c", br#"{"message":{"toRecipients":[{"emailAddress":{"address":"x@y.z"}}]}}"#).expect("valid");
        assert!(default.save_to_sent_items, "Graph's default");
    }

    #[test]
    fn refuses_what_graph_refuses() {
        let code = |message: Value| read("a@b.c", &body(message)).expect_err("refused").code;
        assert_eq!(code(json!({ "toRecipients": to("not an address") })), "ErrorInvalidRecipients");
        assert_eq!(code(json!({ "subject": "no one" })), "ErrorInvalidRecipients");
        let many: Vec<Value> =
            (0..501).map(|i| json!({ "emailAddress": { "address": format!("u{i}@example.com") } })).collect();
        assert_eq!(code(json!({ "toRecipients": many })), "ErrorInvalidRecipients");
        let header = |name: &str| json!({ "name": name, "value": "v" });
        assert_eq!(
            code(json!({ "toRecipients": to("a@example.com"), "internetMessageHeaders": [header("In-Reply-To")] })),
            "InvalidInternetMessageHeader"
        );
        let six: Vec<Value> = (0..6).map(|i| header(&format!("X-{i}"))).collect();
        assert_eq!(
            code(json!({ "toRecipients": to("a@example.com"), "internetMessageHeaders": six })),
            "InvalidInternetMessageHeaderCollection"
        );
        assert_eq!(code(json!({ "toRecipients": to("a@example.com"), "colour": "red" })), "RequestBodyRead");
        assert_eq!(
            code(json!({ "toRecipients": to("a@example.com"), "body": { "contentType": "rtf" } })),
            "RequestBodyRead"
        );
        assert_eq!(
            code(json!({ "toRecipients": to("a@example.com"), "internetMessageId": "no-brackets" })),
            "InvalidInternetMessageId"
        );
        assert_eq!(read("a@b.c", b"{").expect_err("not JSON").code, "BadRequest");
    }
}
