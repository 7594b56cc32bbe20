//! A device as the tenant stores it, and its JSON in the service's shapes.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::clock;
use super::groups;

/// One installed app.
#[derive(Clone, Debug)]
pub struct App {
    pub name: &'static str,
    pub bundle_id: &'static str,
    pub version: String,
    pub build: String,
    pub size: u64,
    pub kind: &'static str,
    pub managed: bool,
}

/// A custom attribute's value on a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub value: String,
    pub application_group: String,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub id: u64,
    pub uuid: String,
    pub udid: String,
    pub serial: String,
    /// 12 upper-case hex digits, no separators.
    pub mac: String,
    /// Empty for devices without a modem.
    pub imei: String,
    pub eas_id: String,
    pub asset_number: String,
    pub friendly_name: String,
    pub reported_name: String,
    pub group: u64,
    pub user_id: u64,
    pub user_uuid: String,
    pub user_name: String,
    pub full_name: String,
    pub email: String,
    /// `C`, `E` or `S`.
    pub ownership: &'static str,
    pub platform_id: u32,
    pub platform: &'static str,
    pub model: &'static str,
    pub os: &'static str,
    /// Empty when the device has none.
    pub phone: String,
    pub last_seen_ms: i64,
    pub compliant: bool,
    /// `None`: the service left the field out.
    pub compromised: Option<bool>,
    pub apps: Vec<App>,
    pub attributes: BTreeMap<String, Attribute>,
}

impl Device {
    /// The device-search and device-details object; v3 leaves out the MAC address and phone number.
    pub fn to_json(&self, version: u32) -> Value {
        let group = groups::by_id(self.group);
        let mut object = json!({
            "Id": {"Value": self.id},
            "Uuid": self.uuid,
            "Udid": self.udid,
            "SerialNumber": self.serial,
            "MacAddress": self.mac,
            "Imei": self.imei,
            "EasId": self.eas_id,
            "AssetNumber": self.asset_number,
            "DeviceFriendlyName": self.friendly_name,
            "DeviceReportedName": self.reported_name,
            "LocationGroupId": {
                "Id": {"Value": self.group},
                "Name": group.map_or("", |g| g.name),
                "Uuid": group.map_or("", |g| g.uuid),
            },
            "LocationGroupName": group.map_or("", |g| g.name),
            "UserId": {"Id": {"Value": self.user_id}, "Name": self.full_name, "Uuid": self.user_uuid},
            "UserName": self.user_name,
            "UserEmailAddress": self.email,
            "Ownership": self.ownership,
            "PlatformId": {"Id": {"Value": self.platform_id}, "Name": self.platform},
            "Platform": self.platform,
            "Model": self.model,
            "OperatingSystem": self.os,
            "PhoneNumber": self.phone,
            "LastSeen": clock::format(self.last_seen_ms),
            "EnrollmentStatus": "Enrolled",
            "ComplianceStatus": if self.compliant { "Compliant" } else { "NonCompliant" },
        });
        if let (Some(compromised), Value::Object(map)) = (self.compromised, &mut object) {
            map.insert("CompromisedStatus".to_string(), Value::Bool(compromised));
        }
        if version >= 3
            && let Value::Object(map) = &mut object
        {
            map.remove("MacAddress");
            map.remove("PhoneNumber");
        }
        object
    }

    /// The v1 `DeviceApps` item.
    pub fn app_v1(app: &App) -> Value {
        json!({
            "ApplicationName": app.name,
            "Version": app.version,
            "BuildVersion": app.build,
            "Status": "Installed",
            "Size": app.size,
            "ApplicationIdentifier": app.bundle_id,
            "Type": app.kind,
            "IsManaged": app.managed,
        })
    }

    /// The newer `app_items` item.
    pub fn app_item(app: &App) -> Value {
        let mut item = Map::new();
        item.insert("name".into(), app.name.into());
        item.insert("bundle_id".into(), app.bundle_id.into());
        item.insert("installed_version".into(), app.version.clone().into());
        item.insert("installed_status".into(), "Installed".into());
        item.insert("size".into(), app.size.into());
        item.insert("is_managed".into(), app.managed.into());
        Value::Object(item)
    }
}
