//! The SIEM formatter world (`msc:siem/siem-formatter`), and what its formatters share so that
//! one event reads the same in every format: severity names and the 1 to 10 scale, field values
//! as text, keys for extra fields, the CEF/LEEF header, and one batch rule for bad settings.
//! The syslog header the formatters may add is in [`crate::syslog`].
//!
//! ```
//! use msc_sdk::siem::{self, Severity};
//!
//! let header = siem::pipe_header("CEF:0", &["MTD Cloud", "Mobile Security Connector", "1.0"]);
//! let line = format!("{header}|{}|{}", Severity::High.name(), Severity::High.one_to_ten());
//! assert_eq!(line, "CEF:0|MTD Cloud|Mobile Security Connector|1.0|high|10");
//! ```

use std::collections::HashSet;

use crate::Error;

pub use crate::bindings::siem::exports::msc::siem::formatter::Guest as Formatter;
pub use crate::bindings::siem::msc::siem::types::{
    Event, EventApp, EventDevice, EventNetwork, Field, FieldValue, FormatterInfo, Framing, Origin, Severity,
};

#[cfg(any(test, feature = "testing"))]
pub mod testing;

impl Severity {
    /// The severity as formatters write it in words: `info`, `low`, `medium`, `high` or
    /// `critical`, as the WIT spells it.
    ///
    /// ```
    /// assert_eq!(msc_sdk::siem::Severity::Medium.name(), "medium");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The severity on the 1 to 10 scale of CEF's `Severity` and LEEF's `sev`: ArcSight's
    /// published table (Low 3, Medium 7, High 10), with info at 1 and critical, which the table
    /// lacks, at 10, so one event has one number in both formats.
    ///
    /// ```
    /// use msc_sdk::siem::Severity;
    ///
    /// assert_eq!((Severity::Low.one_to_ten(), Severity::Critical.one_to_ten()), (3, 10));
    /// ```
    pub fn one_to_ten(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 3,
            Severity::Medium => 7,
            Severity::High | Severity::Critical => 10,
        }
    }
}

impl FieldValue {
    /// The value as text formats write it: text and personal data as they are, numbers as Rust
    /// prints an `f64` (`42`, `9.5`, `NaN`, `inf`), flags `true` or `false`, times as
    /// milliseconds since the Unix epoch.
    ///
    /// ```
    /// use msc_sdk::siem::FieldValue;
    ///
    /// assert_eq!(FieldValue::Number(42.0).to_text(), "42");
    /// assert_eq!(FieldValue::Flag(false).to_text(), "false");
    /// ```
    pub fn to_text(&self) -> String {
        match self {
            FieldValue::Text(t) => t.clone(),
            FieldValue::Number(n) => n.to_string(),
            FieldValue::Flag(b) => b.to_string(),
            FieldValue::TimeMs(t) => t.to_string(),
            FieldValue::Personal(p) => p.value.clone(),
        }
    }
}

/// A batch formatted with the instance's settings: `record` writes each event with them, and
/// when they could not be read, every event fails with the same error so the admin sees it at
/// once.
///
/// ```no_run
/// use msc_sdk::siem::{self, Event, Formatter, FormatterInfo, Framing, Origin};
/// use msc_sdk::{Error, config};
///
/// struct Plain;
///
/// impl Formatter for Plain {
///     fn describe() -> FormatterInfo {
///         FormatterInfo { format: "plain".into(), framing: Framing::Newline, media_type: "text/plain".into() }
///     }
///
///     fn format(origin: Origin, events: Vec<Event>) -> Vec<Result<Vec<u8>, Error>> {
///         siem::format_each(config::require("prefix"), &events, |prefix, event| {
///             format!("{prefix} {} {}", origin.hostname, event.name)
///         })
///     }
/// }
///
/// msc_sdk::export_siem!(Plain);
/// ```
pub fn format_each<S>(
    settings: Result<S, Error>,
    events: &[Event],
    record: impl Fn(&S, &Event) -> String,
) -> Vec<Result<Vec<u8>, Error>> {
    match settings {
        Ok(settings) => events.iter().map(|event| Ok(record(&settings, event).into_bytes())).collect(),
        Err(error) => events.iter().map(|_| Err(error.clone())).collect(),
    }
}

/// The header CEF and LEEF share: `prefix` (`CEF:0`, `LEEF:2.0`), then each field after a `|`,
/// with `\` and `|` escaped and CR and LF, which the one-line header cannot hold, as spaces. The
/// caller adds the format's last fields and its body.
///
/// ```
/// let header = msc_sdk::siem::pipe_header("LEEF:2.0", &["A|B", "C\\D", "1\r\n2"]);
/// assert_eq!(header, "LEEF:2.0|A\\|B|C\\\\D|1  2");
/// ```
pub fn pipe_header(prefix: &str, fields: &[&str]) -> String {
    let mut out = String::from(prefix);
    for field in fields {
        out.push('|');
        for c in field.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '|' => out.push_str("\\|"),
                '\r' | '\n' => out.push(' '),
                c => out.push(c),
            }
        }
    }
    out
}

/// The Version field of CEF and LEEF headers: the version of the device's client that reported
/// the event, `1.0` when the event does not say.
pub fn product_version(event: &Event) -> &str {
    event.device.as_ref().and_then(|d| d.client_version.as_deref()).unwrap_or("1.0")
}

