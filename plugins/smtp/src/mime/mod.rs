//! Turns a [`Message`] into the bytes sent after `DATA`: RFC 5322 headers and a MIME body
//! (text/plain, text/html, or multipart/alternative with both), 7-bit with CRLF lines of at most
//! 78 characters where possible and never more than 998, plus the envelope it goes with.
//!
//! Bcc recipients are only in the envelope. Header values cannot start a new header: control
//! characters become spaces and anything not plain ASCII is RFC 2047-encoded.

mod date;
mod encode;
mod mailbox;

use msc_sdk::Pii;
use msc_sdk::mail::{Address, Message};

use crate::address::{self, AddressError};
use crate::settings::Settings;

/// RFC 5322 §2.1.1: a line is at most 998 characters before its CRLF.
pub const MAX_LINE: usize = 998;
const MAX_HEADER_NAME: usize = 76;

/// A message ready for one SMTP transaction.
#[derive(Debug)]
pub struct Composed {
    /// The `Message-ID` header's value, `<…>` included.
    pub message_id: String,
    /// `MAIL FROM`.
    pub sender: String,
    /// `RCPT TO`, each address once: To, then Cc, then Bcc.
    pub recipients: Vec<Pii>,
    /// An address is not ASCII: the server must offer SMTPUTF8.
    pub needs_smtputf8: bool,
    /// Headers and body, CRLF lines.
    pub data: Vec<u8>,
}

/// Why a message cannot be sent as it is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MimeError {
    #[error("the {field} address is unusable: {error}")]
    Address { field: &'static str, error: AddressError },
    #[error("the message has no recipient")]
    NoRecipients,
    #[error("the header `{0}` may not be set: only X-… headers with a valid field name are allowed")]
    HeaderName(String),
}

/// Composes `message`, sent at `unix_seconds`, with the sender and domain from `settings`.
pub fn compose(message: &Message, settings: &Settings, unix_seconds: u64) -> Result<Composed, MimeError> {
    let (sender_email, sender_name) = match &message.sender {
        Some(sender) => (sender.email.value.clone(), sender.display_name.as_ref().map(|n| n.value.clone())),
        None => (settings.from.clone(), settings.from_name.clone()),
    };
    address::check_email(&sender_email).map_err(|error| MimeError::Address { field: "sender", error })?;
    let mut recipients: Vec<Pii> = Vec::new();
    for (field, list) in [("To", &message.to), ("Cc", &message.cc), ("Bcc", &message.bcc)] {
        for recipient in list {
            address::check_email(&recipient.email.value).map_err(|error| MimeError::Address { field, error })?;
            if !recipients.iter().any(|r| r.value == recipient.email.value) {
                recipients.push(recipient.email.clone());
            }
        }
    }
    if recipients.is_empty() {
        return Err(MimeError::NoRecipients);
    }
    if let Some(reply_to) = &message.reply_to {
        address::check_email(&reply_to.email.value).map_err(|error| MimeError::Address { field: "Reply-To", error })?;
    }
    let needs_smtputf8 = !sender_email.is_ascii() || recipients.iter().any(|r| !r.value.is_ascii());
    let message_id = msc_sdk::mail::message_id(&message.id, &settings.message_id_domain);

    let mut head = String::new();
    head.push_str(&encode::field("Date", &[date::rfc5322(unix_seconds)]));
    head.push_str(&encode::field("From", &mailbox::words(sender_name.as_deref(), &sender_email)));
    if message.to.is_empty() && message.cc.is_empty() {
        // RFC 5322 allows no To, but some filters score it as spam.
        head.push_str("To: undisclosed-recipients:;\r\n");
    }
    for (name, list) in [("To", &message.to), ("Cc", &message.cc)] {
        if !list.is_empty() {
            head.push_str(&encode::field(name, &mailbox::list(&list.iter().map(address_words).collect::<Vec<_>>())));
        }
    }
    if let Some(reply_to) = &message.reply_to {
        head.push_str(&encode::field("Reply-To", &address_words(reply_to)));
    }
    head.push_str(&encode::field("Subject", &encode::unstructured(&message.subject.value)));
    head.push_str(&encode::field("Message-ID", std::slice::from_ref(&message_id)));
    head.push_str("MIME-Version: 1.0\r\n");
    for header in &message.headers {
        check_header_name(&header.name)?;
        head.push_str(&encode::field(&header.name, &encode::unstructured(&header.value)));
    }
    let body = body(message);
    let data = format!("{head}{body}").into_bytes();
    Ok(Composed { message_id, sender: sender_email, recipients, needs_smtputf8, data })
}

fn address_words(address: &Address) -> Vec<String> {
    mailbox::words(address.display_name.as_ref().map(|n| n.value.as_str()), &address.email.value)
}

/// Only `X-…` headers, named with printable ASCII and no colon (RFC 5322 §2.2): anything else
/// could override a header this module sets, or break the header block.
fn check_header_name(name: &str) -> Result<(), MimeError> {
    let x_header = name.len() > 2 && name[..2].eq_ignore_ascii_case("x-");
    let valid = name.len() <= MAX_HEADER_NAME && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if x_header && valid { Ok(()) } else { Err(MimeError::HeaderName(name.escape_debug().to_string())) }
}

/// The MIME part headers and body, starting with `Content-Type`.
fn body(message: &Message) -> String {
    let part = |subtype: &str, text: &str| {
        format!(
            "Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
            encode::quoted_printable(text)
        )
    };
    match (&message.text_body, &message.html_body) {
        (Some(text), Some(html)) => {
            let (text, html) = (part("plain", &text.value), part("html", &html.value));
            let boundary = boundary(&message.id, &[&text, &html]);
            format!(
                "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
                 --{boundary}\r\n{text}--{boundary}\r\n{html}--{boundary}--\r\n"
            )
        }
        (None, Some(html)) => part("html", &html.value),
        (Some(text), None) => part("plain", &text.value),
        (None, None) => part("plain", ""),
    }
}

/// A boundary found in none of `parts`. `=_` never occurs in quoted-printable (every `=` is
/// followed by hex digits or a line break), so the first candidate always fits; the loop is a
/// guard, not a search. Derived from the task id: the same message gets the same bytes.
fn boundary(id: &str, parts: &[&str]) -> String {
    let mut salt = 0u32;
    loop {
        let candidate = format!("=_msc_{:016x}_{salt}", fnv1a(id.as_bytes()));
        if !parts.iter().any(|p| p.contains(&candidate)) {
            return candidate;
        }
        salt += 1;
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests;
