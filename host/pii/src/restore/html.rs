//! Just enough of the HTML tokenizer to know where a byte lands: text, a tag's attributes (and
//! which attribute), a comment, or the raw text of `<script>` and `<style>`.
//!
//! The tracker is resumable at any byte: a stream may be cut anywhere, even inside `</script`,
//! and the state after two chunks equals the state after their concatenation. It skips with
//! `memchr` where it can (text, quoted values, raw text), so most bytes are never looked at one
//! by one.

use super::escape::Landing;

/// Bytes of lookback kept from earlier chunks, to name the attribute a value belongs to.
const TAIL: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raw {
    Script,
    Style,
}

impl Raw {
    fn end_tag(self) -> &'static [u8] {
        match self {
            Raw::Script => b"</script",
            Raw::Style => b"</style",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Text,
    /// Just after `<`.
    TagOpen,
    /// Reading a tag's name; the first bytes are kept to spot `script` and `style`.
    TagName {
        name: [u8; 6],
        len: u8,
        end_tag: bool,
    },
    /// Inside a tag, outside any quoted value. `raw` is the raw-text element it opens.
    InTag {
        raw: Option<Raw>,
    },
    /// Inside a quoted attribute value. Which attribute is worked out only if a token lands
    /// in it: most values hold none.
    Value {
        quote: u8,
        raw: Option<Raw>,
    },
    /// After `<!`: `-` seen so far of `--`.
    MarkupDeclaration {
        dashes: u8,
    },
    /// `<!-- … -->`, counting the dashes just seen.
    Comment {
        dashes: u8,
    },
    /// `<!DOCTYPE …>`, `<?…>`: up to the next `>`.
    Bogus,
    /// The content of `<script>` or `<style>`, with the bytes of its end tag matched so far.
    RawText {
        raw: Raw,
        matched: u8,
    },
}

pub struct HtmlTracker {
    state: State,
    tail: [u8; TAIL],
    tail_len: usize,
}

impl Default for HtmlTracker {
    fn default() -> Self {
        Self { state: State::Text, tail: [0; TAIL], tail_len: 0 }
    }
}

impl HtmlTracker {
    /// Where a value would land at the current position.
    pub fn landing(&self) -> Landing {
        match self.state {
            State::Text | State::MarkupDeclaration { .. } | State::Comment { .. } | State::Bogus => Landing::HtmlText,
            // Right after `<` a value would become the tag name: nothing in it may end the name.
            State::TagOpen | State::TagName { .. } => Landing::HtmlAttribute,
            // An unquoted value (or a token standing alone in the tag): named by what precedes it.
            State::InTag { .. } => match attribute_landing(self.recent(), true) {
                Landing::UrlAttribute => {
                    let value = self.recent().rsplit(|&b| b == b'=').next().unwrap_or_default();
                    if starts_with_javascript(value) { Landing::ScriptUrlAttribute } else { Landing::UrlAttribute }
                }
                landing => landing,
            },
            State::Value { quote, .. } => {
                let recent = self.recent();
                match memchr::memrchr(quote, recent) {
                    // A `javascript:` URL is percent-decoded and then run: JS-escape first.
                    Some(at) => match attribute_landing(&recent[..at], false) {
                        Landing::UrlAttribute if starts_with_javascript(&recent[at + 1..]) => {
                            Landing::ScriptUrlAttribute
                        }
                        landing => landing,
                    },
                    // The value began too far back to name its attribute: JavaScript escaping
                    // is safe in every attribute.
                    None => Landing::JsString,
                }
            }
            State::RawText { raw: Raw::Script, .. } => Landing::JsString,
            State::RawText { raw: Raw::Style, .. } => Landing::CssString,
        }
    }

