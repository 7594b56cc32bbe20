//! Outbound HTTP (`wasi:http/outgoing-handler`), limited to the origins the admin granted the
//! instance in `[instances.NAME.grants] http = ["https://host[:port]", ...]`.
//!
//! The check runs in [`WasiHttpHooks::send_request`], on the URI the request will actually be
//! sent to, after the guest has set everything it can set. The guest cannot steer the connection
//! with a `Host` header: `Host` is a forbidden header, so wasi-http sets it from the authority
//! (the hole behind CVE-2024-32980 in another host). A denial is an `HTTP-request-denied` error
//! the guest sees, not a trap. Each instance has its own connection pool and its own trust roots.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::{Scheme, Uri};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::host_pattern::{HostPattern, HostPatternError};
use super::log::CallLog;
use crate::ids::InstanceName;

/// How long to wait for a TCP connection when the guest does not say.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a response body may stall between chunks when the guest does not say.
const DEFAULT_BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(30);

/// One granted origin: `https://services.fiberlink.com`, `http://10.0.0.5:8080`,
/// `https://*.maas360.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpGrant {
    pub tls: bool,
    pub host: HostPattern,
    pub port: u16,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HttpGrantError {
    #[error("`{0}` is not a URL like `https://host` or `https://host:port`")]
    NotAUrl(String),
    #[error("`{0}`: only http and https origins can be granted")]
    Scheme(String),
    #[error("`{0}`: grant an origin (scheme, host, port) without a path, query or credentials")]
    NotAnOrigin(String),
    #[error(transparent)]
    Host(#[from] HostPatternError),
}

impl HttpGrant {
    pub fn parse(text: &str) -> Result<Self, HttpGrantError> {
        // `http::Uri` rejects `*` in a host, so parse the wildcard by hand.
        let (scheme, rest) = text.split_once("://").ok_or_else(|| HttpGrantError::NotAUrl(text.to_string()))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(HttpGrantError::Scheme(text.to_string())),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(HttpGrantError::NotAnOrigin(text.to_string()));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| HttpGrantError::NotAUrl(text.to_string()))?;
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        Ok(Self { tls, host: HostPattern::parse(host)?, port })
    }

    fn allows(&self, tls: bool, host: &str, port: u16) -> bool {
        self.tls == tls && self.port == port && self.host.matches(host)
    }
}

impl fmt::Display for HttpGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// Splits `host[:port]` and `[v6][:port]`. `None` when the port is not a number.
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (&authority[..v6.len() + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => None,
    };
    Some((host, port))
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, WasiBody>;

/// An instance's outbound HTTP: its grants and its own connection pool.
pub struct HttpEgress {
    instance: InstanceName,
    grants: Vec<HttpGrant>,
    client: HttpsClient,
}

impl HttpEgress {
    pub fn new(instance: InstanceName, grants: Vec<HttpGrant>, tls: Arc<ClientConfig>) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(DEFAULT_CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(8)
            .build(connector);
        Self { instance, grants, client }
    }

    pub fn grants(&self) -> &[HttpGrant] {
        &self.grants
    }

    /// Whether the request's final target is granted; a denial carries the target, for the log.
    fn check(&self, uri: &Uri) -> Result<(), Denied> {
        let tls = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err(Denied::Invalid),
        };
        let authority = uri.authority().ok_or(Denied::Invalid)?;
        // Credentials in the authority would be sent on as the `Host` header and logged.
        if authority.as_str().contains('@') {
            return Err(Denied::Invalid);
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if self.grants.iter().any(|g| g.allows(tls, authority.host(), port)) {
            return Ok(());
        }
        Err(Denied::NotGranted(format!("{}://{}:{}", if tls { "https" } else { "http" }, authority.host(), port)))
    }

    async fn send(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        deadline: Instant,
        permit: OwnedSemaphorePermit,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let first_byte = options
            .and_then(|o| o.first_byte_timeout.map(|t| t + o.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)))
            .map_or(remaining, |t| t.min(remaining));
        let between_bytes = options.and_then(|o| o.between_bytes_timeout).unwrap_or(DEFAULT_BETWEEN_BYTES_TIMEOUT);
        // The method and origin help admins; the path and query may hold personal data
        // (e.g. a search by email), so they are never logged.
        let method = request.method().clone();
        let origin = request.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        let started = Instant::now();

        let response = tokio::time::timeout(first_byte, self.client.request(request))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)?
            .map_err(classify_client_error)?;
        tracing::debug!(
            instance = %self.instance, %method, %origin, status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64, "outbound HTTP"
        );
        Ok(response.map(|body| TimedBody::new(body, between_bytes, permit).boxed_unsync()))
    }
}

/// Why a request was not sent.
enum Denied {
    /// Not an absolute http(s) URI without credentials.
    Invalid,
    /// The origin (`scheme://host:port`) is not granted.
    NotGranted(String),
}

/// Requests one call may have in flight (sent, response body not yet dropped). Bounds the
/// sockets and host memory one plugin call can hold.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 8;

/// The wasi-http hooks of one call: the instance's egress, the call's deadline and its share of
/// requests in flight.
pub struct CallHttp {
    egress: Arc<HttpEgress>,
    deadline: Instant,
    in_flight: Arc<Semaphore>,
    log: Arc<CallLog>,
}

impl CallHttp {
    pub fn new(egress: Arc<HttpEgress>, deadline: Instant, log: Arc<CallLog>) -> Self {
        Self { egress, deadline, in_flight: Arc::new(Semaphore::new(MAX_REQUESTS_IN_FLIGHT)), log }
    }

