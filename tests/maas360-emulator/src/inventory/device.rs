//! One managed device: the fields the emulator searches on, and its search record rendered once.

use serde::Serialize;

/// The platforms the tenant has, as `platformName` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Ios,
    Android,
    Windows,
    Mac,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ios => "iOS",
            Self::Android => "Android",
            Self::Windows => "Windows",
            Self::Mac => "Mac",
        }
    }

    pub fn is_mobile(self) -> bool {
        matches!(self, Self::Ios | Self::Android)
    }
}

/// One installed app; rendered into `deviceSw` on request.
#[derive(Clone, Debug)]
pub struct App {
    /// Index into the platform's catalogue (`apps::catalogue`).
    pub entry: u8,
    pub version: u8,
    pub by_mdm: bool,
    pub data_size_kb: u32,
    pub file_size: u64,
    /// Only the `Application ID` attribute is reported (the single-`swAttrs` quirk).
    pub id_only: bool,
}

/// A device as the store keeps it.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub username: String,
    pub email: String,
    /// As displayed (`+1 202-555-0123`, or bare digits); `""` when the device has none.
    pub phone: String,
    pub custom_asset_number: String,
    pub user_domain: String,
    pub platform: Platform,
    pub active: bool,
    pub managed_status: &'static str,
    pub installed_ms: i64,
    pub last_reported_ms: i64,
    /// Bit `i` set = member of `groups::GROUPS[i]`.
    pub groups: u8,
    pub apps: Vec<App>,
    /// The device's JSON object in a search answer, rendered once at generation.
    pub json: Box<str>,
}

impl Device {
    pub fn status(&self) -> &'static str {
        if self.active { "Active" } else { "Inactive" }
    }
}

/// A value MaaS360 types loosely: the same field is a string on one device and a number on another.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Loose {
    Text(String),
    Int(i64),
    Float(f64),
}

/// The search record of one device, field for field as the API returns it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(rename = "maas360DeviceID")]
    pub maas360_device_id: &'a str,
    pub device_name: &'a str,
    pub custom_asset_number: &'a str,
    pub ownership: &'a str,
    pub device_owner: &'a str,
    pub username: &'a str,
    pub email_address: &'a str,
    pub user_domain: &'a str,
    pub platform_name: &'a str,
    #[serde(rename = "sourceID")]
    pub source_id: i64,
    pub device_type: &'a str,
    pub manufacturer: &'a str,
    pub model: &'a str,
    pub os_name: &'a str,
    pub os_version: Loose,
    pub os_service_pack: &'a str,
    pub imei_esn: Loose,
    pub udid: &'a str,
    pub wifi_mac_address: &'a str,
    pub phone_number: Loose,
    pub installed_date: String,
    pub installed_date_in_epochms: i64,
    pub last_reported: String,
    pub last_reported_in_epochms: i64,
    pub device_status: &'a str,
    #[serde(rename = "maas360ManagedStatus")]
    pub maas360_managed_status: &'a str,
    pub mailbox_device_id: &'a str,
    pub policy_compliance_state: &'a str,
    pub rule_compliance_state: &'a str,
    pub encryption_status: &'a str,
    pub jailbreak_status: &'a str,
    pub is_supervised_device: bool,
    pub test_device: bool,
}
