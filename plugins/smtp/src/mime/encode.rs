//! The encodings that keep a message 7-bit and every line short: quoted-printable bodies
//! (RFC 2045 §6.7), encoded-words in headers (RFC 2047) and header folding (RFC 5322 §2.2.3).

use base64::Engine;

/// Header lines are folded before this many characters where the value allows (RFC 5322 §2.1.1).
const FOLD_AT: usize = 78;
/// Quoted-printable lines hold at most 76 characters, the soft break's `=` included.
const QP_LINE: usize = 76;
/// Text bytes per encoded-word: 39 bytes are 52 base64 characters, and `=?utf-8?B?` + `?=`
/// make 64: under RFC 2047's 75, and short enough to follow `Subject: ` within 78.
const WORD_BYTES: usize = 39;

/// `text` as quoted-printable with CRLF line breaks: any line ending (CRLF, LF, lone CR)
/// becomes one hard break, so no bare CR or LF reaches the wire. A leading `.` is encoded too,
/// so no line depends on dot-stuffing.
pub fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in split_lines(text).into_iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        encode_qp_line(line.as_bytes(), &mut out);
    }
    out.push_str("\r\n");
    out
}

fn encode_qp_line(line: &[u8], out: &mut String) {
    let mut length = 0;
    for (i, &byte) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        // Trailing white space would be stripped in transit; `=` and 8-bit bytes are escapes.
        let mut literal = match byte {
            b' ' | b'\t' => !last,
            b'=' => false,
            33..=126 => true,
            _ => false,
        };
        if length + if literal { 1 } else { 3 } > QP_LINE - 1 {
            out.push_str("=\r\n");
            length = 0;
        }
        // A line starting with `.` would rely on dot-stuffing, which some relays get wrong.
        if byte == b'.' && length == 0 {
            literal = false;
        }
        let width = if literal { 1 } else { 3 };
        if literal {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("={byte:02X}"));
        }
        length += width;
    }
}

/// The lines of `text`, whatever ended them.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' => {
                lines.push(&text[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                start = i;
            }
            b'\n' => {
                lines.push(&text[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    lines.push(&text[start..]);
    lines
}

/// One line of header text: every control character (CR and LF above all, which would start a
/// new header) becomes a space.
pub fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `text` as RFC 2047 encoded-words (`=?utf-8?B?…?=`), never splitting a character.
pub fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > WORD_BYTES {
            words.push(encoded_word(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(encoded_word(&chunk));
    }
    words
}

fn encoded_word(text: &str) -> String {
    format!("=?utf-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(text))
}

/// Whether `text` can go into an unstructured header as it is: printable ASCII, nothing a
/// reader could take for an encoded-word, no word too long to fold.
pub fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (32..=126).contains(&b))
        && !text.contains("=?")
        && text.split(' ').all(|word| word.len() <= FOLD_AT - 10)
}

/// An unstructured header value (`Subject`, `X-…`): as it is when [`is_plain`], else as
/// encoded-words. Words are joined by single spaces and folded by [`field`].
pub fn unstructured(text: &str) -> Vec<String> {
    let text = one_line(text);
    if is_plain(&text) {
        // Splitting at every space keeps runs of spaces: empty words come back as spaces.
        text.split(' ').map(str::to_string).collect()
    } else {
        encoded_words(&text)
    }
}

/// `Name: word word …` with CRLF, folded (CRLF SP) between words so lines stay under 78
/// characters where the words allow; no word is ever split.
pub fn field(name: &str, words: &[String]) -> String {
    let mut out = format!("{name}:");
    let mut line = out.len();
    for word in words {
        if !word.is_empty() && line + 1 + word.len() > FOLD_AT && line > name.len() + 1 {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(word);
        line += 1 + word.len();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes quoted-printable, for round trips.
    fn decode_qp(text: &str) -> String {
        let joined = text.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let text = format!("Grüße, Zoë ✓\n.leading dot\r\ntrailing space \rlone CR\n{}\n= sign", "é".repeat(200));
        let encoded = quoted_printable(&text);
        assert!(encoded.is_ascii());
        for line in encoded.split("\r\n") {
            assert!(line.len() <= QP_LINE, "{line}");
            assert!(!line.starts_with('.'), "{line}");
            assert!(!line.ends_with(' '), "{line}");
        }
        assert!(!encoded.replace("\r\n", "").contains(['\r', '\n']), "no bare CR or LF");
        let expected = text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n") + "\r\n";
        assert_eq!(decode_qp(&encoded), expected);
    }

    #[test]
    fn a_long_line_without_spaces_is_soft_broken() {
        let encoded = quoted_printable(&"x".repeat(5000));
        assert!(encoded.split("\r\n").all(|l| l.len() <= QP_LINE));
        assert_eq!(decode_qp(&encoded), format!("{}\r\n", "x".repeat(5000)));
    }

    #[test]
    fn encoded_words_split_between_characters() {
        let text = "Gerät von Zoë — Risiko hoch ✓ ".repeat(5);
        let words = encoded_words(&text);
        assert!(words.len() > 1);
        let mut decoded = Vec::new();
        for word in &words {
            assert!(word.len() <= 75, "{word}");
            let inner = word.strip_prefix("=?utf-8?B?").and_then(|w| w.strip_suffix("?=")).expect("shape");
            let bytes = base64::engine::general_purpose::STANDARD.decode(inner).expect("base64");
            assert!(std::str::from_utf8(&bytes).is_ok(), "whole characters per word");
            decoded.extend(bytes);
        }
        assert_eq!(String::from_utf8(decoded).expect("utf-8"), text);
    }

    #[test]
    fn header_values_cannot_start_a_header() {
        let words = unstructured("Hello\r\nBcc: victim@example.com");
        let header = field("Subject", &words);
        assert_eq!(header, "Subject: Hello  Bcc: victim@example.com\r\n");
        let words = unstructured("Grüße\r\nBcc: victim@example.com");
        let header = field("Subject", &words);
        assert_eq!(header.matches("\r\n").count(), header.matches("\r\n ").count() + 1);
        assert!(!header.contains("\r\nBcc"));
    }

    #[test]
    fn folding_keeps_words_whole_and_lines_short() {
        let words = unstructured(&"word ".repeat(60));
        let header = field("Subject", &words);
        for line in header.trim_end().split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line}");
        }
        assert_eq!(header.replace("\r\n", ""), format!("Subject: {}", "word ".repeat(60)));
        assert!(!is_plain("=?utf-8?B?QQ==?="), "lookalike encoded-words are encoded");
        assert!(!is_plain(&"x".repeat(80)), "unfoldable words are encoded");
    }
}
