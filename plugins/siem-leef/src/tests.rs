//! Round trips through a small LEEF 2.0 parser: the delimiter is read from the header, every
//! value must parse back to exactly the event's value, with the default tab and with others.
//! The events are the SDK's samples.

use std::collections::BTreeMap;

use msc_sdk::siem::testing::{bare_event, field, full_event, origin, split_pipe_header, split_syslog, tricky};
use msc_sdk::siem::{Event, FieldValue};
use msc_sdk::syslog::Facility;

use crate::record::{extra_keys, leef, record};
use crate::{Settings, parse_delimiter};

fn settings(delimiter: char, syslog: bool) -> Settings {
    Settings {
        vendor: "MTD Cloud".into(),
        product: "Mobile Security Connector".into(),
        delimiter,
        syslog: syslog.then_some(Facility::LOCAL0),
    }
}

/// The sample event with an extra field whose key collides with another's once sanitized.
fn full() -> Event {
    let mut event = full_event();
    event.fields.push(field("seen-at", FieldValue::Text("again".into())));
    event
}

/// A parsed record: the syslog header fields when present, the six LEEF header fields
/// (`LEEF:2.0` first, the delimiter field last) and the attributes.
struct Parsed {
    syslog: Option<Vec<String>>,
    header: Vec<String>,
    attributes: BTreeMap<String, String>,
}

fn parse(record: &str) -> Parsed {
    let (syslog, leef) = split_syslog(record);
    assert!(!leef.contains(['\r', '\n']), "raw line break: {leef:?}");
    let (header, attributes) = split_pipe_header(leef, 6);
    let delimiter = parse_delimiter(&header[5]).expect("a valid delimiter field");
    Parsed { syslog, attributes: parse_attributes(attributes, delimiter), header }
}

/// Attributes split at unescaped delimiters, each at its first `=`.
fn parse_attributes(text: &str, delimiter: char) -> BTreeMap<String, String> {
    let mut raw = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            current.push(c);
            current.extend(chars.next());
        } else if c == delimiter {
            raw.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    raw.push(current);
    let mut attributes = BTreeMap::new();
    for attribute in raw {
        let (key, value) = attribute.split_once('=').expect("key=value");
        assert!(attributes.insert(key.to_string(), unescape(value, delimiter)).is_none(), "key {key} twice");
    }
    attributes
}

fn unescape(value: &str, delimiter: char) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c) if c == delimiter => out.push(c),
            other => panic!("bad escape {other:?} in {value:?}"),
        }
    }
    out
}

