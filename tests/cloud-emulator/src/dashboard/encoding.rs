//! What every whole dashboard answer gets on its way out: the `dash_view` cookie on HTML pages,
//! an ETag (and 304 for a matching `If-None-Match`), and compression by `Accept-Encoding`.

use std::io::Write;

use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT_ENCODING, CONTENT_TYPE, IF_NONE_MATCH};
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};

use crate::reply::{self, Reply};

/// Set by HTML pages on their reply: the page's name, for the `dash_view` cookie.
#[derive(Clone, Copy)]
pub struct View(pub &'static str);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
    Identity,
}

pub async fn finish(reply: Reply, request: &Parts, cookie_domain: &str) -> Reply {
    let (parts, body) = reply.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let view = parts.extensions.get::<View>().copied();
    let content_type = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let compressible =
        !body.is_empty() && (content_type.starts_with("text/html") || content_type.starts_with("application/json"));
    let mut reply = Reply::from_parts(parts, Full::new(body.clone()));
    if let Some(View(view)) = view {
        // A real cloud names its own domain; a proxy in front has to drop or rewrite it.
        let cookie = format!("dash_view={view}; Path=/; Domain={cookie_domain}; Secure; HttpOnly; SameSite=Lax");
        reply::header(&mut reply, "set-cookie", cookie);
    }
    if !compressible {
        return reply;
    }
    reply::header(&mut reply, "vary", "Accept-Encoding");
    if reply.status() == StatusCode::OK {
        // Weak: the same tag names the identity and the compressed bodies.
        let etag = format!("W/\"{:016x}\"", fnv1a(&body));
        reply::header(&mut reply, "etag", &etag);
        reply::header(&mut reply, "cache-control", "private, no-cache");
        let if_none_match = request.headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok());
        if request.method == Method::GET && if_none_match.is_some_and(|tags| etag_matches(tags, &etag)) {
            let mut not_modified = Reply::new(Full::default());
            *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
            for name in ["vary", "etag", "cache-control"] {
                if let Some(value) = reply.headers().get(name) {
                    not_modified.headers_mut().insert(name, value.clone());
                }
            }
            return not_modified;
        }
    }
    let coding = choose(request.headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok()));
    match compress(coding, &body) {
        Ok(Some(compressed)) => {
            *reply.body_mut() = Full::new(compressed.into());
            let name = if coding == Coding::Brotli { "br" } else { "gzip" };
            reply::header(&mut reply, "content-encoding", name);
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "compression failed; answering uncompressed"),
    }
    reply
}

/// `br` if acceptable, else `gzip`, else identity. A coding is acceptable when listed with a q
/// above 0, or not listed while `*` is (with a q above 0).
pub fn choose(accept_encoding: Option<&str>) -> Coding {
    let Some(accept) = accept_encoding else { return Coding::Identity };
    if acceptable(accept, "br") {
        Coding::Brotli
    } else if acceptable(accept, "gzip") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn acceptable(accept: &str, coding: &str) -> bool {
    let mut wildcard = false;
    for item in accept.split(',') {
        let mut fields = item.split(';');
        let name = fields.next().unwrap_or_default().trim();
        // An unreadable q counts as 0: better uncompressed than unreadable.
        let q = fields
            .find_map(|field| {
                let (key, value) = field.split_once('=')?;
                key.trim().eq_ignore_ascii_case("q").then(|| value.trim().parse::<f32>().unwrap_or(0.0))
            })
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q > 0.0;
        }
        if name == "*" {
            wildcard = q > 0.0;
        }
    }
    wildcard
}

fn compress(coding: Coding, body: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    match coding {
        Coding::Identity => Ok(None),
        Coding::Brotli => {
            let mut out = Vec::new();
            {
                // Quality 5: big pages for load tests compress fast enough.
                let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                writer.write_all(body)?;
                writer.flush()?;
            }
            Ok(Some(out))
        }
        Coding::Gzip => {
            let mut writer = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            writer.write_all(body)?;
            writer.finish().map(Some)
        }
    }
}

/// Whether an `If-None-Match` list names `etag` (weak comparison) or is `*`.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    if_none_match.split(',').any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
}

/// FNV-1a, 64 bits: stable across runs, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings_are_chosen_by_preference_and_q() {
        assert_eq!(choose(None), Coding::Identity);
        assert_eq!(choose(Some("identity")), Coding::Identity);
        assert_eq!(choose(Some("gzip, deflate, br, zstd")), Coding::Brotli);
        assert_eq!(choose(Some("gzip;q=0.5, br;q=0")), Coding::Gzip);
        assert_eq!(choose(Some("BR;Q=0, GZIP;q=0")), Coding::Identity);
        assert_eq!(choose(Some("*")), Coding::Brotli);
        assert_eq!(choose(Some("br;q=0, *")), Coding::Gzip);
        assert_eq!(choose(Some("*;q=0, gzip")), Coding::Gzip);
        assert_eq!(choose(Some("gzip;q=x")), Coding::Identity);
    }

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches("\"a\", W/\"b\"", "W/\"b\""));
        assert!(etag_matches("\"b\"", "W/\"b\""));
        assert!(etag_matches("*", "W/\"b\""));
        assert!(!etag_matches("W/\"c\"", "W/\"b\""));
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
