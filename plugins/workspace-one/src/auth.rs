//! Signing in: Basic credentials on every call, or an OAuth client-credentials token fetched from
//! the token URL and cached in the instance's key-value store.
//!
//! Tokens live 3600 s; a cached one is used until five minutes before it expires, as the vendor
//! advises, so a long sync never sends one that is about to lapse.

use std::time::Duration;

use msc_sdk::http::{Request, Response};
use msc_sdk::time::now_ms;
use msc_sdk::{AuthError, AuthFailure, Error, kv};
use serde::{Deserialize, Serialize};

use crate::errors;
use crate::settings::{Auth, Settings};

const TOKEN_KEY: &str = "workspace_one.token";
/// Renew a token this long before it expires.
const RENEW_EARLY: Duration = Duration::from_secs(5 * 60);

/// What a request authenticates with.
pub enum Session {
    /// The settings' user name and password, on every call.
    Basic,
    /// An OAuth access token.
    Bearer(String),
}

/// A cached OAuth token.
#[derive(Serialize, Deserialize)]
struct Cached {
    /// Which token URL and client it belongs to (no secret in it), so a config change signs in again.
    account: String,
    token: String,
    expires_ms: u64,
}

impl Session {
    /// The session to use: Basic, or the cached token while it is fresh, else a new one.
    pub fn current(settings: &Settings) -> Result<Self, Error> {
        if !matches!(settings.auth, Auth::OAuth { .. }) {
            return Ok(Self::Basic);
        }
        if let Some(cached) = cached(settings)
            && now_ms().saturating_add(millis(RENEW_EARLY)) < cached.expires_ms
        {
            return Ok(Self::Bearer(cached.token));
        }
        Self::renew(settings)
    }

    /// A new token, whatever is cached (Basic has nothing to renew).
    pub fn renew(settings: &Settings) -> Result<Self, Error> {
        let Auth::OAuth { token_url, client_id, client_secret } = &settings.auth else {
            return Ok(Self::Basic);
        };
        kv::delete(TOKEN_KEY);
        let response = Request::post(token_url)
            .header("accept", "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.expose()),
                ("client_secret", client_secret.expose()),
            ])
            .send()?;
        let answer = token_answer(&response)?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let cached =
            Cached { account: account(settings), token: answer.access_token, expires_ms: now_ms() + millis(lifetime) };
        let bytes = serde_json::to_vec(&cached).map_err(|e| Error::Internal(format!("token cache: {e}")))?;
        kv::set(TOKEN_KEY, &bytes, Some(lifetime.saturating_sub(RENEW_EARLY).max(Duration::from_secs(60))))?;
        Ok(Self::Bearer(cached.token))
    }

    /// `request` with this session's `Authorization` header and the tenant code.
    pub fn apply(&self, settings: &Settings, request: Request) -> Request {
        let request = match (self, &settings.auth) {
            (Self::Bearer(token), _) => request.bearer(token),
            (Self::Basic, Auth::Basic { username, password }) => request.basic_auth(username, password.expose()),
            // Unreachable: a Basic session comes only from Basic settings.
            (Self::Basic, Auth::OAuth { .. }) => request,
        };
        request.header("aw-tenant-code", settings.tenant_code.expose())
    }

    /// Whether signing in again could help after a 401 (a new token can; the same password cannot).
    pub fn renewable(&self) -> bool {
        matches!(self, Self::Bearer(_))
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

/// Reads the token endpoint's answer: a token, or why the client was refused. Throttling and
/// outages are retryable errors for the caller's back-off.
fn token_answer(response: &Response) -> Result<TokenAnswer, Error> {
    if response.is_retryable() {
        return Err(errors::status_error(response, "OAuth token"));
    }
    if !response.is_success() {
        let said: Option<serde_json::Value> = response.json().ok();
        let error = said.as_ref().and_then(|b| msc_sdk::json::text(&b["error"])).unwrap_or_default();
        let (reason, what) = match error.as_str() {
            "invalid_client" | "unauthorized_client" => {
                (AuthFailure::BadCredentials, "refused the OAuth client id or secret")
            }
            "unsupported_grant_type" | "invalid_grant" => (AuthFailure::Other, "refused the client-credentials grant"),
            _ => (AuthFailure::Other, "refused the token request"),
        };
        let detail = if error.is_empty() { String::new() } else { format!(", {}", errors::excerpt(&error)) };
        return Err(Error::AuthFailed(AuthError {
            reason,
            message: format!("the Workspace ONE token URL {what} (HTTP {}{detail})", response.status),
        }));
    }
    response
        .json::<TokenAnswer>()
        .map_err(|e| Error::Protocol(format!("the Workspace ONE token URL answered without an access token: {e}")))
}

fn cached(settings: &Settings) -> Option<Cached> {
    let cached: Cached = serde_json::from_slice(&kv::get(TOKEN_KEY)?).ok()?;
    (cached.account == account(settings)).then_some(cached)
}

/// The token URL and a fingerprint of the client id: tells accounts apart without keeping a secret.
fn account(settings: &Settings) -> String {
    match &settings.auth {
        Auth::OAuth { token_url, client_id, .. } => format!("{token_url}|{:016x}", fingerprint(client_id.expose())),
        Auth::Basic { .. } => String::new(),
    }
}

/// FNV-1a: enough to notice a changed client id, not to recover it.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
