//! The app-only access token: the client-credentials grant against the Microsoft identity
//! platform, its refusals (AADSTS codes) explained, and the token cached in the instance's
//! key-value store until shortly before it expires.
//!
//! There is no refresh token in this grant: a new token is simply asked for with the secret.

use std::time::Duration;

use msc_sdk::http::Request;
use msc_sdk::{AuthError, AuthFailure, Error, RetryLater, json, kv};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::settings::Settings;

const TOKEN_KEY: &str = "graph.token";
/// Tokens are dropped from the cache this much before they expire (at most 5 minutes, a tenth of
/// their life for short ones), so a request never leaves with a token about to lapse.
const MAX_MARGIN: Duration = Duration::from_secs(300);

/// A bearer token for Graph.
#[derive(Serialize, Deserialize)]
pub struct Token {
    /// Whose token it is (see [`Settings::account`]).
    account: String,
    pub access_token: String,
    /// Seconds it lives, as the token endpoint said.
    pub expires_in: u64,
}

impl Token {
    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        format!("Bearer {}", self.access_token)
    }
}

/// The cached token when there is one for these credentials, else a new one.
pub fn current(settings: &Settings) -> Result<Token, Error> {
    let cached = kv::get(TOKEN_KEY).and_then(|bytes| serde_json::from_slice::<Token>(&bytes).ok());
    match cached {
        Some(token) if token.account == settings.account() => Ok(token),
        _ => fetch(settings),
    }
}

/// Forgets the cached token (Graph refused it).
pub fn forget() {
    kv::delete(TOKEN_KEY);
}

/// A new token from the token endpoint, cached for the next calls.
pub fn fetch(settings: &Settings) -> Result<Token, Error> {
    let scope = settings.scope();
    let response = Request::post(&settings.token_url())
        .header("accept", "application/json")
        .form(&form(settings, &scope))
        .timeout(crate::budget::request_timeout(msc_sdk::call::remaining()))
        .send()?;
    let token = parse(settings, response.status, &response.body, response.retry_after())?;
    let bytes = serde_json::to_vec(&token).map_err(|e| Error::Internal(format!("token cache: {e}")))?;
    kv::set(TOKEN_KEY, &bytes, Some(cache_ttl(token.expires_in)))?;
    Ok(token)
}

/// The form fields of the client-credentials grant.
pub fn form<'a>(settings: &'a Settings, scope: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("client_id", settings.client_id.as_str()),
        ("scope", scope),
        ("grant_type", "client_credentials"),
        ("client_secret", settings.client_secret.as_str()),
    ]
}

/// How long a token that lives `expires_in` seconds stays cached.
pub fn cache_ttl(expires_in: u64) -> Duration {
    let life = Duration::from_secs(expires_in);
    life.saturating_sub((life / 10).min(MAX_MARGIN))
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Value,
}

/// Reads the token endpoint's answer: a token, or why there is none.
pub fn parse(settings: &Settings, status: u16, body: &[u8], retry_after: Option<Duration>) -> Result<Token, Error> {
    let retry_after_ms = retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if status == 429 || status >= 500 {
        let message = format!("the Microsoft identity platform answered HTTP {status} to the token request");
        let later = RetryLater { retry_after_ms, message };
        return Err(if status == 429 { Error::RateLimited(later) } else { Error::Unavailable(later) });
    }
    if !(200..300).contains(&status) {
        return Err(refusal(settings, status, body));
    }
    let granted: Granted = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("the token endpoint's answer is not a token: {e}")))?;
    if granted.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        || granted.access_token.is_empty()
    {
        return Err(Error::Protocol("the token endpoint did not answer a bearer token".into()));
    }
    // `expires_in` is a number, sometimes written as a string; an hour when it is missing.
    let expires_in = json::unsigned(&granted.expires_in).unwrap_or(3599);
    Ok(Token { account: settings.account(), access_token: granted.access_token, expires_in })
}

