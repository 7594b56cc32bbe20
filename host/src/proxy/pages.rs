//! The proxy's own pages: login, account (with logout), the connector's status, and errors. Small, static, with a strict
//! Content-Security-Policy (no script at all) and never framed.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};

use super::ProxyBody;
use super::session::Session;
use crate::pii::restore::Landing;

/// The proxy's own paths, out of the dashboard's way.
pub const LOGIN_PATH: &str = "/_connector/login";
pub const LOGOUT_PATH: &str = "/_connector/logout";
pub const ACCOUNT_PATH: &str = "/_connector/account";
pub const STATUS_PATH: &str = "/_connector/status";

const STYLE: &str = "body{font-family:sans-serif;max-width:28em;margin:3em auto}label{display:block;margin:.6em 0}\
input{width:100%;padding:.3em}button{margin-top:.8em;padding:.3em 1.2em}.note{color:#a00}";

/// Why the login page is shown.
pub enum LoginNotice {
    None,
    Failed,
    Locked { minutes: u64 },
    LoggedOut,
    Expired,
    Unavailable,
}

/// The login form. `next` is where to go after logging in (a local path); `csrf` the value of
/// the login cookie the same response sets.
pub fn login(status: StatusCode, notice: LoginNotice, next: &str, csrf: &str) -> Response<ProxyBody> {
    let note = match notice {
        LoginNotice::None => String::new(),
        LoginNotice::Failed => "<p class=\"note\" id=\"notice\">Wrong user name or password.</p>".into(),
        LoginNotice::Locked { minutes } => format!(
            "<p class=\"note\" id=\"notice\">Too many failed logins. Try again in {minutes} minute{}.</p>",
            if minutes == 1 { "" } else { "s" }
        ),
        LoginNotice::LoggedOut => "<p id=\"notice\">You have logged out.</p>".into(),
        LoginNotice::Expired => "<p id=\"notice\">Your session has ended. Log in again.</p>".into(),
        LoginNotice::Unavailable => {
            "<p class=\"note\" id=\"notice\">The directory cannot be reached. Try again shortly.</p>".into()
        }
    };
    let body = format!(
        "<h1>Mobile Security Connector</h1>\n<p>Log in to see the dashboard with personal data restored.</p>\n{note}\n\
         <form method=\"post\" action=\"{LOGIN_PATH}\" id=\"login\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n<input type=\"hidden\" name=\"next\" value=\"{}\">\n\
         <label>User name <input name=\"username\" id=\"username\" autocomplete=\"username\" required autofocus></label>\n\
         <label>Password <input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\n\
         <button type=\"submit\" id=\"submit\">Log in</button>\n</form>\n",
        escape(csrf),
        escape(next)
    );
    page(status, "Log in", &body)
}

/// Who is logged in, and the logout button.
pub fn account(session: &Session) -> Response<ProxyBody> {
    let body = format!(
        "<h1>Logged in</h1>\n<p>As <b id=\"user\">{}</b> ({}), from {}. The session ends in {} minutes at the latest.</p>\n\
         <p><a href=\"/\">Open the dashboard</a> · <a href=\"{STATUS_PATH}\">Connector status</a></p>\n\
         <form method=\"post\" action=\"{LOGOUT_PATH}\" id=\"logout\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n<button type=\"submit\" id=\"logout-button\">Log out</button>\n</form>\n",
        escape(&session.user),
        session.method,
        session.source,
        session.expires_in.as_secs() / 60,
        escape(&session.csrf)
    );
    page(StatusCode::OK, "Account", &body)
}

