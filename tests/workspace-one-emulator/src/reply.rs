//! The HTTP answers the emulator gives beyond JSON: the empty 204 of an empty list and the IIS
//! HTML pages of a bad route or a failing server.

use bytes::Bytes;
use emulator_kit::reply::with_type;
pub use emulator_kit::reply::{Reply, header, json_of};
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// 204 with an empty, non-JSON body: what an empty v1/v2 list answers.
pub fn no_content() -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = StatusCode::NO_CONTENT;
    reply
}

/// An IIS error page, as a bad route or an upstream failure answers.
pub fn iis_page(status: StatusCode) -> Reply {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let body = format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">\n<html><head><title>IIS Detailed Error - {code} - \
         {reason}</title></head>\n<body><div id=\"header\"><h1>Server Error in Application \"AIRWATCH API\"</h1></div>\n\
         <div class=\"content\"><h3>HTTP Error {code} - {reason}</h3></div></body></html>\n"
    );
    with_type(status, "text/html", body)
}
