//! Custom attributes: their definitions and each device's values, with the service's validation.

use std::collections::HashMap;

/// An attribute's declared type; only booleans and numbers constrain their values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Text,
    Number,
    Date,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "boolean" => Some(Self::Boolean),
            "text" | "string" => Some(Self::Text),
            "number" | "integer" => Some(Self::Number),
            "date" => Some(Self::Date),
            _ => None,
        }
    }

    fn default_value(self) -> &'static str {
        match self {
            Self::Boolean => "No",
            Self::Text | Self::Number | Self::Date => "",
        }
    }
}

/// Why a value was refused; `description` is what the service answers.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError {
    DeviceNotFound,
    InvalidCharacters,
    NotDefined(String),
    InvalidBoolean,
    InvalidNumber,
}

impl SetError {
    pub fn description(&self) -> String {
        match self {
            Self::DeviceNotFound => "Device not found".to_string(),
            Self::InvalidCharacters => "Invalid characters in attribute name or value".to_string(),
            Self::NotDefined(name) => format!("Custom attribute {name} is not defined"),
            Self::InvalidBoolean => "Invalid value for boolean attribute".to_string(),
            Self::InvalidNumber => "Invalid value for number attribute".to_string(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum DefineError {
    InvalidCharacters,
    Exists,
}

/// Characters MaaS360 refuses in attribute names and values.
pub fn has_forbidden_characters(text: &str) -> bool {
    text.contains(['.', '<', '>', '\\', '"', '\''])
}

pub struct Attributes {
    defined: Vec<(String, Kind)>,
    /// (device id, attribute name) → value; a missing entry holds the type's default.
    values: HashMap<(String, String), String>,
}

impl Default for Attributes {
    /// The tenant starts with the mitigation label `MP_HighRisk`, "No" on every device.
    fn default() -> Self {
        Self { defined: vec![("MP_HighRisk".to_string(), Kind::Boolean)], values: HashMap::new() }
    }
}

impl Attributes {
    pub fn define(&mut self, name: &str, kind: Kind) -> Result<(), DefineError> {
        if has_forbidden_characters(name) {
            return Err(DefineError::InvalidCharacters);
        }
        if self.defined.iter().any(|(known, _)| known.eq_ignore_ascii_case(name)) {
            return Err(DefineError::Exists);
        }
        self.defined.push((name.to_string(), kind));
        Ok(())
    }

    /// Sets a value on a device the caller has found; names match exactly, as the service does.
    pub fn set(&mut self, device_id: &str, name: &str, value: &str) -> Result<(), SetError> {
        if has_forbidden_characters(name) || has_forbidden_characters(value) {
            return Err(SetError::InvalidCharacters);
        }
        let Some((_, kind)) = self.defined.iter().find(|(known, _)| known == name) else {
            return Err(SetError::NotDefined(name.to_string()));
        };
        match kind {
            Kind::Boolean if value != "Yes" && value != "No" => return Err(SetError::InvalidBoolean),
            Kind::Number if !value.is_empty() && value.parse::<f64>().is_err() => return Err(SetError::InvalidNumber),
            _ => {}
        }
        self.values.insert((device_id.to_string(), name.to_string()), value.to_string());
        Ok(())
    }

    pub fn get(&self, device_id: &str, name: &str) -> Option<String> {
        let (name, kind) = self.defined.iter().find(|(known, _)| known == name)?;
        let value = self.values.get(&(device_id.to_string(), name.clone()));
        Some(value.map_or_else(|| kind.default_value().to_string(), String::clone))
    }

    /// Every defined attribute with its value on the device, in definition order.
    pub fn of_device(&self, device_id: &str) -> Vec<(String, String)> {
        self.defined
            .iter()
            .map(|(name, kind)| {
                let value = self.values.get(&(device_id.to_string(), name.clone()));
                (name.clone(), value.map_or_else(|| kind.default_value().to_string(), String::clone))
            })
            .collect()
    }

    /// Forgets the values of a device that left the tenant.
    pub fn forget(&mut self, device_id: &str) {
        self.values.retain(|(id, _), _| id != device_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_the_high_risk_label_off() {
        let attributes = Attributes::default();
        assert_eq!(attributes.get("d1", "MP_HighRisk").as_deref(), Some("No"));
        assert_eq!(attributes.get("d1", "Other"), None);
    }

    #[test]
    fn enforces_names_characters_and_booleans() {
        let mut a = Attributes::default();
        assert_eq!(a.set("d1", "MP_HighRisk", "Yes"), Ok(()));
        assert_eq!(a.get("d1", "MP_HighRisk").as_deref(), Some("Yes"));
        assert_eq!(a.set("d1", "MP_HighRisk", "yes"), Err(SetError::InvalidBoolean));
        assert_eq!(a.set("d1", "mp_highrisk", "Yes"), Err(SetError::NotDefined("mp_highrisk".into())));
        assert_eq!(a.set("d1", "MP_HighRisk", "Y'es"), Err(SetError::InvalidCharacters));
        assert_eq!(a.define("mp_highrisk", Kind::Text), Err(DefineError::Exists));
        assert_eq!(a.define("a.b", Kind::Text), Err(DefineError::InvalidCharacters));
        assert_eq!(a.define("Note", Kind::Text), Ok(()));
        assert_eq!(a.of_device("d1"), vec![("MP_HighRisk".into(), "Yes".into()), ("Note".into(), "".into())]);
        a.forget("d1");
        assert_eq!(a.get("d1", "MP_HighRisk").as_deref(), Some("No"));
    }
}
