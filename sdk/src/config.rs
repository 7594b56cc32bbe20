//! The instance's settings (`[instances.NAME.config]`) and secrets (`[instances.NAME.secrets]`).
//!
//! Settings arrive as text: strings as written, other TOML values as JSON. Missing or malformed
//! values become [`Error::InvalidConfig`] naming the key, which the connector shows the admin.
//! [`load`] reads every setting into one typed struct; [`require_secret`] and [`Secret`] keep
//! secrets apart from settings, and out of `Debug` output.
//!
//! ```no_run
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     server_url: String,
//!     #[serde(default)]
//!     groups: Vec<String>,
//!     #[serde(default = "default_page_size")]
//!     page_size: u32,
//! }
//! fn default_page_size() -> u32 { 500 }
//!
//! # fn demo() -> Result<(), msc_sdk::Error> {
//! let settings: Settings = msc_sdk::config::load()?;   // "the setting `page_size`: invalid type ..."
//! let password = msc_sdk::config::secret_value("password")?;
//! let header = format!("Basic {}", password.expose());
//! # Ok(()) }
//! ```

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

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

/// Every setting of the instance, read into `T` with serde: strings as written, numbers,
/// booleans, lists and tables from their JSON form, each as the field's type asks (a setting
/// `"123"` read into a `String` stays text). Errors name the setting:
/// "the setting `page_size`: invalid type: string \"ten\", expected u32", "the setting
/// `server_url` is missing".
pub fn load<T: DeserializeOwned>() -> Result<T, Error> {
    from_settings(keys().into_iter().filter_map(|key| get(&key).map(|value| (key, value))))
}

/// [`load`] over given `(key, value)` pairs; what `load` does with the host's settings.
pub fn from_settings<T: DeserializeOwned>(settings: impl IntoIterator<Item = (String, String)>) -> Result<T, Error> {
    let values = settings.into_iter().map(|(key, text)| (key.clone(), Setting { key, text }));
    T::deserialize(de::value::MapDeserializer::<_, de::value::Error>::new(values)).map_err(|e| {
        let message = e.to_string();
        let message = if let Some(rest) = message.strip_prefix("missing field `") {
            format!("the setting `{}` is missing", rest.trim_end_matches('`'))
        } else if let Some((name, expected)) =
            message.strip_prefix("unknown field `").and_then(|rest| rest.split_once("`, "))
        {
            format!("the setting `{name}` is not one this plugin takes ({expected})")
        } else if message.starts_with("the setting") {
            message
        } else {
            format!("the settings: {message}")
        };
        Error::InvalidConfig(message)
    })
}

/// A secret's value. Its `Debug` and `Display` show `[secret]`, so it cannot end up in a log line
/// or an error by accident; [`Secret::expose`] is the one way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (from the host, or a test).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, to put in a header or a form field.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

/// One secret that must be configured, as a [`Secret`].
pub fn secret_value(name: &str) -> Result<Secret, Error> {
    require_secret(name).map(Secret)
}

/// One setting's text, deserialized as the field it goes into asks: text for strings, JSON for
/// anything else, text again where JSON does not parse (so `groups = "Lab"` reads as one name).
struct Setting {
    key: String,
    text: String,
}

impl Setting {
    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.text).ok()
    }

    fn named(&self, error: impl fmt::Display) -> de::value::Error {
        de::Error::custom(format!("the setting `{}`: {error}", self.key))
    }
}

impl<'de> IntoDeserializer<'de, de::value::Error> for Setting {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// Everything not listed goes through `deserialize_any`: JSON when the text parses as JSON,
/// else the text.
impl<'de> de::Deserializer<'de> for Setting {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.json() {
            Some(value) => value.deserialize_any(visitor).map_err(|e| self.named(e)),
            None => visitor.visit_string(self.text.clone()).map_err(|e: de::value::Error| self.named(e)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_string(self.text.clone()).map_err(|e: de::value::Error| self.named(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.json() {
            Some(value @ serde_json::Value::Array(_)) => value.deserialize_seq(visitor).map_err(|e| self.named(e)),
            // One value where a list is expected: a list of one.
            _ => {
                let one = vec![Setting { key: self.key.clone(), text: self.text.clone() }];
                visitor.visit_seq(de::value::SeqDeserializer::new(one.into_iter())).map_err(|e| self.named(e))
            }
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.json() {
            Some(value @ serde_json::Value::Object(_)) => {
                value.deserialize_enum(name, variants, visitor).map_err(|e| self.named(e))
            }
            _ => self
                .text
                .clone()
                .into_deserializer()
                .deserialize_enum(name, variants, visitor)
                .map_err(|e: de::value::Error| self.named(e)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct
        tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "snake_case")]
    struct Settings {
        server_url: String,
        code: String,
        #[serde(default)]
        groups: Vec<String>,
        page_size: Option<u32>,
        verify: Option<bool>,
        mode: Option<Mode>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Tag,
        CustomAttribute,
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, Error> {
        from_settings(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn reads_each_setting_as_its_field_asks() {
        let settings = load(&[
            ("server_url", "https://h"),
            ("code", "123"),
            ("groups", r#"["Lab","Sales"]"#),
            ("page_size", "500"),
            ("verify", "true"),
            ("mode", "custom_attribute"),
        ])
        .expect("valid");
        assert_eq!(settings.code, "123", "text stays text");
        assert_eq!(settings.groups, ["Lab", "Sales"]);
        assert_eq!((settings.page_size, settings.verify), (Some(500), Some(true)));
        assert_eq!(settings.mode, Some(Mode::CustomAttribute));
        let one = load(&[("server_url", "h"), ("code", "c"), ("groups", "Lab")]).expect("valid");
        assert_eq!(one.groups, ["Lab"], "one name is a list of one");
    }

    #[test]
    fn errors_name_the_setting() {
        let message = |pairs: &[(&str, &str)]| match load(pairs) {
            Err(Error::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(message(&[("code", "c")]), "the setting `server_url` is missing");
        let wrong = message(&[("server_url", "h"), ("code", "c"), ("page_size", "ten")]);
        assert!(wrong.starts_with("the setting `page_size`: invalid type"), "{wrong}");
        let mode = message(&[("server_url", "h"), ("code", "c"), ("mode", "label")]);
        assert!(mode.starts_with("the setting `mode`: unknown variant `label`"), "{mode}");
        let unknown = message(&[("server_url", "h"), ("code", "c"), ("colour", "red")]);
        assert!(unknown.starts_with("the setting `colour` is not one this plugin takes (expected one of"), "{unknown}");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "[secret] [secret]");
        assert_eq!(secret.expose(), "hunter2");
    }
}
