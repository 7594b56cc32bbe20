//! The HTTP answers both emulators build on; each adds its own kinds (XML and login pages, JSON
//! errors and guarded HTML) in its own `reply` module.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

pub type Reply = Response<Full<Bytes>>;

/// `body` with `status` and `Content-Type: content_type`.
pub fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    with_type(status, "application/json", body)
}

/// `value` serialized; the emulators' types cannot fail to serialize.
pub fn json_of<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    json(status, serde_json::to_vec(value).unwrap_or_default())
}

/// Sets header `name` (lowercase) to `value`; a value that is not a valid header value is left out.
pub fn header(reply: &mut Reply, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        reply.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_headers() {
        let mut reply = json_of(StatusCode::CREATED, &serde_json::json!({"a": 1}));
        header(&mut reply, "retry-after", 3);
        header(&mut reply, "x-bad", "line\nbreak");
        assert_eq!(reply.status(), StatusCode::CREATED);
        assert_eq!(reply.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(reply.headers()["retry-after"], "3");
        assert!(!reply.headers().contains_key("x-bad"));
        assert_eq!(with_type(StatusCode::OK, "text/plain", "x").headers()[CONTENT_TYPE], "text/plain");
    }
}
