//! SMTP replies (RFC 5321 §4.2): `code-text` continuation lines ended by a `code SP text` line,
//! with the enhanced status code (RFC 3463) taken from the text when it starts with one.

use msc_sdk::mail::ServerReply;

/// Longest reply text kept for errors and deliveries; servers may send pages of it.
const MAX_TEXT: usize = 512;

/// One complete reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// `class.subject.detail`, when the text starts with one whose class matches the code.
    pub enhanced: Option<String>,
    /// The text of every line (enhanced codes removed), one string per line.
    pub lines: Vec<String>,
}

/// Why a line is not part of a well-formed reply.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplyError {
    #[error("a reply line does not start with a three-digit code: {0:?}")]
    NoCode(String),
    #[error("a multi-line reply changed its code from {0} to {1}")]
    CodeChanged(u16, u16),
}

/// Where a line leaves the reply being read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// More lines follow (`250-…`).
    More,
    /// The reply is complete (`250 …`).
    Last,
}

/// Collects the lines of one reply.
#[derive(Default)]
pub struct ReplyBuilder {
    code: Option<u16>,
    enhanced: Option<String>,
    lines: Vec<String>,
}

impl ReplyBuilder {
    /// Adds one line (with or without its CRLF).
    pub fn push(&mut self, raw: &[u8]) -> Result<Line, ReplyError> {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches(['\r', '\n']);
        let code = line
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()) && c.as_bytes()[0] >= b'2' && c.as_bytes()[0] <= b'5')
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| ReplyError::NoCode(excerpt(line)))?;
        let (more, text) = match line.as_bytes().get(3) {
            None => (false, ""),
            Some(b' ') => (false, &line[4..]),
            Some(b'-') => (true, &line[4..]),
            Some(_) => return Err(ReplyError::NoCode(excerpt(line))),
        };
        if let Some(first) = self.code.filter(|first| *first != code) {
            return Err(ReplyError::CodeChanged(first, code));
        }
        self.code = Some(code);
        let (enhanced, text) = split_enhanced(code, text);
        if self.enhanced.is_none() && self.lines.is_empty() {
            self.enhanced = enhanced;
        }
        self.lines.push(clean(text));
        Ok(if more { Line::More } else { Line::Last })
    }

    /// The reply, once [`Line::Last`] was seen.
    pub fn finish(self) -> Option<Reply> {
        Some(Reply { code: self.code?, enhanced: self.enhanced, lines: self.lines })
    }
}

impl Reply {
    /// Parses a whole reply; for tests and fixtures.
    #[cfg(test)]
    pub fn parse(text: &str) -> Result<Reply, ReplyError> {
        let mut builder = ReplyBuilder::default();
        for line in text.split_inclusive('\n') {
            if builder.push(line.as_bytes())? == Line::Last {
                break;
            }
        }
        builder.finish().ok_or_else(|| ReplyError::NoCode(text.into()))
    }

    /// 2yz.
    pub fn is_positive(&self) -> bool {
        self.code / 100 == 2
    }

    /// 4yz: try again later.
    pub fn is_transient(&self) -> bool {
        self.code / 100 == 4
    }

    /// 5yz: do not retry unchanged.
    pub fn is_permanent(&self) -> bool {
        self.code / 100 == 5
    }

    /// Every line's text in one line, shortened for messages.
    pub fn text(&self) -> String {
        let joined = self.lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        excerpt(&joined)
    }

    /// The reply as the mail world reports it.
    pub fn to_wit(&self) -> ServerReply {
        ServerReply { code: self.code, enhanced_code: self.enhanced.clone(), text: self.text() }
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(enhanced) = &self.enhanced {
            write!(f, " {enhanced}")?;
        }
        let text = self.text();
        if !text.is_empty() {
            write!(f, " {text}")?;
        }
        Ok(())
    }
}

/// Splits `5.1.1 User unknown` into the enhanced code and the rest, when the text starts with
/// a code of the reply's class (RFC 3463: class 2, 4 or 5; subject and detail 1–3 digits).
fn split_enhanced(code: u16, text: &str) -> (Option<String>, &str) {
    let word = text.split(' ').next().unwrap_or("");
    let parts: Vec<&str> = word.split('.').collect();
    let digits = |p: &str, max: usize| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit());
    let class = (code / 100).to_string();
    if parts.len() == 3 && parts[0] == class && digits(parts[1], 3) && digits(parts[2], 3) {
        (Some(word.to_string()), text[word.len()..].trim_start())
    } else {
        (None, text)
    }
}

/// Printable text only: replies end up in logs and admins' screens.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn excerpt(text: &str) -> String {
    let cleaned = clean(text);
    match cleaned.char_indices().nth(MAX_TEXT) {
        Some((end, _)) => format!("{}…", &cleaned[..end]),
        None => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_with_enhanced_code() {
        let reply = Reply::parse("550 5.1.1 User unknown\r\n").expect("reply");
        assert_eq!(
            (reply.code, reply.enhanced.as_deref(), reply.text().as_str()),
            (550, Some("5.1.1"), "User unknown")
        );
        assert!(reply.is_permanent());
        assert_eq!(reply.to_string(), "550 5.1.1 User unknown");
    }

    #[test]
    fn multi_line_reply_keeps_every_line() {
        let reply = Reply::parse("250-mail.example Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n")
            .expect("reply");
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines, ["mail.example Hello", "PIPELINING", "SIZE 1000", "STARTTLS"]);
        assert!(reply.is_positive());
    }

    #[test]
    fn enhanced_codes_of_another_class_or_shape_stay_text() {
        let reply = Reply::parse("451 5.1.1 odd\r\n").expect("reply");
        assert_eq!(reply.enhanced, None, "class must match the code");
        let reply = Reply::parse("250 2.0 ok\r\n").expect("reply");
        assert_eq!(reply.enhanced, None);
        let reply = Reply::parse("250 2.0.0 Ok: queued as 12345\r\n").expect("reply");
        assert_eq!((reply.enhanced.as_deref(), reply.text().as_str()), (Some("2.0.0"), "Ok: queued as 12345"));
        let reply = Reply::parse("451 4.3.0\r\n").expect("reply");
        assert_eq!((reply.enhanced.as_deref(), reply.text().as_str()), (Some("4.3.0"), ""));
    }

    #[test]
    fn bare_code_and_lf_only_lines() {
        let reply = Reply::parse("220\n").expect("reply");
        assert_eq!((reply.code, reply.text().as_str()), (220, ""));
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert!(matches!(Reply::parse("hello\r\n"), Err(ReplyError::NoCode(_))));
        assert!(matches!(Reply::parse("25\r\n"), Err(ReplyError::NoCode(_))));
        assert!(matches!(Reply::parse("250_ok\r\n"), Err(ReplyError::NoCode(_))));
        assert!(matches!(Reply::parse("199 what\r\n"), Err(ReplyError::NoCode(_))));
        assert_eq!(Reply::parse("250-a\r\n251 b\r\n"), Err(ReplyError::CodeChanged(250, 251)));
    }

    #[test]
    fn control_characters_and_long_text_are_tamed() {
        let reply = Reply::parse(&format!("554 bad\x1b[31m {}\r\n", "x".repeat(2000))).expect("reply");
        assert!(!reply.text().contains('\x1b'));
        assert!(reply.text().chars().count() <= MAX_TEXT + 1);
    }
}
