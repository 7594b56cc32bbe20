//! The PII filter: personal data leaves the premises only as tokens, and comes back as plaintext
//! only here.
//!
//! The tokens themselves (format, keyring, canonical values, detectors, streaming restorer) are
//! the `connector-pii` crate, re-exported here. This module adds what needs the plugin types:
//! [`records`] says where the personal data is in each WIT record, and [`PiiFilter`] tokenizes
//! and restores whole records under the admin's policy.

pub mod records;

pub use connector_pii::{audit, canonical, detect, keyring, kind, policy, restore, token, tokenizer};

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

pub use connector_pii::{Detector, Detectors, FieldPolicy, Kind, Revealed, TokenError, TokenizeError, Tokenizer};
pub use records::{Markup, PiiFields};

use crate::plugins::worlds::{Pii, PiiKind};

/// The token kind of a WIT `pii-kind`; `None` for free text, which is scanned instead.
pub const fn kind_of(kind: PiiKind) -> Option<Kind> {
    Some(match kind {
        PiiKind::DeviceName => Kind::DeviceName,
        PiiKind::PersonName => Kind::PersonName,
        PiiKind::UserName => Kind::UserName,
        PiiKind::Email => Kind::Email,
        PiiKind::Phone => Kind::Phone,
        PiiKind::Identifier => Kind::Identifier,
        PiiKind::FreeText => return None,
    })
}

/// Tokenizes records on their way to the cloud and restores them on their way to a plugin.
#[derive(Debug)]
pub struct PiiFilter {
    tokenizer: Arc<Tokenizer>,
    fields: FieldPolicy,
    detectors: Detectors,
}

/// Why a record could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("a {field} field holds a token that does not open: {error}")]
    Token { field: &'static str, error: TokenError },
    #[error("a {field} field holds a token of a {found}")]
    KindMismatch { field: &'static str, found: Kind },
}

impl PiiFilter {
    pub fn new(tokenizer: Arc<Tokenizer>, fields: FieldPolicy, detectors: Detectors) -> Self {
        Self { tokenizer, fields, detectors }
    }

    pub fn tokenizer(&self) -> &Arc<Tokenizer> {
        &self.tokenizer
    }

    pub fn fields(&self) -> &FieldPolicy {
        &self.fields
    }

    /// Tokenizes every personal value of `record` in place; free text gets its emails and phone
    /// numbers tokenized where they stand. On error the record must not be sent: some values
    /// may still be plaintext.
    pub fn outgoing<T: PiiFields + ?Sized>(&self, record: &mut T) -> Result<(), TokenizeError> {
        let mut result = Ok(());
        record.visit(&self.fields, &mut |pii: &mut Pii, _| {
            if result.is_err() {
                return;
            }
            match kind_of(pii.kind) {
                Some(kind) => {
                    let mut token = String::new();
                    match self.tokenizer.tokenize_into(kind, &pii.value, &mut token) {
                        Ok(()) => pii.value = token,
                        Err(e) => result = Err(e),
                    }
                }
                None => {
                    if let Cow::Owned(scrubbed) = self.scrub(&pii.value) {
                        pii.value = scrubbed;
                    }
                }
            }
        });
        result
    }

    /// Restores every token in `record` in place: a `pii` holding a token gets its plaintext (the
    /// token's kind must be the field's), free text gets each token inside restored. Values that
    /// are not tokens are left as they are.
    pub fn incoming<T: PiiFields + ?Sized>(&self, record: &mut T) -> Result<(), RestoreError> {
        let mut result = Ok(());
        let mut restored = 0;
        record.visit(&self.fields, &mut |pii: &mut Pii, markup| {
            if result.is_err() {
                return;
            }
            let field = wit_kind_name(pii.kind);
            match kind_of(pii.kind) {
                Some(kind) if pii.value.starts_with(token::PREFIX_STR) => match self.tokenizer.reveal(&pii.value) {
                    Ok(revealed) if revealed.kind == kind => {
                        pii.value = revealed.value.to_string();
                        restored += 1;
                    }
                    Ok(revealed) => result = Err(RestoreError::KindMismatch { field, found: revealed.kind }),
                    Err(error) => result = Err(RestoreError::Token { field, error }),
                },
                Some(_) => {}
                None => {
                    let context = match markup {
                        Markup::Text => restore::Context::PlainText,
                        Markup::Html => restore::Context::Html,
                    };
                    let (text, stats) = restore::restore_all(self.tokenizer.clone(), context, pii.value.as_bytes());
                    restored += stats.restored;
                    pii.value =
                        String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                }
            }
        });
        crate::metrics::metrics().tokens_restored("task", restored);
        result
    }

    /// Tokenizes the emails and phone numbers the detectors find in `text`.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.detectors.replace(text, |kind, found| self.token_or_mark(kind, found))
    }

    /// A scrubber that also replaces each of `known` (values a call handled) wherever it appears.
    pub fn scrubber(&self, known: impl IntoIterator<Item = (Kind, String)>) -> Scrubber<'_> {
        // Very short values ("Al", "1") would blank out ordinary words: names that short are left
        // to the typed fields.
        let known: Vec<(Kind, String)> = known.into_iter().filter(|(_, v)| v.trim().chars().count() >= 3).collect();
        let matcher = if known.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(known.iter().map(|(_, v)| v.as_str()))
                .ok()
        };
        Scrubber { filter: self, known, matcher }
    }

    fn token_or_mark(&self, kind: Kind, value: &str) -> String {
        // A value too long for a token is not sent at all.
        self.tokenizer.tokenize(kind, value).unwrap_or_else(|_| format!("[{kind} withheld]"))
    }
}