fn pairs(list: &[(&str, String)]) -> BTreeMap<String, String> {
    list.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn expected_full() -> BTreeMap<String, String> {
    pairs(&[
        ("devTime", "1700000000123".into()),
        ("sev", "7".into()),
        ("cat", tricky("vector")),
        ("eventId", tricky("id")),
        ("name", tricky("name")),
        ("clientTimeMs", "1699999999000".into()),
        ("threatFactors", format!("{},root", tricky("f1"))),
        ("signature", tricky("sig")),
        ("url", "https://evil.example/a?b=c|d".into()),
        ("tenant", String::new()),
        ("msg", tricky("message")),
        ("deviceId", tricky("device-id")),
        ("resource", tricky("Zoë Ünal's iPhone")),
        ("deviceOwner", "Zoë Ünal".into()),
        ("usrName", "zoe@example.com".into()),
        ("devicePhone", "+81 3-1234-5678".into()),
        ("devicePlatform", "iOS".into()),
        ("deviceOsVersion", tricky("os")),
        ("deviceModel", String::new()),
        ("deviceSerialNumber", tricky("serial")),
        ("policy", tricky("policy")),
        ("deviceGroups", "Sales,東京".into()),
        ("deviceRisk", "critical".into()),
        ("appName", tricky("app")),
        ("appPackage", "com.example.app".into()),
        ("appVersion", "1.0=1".into()),
        ("appSha256", "ab".repeat(32)),
        ("appDeveloper", tricky("dev")),
        ("appRepackaged", "true".into()),
        ("appSystemApp", "false".into()),
        ("networkSsid", tricky("ssid")),
        ("networkCertificate", tricky("cert")),
        ("field_count", "42".into()),
        ("field_score", "9.5".into()),
        ("field_not_a_number", "NaN".into()),
        ("field_infinite", "inf".into()),
        ("field_blocked", "true".into()),
        ("field_seen_at", "1600000000000".into()),
        ("field_note_a_b_c_d__e_nf_g_h_i_j__k_l_m__n__o_x09_Zo___nal____", tricky("text")),
        ("field_empty", String::new()),
        ("field_reporter", tricky("user")),
        ("field_seen_at_2", "again".into()),
    ])
}

#[test]
fn every_field_round_trips_with_the_default_tab() {
    let line = record(&settings('\t', false), &origin(), &full());
    assert!(line.starts_with("LEEF:2.0|MTD Cloud|Mobile Security Connector|4.2\\|beta |type a\\|b"), "{line}");
    let parsed = parse(&line);
    assert!(parsed.syslog.is_none());
    assert_eq!(
        parsed.header,
        [
            "LEEF:2.0",
            "MTD Cloud",
            "Mobile Security Connector",
            "4.2|beta ",
            &tricky("type").replace(['\r', '\n'], " "),
            "x09"
        ]
    );
    // Not one raw tab besides the delimiters: tabs in values are `\t`.
    let attributes = line.split_once("|x09|").expect("delimiter field").1;
    assert_eq!(attributes.matches('\t').count(), expected_full().len() - 1);
    assert_eq!(parsed.attributes, expected_full());
}

#[test]
fn every_field_round_trips_with_other_delimiters() {
    for (delimiter, field) in [('^', "^"), (' ', "x20"), ('\u{1f}', "x1F"), (';', ";")] {
        let parsed = parse(&record(&settings(delimiter, false), &origin(), &full()));
        assert_eq!(parsed.header[5], field);
        assert_eq!(parsed.attributes, expected_full(), "delimiter {delimiter:?}");
    }
}

#[test]
fn absent_fields_are_left_out() {
    let line = record(&settings('^', false), &origin(), &bare_event());
    assert_eq!(
        line,
        "LEEF:2.0|MTD Cloud|Mobile Security Connector|1.0|Threat detected|^|devTime=1700000000123^sev=10^eventId=e-1^name=Malicious app"
    );
}

#[test]
fn the_syslog_header_carries_time_host_app_and_event_type() {
    let line = record(&settings('\t', true), &origin(), &bare_event());
    assert_eq!(
        line,
        "<131>1 2023-11-14T22:13:20.123Z connector-1 msc - Threat_detected - \
         LEEF:2.0|MTD Cloud|Mobile Security Connector|1.0|Threat detected|x09|\
         devTime=1700000000123\tsev=10\teventId=e-1\tname=Malicious app"
    );
    let parsed = parse(&record(&settings('\t', true), &origin(), &full()));
    assert_eq!(
        parsed.syslog.expect("syslog header"),
        ["<132>1", "2023-11-14T22:13:20.123Z", "connector-1", "msc", "-", "type_a|b=c\\d\\=e\\nf]g\"h_i_j__k_l^"]
    );
    assert_eq!(parsed.attributes, expected_full());
}

#[test]
fn header_fields_escape_pipes_and_backslashes_and_drop_line_breaks() {
    let settings = Settings { vendor: "A|B\\C".into(), product: "P\r\nQ".into(), delimiter: '^', syslog: None };
    let mut event = bare_event();
    event.event_type = "x\\|y".into();
    let line = leef(&settings, &event);
    assert!(line.starts_with("LEEF:2.0|A\\|B\\\\C|P  Q|1.0|x\\\\\\|y|^|devTime="), "{line}");
    assert_eq!(parse(&line).header[1..5], ["A|B\\C", "P  Q", "1.0", "x\\|y"]);
}

#[test]
fn delimiters_are_one_safe_character_or_its_hex_code() {
    assert_eq!(parse_delimiter("^"), Ok('^'));
    assert_eq!(parse_delimiter("\t"), Ok('\t'));
    assert_eq!(parse_delimiter("x09"), Ok('\t'));
    assert_eq!(parse_delimiter("0x5e"), Ok('^'));
    assert_eq!(parse_delimiter("x5E"), Ok('^'));
    assert_eq!(parse_delimiter("x0009"), Ok('\t'));
    for bad in ["", "^^", "a", "x", "0x", "7", "_", "|", "=", "\\", "\n", "x0A", "x00", "xZZ", "x00009", "é", "xE9"] {
        assert!(parse_delimiter(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn extra_keys_are_sanitized_and_unique() {
    let mut keys = extra_keys();
    let keys: Vec<String> = ["a b", "a-b", "a_b", "東京", "", "a b"].iter().map(|n| keys.key(n)).collect();
    assert_eq!(keys, ["field_a_b", "field_a_b_2", "field_a_b_3", "field___", "field_", "field_a_b_4"]);
}
