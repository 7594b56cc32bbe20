//! The PII guard: what a connector sends must carry personal values only as tokens. Every stored
//! result, error, inventory line and event is checked; a violation is stored anyway but recorded,
//! by place and field name, never with the offending value.

use std::fmt::Write;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

/// The personal fields of a device object (inventory lines, `uem.device` results, events).
pub const PERSONAL_FIELDS: [&str; 5] = ["name", "owner", "user_name", "email", "phone"];

/// The WIT `pii-kind` cases, as a `{"kind","value"}` record carries them.
const PII_KINDS: [&str; 6] = ["DeviceName", "PersonName", "UserName", "Email", "Phone", "Identifier"];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").unwrap_or_else(|_| unreachable!("valid regex"))
});
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"pii1_[A-Za-z0-9_-]+").unwrap_or_else(|_| unreachable!("valid regex")));

/// A stored value that broke the guard: where (e.g. `result t-…`, `inventory t-… seq 0`) and the
/// JSON path of the offending field. Never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PiiViolation {
    #[serde(rename = "where")]
    pub location: String,
    pub field: String,
}

/// `^pii1_[A-Za-z0-9_-]+$`.
pub fn is_token(text: &str) -> bool {
    text.strip_prefix("pii1_").is_some_and(|body| {
        !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `text` holds an email address outside tokens.
pub fn has_email(text: &str) -> bool {
    if !text.contains('@') {
        return false;
    }
    if text.contains("pii1_") { EMAIL.is_match(&TOKEN.replace_all(text, " ")) } else { EMAIL.is_match(text) }
}

/// A delivery's `message_id` that connectors derive from the task (`<msc.TASK@DOMAIN>`): shaped
/// like an address, but naming a task, not a person.
fn is_message_id(path: &[Seg<'_>], text: &str) -> bool {
    matches!(path.last(), Some(Seg::Key("message_id")))
        && text.strip_prefix("<msc.").and_then(|t| t.strip_suffix('>')).is_some_and(|t| t.matches('@').count() == 1)
}

/// A personal field's value is acceptable: null, empty, a token, or a `{"kind","value"}` record
/// whose value is one of those.
fn personal_ok(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty() || is_token(text),
        Value::Object(record) => match record.get("value") {
            Some(Value::Null) => true,
            Some(Value::String(text)) => text.is_empty() || is_token(text),
            _ => false,
        },
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Other,
    /// This value is a device object (under a `device` key).
    Device,
    /// This value is a list of devices (under a `devices` key).
    Devices,
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn render(path: &[Seg<'_>], last: Option<&str>) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    if let Some(last) = last {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(last);
    }
    if out.is_empty() { "(root)".to_string() } else { out }
}

/// Checks `value` (stored at `location`), appending violations to `out`. Returns how many were found.
/// `location` is only called when something was found.
pub fn check(
    value: &Value,
    location: impl FnOnce() -> String,
    root: Option<&str>,
    out: &mut Vec<PiiViolation>,
) -> usize {
    let mut found = Vec::new();
    let mut path = Vec::new();
    if let Some(root) = root {
        path.push(Seg::Key(root));
    }
    walk(value, &mut path, Context::Other, &mut found);
    found.dedup();
    let count = found.len();
    if count > 0 {
        let location = location();
        out.extend(found.into_iter().map(|field| PiiViolation { location: location.clone(), field }));
    }
    count
}

fn walk<'a>(value: &'a Value, path: &mut Vec<Seg<'a>>, context: Context, found: &mut Vec<String>) {
    match value {
        Value::String(text) if has_email(text) && !is_message_id(path, text) => push(found, render(path, None)),
        Value::Array(items) => {
            let inner = if context == Context::Devices { Context::Device } else { Context::Other };
            for (index, item) in items.iter().enumerate() {
                path.push(Seg::Index(index));
                walk(item, path, inner, found);
                path.pop();
            }
        }
        Value::Object(map) => {
            if context == Context::Device {
                for field in PERSONAL_FIELDS {
                    if map.get(field).is_some_and(|v| !personal_ok(v)) {
                        push(found, render(path, Some(field)));
                    }
                }
            }
            let pii_record =
                map.len() == 2 && map.get("kind").and_then(Value::as_str).is_some_and(|kind| PII_KINDS.contains(&kind));
            if pii_record && map.get("value").is_some_and(|v| !personal_ok(v)) {
                push(found, render(path, None));
            }
            for (key, item) in map {
                if has_email(key) {
                    push(found, render(path, Some("(key)")));
                }
                let inner = match key.as_str() {
                    "device" => Context::Device,
                    "devices" => Context::Devices,
                    _ => Context::Other,
                };
                path.push(Seg::Key(key));
                walk(item, path, inner, found);
                path.pop();
            }
        }
        _ => {}
    }
}

fn push(found: &mut Vec<String>, field: String) {
    if !found.contains(&field) {
        found.push(field);
    }
}

/// Finds plaintext needles (ASCII case-insensitive) in stored values, tokens left out.
pub struct Finder {
    needles: Vec<String>,
    search: Option<AhoCorasick>,
}

impl Finder {
    pub fn new(needles: &[String]) -> Self {
        let needles: Vec<String> = needles.iter().filter(|n| !n.trim().is_empty()).cloned().collect();
        let search = AhoCorasick::builder().ascii_case_insensitive(true).build(&needles).ok();
        Self { needles, search }
    }

    /// Appends `"{location} {path}: {needle}"` for every needle found in `value`.
    pub fn scan(&self, value: &Value, location: &str, out: &mut Vec<String>) {
        if self.search.is_none() {
            return;
        }
        let mut path = Vec::new();
        self.walk(value, &mut path, location, out);
    }

    fn walk<'a>(&self, value: &'a Value, path: &mut Vec<Seg<'a>>, location: &str, out: &mut Vec<String>) {
        match value {
            Value::String(text) => self.text(text, path, None, location, out),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(Seg::Index(index));
                    self.walk(item, path, location, out);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.text(key, path, Some("(key)"), location, out);
                    path.push(Seg::Key(key));
                    self.walk(item, path, location, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn text(&self, text: &str, path: &[Seg<'_>], last: Option<&str>, location: &str, out: &mut Vec<String>) {
        let Some(search) = &self.search else { return };
        let stripped;
        let text = if text.contains("pii1_") {
            stripped = TOKEN.replace_all(text, " ");
            stripped.as_ref()
        } else {
            text
        };
        for found in search.find_iter(text) {
            let needle = &self.needles[found.pattern().as_usize()];
            let entry = format!("{location} {}: {needle}", render(path, last));
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn violations(value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        check(value, || "here".to_string(), None, &mut out);
        out.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn tokens_pass_and_plaintext_is_flagged() {
        let line = json!({"instance": "m", "device": {"id": "A1", "name": "pii1_abc-_9", "owner": null,
            "email": "", "phone": "pii1_x", "user_name": "jsmith"}, "apps": [{"name": "Mail"}]});
        assert_eq!(violations(&line), ["device.user_name"]);
        let line = json!({"device": {"email": "alice@example.com"}});
        assert_eq!(violations(&line), ["device.email"]);
        let result = json!({"message": "sent to bob@example.org today", "x": "pii1_abc@example.com"});
        assert_eq!(violations(&result), ["message"]);
        let event = json!({"devices": [{"name": {"kind": "DeviceName", "value": "Bob's phone"}}],
            "f": {"Personal": {"kind": "Email", "value": "pii1_ok"}}});
        assert_eq!(violations(&event), ["devices[0].name"]);
        let delivery = json!({"delivery": {"message_id": "<msc.t-1@corp.example>"},
            "other": {"message_id": "<bob@example.org>"}});
        assert_eq!(violations(&delivery), ["other.message_id"], "only connector-made Message-IDs pass");
        assert!(!is_token("pii1_"));
        assert!(!is_token("pii1_a b"));
    }

    #[test]
    fn finder_skips_tokens() {
        let finder = Finder::new(&["Alice Smith".to_string(), "pii1".to_string(), String::new()]);
        let mut out = Vec::new();
        finder.scan(&json!({"a": ["hello ALICE smith"], "b": "pii1_AAAA"}), "loc", &mut out);
        assert_eq!(out, ["loc a[0]: Alice Smith"]);
    }
}
