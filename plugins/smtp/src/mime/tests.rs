use base64::Engine;
use msc_sdk::Pii;
use msc_sdk::mail::Header;

use super::*;
use crate::testing::{address, message, settings};

const NOW: u64 = 1_748_944_800;

fn text(composed: &Composed) -> String {
    String::from_utf8(composed.data.clone()).expect("7-bit")
}

/// The header block unfolded, one `(name, value)` per field.
fn headers(data: &str) -> Vec<(String, String)> {
    let (head, _) = data.split_once("\r\n\r\n").expect("header block");
    head.replace("\r\n ", " ")
        .split("\r\n")
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("field");
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn header(data: &str, name: &str) -> Option<String> {
    headers(data).into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Decodes a value made of encoded-words and plain text (enough for these tests).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    for (i, word) in value.split(' ').enumerate() {
        if let Some(inner) = word.strip_prefix("=?utf-8?B?").and_then(|w| w.strip_suffix("?=")) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(inner).expect("base64");
            out.push_str(&String::from_utf8(bytes).expect("utf-8"));
        } else {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

fn assert_line_limits(data: &str) {
    assert!(data.is_ascii(), "7-bit only");
    assert!(data.ends_with("\r\n"));
    for line in data.split("\r\n") {
        assert!(line.len() <= MAX_LINE, "line of {} octets", line.len());
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
    }
}

#[test]
fn headers_envelope_and_message_id() {
    let composed = compose(&message(), &settings(), NOW).expect("composed");
    let data = text(&composed);
    assert_line_limits(&data);
    assert_eq!(composed.message_id, "<msc.t-42@corp.example>");
    assert_eq!(composed.message_id, msc_sdk::mail::message_id("t-42", "corp.example"));
    assert_eq!(composed.sender, "alerts@corp.example");
    let recipients: Vec<&str> = composed.recipients.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(recipients, ["alice@corp.example", "bob@corp.example", "audit@corp.example"]);
    assert!(!composed.needs_smtputf8);
    let names: Vec<String> = headers(&data).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Date",
            "From",
            "To",
            "Cc",
            "Subject",
            "Message-ID",
            "MIME-Version",
            "X-MTD-Severity",
            "Content-Type",
            "Content-Transfer-Encoding"
        ]
    );
    assert_eq!(header(&data, "Date").as_deref(), Some("Tue, 03 Jun 2025 10:00:00 +0000"));
    assert_eq!(header(&data, "From").as_deref(), Some("MTD Alerts <alerts@corp.example>"));
    assert_eq!(decode_words(&header(&data, "To").expect("To")), "Alice Ä <alice@corp.example>");
    assert_eq!(header(&data, "Cc").as_deref(), Some("bob@corp.example"));
    assert_eq!(header(&data, "Message-ID").as_deref(), Some("<msc.t-42@corp.example>"));
    assert_eq!(header(&data, "Content-Type").as_deref(), Some("text/plain; charset=utf-8"));
    assert!(!data.contains("audit@corp.example"), "Bcc only in the envelope");
    assert!(header(&data, "Bcc").is_none());
}

#[test]
fn encoded_subject_round_trips() {
    for subject in ["Gerät von Zoë — Risiko hoch ✓", "plain ascii subject", "  spaced   out  ", &"Länger ".repeat(40)]
    {
        let mut message = message();
        message.subject = Pii::free_text(subject);
        let data = text(&compose(&message, &settings(), NOW).expect("composed"));
        assert_line_limits(&data);
        let value = header(&data, "Subject").expect("Subject");
        let decoded = if value.contains("=?") { decode_words(&value) } else { value };
        assert_eq!(decoded, subject);
    }
}

#[test]
fn both_bodies_make_multipart_alternative_text_first() {
    let mut message = message();
    message.text_body = Some(Pii::free_text("Plain text ✓"));
    message.html_body = Some(Pii::free_text("<p>HTML ✓</p>\n--=_msc_fake"));
    let data = text(&compose(&message, &settings(), NOW).expect("composed"));
    assert_line_limits(&data);
    let content_type = header(&data, "Content-Type").expect("Content-Type");
    let boundary = content_type
        .strip_prefix("multipart/alternative; boundary=\"")
        .and_then(|b| b.strip_suffix('"'))
        .expect("boundary");
    let (_, body) = data.split_once("\r\n\r\n").expect("body");
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    assert_eq!(parts.len(), 4, "preamble, two parts, epilogue: {body}");
    assert_eq!(parts[0], "");
    assert!(parts[1].starts_with("\r\nContent-Type: text/plain; charset=utf-8\r\n"), "{}", parts[1]);
    assert!(parts[1].contains("Plain text =E2=9C=93"));
    assert!(parts[2].starts_with("\r\nContent-Type: text/html; charset=utf-8\r\n"), "{}", parts[2]);
    assert!(parts[2].contains("<p>HTML =E2=9C=93</p>"));
    assert_eq!(parts[3], "--\r\n");
    // The same message composes to the same bytes: a retry is byte for byte the same.
    assert_eq!(data, text(&compose(&message, &settings(), NOW).expect("composed")));
}

#[test]
fn html_only_and_empty_bodies() {
    let mut message = message();
    message.text_body = None;
    message.html_body = Some(Pii::free_text("<b>x</b>"));
    let data = text(&compose(&message, &settings(), NOW).expect("composed"));
    assert_eq!(header(&data, "Content-Type").as_deref(), Some("text/html; charset=utf-8"));
    message.html_body = None;
    let data = text(&compose(&message, &settings(), NOW).expect("composed"));
    assert_eq!(header(&data, "Content-Type").as_deref(), Some("text/plain; charset=utf-8"));
}

#[test]
fn header_injection_attempts_stay_inside_their_header() {
    let mut message = message();
    message.subject = Pii::free_text("Hi\r\nBcc: victim@evil.example\r\n\r\nbody");
    message.to = vec![address("alice@corp.example", Some("Alice\r\nBcc: victim@evil.example"))];
    message.reply_to = Some(address("help@corp.example", Some("Help\nX-Evil: 1")));
    message.headers = vec![Header { name: "X-Note".into(), value: "ok\r\nBcc: victim@evil.example".into() }];
    let data = text(&compose(&message, &settings(), NOW).expect("composed"));
    assert_line_limits(&data);
    let names: Vec<String> = headers(&data).into_iter().map(|(n, _)| n).collect();
    assert!(!names.iter().any(|n| n == "Bcc" || n == "X-Evil"), "{names:?}");
    assert_eq!(header(&data, "X-Note").as_deref(), Some("ok  Bcc: victim@evil.example"));

    for name in ["Bcc", "From", "X-Bad:Name", "X-Bad Name", "X-", "X-Ünicode", "X-Line\r\nBcc"] {
        let message = message_with_header(name);
        assert!(matches!(compose(&message, &settings(), NOW), Err(MimeError::HeaderName(_))), "{name:?}");
    }
    let mut message = message_with_header("X-Fine");
    message.to = vec![address("alice@corp.example>\r\nRCPT TO:<evil@x.example", None)];
    assert!(matches!(compose(&message, &settings(), NOW), Err(MimeError::Address { field: "To", .. })));
}

fn message_with_header(name: &str) -> msc_sdk::mail::Message {
    let mut message = message();
    message.headers = vec![Header { name: name.into(), value: "v".into() }];
    message
}

#[test]
fn long_lines_and_many_recipients_stay_within_limits() {
    let mut message = message();
    message.text_body = Some(Pii::free_text(format!("{}\n.{}", "a".repeat(5000), "ö".repeat(3000))));
    message.to =
        (0..200).map(|i| address(&format!("user{i}@corp.example"), Some(&format!("User Nümber {i}")))).collect();
    message.subject = Pii::free_text("x".repeat(3000));
    message.headers = vec![Header { name: "X-Long".into(), value: "y ".repeat(2000) }];
    let composed = compose(&message, &settings(), NOW).expect("composed");
    let data = text(&composed);
    assert_line_limits(&data);
    let (head, body) = data.split_once("\r\n\r\n").expect("body");
    assert!(head.split("\r\n").all(|l| l.len() <= 78), "headers fold");
    assert!(body.split("\r\n").all(|l| l.len() <= 76 && !l.starts_with('.')), "quoted-printable lines");
    assert_eq!(composed.recipients.len(), 202);
}

#[test]
fn duplicates_are_sent_once_and_an_explicit_sender_wins() {
    let mut message = message();
    message.cc.push(address("alice@corp.example", None));
    message.sender = Some(address("soc@corp.example", Some("SOC")));
    message.reply_to = Some(address("help@corp.example", Some("Hopper, Grace")));
    let composed = compose(&message, &settings(), NOW).expect("composed");
    assert_eq!(composed.recipients.len(), 3);
    assert_eq!(composed.sender, "soc@corp.example");
    let data = text(&composed);
    assert_eq!(header(&data, "From").as_deref(), Some("SOC <soc@corp.example>"));
    assert_eq!(header(&data, "Reply-To").as_deref(), Some("\"Hopper, Grace\" <help@corp.example>"));
}

#[test]
fn no_recipients_or_only_bcc() {
    let mut message = message();
    message.to.clear();
    message.cc.clear();
    let data = text(&compose(&message, &settings(), NOW).expect("composed"));
    assert_eq!(header(&data, "To").as_deref(), Some("undisclosed-recipients:;"));
    message.bcc.clear();
    assert_eq!(compose(&message, &settings(), NOW).err(), Some(MimeError::NoRecipients));
}

#[test]
fn international_addresses_need_smtputf8() {
    let mut message = message();
    message.to = vec![address("zoë@bücher.example", Some("Zoë"))];
    let composed = compose(&message, &settings(), NOW).expect("composed");
    assert!(composed.needs_smtputf8);
}
