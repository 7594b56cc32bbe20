//! Round trips through a small RFC 5424 parser written from the ABNF: every parameter and the
//! message must parse back to exactly the event's values. The events are the SDK's samples.

use msc_sdk::Pii;
use msc_sdk::siem::testing::{bare_event, full_event, origin, tricky};
use msc_sdk::siem::{Origin, Severity};
use msc_sdk::syslog::Facility;

use crate::record::{param_names, record};
use crate::{DEFAULT_SD_ID, Settings, check_sd_id};

fn settings() -> Settings {
    Settings { facility: Facility::LOCAL0, sd_id: DEFAULT_SD_ID.into() }
}

/// A parsed message: the six header fields, the one SD element's id and parameters (in order),
/// and the message after its BOM.
struct Parsed {
    header: Vec<String>,
    sd_id: String,
    params: Vec<(String, String)>,
    msg: String,
}

fn parse(message: &str) -> Parsed {
    let parts: Vec<&str> = message.splitn(7, ' ').collect();
    assert_eq!(parts.len(), 7, "six header fields then structured data: {message}");
    let header: Vec<String> = parts[..6].iter().map(|s| s.to_string()).collect();
    for field in &header {
        assert!(field.chars().all(|c| c.is_ascii_graphic()), "header field {field:?} is not PRINTUSASCII");
    }
    let rest = parts[6];
    let mut chars = rest.char_indices().peekable();
    assert_eq!(chars.next().map(|(_, c)| c), Some('['), "one SD element: {rest}");
    let mut sd_id = String::new();
    while let Some(&(_, c)) = chars.peek() {
        if c == ' ' || c == ']' {
            break;
        }
        sd_id.push(c);
        chars.next();
    }
    let mut params = Vec::new();
    loop {
        match chars.next() {
            Some((_, ']')) => break,
            Some((_, ' ')) => {}
            other => panic!("expected a parameter or `]`, got {other:?}"),
        }
        let mut name = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            assert!(crate::is_sd_name_char(c), "{c:?} in PARAM-NAME {name:?}");
            name.push(c);
        }
        assert!(!name.is_empty() && name.len() <= 32, "PARAM-NAME {name:?}");
        assert_eq!(chars.next().map(|(_, c)| c), Some('"'));
        let mut value = String::new();
        loop {
            match chars.next().map(|(_, c)| c) {
                Some('\\') => match chars.next().map(|(_, c)| c) {
                    Some(c @ ('"' | '\\' | ']')) => value.push(c),
                    // RFC 5424: any other escaped character keeps its backslash.
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => panic!("unterminated value"),
                },
                Some('"') => break,
                Some(']') => panic!("unescaped `]` in the value of {name}"),
                Some(c) => value.push(c),
                None => panic!("unterminated value of {name}"),
            }
        }
        params.push((name, value));
    }
    let msg = match chars.next() {
        None => String::new(),
        Some((i, ' ')) => {
            let msg = &rest[i + 1..];
            msg.strip_prefix('\u{FEFF}').expect("a BOM before the UTF-8 message").to_string()
        }
        other => panic!("expected a space before the message, got {other:?}"),
    };
    Parsed { header, sd_id, params, msg }
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[test]
fn every_field_round_trips() {
    let parsed = parse(&record(&settings(), &origin(), &full_event()));
    assert_eq!(
        parsed.header,
        ["<132>1", "2023-11-14T22:13:20.123Z", "connector-1", "msc", "-", "type_a|b=c\\d\\=e\\nf]g\"h_i_j__k_l^"]
    );
    assert_eq!(parsed.sd_id, "mtd@32473");
    assert_eq!(
        parsed.params,
        pairs(&[
            ("eventId", tricky("id")),
            ("eventType", tricky("type")),
            ("severity", "medium".into()),
            ("name", tricky("name")),
            ("clientTimeMs", "1699999999000".into()),
            ("attackVector", tricky("vector")),
            ("threatFactors", format!("{},root", tricky("f1"))),
            ("signature", tricky("sig")),
            ("url", "https://evil.example/a?b=c|d".into()),
            ("tenant", String::new()),
            ("deviceId", tricky("device-id")),
            ("deviceName", tricky("Zoë Ünal's iPhone")),
            ("deviceOwner", "Zoë Ünal".into()),
            ("deviceEmail", "zoe@example.com".into()),
            ("devicePhone", "+81 3-1234-5678".into()),
            ("devicePlatform", "iOS".into()),
            ("deviceOsVersion", tricky("os")),
            ("deviceModel", String::new()),
            ("deviceSerialNumber", tricky("serial")),
            ("deviceClientVersion", "4.2|beta\n".into()),
            ("devicePolicy", tricky("policy")),
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
            ("field_note_a|b_c\\d\\_e\\nf_g_h_i_j", tricky("text")),
            ("field_empty", String::new()),
            ("field_reporter", tricky("user")),
        ])
    );
    assert_eq!(parsed.msg, format!("{}: {}", tricky("name"), tricky("message")));
}

