//! MaaS360's ways of saying no, mapped to the connector's typed errors. Many arrive as HTTP 200:
//! an `errorCode` or `actionStatus` other than 0, or an HTML login page where JSON was expected.

use msc_sdk::http::Response;
use msc_sdk::{AuthError, AuthFailure, Error};

/// An HTML page where JSON was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HtmlPage {
    /// MaaS360's login page: refused credentials, or a session it bounced.
    Login,
    /// Anything else: a proxy's error or maintenance page.
    Other,
}

/// What kind of HTML page `response` is, if it is one.
pub fn html_page(response: &Response) -> Option<HtmlPage> {
    let head = String::from_utf8_lossy(&response.body[..response.body.len().min(4096)]).to_ascii_lowercase();
    let html = response.content_type().is_some_and(|t| t == "text/html")
        || head.trim_start().starts_with("<!doctype html")
        || head.trim_start().starts_with("<html");
    if !html {
        return None;
    }
    let body = String::from_utf8_lossy(&response.body).to_ascii_lowercase();
    let login = body.contains("type=\"password\"")
        || body.contains("type='password'")
        || body.contains("login")
        || body.contains("sign in");
    Some(if login { HtmlPage::Login } else { HtmlPage::Other })
}

/// The error the HTML page answering a sign-in stands for, from the sentences MaaS360 shows.
pub fn login_page_error(page: &str) -> Error {
    let page = page.to_ascii_lowercase();
    let (reason, message) = if page.contains("account is locked") || page.contains("account has been locked") {
        (AuthFailure::AccountLocked, "MaaS360 says the API account is locked")
    } else if page.contains("you have entered is incorrect") || page.contains("invalid username or password") {
        (AuthFailure::BadCredentials, "MaaS360 refused the API user name or password (it answered its login page)")
    } else {
        (AuthFailure::Other, "MaaS360 answered its HTML login page instead of signing in")
    };
    Error::AuthFailed(AuthError { reason, message: message.into() })
}

/// The error an authentication answer with `errorCode` ≠ 0 stands for. MaaS360 does not
/// document its codes, so the description decides, the code is reported.
pub fn auth_error(code: Option<u64>, description: Option<&str>) -> Error {
    let text = description.unwrap_or("").to_ascii_lowercase();
    let reason = if text.contains("locked") || text.contains("disabled") {
        AuthFailure::AccountLocked
    } else if text.contains("access key")
        || text.contains("app id")
        || text.contains("appid")
        || text.contains("application")
    {
        AuthFailure::BadApiKey
    } else if text.contains("password")
        || text.contains("user name")
        || text.contains("username")
        || text.contains("credential")
    {
        AuthFailure::BadCredentials
    } else if text.contains("refresh") || text.contains("token") {
        AuthFailure::TokenRejected
    } else {
        AuthFailure::Other
    };
    let what = match reason {
        AuthFailure::AccountLocked => "the API account is locked",
        AuthFailure::BadApiKey => "the app ID, app version or app access key was refused",
        AuthFailure::BadCredentials => "the API user name or password was refused",
        AuthFailure::TokenRejected => "the session was refused",
        AuthFailure::Other => "sign-in failed",
    };
    let code = code.map(|c| format!("errorCode {c}")).unwrap_or_else(|| "no token in the answer".into());
    let said = description.map(|d| format!(": {}", excerpt(d))).unwrap_or_default();
    Error::AuthFailed(AuthError { reason, message: format!("MaaS360: {what} ({code}{said})") })
}

/// The error a device action answered with `actionStatus` ≠ 0 stands for.
pub fn action_error(description: &str) -> Error {
    let text = description.to_ascii_lowercase();
    let message = format!("MaaS360 refused the action: {}", excerpt(description));
    if text.contains("not found") || text.contains("does not exist") || text.contains("invalid device") {
        Error::NotFound(message)
    } else if text.contains("not defined") {
        Error::InvalidConfig(format!(
            "{message}; create the custom attribute in MaaS360 (Devices > Custom Attributes) as a boolean device attribute"
        ))
    } else if text.contains("invalid") {
        Error::InvalidInput(message)
    } else if text.contains("permission") || text.contains("not authorized") || text.contains("access denied") {
        Error::Forbidden(message)
    } else {
        Error::Protocol(message)
    }
}

/// The error for an API answer outside 2xx (other than 401, which the client handles).
pub fn status_error(response: &Response, what: &str) -> Error {
    let Some(error) = response.status_error() else {
        return Error::Internal("status_error called on a success".into());
    };
    match (response.status, Error::from(error)) {
        (400, _) => Error::InvalidInput(format!("MaaS360 refused the {what} request (HTTP 400{})", said(response))),
        (404, _) => Error::NotFound(format!("MaaS360 found no such {what}{}", said(response))),
        (_, Error::Protocol(m)) => Error::Protocol(format!("{what}: {m}")),
        (_, other) => other,
    }
}

fn said(response: &Response) -> String {
    let value: Option<serde_json::Value> = response.json().ok();
    let description = value
        .as_ref()
        .and_then(|v| msc_sdk::json::text(&v["errorDesc"]).or_else(|| msc_sdk::json::text(&v["description"])));
    description.map(|d| format!(": {}", excerpt(&d))).unwrap_or_default()
}

/// The start of a server's message, one line, for an error.
fn excerpt(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}
