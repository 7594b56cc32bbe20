//! Authentication: logins (v1 and v2), token refresh, and the token check in front of every other
//! endpoint. Refusals are HTTP 200 with an `errorCode`, as the service answers them.

pub mod request;
pub mod sessions;

use std::time::Instant;

use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderMap};
use serde::Serialize;

use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock};
use sessions::Refused;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginVersion {
    /// `/auth-apis/auth/1.0/authenticate/{billingId}`: JSON or XML, no refresh token.
    V1,
    /// `/auth-apis/auth/2.0/authenticate/customer/{billingId}`: JSON, with a refresh token.
    V2,
}

/// A refused login or refresh, as `errorCode` and `errorDesc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    BadCredentials,
    BadApp,
    BadRefreshToken,
    Locked,
}

impl Refusal {
    fn code(self) -> u32 {
        match self {
            Self::BadCredentials => 1001,
            Self::BadApp => 1007,
            Self::BadRefreshToken => 1009,
            Self::Locked => 1011,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::BadCredentials => "Authentication failed: invalid user name or password",
            Self::BadApp => "Authentication failed: invalid app ID or app access key",
            Self::BadRefreshToken => "Invalid refresh token",
            Self::Locked => "Account is locked. Contact your administrator.",
        }
    }

    /// The error line of the HTML login page some tenants answer with instead.
    fn login_page_error(self) -> Option<&'static str> {
        match self {
            Self::BadCredentials => Some("The username or password you have entered is incorrect."),
            Self::Locked => Some("Your account is locked. Contact your administrator."),
            Self::BadApp | Self::BadRefreshToken => None,
        }
    }
}

type Outcome = Result<(String, Option<String>), Refusal>;

/// A login. Checks, in order: the body's shape (400), the billing ID, the lock, the app, the user.
pub fn login(tenant: &Tenant, version: LoginVersion, billing_id: &str, accept_json: bool, body: &[u8]) -> Reply {
    lock(&tenant.stats).authenticate += 1;
    let Some(login) = request::login(body, version == LoginVersion::V1) else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let config = &tenant.config;
    let outcome = {
        let mut sessions = lock(&tenant.sessions);
        if billing_id != config.billing_id || login.billing_id != config.billing_id {
            Err(Refusal::BadCredentials)
        } else if sessions.locked() {
            Err(Refusal::Locked)
        } else if login.platform_id != "3"
            || login.app_id != config.app_id
            || login.app_version != config.app_version
            || login.access_key != config.access_key
        {
            Err(Refusal::BadApp)
        } else if login.username != config.username || login.password != config.password {
            sessions.failed();
            Err(Refusal::BadCredentials)
        } else {
            Ok(sessions.issue(Instant::now(), version == LoginVersion::V2))
        }
    };
    if outcome.is_ok() {
        lock(&tenant.stats).authenticate_ok += 1;
    }
    answer(tenant, outcome, accept_json)
}

/// A token refresh: the refresh token is used up, a new pair is issued.
pub fn refresh(tenant: &Tenant, billing_id: &str, accept_json: bool, body: &[u8]) -> Reply {
    lock(&tenant.stats).refresh += 1;
    let Some(request) = request::refresh(body) else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let config = &tenant.config;
    let outcome = {
        let mut sessions = lock(&tenant.sessions);
        let now = Instant::now();
        if billing_id != config.billing_id || request.billing_id != config.billing_id {
            Err(Refusal::BadCredentials)
        } else if sessions.locked() {
            Err(Refusal::Locked)
        } else if request.platform_id != "3"
            || request.app_id != config.app_id
            || request.app_version != config.app_version
        {
            Err(Refusal::BadApp)
        } else if request.username != config.username || !sessions.redeem(&request.refresh_token, now) {
            Err(Refusal::BadRefreshToken)
        } else {
            Ok(sessions.issue(now, true))
        }
    };
    if outcome.is_ok() {
        lock(&tenant.stats).refresh_ok += 1;
    }
    answer(tenant, outcome, accept_json)
}

/// The token of `Authorization: MaaS token="…"`, if it is still good.
pub fn check_token(tenant: &Tenant, headers: &HeaderMap) -> Result<(), Refused> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("MaaS token=\""))
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|token| !token.is_empty() && !token.contains('"'))
        .ok_or(Refused::Invalid)?;
    lock(&tenant.sessions).check(token, Instant::now())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthReply<'a> {
    auth_response: AuthResponse<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_token: Option<&'a str>,
    error_code: u32,
    error_desc: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

/// JSON when the client accepts it, XML otherwise; HTML for refused credentials when the tenant
/// answers that way.
fn answer(tenant: &Tenant, outcome: Outcome, accept_json: bool) -> Reply {
    if let Err(refusal) = outcome
        && tenant.config.html_login_errors
        && let Some(error) = refusal.login_page_error()
    {
        lock(&tenant.stats).html_pages += 1;
        return reply::login_page(Some(error));
    }
    let response = match &outcome {
        Ok((token, refresh)) => {
            AuthResponse { auth_token: Some(token), error_code: 0, error_desc: None, refresh_token: refresh.as_deref() }
        }
        Err(refusal) => AuthResponse {
            auth_token: None,
            error_code: refusal.code(),
            error_desc: Some(refusal.description()),
            refresh_token: None,
        },
    };
    if accept_json {
        return reply::json_of(StatusCode::OK, &AuthReply { auth_response: response });
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<authResponse>");
    if let Some(token) = response.auth_token {
        xml.push_str(&format!("<authToken>{token}</authToken>"));
    }
    xml.push_str(&format!("<errorCode>{}</errorCode>", response.error_code));
    if let Some(description) = response.error_desc {
        xml.push_str(&format!("<errorDesc>{description}</errorDesc>"));
    }
    if let Some(refresh) = response.refresh_token {
        xml.push_str(&format!("<refreshToken>{refresh}</refreshToken>"));
    }
    xml.push_str("</authResponse>");
    reply::xml(xml)
}
