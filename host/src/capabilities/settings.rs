//! The instance's settings (`msc:host/config`): the `[instances.NAME.config]` table, read-only.
//! Strings are handed over as written, everything else as JSON text, so a plugin needs one
//! parser (the SDK's `config::parse`) for lists and tables.

use std::collections::BTreeMap;

use crate::plugins::bindings::host::msc::host::config::Host;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings(BTreeMap<String, String>);

impl Settings {
    pub fn from_toml(table: &toml::Table) -> Self {
        Self(table.iter().map(|(key, value)| (key.clone(), setting_text(value))).collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

fn setting_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => to_json(other).to_string(),
    }
}

/// TOML to JSON, with dates as their TOML text (serde would wrap them in a private struct).
fn to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(table) => J::Object(table.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// `msc:host/config` for one call.
pub struct SettingsView<'a>(pub &'a Settings);

/// [`wasmtime::component::HasData`] marker for linking `msc:host/config`.
pub struct SettingsCap;

impl wasmtime::component::HasData for SettingsCap {
    type Data<'a> = SettingsView<'a>;
}

impl Host for SettingsView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.0.0.get(&key).cloned())
    }

    fn keys(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.0.0.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_text_or_json() {
        let table: toml::Table = toml::from_str(
            r#"
            billing_id = "30012345"
            page_size = 250
            groups = ["MP_Devices", "Sales"]
            verify = true
            since = 2026-01-01T00:00:00Z
            [limits]
            rps = 2.5
            "#,
        )
        .expect("toml");
        let settings = Settings::from_toml(&table);
        assert_eq!(settings.get("billing_id"), Some("30012345"));
        assert_eq!(settings.get("page_size"), Some("250"));
        assert_eq!(settings.get("groups"), Some(r#"["MP_Devices","Sales"]"#));
        assert_eq!(settings.get("verify"), Some("true"));
        assert_eq!(settings.get("since"), Some(r#""2026-01-01T00:00:00Z""#));
        assert_eq!(settings.get("limits"), Some(r#"{"rps":2.5}"#));
    }
}
