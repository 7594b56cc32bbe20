//! A MaaS360 device record (JSON, loosely typed) as the connector's device record. Personal data
//! goes only into `pii` slots, so the host tokenizes it.

use msc_sdk::json::{flag, items, text, unsigned};
use msc_sdk::uem::{Attribute, AttributeValue, Device, DeviceStatus, Ownership, Platform};
use msc_sdk::{Error, Pii};
use serde_json::Value;

/// Fields the record has slots for; every other scalar field becomes an attribute.
const MAPPED: &[&str] = &[
    "maas360DeviceID",
    "deviceName",
    "deviceOwner",
    "username",
    "emailAddress",
    "phoneNumber",
    "customAssetNumber",
    "platformName",
    "osName",
    "osVersion",
    "manufacturer",
    "model",
    "ownership",
    "deviceStatus",
    "imeiEsn",
    "udid",
    "wifiMacAddress",
    "lastReported",
    "lastReportedInEpochms",
    "installedDate",
    "installedDateInEpochms",
    "maas360ManagedStatus",
    "jailbreakStatus",
    "encryptionStatus",
    "isSupervisedDevice",
];

/// The asset number names a person often enough (an employee number) to be treated as one.
const ASSET_NUMBER: &str = "customAssetNumber";

pub fn device(record: &Value, group: Option<&str>) -> Result<Device, Error> {
    let field = |name: &str| text(&record[name]);
    let id = field("maas360DeviceID")
        .ok_or_else(|| Error::Protocol("MaaS360 sent a device without maas360DeviceID".into()))?;
    let mut attributes = Vec::new();
    if let Some(asset) = field(ASSET_NUMBER) {
        attributes
            .push(Attribute { name: ASSET_NUMBER.into(), value: AttributeValue::Personal(Pii::identifier(asset)) });
    }
    if let Value::Object(fields) = record {
        for (name, value) in fields {
            if MAPPED.contains(&name.as_str()) {
                continue;
            }
            let value = match value {
                Value::Bool(b) => AttributeValue::Flag(*b),
                Value::Number(n) => match n.as_f64() {
                    Some(n) => AttributeValue::Number(n),
                    None => continue,
                },
                other => match text(other) {
                    Some(t) => AttributeValue::Text(t),
                    None => continue,
                },
            };
            attributes.push(Attribute { name: name.clone(), value });
        }
    }
    Ok(Device {
        id,
        name: field("deviceName").map(Pii::device_name),
        owner: field("deviceOwner").map(Pii::person_name),
        user_name: field("username").map(Pii::user_name),
        email: field("emailAddress").map(Pii::email),
        phone: field("phoneNumber").map(Pii::phone),
        platform: platform(field("platformName").as_deref()),
        os_name: field("osName"),
        os_version: field("osVersion"),
        manufacturer: field("manufacturer"),
        model: field("model"),
        ownership: ownership(field("ownership").as_deref()),
        status: match field("deviceStatus").map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("active") => DeviceStatus::Active,
            Some("inactive") => DeviceStatus::Inactive,
            _ => DeviceStatus::Unknown,
        },
        serial_number: None,
        imei: field("imeiEsn"),
        udid: field("udid"),
        wifi_mac: field("wifiMacAddress"),
        last_seen_ms: unsigned(&record["lastReportedInEpochms"])
            .or_else(|| timestamp_ms(field("lastReported")?.as_str())),
        enrolled_ms: unsigned(&record["installedDateInEpochms"])
            .or_else(|| timestamp_ms(field("installedDate")?.as_str())),
        managed: field("maas360ManagedStatus").and_then(|s| managed(&s)),
        compliant: None,
        compromised: field("jailbreakStatus").and_then(|s| compromised(&s)),
        encrypted: field("encryptionStatus").and_then(|s| encrypted(&s)),
        supervised: flag(&record["isSupervisedDevice"]),
        groups: group.map(|g| vec![g.to_string()]).unwrap_or_default(),
        attributes,
    })
}

