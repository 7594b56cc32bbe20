//! The HTTP answers the emulator gives: JSON, XML, plain text, empty bodies and the HTML pages the
//! service serves when a session bounces or a gateway fails.

use bytes::Bytes;
use emulator_kit::reply::with_type;
pub use emulator_kit::reply::{Reply, header, json, json_of};
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::Serialize;

pub fn xml(body: String) -> Reply {
    with_type(StatusCode::OK, "application/xml", body)
}

pub fn text(status: StatusCode, body: &'static str) -> Reply {
    with_type(status, "text/plain; charset=utf-8", body)
}

pub fn html(status: StatusCode, body: String) -> Reply {
    with_type(status, "text/html; charset=utf-8", body)
}

/// A status with no body, as the service answers a malformed request.
pub fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    reply
}

/// `{"errorCode":<status>,"errorDesc":…}`, the body of the device endpoints' 404s.
pub fn not_found(description: &str) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Error<'a> {
        error_code: u16,
        error_desc: &'a str,
    }
    json_of(StatusCode::NOT_FOUND, &Error { error_code: 404, error_desc: description })
}

/// The MaaS360 portal's login page, with an error line when a login was refused. The service
/// serves it with HTTP 200 when a session bounces.
pub fn login_page(error: Option<&str>) -> Reply {
    let error = error.map(|text| format!("<div class=\"error\" role=\"alert\">{text}</div>\n")).unwrap_or_default();
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html>\n<html><head><title>IBM MaaS360 - Login</title></head>\n<body>\n<h1>IBM MaaS360</h1>\n\
             {error}<form method=\"post\" action=\"/login\" id=\"loginForm\">\n\
             <label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\">\n\
             <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\">\n\
             <button type=\"submit\">Sign in</button>\n</form>\n</body></html>\n"
        ),
    )
}

/// A gateway's short HTML error page.
pub fn error_page(status: StatusCode) -> Reply {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    html(status, format!("<html><head><title>{code} {reason}</title></head><body><h1>{reason}</h1></body></html>\n"))
}
