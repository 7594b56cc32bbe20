//! A MaaS360 device record (JSON, loosely typed) as the connector's device record. Personal data
//! goes only into `pii` slots, so the host tokenizes it.
//!
//! Records are deserialized straight into [`Record`] (every field a lenient [`Scalar`]) rather
//! than through a JSON tree: a page of 250 devices is a quarter megabyte, and a sync reads
//! hundreds of them.

use msc_sdk::json::{OneOrMany, Scalar};
use msc_sdk::uem::{Attribute, AttributeValue, Device, DeviceStatus, Ownership, Platform};
use msc_sdk::{Error, Pii};
use serde::Deserialize;

/// A device search answer: `{"devices":{"device":[…],"count":N,…}}`.
#[derive(Deserialize)]
pub struct SearchAnswer<'a> {
    #[serde(borrow)]
    pub devices: Option<Listing<'a>>,
}

impl<'a> SearchAnswer<'a> {
    /// Reads a search answer, borrowing its text from `body`.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("MaaS360 device search: {e}")))
    }
}

#[derive(Deserialize)]
pub struct Listing<'a> {
    #[serde(default, borrow)]
    pub device: OneOrMany<Record<'a>>,
    #[serde(default, borrow)]
    pub count: Scalar<'a>,
}

/// The fields of a MaaS360 device the connector uses.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(rename = "maas360DeviceID")]
    #[serde(borrow)]
    pub id: Scalar<'a>,
    #[serde(borrow)]
    device_name: Scalar<'a>,
    #[serde(borrow)]
    device_owner: Scalar<'a>,
    #[serde(borrow)]
    username: Scalar<'a>,
    #[serde(borrow)]
    email_address: Scalar<'a>,
    #[serde(borrow)]
    phone_number: Scalar<'a>,
    #[serde(borrow)]
    custom_asset_number: Scalar<'a>,
    #[serde(borrow)]
    platform_name: Scalar<'a>,
    #[serde(borrow)]
    os_name: Scalar<'a>,
    #[serde(borrow)]
    os_version: Scalar<'a>,
    #[serde(borrow)]
    manufacturer: Scalar<'a>,
    #[serde(borrow)]
    model: Scalar<'a>,
    #[serde(borrow)]
    ownership: Scalar<'a>,
    #[serde(borrow)]
    device_status: Scalar<'a>,
    #[serde(borrow)]
    imei_esn: Scalar<'a>,
    #[serde(borrow)]
    udid: Scalar<'a>,
    #[serde(borrow)]
    wifi_mac_address: Scalar<'a>,
    #[serde(borrow)]
    last_reported: Scalar<'a>,
    #[serde(borrow)]
    last_reported_in_epochms: Scalar<'a>,
    #[serde(borrow)]
    installed_date: Scalar<'a>,
    #[serde(borrow)]
    installed_date_in_epochms: Scalar<'a>,
    #[serde(rename = "maas360ManagedStatus")]
    #[serde(borrow)]
    managed_status: Scalar<'a>,
    #[serde(borrow)]
    jailbreak_status: Scalar<'a>,
    #[serde(borrow)]
    encryption_status: Scalar<'a>,
    #[serde(borrow)]
    is_supervised_device: Scalar<'a>,
    #[serde(borrow)]
    policy_compliance_state: Scalar<'a>,
    #[serde(borrow)]
    rule_compliance_state: Scalar<'a>,
    // Passed on as attributes.
    #[serde(borrow)]
    device_type: Scalar<'a>,
    #[serde(borrow)]
    user_domain: Scalar<'a>,
    #[serde(rename = "sourceID")]
    #[serde(borrow)]
    source_id: Scalar<'a>,
    #[serde(borrow)]
    os_service_pack: Scalar<'a>,
    #[serde(borrow)]
    mailbox_device_id: Scalar<'a>,
    #[serde(borrow)]
    test_device: Scalar<'a>,
}

/// The device's asset number names a person often enough (an employee number) to be one.
const ASSET_NUMBER: &str = "customAssetNumber";

