//! One event as one LEEF 2.0 record: the header, then `key=value` attributes separated by the
//! configured delimiter, QRadar's predefined keys where they fit and camel-case custom keys for
//! the rest; extra fields under `field_<name>`.

use msc_sdk::siem::{self, Event, FieldKeys, Origin, Severity};
use msc_sdk::syslog;

use crate::Settings;

/// The whole record: the syslog header when configured, then the LEEF line.
pub fn record(settings: &Settings, origin: &Origin, event: &Event) -> String {
    syslog::wrap(settings.syslog, origin, event, leef(settings, event))
}

/// `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|attributes`.
pub fn leef(settings: &Settings, e: &Event) -> String {
    let fields = [settings.vendor.as_str(), &settings.product, siem::product_version(e), &e.event_type];
    let mut out = siem::pipe_header("LEEF:2.0", &fields);
    out.push('|');
    out.push_str(&delimiter_field(settings.delimiter));
    out.push('|');
    out.push_str(&attributes(settings.delimiter, e));
    out
}

/// The header's delimiter field: a visible character as itself, any other as `xHH`.
fn delimiter_field(delimiter: char) -> String {
    if delimiter.is_ascii_graphic() { delimiter.to_string() } else { format!("x{:02X}", u32::from(delimiter)) }
}

fn attributes(delimiter: char, e: &Event) -> String {
    let mut a = Attributes { delimiter, out: String::new() };
    a.push("devTime", &e.time_ms.to_string());
    // The same 1 to 10 table as CEF, so one event has one severity in every format.
    a.push("sev", &e.severity.one_to_ten().to_string());
    a.opt("cat", e.attack_vector.as_deref());
    a.push("eventId", &e.id);
    a.push("name", &e.name);
    a.opt("clientTimeMs", e.client_time_ms.map(|t| t.to_string()).as_deref());
    if !e.threat_factors.is_empty() {
        a.push("threatFactors", &e.threat_factors.join(","));
    }
    a.opt("signature", e.signature.as_deref());
    a.opt("url", e.url.as_deref());
    a.opt("tenant", e.tenant.as_deref());
    a.opt("msg", e.message.as_ref().map(|m| m.value.as_str()));
    if let Some(d) = &e.device {
        a.opt("deviceId", d.id.as_deref());
        a.opt("resource", d.name.as_ref().map(|p| p.value.as_str()));
        a.opt("deviceOwner", d.owner.as_ref().map(|p| p.value.as_str()));
        a.opt("usrName", d.email.as_ref().map(|p| p.value.as_str()));
        a.opt("devicePhone", d.phone.as_ref().map(|p| p.value.as_str()));
        a.opt("devicePlatform", d.platform.as_deref());
        a.opt("deviceOsVersion", d.os_version.as_deref());
        a.opt("deviceModel", d.model.as_deref());
        a.opt("deviceSerialNumber", d.serial_number.as_deref());
        a.opt("policy", d.policy.as_deref());
        if !d.groups.is_empty() {
            a.push("deviceGroups", &d.groups.join(","));
        }
        a.opt("deviceRisk", d.risk.map(Severity::name));
    }
    if let Some(app) = &e.app {
        a.opt("appName", app.name.as_deref());
        a.opt("appPackage", app.package.as_deref());
        a.opt("appVersion", app.version.as_deref());
        a.opt("appSha256", app.sha256.as_deref());
        a.opt("appDeveloper", app.developer.as_deref());
        a.opt("appRepackaged", app.repackaged.map(bool_text));
        a.opt("appSystemApp", app.system_app.map(bool_text));
    }
    if let Some(n) = &e.network {
        a.opt("networkSsid", n.ssid.as_deref());
        a.opt("networkBssid", n.bssid.as_deref());
        a.opt("networkCertificate", n.certificate.as_deref());
    }
    let mut keys = extra_keys();
    for field in &e.fields {
        a.push(&keys.key(&field.name), &field.value.to_text());
    }
    a.out
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Keys for extra fields: `field_` and the name with every character but ASCII letters, digits
/// and `_` made `_`, so no key holds the delimiter or `=`; a name that collides with an earlier
/// one gets `_2`, `_3`...
pub fn extra_keys() -> FieldKeys {
    FieldKeys::new(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Attributes {
    delimiter: char,
    out: String,
}

impl Attributes {
    fn push(&mut self, key: &str, value: &str) {
        if !self.out.is_empty() {
            self.out.push(self.delimiter);
        }
        self.out.push_str(key);
        self.out.push('=');
        escape_value(value, self.delimiter, &mut self.out);
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }
}

/// Attribute values: `\` escaped, tab, CR and LF written as `\t`, `\r`, `\n`, and any other
/// delimiter as `\` and itself. With the default tab delimiter no value holds the delimiter at
/// all, so even a parser that ignores backslashes splits correctly.
fn escape_value(value: &str, delimiter: char, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c == delimiter => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}
