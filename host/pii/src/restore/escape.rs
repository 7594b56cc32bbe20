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
/// stays inert when a page embeds it in a `<script>`.
fn json(value: &str, out: &mut Vec<u8>) {
    for c in value.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\'' | '\u{2028}' | '\u{2029}' => push_u_escape(out, c as u32),
            c if (c as u32) < 0x20 || c == '\u{7f}' => push_u_escape(out, c as u32),
            c => push_char(out, c),
        }
    }
}

/// HTML text and attribute escaping. In attributes, also everything that ends an unquoted value.
fn html(value: &str, out: &mut Vec<u8>, attribute: bool) {
    for c in value.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&#39;"),
            '`' | '=' | ' ' | '\t' | '\n' | '\r' | '\u{c}' if attribute => {
                out.extend_from_slice(format!("&#{};", c as u32).as_bytes())
            }
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.extend_from_slice(format!("&#{};", c as u32).as_bytes())
            }
            c => push_char(out, c),
        }
    }
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