#[test]
fn absent_fields_are_left_out() {
    let line = record(&settings(), &origin(), &bare_event());
    assert_eq!(
        line,
        "<131>1 2023-11-14T22:13:20.123Z connector-1 msc - Threat_detected \
         [mtd@32473 eventId=\"e-1\" eventType=\"Threat detected\" severity=\"high\" name=\"Malicious app\"] \
         \u{FEFF}Malicious app"
    );
    let mut event = bare_event();
    event.name = String::new();
    event.message = Some(Pii::free_text(""));
    assert_eq!(parse(&record(&settings(), &origin(), &event)).msg, ": ");
}

#[test]
fn the_message_is_the_name_then_the_message_text() {
    let mut event = bare_event();
    event.message = Some(Pii::free_text("line one\nline \"two\" ]"));
    let parsed = parse(&record(&settings(), &origin(), &event));
    assert_eq!(parsed.msg, "Malicious app: line one\nline \"two\" ]");
}

#[test]
fn severities_map_to_syslog_priorities() {
    let priorities: Vec<String> = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info]
        .into_iter()
        .map(|severity| {
            let mut event = bare_event();
            event.severity = severity;
            parse(&record(&settings(), &origin(), &event)).header[0].clone()
        })
        .collect();
    // local0 (16 × 8) plus crit 2, err 3, warning 4, notice 5, info 6.
    assert_eq!(priorities, ["<130>1", "<131>1", "<132>1", "<133>1", "<134>1"]);
    let auth = Settings { facility: Facility::new(4).expect("auth"), sd_id: "x@1".into() };
    let parsed = parse(&record(&auth, &origin(), &bare_event()));
    assert_eq!((parsed.header[0].as_str(), parsed.sd_id.as_str()), ("<35>1", "x@1"));
}

#[test]
fn header_fields_become_printable_ascii() {
    let origin = Origin { hostname: "東京 host".into(), app_name: String::new() };
    let parsed = parse(&record(&settings(), &origin, &bare_event()));
    assert_eq!(parsed.header[2..], ["___host", "-", "-", "Threat_detected"]);
}

#[test]
fn sd_ids_must_be_private_names() {
    for good in ["mtd@32473", "a@1", "x.y-z@1.2.3"] {
        assert_eq!(check_sd_id(good), Ok(()), "{good}");
    }
    for bad in
        ["", "mtd", "origin", "@32473", "mtd@", "mtd@abc", "mtd@1..2", "m d@1", "m]d@1", "m=d@1", "m\"d@1", "東京@1"]
    {
        assert!(check_sd_id(bad).is_err(), "{bad:?} accepted");
    }
    assert!(check_sd_id(&format!("{}@1", "a".repeat(31))).is_err(), "33 characters accepted");
}

#[test]
fn extra_parameter_names_are_sanitized_short_and_unique() {
    let mut names = param_names();
    let long = "n".repeat(40);
    let names: Vec<String> =
        ["a b", "a=b", "a]b\"", "東京", &long, &long, "a b"].iter().map(|n| names.key(n)).collect();
    assert_eq!(
        names,
        [
            "field_a_b".to_string(),
            "field_a_b_2".into(),
            "field_a_b_".into(),
            "field___".into(),
            format!("field_{}", "n".repeat(26)),
            format!("field_{}_2", "n".repeat(24)),
            "field_a_b_3".into(),
        ]
    );
    assert!(names.iter().all(|n| n.len() <= 32));
}
