//! Sealing values into tokens and opening tokens back into values, with the keyring's keys.
//!
//! AES-256-GCM-SIV (RFC 8452) with a fixed nonce: the same key, kind and value always give the
//! same token, which is what lets the cloud correlate and search without seeing the value. The
//! kind, key id and length are the associated data, so they are authenticated too. Opening checks
//! the tag before a single byte of plaintext is returned.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm_siv::aead::AeadInOut;
use aes_gcm_siv::{Nonce, Tag};

use crate::canonical::Canonicalizer;
use crate::keyring::Keyring;
use crate::kind::Kind;
use crate::token::{self, Header, KeyId, MAX_HEADER_BYTES, MAX_VALUE_BYTES, PREFIX, TAG_BYTES, TokenError};

/// Tokens no longer than this are remembered once opened: a dashboard page repeats the same few
/// hundred names, and opening a token costs far more than looking it up.
const CACHED_TOKEN_CHARS: usize = 256;
const CACHE_ENTRIES: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizeError {
    #[error("a {kind} of {len} bytes is longer than a token can hold ({MAX_VALUE_BYTES} bytes)")]
    TooLong { kind: Kind, len: usize },
}

/// A token opened: what it held and which key sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revealed {
    pub kind: Kind,
    pub key: KeyId,
    pub value: Arc<str>,
}

/// Tokenizes and restores with one keyring. Shared by every path of a running connector.
pub struct Tokenizer {
    keyring: Keyring,
    canonical: Canonicalizer,
    cache: Mutex<HashMap<Box<[u8]>, Revealed>>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("keyring", &self.keyring).finish_non_exhaustive()
    }
}

thread_local! {
    /// Scratch space for one token body, reused so that sealing allocates only the token.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Tokenizer {
    pub fn new(keyring: Keyring, canonical: Canonicalizer) -> Self {
        Self { keyring, canonical, cache: Mutex::new(HashMap::new()) }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The token of `value` as a `kind`, with the primary key. An empty value stays empty: it
    /// names no one.
    pub fn tokenize(&self, kind: Kind, value: &str) -> Result<String, TokenizeError> {
        let mut out = String::new();
        self.tokenize_into(kind, value, &mut out)?;
        Ok(out)
    }

    /// Appends the token of `value` to `out`.
    pub fn tokenize_into(&self, kind: Kind, value: &str, out: &mut String) -> Result<(), TokenizeError> {
        let value = self.canonical.canonical(kind, value);
        if value.is_empty() {
            return Ok(());
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(TokenizeError::TooLong { kind, len: value.len() });
        }
        self.seal(kind, self.keyring.primary().id, value.as_bytes(), out);
        Ok(())
    }

    fn seal(&self, kind: Kind, key: KeyId, plaintext: &[u8], out: &mut String) {
        let header = Header { kind, key, len: plaintext.len() };
        let (header_bytes, used) = header.encode();
        let header_bytes = &header_bytes[..used];
        let cipher = match self.keyring.get(key) {
            Some(k) => k.cipher(),
            None => self.keyring.primary().cipher(),
        };
        SCRATCH.with_borrow_mut(|body| {
            body.clear();
            body.extend_from_slice(header_bytes);
            body.extend_from_slice(plaintext);
            let aad = associated_data(header_bytes);
            // AES-GCM-SIV refuses only inputs over 2^36 bytes; ours are under 16 KiB.
            let tag = cipher
                .encrypt_inout_detached(&Nonce::default(), &aad.0[..aad.1], (&mut body[used..]).into())
                .unwrap_or_default();
            body.extend_from_slice(&tag);
            token::write(out, body);
            body.fill(0);
        });
    }

    /// Opens one whole token.
    pub fn reveal(&self, token: &str) -> Result<Revealed, TokenError> {
        self.reveal_bytes(token.as_bytes())
    }

    /// Opens one whole token given as bytes, remembering short ones.
    pub fn reveal_bytes(&self, token: &[u8]) -> Result<Revealed, TokenError> {
        match self.cached(token) {
            Some(hit) => Ok(hit),
            None => self.open_and_remember(token),
        }
    }

    /// Opens `token` without looking in the cache first (the caller just did), remembering it
    /// if it is short.
    pub fn open_and_remember(&self, token: &[u8]) -> Result<Revealed, TokenError> {
        let revealed = self.open(token)?;
        if token.len() <= CACHED_TOKEN_CHARS
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(token.into(), revealed.clone());
        }
        Ok(revealed)
    }

    /// What `token` opened to, if it was opened recently.
    pub fn cached(&self, token: &[u8]) -> Option<Revealed> {
        if token.len() > CACHED_TOKEN_CHARS {
            return None;
        }
        self.cache.lock().ok()?.get(token).cloned()
    }

    fn open(&self, token: &[u8]) -> Result<Revealed, TokenError> {
        SCRATCH.with_borrow_mut(|buf| {
            let result = self.open_into(token, buf);
            buf.fill(0);
            result
        })
    }

    fn open_into(&self, token: &[u8], buf: &mut Vec<u8>) -> Result<Revealed, TokenError> {
        // A key this keyring lacks is known from the header: no need to decode the body.
        if let token::Peek::Token { header, .. } = token::peek(token)
            && token.starts_with(PREFIX)
            && self.keyring.get(header.key).is_none()
        {
            return Err(TokenError::UnknownKey(header.key));
        }
        let parsed = token::parse(token, buf)?;
        let key = self.keyring.get(parsed.header.key).ok_or(TokenError::UnknownKey(parsed.header.key))?;
        let aad = associated_data(parsed.header_bytes);
        let tag = Tag::from(*parsed.tag);
        key.cipher()
            .decrypt_inout_detached(&Nonce::default(), &aad.0[..aad.1], (&mut *parsed.ciphertext).into(), &tag)
            .map_err(|_| TokenError::Rejected)?;
        let value = std::str::from_utf8(parsed.ciphertext).map_err(|_| TokenError::NotUtf8)?;
        Ok(Revealed { kind: parsed.header.kind, key: parsed.header.key, value: Arc::from(value) })
    }

    /// The token the primary key gives for the value of `token`: one entry of the map sent up
    /// after a rotation. `None` when `token` already uses the primary key.
    pub fn retokenize(&self, token: &str) -> Result<Option<String>, TokenError> {
        let revealed = self.reveal(token)?;
        let primary = self.keyring.primary().id;
        if revealed.key == primary {
            return Ok(None);
        }
        let mut out = String::new();
        self.seal(revealed.kind, primary, revealed.value.as_bytes(), &mut out);
        Ok(Some(out))
    }
}

