//! One spelling per value, so that one person yields one token: emails and user names in lower case, phone
//! numbers in E.164, names trimmed, Unicode in NFC. Restoring gives back the canonical spelling.

use std::borrow::Cow;

use phonenumber::Mode;
use phonenumber::country::Id as Region;
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

use crate::kind::Kind;

/// Canonicalises values before they are tokenized.
#[derive(Clone, Debug, Default)]
pub struct Canonicalizer {
    /// Where a phone number written without a country code is taken to be.
    default_region: Option<Region>,
}

impl Canonicalizer {
    pub fn new(default_region: Option<Region>) -> Self {
        Self { default_region }
    }

    /// The canonical spelling of `value` as a `kind`; borrowed when it already is canonical.
    pub fn canonical<'a>(&self, kind: Kind, value: &'a str) -> Cow<'a, str> {
        let value = nfc(value.trim());
        match kind {
            // Directories and UEMs match account names without case: `JSmith` is `jsmith`.
            Kind::Email | Kind::UserName => lowercase(value),
            Kind::Phone => self.phone(value),
            Kind::DeviceName | Kind::PersonName => collapse_spaces(value),
            Kind::Identifier => value,
        }
    }

    /// E.164 (`+14155550100`) when the number can be read as one; otherwise the digits alone, or
    /// the trimmed text when it holds more than a number (an extension, letters).
    fn phone<'a>(&self, value: Cow<'a, str>) -> Cow<'a, str> {
        // The common spellings of an international number need no parser: `+`, or `00`, then
        // digits and separators, maybe with the `(0)` some countries write after the code.
        let text =
            if value.contains("(0)") { Cow::Owned(value.replace("(0)", "")) } else { Cow::Borrowed(value.as_ref()) };
        let international = text.strip_prefix('+').or_else(|| text.strip_prefix("00"));
        if let Some(rest) = international
            && let Some(digits) = digits_only(rest, "+")
            && (8..=16).contains(&digits.len())
        {
            return Cow::Owned(digits);
        }
        if let Ok(number) = phonenumber::parse(self.default_region, value.as_ref())
            && phonenumber::is_valid(&number)
        {
            return Cow::Owned(number.format().mode(Mode::E164).to_string());
        }
        match digits_only(&value, "") {
            Some(digits) if !digits.is_empty() => Cow::Owned(digits),
            _ => value,
        }
    }
}

/// `lead` and the digits of `text`, if it holds nothing but digits and the usual separators.
fn digits_only(text: &str, lead: &str) -> Option<String> {
    let mut digits = String::with_capacity(lead.len() + text.len());
    digits.push_str(lead);
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    Some(digits)
}

fn nfc(value: &str) -> Cow<'_, str> {
    if value.is_ascii() || is_nfc_quick(value.chars()) == unicode_normalization::IsNormalized::Yes {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.nfc().collect())
    }
}

fn lowercase(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.is_ascii() {
        return if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            value
        };
    }
    if value.chars().any(char::is_uppercase) { Cow::Owned(value.to_lowercase()) } else { value }
}

/// Runs of whitespace become one space: "Alice  Smith" and "Alice Smith" are one person.
fn collapse_spaces(value: Cow<'_, str>) -> Cow<'_, str> {
    let mut previous_space = false;
    // ASCII text needs no decoding to find a tab or a double space.
    let needs = if value.is_ascii() {
        value.as_bytes().windows(2).any(|w| w == b"  ") || value.bytes().any(|b| b.is_ascii_whitespace() && b != b' ')
    } else {
        value.chars().any(|c| {
            let space = c.is_whitespace();
            let needs = space && (previous_space || c != ' ');
            previous_space = space;
            needs
        })
    };
    if !needs {
        return value;
    }
    Cow::Owned(value.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(kind: Kind, value: &str) -> String {
        Canonicalizer::new(Some(Region::US)).canonical(kind, value).into_owned()
    }

    #[test]
    fn emails_fold_case_and_trim() {
        assert_eq!(canon(Kind::Email, "  Alice.Smith@Example.COM "), "alice.smith@example.com");
        assert_eq!(canon(Kind::Email, "ÉLODIE@exemple.fr"), "élodie@exemple.fr");
    }

    #[test]
    fn phones_become_e164() {
        for spelling in ["+1 (415) 555-0100", "+1-415-555-0100", "001 415 555 0100", "(415) 555-0100", "415.555.0100"] {
            assert_eq!(canon(Kind::Phone, spelling), "+14155550100", "{spelling}");
        }
        assert_eq!(canon(Kind::Phone, "+44 (0)20 7946 0000"), "+442079460000");
        assert_eq!(canon(Kind::Phone, "ext 12"), "ext 12");
    }

    #[test]
    fn names_keep_case_but_not_extra_spaces() {
        assert_eq!(canon(Kind::PersonName, " Alice \t Smith "), "Alice Smith");
        assert_eq!(canon(Kind::DeviceName, "Alice's iPhone"), "Alice's iPhone");
        // "é" composed and decomposed are one name.
        assert_eq!(canon(Kind::PersonName, "Ele\u{301}onore"), "El\u{e9}onore");
        assert_eq!(canon(Kind::UserName, " JSmith "), "jsmith");
    }
}
