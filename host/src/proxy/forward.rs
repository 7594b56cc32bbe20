//! The request to the dashboard and its answer's headers. Outbound: hop-by-hop headers dropped,
//! the browser's credentials replaced by the connector's own, the local user named for the
//! cloud's audit, only codings we can decode offered. Inbound: redirects and cookies rewritten
//! to the local origin, and, for bodies that get restored, every header that described the
//! tokenized bytes (length, coding, validators, ranges) removed.

use std::sync::{Arc, Mutex, PoisonError};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use secrecy::ExposeSecret;

use super::ProxyBody;
use crate::config::local_proxy::DashboardConfig;
use crate::relay::transport::{Endpoint, TransportError};

/// Idle kept-alive connections to the dashboard held for reuse.
const MAX_IDLE: usize = 64;
/// Cookies of the proxy itself: never sent to the dashboard, never set by it.
const OWN_COOKIE_PREFIX: &str = "__Host-msc-";

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("the dashboard cannot be reached: {0}")]
    Connect(#[from] TransportError),
    #[error("the exchange with the dashboard failed: {0}")]
    Exchange(#[from] hyper::Error),
    #[error("cannot build the request to the dashboard: {0}")]
    Build(String),
}

/// The dashboard: where it is, the connector's credentials, and a pool of connections.
pub struct Upstream {
    endpoint: Endpoint,
    origin: String,
    authority: HeaderValue,
    authorization: HeaderValue,
    idle: Arc<Mutex<Vec<SendRequest<ProxyBody>>>>,
}

impl Upstream {
    pub fn new(config: &DashboardConfig) -> Result<Self, ForwardError> {
        let endpoint = Endpoint::to(&config.host, config.port, config.tls.clone(), config.proxy.as_ref())?;
        let build = |what: &str, e: &dyn std::fmt::Display| ForwardError::Build(format!("{what}: {e}"));
        let authority = HeaderValue::from_str(&config.origin["https://".len()..]).map_err(|e| build("host", &e))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.token.expose_secret()))
            .map_err(|_| ForwardError::Build("the dashboard token holds characters a header cannot".into()))?;
        authorization.set_sensitive(true);
        Ok(Self { endpoint, origin: config.origin.clone(), authority, authorization, idle: Arc::default() })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Sends a prepared request (see [`outbound`]) on a kept-alive connection or a new one. A
    /// pooled connection the dashboard closed while idle is retried once on a new one, when the
    /// request has no body to replay.
    pub async fn send(
        &self,
        skeleton: Request<()>,
        body: Option<ProxyBody>,
    ) -> Result<Response<Incoming>, ForwardError> {
        let replayable = body.is_none();
        let mut body = Some(body.unwrap_or_else(super::pages::empty));
        for attempt in 0..2 {
            let (mut sender, pooled) = match self.pooled() {
                Some(sender) => (sender, true),
                None => (self.endpoint.connect::<ProxyBody>().await?, false),
            };
            let request = assemble(&skeleton, body.take().unwrap_or_else(super::pages::empty));
            match sender.send_request(request).await {
                Ok(response) => {
                    self.give_back(sender);
                    return Ok(response);
                }
                Err(error) if pooled && replayable && attempt == 0 && stale(&error) => {
                    tracing::debug!("a kept-alive dashboard connection was closed; dialing again");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(ForwardError::Build("no connection to the dashboard".into()))
    }

    fn pooled(&self) -> Option<SendRequest<ProxyBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(sender) = idle.pop() {
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Returns the connection to the pool once its response body has been read.
    fn give_back(&self, mut sender: SendRequest<ProxyBody>) {
        let idle = self.idle.clone();
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                let mut idle = idle.lock().unwrap_or_else(PoisonError::into_inner);
                if idle.len() < MAX_IDLE {
                    idle.push(sender);
                }
            }
        });
    }

    /// The outbound request's head: `request` from the browser, rewritten for the dashboard.
    /// `query` replaces the browser's query when given (tokenized search terms).
    pub fn outbound(
        &self,
        request: &http::request::Parts,
        local_origin: &str,
        user: &str,
        query: Option<&str>,
    ) -> Result<Request<()>, ForwardError> {
        let path = request.uri.path();
        let path_and_query = match query.or(request.uri.query()) {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let uri: Uri = path_and_query.parse().map_err(|e| ForwardError::Build(format!("path: {e}")))?;
        let mut skeleton = Request::new(());
        *skeleton.method_mut() = request.method.clone();
        *skeleton.uri_mut() = uri;
        let headers = skeleton.headers_mut();
        for (name, value) in request.headers.iter() {
            if !is_hop_by_hop(name, &request.headers) && !DROPPED_OUTBOUND.contains(name) && !is_forwarded(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        headers.insert(header::HOST, self.authority.clone());
        headers.insert(header::AUTHORIZATION, self.authorization.clone());
        // Only what the body decoder understands; the WAN leg stays compressed.
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, br"));
        if let Ok(user) = HeaderValue::from_str(user) {
            headers.insert(HeaderName::from_static("x-connector-user"), user);
        }
        if let Some(cookie) = foreign_cookies(&request.headers) {
            headers.insert(header::COOKIE, cookie);
        }
        for name in [header::ORIGIN, header::REFERER] {
            if let Some(value) = request.headers.get(&name).and_then(|v| v.to_str().ok())
                && let Some(rest) = value.strip_prefix(local_origin)
                && let Ok(value) = HeaderValue::from_str(&format!("{}{rest}", self.origin))
            {
                headers.insert(name, value);
            }
        }
        Ok(skeleton)
    }
}

fn assemble(skeleton: &Request<()>, body: ProxyBody) -> Request<ProxyBody> {
    let mut request = Request::new(body);
    *request.method_mut() = skeleton.method().clone();
    *request.uri_mut() = skeleton.uri().clone();
    *request.headers_mut() = skeleton.headers().clone();
    request
}

/// An error of a connection the server closed before answering (an idle keep-alive timeout).
fn stale(error: &hyper::Error) -> bool {
    error.is_canceled() || error.is_closed() || error.is_incomplete_message()
}

/// Request headers never forwarded: the browser's own credentials and host, and `Range`: a
/// restored body has other lengths than the tokenized one, so ranges of it cannot be served —
/// the proxy always fetches whole representations (and answers them whole, without
/// `Accept-Ranges`).
const DROPPED_OUTBOUND: [HeaderName; 7] = [
    header::HOST,
    header::AUTHORIZATION,
    header::COOKIE,
    header::ACCEPT_ENCODING,
    header::RANGE,
    header::IF_RANGE,
    header::CONTENT_LENGTH,
];

/// `Forwarded`, `X-Forwarded-*`, `X-Real-IP`, and our own audit header: a browser must not
/// choose what the cloud records about it.
fn is_forwarded(name: &HeaderName) -> bool {
    let name = name.as_str();
    name == "forwarded" || name.starts_with("x-forwarded-") || name == "x-real-ip" || name == "x-connector-user"
}

/// Hop-by-hop headers (RFC 9110 §7.6.1), including those `Connection` names.
fn is_hop_by_hop(name: &HeaderName, headers: &HeaderMap) -> bool {
    const ALWAYS: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "transfer-encoding",
    ];
    ALWAYS.contains(&name.as_str())
        || name == header::UPGRADE
        || headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|listed| listed.trim().eq_ignore_ascii_case(name.as_str()))
}

/// The browser's cookies minus the proxy's own.
fn foreign_cookies(headers: &HeaderMap) -> Option<HeaderValue> {
    let kept: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !pair.starts_with(OWN_COOKIE_PREFIX))
        .collect();
    if kept.is_empty() { None } else { HeaderValue::from_str(&kept.join("; ")).ok() }
}

/// Rewrites the dashboard's response head for the browser. `restored`: the body will be
/// restored, so headers describing the tokenized bytes go.
pub fn inbound(response: &mut http::response::Parts, upstream_origin: &str, local_origin: &str, restored: bool) {
    let hop_by_hop: Vec<HeaderName> =
        response.headers.keys().filter(|name| is_hop_by_hop(name, &response.headers)).cloned().collect();
    for name in hop_by_hop {
        response.headers.remove(name);
    }
    // The local origin's transport policy is the connector's to set, not the cloud's.
    response.headers.remove(header::STRICT_TRANSPORT_SECURITY);
    response.headers.remove(header::ALT_SVC);
    if let Some(location) = response.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
        && let Some(local) = relocate(location, upstream_origin, local_origin)
        && let Ok(value) = HeaderValue::from_str(&local)
    {
        response.headers.insert(header::LOCATION, value);
    }
    let cookies: Vec<HeaderValue> = response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(rewrite_set_cookie)
        .filter_map(|c| HeaderValue::from_str(&c).ok())
        .collect();
    response.headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        response.headers.append(header::SET_COOKIE, cookie);
    }
    response.headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !response.headers.contains_key(header::X_FRAME_OPTIONS) {
        response.headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if restored {
        for name in [
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::ETAG,
            header::LAST_MODIFIED,
            header::ACCEPT_RANGES,
            header::CONTENT_RANGE,
        ] {
            response.headers.remove(name);
        }
        for name in ["content-md5", "digest", "content-digest", "repr-digest"] {
            response.headers.remove(name);
        }
        // Plaintext PII is neither cached on the admin's disk nor in any cache between.
        response.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.headers.remove(header::EXPIRES);
        response.headers.remove(header::PRAGMA);
    }
}

/// An absolute `Location` on the dashboard's origin, moved to the local origin; relative ones and
/// other sites' are left alone (`None`).
fn relocate(location: &str, upstream_origin: &str, local_origin: &str) -> Option<String> {
    let uri: Uri = location.parse().ok()?;
    let (scheme, authority) = (uri.scheme_str()?, uri.authority()?);
    let port = authority.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host = authority.host();
    let same = scheme.eq_ignore_ascii_case("https")
        && (upstream_origin.eq_ignore_ascii_case(&format!("https://{host}:{port}"))
            || (port == 443 && upstream_origin.eq_ignore_ascii_case(&format!("https://{host}"))));
    let rest = uri.path_and_query().map_or("/", |p| p.as_str());
    same.then(|| format!("{local_origin}{rest}"))
}

/// A dashboard cookie made a cookie of the local origin: `Domain` dropped (it names the cloud's
/// host), `Secure` kept or added. Cookies named like the proxy's own are dropped (`None`).
fn rewrite_set_cookie(cookie: &str) -> Option<String> {
    let mut parts = cookie.split(';').map(str::trim);
    let pair = parts.next()?;
    let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
    if name.is_empty() || name.starts_with(OWN_COOKIE_PREFIX) {
        return None;
    }
    let mut out = pair.to_string();
    let mut secure = false;
    for attribute in parts {
        let key = attribute.split_once('=').map_or(attribute, |(k, _)| k).trim();
        if key.eq_ignore_ascii_case("domain") || attribute.is_empty() {
            continue;
        }
        secure |= key.eq_ignore_ascii_case("secure");
        out.push_str("; ");
        out.push_str(attribute);
    }
    if !secure {
        out.push_str("; Secure");
    }
    Some(out)
}

/// Whether the browser sends a body the dashboard would see as a new action: not `GET`, `HEAD`
/// or `OPTIONS`.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Whether a response of this status to this method carries no body.
pub fn bodiless(method: &Method, status: StatusCode) -> bool {
    method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_on_the_dashboard_move_to_the_local_origin() {
        let up = "https://dash.example.com";
        let local = "https://connector.corp:8443";
        assert_eq!(
            relocate("https://dash.example.com/dashboard?x=1", up, local).as_deref(),
            Some("https://connector.corp:8443/dashboard?x=1")
        );
        assert_eq!(
            relocate("https://DASH.example.com:443/a", up, local).as_deref(),
            Some("https://connector.corp:8443/a")
        );
        assert_eq!(
            relocate("https://dash.example.com:8443/a", "https://dash.example.com:8443", local).as_deref(),
            Some("https://connector.corp:8443/a")
        );
        assert_eq!(relocate("/relative", up, local), None);
        assert_eq!(relocate("https://elsewhere.example.com/", up, local), None);
        assert_eq!(relocate("http://dash.example.com/", up, local), None, "not the same origin");
    }

    #[test]
    fn cookies_lose_their_domain_and_stay_secure() {
        assert_eq!(
            rewrite_set_cookie("dash_view=devices; Path=/; Domain=dash.example.com; Secure; HttpOnly; SameSite=Lax")
                .as_deref(),
            Some("dash_view=devices; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        assert_eq!(rewrite_set_cookie("a=b; path=/x").as_deref(), Some("a=b; path=/x; Secure"));
        assert_eq!(rewrite_set_cookie("__Host-msc-session=evil; Path=/; Secure"), None, "the proxy's own name");
        assert_eq!(rewrite_set_cookie(""), None);
    }

    #[test]
    fn the_proxys_cookies_stay_local() {
        let mut headers = HeaderMap::new();
        headers
            .insert(header::COOKIE, HeaderValue::from_static("__Host-msc-session=s; dash_view=x; __Host-msc-login=l"));
        assert_eq!(foreign_cookies(&headers), Some(HeaderValue::from_static("dash_view=x")));
        headers.insert(header::COOKIE, HeaderValue::from_static("__Host-msc-session=s"));
        assert_eq!(foreign_cookies(&headers), None);
        assert!(super::super::session::SESSION_COOKIE.starts_with(OWN_COOKIE_PREFIX));
        assert!(super::super::session::LOGIN_COOKIE.starts_with(OWN_COOKIE_PREFIX));
    }

    #[test]
    fn hop_by_hop_headers_are_found() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("close, X-Secret-Hop"));
        assert!(is_hop_by_hop(&HeaderName::from_static("x-secret-hop"), &headers));
        assert!(is_hop_by_hop(&header::TRANSFER_ENCODING, &headers));
        assert!(!is_hop_by_hop(&header::CONTENT_TYPE, &headers));
    }

    #[test]
    fn restored_responses_lose_what_described_the_tokenized_bytes() {
        let mut response = Response::new(());
        let headers = response.headers_mut();
        for (name, value) in [
            ("content-length", "10"),
            ("content-encoding", "br"),
            ("etag", "\"x\""),
            ("accept-ranges", "bytes"),
            ("strict-transport-security", "max-age=1"),
            ("location", "https://dash.example.com/x"),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let (mut parts, ()) = response.into_parts();
        inbound(&mut parts, "https://dash.example.com", "https://local:1", true);
        for gone in ["content-length", "content-encoding", "etag", "accept-ranges", "strict-transport-security"] {
            assert!(!parts.headers.contains_key(gone), "{gone}");
        }
        assert_eq!(parts.headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(parts.headers[header::LOCATION], "https://local:1/x");
    }
}
