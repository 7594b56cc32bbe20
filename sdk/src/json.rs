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

/// Whether a text value means "no value": empty, blank, `N/A`, `NA`, `null`, `none`.
pub fn is_empty_marker(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || ["n/a", "na", "null", "none"].iter().any(|m| text.eq_ignore_ascii_case(m))
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
    }
}
