//! Any bytes given to `reveal` are refused or open to exactly what was sealed; a token built
//! from the input and then damaged never opens.
#![no_main]

use std::sync::LazyLock;

use connector_pii::canonical::Canonicalizer;
use connector_pii::keyring::Keyring;
use connector_pii::token::{KeyId, PREFIX};
use connector_pii::{Kind, Tokenizer};
use libfuzzer_sys::fuzz_target;

static TOKENIZER: LazyLock<Tokenizer> =
    LazyLock::new(|| Tokenizer::new(Keyring::from_secret(KeyId(0x1234), [7; 32]), Canonicalizer::default()));

fuzz_target!(|data: &[u8]| {
    // Arbitrary input, with and without the prefix, must never panic.
    let _ = TOKENIZER.reveal_bytes(data);
    let mut prefixed = PREFIX.to_vec();
    prefixed.extend_from_slice(data);
    if let Ok(revealed) = TOKENIZER.reveal_bytes(&prefixed) {
        // Only a token this keyring sealed can open, and it must seal back to itself.
        let again = TOKENIZER.tokenize(revealed.kind, &revealed.value).expect("re-seal");
        assert_eq!(again.as_bytes(), &prefixed[..], "a second spelling of a token opened");
    }

    // A real token of the input, damaged at a place the input picks, must not open.
    let Some((&pick, value)) = data.split_first() else { return };
    let Ok(value) = std::str::from_utf8(value) else { return };
    let kind = Kind::ALL[usize::from(pick) % Kind::ALL.len()];
    let Ok(token) = TOKENIZER.tokenize(kind, value) else { return };
    if token.is_empty() {
        return;
    }
    let revealed = TOKENIZER.reveal(&token).expect("own token opens");
    assert_eq!(revealed.kind, kind);
    let mut damaged = token.clone().into_bytes();
    let at = PREFIX.len() + usize::from(pick) % (damaged.len() - PREFIX.len());
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    assert!(TOKENIZER.reveal_bytes(&damaged).is_err(), "a damaged token opened");
    assert!(TOKENIZER.reveal_bytes(&token.as_bytes()[..token.len() - 1]).is_err(), "a cut token opened");
});
