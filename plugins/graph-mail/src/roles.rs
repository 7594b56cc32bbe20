//! The application permissions (`roles`) an access token carries, read from its JWT payload
//! without verifying it: only for the self-test's advice, never to decide what to send.

use serde_json::Value;

/// The `roles` claim of a JWT access token; `None` when the token is not a readable JWT.
pub fn of_token(token: &str) -> Option<Vec<String>> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let claims: Value = serde_json::from_slice(&base64url(payload)?).ok()?;
    Some(
        claims["roles"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default(),
    )
}

/// Decodes unpadded (or padded) base64url.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_roles_claim() {
        // {"alg":"none"} . {"roles":["Mail.Send"],"aud":"https://graph.microsoft.com"}
        let token =
            "eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJNYWlsLlNlbmQiXSwiYXVkIjoiaHR0cHM6Ly9ncmFwaC5taWNyb3NvZnQuY29tIn0.sig";
        assert_eq!(of_token(token), Some(vec!["Mail.Send".to_string()]));
        // {"aud":"x"}: no roles at all.
        assert_eq!(of_token("e30.eyJhdWQiOiJ4In0.s"), Some(vec![]));
        assert_eq!(of_token("opaque-token"), None);
        assert_eq!(of_token("a.!!!.c"), None);
        assert_eq!(base64url("aGk").as_deref(), Some(&b"hi"[..]));
    }
}
