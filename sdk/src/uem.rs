//! The UEM adapter world (`msc:uem/uem-adapter`): implement [`Adapter`] and export it with
//! [`export_uem!`](crate::export_uem).
//!
//! Records have a field for everything the cloud may use; [`Device::new`] and [`App::new`] start
//! one with every optional field empty, so an adapter sets only what its UEM reports.
//!
//! ```
//! use msc_sdk::Pii;
//! use msc_sdk::uem::{Device, Platform};
//!
//! let mut device = Device::new("42", Platform::from_name("iPadOS"));
//! device.email = Some(Pii::email("alice@corp.example"));
//! device.os_version = Some("17.4".into());
//! assert_eq!(device.platform, Platform::Ios);
//! assert!(device.groups.is_empty() && device.name.is_none());
//! ```

pub use crate::bindings::uem::exports::msc::uem::adapter::Guest as Adapter;
pub use crate::bindings::uem::msc::uem::types::{
    App, Attribute, AttributeValue, Device, DevicePage, DeviceQuery, DeviceStatus, Ownership, Platform, RiskLevel,
    RiskUpdate,
};

impl Device {
    /// A device with the UEM's id `id`, on `platform`, and nothing else known yet.
    pub fn new(id: impl Into<String>, platform: Platform) -> Self {
        Self {
            id: id.into(),
            name: None,
            owner: None,
            user_name: None,
            email: None,
            phone: None,
            platform,
            os_name: None,
            os_version: None,
            manufacturer: None,
            model: None,
            ownership: Ownership::Unknown,
            status: DeviceStatus::Unknown,
            serial_number: None,
            imei: None,
            udid: None,
            wifi_mac: None,
            last_seen_ms: None,
            enrolled_ms: None,
            managed: None,
            compliant: None,
            compromised: None,
            encrypted: None,
            supervised: None,
            groups: Vec::new(),
            attributes: Vec::new(),
        }
    }
}

impl App {
    /// An app called `name`, nothing else known yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            identifier: None,
            version: None,
            size_bytes: None,
            managed: None,
            attributes: Vec::new(),
        }
    }
}

impl RiskLevel {
    /// The level's name in the WIT (`none`, `low`, `medium`, `high`): what settings and most
    /// UEM APIs spell it.
    pub fn name(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// The level [`RiskLevel::name`] spells, ASCII case and surrounding spaces ignored.
    ///
    /// ```
    /// use msc_sdk::uem::RiskLevel;
    /// assert_eq!(RiskLevel::from_name(" High"), Some(RiskLevel::High));
    /// assert_eq!(RiskLevel::from_name("severe"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [RiskLevel::None, RiskLevel::Low, RiskLevel::Medium, RiskLevel::High]
            .into_iter()
            .find(|level| name.trim().eq_ignore_ascii_case(level.name()))
    }
}

/// The risk level named by the setting `setting` (`text`) as a threshold: `low`, `medium` or
/// `high` (the level at and above which a device is labelled), else an `invalid-config` error
/// naming the setting.
pub fn risk_threshold(setting: &str, text: &str) -> Result<RiskLevel, crate::Error> {
    match RiskLevel::from_name(text) {
        Some(level) if level != RiskLevel::None => Ok(level),
        _ => Err(crate::Error::InvalidConfig(format!(
            "the setting `{setting}` must be low, medium or high (got `{}`)",
            text.trim()
        ))),
    }
}

impl Platform {
    /// The platform a UEM's name for it means, ASCII case and spaces ignored: the names MaaS360,
    /// Workspace ONE, Intune and others use (`iOS`, `Apple`, `iPadOS`, `AppleOsX`, `macOS`,
    /// `Android`, `WinRT`, `Windows Phone`, `Chrome OS`, ...). [`Platform::Other`] otherwise.
    pub fn from_name(name: &str) -> Self {
        let name: String = name.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        match name.as_str() {
            "ios" | "ipados" | "iphone" | "ipad" | "apple" | "appleios" | "tvos" | "watchos" => Platform::Ios,
            "android" | "androidenterprise" | "androidwork" => Platform::Android,
            "windows" | "windowsphone" | "windowsmobile" | "winrt" | "windowsdesktop" | "windows10" | "windows11" => {
                Platform::Windows
            }
            "mac" | "macos" | "macosx" | "osx" | "appleosx" | "applemacos" => Platform::Macos,
            "linux" | "ubuntu" => Platform::Linux,
            "chromeos" | "chromebook" => Platform::Chromeos,
            _ => Platform::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_of_several_uems() {
        for (name, platform) in [
            ("iOS", Platform::Ios),
            ("Apple", Platform::Ios),
            ("AppleOsX", Platform::Macos),
            ("Mac OS X", Platform::Macos),
            ("WinRT", Platform::Windows),
            ("Windows Phone", Platform::Windows),
            ("Android", Platform::Android),
            ("Chrome OS", Platform::Chromeos),
            ("BlackBerry", Platform::Other),
        ] {
            assert_eq!(Platform::from_name(name), platform, "{name}");
        }
    }
}