fn wit_kind_name(kind: PiiKind) -> &'static str {
    match kind_of(kind) {
        Some(kind) => kind.as_str(),
        None => "free-text",
    }
}

/// Replaces known personal values and detected ones in text that has no types: a plugin's log
/// lines and error messages.
pub struct Scrubber<'f> {
    filter: &'f PiiFilter,
    known: Vec<(Kind, String)>,
    matcher: Option<AhoCorasick>,
}

impl Scrubber<'_> {
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let text = match &self.matcher {
            Some(matcher) if matcher.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                matcher.replace_all_with(text, &mut out, |m, _, out| {
                    let (kind, value) = &self.known[m.pattern().as_usize()];
                    out.push_str(&self.filter.token_or_mark(*kind, value));
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(text),
        };
        match text {
            Cow::Borrowed(text) => self.filter.scrub(text),
            Cow::Owned(text) => Cow::Owned(self.filter.scrub(&text).into_owned()),
        }
    }
}

/// Collects the plaintext personal values of a record (before it is tokenized): what a scrubber
/// must look for in the text that came with it.
pub fn known_values<T: PiiFields + ?Sized>(record: &mut T, policy: &FieldPolicy) -> Vec<(Kind, String)> {
    let mut known = Vec::new();
    record.visit(policy, &mut |pii: &mut Pii, _| {
        if let Some(kind) = kind_of(pii.kind)
            && !pii.value.starts_with(token::PREFIX_STR)
        {
            known.push((kind, pii.value.clone()));
        }
    });
    known
}

#[cfg(test)]
mod tests {
    use super::canonical::Canonicalizer;
    use super::keyring::Keyring;
    use super::*;
    use crate::plugins::worlds::mail::{Address, Message};
    use crate::plugins::worlds::uem::{Attribute, AttributeValue};

