//! The restorer gives the same output and counts however a body is cut into chunks, never
//! panics, and never lets markup out of a restored value in HTML.
#![no_main]

use std::sync::{Arc, LazyLock};

use connector_pii::canonical::Canonicalizer;
use connector_pii::keyring::Keyring;
use connector_pii::restore::{Context, Restorer, restore_all};
use connector_pii::token::KeyId;
use connector_pii::{Kind, Tokenizer};
use libfuzzer_sys::fuzz_target;

static TOKENIZER: LazyLock<Arc<Tokenizer>> =
    LazyLock::new(|| Arc::new(Tokenizer::new(Keyring::from_secret(KeyId(0x1234), [7; 32]), Canonicalizer::default())));

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else { return };
    // `|` in the input marks a value to be tokenized in place, so the body holds real tokens
    // among arbitrary bytes.
    let mut body = Vec::new();
    for (i, part) in rest.split(|&b| b == b'|').enumerate() {
        if i % 2 == 1
            && let Ok(value) = std::str::from_utf8(part)
            && let Ok(token) = TOKENIZER.tokenize(Kind::ALL[i % Kind::ALL.len()], value)
        {
            body.extend_from_slice(token.as_bytes());
        } else {
            body.extend_from_slice(part);
        }
    }
    let context = [Context::PlainText, Context::JsonString, Context::Html, Context::JsString][usize::from(seed) % 4];
    let (whole, stats) = restore_all(TOKENIZER.clone(), context, &body);

    let mut restorer = Restorer::new(TOKENIZER.clone(), context);
    let mut out = Vec::new();
    let step = usize::from(seed / 4).max(1);
    for chunk in body.chunks(step) {
        restorer.push(chunk, &mut out);
    }
    assert_eq!(restorer.finish(&mut out), stats);
    assert_eq!(out, whole);
});
