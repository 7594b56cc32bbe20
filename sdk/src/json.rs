//! Reading the loosely typed JSON of vendor APIs: a list that is an object when it has one item
//! and missing when it has none, numbers where strings are documented, and `""` or `"N/A"` for
//! "no value".
//!
//! ```
//! use msc_sdk::json;
//! use serde_json::json;
//!
//! let one = json!({ "device": { "id": 7, "phone": "" } });
//! let devices: Vec<_> = json::items(&one["device"]).collect();
//! assert_eq!(devices.len(), 1);
//! assert_eq!(json::text(&devices[0]["id"]).as_deref(), Some("7"));
//! assert_eq!(json::text(&devices[0]["phone"]), None);
//! assert_eq!(json::items(&one["missing"]).count(), 0);
//! ```

use serde_json::Value;

/// The items of a list that may be an array, a single object, or absent (`null`).
pub fn items(value: &Value) -> impl Iterator<Item = &Value> {
    let slice = match value {
        Value::Array(items) => items.as_slice(),
        Value::Null => &[],
        single => std::slice::from_ref(single),
    };
    slice.iter()
}

/// Whether a text value means "no value": empty, blank, or `N/A`. (Words such as `None` or
/// `Null` are left alone: they can be real values, a surname among them.)
pub fn is_empty_marker(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text.eq_ignore_ascii_case("n/a")
}

/// A value as text: strings (trimmed) as themselves, numbers and booleans written out; `None` for
/// `null`, objects, arrays and the empty markers of [`is_empty_marker`]. Whole floats keep their
/// decimal point (`14.0`), as the vendor wrote them.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if is_empty_marker(s) => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as an unsigned integer: a JSON number, or a string of digits.
pub fn unsigned(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as a boolean: JSON `true`/`false`, or `yes`/`no`, `true`/`false`, `1`/`0` as text.
pub fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().and_then(|n| match n {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "y" => Some(true),
            "no" | "false" | "0" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A scalar field of a loosely typed record, for typed (and fast) deserialization with serde:
/// a string, a number, a boolean, or absent. `null`, objects and arrays read as absent. Text
/// borrows from the input when it can (mark the field `#[serde(borrow)]`), so fields a plugin
/// never reads cost no copy.
///
/// ```
/// use msc_sdk::json::{OneOrMany, Scalar};
///
/// #[derive(serde::Deserialize)]
/// struct Device<'a> {
///     #[serde(default, borrow, rename = "phoneNumber")]
///     phone: Scalar<'a>,
/// }
/// let one: OneOrMany<Device> = serde_json::from_str(r#"{"phoneNumber": 12025550123}"#).unwrap();
/// assert_eq!(one.0[0].phone.text().as_deref(), Some("12025550123"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Scalar<'a> {
    /// `null`, missing, or an empty marker.
    #[default]
    Absent,
    /// A string, trimmed.
    Text(std::borrow::Cow<'a, str>),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON boolean.
    Flag(bool),
}

impl Scalar<'_> {
    /// As text, like [`text`]: `None` when absent or an empty marker.
    pub fn text(&self) -> Option<String> {
        match self {
            Scalar::Text(s) if is_empty_marker(s) => None,
            Scalar::Text(s) => Some(s.trim().to_string()),
            Scalar::Number(n) => Some(n.to_string()),
            Scalar::Flag(b) => Some(b.to_string()),
            Scalar::Absent => None,
        }
    }

    /// As an unsigned integer, like [`unsigned`].
    pub fn unsigned(&self) -> Option<u64> {
        match self {
            Scalar::Number(n) => unsigned(&Value::Number(n.clone())),
            Scalar::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// As a boolean, like [`flag`].
    pub fn flag(&self) -> Option<bool> {
        match self {
            Scalar::Flag(b) => Some(*b),
            Scalar::Number(n) => flag(&Value::Number(n.clone())),
            Scalar::Text(s) => flag(&Value::String(s.to_string())),
            Scalar::Absent => None,
        }
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(std::borrow::Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(serde_json::Number::from_f64(v).map(Scalar::Number).unwrap_or_default())
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Flag(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Absent)
            }
            fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Absent)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Absent)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Absent)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A list that may arrive as an array, as a single object (one item), or as `null`/absent
/// (none), for typed deserialization: the typed counterpart of [`items`].
#[derive(Clone, Debug, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array, a single object, or null")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|one| OneOrMany(vec![one]))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany(Vec::new()))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_vendors_send() {
        assert_eq!(items(&json!([1, 2])).count(), 2);
        assert_eq!(items(&json!({"a": 1})).count(), 1);
        assert_eq!(items(&Value::Null).count(), 0);
        assert_eq!(text(&json!(14.0)).as_deref(), Some("14.0"));
        assert_eq!(text(&json!(11)).as_deref(), Some("11"));
        assert_eq!(text(&json!(12025550123u64)).as_deref(), Some("12025550123"));
        assert_eq!(text(&json!(" N/A ")), None);
        assert_eq!(text(&json!("")), None);
        assert_eq!(text(&json!(" 17.4.1 ")).as_deref(), Some("17.4.1"));
        assert_eq!(unsigned(&json!("1700000000000")), Some(1_700_000_000_000));
        assert_eq!(unsigned(&json!(12.0)), Some(12));
        assert_eq!(unsigned(&json!(-1)), None);
        assert_eq!(flag(&json!("Yes")), Some(true));
        assert_eq!(flag(&json!(false)), Some(false));
        assert_eq!(flag(&json!("maybe")), None);
        assert_eq!(text(&json!("Null")).as_deref(), Some("Null"));
    }

    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(default, borrow)]
        v: Scalar<'a>,
    }

    #[test]
    fn typed_lists_and_scalars() {
        let many: OneOrMany<Record> =
            serde_json::from_str(r#"[{"v": 14.0}, {"v": "N/A"}, {"v": {"x": 1}}, {}]"#).expect("array");
        let texts: Vec<Option<String>> = many.0.iter().map(|r| r.v.text()).collect();
        assert_eq!(texts, vec![Some("14.0".into()), None, None, None]);
        let one: OneOrMany<Record> = serde_json::from_str(r#"{"v": true}"#).expect("object");
        assert_eq!(one.0.len(), 1);
        assert_eq!(one.0[0].v.flag(), Some(true));
        let none: OneOrMany<Record> = serde_json::from_str("null").expect("null");
        assert!(none.0.is_empty());
        assert_eq!(Scalar::Text(" 42 ".into()).unsigned(), Some(42));
        let borrowed: Record = serde_json::from_str(r#"{"v": "plain"}"#).expect("borrowed");
        assert!(matches!(borrowed.v, Scalar::Text(std::borrow::Cow::Borrowed("plain"))));
    }
}
