//! Round trips through a small CEF parser written from the spec: every value the formatter
//! writes must parse back to exactly the event's value. The events are the SDK's samples.

use std::collections::BTreeMap;

use msc_sdk::siem::testing::{bare_event, field, full_event, origin, split_pipe_header, split_syslog, tricky};
use msc_sdk::siem::{Event, FieldValue};
use msc_sdk::syslog::Facility;

use crate::Settings;
use crate::record::{cef, record};

fn settings(syslog: bool) -> Settings {
    Settings {
        vendor: "MTD Cloud".into(),
        product: "Mobile Security Connector".into(),
        syslog: syslog.then_some(Facility::LOCAL0),
    }
}

/// The sample event with more integers and times than CEF has slots for, and labels that need
/// escaping.
fn full() -> Event {
    let mut event = full_event();
    event.fields.extend([
        field("negative = 1|2", FieldValue::Number(-7.0)),
        field("zero", FieldValue::Number(0.0)),
        field("fourth integer", FieldValue::Number(9.0)),
        field("huge", FieldValue::Number(1e300)),
        field("second\ntime", FieldValue::TimeMs(1)),
        field("third time", FieldValue::TimeMs(2)),
    ]);
    event
}

/// A parsed record: the syslog header fields when present, the seven CEF header fields
/// (`CEF:0` first) and the extension.
struct Parsed {
    syslog: Option<Vec<String>>,
    header: Vec<String>,
    extension: BTreeMap<String, String>,
}

fn parse(record: &str) -> Parsed {
    let (syslog, cef) = split_syslog(record);
    let (header, extension) = split_pipe_header(cef, 7);
    Parsed { syslog, header, extension: parse_extension(extension) }
}

/// `key=value` pairs: a key is the word before an unescaped `=`, its value runs to the space
/// before the next key.
fn parse_extension(ext: &str) -> BTreeMap<String, String> {
    assert!(!ext.contains(['\r', '\n']), "raw line break in the extension: {ext:?}");
    let chars: Vec<char> = ext.chars().collect();
    let mut equals = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' => {
                equals.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    let key_start = |eq: usize| chars[..eq].iter().rposition(|&c| c == ' ').map_or(0, |p| p + 1);
    let mut pairs = BTreeMap::new();
    for (n, &eq) in equals.iter().enumerate() {
        let key: String = chars[key_start(eq)..eq].iter().collect();
        let end = equals.get(n + 1).map_or(chars.len(), |&next| key_start(next) - 1);
        let value: String = chars[eq + 1..end].iter().collect();
        assert!(pairs.insert(key.clone(), unescape(&value)).is_none(), "key {key} twice");
    }
    pairs
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('=') => out.push('='),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => panic!("bad extension escape {other:?} in {value:?}"),
        }
    }
    out
}

/// The overflow slot: one `name=value` line per field, each part escaped again.
fn parse_overflow(lines: &str) -> Vec<(String, String)> {
    lines
        .split('\n')
        .map(|line| {
            let pairs: Vec<(usize, char)> = line.char_indices().collect();
            let mut i = 0;
            while i < pairs.len() {
                match pairs[i].1 {
                    '\\' => i += 2,
                    '=' => break,
                    _ => i += 1,
                }
            }
            let at = pairs.get(i).map(|p| p.0).expect("an unescaped `=` in every overflow line");
            (unescape(&line[..at]), unescape(&line[at + 1..]))
        })
        .collect()
}

