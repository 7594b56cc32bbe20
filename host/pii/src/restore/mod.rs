//! Restoring tokens to plaintext in a byte stream, escaped for where each lands.
//!
//! The stream comes in chunks of any size; a token may be cut anywhere. The restorer holds back
//! at most one unfinished token ([`MAX_TOKEN_CHARS`](super::token::MAX_TOKEN_CHARS) bytes), never
//! the body. A token that does not open (tampered, truncated, from another keyring, or text that
//! merely looks like one) is passed through untouched and counted.

pub mod escape;
pub mod html;

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use memchr::memmem::Finder;

use crate::token::{self, PREFIX, Peek, TokenError};
use crate::tokenizer::Tokenizer;
pub use escape::Landing;
use html::HtmlTracker;

static PREFIX_FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(PREFIX));

/// What kind of body is being restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Every token lands in plain text (text/plain, text/csv).
    PlainText,
    /// Every token lands in a JSON string (application/json).
    JsonString,
    /// An HTML document: each token's landing (text, attribute, URL, script, style) is tracked.
    Html,
    /// Every token lands in HTML text (a fragment known to be text).
    HtmlText,
    /// Every token lands in an HTML attribute value.
    HtmlAttribute,
    /// Every token lands in a JavaScript string (application/javascript).
    JsString,
    /// Every token lands in a CSS string (text/css).
    CssString,
}

impl Context {
    /// The context for a `Content-Type`; `None` for bodies that are not text (images, fonts),
    /// which are passed through unread.
    pub fn from_content_type(content_type: &str) -> Option<Context> {
        let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        Some(match media.as_str() {
            "text/html" | "application/xhtml+xml" => Context::Html,
            "application/javascript" | "text/javascript" | "application/ecmascript" | "text/ecmascript" => {
                Context::JsString
            }
            "text/css" => Context::CssString,
            m if m == "application/json" || m == "text/json" || m.ends_with("+json") => Context::JsonString,
            m if m.starts_with("text/") => Context::PlainText,
            _ => return None,
        })
    }
}

/// What a restorer did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreStats {
    pub restored: u64,
    /// Tokens sealed with a key this keyring does not have.
    pub foreign: u64,
    /// Token-like text that did not open: tampered, truncated, or not a token at all.
    pub invalid: u64,
}

/// Restores one body. Feed it with [`push`](Restorer::push), end with [`finish`](Restorer::finish).
pub struct Restorer {
    tokenizer: Arc<Tokenizer>,
    context: Context,
    html: HtmlTracker,
    /// Input held back: the start of a token that may continue in the next chunk.
    carry: Vec<u8>,
    stats: RestoreStats,
    /// Boxed so that a restorer that does not witness stays small.
    witness: Option<Box<Witness>>,
}

impl Restorer {
    pub fn new(tokenizer: Arc<Tokenizer>, context: Context) -> Self {
        Self {
            tokenizer,
            context,
            html: HtmlTracker::default(),
            carry: Vec::new(),
            stats: RestoreStats::default(),
            witness: None,
        }
    }

    /// Remembers which tokens it restores (the first `limit` distinct ones), for the audit log:
    /// a token is ciphertext, so the log can name what an admin saw without holding it.
    pub fn witness(mut self, limit: usize) -> Self {
        self.witness = Some(Box::new(Witness { limit, seen: HashSet::new(), witnessed: Witnessed::default() }));
        self
    }

    pub fn stats(&self) -> RestoreStats {
        self.stats
    }

    /// The tokens restored since the last call (empty unless [`witness`](Restorer::witness) was
    /// asked for).
    pub fn take_witnessed(&mut self) -> Witnessed {
        match &mut self.witness {
            Some(witness) => {
                witness.seen.clear();
                std::mem::take(&mut witness.witnessed)
            }
            None => Witnessed::default(),
        }
    }

