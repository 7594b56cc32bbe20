//! What a request presents: the `Authorization` header's scheme and its parts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{AUTHORIZATION, HeaderMap};

#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
    /// Another scheme, or a Basic header that does not decode to `user:password`.
    Malformed,
}

pub fn presented(headers: &HeaderMap) -> Presented {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Presented::None;
    };
    let Ok(value) = value.to_str() else {
        return Presented::Malformed;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Presented::Bearer(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic")
        && let Some((user, password)) = basic(rest)
    {
        return Presented::Basic { user, password };
    }
    Presented::Malformed
}

/// `user:password` out of base64; the password may contain colons.
pub fn basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn reads_basic_and_bearer() {
        let encoded = STANDARD.encode("admin:pa:ss");
        assert_eq!(
            presented(&with(&format!("Basic {encoded}"))),
            Presented::Basic { user: "admin".into(), password: "pa:ss".into() }
        );
        assert_eq!(presented(&with("Bearer abc")), Presented::Bearer("abc".into()));
        assert_eq!(presented(&with("Basic !!!")), Presented::Malformed);
        assert_eq!(presented(&with("MaaS token=\"x\"")), Presented::Malformed);
        assert_eq!(presented(&HeaderMap::new()), Presented::None);
    }
}