    fn filter() -> PiiFilter {
        let tokenizer = Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::default());
        PiiFilter::new(
            Arc::new(tokenizer),
            FieldPolicy::new([("Employee ID".to_string(), Kind::Identifier)]),
            Detectors::new(&[Detector::Email, Detector::Phone], None),
        )
    }

    fn pii(kind: PiiKind, value: &str) -> Pii {
        Pii { kind, value: value.to_string() }
    }

    #[test]
    fn outgoing_tokenizes_typed_fields_policy_fields_and_free_text() {
        let filter = filter();
        let mut attributes = vec![
            Attribute { name: "employee id".into(), value: AttributeValue::Text("E-1234".into()) },
            Attribute { name: "cost center".into(), value: AttributeValue::Text("CC-9".into()) },
        ];
        filter.outgoing(&mut attributes).expect("tokenize");
        assert!(matches!(&attributes[0].value, AttributeValue::Personal(p) if p.value.starts_with("pii1_")));
        assert!(matches!(&attributes[1].value, AttributeValue::Text(t) if t == "CC-9"));

        let mut message = Message {
            id: "m1".into(),
            sender: None,
            to: vec![Address {
                email: pii(PiiKind::Email, "Bob@Example.com"),
                display_name: Some(pii(PiiKind::PersonName, "Bob B")),
            }],
            cc: vec![],
            bcc: vec![],
            reply_to: None,
            subject: pii(PiiKind::FreeText, "Device of bob@example.com is at risk"),
            text_body: None,
            html_body: None,
            headers: vec![],
        };
        let original = message.clone();
        filter.outgoing(&mut message).expect("tokenize");
        assert!(message.to[0].email.value.starts_with("pii1_"));
        assert!(message.subject.value.starts_with("Device of pii1_") && message.subject.value.ends_with(" is at risk"));

        filter.incoming(&mut message).expect("restore");
        assert_eq!(message.to[0].email.value, "bob@example.com");
        assert_eq!(message.to[0].display_name.as_ref().map(|p| p.value.as_str()), Some("Bob B"));
        assert_eq!(message.subject.value, original.subject.value);
    }

    #[test]
    fn tokens_in_an_html_mail_body_are_restored_as_html() {
        let filter = filter();
        let token = filter.tokenizer().tokenize(Kind::DeviceName, "<script>x()</script>").expect("tokenize");
        let mut body = Some(pii(PiiKind::FreeText, &format!("<p>Device {token} is at risk</p>")));
        let mut message = Message {
            id: "m".into(),
            sender: None,
            to: vec![],
            cc: vec![],
            bcc: vec![],
            reply_to: None,
            subject: pii(PiiKind::FreeText, &format!("Device {token}")),
            text_body: None,
            html_body: body.take(),
            headers: vec![],
        };
        filter.incoming(&mut message).expect("restore");
        assert_eq!(message.subject.value, "Device <script>x()</script>");
        let html = message.html_body.map(|p| p.value).unwrap_or_default();
        assert_eq!(html, "<p>Device &lt;script&gt;x()&lt;/script&gt; is at risk</p>");
    }

    #[test]
    fn incoming_refuses_a_token_of_another_kind() {
        let filter = filter();
        let token = filter.tokenizer().tokenize(Kind::DeviceName, "Alice's iPhone").expect("tokenize");
        let mut wrong = Address { email: pii(PiiKind::Email, &token), display_name: None };
        let error = filter.incoming(&mut wrong).expect_err("kind mismatch");
        assert!(matches!(error, RestoreError::KindMismatch { field: "email", found: Kind::DeviceName }), "{error}");
        assert_eq!(wrong.email.value, token, "nothing half-restored");
    }

    #[test]
    fn scrubbers_replace_known_values_and_detected_ones() {
        let filter = filter();
        let scrubber =
            filter.scrubber([(Kind::DeviceName, "Alice's iPhone".to_string()), (Kind::PersonName, "Al".to_string())]);
        let line = scrubber.scrub("synced Alice's iPhone for Al, mail alice@example.com");
        assert!(!line.contains("Alice's iPhone") && !line.contains("alice@example.com"), "{line}");
        assert!(line.contains(" for Al,"), "values under three characters are left: {line}");
    }
}
