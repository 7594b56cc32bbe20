//! A Workspace ONE device record (device search and device details, v1/v2) as the connector's
//! device record. Personal data goes only into `Pii` slots, so the host tokenizes it.
//!
//! Records are deserialized straight into [`Record`] (lenient [`Scalar`] fields borrowing from
//! the body) rather than through a JSON tree: a page holds up to 500 devices.

use msc_sdk::json::Scalar;
use msc_sdk::time::parse_utc_ms;
use msc_sdk::uem::{Attribute, AttributeValue, Device, DeviceStatus, Ownership, Platform};
use msc_sdk::{Error, Pii};
use serde::Deserialize;

/// A device search answer: `{"Devices":[…],"Page","PageSize","Total"}`.
#[derive(Deserialize)]
pub struct SearchAnswer<'a> {
    #[serde(default, borrow, rename = "Devices")]
    pub devices: Vec<Record<'a>>,
    #[serde(default, borrow, rename = "Total")]
    pub total: Scalar<'a>,
}

impl<'a> SearchAnswer<'a> {
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("Workspace ONE device search: {e}")))
    }
}

/// `{"Value": N}`, how the API wraps numeric ids.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Wrapped<'a> {
    #[serde(borrow, rename = "Value")]
    pub value: Scalar<'a>,
}

/// `{"Id":{"Value"},"Name","Uuid"}`: an organization group or user reference.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Reference<'a> {
    #[serde(borrow, rename = "Id")]
    pub id: Wrapped<'a>,
    #[serde(borrow, rename = "Name")]
    pub name: Scalar<'a>,
}

/// The fields of a Workspace ONE device the connector uses.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct Record<'a> {
    #[serde(borrow)]
    pub id: Wrapped<'a>,
    #[serde(borrow)]
    pub uuid: Scalar<'a>,
    #[serde(borrow)]
    udid: Scalar<'a>,
    #[serde(borrow)]
    serial_number: Scalar<'a>,
    #[serde(borrow)]
    mac_address: Scalar<'a>,
    #[serde(borrow)]
    imei: Scalar<'a>,
    #[serde(borrow)]
    eas_id: Scalar<'a>,
    #[serde(borrow)]
    asset_number: Scalar<'a>,
    #[serde(borrow)]
    device_friendly_name: Scalar<'a>,
    #[serde(borrow)]
    device_reported_name: Scalar<'a>,
    #[serde(borrow)]
    location_group_id: Reference<'a>,
    #[serde(borrow)]
    location_group_name: Scalar<'a>,
    #[serde(borrow)]
    user_id: Reference<'a>,
    #[serde(borrow)]
    user_name: Scalar<'a>,
    #[serde(borrow)]
    user_email_address: Scalar<'a>,
    #[serde(borrow)]
    ownership: Scalar<'a>,
    #[serde(borrow)]
    platform: Scalar<'a>,
    #[serde(borrow)]
    model: Scalar<'a>,
    #[serde(borrow)]
    operating_system: Scalar<'a>,
    #[serde(borrow)]
    phone_number: Scalar<'a>,
    #[serde(borrow)]
    last_seen: Scalar<'a>,
    #[serde(borrow)]
    enrollment_status: Scalar<'a>,
    #[serde(borrow)]
    compliance_status: Scalar<'a>,
    #[serde(borrow)]
    compromised_status: Scalar<'a>,
}

impl Record<'_> {
    /// The numeric device id, as text.
    pub fn id(&self) -> Option<String> {
        self.id.value.unsigned().map(|id| id.to_string())
    }

    /// When the device last reported, in milliseconds since the epoch.
    pub fn last_seen_ms(&self) -> Option<u64> {
        parse_utc_ms(&self.last_seen.text()?)
    }
}

