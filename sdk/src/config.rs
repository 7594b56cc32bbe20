//! The instance's settings (`[instances.NAME.config]`) and secrets (`[instances.NAME.secrets]`).
//!
//! Settings arrive as text: strings as written, other TOML values as JSON. Missing or malformed
//! values become [`Error::InvalidConfig`] naming the key, which the connector shows the admin.

use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::base::msc::host::{config, secrets};

/// One setting, as text.
pub fn get(key: &str) -> Option<String> {
    config::get(key)
}

/// One setting as trimmed text, `default` when it is absent or blank.
pub fn text_or(key: &str, default: &str) -> String {
    get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).unwrap_or_else(|| default.into())
}

/// One setting that must be present and not empty.
pub fn require(key: &str) -> Result<String, Error> {
    get(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::InvalidConfig(format!("the setting `{key}` is missing")))
}

/// One setting parsed into `T`: numbers, booleans, lists and tables from their JSON form,
/// strings as themselves. `Ok(None)` when the setting is absent.
pub fn parse<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    let Some(text) = get(key) else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .or_else(|_| serde_json::from_value(serde_json::Value::String(text.clone())))
        .map(Some)
        .map_err(|e| Error::InvalidConfig(format!("the setting `{key}` has the wrong type: {e}")))
}

/// The names of every setting.
pub fn keys() -> Vec<String> {
    config::keys()
}

/// One secret. Never log it or put it in an error.
pub fn secret(name: &str) -> Option<String> {
    secrets::get(name)
}

/// One secret that must be configured.
pub fn require_secret(name: &str) -> Result<String, Error> {
    secret(name).ok_or_else(|| Error::InvalidConfig(format!("the secret `{name}` is not configured")))
}
