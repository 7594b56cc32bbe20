//! The instance's settings and secrets, read and checked once per call.

use msc_sdk::uem::RiskLevel;
use msc_sdk::{Error, config};

/// Characters MaaS360 refuses in custom attribute names and values.
pub const FORBIDDEN_LABEL_CHARS: &[char] = &['.', '<', '>', '\\', '"', '\''];

pub struct Settings {
    /// The tenant's API root, e.g. `https://services.fiberlink.com`, without a trailing slash.
    pub root: String,
    pub billing_id: String,
    pub username: String,
    pub password: String,
    pub app_id: String,
    pub app_version: String,
    pub access_key: String,
    pub platform_id: String,
    /// Device groups to sync, by name; empty: every device.
    pub groups: Vec<String>,
    pub label: Label,
}

/// The mitigation label: a custom attribute set to `on` for risky devices, `off` otherwise.
pub struct Label {
    pub name: String,
    pub on: String,
    pub off: String,
    /// The lowest risk level that sets the label.
    pub threshold: RiskLevel,
}

impl Label {
    /// The value the label takes for a device at `level`.
    pub fn value_for(&self, level: RiskLevel) -> &str {
        if rank(level) >= rank(self.threshold) { &self.on } else { &self.off }
    }
}

fn rank(level: RiskLevel) -> u8 {
    match level {
        RiskLevel::None => 0,
        RiskLevel::Low => 1,
        RiskLevel::Medium => 2,
        RiskLevel::High => 3,
    }
}

impl Settings {
    pub fn load() -> Result<Self, Error> {
        let root = config::require("server_url")?.trim().trim_end_matches('/').to_string();
        // The password and access key travel in the sign-in request: never in clear text.
        if !root.starts_with("https://") {
            return Err(Error::InvalidConfig(
                "the setting `server_url` must be the tenant's https:// API root, such as https://services.fiberlink.com"
                    .into(),
            ));
        }
        let billing_id = config::require("billing_id")?.trim().to_string();
        if !billing_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::InvalidConfig("the setting `billing_id` must be letters and digits only".into()));
        }
        // The API user name is not secret to admins, but some keep it with the password.
        let username = match config::get("username").filter(|u| !u.trim().is_empty()) {
            Some(name) => name,
            None => config::require_secret("username").map_err(|_| {
                Error::InvalidConfig("the setting `username` (the API admin's user name) is missing".into())
            })?,
        };
        let groups = match config::parse::<GroupsSetting>("groups")? {
            None => Vec::new(),
            Some(GroupsSetting::One(name)) => vec![name],
            Some(GroupsSetting::Many(names)) => names,
        };
        let groups: Vec<String> = groups.into_iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect();
        let threshold = match config::get("risk_threshold") {
            None => RiskLevel::High,
            Some(text) => msc_sdk::uem::risk_threshold("risk_threshold", &text)?,
        };
        let label = Label {
            name: label_text("mitigation_label", "MP_HighRisk")?,
            on: label_text("label_on", "Yes")?,
            off: label_text("label_off", "No")?,
            threshold,
        };
        Ok(Self {
            root,
            billing_id,
            username: username.trim().to_string(),
            password: config::require_secret("password")?,
            app_id: config::require("app_id")?.trim().to_string(),
            app_version: config::get("app_version").map(|v| v.trim().to_string()).unwrap_or_else(|| "1.0".into()),
            access_key: config::require_secret("access_key")?,
            platform_id: config::get("platform_id").map(|v| v.trim().to_string()).unwrap_or_else(|| "3".into()),
            groups,
            label,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum GroupsSetting {
    One(String),
    Many(Vec<String>),
}

/// A label name or value from the config, refused when MaaS360 would refuse it.
fn label_text(key: &str, default: &str) -> Result<String, Error> {
    let value = config::get(key).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string());
    check_label_text(&value)
        .map_err(|reason| Error::InvalidConfig(format!("the setting `{key}` ({value:?}) {reason}")))?;
    Ok(value)
}

/// Why MaaS360 would refuse `text` as a custom attribute name or value.
pub fn check_label_text(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.len() > 128 || text.chars().any(char::is_control) {
        return Err("must be at most 128 printable characters".into());
    }
    if let Some(c) = text.chars().find(|c| FORBIDDEN_LABEL_CHARS.contains(c)) {
        return Err(format!("contains `{c}`, which MaaS360 does not allow in custom attributes (. < > \\ \" ')"));
    }
    Ok(())
}
