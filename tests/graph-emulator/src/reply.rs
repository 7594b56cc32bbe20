//! The answers the emulator gives, shaped like the real services' bodies: Graph's
//! `{"error":{"code","message","innerError"}}` and the identity platform's AADSTS errors.

use bytes::Bytes;
pub use emulator_kit::reply::{Reply, header, json_of};
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::json;

use crate::ids;

/// A Graph error with a fresh `request-id`.
pub fn graph_error(status: StatusCode, code: &str, message: &str) -> Reply {
    let request_id = ids::guid();
    let mut reply = json_of(
        status,
        &json!({ "error": {
            "code": code,
            "message": message,
            "innerError": { "date": ids::timestamp(), "request-id": request_id, "client-request-id": request_id },
        }}),
    );
    header(&mut reply, "request-id", &request_id);
    reply
}

/// A Graph error asking the client to wait `retry_after_secs` (429, 503).
pub fn graph_retry_later(status: StatusCode, code: &str, message: &str, retry_after_secs: u64) -> Reply {
    let mut reply = graph_error(status, code, message);
    header(&mut reply, "retry-after", retry_after_secs);
    reply
}

/// An identity platform error: `error`, `error_description` starting `AADSTS<code>: ` and ending
/// with the trace lines, `error_codes`, ids and a timestamp.
pub fn aad_error(status: StatusCode, error: &str, code: u32, text: &str) -> Reply {
    let (trace_id, correlation_id, timestamp) = (ids::guid(), ids::guid(), ids::timestamp());
    json_of(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// A status with an empty body: `sendMail`'s 202.
pub fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    reply
}
