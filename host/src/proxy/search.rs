//! Requests the other way: an email or phone number typed into the dashboard (its search box, a
//! filter) is tokenized before it leaves, so the cloud — which holds only tokens — finds the
//! person, and the plaintext never leaves the building. Tokens are deterministic per keyring,
//! which is what makes an exact match work.

use crate::pii::PiiFilter;

/// `query` (an URL query or a form body) with every detected email and phone number in its
/// values tokenized; `None` when nothing was found, so the original is sent byte for byte.
pub fn tokenize_form(filter: &PiiFilter, query: &str) -> Option<String> {
    let mut changed = false;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| {
            let scrubbed = filter.scrub(&value);
            changed |= scrubbed != value;
            (name.into_owned(), scrubbed.into_owned())
        })
        .collect();
    changed.then(|| form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::{Detector, Detectors, FieldPolicy, Tokenizer, canonical::Canonicalizer, keyring::Keyring};
    use std::sync::Arc;

    fn filter() -> PiiFilter {
        let tokenizer = Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::new(None));
        PiiFilter::new(
            Arc::new(tokenizer),
            FieldPolicy::new([]),
            Detectors::new(&[Detector::Email, Detector::Phone], Some(phonenumber::country::Id::US)),
        )
    }

    #[test]
    fn emails_and_phones_are_tokenized_and_the_rest_is_untouched() {
        let filter = filter();
        assert_eq!(tokenize_form(&filter, "q=iPhone+15&page=2"), None);
        let query = tokenize_form(&filter, "q=Alice.Smith%40Example.com&page=2").expect("tokenized");
        assert!(!query.contains("Alice") && !query.contains("example"), "{query}");
        let again = tokenize_form(&filter, "q=alice.smith@example.com&page=2").expect("tokenized");
        assert_eq!(query, again, "one spelling, one token: exact search works");
        let phone = tokenize_form(&filter, "q=%2B1+415+555+0100").expect("tokenized");
        assert!(!phone.contains("555"), "{phone}");
    }
}
