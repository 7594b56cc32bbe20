//! One event as one RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [SD] MSG`,
//! every field a parameter of the one structured-data element, the message a BOM and the
//! event's name and message text.

use msc_sdk::siem::{Event, FieldKeys, Origin};
use msc_sdk::syslog::{self, Header};

use crate::{Settings, is_sd_name_char};

/// Marks the message as UTF-8 (RFC 5424 §6.4).
const BOM: char = '\u{FEFF}';

pub fn record(settings: &Settings, origin: &Origin, e: &Event) -> String {
    let header = syslog::rfc5424_header(&Header::for_event(settings.facility, origin, e));
    let mut out = format!("{header} [{}", settings.sd_id);
    for (name, value) in params(e) {
        out.push(' ');
        out.push_str(&name);
        out.push_str("=\"");
        escape_value(&value, &mut out);
        out.push('"');
    }
    out.push_str("] ");
    out.push(BOM);
    out.push_str(&e.name);
    if let Some(message) = &e.message {
        out.push_str(": ");
        out.push_str(&message.value);
    }
    out
}

/// The structured data's parameters, in a fixed order; absent values are left out.
fn params(e: &Event) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            p.push((name.to_string(), value));
        }
    };
    add("eventId", Some(e.id.clone()));
    add("eventType", Some(e.event_type.clone()));
    add("severity", Some(e.severity.name().into()));
    add("name", Some(e.name.clone()));
    add("clientTimeMs", e.client_time_ms.map(|t| t.to_string()));
    add("attackVector", e.attack_vector.clone());
    add("threatFactors", (!e.threat_factors.is_empty()).then(|| e.threat_factors.join(",")));
    add("signature", e.signature.clone());
    add("url", e.url.clone());
    add("tenant", e.tenant.clone());
    if let Some(d) = &e.device {
        add("deviceId", d.id.clone());
        add("deviceName", d.name.as_ref().map(|p| p.value.clone()));
        add("deviceOwner", d.owner.as_ref().map(|p| p.value.clone()));
        add("deviceEmail", d.email.as_ref().map(|p| p.value.clone()));
        add("devicePhone", d.phone.as_ref().map(|p| p.value.clone()));
        add("devicePlatform", d.platform.clone());
        add("deviceOsVersion", d.os_version.clone());
        add("deviceModel", d.model.clone());
        add("deviceSerialNumber", d.serial_number.clone());
        add("deviceClientVersion", d.client_version.clone());
        add("devicePolicy", d.policy.clone());
        add("deviceGroups", (!d.groups.is_empty()).then(|| d.groups.join(",")));
        add("deviceRisk", d.risk.map(|r| r.name().into()));
    }
    if let Some(a) = &e.app {
        add("appName", a.name.clone());
        add("appPackage", a.package.clone());
        add("appVersion", a.version.clone());
        add("appSha256", a.sha256.clone());
        add("appDeveloper", a.developer.clone());
        add("appRepackaged", a.repackaged.map(|b| b.to_string()));
        add("appSystemApp", a.system_app.map(|b| b.to_string()));
    }
    if let Some(n) = &e.network {
        add("networkSsid", n.ssid.clone());
        add("networkBssid", n.bssid.clone());
        add("networkCertificate", n.certificate.clone());
    }
    let mut names = param_names();
    for field in &e.fields {
        p.push((names.key(&field.name), field.value.to_text()));
    }
    p
}

/// PARAM-NAMEs for extra fields: `field_` and the name with every character an SD-NAME cannot
/// hold (non-ASCII, controls, space, `=`, `]`, `"`) made `_`, cut to 32 characters; a name that
/// collides with an earlier one gets `_2`, `_3`... within the 32.
pub fn param_names() -> FieldKeys {
    FieldKeys::new(is_sd_name_char).max_len(32)
}

/// PARAM-VALUE (RFC 5424 §6.3.3): `"`, `\` and `]` escaped with a backslash; everything else,
/// line breaks included, as it is, since a backslash before any other character is kept
/// literally by receivers.
fn escape_value(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}
