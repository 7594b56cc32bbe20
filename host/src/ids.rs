//! Identifiers as types, so an instance name is never confused with any other string.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// The name an admin gives a plugin instance in `[instances.NAME]`: lower-case letters, digits,
/// `-` and `_`, starting with a letter or digit, at most 63 characters. It appears in logs,
/// metrics and task routing, so it is kept to characters that are safe everywhere.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceName(String);

/// Why a string is not a valid [`InstanceName`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "instance name `{0}` is not valid: use 1-63 lower-case letters, digits, `-` or `_`, starting with a letter or digit"
)]
pub struct InvalidInstanceName(pub String);

impl InstanceName {
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidInstanceName> {
        let name = name.into();
        let mut chars = name.chars();
        let valid_start = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let valid_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if valid_start && valid_rest && name.len() <= 63 { Ok(Self(name)) } else { Err(InvalidInstanceName(name)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InstanceName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        InstanceName::new(name).map_err(serde::de::Error::custom)
    }
}

/// The three kinds of plugin, one per WIT world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// `msc:uem/uem-adapter`: a UEM/MDM adapter.
    Uem,
    /// `msc:siem/siem-formatter`: a SIEM event formatter.
    Siem,
    /// `msc:mail/mail-backend`: a mail backend.
    Mail,
}

impl PluginKind {
    /// The world a component of this kind implements.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Uem => "msc:uem/uem-adapter",
            PluginKind::Siem => "msc:siem/siem-formatter",
            PluginKind::Mail => "msc:mail/mail-backend",
        }
    }

    /// The interface a component of this kind exports, without its version.
    pub fn export(self) -> &'static str {
        match self {
            PluginKind::Uem => "msc:uem/adapter",
            PluginKind::Siem => "msc:siem/formatter",
            PluginKind::Mail => "msc:mail/backend",
        }
    }

    pub const ALL: [PluginKind; 3] = [PluginKind::Uem, PluginKind::Siem, PluginKind::Mail];
}

impl PluginKind {
    /// The name used in config files and the relay protocol.
    pub const fn as_str(self) -> &'static str {
        match self {
            PluginKind::Uem => "uem",
            PluginKind::Siem => "siem",
            PluginKind::Mail => "mail",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        for good in ["maas360", "maas360-hq", "a", "siem_cef_2", "0day"] {
            assert!(InstanceName::new(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in ["", "MaaS", "-x", "_x", "a b", "a.b", "ä", too_long.as_str()] {
            assert!(InstanceName::new(bad).is_err(), "{bad}");
        }
    }
}
