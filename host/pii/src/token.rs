//! The token format: how an encrypted value is written so that it survives every place the cloud
//! may put it and can be found again in a byte stream. `docs/pii-tokens.md` explains the choices.
//!
//! ```text
//! token  = "pii1_" base64url( header ciphertext tag )      ; no padding
//! header = kind:u8  key-id:u16be  length:varint(1..2)      ; length of the plaintext in bytes
//! ```
//!
//! The header is the AEAD's associated data (with the prefix), so kind, key id and length are
//! authenticated along with the value. The length makes a token self-delimiting: a reader knows
//! where it ends without relying on the character after it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::kind::Kind;

/// Every token starts with this. `1` is the format version; a new format gets a new prefix, so
/// both can be told apart in one scan.
pub const PREFIX: &[u8] = b"pii1_";
pub const PREFIX_STR: &str = "pii1_";

/// The longest value that can be tokenized, in bytes after canonicalisation (a two-byte length).
pub const MAX_VALUE_BYTES: usize = (1 << 14) - 1;
pub const TAG_BYTES: usize = 16;
/// The longest a header can be.
pub const MAX_HEADER_BYTES: usize = 5;
/// Characters of body that always hold a whole header.
pub const HEADER_CHARS: usize = 8;
/// The longest token there can be, in characters: what a stream reader may have to hold back.
pub const MAX_TOKEN_CHARS: usize = PREFIX.len() + encoded_len(MAX_HEADER_BYTES + MAX_VALUE_BYTES + TAG_BYTES);

/// Base64 characters for `n` bytes, unpadded.
pub const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// A key's id inside a keyring and inside every token it made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u16);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}", self.0)
    }
}

impl std::str::FromStr for KeyId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<KeyId, Self::Err> {
        u16::from_str_radix(s, 16).map(KeyId)
    }
}

/// A token's header: what the value is, which key sealed it, how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub key: KeyId,
    pub len: usize,
}

impl Header {
    /// The header's bytes, and how many of the five are used.
    pub fn encode(&self) -> ([u8; MAX_HEADER_BYTES], usize) {
        let [hi, lo] = self.key.0.to_be_bytes();
        let mut bytes = [self.kind.code(), hi, lo, 0, 0];
        // Callers check the length against MAX_VALUE_BYTES first.
        let len = self.len & MAX_VALUE_BYTES;
        if len < 0x80 {
            bytes[3] = len as u8;
            (bytes, 4)
        } else {
            bytes[3] = 0x80 | (len & 0x7f) as u8;
            bytes[4] = (len >> 7) as u8;
            (bytes, 5)
        }
    }

    /// Reads a header from the start of `bytes`; `None` if it is not one this format writes
    /// (unknown kind, non-minimal or overlong length).
    pub fn decode(bytes: &[u8]) -> Option<(Header, usize)> {
        let kind = Kind::from_code(*bytes.first()?)?;
        let key = KeyId(u16::from_be_bytes([*bytes.get(1)?, *bytes.get(2)?]));
        let first = *bytes.get(3)?;
        let (len, used) = if first < 0x80 {
            (usize::from(first), 4)
        } else {
            let second = *bytes.get(4)?;
            // The second byte holds the high bits; zero would mean a length that fits one byte,
            // and 0x80 and above would overflow 14 bits. Either is a second spelling: refused.
            if second == 0 || second >= 0x80 {
                return None;
            }
            (usize::from(first & 0x7f) | usize::from(second) << 7, 5)
        };
        if len == 0 {
            return None;
        }
        Some((Header { kind, key, len }, used))
    }

    /// Bytes of the whole token body (header, ciphertext and tag).
    pub fn body_bytes(&self, header_len: usize) -> usize {
        header_len + self.len + TAG_BYTES
    }
}

/// What is at a place where a prefix was found.
#[derive(Debug, PartialEq, Eq)]
pub enum Peek {
    /// The header is not all there yet: read more.
    NeedMore,
    /// Not a token of this format.
    NotToken,
    /// A token of `chars` characters (prefix included) if the body checks out.
    Token { header: Header, chars: usize },
}

/// Looks at `text`, which starts with [`PREFIX`], and says how long the token there would be.
pub fn peek(text: &[u8]) -> Peek {
    let body = &text[PREFIX.len().min(text.len())..];
    let Some(head) = body.get(..HEADER_CHARS) else {
        return if body.iter().all(|&b| is_alphabet(b)) { Peek::NeedMore } else { Peek::NotToken };
    };
    let mut bytes = [0u8; 6];
    if URL_SAFE_NO_PAD.decode_slice(head, &mut bytes).is_err() {
        return Peek::NotToken;
    }
    match Header::decode(&bytes) {
        Some((header, used)) => Peek::Token { header, chars: PREFIX.len() + encoded_len(header.body_bytes(used)) },
        None => Peek::NotToken,
    }
}

