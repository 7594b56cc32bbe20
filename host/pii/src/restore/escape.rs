//! Escaping a restored value for the place it lands, so that a device named
//! `<img src=x onerror=alert(1)>` shows as text and never runs.

/// Where a restored value lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Landing {
    /// As is: text/plain, CSV, a terminal.
    Plain,
    /// Inside a JSON string.
    JsonString,
    /// HTML text between tags.
    HtmlText,
    /// An ordinary HTML attribute value, quoted or not.
    HtmlAttribute,
    /// A URL inside an HTML attribute (`href`, `src`, …): percent-encoded, so it can never
    /// become a `javascript:` URL.
    UrlAttribute,
    /// A URL attribute whose value is (or may be) a `javascript:` URL, which the browser
    /// percent-decodes and runs: JavaScript-escaped, then percent-encoded.
    ScriptUrlAttribute,
    /// A JavaScript string: in a `<script>` or an `on…=` handler.
    JsString,
    /// A CSS string: in a `<style>` or a `style=` attribute.
    CssString,
}

/// Appends `value` to `out`, escaped for `landing`.
pub fn escape(landing: Landing, value: &str, out: &mut Vec<u8>) {
    match landing {
        Landing::Plain => out.extend_from_slice(value.as_bytes()),
        Landing::JsonString => json(value, out),
        Landing::HtmlText => html(value, out, false),
        Landing::HtmlAttribute => html(value, out, true),
        Landing::UrlAttribute => url(value, out),
        Landing::ScriptUrlAttribute => {
            let mut script = Vec::with_capacity(value.len() * 2);
            js(value, &mut script);
            url(&String::from_utf8_lossy(&script), out);
        }
        Landing::JsString => js(value, out),
        Landing::CssString => css(value, out),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u_escape(out: &mut Vec<u8>, c: u32) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[(c >> shift & 0xf) as usize]);
    }
}

/// JSON string escaping, plus `<`, `>`, `&`, `'` and U+2028/2029 as `\u` escapes, so the JSON
/// stays inert when a page embeds it in a `<script>`. Works on bytes like [`html`].
fn json(value: &str, out: &mut Vec<u8>) {
    let bytes = value.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (escape, len): (u32, usize) = match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | b'<' | b'>' | b'&' | b'\'' | 0..0x20 | 0x7f => (u32::from(b), 1),
            // U+2028 and U+2029 in UTF-8.
            0xe2 if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) => {
                (0x2000 | u32::from(bytes[i + 2] - 0x80), 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[run..i]);
        match escape {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            c => push_u_escape(out, c),
        }
        i += len;
        run = i;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// HTML text and attribute escaping. In attributes, also everything that ends an unquoted value.
/// Works on bytes: every character it escapes is ASCII, and runs of other bytes (UTF-8 included)
/// are copied whole.
fn html(value: &str, out: &mut Vec<u8>, attribute: bool) {
    let bytes = value.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let entity: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#39;",
            b'`' | b'=' | b' ' | b'\t' | b'\n' | b'\r' | 0x0c if attribute => b"",
            0..0x20 if !matches!(b, b'\t' | b'\n' | b'\r') => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if entity.is_empty() {
            out.extend_from_slice(format!("&#{b};").as_bytes());
        } else {
            out.extend_from_slice(entity);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// JavaScript string escaping: every ASCII character but letters, digits and `,._@-` becomes a
/// `\u` escape, which is valid in JS and JSON strings alike and survives an enclosing HTML
/// attribute unchanged.
fn js(value: &str, out: &mut Vec<u8>) {
    for c in value.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | ',' | '.' | '_' | '@' | '-' => out.push(c as u8),
            c if c.is_ascii() || c == '\u{2028}' || c == '\u{2029}' => push_u_escape(out, c as u32),
            c => push_char(out, c),
        }
    }
}

/// CSS escaping: every ASCII character but letters and digits as `\` and six hex digits (six
/// digits need no terminating space, which would end an unquoted attribute).
fn css(value: &str, out: &mut Vec<u8>) {
    for c in value.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => out.push(c as u8),
            c if c.is_ascii() => {
                out.push(b'\\');
                for shift in [20, 16, 12, 8, 4, 0] {
                    out.push(HEX[(c as u32 >> shift & 0xf) as usize]);
                }
            }
            c => push_char(out, c),
        }
    }
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn url(value: &str, out: &mut Vec<u8>) {
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX[usize::from(b >> 4)].to_ascii_uppercase(),
                HEX[usize::from(b & 0xf)].to_ascii_uppercase(),
            ]);
        }
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(landing: Landing, value: &str) -> String {
        let mut out = Vec::new();
        escape(landing, value, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    const XSS: &str = "<img src=x onerror=alert(1)>\"'`\u{2028}";

    #[test]
    fn nothing_that_ends_a_context_survives() {
        let html = esc(Landing::HtmlText, XSS);
        assert!(!html.contains(['<', '>', '"', '\'']), "{html}");
        let attribute = esc(Landing::HtmlAttribute, XSS);
        assert!(!attribute.contains(['<', '>', '"', '\'', '`', '=', ' ']), "{attribute}");
        let json = esc(Landing::JsonString, XSS);
        assert!(!json.contains(['<', '>', '\'', '\u{2028}']) && !json.contains("\"'"), "{json}");
        let js = esc(Landing::JsString, XSS);
        assert!(js.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'\\'), "{js}");
        let css = esc(Landing::CssString, XSS);
        // U+2028 ends nothing in CSS; every ASCII character that could is escaped.
        assert!(css.chars().all(|c| c.is_ascii_alphanumeric() || c == '\\' || !c.is_ascii()), "{css}");
        assert_eq!(esc(Landing::UrlAttribute, "javascript:alert(1)"), "javascript%3Aalert%281%29");
    }

    #[test]
    fn json_escaping_parses_back_to_the_value() {
        let value = "Zoë \"Z\" O'Neil\\\n\u{1}<b>\u{2028}";
        let json = format!("\"{}\"", esc(Landing::JsonString, value));
        assert_eq!(serde_json::from_str::<String>(&json).expect("valid JSON"), value);
        let js = format!("\"{}\"", esc(Landing::JsString, value));
        assert_eq!(serde_json::from_str::<String>(&js).expect("JS escapes are JSON escapes"), value);
    }
}
