//! Detectors: find emails and phone numbers inside free text (a threat summary, a plugin's error
//! message, a log line) so they can be tokenized where they stand.

use std::borrow::Cow;
use std::sync::LazyLock;

use phonenumber::country::Id as Region;
use regex::Regex;
use serde::Deserialize;

use crate::kind::Kind;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}",
    )
    .unwrap_or_else(|e| unreachable!("constant pattern: {e}"))
});

/// International numbers (`+` and 7–15 digits with separators) and common national spellings;
/// each candidate is then checked by the phone-number parser, so dates and ids rarely pass.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+\d[\d \-.()]{5,20}\d|\(?\d{2,4}\)?[ \-.]\d{3,4}[ \-.]\d{3,4}")
        .unwrap_or_else(|e| unreachable!("constant pattern: {e}"))
});

/// Which detectors run on free text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    Email,
    Phone,
}

#[derive(Clone, Debug)]
pub struct Detectors {
    email: bool,
    phone: bool,
    region: Option<Region>,
}

impl Detectors {
    pub fn new(enabled: &[Detector], region: Option<Region>) -> Self {
        Self { email: enabled.contains(&Detector::Email), phone: enabled.contains(&Detector::Phone), region }
    }

    /// Replaces every email and phone number found in `text` with `replace(kind, found)`.
    pub fn replace<'t>(&self, text: &'t str, mut replace: impl FnMut(Kind, &str) -> String) -> Cow<'t, str> {
        let mut found: Vec<(usize, usize, Kind)> = Vec::new();
        if self.email && text.contains('@') {
            found.extend(
                EMAIL
                    .find_iter(text)
                    .filter(|m| standalone(text, m.start(), m.end()))
                    .map(|m| (m.start(), m.end(), Kind::Email)),
            );
        }
        if self.phone && text.bytes().filter(u8::is_ascii_digit).nth(6).is_some() {
            for m in PHONE.find_iter(text) {
                let overlaps = found.iter().any(|&(s, e, _)| m.start() < e && s < m.end());
                if overlaps || !standalone(text, m.start(), m.end()) {
                    continue;
                }
                if let Some(end) = self.phone_end(text, m.start(), m.end()) {
                    found.push((m.start(), end, Kind::Phone));
                }
            }
        }
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        found.sort_unstable_by_key(|&(start, ..)| start);
        let mut out = String::with_capacity(text.len() + found.len() * 48);
        let mut at = 0;
        for (start, end, kind) in found {
            out.push_str(&text[at..start]);
            out.push_str(&replace(kind, &text[start..end]));
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Where a valid number starting at `start` ends: the whole match, or, when the match took
    /// in a trailing group that is not part of the number (`+44 7700 900123 3 times`), the
    /// match cut back one separator at a time.
    fn phone_end(&self, text: &str, start: usize, mut end: usize) -> Option<usize> {
        for _ in 0..4 {
            if self.is_phone(&text[start..end]) {
                return Some(end);
            }
            end = text[start..end].rfind([' ', '-', '.']).map(|cut| start + cut)?;
            end = start + text[start..end].trim_end_matches([' ', '-', '.', '(']).len();
        }
        None
    }

    fn is_phone(&self, candidate: &str) -> bool {
        phonenumber::parse(self.region, candidate).is_ok_and(|n| phonenumber::is_valid(&n))
    }
}

/// A match counts only as a whole word: not the middle of a token, an id or a longer number.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'@' || b == b'+';
    let before = start.checked_sub(1).map(|i| text.as_bytes()[i]);
    let after = text.as_bytes().get(end).copied();
    !before.is_some_and(word) && !after.is_some_and(|b| word(b) && b != b'-' || b == b'@')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(text: &str) -> String {
        Detectors::new(&[Detector::Email, Detector::Phone], Some(Region::US))
            .replace(text, |kind, found| format!("[{kind}:{found}]"))
            .into_owned()
    }

    #[test]
    fn finds_emails_and_phone_numbers_in_text() {
        assert_eq!(
            mark("Device of Alice.Smith@example.com (call +1 415-555-0100 or (415) 555-0199) is compromised."),
            "Device of [email:Alice.Smith@example.com] (call [phone:+1 415-555-0100] or [phone:(415) 555-0199]) is compromised."
        );
        assert_eq!(mark("SMS +44 7911 123456 3 times"), "SMS [phone:+44 7911 123456] 3 times");
    }

    #[test]
    fn leaves_dates_ids_and_tokens_alone() {
        for text in [
            "build 2026-11-23 12:00:01, serial 1234567890123",
            "pii1_BAHe-415-555-0100x",
            "version 10.3.4567.1234",
            "no personal data here",
        ] {
            assert_eq!(mark(text), text);
        }
    }
}
