//! `Accept: application/json;version=N`: which version a request asks for. An endpoint answers an
//! unsupported version silently as v1, and says which it served in `x-api-version`.

use hyper::header::{ACCEPT, HeaderMap};

use crate::error::ApiError;
use crate::reply::{self, Reply};

/// The version the client asked for (`None`: no version parameter), or 406 when its `Accept`
/// allows no JSON at all.
pub fn requested(headers: &HeaderMap) -> Result<Option<u32>, ApiError> {
    let values: Vec<&str> = headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return Ok(None);
    }
    let mut json = false;
    for range in values.iter().flat_map(|value| value.split(',')) {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        json = true;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("version")
            {
                return Ok(value.trim().trim_matches('"').parse().ok());
            }
        }
    }
    if json { Ok(None) } else { Err(ApiError::NotAcceptable) }
}

/// The version served: the requested one if the endpoint supports it, else 1.
pub fn served(requested: Option<u32>, supported: &[u32]) -> u32 {
    requested.filter(|version| supported.contains(version)).unwrap_or(1)
}

/// `x-api-version` and `api-supported-versions` on an answer.
pub fn stamp(reply: &mut Reply, served: u32, supported: &[u32]) {
    let list: Vec<String> = supported.iter().map(|version| format!("{version}.0")).collect();
    reply::header(reply, "x-api-version", format!("{served}.0"));
    reply::header(reply, "api-supported-versions", list.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn reads_the_version_parameter() {
        assert_eq!(requested(&HeaderMap::new()), Ok(None));
        assert_eq!(requested(&accept("application/json;version=2")), Ok(Some(2)));
        assert_eq!(requested(&accept("text/html, application/json; version=3")), Ok(Some(3)));
        assert_eq!(requested(&accept("application/json")), Ok(None));
        assert_eq!(requested(&accept("*/*")), Ok(None));
        assert_eq!(requested(&accept("application/xml")), Err(ApiError::NotAcceptable));
        assert_eq!(served(Some(4), &[1, 2, 3]), 1);
        assert_eq!(served(Some(2), &[1, 2, 3]), 2);
        assert_eq!(served(None, &[1, 2]), 1);
    }
}
