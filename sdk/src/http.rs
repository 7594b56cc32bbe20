//! A small blocking HTTP client over the host's `wasi:http`, with JSON and form helpers.
//!
//! The connector sends a request only to origins the admin granted the instance; anything else
//! fails with [`HttpError::Denied`]. TLS is verified by the connector with the instance's CA
//! bundle or the system's roots. Calls are bounded by the call's deadline.
//!
//! ```no_run
//! use msc_sdk::http::Request;
//! # fn demo() -> Result<(), msc_sdk::Error> {
//! let token: serde_json::Value = Request::post("https://api.example.com/auth")
//!     .json(&serde_json::json!({ "user": "api" }))?
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::base::wasi::http::outgoing_handler;
use crate::bindings::base::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::bindings::base::wasi::io::streams::StreamError;

/// Responses larger than this fail with [`HttpError::TooLarge`] unless the request raises it.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why a request failed before a response arrived, or while reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not `http(s)://host[:port]/path?query`.
    InvalidUrl(String),
    /// The origin is not granted to this instance.
    Denied(String),
    /// The host name does not resolve, or the connection was refused: nothing was sent.
    Unreachable(String),
    /// TLS handshake or certificate verification failed.
    Tls(String),
    /// No response (or no next chunk) in time.
    Timeout,
    /// The body exceeded the request's limit.
    TooLarge(usize),
    /// Anything else the transport reported, e.g. a connection closed before the response: the
    /// request may have arrived.
    Transport(String),
    /// The response arrived but its body is not what was expected.
    Body(String),
    /// The server answered with an error status (see [`Response::error_for_status`]), with the
    /// start of its body and the wait its `Retry-After` asked for.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The first 200 characters of the body.
        body: String,
        /// What the `Retry-After` header asked for.
        retry_after: Option<Duration>,
    },
}

/// Whether a failed request reached the server, for deciding if a request that changes something
/// may be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// It never left: refused, unreachable, or the TLS handshake failed. Safe to repeat.
    No,
    /// It may have arrived: the connection failed or timed out after it was written. Repeat only
    /// what is idempotent (or check first).
    Maybe,
    /// The server answered.
    Yes,
}