/// The device records of a search answer: `devices.device`, an array, one object, or absent.
pub fn records(answer: &Value) -> impl Iterator<Item = &Value> {
    items(&answer["devices"]["device"])
}

fn platform(name: Option<&str>) -> Platform {
    match name.map(|n| n.to_ascii_lowercase()).as_deref() {
        Some("ios" | "ipados" | "iphone" | "ipad") => Platform::Ios,
        Some("android") => Platform::Android,
        Some("windows" | "windows phone" | "windows mobile") => Platform::Windows,
        Some("mac" | "macos" | "mac os x" | "os x") => Platform::Macos,
        Some("linux") => Platform::Linux,
        Some("chrome os" | "chromeos") => Platform::Chromeos,
        _ => Platform::Other,
    }
}

fn ownership(value: Option<&str>) -> Ownership {
    match value.map(|v| v.to_ascii_lowercase()) {
        Some(v) if v.contains("corporate") && v.contains("shared") => Ownership::Shared,
        Some(v) if v.contains("corporate") || v.contains("company") => Ownership::Corporate,
        Some(v) if v.contains("employee") || v.contains("personal") || v.contains("byod") => Ownership::Personal,
        Some(v) if v.contains("shared") => Ownership::Shared,
        _ => Ownership::Unknown,
    }
}

fn managed(status: &str) -> Option<bool> {
    let s = status.to_ascii_lowercase();
    if s.contains("not") || s.contains("un") || s.contains("removed") || s.contains("pending") {
        Some(false)
    } else if s.contains("enrolled") || s.contains("activated") || s.contains("managed") {
        Some(true)
    } else {
        None
    }
}

fn compromised(status: &str) -> Option<bool> {
    match status.to_ascii_lowercase().as_str() {
        "no" | "false" | "not jailbroken" | "not rooted" => Some(false),
        "yes" | "true" | "jailbroken" | "rooted" => Some(true),
        _ => None,
    }
}

fn encrypted(status: &str) -> Option<bool> {
    let s = status.to_ascii_lowercase();
    if s.contains("not") || s.contains("unencrypted") || s == "no" {
        Some(false)
    } else if s.contains("encrypt") || s == "yes" {
        Some(true)
    } else {
        None
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC, no zone, as MaaS360 writes it) in milliseconds since the epoch.
pub fn timestamp_ms(text: &str) -> Option<u64> {
    let b = text.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> { std::str::from_utf8(&b[r]).ok()?.parse().ok() };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), valid for years ≥ 1970.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_timestamps_without_zone() {
        assert_eq!(timestamp_ms("1970-01-01T00:00:00"), Some(0));
        assert_eq!(timestamp_ms("2026-11-01T12:30:05"), Some(1_793_536_205_000));
        assert_eq!(timestamp_ms("N/A"), None);
    }

    #[test]
    fn maps_quirky_records() {
        let record = json!({
            "maas360DeviceID": "ApplF17ABC", "deviceName": "Alice's iPhone", "phoneNumber": 12025550123u64,
            "imeiEsn": "", "osVersion": 14.0, "ownership": "N/A", "customAssetNumber": "EMP-1",
            "isSupervisedDevice": true, "sourceID": 2, "userDomain": "N/A", "platformName": "iOS",
        });
        let d = device(&record, Some("Lab")).expect("maps");
        assert_eq!(d.phone.map(|p| p.value).as_deref(), Some("12025550123"));
        assert_eq!(d.imei, None);
        assert_eq!(d.os_version.as_deref(), Some("14.0"));
        assert!(matches!(d.ownership, Ownership::Unknown));
        assert!(matches!(d.platform, Platform::Ios));
        assert_eq!(d.groups, vec!["Lab".to_string()]);
        assert!(
            d.attributes
                .iter()
                .any(|a| a.name == "customAssetNumber" && matches!(a.value, AttributeValue::Personal(_)))
        );
        assert!(!d.attributes.iter().any(|a| a.name == "userDomain"));
    }
}
