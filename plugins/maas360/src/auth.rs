//! Signing in: v2 authentication, the refresh-token flow, and the session token cached in the
//! instance's key-value store.
//!
//! A token lives 60 minutes; it is renewed after 55, first with the refresh token (which MaaS360
//! replaces on every use), then with the full credentials when refreshing fails.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use msc_sdk::http::{Request, Response};
use msc_sdk::json;
use msc_sdk::{AuthError, AuthFailure, Error, kv};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors;
use crate::settings::Settings;

/// Renew a token this long after it was issued (it lives 60 minutes).
const RENEW_AFTER: Duration = Duration::from_secs(55 * 60);
const SESSION_KEY: &str = "maas360.session";

/// A signed-in session.
#[derive(Serialize, Deserialize)]
pub struct Session {
    /// Which tenant and account the session belongs to, so a config change signs in again.
    account: String,
    pub token: String,
    refresh: Option<String>,
    issued_ms: u64,
}

impl Session {
    /// The cached session when it is fresh, else a renewed one.
    pub fn current(settings: &Settings) -> Result<Self, Error> {
        if let Some(cached) = Self::cached(settings)
            && now_ms().saturating_sub(cached.issued_ms) < millis(RENEW_AFTER)
        {
            return Ok(cached);
        }
        Self::renew(settings)
    }

    /// A new token: refreshed when a refresh token is cached, else (or when refreshing fails)
    /// by full authentication.
    pub fn renew(settings: &Settings) -> Result<Self, Error> {
        if let Some(refresh) = Self::cached(settings).and_then(|s| s.refresh) {
            match refresh_token(settings, &refresh) {
                Ok(session) => return session.store(),
                // Only a refused refresh token calls for the password; throttling and outages
                // are retried by the caller's back-off instead of doubling the load.
                Err(Error::AuthFailed(refused)) => {
                    msc_sdk::info!("MaaS360 refused the refresh token ({}); signing in again", refused.message)
                }
                Err(other) => return Err(other),
            }
        }
        Self::sign_in(settings)
    }

    /// Full authentication with the credentials, whatever is cached.
    pub fn sign_in(settings: &Settings) -> Result<Self, Error> {
        authenticate(settings)?.store()
    }

    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        format!("MaaS token=\"{}\"", self.token)
    }

    fn cached(settings: &Settings) -> Option<Self> {
        let bytes = kv::get(SESSION_KEY)?;
        let session: Self = serde_json::from_slice(&bytes).ok()?;
        (session.account == account(settings)).then_some(session)
    }

    fn store(self) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(&self).map_err(|e| Error::Internal(format!("session: {e}")))?;
        // Kept a day at most: refresh tokens do not outlive that.
        kv::set(SESSION_KEY, &bytes, Some(Duration::from_secs(24 * 3600)))?;
        Ok(self)
    }
}

/// What identifies the account a session belongs to (no secret in it).
fn account(settings: &Settings) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        settings.root, settings.billing_id, settings.username, settings.app_id, settings.app_version
    )
}

fn authenticate(settings: &Settings) -> Result<Session, Error> {
    let body = json!({ "authRequest": { "maaS360AdminAuth": {
        "billingID": settings.billing_id,
        "platformID": settings.platform_id,
        "appID": settings.app_id,
        "appVersion": settings.app_version,
        "appAccessKey": settings.access_key,
        "userName": settings.username,
        "password": settings.password,
    }}});
    let url = settings.url(&format!("/auth-apis/auth/2.0/authenticate/customer/{}", settings.billing_id));
    let response = post_auth(&url, &body)?;
    session_from(settings, &response)
}

fn refresh_token(settings: &Settings, refresh: &str) -> Result<Session, Error> {
    let body = json!({ "authRequest": { "maaS360AdminAuth": {
        "billingID": settings.billing_id,
        "platformID": settings.platform_id,
        "appID": settings.app_id,
        "appVersion": settings.app_version,
        "userName": settings.username,
        "refreshToken": refresh,
    }}});
    let url = settings.url(&format!("/auth-apis/auth/2.0/refreshToken/customer/{}", settings.billing_id));
    let response = post_auth(&url, &body)?;
    session_from(settings, &response)
}

/// Posts an authentication request. Throttling and outages come back as retryable errors;
/// the caller's back-off (in `client.rs`) retries, so they are not retried twice over here.
fn post_auth(url: &str, body: &Value) -> Result<Response, Error> {
    let response = Request::post(url).header("accept", "application/json").json(body)?.send()?;
    match response.status_error() {
        Some(error) if response.is_retryable() => Err(error.into()),
        _ => Ok(response),
    }
}

/// Reads an authentication answer: JSON (asked for), XML (what MaaS360 sends when it ignores
/// `Accept`), or an HTML login page (what some tenants send for refused credentials).
fn session_from(settings: &Settings, response: &Response) -> Result<Session, Error> {
    if errors::html_page(response).is_some() {
        return Err(errors::login_page_error(&response.text()));
    }
    if !response.is_success() {
        return Err(Error::AuthFailed(AuthError {
            reason: AuthFailure::Other,
            message: format!("MaaS360 refused the sign-in request with HTTP {}", response.status),
        }));
    }
    let fields = match response.content_type().as_deref() {
        Some(t) if t.contains("xml") => AuthFields::from_xml(&response.text()),
        _ => AuthFields::from_json(&response.json::<Value>()?),
    };
    match (fields.error_code, fields.token) {
        (Some(0) | None, Some(token)) => {
            Ok(Session { account: account(settings), token, refresh: fields.refresh, issued_ms: now_ms() })
        }
        (code, _) => Err(errors::auth_error(code, fields.description.as_deref())),
    }
}

struct AuthFields {
    token: Option<String>,
    refresh: Option<String>,
    error_code: Option<u64>,
    description: Option<String>,
}

impl AuthFields {
    fn from_json(body: &Value) -> Self {
        let r = &body["authResponse"];
        Self {
            token: json::text(&r["authToken"]),
            refresh: json::text(&r["refreshToken"]),
            error_code: json::unsigned(&r["errorCode"]),
            description: json::text(&r["errorDesc"]),
        }
    }

    fn from_xml(body: &str) -> Self {
        let tag = |name: &str| {
            let start = body.find(&format!("<{name}>"))? + name.len() + 2;
            let end = body[start..].find(&format!("</{name}>"))? + start;
            Some(body[start..end].trim().to_string()).filter(|v| !json::is_empty_marker(v))
        };
        Self {
            token: tag("authToken"),
            refresh: tag("refreshToken"),
            error_code: tag("errorCode").and_then(|c| c.parse().ok()),
            description: tag("errorDesc"),
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(millis).unwrap_or(0)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