/// The associated data of a token: the prefix (its format version) and its header.
fn associated_data(header: &[u8]) -> ([u8; PREFIX.len() + MAX_HEADER_BYTES], usize) {
    let mut aad = [0u8; PREFIX.len() + MAX_HEADER_BYTES];
    aad[..PREFIX.len()].copy_from_slice(PREFIX);
    aad[PREFIX.len()..PREFIX.len() + header.len()].copy_from_slice(header);
    (aad, PREFIX.len() + header.len())
}

const _: () = assert!(TAG_BYTES == 16);

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> Tokenizer {
        Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::default())
    }

    #[test]
    fn a_token_is_compact_and_safe_everywhere() {
        let t = tokenizer();
        let token = t.tokenize(Kind::Email, "alice@example.com").expect("tokenize");
        assert!(token.starts_with("pii1_"), "{token}");
        assert!(token.bytes().all(token::is_alphabet), "{token}");
        // 5 prefix + 4 header + 17 value + 16 tag bytes in base64.
        assert_eq!(token.len(), 5 + token::encoded_len(4 + 17 + 16));
    }

    #[test]
    fn rotation_keeps_old_tokens_and_maps_them_to_new_ones() {
        let mut keyring = Keyring::generate().expect("keyring");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        keyring.create(&path).expect("create");
        let before = Tokenizer::new(Keyring::load(&path).expect("load"), Canonicalizer::default());
        let old_token = before.tokenize(Kind::UserName, "asmith").expect("tokenize");

        keyring.rotate().expect("rotate");
        keyring.save(&path).expect("save");
        let after = Tokenizer::new(Keyring::load(&path).expect("load"), Canonicalizer::default());
        let new_token = after.tokenize(Kind::UserName, "asmith").expect("tokenize");
        assert_ne!(old_token, new_token);
        assert_eq!(&*after.reveal(&old_token).expect("old still restores").value, "asmith");
        assert_eq!(after.retokenize(&old_token).expect("map"), Some(new_token.clone()));
        assert_eq!(after.retokenize(&new_token).expect("map"), None);
    }

    #[test]
    fn foreign_tokens_are_refused() {
        let ours = tokenizer();
        let theirs = tokenizer();
        let token = theirs.tokenize(Kind::Email, "bob@example.com").expect("tokenize");
        let error = ours.reveal(&token).expect_err("foreign");
        assert!(matches!(error, TokenError::UnknownKey(_) | TokenError::Rejected), "{error}");
    }

    #[test]
    fn too_long_values_are_refused_not_cut() {
        let t = tokenizer();
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(matches!(t.tokenize(Kind::Identifier, &long), Err(TokenizeError::TooLong { .. })));
        let longest = "x".repeat(MAX_VALUE_BYTES);
        let token = t.tokenize(Kind::Identifier, &longest).expect("fits");
        assert_eq!(token.len(), token::MAX_TOKEN_CHARS);
        assert_eq!(&*t.reveal(&token).expect("reveal").value, longest);
        assert_eq!(t.tokenize(Kind::Email, "   ").expect("empty"), "");
    }
}
