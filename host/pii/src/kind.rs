//! The kinds of personal data a token can carry, with the code each has inside a token.

use std::fmt;
use std::str::FromStr;

/// What a tokenized value is. The kind is bound into the token, so the same string tokenized as
/// two kinds yields two unrelated tokens, and it decides how the value is canonicalised.
///
/// `free-text` is not here: free text is never tokenized whole; detectors find the emails and
/// phone numbers inside it (see [`super::policy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    DeviceName,
    PersonName,
    UserName,
    Email,
    Phone,
    Identifier,
}

impl Kind {
    pub const ALL: [Kind; 6] =
        [Kind::DeviceName, Kind::PersonName, Kind::UserName, Kind::Email, Kind::Phone, Kind::Identifier];

    /// The code written into a token's header. Fixed forever: changing one orphans every token.
    pub const fn code(self) -> u8 {
        match self {
            Kind::DeviceName => 1,
            Kind::PersonName => 2,
            Kind::UserName => 3,
            Kind::Email => 4,
            Kind::Phone => 5,
            Kind::Identifier => 6,
        }
    }

    pub const fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            1 => Kind::DeviceName,
            2 => Kind::PersonName,
            3 => Kind::UserName,
            4 => Kind::Email,
            5 => Kind::Phone,
            6 => Kind::Identifier,
            _ => return None,
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::DeviceName => "device-name",
            Kind::PersonName => "person-name",
            Kind::UserName => "user-name",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Identifier => "identifier",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown PII kind `{0}`: expected device-name, person-name, user-name, email, phone or identifier")]
pub struct UnknownKind(String);

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Accepts the WIT names and the short forms the CLI offers (`name`, `user`, `device`).
    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        Ok(match s {
            "device-name" | "device" => Kind::DeviceName,
            "person-name" | "name" | "person" => Kind::PersonName,
            "user-name" | "user" => Kind::UserName,
            "email" => Kind::Email,
            "phone" => Kind::Phone,
            "identifier" | "id" => Kind::Identifier,
            other => return Err(UnknownKind(other.to_string())),
        })
    }
}

/// In the config (`[pii.fields]`), a kind is its name: `device-name`, `email`, …
impl schemars::JsonSchema for Kind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PiiKind".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": Kind::ALL.map(Kind::as_str) })
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.as_str().parse::<Kind>().ok(), Some(kind));
        }
        assert_eq!(Kind::from_code(0), None);
        assert_eq!(Kind::from_code(7), None);
    }
}
