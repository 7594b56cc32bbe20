//! The dashboard: what connectors sent, exactly as stored (tokens), as HTML pages and JSON.
//! `Authorization: Bearer <dashboard token>` (the admin token works too). Personal values appear
//! only as text nodes, never inside attributes, so a restoring proxy in front can find them.
//!
//! It behaves like a real web application behind a proxy would see it: absolute redirects to
//! the origin the client addressed, a cookie with a `Domain`, compressed answers with ETags, a
//! form that changes state, an event stream, and an audit record of every request.

mod encoding;
mod pages;
mod stream;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderMap};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub use self::stream::EventStream;
use crate::reply::{self, Reply, percent_decode, percent_encode, query_param};
use crate::server::{Shared, read_body};
use crate::store::DeviceEntry;

/// Every answer of the emulator: whole bodies, or the dashboard's event stream.
pub type Response = hyper::Response<Either<Full<Bytes>, EventStream>>;

/// One request the dashboard answered, as the cloud's audit records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DashboardRequest {
    pub method: String,
    /// As received, e.g. `/dashboard?q=pii1_abc`.
    pub path_and_query: String,
    pub status: u16,
    /// `X-Connector-User`: the admin a local proxy says it acts for.
    pub connector_user: Option<String>,
    /// The `Cookie` header (several are joined with `; `).
    pub cookie: Option<String>,
    pub accept_encoding: Option<String>,
}

/// Whether `path` is the dashboard's (the root redirects to it).
pub fn serves(path: &str) -> bool {
    path == "/" || path == "/dashboard" || path.starts_with("/dashboard/") || path.starts_with("/api/")
}

pub async fn handle(shared: &Shared, request: Request<Incoming>) -> Response {
    let (parts, body) = request.into_parts();
    let mut audit = DashboardRequest {
        method: parts.method.to_string(),
        path_and_query: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.to_string()),
        status: 0,
        connector_user: text(&parts.headers, "x-connector-user"),
        cookie: cookies(&parts.headers),
        accept_encoding: text(&parts.headers, "accept-encoding"),
    };
    let origin = Origin::of(&parts.headers, shared);
    let response = match answer(shared, &parts, body, &origin).await {
        Either::Left(reply) => encoding::finish(reply, &parts, &origin.host).await.map(Either::Left),
        Either::Right(stream) => stream,
    };
    audit.status = response.status().as_u16();
    shared.record_dashboard(audit);
    response
}

async fn answer(shared: &Shared, parts: &Parts, body: Incoming, origin: &Origin) -> Either<Reply, Response> {
    if parts.uri.path() == "/" {
        // Like a real cloud: to its own absolute URL, which a proxy must point back at itself.
        return Either::Left(reply::redirect(StatusCode::FOUND, &format!("{}/dashboard", origin.url)));
    }
    let token = reply::bearer(&parts.headers);
    if token != Some(shared.config.dashboard_token.as_str()) && token != Some(shared.admin_token.as_str()) {
        let mut answer = reply::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the dashboard needs Authorization: Bearer <dashboard token>",
        );
        reply::header(&mut answer, "www-authenticate", "Bearer");
        return Either::Left(answer);
    }
    let path = parts.uri.path().trim_end_matches('/');
    let query = parts.uri.query().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let api = path.starts_with("/api/");
    match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["dashboard", "events", "stream"]) => Either::Right(stream::events(shared, query)),
        (&Method::POST, ["dashboard", "devices", instance, id, "label"]) => {
            Either::Left(set_label(shared, parts, body, origin, instance, id).await)
        }
        (&Method::GET, segments) => Either::Left(get(shared, segments, query)),
        _ if api => {
            Either::Left(reply::error(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "the API is read-only"))
        }
        _ => Either::Left(pages::error_page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "Not with this method.",
        )),
    }
}

fn get(shared: &Shared, segments: &[&str], query: &str) -> Reply {
    let api = segments.first() == Some(&"api");
    match segments {
        ["dashboard"] | ["api", "devices"] => match Filter::parse(query) {
            Ok(filter) if api => devices_json(shared, &filter),
            Ok(filter) => pages::devices(shared, &filter),
            Err(message) if api => reply::error(StatusCode::BAD_REQUEST, "bad-request", &message),
            Err(message) => pages::error_page(StatusCode::BAD_REQUEST, "Bad request", &message),
        },
        ["dashboard", "events"] => pages::events(shared),
        ["dashboard", "devices", instance, id] => match device_key(instance, id) {
            Some((instance, id)) => pages::device(shared, &instance, &id),
            None => pages::not_found(),
        },
        ["api", "devices", instance, id] => {
            let entry = device_key(instance, id).and_then(|key| shared.lock().devices.get(&key).cloned());
            match entry {
                Some(entry) => reply::json_of(
                    StatusCode::OK,
                    &json!({"instance": entry.instance, "device": entry.device, "apps": entry.apps.unwrap_or_default(),
                        "label": entry.label}),
                ),
                None => reply::error(StatusCode::NOT_FOUND, "not-found", "no such device"),
            }
        }
        ["api", "apps"] => apps_json(shared),
        ["api", "events"] => reply::json_of(StatusCode::OK, &shared.lock().events),
        _ if api => reply::error(StatusCode::NOT_FOUND, "not-found", "no such API path"),
        _ => pages::not_found(),
    }
}