/// Why a string is not a token this connector can restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a PII token (tokens start with `{PREFIX_STR}`)")]
    NoPrefix,
    #[error("malformed token: the header is not valid")]
    BadHeader,
    #[error("truncated token: {found} characters where the header says {expected}")]
    Truncated { found: usize, expected: usize },
    #[error("malformed token: {found} characters where the header says {expected}")]
    TrailingData { found: usize, expected: usize },
    #[error("malformed token: not valid base64url")]
    BadEncoding,
    #[error("token sealed with key {0}, which is not in this keyring (a token from another keyring?)")]
    UnknownKey(KeyId),
    #[error("token rejected: it fails authentication (tampered, or from another keyring)")]
    Rejected,
    #[error("token holds a value that is not UTF-8")]
    NotUtf8,
}

/// A token split into its parts, its body decoded into a caller's buffer.
pub struct Parsed<'b> {
    pub header: Header,
    /// The header bytes: the associated data along with [`PREFIX`].
    pub header_bytes: &'b [u8],
    /// Ciphertext, `header.len` bytes, decrypted in place by the caller.
    pub ciphertext: &'b mut [u8],
    pub tag: &'b [u8; TAG_BYTES],
}

/// Parses exactly one whole token, decoding its body into `buf`.
pub fn parse<'b>(token: &[u8], buf: &'b mut Vec<u8>) -> Result<Parsed<'b>, TokenError> {
    if !token.starts_with(PREFIX) {
        return Err(TokenError::NoPrefix);
    }
    let expected = match peek(token) {
        Peek::Token { chars, .. } => chars,
        Peek::NeedMore => {
            return Err(TokenError::Truncated { found: token.len(), expected: PREFIX.len() + HEADER_CHARS });
        }
        Peek::NotToken => return Err(TokenError::BadHeader),
    };
    if token.len() < expected {
        return Err(TokenError::Truncated { found: token.len(), expected });
    }
    if token.len() > expected {
        return Err(TokenError::TrailingData { found: token.len(), expected });
    }
    buf.clear();
    URL_SAFE_NO_PAD.decode_vec(&token[PREFIX.len()..], buf).map_err(|_| TokenError::BadEncoding)?;
    let (header, used) = Header::decode(buf).ok_or(TokenError::BadHeader)?;
    let (header_bytes, rest) = buf.split_at_mut(used);
    let (ciphertext, tag) = rest.split_at_mut(header.len);
    let tag: &[u8; TAG_BYTES] = (&*tag).try_into().map_err(|_| TokenError::BadEncoding)?;
    Ok(Parsed { header, header_bytes, ciphertext, tag })
}

/// Writes a token: prefix, then the body (`header ‖ ciphertext ‖ tag`) in base64url.
pub fn write(out: &mut String, body: &[u8]) {
    out.reserve(PREFIX.len() + encoded_len(body.len()));
    out.push_str(PREFIX_STR);
    URL_SAFE_NO_PAD.encode_string(body, out);
}

/// Whether `b` can appear in a token body: the base64url alphabet, which no JSON, HTML, URL,
/// header or CSV encoder escapes.
pub const fn is_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_at_the_length_edges() {
        for len in [1, 0x7f, 0x80, 0x3fff] {
            let header = Header { kind: Kind::Email, key: KeyId(0xbeef), len };
            let (bytes, used) = header.encode();
            assert_eq!(Header::decode(&bytes[..used]), Some((header, used)));
        }
    }

    #[test]
    fn second_spellings_of_a_length_are_refused() {
        // 5 written in two bytes, and a zero length.
        assert_eq!(Header::decode(&[4, 0, 1, 0x85, 0]), None);
        assert_eq!(Header::decode(&[4, 0, 1, 0]), None);
        assert_eq!(Header::decode(&[4, 0, 1, 0x85, 0x80]), None);
        assert_eq!(Header::decode(&[9, 0, 1, 5]), None);
    }

    #[test]
    fn the_longest_token_is_bounded() {
        assert_eq!(MAX_TOKEN_CHARS, 5 + (5 + 16383 + 16usize) * 4 / 3);
        const { assert!(MAX_TOKEN_CHARS < 22 * 1024) };
    }
}