    /// The check before anything is sent, on the URI the request will be sent to.
    fn admit(&self, uri: &Uri) -> Result<OwnedSemaphorePermit, HttpError> {
        match self.egress.check(uri) {
            Ok(()) => {}
            Err(Denied::Invalid) => return Err(HttpError::HttpRequestUriInvalid),
            Err(Denied::NotGranted(target)) => {
                self.log.denied("outbound HTTP", &target);
                return Err(HttpError::HttpRequestDenied);
            }
        }
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            HttpError::InternalError(Some(format!(
                "more than {MAX_REQUESTS_IN_FLIGHT} HTTP requests in flight in one call"
            )))
        })
    }
}

impl WasiHttpHooks for CallHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_done: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>),
                    HttpError,
                >,
            > + Send,
    > {
        let egress = self.egress.clone();
        let deadline = self.deadline;
        let admitted = self.admit(request.uri());
        Box::new(async move {
            let permit = admitted?;
            let response = egress.send(request, options, deadline, permit).await?;
            // The pool drives connections itself; there is no per-request I/O task to await.
            let io_done: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
            Ok((response, io_done))
        })
    }
}

/// Maps the client's errors to wasi-http's codes, so the guest can tell a refused connection
/// from a bad certificate from a timeout.
fn classify_client_error(error: hyper_util::client::legacy::Error) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(code) = classify_one(e) {
            return code;
        }
        // `io::Error::source` skips the error it wraps (where rustls puts its own), so look
        // inside explicitly.
        source = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    if error.is_connect() { HttpError::DestinationUnavailable } else { HttpError::HttpProtocolError }
}

fn classify_one(e: &(dyn std::error::Error + 'static)) -> Option<HttpError> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(match tls {
            rustls::Error::InvalidCertificate(_) => HttpError::TlsCertificateError,
            rustls::Error::AlertReceived(alert) => HttpError::TlsAlertReceived {
                alert_id: Some(u8::from(*alert)),
                alert_message: Some(format!("{alert:?}")),
            },
            _ => HttpError::TlsProtocolError,
        });
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind;
        match io.kind() {
            ErrorKind::ConnectionRefused => return Some(HttpError::ConnectionRefused),
            ErrorKind::TimedOut => return Some(HttpError::ConnectionTimeout),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
                return Some(HttpError::ConnectionTerminated);
            }
            _ => {}
        }
    }
    if let Some(hyper_error) = e.downcast_ref::<hyper::Error>() {
        if hyper_error.is_timeout() {
            return Some(HttpError::HttpResponseTimeout);
        }
        if hyper_error.is_incomplete_message() {
            return Some(HttpError::HttpResponseIncomplete);
        }
        if hyper_error.is_parse() {
            return Some(HttpError::HttpProtocolError);
        }
    }
    e.to_string().contains("dns error").then_some(HttpError::DnsError { rcode: None, info_code: None })
}

/// A response body that fails when the server stalls longer than `idle` between chunks, and
/// holds its request's in-flight permit until the plugin drops it.
struct TimedBody {
    inner: hyper::body::Incoming,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl TimedBody {
    fn new(inner: hyper::body::Incoming, idle: Duration, permit: OwnedSemaphorePermit) -> Self {
        Self { inner, idle, timer: Box::pin(tokio::time::sleep(idle)), _permit: permit }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => Poll::Ready(Some(Err(HttpError::HttpResponseTimeout))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(HttpError::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grants() {
        let g = HttpGrant::parse("https://Services.Fiberlink.com").expect("valid");
        assert_eq!(g.to_string(), "https://services.fiberlink.com:443");
        assert!(g.allows(true, "services.fiberlink.com", 443));
        assert!(!g.allows(false, "services.fiberlink.com", 443), "scheme is part of the grant");
        assert!(!g.allows(true, "services.fiberlink.com", 8443), "port is part of the grant");

        let g = HttpGrant::parse("http://127.0.0.1:8080/").expect("valid");
        assert!(g.allows(false, "127.0.0.1", 8080));
        let g = HttpGrant::parse("https://[::1]:9443").expect("valid");
        assert!(g.allows(true, "[::1]", 9443));
        let g = HttpGrant::parse("https://*.maas360.com").expect("valid");
        assert!(g.allows(true, "services.m4.maas360.com", 443));
    }

    #[test]
    fn refuses_bad_grants() {
        for bad in [
            "services.fiberlink.com",
            "ftp://a.example",
            "https://a.example/api",
            "https://user:pw@a.example",
            "https://a.example:99999",
            "https://a.example:0",
            "https://",
            "https://[::1]junk",
        ] {
            assert!(HttpGrant::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_the_final_origin() {
        let tls = super::super::tls::client_config(None).expect("system roots");
        let grants = vec![HttpGrant::parse("https://api.example.com").expect("valid")];
        let egress = HttpEgress::new(InstanceName::new("t").expect("name"), grants, tls);
        let check = |uri: &str| egress.check(&uri.parse::<Uri>().expect("uri"));
        assert!(check("https://api.example.com/v1?x=1").is_ok());
        assert!(check("https://API.example.com:443/").is_ok());
        for (uri, why) in [
            ("http://api.example.com/", "scheme differs"),
            ("https://api.example.com:8443/", "port differs"),
            ("https://api.example.com.evil.net/", "suffix"),
        ] {
            assert!(matches!(check(uri), Err(Denied::NotGranted(_))), "{uri}: {why}");
        }
        for uri in ["https://user:pw@api.example.com/", "https://evil.net@api.example.com/", "/relative"] {
            assert!(matches!(check(uri), Err(Denied::Invalid)), "{uri}");
        }
    }
}