fn devices_json(shared: &Shared, filter: &Filter) -> Reply {
    let state = shared.lock();
    let list: Vec<Value> = filter
        .select(state.devices.values())
        .into_iter()
        .map(|e| {
            json!({"instance": e.instance, "device": e.device, "task": e.task, "received_ms": e.received_ms,
                "label": e.label})
        })
        .collect();
    reply::json_of(StatusCode::OK, &list)
}

fn apps_json(shared: &Shared) -> Reply {
    let state = shared.lock();
    let mut list = Vec::new();
    for entry in state.devices.values() {
        for app in entry.apps.iter().flatten() {
            let mut row = Map::new();
            row.insert("instance".to_string(), Value::String(entry.instance.clone()));
            row.insert("device_id".to_string(), entry.device.get("id").cloned().unwrap_or(Value::Null));
            if let Value::Object(fields) = app {
                for (key, value) in fields {
                    row.insert(key.clone(), value.clone());
                }
            }
            list.push(Value::Object(row));
        }
    }
    reply::json_of(StatusCode::OK, &list)
}

/// `POST /dashboard/devices/{instance}/{id}/label` with a form `label=…`: sets the device's
/// label and sends the browser back to the device page (303, absolute).
async fn set_label(shared: &Shared, parts: &Parts, body: Incoming, origin: &Origin, instance: &str, id: &str) -> Reply {
    let form = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !form {
        let message = "the label is sent as application/x-www-form-urlencoded";
        return pages::error_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", message);
    }
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(error) => return error.reply(),
    };
    let Some(label) = std::str::from_utf8(&body).ok().and_then(|form| query_param(form, "label")) else {
        return pages::error_page(StatusCode::BAD_REQUEST, "Bad request", "The form has no label field.");
    };
    let Some(key) = device_key(instance, id) else { return pages::not_found() };
    let found = match shared.lock().devices.get_mut(&key) {
        Some(entry) => {
            entry.label = Some(label).filter(|l| !l.is_empty());
            true
        }
        None => false,
    };
    if !found {
        return pages::not_found();
    }
    let location = format!("{}/dashboard/devices/{}/{}", origin.url, percent_encode(&key.0), percent_encode(&key.1));
    reply::redirect(StatusCode::SEE_OTHER, &location)
}

fn device_key(instance: &str, id: &str) -> Option<(String, String)> {
    Some((percent_decode(instance)?, percent_decode(id)?))
}

/// Which devices a list shows: `q` (exact match of a field's value), then the first `limit`.
pub struct Filter {
    pub q: Option<String>,
    pub limit: Option<usize>,
}

impl Filter {
    fn parse(query: &str) -> Result<Self, String> {
        // An empty search box shows everything, as search forms usually do.
        let q = query_param(query, "q").filter(|q| !q.is_empty());
        let limit = match query_param(query, "limit") {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| format!("limit must be a whole number, not {text:?}"))?),
        };
        Ok(Self { q, limit })
    }

    pub fn select<'a>(&self, devices: impl Iterator<Item = &'a DeviceEntry>) -> Vec<&'a DeviceEntry> {
        devices
            .filter(|entry| self.q.as_deref().is_none_or(|q| matches(&entry.device, q)))
            .take(self.limit.unwrap_or(usize::MAX))
            .collect()
    }
}

/// Whether a top-level field of `device` is `q`: a string, or a `{"kind","value"}` record's value.
fn matches(device: &Value, q: &str) -> bool {
    let Some(fields) = device.as_object() else { return false };
    fields.values().any(|value| match value {
        Value::String(text) => text == q,
        Value::Object(record) if record.contains_key("kind") => record.get("value").and_then(Value::as_str) == Some(q),
        _ => false,
    })
}

/// The origin the client addressed (its `Host` header), for absolute redirects and the cookie's
/// `Domain`; the listener's own when the header is missing or not a plain host.
struct Origin {
    /// `https://host:port`
    url: String,
    /// Without port or brackets.
    host: String,
}

impl Origin {
    fn of(headers: &HeaderMap, shared: &Shared) -> Self {
        let authority = text(headers, "host").filter(|host| plain_authority(host));
        let url = match authority {
            Some(authority) => format!("https://{authority}"),
            None => shared.origin(),
        };
        let authority = url.trim_start_matches("https://");
        let host = match authority.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        Self { host: host.to_string(), url }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with nothing that could break out of a URL.
fn plain_authority(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// A header's value, when it is visible ASCII.
fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn cookies(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_matches_whole_values_of_top_level_fields() {
        let device = json!({"id": "A1", "name": {"kind": "DeviceName", "value": "pii1_x"}, "groups": ["g"], "n": 3});
        assert!(matches(&device, "A1") && matches(&device, "pii1_x"));
        assert!(!matches(&device, "A") && !matches(&device, "DeviceName") && !matches(&device, "g"));
        assert!(!matches(&device, "3"));
    }

    #[test]
    fn filters_parse() {
        let filter = Filter::parse("q=a+b&limit=2").expect("parses");
        assert_eq!((filter.q.as_deref(), filter.limit), (Some("a b"), Some(2)));
        assert_eq!(Filter::parse("q=").expect("parses").q, None);
        assert!(Filter::parse("limit=-1").is_err());
    }

    #[test]
    fn only_plain_hosts_make_origins() {
        assert!(plain_authority("127.0.0.1:8443") && plain_authority("[::1]:1") && plain_authority("cloud.example"));
        assert!(!plain_authority("a/b") && !plain_authority("a@b") && !plain_authority(""));
    }
}
