//! A synced device as one JSON line, the shape the cloud receives (personal fields already
//! tokens): serialized straight from the record, without building a JSON tree per device.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::SyncedDevice;
use crate::plugins::worlds::Pii;
use crate::plugins::worlds::uem::{App, Attribute, AttributeValue, Device, DeviceStatus, Ownership, Platform};

/// `{"instance","device":{…},"apps":[…]}`; `apps` only when they were synced.
pub struct SyncedLine<'a> {
    pub instance: &'a str,
    pub synced: &'a SyncedDevice,
}

impl<'a> SyncedLine<'a> {
    pub fn new(instance: &'a str, synced: &'a SyncedDevice) -> Self {
        Self { instance, synced }
    }
}

impl Serialize for SyncedLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut line = serializer.serialize_map(None)?;
        line.serialize_entry("instance", self.instance)?;
        line.serialize_entry("device", &DeviceLine(&self.synced.device))?;
        if let Some(apps) = &self.synced.apps {
            line.serialize_entry("apps", &apps.iter().map(AppLine).collect::<Vec<_>>())?;
        }
        line.end()
    }
}

pub(crate) struct DeviceLine<'a>(pub &'a Device);

impl Serialize for DeviceLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        fn pii(p: &Option<Pii>) -> Option<&str> {
            p.as_ref().map(|p| p.value.as_str())
        }
        let mut m = serializer.serialize_map(Some(26))?;
        m.serialize_entry("id", &d.id)?;
        m.serialize_entry("name", &pii(&d.name))?;
        m.serialize_entry("owner", &pii(&d.owner))?;
        m.serialize_entry("user_name", &pii(&d.user_name))?;
        m.serialize_entry("email", &pii(&d.email))?;
        m.serialize_entry("phone", &pii(&d.phone))?;
        m.serialize_entry("platform", platform(d.platform))?;
        m.serialize_entry("os_name", &d.os_name)?;
        m.serialize_entry("os_version", &d.os_version)?;
        m.serialize_entry("manufacturer", &d.manufacturer)?;
        m.serialize_entry("model", &d.model)?;
        m.serialize_entry("ownership", ownership(d.ownership))?;
        m.serialize_entry("status", status(d.status))?;
        m.serialize_entry("serial_number", &d.serial_number)?;
        m.serialize_entry("imei", &d.imei)?;
        m.serialize_entry("udid", &d.udid)?;
        m.serialize_entry("wifi_mac", &d.wifi_mac)?;
        m.serialize_entry("last_seen_ms", &d.last_seen_ms)?;
        m.serialize_entry("enrolled_ms", &d.enrolled_ms)?;
        m.serialize_entry("managed", &d.managed)?;
        m.serialize_entry("compliant", &d.compliant)?;
        m.serialize_entry("compromised", &d.compromised)?;
        m.serialize_entry("encrypted", &d.encrypted)?;
        m.serialize_entry("supervised", &d.supervised)?;
        m.serialize_entry("groups", &d.groups)?;
        m.serialize_entry("attributes", &d.attributes.iter().map(AttributeLine).collect::<Vec<_>>())?;
        m.end()
    }
}

pub(crate) struct AppLine<'a>(pub &'a App);

impl Serialize for AppLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = serializer.serialize_map(Some(6))?;
        m.serialize_entry("name", &a.name)?;
        m.serialize_entry("identifier", &a.identifier)?;
        m.serialize_entry("version", &a.version)?;
        m.serialize_entry("size_bytes", &a.size_bytes)?;
        m.serialize_entry("managed", &a.managed)?;
        m.serialize_entry("attributes", &a.attributes.iter().map(AttributeLine).collect::<Vec<_>>())?;
        m.end()
    }
}

struct AttributeLine<'a>(&'a Attribute);

impl Serialize for AttributeLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(2))?;
        m.serialize_entry("name", &self.0.name)?;
        match &self.0.value {
            AttributeValue::Text(t) => m.serialize_entry("value", t)?,
            AttributeValue::Number(n) => m.serialize_entry("value", n)?,
            AttributeValue::Flag(b) => m.serialize_entry("value", b)?,
            AttributeValue::Personal(p) => m.serialize_entry("value", &p.value)?,
        }
        m.end()
    }
}

fn platform(p: Platform) -> &'static str {
    match p {
        Platform::Ios => "ios",
        Platform::Android => "android",
        Platform::Windows => "windows",
        Platform::Macos => "macos",
        Platform::Linux => "linux",
        Platform::Chromeos => "chromeos",
        Platform::Other => "other",
    }
}

fn ownership(o: Ownership) -> &'static str {
    match o {
        Ownership::Corporate => "corporate",
        Ownership::Personal => "personal",
        Ownership::Shared => "shared",
        Ownership::Unknown => "unknown",
    }
}

fn status(s: DeviceStatus) -> &'static str {
    match s {
        DeviceStatus::Active => "active",
        DeviceStatus::Inactive => "inactive",
        DeviceStatus::Unknown => "unknown",
    }
}
