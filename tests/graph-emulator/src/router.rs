//! Which endpoint a request is for, and its body read with Graph's size limit.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, StatusCode};

use crate::graph::{self, Body};
use crate::identity;
use crate::message::MAX_REQUEST_BYTES;
use crate::reply::{Reply, graph_error};
use crate::tenant::Tenant;

/// Token requests are small forms.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub async fn handle(tenant: Arc<Tenant>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let authorization = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(String::from);
    let segments: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    tracing::debug!(%method, segments = segments.len(), "request");
    let reply = match (&method, segments.as_slice()) {
        (&Method::POST, [tenant_name, "oauth2", "v2.0", "token"]) => {
            match read(request.into_body(), MAX_FORM_BYTES).await {
                Body::Whole(form) => identity::token(&tenant, tenant_name, &form),
                Body::TooLarge => {
                    graph_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "The form is too large.")
                }
            }
        }
        (&Method::POST, ["v1.0", "users", user, operation]) if operation.eq_ignore_ascii_case("sendMail") => {
            let body = read(request.into_body(), MAX_REQUEST_BYTES).await;
            // Its own task: a client that gives up mid-request does not stop a message being taken,
            // as with the real service.
            let handling = tokio::spawn(graph::send_mail(tenant.clone(), user.to_string(), authorization, body));
            match handling.await {
                Ok(reply) => reply,
                Err(_) => graph_error(StatusCode::INTERNAL_SERVER_ERROR, "UnknownError", "The request failed."),
            }
        }
        (&Method::POST, ["v1.0", "me", operation]) if operation.eq_ignore_ascii_case("sendMail") => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ),
        (&Method::GET, ["v1.0", "users", user]) => graph::user(&tenant, user, authorization.as_deref()),
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", segments.last().copied().unwrap_or("")),
        ),
    };
    Ok(reply)
}

/// The body, or `TooLarge` past `limit` bytes (the rest is not read).
async fn read(body: Incoming, limit: usize) -> Body {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Body::Whole(collected.to_bytes()),
        Err(_) => Body::TooLarge,
    }
}

/// One path segment with its `%XX` escapes decoded (`+` stays a plus in a path).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_path_segments() {
        assert_eq!(super::percent_decode("alerts%40contoso.com"), "alerts@contoso.com");
        assert_eq!(super::percent_decode("a+b%2Fc%zz"), "a+b/c%zz");
    }
}
