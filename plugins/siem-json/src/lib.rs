//! SIEM formatter: each event becomes one JSON object on one line (newline-delimited JSON), with
//! the event's fields under stable, documented names. Absent values are left out rather than
//! written as `null`, so collectors index only what the event has.

use msc_sdk::siem::{
    Event, EventApp, EventDevice, EventNetwork, FieldValue, Formatter, FormatterInfo, Framing, Origin,
};
use msc_sdk::{Error, Pii};
use serde_json::{Map, Value, json};

struct JsonFormatter;

impl Formatter for JsonFormatter {
    fn describe() -> FormatterInfo {
        FormatterInfo { format: "JSON".into(), framing: Framing::Newline, media_type: "application/x-ndjson".into() }
    }

    fn format(origin: Origin, events: Vec<Event>) -> Vec<Result<Vec<u8>, Error>> {
        events
            .iter()
            .map(|event| {
                serde_json::to_vec(&event_json(&origin, event))
                    .map_err(|e| Error::Internal(format!("event {} cannot be encoded: {e}", event.id)))
            })
            .collect()
    }
}

msc_sdk::export_siem!(JsonFormatter);

fn event_json(origin: &Origin, e: &Event) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(e.id));
    object.insert("type".into(), json!(e.event_type));
    object.insert("time_ms".into(), json!(e.time_ms));
    insert(&mut object, "client_time_ms", e.client_time_ms.map(Value::from));
    object.insert("severity".into(), json!(e.severity.name()));
    object.insert("name".into(), json!(e.name));
    insert(&mut object, "attack_vector", e.attack_vector.as_deref().map(Value::from));
    if !e.threat_factors.is_empty() {
        object.insert("threat_factors".into(), json!(e.threat_factors));
    }
    insert(&mut object, "signature", e.signature.as_deref().map(Value::from));
    insert(&mut object, "url", e.url.as_deref().map(Value::from));
    insert(&mut object, "tenant", e.tenant.as_deref().map(Value::from));
    insert(&mut object, "message", pii(&e.message));
    insert(&mut object, "device", e.device.as_ref().map(device_json));
    insert(&mut object, "app", e.app.as_ref().map(app_json));
    insert(&mut object, "network", e.network.as_ref().map(network_json));
    if !e.fields.is_empty() {
        let fields: Map<String, Value> = e.fields.iter().map(|f| (f.name.clone(), field_value(&f.value))).collect();
        object.insert("fields".into(), Value::Object(fields));
    }
    object.insert("observer".into(), json!({ "hostname": origin.hostname, "app": origin.app_name }));
    Value::Object(object)
}

fn device_json(d: &EventDevice) -> Value {
    let mut o = Map::new();
    insert(&mut o, "id", d.id.as_deref().map(Value::from));
    insert(&mut o, "name", pii(&d.name));
    insert(&mut o, "owner", pii(&d.owner));
    insert(&mut o, "email", pii(&d.email));
    insert(&mut o, "phone", pii(&d.phone));
    insert(&mut o, "platform", d.platform.as_deref().map(Value::from));
    insert(&mut o, "os_version", d.os_version.as_deref().map(Value::from));
    insert(&mut o, "model", d.model.as_deref().map(Value::from));
    insert(&mut o, "serial_number", d.serial_number.as_deref().map(Value::from));
    insert(&mut o, "client_version", d.client_version.as_deref().map(Value::from));
    insert(&mut o, "policy", d.policy.as_deref().map(Value::from));
    if !d.groups.is_empty() {
        o.insert("groups".into(), json!(d.groups));
    }
    insert(&mut o, "risk", d.risk.map(|r| Value::from(r.name())));
    Value::Object(o)
}

fn app_json(a: &EventApp) -> Value {
    let mut o = Map::new();
    insert(&mut o, "name", a.name.as_deref().map(Value::from));
    insert(&mut o, "package", a.package.as_deref().map(Value::from));
    insert(&mut o, "version", a.version.as_deref().map(Value::from));
    insert(&mut o, "sha256", a.sha256.as_deref().map(Value::from));
    insert(&mut o, "developer", a.developer.as_deref().map(Value::from));
    insert(&mut o, "repackaged", a.repackaged.map(Value::from));
    insert(&mut o, "system_app", a.system_app.map(Value::from));
    Value::Object(o)
}

fn network_json(n: &EventNetwork) -> Value {
    let mut o = Map::new();
    insert(&mut o, "ssid", n.ssid.as_deref().map(Value::from));
    insert(&mut o, "bssid", n.bssid.as_deref().map(Value::from));
    insert(&mut o, "certificate", n.certificate.as_deref().map(Value::from));
    Value::Object(o)
}

fn field_value(value: &FieldValue) -> Value {
    match value {
        FieldValue::Text(t) => json!(t),
        FieldValue::Number(n) => json!(n),
        FieldValue::Flag(b) => json!(b),
        FieldValue::TimeMs(t) => json!(t),
        FieldValue::Personal(p) => json!(p.value),
    }
}

fn pii(value: &Option<Pii>) -> Option<Value> {
    value.as_ref().map(|p| Value::from(p.value.as_str()))
}

fn insert(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.to_string(), value);
    }
}