pub fn device(record: &Record<'_>) -> Result<Device, Error> {
    let id = record.id().ok_or_else(|| Error::Protocol("Workspace ONE sent a device without a numeric Id".into()))?;
    let mut attributes = Vec::new();
    // The asset number is often an employee number, the reported name often a person's.
    if let Some(asset) = record.asset_number.text() {
        attributes
            .push(Attribute { name: "AssetNumber".into(), value: AttributeValue::Personal(Pii::identifier(asset)) });
    }
    if let Some(reported) = record.device_reported_name.text() {
        attributes.push(Attribute {
            name: "DeviceReportedName".into(),
            value: AttributeValue::Personal(Pii::device_name(reported)),
        });
    }
    for (name, value) in [
        ("Uuid", &record.uuid),
        ("EasId", &record.eas_id),
        ("LocationGroupId", &record.location_group_id.id.value),
        ("EnrollmentStatus", &record.enrollment_status),
        ("ComplianceStatus", &record.compliance_status),
        ("Platform", &record.platform),
    ] {
        if let Some(text) = value.text() {
            attributes.push(Attribute { name: name.into(), value: AttributeValue::Text(text) });
        }
    }
    let platform = platform(record.platform.text().as_deref());
    let enrollment = record.enrollment_status.text().map(|s| s.to_ascii_lowercase());
    let group = record.location_group_name.text().or_else(|| record.location_group_id.name.text());
    Ok(Device {
        id,
        name: record.device_friendly_name.text().map(Pii::device_name),
        owner: record.user_id.name.text().map(Pii::person_name),
        user_name: record.user_name.text().map(Pii::user_name),
        email: record.user_email_address.text().map(Pii::email),
        phone: record.phone_number.text().map(Pii::phone),
        platform,
        os_name: os_name(platform).map(str::to_string),
        os_version: record.operating_system.text(),
        manufacturer: matches!(platform, Platform::Ios | Platform::Macos).then(|| "Apple".to_string()),
        model: record.model.text(),
        ownership: ownership(record.ownership.text().as_deref()),
        status: match enrollment.as_deref() {
            Some("enrolled") => DeviceStatus::Active,
            Some(_) => DeviceStatus::Inactive,
            None => DeviceStatus::Unknown,
        },
        serial_number: record.serial_number.text(),
        imei: record.imei.text(),
        udid: record.udid.text(),
        wifi_mac: record.mac_address.text(),
        last_seen_ms: record.last_seen_ms(),
        enrolled_ms: None,
        managed: enrollment.as_deref().map(|s| s == "enrolled"),
        compliant: match record.compliance_status.text().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("compliant" | "true") => Some(true),
            Some("noncompliant" | "non-compliant" | "false") => Some(false),
            _ => None,
        },
        compromised: record.compromised_status.flag(),
        encrypted: None,
        supervised: None,
        groups: group.into_iter().collect(),
        attributes,
    })
}

/// Workspace ONE's platform names (`Apple`, `Android`, `WinRT`, `AppleOsX`, …), as the SDK reads
/// them, and its other Windows names (`WindowsPc`, `WindowsPhone8`, `Win32`).
fn platform(name: Option<&str>) -> Platform {
    let Some(name) = name else { return Platform::Other };
    match Platform::from_name(name) {
        Platform::Other if name.trim().to_ascii_lowercase().starts_with("win") => Platform::Windows,
        platform => platform,
    }
}

fn os_name(platform: Platform) -> Option<&'static str> {
    Some(match platform {
        Platform::Ios => "iOS",
        Platform::Macos => "macOS",
        Platform::Android => "Android",
        Platform::Windows => "Windows",
        Platform::Linux => "Linux",
        Platform::Chromeos => "ChromeOS",
        Platform::Other => return None,
    })
}

/// `C` corporate-dedicated, `E` employee-owned, `S` corporate-shared.
fn ownership(value: Option<&str>) -> Ownership {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        Some("C" | "CORPORATE" | "CORPORATEDEDICATED") => Ownership::Corporate,
        Some("E" | "EMPLOYEE" | "EMPLOYEEOWNED") => Ownership::Personal,
        Some("S" | "SHARED" | "CORPORATESHARED") => Ownership::Shared,
        _ => Ownership::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_record_with_personal_data_in_pii_slots() {
        let body = br#"{"Devices":[{"Id":{"Value":10001},"Uuid":"u-1","SerialNumber":"C02X","DeviceFriendlyName":"Ann's iPhone",
            "LocationGroupId":{"Id":{"Value":571},"Name":"Sales"},"LocationGroupName":"Sales","UserId":{"Id":{"Value":7},"Name":"Ann Lee"},
            "UserName":"ann.lee","UserEmailAddress":"ann@example.com","Ownership":"E","Platform":"Apple","OperatingSystem":"17.4",
            "PhoneNumber":"","LastSeen":"2021-06-28T04:35:20.150","EnrollmentStatus":"Enrolled","ComplianceStatus":"NonCompliant"}],
            "Page":0,"PageSize":500,"Total":1}"#;
        let answer = SearchAnswer::parse(body).expect("parses");
        assert_eq!(answer.total.unsigned(), Some(1));
        let device = device(&answer.devices[0]).expect("device");
        assert_eq!(device.id, "10001");
        assert_eq!(device.name.as_ref().map(|p| p.value.as_str()), Some("Ann's iPhone"));
        assert_eq!(device.owner.as_ref().map(|p| p.value.as_str()), Some("Ann Lee"));
        assert!(device.phone.is_none());
        assert_eq!((device.platform, device.ownership), (Platform::Ios, Ownership::Personal));
        assert_eq!(device.last_seen_ms, Some(1_624_854_920_150));
        assert_eq!((device.compliant, device.compromised, device.managed), (Some(false), None, Some(true)));
        assert_eq!(device.groups, ["Sales"]);
        let debug = format!("{:?}", device.attributes);
        assert!(!debug.contains("Text(\"Ann"), "{debug}");
    }

    #[test]
    fn a_device_without_an_id_is_refused() {
        let answer = SearchAnswer::parse(br#"{"Devices":[{"Uuid":"u"}],"Total":1}"#).expect("parses");
        assert!(matches!(device(&answer.devices[0]), Err(Error::Protocol(_))));
    }
}
