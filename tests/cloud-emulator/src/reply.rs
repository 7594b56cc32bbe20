//! The HTTP answers the emulator gives: JSON (errors as `{"error","message"}`) and HTML.

use emulator_kit::reply::with_type;
pub use emulator_kit::reply::{Reply, header, json, json_of};
use hyper::StatusCode;

/// `{"error": code, "message": message}`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    json_of(status, &serde_json::json!({ "error": code, "message": message }))
}

pub fn html(status: StatusCode, body: String) -> Reply {
    let mut reply = with_type(status, "text/html; charset=utf-8", body);
    header(&mut reply, "content-security-policy", "default-src 'none'; style-src 'unsafe-inline'");
    header(&mut reply, "x-content-type-options", "nosniff");
    reply
}

/// `status` with `Location: location` and no body.
pub fn redirect(status: StatusCode, location: &str) -> Reply {
    let mut reply = Reply::new(http_body_util::Full::default());
    *reply.status_mut() = status;
    header(&mut reply, "location", location);
    reply
}

/// The value of parameter `name` in a query string or form body (`+` is a space),
/// percent-decoded; a value that does not decode is taken as it is.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = value.replace('+', " ");
        (key == name).then(|| percent_decode(&value).unwrap_or(value))
    })
}

/// The bearer token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Percent-decodes a path segment; `None` if it is not valid UTF-8 after decoding.
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything but unreserved characters, for a path segment.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HTML-escapes `& < > " '`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_percent_codes() {
        assert_eq!(escape(r#"<script>"a"&'b'</script>"#), "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;");
        assert_eq!(percent_encode("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(percent_decode("a%20b%2F%C3%BC").as_deref(), Some("a b/ü"));
        assert_eq!(percent_decode("50%").as_deref(), Some("50%"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(query_param("a=1&q=x+y%2B%C3%BC&b", "q").as_deref(), Some("x y+ü"));
        assert_eq!(query_param("a=1&b", "b").as_deref(), Some(""));
        assert_eq!(query_param("q=%zz", "q").as_deref(), Some("%zz"));
        assert_eq!(query_param("a=1", "q"), None);
    }
}