impl HttpError {
    /// Whether the request reached the server.
    ///
    /// ```
    /// use msc_sdk::http::{HttpError, Sent};
    /// assert_eq!(HttpError::Denied("https://x".into()).sent(), Sent::No);
    /// assert_eq!(HttpError::Timeout.sent(), Sent::Maybe);
    /// ```
    pub fn sent(&self) -> Sent {
        match self {
            HttpError::InvalidUrl(_) | HttpError::Denied(_) | HttpError::Unreachable(_) | HttpError::Tls(_) => Sent::No,
            HttpError::Timeout | HttpError::Transport(_) => Sent::Maybe,
            HttpError::TooLarge(_) | HttpError::Body(_) | HttpError::Status { .. } => Sent::Yes,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidUrl(url) => write!(f, "invalid URL `{url}`"),
            HttpError::Denied(origin) => {
                write!(f, "{origin} is not granted to this plugin instance")
            }
            HttpError::Unreachable(m) => write!(f, "unreachable: {m}"),
            HttpError::Tls(m) => write!(f, "TLS failed: {m}"),
            HttpError::Timeout => write!(f, "timed out"),
            HttpError::TooLarge(limit) => write!(f, "response larger than {limit} bytes"),
            HttpError::Transport(m) => write!(f, "HTTP transport error: {m}"),
            HttpError::Body(m) => write!(f, "unexpected response body: {m}"),
            HttpError::Status { status, body, .. } => write!(f, "HTTP {status}: {body}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Maps transport failures to the plugin error the connector acts on.
impl From<HttpError> for Error {
    fn from(e: HttpError) -> Self {
        let message = e.to_string();
        let retry_after_ms = match &e {
            HttpError::Status { retry_after, .. } => {
                retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
            _ => None,
        };
        match e {
            HttpError::Denied(_) | HttpError::InvalidUrl(_) => Error::InvalidConfig(message),
            HttpError::Tls(_) => Error::InvalidConfig(format!("{message} (check the instance's ca_file)")),
            HttpError::Unreachable(_) | HttpError::Transport(_) => {
                Error::Unavailable(crate::RetryLater { retry_after_ms: None, message })
            }
            HttpError::Timeout => Error::Timeout(message),
            HttpError::TooLarge(_) | HttpError::Body(_) => Error::Protocol(message),
            HttpError::Status { status: 401, .. } => {
                Error::AuthFailed(crate::AuthError { reason: crate::AuthFailure::Other, message })
            }
            HttpError::Status { status: 403, .. } => Error::Forbidden(message),
            HttpError::Status { status: 404, .. } => Error::NotFound(message),
            HttpError::Status { status: 429, .. } => Error::RateLimited(crate::RetryLater { retry_after_ms, message }),
            HttpError::Status { status, .. } if status >= 500 => {
                Error::Unavailable(crate::RetryLater { retry_after_ms, message })
            }
            HttpError::Status { .. } => Error::Protocol(message),
        }
    }
}

/// An HTTP request being built. Its `Debug` output leaves out header values, query values and
/// the body, which carry credentials and personal data.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
    max_response_bytes: usize,
}

impl Request {
    /// A request with `method` to `url` (`https://host[:port]/path[?query]`), no body yet.
    pub fn new(method: Method, url: &str) -> Self {
        Self {
            method,
            url: url.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// A `GET` request.
    pub fn get(url: &str) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST` request.
    pub fn post(url: &str) -> Self {
        Self::new(Method::Post, url)
    }

    /// A `PUT` request.
    pub fn put(url: &str) -> Self {
        Self::new(Method::Put, url)
    }

    /// A `DELETE` request.
    pub fn delete(url: &str) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Adds a query parameter, percent-encoded.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a query parameter when `value` is `Some`, so optional filters read as one chain.
    ///
    /// ```no_run
    /// # use msc_sdk::http::Request;
    /// let since: Option<u64> = None;
    /// let request = Request::get("https://api.example.com/devices").query("page", "0").query_opt("since", since);
    /// ```
    pub fn query_opt(self, name: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.query(name, &value.to_string()),
            None => self,
        }
    }

    /// Adds a header (names are case-insensitive; values are sent as given).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `Authorization: Bearer TOKEN`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// `Authorization: Basic base64(user:password)` (RFC 7617).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {encoded}"))
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self, Error> {
        self.body = serde_json::to_vec(value).map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))?;
        Ok(self.header("content-type", "application/json"))
    }

    /// A form body, with `Content-Type: application/x-www-form-urlencoded`.
    pub fn form(mut self, fields: &[(&str, &str)]) -> Self {
        self.body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish().into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A raw body; set `content-type` with [`Request::header`].
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits at most this long for the response to start, and between chunks of its body.
    /// Without it, the call's deadline is the limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Fails with [`HttpError::TooLarge`] past `max` bytes of response body (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        let target = Target::parse(&self.url, &self.query)?;
        let headers = Fields::new();
        for (name, value) in &self.headers {
            headers
                .append(name, value.as_bytes())
                .map_err(|e| HttpError::Transport(format!("header `{name}` refused: {e:?}")))?;
        }
        let request = OutgoingRequest::new(headers);
        let invalid = |_| HttpError::InvalidUrl(self.url.clone());
        request.set_method(&self.method).map_err(invalid)?;
        request.set_scheme(Some(&target.scheme)).map_err(invalid)?;
        request.set_authority(Some(&target.authority)).map_err(invalid)?;
        request.set_path_with_query(Some(&target.path_and_query)).map_err(invalid)?;
        let body = request.body().map_err(|_| HttpError::Transport("request body unavailable".into()))?;

        let options = self.timeout.map(|t| {
            let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
            let options = RequestOptions::new();
            // The host may refuse an option it does not support; the deadline still applies.
            let _ = options.set_connect_timeout(Some(nanos));
            let _ = options.set_first_byte_timeout(Some(nanos));
            let _ = options.set_between_bytes_timeout(Some(nanos));
            options
        });
        let pending = outgoing_handler::handle(request, options).map_err(|e| transport_error(&target, e))?;
        write_body(body, &self.body)?;

        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(transport_error(&target, code)),
            Some(Err(())) | None => {
                return Err(HttpError::Transport("response already taken".into()));
            }
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let incoming = response.consume().map_err(|_| HttpError::Transport("response body unavailable".into()))?;
        let body = read_body(incoming, self.max_response_bytes)?;
        Ok(Response { status, headers, body })
    }
}

/// A response, read whole. Its `Debug` output leaves out header values and the body, which may
/// carry session tokens and personal data.
#[derive(Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("query", &names(&self.query))
            .field("headers", &names(&self.headers))
            .field("body_bytes", &self.body.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &names(&self.headers))
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The names of name/value pairs, for `Debug` output that must not show the values.
fn names(pairs: &[(String, String)]) -> Vec<&str> {
    pairs.iter().map(|(name, _)| name.as_str()).collect()
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower-cased (`application/json`).
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// The wait `Retry-After` asks for: delay seconds (`120`) or an HTTP date
    /// (`Wed, 21 Oct 2026 07:28:00 GMT`, counted from now; a date past is no wait).
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(self.header("retry-after")?, std::time::SystemTime::now())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Err(HttpError::Status)` for any status outside 2xx, with the start of the body.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        match self.status_error() {
            Some(error) => Err(error),
            None => Ok(self),
        }
    }

    /// `HttpError::Status` for any status outside 2xx (with the start of the body and the
    /// `Retry-After` wait), `None` for success.
    pub fn status_error(&self) -> Option<HttpError> {
        if self.is_success() {
            return None;
        }
        let excerpt: String = self.text().chars().take(200).collect();
        Some(HttpError::Status { status: self.status, body: excerpt, retry_after: self.retry_after() })
    }

    /// Whether the server asked to be tried again later: 429 or any 5xx.
    pub fn is_retryable(&self) -> bool {
        self.status == 429 || self.status >= 500
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Body(format!("not the JSON expected: {e}")))
    }
}

/// `text` as one URL path segment, percent-encoded (RFC 3986 unreserved characters kept): for ids
/// that come from the cloud or the remote system, so that nothing in them (`/`, `..`, `?`) can
/// change which endpoint is called.
///
/// ```
/// use msc_sdk::http::path_segment;
/// assert_eq!(path_segment("ab-12_3.x~"), "ab-12_3.x~");
/// assert_eq!(path_segment("../admin?x=1"), "..%2Fadmin%3Fx%3D1");
/// assert_eq!(path_segment(".."), "%2E%2E");
/// ```
pub fn path_segment(text: &str) -> String {
    // `.` and `..` alone are dot-segments that servers resolve away.
    if text == "." || text == ".." {
        return "%2E".repeat(text.len());
    }
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `Retry-After` as a wait from `now`: delay seconds or an IMF-fixdate (RFC 9110 §10.2.3).
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = std::time::UNIX_EPOCH + Duration::from_secs(http_date(value)?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let clock: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [hours, minutes, seconds] = clock.as_slice() else { return None };
    if !(1..=31).contains(&day) || *hours > 23 || *minutes > 59 || *seconds > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), March-based years.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    Some(days * 86_400 + hours * 3600 + minutes * 60 + seconds)
}

/// A URL split the way wasi:http wants it.
struct Target {
    scheme: Scheme,
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str, query: &[(String, String)]) -> Result<Self, HttpError> {
        let invalid = || HttpError::InvalidUrl(url.to_string());
        let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => return Err(invalid()),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid());
        }
        let mut path_and_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        if !query.is_empty() {
            let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
            path_and_query.push(if path_and_query.contains('?') { '&' } else { '?' });
            path_and_query.push_str(&encoded);
        }
        Ok(Self { scheme, authority: authority.to_string(), path_and_query })
    }

    fn origin(&self) -> String {
        let scheme = if matches!(self.scheme, Scheme::Http) { "http" } else { "https" };
        format!("{scheme}://{}", self.authority)
    }
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    {
        let stream = body.write().map_err(|_| HttpError::Transport("request body stream unavailable".into()))?;
        // wasi:io allows at most 4096 bytes per blocking write.
        for chunk in bytes.chunks(4096) {
            stream.blocking_write_and_flush(chunk).map_err(|e| HttpError::Transport(stream_error(e)))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| HttpError::Transport(format!("finishing the request body: {e:?}")))
}

fn read_body(incoming: IncomingBody, max: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    {
        let stream = incoming.stream().map_err(|_| HttpError::Transport("response body stream unavailable".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if body.len() + chunk.len() > max {
                        return Err(HttpError::TooLarge(max));
                    }
                    body.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(e) => return Err(body_error(e)),
            }
        }
    }
    let _trailers = IncomingBody::finish(incoming);
    Ok(body)
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "stream closed".to_string(),
        StreamError::LastOperationFailed(error) => error.to_debug_string(),
    }
}

fn body_error(e: StreamError) -> HttpError {
    let message = stream_error(e);
    if message.contains("timeout") || message.contains("Timeout") {
        HttpError::Timeout
    } else {
        HttpError::Transport(message)
    }
}

fn transport_error(target: &Target, code: ErrorCode) -> HttpError {
    let origin = target.origin();
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied(origin),
        ErrorCode::DnsTimeout
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => HttpError::Timeout,
        // Closed after the request may have been written: possibly delivered (`Sent::Maybe`).
        ErrorCode::ConnectionTerminated => HttpError::Transport(format!("{origin}: {}", describe(&code))),
        ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionRefused => HttpError::Unreachable(format!("{origin}: {}", describe(&code))),
        ErrorCode::TlsProtocolError | ErrorCode::TlsCertificateError | ErrorCode::TlsAlertReceived(_) => {
            HttpError::Tls(format!("{origin}: {}", describe(&code)))
        }
        other => HttpError::Transport(format!("{origin}: {}", describe(&other))),
    }
}

