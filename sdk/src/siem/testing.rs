//! Sample events for formatter tests, and the splitting of what the shared writers in
//! [`crate::siem`] and [`crate::syslog`] wrote (feature `testing`, for dev-dependencies). Each
//! format's own parser and assertions stay with its plugin; the events are here so that every
//! formatter is tried on the same awkward input.
//!
//! ```
//! use msc_sdk::siem::testing::{self, full_event};
//!
//! let event = full_event();
//! assert_eq!(event.id, testing::tricky("id"));
//! assert!(event.fields.iter().any(|f| f.name == testing::tricky("note")));
//! ```

use crate::Pii;
use crate::siem::{Event, EventApp, EventDevice, EventNetwork, Field, FieldValue, Origin, Severity};

/// `tag`, a space and everything that needs escaping in some format: `|`, `=`, `\`, escape
/// sequences written out (`\=`, `\n`, `\^`, `\]`), `]`, `"`, CR, LF, CRLF, tab, `^`, the text
/// `x09`, non-ASCII text and a trailing space.
pub fn tricky(tag: &str) -> String {
    format!("{tag} a|b=c\\d\\=e\\nf]g\"h\ri\nj\r\nk\tl^m\\^n\\]o x09 Zoë Ünal 東京 ")
}

/// The connector `connector-1` running as `msc`.
pub fn origin() -> Origin {
    Origin { hostname: "connector-1".into(), app_name: "msc".into() }
}

/// An extra field.
pub fn field(name: &str, value: FieldValue) -> Field {
    Field { name: name.into(), value }
}

/// An event with every optional value absent: `e-1`, "Threat detected", "Malicious app", high,
/// at 2023-11-14T22:13:20.123Z.
pub fn bare_event() -> Event {
    Event {
        id: "e-1".into(),
        event_type: "Threat detected".into(),
        time_ms: 1_700_000_000_123,
        client_time_ms: None,
        severity: Severity::High,
        name: "Malicious app".into(),
        attack_vector: None,
        threat_factors: vec![],
        signature: None,
        url: None,
        tenant: None,
        message: None,
        device: None,
        app: None,
        network: None,
        fields: vec![],
    }
}

/// An event with every value present (but the network's BSSID): free text is [`tricky`] with
/// the field's name as its tag, some values are empty, the severity is medium and the device's
/// risk critical, and the extra fields are one or more of every kind (integer, fraction, NaN,
/// infinity, flag, time, text with a [`tricky`] name, empty text, personal data).
pub fn full_event() -> Event {
    Event {
        id: tricky("id"),
        event_type: tricky("type"),
        time_ms: 1_700_000_000_123,
        client_time_ms: Some(1_699_999_999_000),
        severity: Severity::Medium,
        name: tricky("name"),
        attack_vector: Some(tricky("vector")),
        threat_factors: vec![tricky("f1"), "root".into()],
        signature: Some(tricky("sig")),
        url: Some("https://evil.example/a?b=c|d".into()),
        tenant: Some(String::new()),
        message: Some(Pii::free_text(tricky("message"))),
        device: Some(EventDevice {
            id: Some(tricky("device-id")),
            name: Some(Pii::device_name(tricky("Zoë Ünal's iPhone"))),
            owner: Some(Pii::person_name("Zoë Ünal")),
            email: Some(Pii::email("zoe@example.com")),
            phone: Some(Pii::phone("+81 3-1234-5678")),
            platform: Some("iOS".into()),
            os_version: Some(tricky("os")),
            model: Some(String::new()),
            serial_number: Some(tricky("serial")),
            client_version: Some("4.2|beta\n".into()),
            policy: Some(tricky("policy")),
            groups: vec!["Sales".into(), "東京".into()],
            risk: Some(Severity::Critical),
        }),
        app: Some(EventApp {
            name: Some(tricky("app")),
            package: Some("com.example.app".into()),
            version: Some("1.0=1".into()),
            sha256: Some("ab".repeat(32)),
            developer: Some(tricky("dev")),
            repackaged: Some(true),
            system_app: Some(false),
        }),
        network: Some(EventNetwork { ssid: Some(tricky("ssid")), bssid: None, certificate: Some(tricky("cert")) }),
        fields: vec![
            field("count", FieldValue::Number(42.0)),
            field("score", FieldValue::Number(9.5)),
            field("not a number", FieldValue::Number(f64::NAN)),
            field("infinite", FieldValue::Number(f64::INFINITY)),
            field("blocked", FieldValue::Flag(true)),
            field("seen at", FieldValue::TimeMs(1_600_000_000_000)),
            field(&tricky("note"), FieldValue::Text(tricky("text"))),
            field("empty", FieldValue::Text(String::new())),
            field("reporter", FieldValue::Personal(Pii::user_name(tricky("user")))),
        ],
    }
}

/// A record [`crate::syslog::wrap`] wrote, split into the six syslog header fields (`None`
/// when there is no header) and the line after the structured data, which must be `-`.
pub fn split_syslog(record: &str) -> (Option<Vec<String>>, &str) {
    if !record.starts_with('<') {
        return (None, record);
    }
    let parts: Vec<&str> = record.splitn(8, ' ').collect();
    assert_eq!(parts.len(), 8, "syslog header, structured data and message: {record}");
    assert_eq!(parts[6], "-", "no structured data: {record}");
    (Some(parts[..6].iter().map(|s| s.to_string()).collect()), parts[7])
}

/// A line that starts with a [`crate::siem::pipe_header`], split after its first `count` fields
/// (the prefix counts) at unescaped pipes: the fields unescaped, and the rest of the line.
/// Panics on a bad escape, a raw line break or fewer fields.
pub fn split_pipe_header(line: &str, count: usize) -> (Vec<String>, &str) {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '|'))) => current.push(e),
                other => panic!("bad header escape {other:?} in {line}"),
            },
            '|' => {
                fields.push(std::mem::take(&mut current));
                if fields.len() == count {
                    return (fields, &line[i + 1..]);
                }
            }
            '\r' | '\n' => panic!("raw line break in the header: {line:?}"),
            c => current.push(c),
        }
    }
    panic!("fewer than {count} header fields: {line}")
}