    /// Moves the state over `bytes`.
    pub fn advance(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::Text => match find1(b'<', &bytes[i..]) {
                    Some(at) => {
                        i += at + 1;
                        self.state = State::TagOpen;
                    }
                    None => i = bytes.len(),
                },
                State::TagOpen => {
                    self.state = match bytes[i] {
                        b'!' => State::MarkupDeclaration { dashes: 0 },
                        b'/' => State::TagName { name: [0; 6], len: 0, end_tag: true },
                        b'?' => State::Bogus,
                        b if b.is_ascii_alphabetic() => {
                            State::TagName { name: [b.to_ascii_lowercase(), 0, 0, 0, 0, 0], len: 1, end_tag: false }
                        }
                        // `a < b` is text.
                        _ => State::Text,
                    };
                    i += 1;
                }
                State::TagName { mut name, mut len, end_tag } => {
                    // The whole run of name bytes at once: the state is written once per tag.
                    let run = bytes[i..].iter().position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>');
                    let end = run.map_or(bytes.len(), |n| i + n);
                    for &b in &bytes[i..end] {
                        if let Some(slot) = name.get_mut(usize::from(len)) {
                            *slot = b.to_ascii_lowercase();
                        }
                        len = len.saturating_add(1);
                    }
                    i = end;
                    if run.is_none() {
                        self.state = State::TagName { name, len, end_tag };
                        continue;
                    }
                    let raw = match (&name[..usize::from(len).min(name.len())], len) {
                        _ if end_tag => None,
                        (b"script", 6) => Some(Raw::Script),
                        (b"style", 5) => Some(Raw::Style),
                        _ => None,
                    };
                    // The byte that ended the name (`>` included) is InTag's to handle.
                    self.state = State::InTag { raw };
                }
                State::InTag { raw } => match find3(b'>', b'"', b'\'', &bytes[i..]) {
                    Some(at) => {
                        let b = bytes[i + at];
                        if b == b'>' {
                            self.state = match raw {
                                Some(raw) => State::RawText { raw, matched: 0 },
                                None => State::Text,
                            };
                        } else {
                            self.state = State::Value { quote: b, raw };
                        }
                        i += at + 1;
                    }
                    None => i = bytes.len(),
                },
                State::Value { quote, raw, .. } => match find1(quote, &bytes[i..]) {
                    Some(at) => {
                        self.state = State::InTag { raw };
                        i += at + 1;
                    }
                    None => i = bytes.len(),
                },
                State::MarkupDeclaration { dashes } => {
                    self.state = match (bytes[i], dashes) {
                        (b'-', 0) => State::MarkupDeclaration { dashes: 1 },
                        (b'-', _) => State::Comment { dashes: 0 },
                        (b'>', _) => State::Text,
                        _ => State::Bogus,
                    };
                    i += 1;
                }
                State::Comment { dashes } => {
                    self.state = match bytes[i] {
                        b'-' => State::Comment { dashes: dashes.saturating_add(1) },
                        b'>' if dashes >= 2 => State::Text,
                        _ => State::Comment { dashes: 0 },
                    };
                    i += 1;
                }
                State::Bogus => match memchr::memchr(b'>', &bytes[i..]) {
                    Some(at) => {
                        self.state = State::Text;
                        i += at + 1;
                    }
                    None => i = bytes.len(),
                },
                State::RawText { raw, matched } => {
                    if matched == 0 {
                        match memchr::memchr(b'<', &bytes[i..]) {
                            Some(at) => {
                                self.state = State::RawText { raw, matched: 1 };
                                i += at + 1;
                            }
                            None => i = bytes.len(),
                        }
                        continue;
                    }
                    let end = raw.end_tag();
                    let b = bytes[i].to_ascii_lowercase();
                    self.state = if usize::from(matched) == end.len() {
                        // `</script` ends the element only before whitespace, `/` or `>`
                        // (`</scripts` does not); that byte is InTag's to handle.
                        if b.is_ascii_whitespace() || b == b'/' || b == b'>' {
                            self.state = State::InTag { raw: None };
                            continue;
                        }
                        if b == b'<' { State::RawText { raw, matched: 1 } } else { State::RawText { raw, matched: 0 } }
                    } else if b == end[usize::from(matched)] {
                        State::RawText { raw, matched: matched + 1 }
                    } else if b == b'<' {
                        State::RawText { raw, matched: 1 }
                    } else {
                        State::RawText { raw, matched: 0 }
                    };
                    i += 1;
                }
            }
        }
        self.keep_tail(bytes);
    }

    fn keep_tail(&mut self, bytes: &[u8]) {
        if bytes.len() >= TAIL {
            self.tail.copy_from_slice(&bytes[bytes.len() - TAIL..]);
            self.tail_len = TAIL;
        } else {
            let keep = (TAIL - bytes.len()).min(self.tail_len);
            self.tail.copy_within(self.tail_len - keep..self.tail_len, 0);
            self.tail[keep..keep + bytes.len()].copy_from_slice(bytes);
            self.tail_len = keep + bytes.len();
        }
    }

    /// The bytes seen most recently (up to [`TAIL`]).
    fn recent(&self) -> &[u8] {
        &self.tail[..self.tail_len]
    }
}

/// Bytes looked at one by one before handing a search to `memchr`: in markup the next `<`, `>`
/// or quote is usually a few bytes away, where memchr's SIMD set-up costs more than it saves.
const SHORT: usize = 16;

