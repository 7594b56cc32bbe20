//! One event as one CEF record: the header, then the extension with dictionary keys where they
//! fit, custom slots (`csN`, `cnN`, `cfpN`, `deviceCustomDateN`, `flexStringN`, each with its
//! label) for the rest, and `flexString2` holding whatever has no slot left, so no field is lost.

use msc_sdk::siem::{self, Event, FieldValue, Origin, Severity};
use msc_sdk::syslog;

use crate::Settings;

/// The whole record: the syslog header when configured, then the CEF line.
pub fn record(settings: &Settings, origin: &Origin, event: &Event) -> String {
    syslog::wrap(settings.syslog, origin, event, cef(settings, event))
}

/// `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`, the severity on the
/// vendor's 1 to 10 table.
pub fn cef(settings: &Settings, e: &Event) -> String {
    let fields = [settings.vendor.as_str(), &settings.product, siem::product_version(e), &e.event_type, &e.name];
    let mut out = siem::pipe_header("CEF:0", &fields);
    out.push('|');
    out.push_str(&e.severity.one_to_ten().to_string());
    out.push('|');
    out.push_str(&extension(e));
    out
}

fn extension(e: &Event) -> String {
    let mut ext = Extension::default();
    let mut overflow: Vec<(String, String)> = Vec::new();
    let mut more = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            overflow.push((name.to_string(), value));
        }
    };

    ext.push("rt", &e.time_ms.to_string());
    ext.opt("start", e.client_time_ms.map(|t| t.to_string()).as_deref());
    ext.push("externalId", &e.id);
    ext.push("act", &e.event_type);
    ext.opt("cat", e.attack_vector.as_deref());
    if !e.threat_factors.is_empty() {
        ext.push("reason", &e.threat_factors.join(","));
    }
    ext.opt("msg", e.message.as_ref().map(|m| m.value.as_str()));
    ext.opt("request", e.url.as_deref());
    ext.opt("dvchost", e.tenant.as_deref());
    more("signature", e.signature.clone());
    if let Some(d) = &e.device {
        ext.opt("deviceExternalId", d.id.as_deref());
        ext.opt("suser", d.name.as_ref().map(|p| p.value.as_str()));
        ext.opt("duser", d.email.as_ref().map(|p| p.value.as_str()));
        ext.labeled("flexString1", "DeviceOwner", d.owner.as_ref().map(|p| p.value.as_str()));
        ext.labeled("cs1", "DeviceType", d.platform.as_deref());
        ext.labeled("cs2", "DevicePhone", d.phone.as_ref().map(|p| p.value.as_str()));
        ext.labeled("cs3", "DeviceOSVersion", d.os_version.as_deref());
        ext.labeled("cs4", "DeviceModel", d.model.as_deref());
        ext.labeled("cs6", "DeviceRisk", d.risk.map(Severity::name));
        more("deviceSerialNumber", d.serial_number.clone());
        more("devicePolicy", d.policy.clone());
        more("deviceGroups", (!d.groups.is_empty()).then(|| d.groups.join(",")));
    }
    if let Some(n) = &e.network {
        ext.labeled("cs5", "NetworkCertificate", n.certificate.as_deref());
        more("networkSsid", n.ssid.clone());
        more("networkBssid", n.bssid.clone());
    }
    if let Some(a) = &e.app {
        ext.opt("fname", a.name.as_deref());
        ext.opt("fileId", a.package.as_deref());
        ext.opt("fileHash", a.sha256.as_deref());
        more("appVersion", a.version.clone());
        more("appDeveloper", a.developer.clone());
        more("appRepackaged", a.repackaged.map(|b| b.to_string()));
        more("appSystemApp", a.system_app.map(|b| b.to_string()));
    }

    // Extra fields: numbers and times into the free numeric and date slots, in order; text,
    // flags, personal data and whatever finds its kind of slot full go to the overflow.
    let mut integers = ["cn1", "cn2", "cn3"].into_iter();
    let mut floats = ["cfp1", "cfp2", "cfp3", "cfp4"].into_iter();
    let mut dates = ["deviceCustomDate1", "deviceCustomDate2"].into_iter();
    for field in &e.fields {
        let slot = match &field.value {
            FieldValue::Number(n) if is_exact_integer(*n) => integers.next().map(|key| (key, (*n as i64).to_string())),
            FieldValue::Number(n) if n.is_finite() => floats.next().map(|key| (key, n.to_string())),
            FieldValue::TimeMs(t) => dates.next().map(|key| (key, t.to_string())),
            _ => None,
        };
        match slot {
            Some((key, value)) => ext.labeled(key, &field.name, Some(&value)),
            None => more(&field.name, Some(field.value.to_text())),
        }
    }

    if !overflow.is_empty() {
        ext.labeled("flexString2", "OtherFields", Some(&overflow_lines(&overflow)));
    }
    ext.out
}

/// Integers a CEF Long holds and an f64 represents exactly.
fn is_exact_integer(n: f64) -> bool {
    n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0
}

/// One `name=value` line per field, each part escaped with the extension rules, so a line
/// never holds a raw newline or an unescaped `=`; the whole is then escaped again as a value.
fn overflow_lines(fields: &[(String, String)]) -> String {
    let mut lines = String::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            lines.push('\n');
        }
        escape_extension(name, &mut lines);
        lines.push('=');
        escape_extension(value, &mut lines);
    }
    lines
}

/// The extension: `key=value` pairs separated by single spaces.
#[derive(Default)]
struct Extension {
    out: String,
}

impl Extension {
    fn push(&mut self, key: &str, value: &str) {
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(key);
        self.out.push('=');
        escape_extension(value, &mut self.out);
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }

    /// A custom slot and its label (`cs1Label=DeviceType cs1=iOS`), only when there is a value.
    fn labeled(&mut self, key: &str, label: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(&format!("{key}Label"), label);
            self.push(key, value);
        }
    }
}

/// Extension values: `\` and `=` escaped, CR and LF written as `\r` and `\n`.
fn escape_extension(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