pub fn device(record: &Record<'_>, group: Option<&str>) -> Result<Device, Error> {
    let id = record.id.text().ok_or_else(|| Error::Protocol("MaaS360 sent a device without maas360DeviceID".into()))?;
    let mut attributes = Vec::new();
    if let Some(asset) = record.custom_asset_number.text() {
        attributes
            .push(Attribute { name: ASSET_NUMBER.into(), value: AttributeValue::Personal(Pii::identifier(asset)) });
    }
    for (name, value) in [
        ("deviceType", &record.device_type),
        ("userDomain", &record.user_domain),
        ("sourceID", &record.source_id),
        ("osServicePack", &record.os_service_pack),
        ("mailboxDeviceId", &record.mailbox_device_id),
        ("testDevice", &record.test_device),
        ("maas360ManagedStatus", &record.managed_status),
    ] {
        if let Some(value) = attribute_value(value) {
            attributes.push(Attribute { name: name.into(), value });
        }
    }
    Ok(Device {
        id,
        name: record.device_name.text().map(Pii::device_name),
        owner: record.device_owner.text().map(Pii::person_name),
        user_name: record.username.text().map(Pii::user_name),
        email: record.email_address.text().map(Pii::email),
        phone: record.phone_number.text().map(Pii::phone),
        platform: platform(record.platform_name.text().as_deref()),
        os_name: record.os_name.text(),
        os_version: record.os_version.text(),
        manufacturer: record.manufacturer.text(),
        model: record.model.text(),
        ownership: ownership(record.ownership.text().as_deref()),
        status: match record.device_status.text().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("active") => DeviceStatus::Active,
            Some("inactive") => DeviceStatus::Inactive,
            _ => DeviceStatus::Unknown,
        },
        serial_number: None,
        imei: record.imei_esn.text(),
        udid: record.udid.text(),
        wifi_mac: record.wifi_mac_address.text(),
        last_seen_ms: record
            .last_reported_in_epochms
            .unsigned()
            .or_else(|| timestamp_ms(&record.last_reported.text()?)),
        enrolled_ms: record
            .installed_date_in_epochms
            .unsigned()
            .or_else(|| timestamp_ms(&record.installed_date.text()?)),
        managed: record.managed_status.text().and_then(|s| managed(&s)),
        compliant: record
            .policy_compliance_state
            .text()
            .or_else(|| record.rule_compliance_state.text())
            .and_then(|s| compliant(&s)),
        compromised: record.jailbreak_status.text().and_then(|s| compromised(&s)),
        encrypted: record.encryption_status.text().and_then(|s| encrypted(&s)),
        supervised: record.is_supervised_device.flag(),
        groups: group.map(|g| vec![g.to_string()]).unwrap_or_default(),
        attributes,
    })
}

/// A vendor value as an attribute value: numbers stay numbers, booleans flags, text text.
pub fn attribute_value(value: &Scalar<'_>) -> Option<AttributeValue> {
    match value {
        Scalar::Flag(b) => Some(AttributeValue::Flag(*b)),
        Scalar::Number(n) => n.as_f64().map(AttributeValue::Number),
        other => other.text().map(AttributeValue::Text),
    }
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

fn compliant(state: &str) -> Option<bool> {
    let s = state.to_ascii_lowercase();
    if s.contains("out of") || s.contains("non") || s.contains("not") {
        Some(false)
    } else if s.contains("compliant") {
        Some(true)
    } else {
        None
    }
}

fn encrypted(status: &str) -> Option<bool> {
    let s = status.to_ascii_lowercase();
    if s.contains("not") || s.contains("unencrypted") || s == "no" {
        Some(false)
    } else if s.contains("encrypt") || s.contains("protection") || s.contains("enabled") || s == "yes" {
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

    #[test]
    fn reads_timestamps_without_zone() {
        assert_eq!(timestamp_ms("1970-01-01T00:00:00"), Some(0));
        assert_eq!(timestamp_ms("2026-11-01T12:30:05"), Some(1_793_536_205_000));
        assert_eq!(timestamp_ms("N/A"), None);
    }

    #[test]
    fn maps_quirky_records() {
        let page = r#"{"devices": {"count": 1, "device": {
            "maas360DeviceID": "ApplF17ABC", "deviceName": "Alice's iPhone", "phoneNumber": 12025550123,
            "imeiEsn": "", "osVersion": 14.0, "ownership": "N/A", "customAssetNumber": "EMP-1",
            "isSupervisedDevice": true, "sourceID": 2, "userDomain": "N/A", "platformName": "iOS",
            "encryptionStatus": "Data Protection", "policyComplianceState": "Out of Compliance"}}}"#;
        let answer = SearchAnswer::parse(page.as_bytes()).expect("parses");
        let listing = answer.devices.expect("devices");
        assert_eq!(listing.count.unsigned(), Some(1));
        let d = device(&listing.device.0[0], Some("Lab")).expect("maps");
        assert_eq!(d.phone.map(|p| p.value).as_deref(), Some("12025550123"));
        assert_eq!(d.imei, None);
        assert_eq!(d.os_version.as_deref(), Some("14.0"));
        assert!(matches!(d.ownership, Ownership::Unknown));
        assert!(matches!(d.platform, Platform::Ios));
        assert_eq!((d.encrypted, d.compliant, d.supervised), (Some(true), Some(false), Some(true)));
        assert_eq!(d.groups, vec!["Lab".to_string()]);
        assert!(
            d.attributes
                .iter()
                .any(|a| a.name == "customAssetNumber" && matches!(a.value, AttributeValue::Personal(_)))
        );
        assert!(
            d.attributes
                .iter()
                .any(|a| a.name == "sourceID" && matches!(a.value, AttributeValue::Number(n) if n == 2.0))
        );
        assert!(!d.attributes.iter().any(|a| a.name == "userDomain"));
    }
}
