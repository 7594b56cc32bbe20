//! The first-party JSON formatter (`plugins/siem-json`), called through the host exactly as the
//! SIEM forwarder will call it: one NDJSON line per event, every field under its documented name,
//! absent values left out.

use connector::plugins::worlds::siem::{Event, EventDevice, Field, FieldValue, Framing, Origin, Severity};
use connector::plugins::worlds::{Pii, PiiKind};
use connector_tests::setup::TestConfig;
use serde_json::{Value, json};

fn pii(kind: PiiKind, value: &str) -> Option<Pii> {
    Some(Pii { kind, value: value.to_string() })
}

fn bare(id: &str) -> Event {
    Event {
        id: id.into(),
        event_type: "Threat detected".into(),
        time_ms: 1_700_000_000_000,
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

#[tokio::test]
async fn formats_each_event_as_one_json_line() {
    let runtime = TestConfig::new("[instances.json]\nplugin = \"siem_json.wasm\"\nkind = \"siem\"\n").start().await;
    let siem = runtime.siem("json").expect("siem instance");

    let info = siem.describe().await.expect("describe");
    assert_eq!(
        (info.format.as_str(), info.framing, info.media_type.as_str()),
        ("JSON", Framing::Newline, "application/x-ndjson")
    );

    let mut full = bare("e-1");
    full.client_time_ms = Some(1_699_999_999_000);
    full.threat_factors = vec!["sideloaded".into(), "root".into()];
    full.message = pii(PiiKind::FreeText, "line one\nline \"two\"");
    full.device = Some(EventDevice {
        id: Some("d-42".into()),
        name: pii(PiiKind::DeviceName, "Alice's iPhone"),
        owner: pii(PiiKind::PersonName, "Alice"),
        email: pii(PiiKind::Email, "alice@example.com"),
        phone: None,
        platform: Some("iOS".into()),
        os_version: None,
        model: None,
        serial_number: None,
        client_version: None,
        policy: None,
        groups: vec!["Sales".into()],
        risk: Some(Severity::Critical),
    });
    full.fields = vec![
        Field { name: "score".into(), value: FieldValue::Number(9.5) },
        Field { name: "blocked".into(), value: FieldValue::Flag(true) },
    ];
    let origin = Origin { hostname: "connector-1".into(), app_name: "msc".into() };

    let results = siem.format(&origin, &[full, bare("e-2")]).await.expect("format");
    assert_eq!(results.len(), 2, "one result per event");
    let lines: Vec<Vec<u8>> = results.into_iter().map(|r| r.expect("event formats")).collect();
    for line in &lines {
        assert!(!line.contains(&b'\n'), "newline framing needs single-line records: {}", String::from_utf8_lossy(line));
    }
    let first: Value = serde_json::from_slice(&lines[0]).expect("valid JSON");
    assert_eq!(
        first,
        json!({
            "id": "e-1",
            "type": "Threat detected",
            "time_ms": 1_700_000_000_000u64,
            "client_time_ms": 1_699_999_999_000u64,
            "severity": "high",
            "name": "Malicious app",
            "threat_factors": ["sideloaded", "root"],
            "message": "line one\nline \"two\"",
            "device": {
                "id": "d-42",
                "name": "Alice's iPhone",
                "owner": "Alice",
                "email": "alice@example.com",
                "platform": "iOS",
                "groups": ["Sales"],
                "risk": "critical"
            },
            "fields": { "score": 9.5, "blocked": true },
            "observer": { "hostname": "connector-1", "app": "msc" }
        })
    );
    let second: Value = serde_json::from_slice(&lines[1]).expect("valid JSON");
    let keys: Vec<&str> = second.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "name", "observer", "severity", "time_ms", "type"], "absent values are left out");
}