/// Keys for one event's extra fields, in formats whose keys allow only some characters:
/// `field_` and the field's name with every character the format does not allow made `_`, cut
/// to the format's length limit if it has one; a key that collides with an earlier one gets
/// `_2`, `_3`... within the limit.
///
/// ```
/// use msc_sdk::siem::FieldKeys;
///
/// let mut keys = FieldKeys::new(|c| c.is_ascii_alphanumeric()).max_len(12);
/// assert_eq!(keys.key("seen at"), "field_seen_a");
/// assert_eq!(keys.key("seen-at"), "field_seen_2");
/// ```
#[derive(Debug)]
pub struct FieldKeys {
    allowed: fn(char) -> bool,
    max_len: Option<usize>,
    used: HashSet<String>,
}

impl FieldKeys {
    /// Keys that hold only `field_` and the characters `allowed` accepts, of any length.
    pub fn new(allowed: fn(char) -> bool) -> Self {
        Self { allowed, max_len: None, used: HashSet::new() }
    }

    /// Keys of at most `max_len` characters, suffix included.
    pub fn max_len(self, max_len: usize) -> Self {
        Self { max_len: Some(max_len), ..self }
    }

    /// The key for the next field named `name`, unlike every key this has given before.
    pub fn key(&mut self, name: &str) -> String {
        let limit = self.max_len.unwrap_or(usize::MAX);
        let sanitized = name.chars().map(|c| if (self.allowed)(c) { c } else { '_' });
        let base: String = "field_".chars().chain(sanitized).take(limit).collect();
        let mut key = base.clone();
        let mut n = 1;
        while !self.used.insert(key.clone()) {
            n += 1;
            let suffix = format!("_{n}");
            let room = limit.saturating_sub(suffix.chars().count());
            key = base.chars().take(room).chain(suffix.chars()).collect();
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pii;

    #[test]
    fn severities_have_names_and_the_cef_scale() {
        let all = [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
        let names: Vec<&str> = all.into_iter().map(Severity::name).collect();
        assert_eq!(names, ["info", "low", "medium", "high", "critical"]);
        let scale: Vec<u8> = all.into_iter().map(Severity::one_to_ten).collect();
        assert_eq!(scale, [1, 3, 7, 10, 10]);
    }

    #[test]
    fn field_values_as_text() {
        let texts: Vec<String> = [
            FieldValue::Text("a b".into()),
            FieldValue::Number(-7.0),
            FieldValue::Number(9.5),
            FieldValue::Number(f64::NAN),
            FieldValue::Number(f64::INFINITY),
            FieldValue::Flag(true),
            FieldValue::TimeMs(1_600_000_000_000),
            FieldValue::Personal(Pii::user_name("zoe")),
        ]
        .iter()
        .map(FieldValue::to_text)
        .collect();
        assert_eq!(texts, ["a b", "-7", "9.5", "NaN", "inf", "true", "1600000000000", "zoe"]);
    }

    #[test]
    fn a_bad_setting_fails_every_event() {
        let events = [testing::bare_event(), testing::full_event()];
        let ok: Vec<Vec<u8>> = format_each(Ok("x"), &events, |prefix, event| format!("{prefix}{}", event.id))
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e:?}")))
            .collect();
        assert_eq!(ok, [b"xe-1".to_vec(), format!("x{}", testing::tricky("id")).into_bytes()]);
        let bad = Error::InvalidConfig("the setting `x` is missing".into());
        let failed = format_each(Err::<(), _>(bad), &events, |_, _| unreachable!());
        assert_eq!(failed.len(), 2);
        for result in failed {
            assert!(matches!(result, Err(Error::InvalidConfig(m)) if m == "the setting `x` is missing"));
        }
    }

    #[test]
    fn pipe_headers_split_back_into_their_fields() {
        let event = testing::full_event();
        let fields = [event.event_type.as_str(), &event.name, "|", "\\", ""];
        let line = format!("{}|tail", pipe_header("CEF:0", &fields));
        let (parsed, rest) = testing::split_pipe_header(&line, fields.len() + 1);
        assert_eq!(rest, "tail");
        assert_eq!(parsed[0], "CEF:0");
        let expected: Vec<String> = fields.iter().map(|f| f.replace(['\r', '\n'], " ")).collect();
        assert_eq!(parsed[1..], expected);
    }

    #[test]
    fn the_product_version_is_the_clients() {
        assert_eq!(product_version(&testing::full_event()), "4.2|beta\n");
        assert_eq!(product_version(&testing::bare_event()), "1.0");
    }

    #[test]
    fn field_keys_are_sanitized_short_and_unique() {
        let mut unlimited = FieldKeys::new(|c| c.is_ascii_alphanumeric() || c == '_');
        let keys: Vec<String> = ["a b", "a-b", "a_b", "東京", "", "a b"].iter().map(|n| unlimited.key(n)).collect();
        assert_eq!(keys, ["field_a_b", "field_a_b_2", "field_a_b_3", "field___", "field_", "field_a_b_4"]);

        let mut short = FieldKeys::new(|c| c.is_ascii_graphic()).max_len(10);
        let keys: Vec<String> = ["abcd", "abcd", "abcdefgh", "abcdefgh", "東京"].iter().map(|n| short.key(n)).collect();
        assert_eq!(keys, ["field_abcd", "field_ab_2", "field_ab_3", "field_ab_4", "field___"]);
    }

    #[test]
    fn field_keys_cut_by_characters_not_bytes() {
        let mut keys = FieldKeys::new(|_| true).max_len(8);
        assert_eq!(keys.key("東京東京"), "field_東京");
        assert_eq!(keys.key("東京東京"), "field__2");
    }
}
