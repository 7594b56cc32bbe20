//! Workspace ONE's ways of saying no, mapped to the connector's typed errors: the JSON error body
//! `{"errorCode","message","activityId"}`, or an IIS HTML page for a bad route or a failing server.

use msc_sdk::http::Response;
use msc_sdk::{AuthError, AuthFailure, Error, RetryLater};

/// The documented "device not found" code.
pub const DEVICE_NOT_FOUND: u64 = 5061;

/// An API error body, when the answer has one.
pub struct ApiError {
    pub code: Option<u64>,
    pub message: Option<String>,
}

impl ApiError {
    /// Reads the error body; only JSON is read (a bad route answers an HTML page).
    pub fn of(response: &Response) -> Self {
        let body: Option<serde_json::Value> = if is_html(response) { None } else { response.json().ok() };
        let field =
            |names: &[&str]| body.as_ref().and_then(|b| names.iter().find_map(|name| msc_sdk::json::text(&b[*name])));
        Self {
            code: body.as_ref().and_then(|b| msc_sdk::json::unsigned(&b["errorCode"])),
            message: field(&["message", "Message", "error"]),
        }
    }

    /// ` (errorCode N: message)`, or nothing.
    fn said(&self) -> String {
        match (self.code, &self.message) {
            (Some(code), Some(message)) => format!(" (errorCode {code}: {})", excerpt(message)),
            (Some(code), None) => format!(" (errorCode {code})"),
            (None, Some(message)) => format!(" ({})", excerpt(message)),
            (None, None) => String::new(),
        }
    }
}

/// Whether the answer is an HTML page (IIS error page, proxy page) rather than the API's JSON.
pub fn is_html(response: &Response) -> bool {
    let head = String::from_utf8_lossy(&response.body[..response.body.len().min(256)]).to_ascii_lowercase();
    let head = head.trim_start();
    response.content_type().is_some_and(|t| t == "text/html")
        || head.starts_with("<!doctype html")
        || head.starts_with("<html")
}

/// The error for an API answer outside 2xx; 401 is the client's to handle before this.
pub fn status_error(response: &Response, what: &str) -> Error {
    let api = ApiError::of(response);
    let said = api.said();
    match response.status {
        400 => Error::InvalidInput(format!("Workspace ONE refused the {what} request (HTTP 400{said})")),
        401 => Error::AuthFailed(AuthError {
            reason: AuthFailure::BadCredentials,
            message: format!("Workspace ONE refused the API credentials (HTTP 401{said})"),
        }),
        403 if is_tenant_code(&api) => Error::AuthFailed(AuthError {
            reason: AuthFailure::BadApiKey,
            message: format!("Workspace ONE refused the tenant code (aw-tenant-code) (HTTP 403{said})"),
        }),
        403 => Error::Forbidden(format!(
            "Workspace ONE refused the {what} request: the tenant code or the admin's role does not allow it (HTTP 403{said})"
        )),
        404 if is_html(response) => Error::InvalidConfig(format!(
            "Workspace ONE has no {what} endpoint at this address (an HTML 404): check `server_url` (the API host, e.g. https://asNNN.awmdm.com)"
        )),
        404 => Error::NotFound(format!("Workspace ONE found no such {what}{said}")),
        406 => Error::Protocol(format!("Workspace ONE refused the API version asked for the {what} request")),
        _ => match response.status_error().map(Error::from) {
            // 429 and 5xx, with the server's Retry-After: the back-off's to retry.
            Some(Error::RateLimited(later)) => Error::RateLimited(RetryLater {
                retry_after_ms: later.retry_after_ms.or_else(|| quota_reset_in_ms(response)),
                message: format!("Workspace ONE is throttling the {what} request (HTTP 429{said})"),
            }),
            Some(Error::Unavailable(later)) => Error::Unavailable(RetryLater {
                retry_after_ms: later.retry_after_ms,
                message: format!("Workspace ONE is unavailable for the {what} request (HTTP {})", response.status),
            }),
            Some(_) | None => Error::Protocol(format!(
                "Workspace ONE answered the {what} request with HTTP {}{said}",
                response.status
            )),
        },
    }
}

/// When the daily quota is used up (`x-ratelimit-remaining: 0`), how long until it refills
/// (`x-ratelimit-reset`, epoch seconds): a 429 without `Retry-After` is then not worth retrying
/// within the call.
fn quota_reset_in_ms(response: &Response) -> Option<u64> {
    if response.header("x-ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    let reset_ms = response.header("x-ratelimit-reset")?.trim().parse::<u64>().ok()?.checked_mul(1000)?;
    Some(reset_ms.saturating_sub(msc_sdk::time::now_ms()).max(1000))
}

/// Whether a 403 is about the tenant code rather than the admin's role.
fn is_tenant_code(api: &ApiError) -> bool {
    api.code == Some(1001) || api.message.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("tenant"))
}

/// The start of a server's message, one line, for an error.
pub fn excerpt(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}