    /// Restores what it can of `chunk`, appending the output to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut chunk = chunk;
        if !self.carry.is_empty() {
            // Complete the held-back token with as much of the chunk as it can need.
            let held = self.carry.len();
            let take = chunk.len().min(token::MAX_TOKEN_CHARS);
            let mut buf = std::mem::take(&mut self.carry);
            buf.extend_from_slice(&chunk[..take]);
            let consumed = self.process(&buf, false, out);
            if consumed < held {
                // Still unfinished: the chunk was shorter than the token needs.
                buf.drain(..consumed);
                self.carry = buf;
                return;
            }
            chunk = &chunk[consumed - held..];
            buf.clear();
            self.carry = buf;
        }
        let consumed = self.process(chunk, false, out);
        self.carry.extend_from_slice(&chunk[consumed..]);
    }

    /// Ends the body: whatever was held back is passed through as it is.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> RestoreStats {
        let buf = std::mem::take(&mut self.carry);
        self.process(&buf, true, out);
        self.stats
    }

    /// Copies `buf` to `out`, restoring every whole token; returns how much of `buf` it used.
    /// Unless `last`, it stops before a token (or a prefix) that `buf` does not hold all of.
    fn process(&mut self, buf: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
        // `copied`: input up to here is in `out`; `at`: where to look for the next prefix.
        let mut copied = 0;
        let mut at = 0;
        loop {
            let Some(found) = PREFIX_FINDER.find(&buf[at..]) else {
                let end = if last { buf.len() } else { buf.len() - partial_prefix_len(&buf[at..]) };
                self.emit(&buf[copied..end], out);
                return end;
            };
            let start = at + found;
            let end = match token::peek(&buf[start..]) {
                Peek::Token { chars, .. } if buf.len() - start >= chars => start + chars,
                Peek::NeedMore | Peek::Token { .. } if !last => {
                    self.emit(&buf[copied..start], out);
                    return start;
                }
                _ => {
                    self.stats.invalid += 1;
                    at = start + PREFIX.len();
                    continue;
                }
            };
            // Cheap checks first, so that text crafted to look like many long tokens costs no
            // more than a pass over it: a span that is not all token characters is skipped up to
            // the first character that is not; a span that fails after decoding is skipped whole.
            // (Real tokens never overlap, so nothing genuine is skipped.)
            let candidate = &buf[start..end];
            let cached = self.tokenizer.cached(candidate);
            if cached.is_none()
                && let Some(bad) = candidate[PREFIX.len()..].iter().position(|&b| !token::is_alphabet(b))
            {
                self.stats.invalid += 1;
                at = start + PREFIX.len() + bad;
                continue;
            }
            match cached.map_or_else(|| self.tokenizer.open_and_remember(candidate), Ok) {
                Ok(revealed) => {
                    self.emit(&buf[copied..start], out);
                    escape::escape(self.landing(), &revealed.value, out);
                    self.stats.restored += 1;
                    if let Some(witness) = &mut self.witness {
                        witness.record(candidate);
                    }
                    copied = end;
                }
                Err(TokenError::UnknownKey(_)) => self.stats.foreign += 1,
                Err(_) => self.stats.invalid += 1,
            }
            at = end;
        }
    }

    /// Passes input through unchanged, following the HTML it contains.
    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.context == Context::Html {
            self.html.advance(bytes);
        }
        out.extend_from_slice(bytes);
    }

    fn landing(&self) -> Landing {
        match self.context {
            Context::PlainText => Landing::Plain,
            Context::JsonString => Landing::JsonString,
            Context::Html => self.html.landing(),
            Context::HtmlText => Landing::HtmlText,
            Context::HtmlAttribute => Landing::HtmlAttribute,
            Context::JsString => Landing::JsString,
            Context::CssString => Landing::CssString,
        }
    }
}

/// The tokens a restorer restored, as the token text (never the plaintext), each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Witnessed {
    /// In the order they were first restored.
    pub tokens: Vec<String>,
    /// Restorations past the limit of tokens not in `tokens`. Those are not remembered, so one
    /// restored twice counts twice: an upper bound on the distinct tokens left out.
    pub more: u64,
}

struct Witness {
    limit: usize,
    /// The bytes of each token in `witnessed.tokens`, to find repeats without a scan.
    seen: HashSet<Box<[u8]>>,
    witnessed: Witnessed,
}

