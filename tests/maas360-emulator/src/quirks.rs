//! The list quirk: MaaS360 writes a one-item list as a bare object and leaves an empty list out.

use serde::Serialize;

/// A list as MaaS360 writes it: one item alone is an object, more are an array.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Listed<T> {
    One(T),
    Many(Vec<T>),
}

/// `items` the way the tenant writes them: with quirks on, `None` (key absent) for no items and a bare
/// object for one; with quirks off, always an array.
pub fn listed<T>(mut items: Vec<T>, quirks: bool) -> Option<Listed<T>> {
    if !quirks {
        return Some(Listed::Many(items));
    }
    match items.len() {
        0 => None,
        1 => items.pop().map(Listed::One),
        _ => Some(Listed::Many(items)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(items: Vec<u8>, quirks: bool) -> String {
        serde_json::to_string(&listed(items, quirks)).expect("json")
    }

    #[test]
    fn one_is_an_object_none_is_absent_unless_quirks_are_off() {
        assert_eq!(render(vec![], true), "null");
        assert_eq!(render(vec![7], true), "7");
        assert_eq!(render(vec![7, 8], true), "[7,8]");
        assert_eq!(render(vec![], false), "[]");
        assert_eq!(render(vec![7], false), "[7]");
    }
}
