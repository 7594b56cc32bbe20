//! Authentication: every `/API/` call needs Basic credentials with the tenant code, or an OAuth
//! Bearer token (the tenant code then optional but checked when sent). The token endpoint issues
//! client-credentials tokens.

pub mod credentials;
pub mod tokens;

use std::time::Instant;

use hyper::StatusCode;
use hyper::header::HeaderMap;
use serde_json::json;

use crate::error::ApiError;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock};
use credentials::Presented;

const TENANT_CODE: &str = "aw-tenant-code";

/// Lets an API request through, or says why not.
pub fn authorize(tenant: &Tenant, headers: &HeaderMap) -> Result<(), ApiError> {
    let config = &tenant.config;
    let code = headers.get(TENANT_CODE).and_then(|value| value.to_str().ok());
    let code_ok = code == Some(config.tenant_code.as_str());
    match credentials::presented(headers) {
        Presented::Basic { user, password } => {
            if user != config.username || password != config.password {
                return Err(ApiError::BadCredentials);
            }
            // The REST API key is mandatory with basic auth.
            if !code_ok {
                return Err(ApiError::TenantCode);
            }
            Ok(())
        }
        Presented::Bearer(token) => {
            if !lock(&tenant.tokens).valid(&token, Instant::now()) {
                return Err(ApiError::BadToken);
            }
            if code.is_some() && !code_ok {
                return Err(ApiError::TenantCode);
            }
            Ok(())
        }
        Presented::None | Presented::Malformed => Err(ApiError::BadCredentials),
    }
}

/// `POST /connect/token` (SaaS) or `/oauth/token` (on-prem): the client-credentials grant, with
/// the client in the form or in a Basic header.
pub fn token(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Reply {
    lock(&tenant.stats).token_requests += 1;
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    if field("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error("unsupported_grant_type");
    }
    let client = match credentials::presented(headers) {
        Presented::Basic { user, password } => Some((user, password)),
        _ => field("client_id").zip(field("client_secret")),
    };
    let config = &tenant.config;
    if !client.is_some_and(|(id, secret)| id == config.client_id && secret == config.client_secret) {
        return oauth_error("invalid_client");
    }
    let mut tokens = lock(&tenant.tokens);
    let token = tokens.issue(Instant::now());
    let body = json!({"access_token": token, "expires_in": tokens.ttl().as_secs(), "token_type": "Bearer"});
    drop(tokens);
    lock(&tenant.stats).tokens_issued += 1;
    let mut answer = reply::json_of(StatusCode::OK, &body);
    reply::header(&mut answer, "cache-control", "no-store");
    answer
}

/// RFC 6749's error body, as IdentityServer answers it (400).
fn oauth_error(error: &'static str) -> Reply {
    reply::json_of(StatusCode::BAD_REQUEST, &json!({"error": error}))
}