/// A `wasi:http` error code in words an admin can act on.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::DnsError(payload) => match &payload.rcode {
            Some(rcode) => format!("the host name does not resolve (DNS {rcode})"),
            None => "the host name does not resolve".into(),
        },
        ErrorCode::DestinationNotFound => "no such destination".into(),
        ErrorCode::DestinationUnavailable => "the destination is unavailable".into(),
        ErrorCode::DestinationIpProhibited => "connections to that address are prohibited".into(),
        ErrorCode::DestinationIpUnroutable => "no route to that address".into(),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTerminated => "the connection was closed before a response".into(),
        ErrorCode::TlsProtocolError => "the TLS handshake failed".into(),
        ErrorCode::TlsCertificateError => "the server's certificate is not trusted".into(),
        ErrorCode::TlsAlertReceived(alert) => match (&alert.alert_message, alert.alert_id) {
            (Some(message), _) => format!("the server ended the TLS handshake: {message}"),
            (None, Some(id)) => format!("the server ended the TLS handshake with alert {id}"),
            (None, None) => "the server ended the TLS handshake".into(),
        },
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_in_words_and_whether_they_were_sent() {
        use crate::bindings::base::wasi::http::types::{DnsErrorPayload, TlsAlertReceivedPayload};
        let target = Target::parse("https://uem.example.com/x", &[]).expect("valid");
        let dns = transport_error(&target, ErrorCode::DnsError(DnsErrorPayload { rcode: None, info_code: None }));
        assert_eq!(dns.to_string(), "unreachable: https://uem.example.com: the host name does not resolve");
        assert_eq!(dns.sent(), Sent::No);
        let refused = transport_error(&target, ErrorCode::ConnectionRefused);
        assert_eq!(refused.to_string(), "unreachable: https://uem.example.com: connection refused");
        let closed = transport_error(&target, ErrorCode::ConnectionTerminated);
        assert_eq!(closed.sent(), Sent::Maybe, "a connection closed mid-request may have carried it");
        assert!(closed.to_string().contains("the connection was closed before a response"), "{closed}");
        let certificate = transport_error(&target, ErrorCode::TlsCertificateError);
        assert_eq!(
            certificate.to_string(),
            "TLS failed: https://uem.example.com: the server's certificate is not trusted"
        );
        let alert = transport_error(
            &target,
            ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload { alert_id: Some(40), alert_message: None }),
        );
        assert!(alert.to_string().ends_with("the server ended the TLS handshake with alert 40"), "{alert}");
        assert!(!format!("{dns}{refused}{closed}{certificate}{alert}").contains("ErrorCode"));
    }

    #[test]
    fn splits_urls() {
        let t = Target::parse("https://api.example.com:8443/v1/devices?x=1", &[("q".into(), "a b&c".into())])
            .expect("valid");
        assert_eq!(t.authority, "api.example.com:8443");
        assert_eq!(t.path_and_query, "/v1/devices?x=1&q=a+b%26c");
        assert_eq!(t.origin(), "https://api.example.com:8443");
        let t = Target::parse("http://h", &[]).expect("valid");
        assert_eq!(t.path_and_query, "/");
        for bad in ["api.example.com/x", "ftp://h/", "https:///x", "https://u:p@h/"] {
            assert!(Target::parse(bad, &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO), "a date past");
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date("Tue, 29 Feb 2028 23:59:59 GMT"), Some(1_835_481_599));
        for bad in ["soon", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 32 Nov 1994 08:49:37 GMT", "-5"] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let request = Request::post("https://api.example.com/auth")
            .header("Authorization", "Bearer s3cr3t")
            .query("email", "alice@example.com")
            .form(&[("password", "hunter2")]);
        let response = Response {
            status: 200,
            headers: vec![("set-cookie".into(), "session=t0k3n".into())],
            body: b"t0k3n".to_vec(),
        };
        let printed = format!("{request:?} {response:?}");
        for secret in ["s3cr3t", "alice@example.com", "hunter2", "t0k3n"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("authorization") || printed.contains("Authorization"), "{printed}");
    }
}