fn pairs(list: &[(&str, String)]) -> BTreeMap<String, String> {
    list.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[test]
fn every_field_round_trips() {
    let parsed = parse(&record(&settings(false), &origin(), &full()));
    assert!(parsed.syslog.is_none());
    assert_eq!(
        parsed.header,
        [
            "CEF:0",
            "MTD Cloud",
            "Mobile Security Connector",
            "4.2|beta ",
            &tricky("type").replace(['\r', '\n'], " "),
            &tricky("name").replace(['\r', '\n'], " "),
            "7"
        ]
    );

    let mut ext = parsed.extension;
    let overflow = parse_overflow(&ext.remove("flexString2").expect("overflow slot"));
    assert_eq!(
        ext,
        pairs(&[
            ("rt", "1700000000123".into()),
            ("start", "1699999999000".into()),
            ("externalId", tricky("id")),
            ("act", tricky("type")),
            ("cat", tricky("vector")),
            ("reason", format!("{},root", tricky("f1"))),
            ("msg", tricky("message")),
            ("request", "https://evil.example/a?b=c|d".into()),
            ("dvchost", String::new()),
            ("deviceExternalId", tricky("device-id")),
            ("suser", tricky("Zoë Ünal's iPhone")),
            ("duser", "zoe@example.com".into()),
            ("flexString1Label", "DeviceOwner".into()),
            ("flexString1", "Zoë Ünal".into()),
            ("cs1Label", "DeviceType".into()),
            ("cs1", "iOS".into()),
            ("cs2Label", "DevicePhone".into()),
            ("cs2", "+81 3-1234-5678".into()),
            ("cs3Label", "DeviceOSVersion".into()),
            ("cs3", tricky("os")),
            ("cs4Label", "DeviceModel".into()),
            ("cs4", String::new()),
            ("cs5Label", "NetworkCertificate".into()),
            ("cs5", tricky("cert")),
            ("cs6Label", "DeviceRisk".into()),
            ("cs6", "critical".into()),
            ("fname", tricky("app")),
            ("fileId", "com.example.app".into()),
            ("fileHash", "ab".repeat(32)),
            ("cn1Label", "count".into()),
            ("cn1", "42".into()),
            ("cn2Label", "negative = 1|2".into()),
            ("cn2", "-7".into()),
            ("cn3Label", "zero".into()),
            ("cn3", "0".into()),
            ("cfp1Label", "score".into()),
            ("cfp1", "9.5".into()),
            // Beyond what a Long holds exactly, so a float.
            ("cfp2Label", "huge".into()),
            ("cfp2", 1e300.to_string()),
            ("deviceCustomDate1Label", "seen at".into()),
            ("deviceCustomDate1", "1600000000000".into()),
            ("deviceCustomDate2Label", "second\ntime".into()),
            ("deviceCustomDate2", "1".into()),
            ("flexString2Label", "OtherFields".into()),
        ])
    );
    let expected_overflow: Vec<(String, String)> = [
        ("signature", tricky("sig")),
        ("deviceSerialNumber", tricky("serial")),
        ("devicePolicy", tricky("policy")),
        ("deviceGroups", "Sales,東京".into()),
        ("networkSsid", tricky("ssid")),
        ("appVersion", "1.0=1".into()),
        ("appDeveloper", tricky("dev")),
        ("appRepackaged", "true".into()),
        ("appSystemApp", "false".into()),
        // No slot for the kind, or the kind's slots full: in event order.
        ("not a number", "NaN".into()),
        ("infinite", "inf".into()),
        ("blocked", "true".into()),
        (tricky("note").as_str(), tricky("text")),
        ("empty", String::new()),
        ("reporter", tricky("user")),
        ("fourth integer", "9".into()),
        ("third time", "2".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(overflow, expected_overflow);
}

#[test]
fn absent_fields_are_left_out() {
    let parsed = parse(&record(&settings(false), &origin(), &bare_event()));
    assert_eq!(
        parsed.header,
        ["CEF:0", "MTD Cloud", "Mobile Security Connector", "1.0", "Threat detected", "Malicious app", "10"]
    );
    assert_eq!(
        parsed.extension,
        pairs(&[("rt", "1700000000123".into()), ("externalId", "e-1".into()), ("act", "Threat detected".into())])
    );
}

#[test]
fn the_syslog_header_carries_time_host_app_and_event_type() {
    let line = record(&settings(true), &origin(), &bare_event());
    assert_eq!(
        line,
        "<131>1 2023-11-14T22:13:20.123Z connector-1 msc - Threat_detected - \
         CEF:0|MTD Cloud|Mobile Security Connector|1.0|Threat detected|Malicious app|10|\
         rt=1700000000123 externalId=e-1 act=Threat detected"
    );
    let parsed = parse(&record(&settings(true), &origin(), &full()));
    assert_eq!(
        parsed.syslog.expect("syslog header"),
        ["<132>1", "2023-11-14T22:13:20.123Z", "connector-1", "msc", "-", "type_a|b=c\\d\\=e\\nf]g\"h_i_j__k_l^"],
        "the event type as MSGID: printable ASCII, 32 characters at most"
    );
    assert_eq!(parsed.extension["externalId"], tricky("id"));
}

#[test]
fn header_fields_escape_pipes_and_backslashes_and_drop_line_breaks() {
    let settings = Settings { vendor: "A|B\\C".into(), product: "P\r\nQ".into(), syslog: None };
    let mut event = bare_event();
    event.event_type = "x\\|y".into();
    event.name = "|".into();
    let line = cef(&settings, &event);
    assert!(line.starts_with("CEF:0|A\\|B\\\\C|P  Q|1.0|x\\\\\\|y|\\||10|rt="), "{line}");
    assert_eq!(parse(&line).header[1..6], ["A|B\\C", "P  Q", "1.0", "x\\|y", "|"]);
}
