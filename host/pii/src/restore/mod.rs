//! Restoring tokens to plaintext in a byte stream, escaped for where each lands.
//!
//! The stream comes in chunks of any size; a token may be cut anywhere. The restorer holds back
//! at most one unfinished token ([`MAX_TOKEN_CHARS`](super::token::MAX_TOKEN_CHARS) bytes), never
//! the body. A token that does not open (tampered, truncated, from another keyring, or text that
//! merely looks like one) is passed through untouched and counted.

pub mod escape;
pub mod html;

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
}

impl Restorer {
    pub fn new(tokenizer: Arc<Tokenizer>, context: Context) -> Self {
        Self { tokenizer, context, html: HtmlTracker::default(), carry: Vec::new(), stats: RestoreStats::default() }
    }

    pub fn stats(&self) -> RestoreStats {
        self.stats
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