/// The connector's status for a logged-in admin: the relay link, each plugin instance's version
/// and state, the durable queues, and the last warnings and errors logged. `None`: the proxy
/// runs without the connector's parts (tests, benchmarks).
pub fn status(
    overview: Option<&crate::admin::Overview>,
    problems: &[crate::recent_problems::Problem],
) -> Response<ProxyBody> {
    let Some(overview) = overview else {
        return error(StatusCode::NOT_FOUND, "This proxy runs without a connector to report on.");
    };
    let relay = match overview.relay_up() {
        Some(true) => "up: the relay answers",
        Some(false) => "down: registering or polling failed; the connector keeps trying",
        None => "not configured (no [relay])",
    };
    let mut body = format!("<h1>Connector status</h1>\n<p>Relay link: <b id=\"relay\">{relay}</b></p>\n");
    body.push_str("<h2>Plugin instances</h2>\n<table id=\"plugins\">\n<tr><th>Instance</th><th>Kind</th><th>Version</th><th>Signed by</th><th>Reloads</th><th>State</th><th>Self-test</th></tr>\n");
    for plugin in overview.plugins() {
        let state = match (&plugin.refused, plugin.file_missing) {
            (_, true) => "serving; the plugin file is gone".to_string(),
            (Some(reason), false) => format!("serving; a newer version was refused: {reason}"),
            (None, false) => "serving".to_string(),
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&plugin.instance),
            plugin.kind,
            escape(plugin.sha256.get(..16).unwrap_or(&plugin.sha256)),
            escape(plugin.publisher.as_deref().unwrap_or("unsigned")),
            plugin.reloads,
            escape(&state),
            escape(&crate::plugins::self_test::describe(plugin.self_test.as_ref()))
        ));
    }
    body.push_str("</table>\n<h2>Queues</h2>\n");
    let queues = overview.queues();
    if queues.is_empty() {
        body.push_str("<p id=\"queues\">No durable queue (no [siem] targets, no mail outbox).</p>\n");
    } else {
        body.push_str("<table id=\"queues\">\n<tr><th>Queue</th><th>Waiting</th><th>State</th></tr>\n");
        for (queue, waiting, full) in queues {
            let state = if full { "full: refusing new items" } else { "accepting" };
            body.push_str(&format!("<tr><td>{}</td><td>{waiting}</td><td>{state}</td></tr>\n", escape(&queue)));
        }
        body.push_str("</table>\n");
    }
    body.push_str("<h2>Recent problems</h2>\n");
    if problems.is_empty() {
        body.push_str("<p id=\"problems\">No warning or error since the connector started.</p>\n");
    } else {
        body.push_str("<ol id=\"problems\">\n");
        for problem in problems {
            let at =
                humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(problem.at));
            body.push_str(&format!(
                "<li>{at} <b>{}</b> {}: {}</li>\n",
                problem.level,
                escape(&problem.target),
                escape(&problem.message)
            ));
        }
        body.push_str("</ol>\n");
    }
    page(StatusCode::OK, "Connector status", &body)
}

/// An error page; `message` must already be safe to show (no personal data, no secrets).
pub fn error(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let body = format!("<h1>{}</h1>\n<p id=\"error\">{}</p>\n", status.as_u16(), escape(message));
    page(status, status.canonical_reason().unwrap_or("Error"), &body)
}

/// A redirect to a local path.
pub fn see_other(location: &str) -> Response<ProxyBody> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn page(status: StatusCode, title: &str, body: &str) -> Response<ProxyBody> {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    );
    let mut response = Response::new(full(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Not `no-referrer`: with it browsers send `Origin: null` on form posts, and the
    // same-origin check needs the real origin.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

pub fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into()).map_err(|never| match never {}).boxed_unsync()
}

pub fn empty() -> ProxyBody {
    full(Bytes::new())
}

/// HTML-escapes text for element content and quoted attributes (`&`, `<`, `>`, `"`, `'`), with
/// the same escaper restored values get.
pub fn escape(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    crate::pii::restore::escape::escape(Landing::HtmlText, text, &mut out);
    // Only ASCII was replaced, by ASCII: still UTF-8.
    String::from_utf8(out).unwrap_or_default()
}