/// The error a refused token request stands for, from its AADSTS code. The secret never appears:
/// the identity platform does not echo it, and it is cut out should that change.
pub fn refusal(settings: &Settings, status: u16, body: &[u8]) -> Error {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let description = json::text(&answer["error_description"]).unwrap_or_default();
    let code = json::items(&answer["error_codes"]).find_map(json::unsigned).or_else(|| aadsts_code(&description));
    let Some(code) = code else {
        return Error::AuthFailed(AuthError {
            reason: AuthFailure::Other,
            message: format!("the Microsoft identity platform refused the token request with HTTP {status}"),
        });
    };
    let (tenant, client) = (&settings.tenant, &settings.client_id);
    let (reason, advice) = match code {
        7000215 => (
            AuthFailure::BadApiKey,
            "the client secret is not valid: `client_secret` must hold the secret's value, not its id \
             (the portal shows both; the value only once, when the secret is created)"
                .to_string(),
        ),
        7000222 => (
            AuthFailure::BadApiKey,
            "the client secret has expired: create a new one under the app registration's \
             Certificates & secrets and put its value in `client_secret`"
                .to_string(),
        ),
        700016 => (
            AuthFailure::BadApiKey,
            format!(
                "the app `{client}` is not known in tenant `{tenant}`: check `client_id` and `tenant`, and that an \
                 administrator of that tenant consented to the app"
            ),
        ),
        90002 | 900023 => (AuthFailure::BadApiKey, format!("the tenant `{tenant}` does not exist: check `tenant`")),
        70011 | 1002012 => {
            (AuthFailure::Other, format!("the scope `{}` was refused: check `graph_url`", settings.scope()))
        }
        _ => (AuthFailure::Other, format!("the token request was refused: {}", first_line(&description))),
    };
    let trace = json::text(&answer["trace_id"]).map(|t| format!(", trace id {}", first_line(&t))).unwrap_or_default();
    let message = format!("Microsoft Entra ID (AADSTS{code}{trace}): {advice}");
    Error::AuthFailed(AuthError { reason, message: redact(&message, &settings.client_secret) })
}

/// The code of `AADSTS7000215: ...`.
fn aadsts_code(description: &str) -> Option<u64> {
    let digits: String = description.split_once("AADSTS")?.1.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The first line of a server's text, at most 200 characters: descriptions carry trace lines.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().filter(|c| !c.is_control()).take(200).collect()
}

fn redact(text: &str, secret: &str) -> String {
    if secret.len() < 4 { text.to_string() } else { text.replace(secret, "[secret]") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::example as settings;

    fn message(error: Error) -> (AuthFailure, String) {
        match error {
            Error::AuthFailed(AuthError { reason, message }) => (reason, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn asks_for_the_default_scope_with_the_secret() {
        let settings = settings();
        let scope = settings.scope();
        assert_eq!(settings.token_url(), "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        let fields = form(&settings, &scope);
        assert!(fields.contains(&("scope", "https://graph.microsoft.com/.default")));
        assert!(fields.contains(&("grant_type", "client_credentials")));
        assert!(fields.contains(&("client_secret", "s3cr3t-value")));
    }

    #[test]
    fn reads_a_token_and_caches_it_a_little_shorter() {
        let body = br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0"}"#;
        let token = parse(&settings(), 200, body, None).expect("token");
        assert_eq!((token.access_token.as_str(), token.expires_in), ("eyJ0", 3599));
        assert_eq!(token.header(), "Bearer eyJ0");
        assert_eq!(cache_ttl(3599), Duration::from_secs(3299));
        assert_eq!(cache_ttl(60), Duration::from_secs(54));
        assert_eq!(cache_ttl(0), Duration::ZERO);
        let text = parse(&settings(), 200, br#"{"access_token":"t","expires_in":"120"}"#, None).expect("token");
        assert_eq!(text.expires_in, 120);
        assert!(matches!(parse(&settings(), 200, b"<html>", None), Err(Error::Protocol(_))));
    }

    #[test]
    fn explains_each_refusal_without_the_secret() {
        let settings = settings();
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. s3cr3t-value\r\nTrace ID: abc","error_codes":[7000215],"trace_id":"abc","correlation_id":"def"}"#;
        let (reason, text) = message(refusal(&settings, 401, body));
        assert_eq!(reason, AuthFailure::BadApiKey);
        assert!(text.contains("AADSTS7000215") && text.contains("value, not its id"), "{text}");
        assert!(!text.contains("s3cr3t-value"), "{text}");

        let expired = br#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired.","error_codes":[7000222]}"#;
        assert!(message(refusal(&settings, 401, expired)).1.contains("expired"));
        // Without `error_codes`, the code comes from the description.
        let unknown_app = br#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory 'y'."}"#;
        let (_, text) = message(refusal(&settings, 400, unknown_app));
        assert!(text.contains("AADSTS700016") && text.contains("0b5c1e6a-app"), "{text}");
        let other = br#"{"error":"invalid_request","error_description":"AADSTS50049: Unknown or invalid instance.\r\nTrace ID: 1","error_codes":[50049]}"#;
        let (reason, text) = message(refusal(&settings, 400, other));
        assert_eq!(reason, AuthFailure::Other);
        assert!(text.contains("Unknown or invalid instance.") && !text.contains("Trace ID: 1"), "{text}");
        assert!(matches!(refusal(&settings, 400, b""), Error::AuthFailed(_)));
    }

    #[test]
    fn throttling_and_outages_are_retryable() {
        let limited = parse(&settings(), 429, b"", Some(Duration::from_secs(7)));
        assert!(matches!(limited, Err(Error::RateLimited(RetryLater { retry_after_ms: Some(7000), .. }))));
        assert!(matches!(parse(&settings(), 503, b"", None), Err(Error::Unavailable(_))));
    }
}
