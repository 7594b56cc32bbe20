//! The API's refusals and their JSON body, `{"errorCode","message","activityId"}`. Endpoints return
//! `Result<Reply, ApiError>`; the router renders the error.

use std::sync::atomic::{AtomicU64, Ordering};

use hyper::StatusCode;
use serde_json::json;
use thiserror::Error;

use crate::reply::{self, Reply};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApiError {
    #[error("User credentials are invalid.")]
    BadCredentials,
    #[error("The access token is invalid or has expired.")]
    BadToken,
    #[error("Invalid or missing aw-tenant-code.")]
    TenantCode,
    #[error("Device not found for this request.")]
    DeviceNotFound,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("The requested media type is not supported.")]
    NotAcceptable,
    #[error("Daily API quota exceeded.")]
    QuotaExhausted,
    #[error("Too many requests.")]
    Throttled,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadCredentials | Self::BadToken => StatusCode::UNAUTHORIZED,
            Self::TenantCode => StatusCode::FORBIDDEN,
            Self::DeviceNotFound | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::QuotaExhausted | Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The documented codes are 1005 (credentials) and 5061 (device); the rest are our choice.
    pub fn code(&self) -> u32 {
        match self {
            Self::BadCredentials | Self::BadToken => 1005,
            Self::TenantCode => 1001,
            Self::DeviceNotFound => 5061,
            Self::NotFound(_) => 5060,
            Self::BadRequest(_) => 1013,
            Self::NotAcceptable => 1014,
            Self::QuotaExhausted | Self::Throttled => 1015,
        }
    }

    pub fn reply(&self) -> Reply {
        let body = json!({"errorCode": self.code(), "message": self.to_string(), "activityId": activity_id()});
        reply::json_of(self.status(), &body)
    }
}

/// A fresh GUID-shaped activity id, as every error carries.
fn activity_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("0a1b2c3d-{:04x}-4e5f-8a9b-{:012x}", (n >> 48) & 0xffff, n & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_code_message_and_activity() {
        let reply = ApiError::DeviceNotFound.reply();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::BadCredentials.code(), 1005);
        assert_ne!(activity_id(), activity_id());
    }
}