impl Witness {
    fn record(&mut self, token: &[u8]) {
        if self.seen.contains(token) {
            return;
        }
        if self.witnessed.tokens.len() < self.limit {
            self.seen.insert(token.into());
            // Tokens are ASCII (the prefix and the token alphabet): nothing is lost.
            self.witnessed.tokens.push(String::from_utf8_lossy(token).into_owned());
        } else {
            self.witnessed.more += 1;
        }
    }
}

/// How many bytes at the end of `buf` could be the start of a prefix cut by the chunk boundary.
fn partial_prefix_len(buf: &[u8]) -> usize {
    (1..PREFIX.len()).rev().find(|&n| buf.len() >= n && buf.ends_with(&PREFIX[..n])).unwrap_or(0)
}

/// Restores a whole body at once: for tests, tools and small bodies.
pub fn restore_all(tokenizer: Arc<Tokenizer>, context: Context, body: &[u8]) -> (Vec<u8>, RestoreStats) {
    let mut restorer = Restorer::new(tokenizer, context);
    let mut out = Vec::with_capacity(body.len());
    restorer.push(body, &mut out);
    let stats = restorer.finish(&mut out);
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;
    use crate::canonical::Canonicalizer;
    use crate::keyring::Keyring;

    fn tokenizer() -> Arc<Tokenizer> {
        Arc::new(Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::new(None)))
    }

    fn push_all(restorer: &mut Restorer, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            restorer.push(chunk, &mut out);
        }
        restorer.finish(&mut out);
        out
    }

    #[test]
    fn witness_names_each_restored_token_once() {
        let tokenizer = tokenizer();
        let a = tokenizer.tokenize(Kind::Email, "a@example.com").expect("tokenize");
        let b = tokenizer.tokenize(Kind::DeviceName, "Zoë's phone").expect("tokenize");
        let foreign = self::tokenizer().tokenize(Kind::Email, "c@example.com").expect("tokenize");
        let body = format!("{a} {b} {a} {foreign} pii1_notatoken {b}");
        let bytes = body.as_bytes();
        // `a` cut in the middle across chunks, then whole twice more.
        let cut = a.len() / 2;
        let mut restorer = Restorer::new(tokenizer.clone(), Context::PlainText).witness(10);
        let out = push_all(&mut restorer, &[&bytes[..cut], &bytes[cut..]]);
        assert_eq!(String::from_utf8(out).expect("utf-8").matches("a@example.com").count(), 2);
        assert_eq!(restorer.take_witnessed(), Witnessed { tokens: vec![a.clone(), b.clone()], more: 0 });
        // Taken: the next body starts afresh.
        assert_eq!(restorer.take_witnessed(), Witnessed::default());

        let mut restorer = Restorer::new(tokenizer.clone(), Context::PlainText).witness(10);
        let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        push_all(&mut restorer, &one_byte);
        assert_eq!(restorer.take_witnessed().tokens, vec![a, b]);
    }

    #[test]
    fn witness_stops_at_its_limit_and_counts_the_rest() {
        let tokenizer = tokenizer();
        let tokens: Vec<String> =
            (0..5).map(|n| tokenizer.tokenize(Kind::Identifier, &format!("device-{n}")).expect("tokenize")).collect();
        // The first two fill the limit; repeats of them are not "more"; the others are.
        let body = format!("{0} {1} {0} {2} {3} {1} {4}", tokens[0], tokens[1], tokens[2], tokens[3], tokens[4]);
        let mut restorer = Restorer::new(tokenizer.clone(), Context::JsonString).witness(2);
        push_all(&mut restorer, &[body.as_bytes()]);
        assert_eq!(restorer.take_witnessed(), Witnessed { tokens: tokens[..2].to_vec(), more: 3 });

        let mut restorer = Restorer::new(tokenizer.clone(), Context::PlainText).witness(0);
        push_all(&mut restorer, &[body.as_bytes()]);
        assert_eq!(restorer.take_witnessed(), Witnessed { tokens: Vec::new(), more: 7 });

        let mut restorer = Restorer::new(tokenizer, Context::PlainText);
        push_all(&mut restorer, &[body.as_bytes()]);
        assert_eq!(restorer.take_witnessed(), Witnessed::default(), "not witnessing unless asked");
    }
}