fn find1(needle: u8, hay: &[u8]) -> Option<usize> {
    match hay.iter().take(SHORT).position(|&b| b == needle) {
        Some(at) => Some(at),
        None if hay.len() > SHORT => memchr::memchr(needle, &hay[SHORT..]).map(|at| at + SHORT),
        None => None,
    }
}

fn find3(a: u8, b: u8, c: u8, hay: &[u8]) -> Option<usize> {
    match hay.iter().take(SHORT).position(|&x| x == a || x == b || x == c) {
        Some(at) => Some(at),
        None if hay.len() > SHORT => memchr::memchr3(a, b, c, &hay[SHORT..]).map(|at| at + SHORT),
        None => None,
    }
}

/// Whether a URL value begins with the `javascript:` scheme, as a browser reads it (leading
/// spaces and control characters ignored, tabs and newlines inside dropped, any case).
fn starts_with_javascript(value: &[u8]) -> bool {
    let mut letters = value.iter().copied().skip_while(|b| *b <= b' ').filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'));
    b"javascript:".iter().all(|expected| letters.next().is_some_and(|b| b.to_ascii_lowercase() == *expected))
}

/// Names the attribute whose value starts after `before` and says how a value in it is escaped.
/// With `unquoted`, `before` may end inside the value (`href=/devices/`). An attribute that
/// cannot be named gets the JavaScript escaping, which is safe in every attribute.
fn attribute_landing(before: &[u8], unquoted: bool) -> Landing {
    let mut end = before.len();
    if unquoted {
        while end > 0 && !before[end - 1].is_ascii_whitespace() && before[end - 1] != b'=' {
            end -= 1;
        }
    }
    while end > 0 && before[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    if end == 0 || before[end - 1] != b'=' {
        return if unquoted && end > 0 { Landing::HtmlAttribute } else { Landing::JsString };
    }
    end -= 1;
    while end > 0 && before[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && !before[start - 1].is_ascii_whitespace() && !matches!(before[start - 1], b'"' | b'\'' | b'<') {
        start -= 1;
    }
    if start == 0 {
        // The name may begin before what was kept.
        return Landing::JsString;
    }
    let name = &before[start..end];
    if name.len() >= 2 && name[..2].eq_ignore_ascii_case(b"on") {
        return Landing::JsString;
    }
    let mut lower = [0u8; 10];
    let Some(lower) = lower.get_mut(..name.len()) else { return Landing::HtmlAttribute };
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    match &*lower {
        b"style" => Landing::CssString,
        // A whole document (`srcdoc`) or a refresh URL (`content`): JS escaping leaves nothing
        // markup or a URL scheme could use.
        b"srcdoc" | b"content" => Landing::JsString,
        b"href" | b"src" | b"action" | b"formaction" | b"xlink:href" | b"data" | b"poster" | b"cite"
        | b"background" | b"srcset" | b"ping" | b"manifest" | b"codebase" | b"longdesc" | b"usemap" => {
            Landing::UrlAttribute
        }
        _ => Landing::HtmlAttribute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The landing at each `@` of `html` (the `@` itself removed), fed in chunks of `chunk`.
    fn landings(html: &str, chunk: usize) -> Vec<Landing> {
        let mut tracker = HtmlTracker::default();
        let mut found = Vec::new();
        let parts: Vec<&str> = html.split('@').collect();
        for (n, part) in parts.iter().enumerate() {
            for piece in part.as_bytes().chunks(chunk) {
                tracker.advance(piece);
            }
            if n + 1 < parts.len() {
                found.push(tracker.landing());
            }
        }
        found
    }

    #[test]
    fn finds_each_context_whatever_the_chunking() {
        let html = r#"<!doctype html><p class="x">@</p><a href="/d/@" title='@' onclick="go('@')" style="color:@">x</a><input value=@><!-- @ --><SCRIPT type="text/javascript">var a = "@"; if (a < b) {}</script ><style>p::after{content:"@"}</style>@ a < b @"#;
        let expected = [
            Landing::HtmlText,
            Landing::UrlAttribute,
            Landing::HtmlAttribute,
            Landing::JsString,
            Landing::CssString,
            Landing::HtmlAttribute,
            Landing::HtmlText,
            Landing::JsString,
            Landing::CssString,
            Landing::HtmlText,
            Landing::HtmlText,
        ];
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(landings(html, chunk), expected, "chunk {chunk}");
        }
    }
}
