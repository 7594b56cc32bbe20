//! The JSON formatter under the real runtime: it describes itself, formats an event into one
//! JSON object carrying the restored personal values, and passes the connector's self-test.

use msc_plugin_test::siem::{Event, EventDevice, Field, FieldValue, Framing, Origin, Severity};
use msc_plugin_test::{Pii, PiiKind, Plugin, RunningPlugin, Verdict};
use serde_json::Value;

fn start() -> RunningPlugin {
    match Plugin::siem(msc_plugin_test::plugin_wasm!()).start() {
        Ok(plugin) => plugin,
        Err(e) => panic!("the JSON formatter did not start:\n{e}"),
    }
}

fn pii(kind: PiiKind, value: &str) -> Option<Pii> {
    Some(Pii { kind, value: value.into() })
}

fn event() -> Event {
    Event {
        id: "evt-7".into(),
        event_type: "Threat detected".into(),
        time_ms: 1_700_000_000_123,
        client_time_ms: None,
        severity: Severity::High,
        name: "Malicious app \"x\"\nsecond line".into(),
        attack_vector: Some("app".into()),
        threat_factors: vec!["root".into()],
        signature: None,
        url: None,
        tenant: None,
        message: None,
        device: Some(EventDevice {
            id: Some("dev-1".into()),
            name: pii(PiiKind::DeviceName, "Zoë's iPhone"),
            owner: pii(PiiKind::PersonName, "Zoë Ünal"),
            email: pii(PiiKind::Email, "zoe@example.com"),
            phone: None,
            platform: Some("ios".into()),
            os_version: Some("17.4".into()),
            model: None,
            serial_number: None,
            client_version: None,
            policy: None,
            groups: vec!["Executives".into()],
            risk: Some(Severity::Critical),
        }),
        app: None,
        network: None,
        fields: vec![
            Field { name: "score".into(), value: FieldValue::Number(9.5) },
            Field {
                name: "employee".into(),
                value: FieldValue::Personal(Pii { kind: PiiKind::Identifier, value: "E-42".into() }),
            },
        ],
    }
}

#[test]
fn describes_itself_as_newline_delimited_json() {
    let info = start().siem().describe().expect("describe");
    assert_eq!(info.format, "JSON");
    assert!(matches!(info.framing, Framing::Newline));
    assert_eq!(info.media_type, "application/x-ndjson");
}

#[test]
fn formats_an_event_as_one_json_object() {
    let plugin = start();
    let origin = Origin { hostname: "connector-1".into(), app_name: "msc".into() };

    let mut results = plugin.siem().format(&origin, &[event()]).expect("the batch is formatted");

    assert_eq!(results.len(), 1, "one result per event");
    let bytes = results.remove(0).expect("the event is formatted");
    assert!(!bytes.contains(&b'\n'), "one line: the framing adds the newline");
    let json: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(json["id"], "evt-7");
    assert_eq!(json["severity"], "high");
    assert_eq!(json["name"], "Malicious app \"x\"\nsecond line");
    assert_eq!(json["device"]["email"], "zoe@example.com", "formatters get the restored values");
    assert_eq!(json["device"]["owner"], "Zoë Ünal");
    assert_eq!(json["device"]["risk"], "critical");
    assert_eq!(json["fields"]["score"], 9.5);
    assert_eq!(json["fields"]["employee"], "E-42");
    assert_eq!(json["observer"]["hostname"], "connector-1");
    assert!(json.get("url").is_none(), "absent values are left out: {json}");
}

#[test]
fn passes_the_connectors_self_test() {
    let verdict = start().self_test();
    assert!(matches!(verdict, Verdict::Passed(_)), "{verdict:?}");
}
