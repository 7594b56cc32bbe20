//! HTTP/1.1 connections to the relay: dialed directly or through a forward proxy's `CONNECT`
//! tunnel, with TLS verified end to end inside it. A [`Lane`] is one kept-alive connection that
//! is dialed again when it breaks; the link uses one lane per kind of request so a held poll
//! never delays a result.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::{ProxyConfig, RelayConfig};

/// How long dialing (TCP, proxy tunnel and TLS together) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A relay answer larger than this is refused: the protocol caps bodies at 16 MiB.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {addr}: {reason}")]
    Dial { addr: String, reason: String },
    #[error("the proxy {proxy} refused the tunnel to {target}: {status}{}", proxy_hint(*status))]
    ProxyRefused { proxy: String, target: String, status: StatusCode },
    #[error("TLS with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    #[error("HTTP exchange with the relay failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("the relay's answer is larger than 16 MiB")]
    TooLarge,
}

/// Proxies answer bad credentials with 407, some (tinyproxy) with 401.
fn proxy_hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PROXY_AUTHENTICATION_REQUIRED | StatusCode::UNAUTHORIZED => {
            " (the proxy wants other credentials: check relay.proxy.username and password)"
        }
        StatusCode::FORBIDDEN => " (the proxy's policy forbids this destination)",
        _ => "",
    }
}

/// Where the relay is and how to reach it.
pub struct Endpoint {
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    proxy: Option<Proxy>,
}

struct Proxy {
    addr: String,
    authorization: Option<secrecy::SecretString>,
}

/// Any byte stream a TLS session can run over: a TCP socket or a proxy tunnel.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Endpoint {
    pub fn new(config: &RelayConfig) -> Result<Self, TransportError> {
        Self::to(&config.host, config.port, config.tls.clone(), config.proxy.as_ref())
    }

    /// Any HTTPS server reached the way the relay is (the local proxy's dashboard, say).
    pub fn to(
        host: &str,
        port: u16,
        tls: Arc<rustls::ClientConfig>,
        proxy: Option<&ProxyConfig>,
    ) -> Result<Self, TransportError> {
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| TransportError::Tls { host: host.to_string(), reason: e.to_string() })?;
        Ok(Self {
            host: host.to_string(),
            port,
            server_name,
            tls: TlsConnector::from(tls),
            proxy: proxy.map(|p| Proxy { addr: authority(&p.host, p.port), authorization: p.authorization.clone() }),
        })
    }

    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }

    /// Dials a new connection and returns its request handle; the connection is driven by a
    /// task of its own and closes when the handle is dropped.
    pub async fn connect<B>(&self) -> Result<SendRequest<B>, TransportError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        tokio::time::timeout(CONNECT_TIMEOUT, self.connect_inner())
            .await
            .map_err(|_| TransportError::ConnectTimeout(self.authority()))?
    }

    async fn connect_inner<B>(&self) -> Result<SendRequest<B>, TransportError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let target = self.authority();
        let stream: Box<dyn Stream> = match &self.proxy {
            None => Box::new(dial(&target).await?),
            Some(proxy) => tunnel(proxy, &target).await?,
        };
        let tls = self
            .tls
            .connect(self.server_name.clone(), stream)
            .await
            .map_err(|e| TransportError::Tls { host: self.host.clone(), reason: e.to_string() })?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!("relay connection closed: {error}");
            }
        });
        Ok(sender)
    }
}

fn authority(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

async fn dial(addr: &str) -> Result<TcpStream, TransportError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| TransportError::Dial { addr: addr.to_string(), reason: e.to_string() })?;
    // Small frames (results, heartbeats) must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Asks the proxy for a tunnel to `target` and returns it once the proxy answers 2xx.
async fn tunnel(proxy: &Proxy, target: &str) -> Result<Box<dyn Stream>, TransportError> {
    let stream = dial(&proxy.addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection.with_upgrades());
    let mut request = Request::builder().method(Method::CONNECT).uri(target).header(http::header::HOST, target);
    if let Some(authorization) = &proxy.authorization {
        request = request.header(http::header::PROXY_AUTHORIZATION, authorization.expose_secret());
    }
    let request = request.body(Full::new(Bytes::new())).map_err(|e| TransportError::Dial {
        addr: proxy.addr.clone(),
        reason: format!("cannot build CONNECT for {target}: {e}"),
    })?;
    let response = sender.send_request(request).await?;
    if !response.status().is_success() {
        driver.abort();
        return Err(TransportError::ProxyRefused {
            proxy: proxy.addr.clone(),
            target: target.to_string(),
            status: response.status(),
        });
    }
    let upgraded = hyper::upgrade::on(response).await?;
    Ok(Box::new(TokioIo::new(upgraded)))
}

/// One kept-alive connection, dialed on first use and again after it breaks.
pub struct Lane {
    endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// A relay answer, read whole (answers are small JSON documents).
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

impl Lane {
    pub fn new(endpoint: Arc<Endpoint>) -> Self {
        Self { endpoint, sender: None }
    }

    /// Sends `request` and reads the answer; any transport failure drops the connection so the
    /// next request dials a fresh one.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Answer, TransportError> {
        let result = self.exchange(request).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// Closes the connection (the next request dials again).
    pub fn close(&mut self) {
        self.sender = None;
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Answer, TransportError> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.endpoint.connect().await?),
        };
        sender.ready().await?;
        let response: Response<hyper::body::Incoming> = sender.send_request(request).await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds.min(3600)));
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(e) => TransportError::Http(*e),
                Err(_) => TransportError::TooLarge,
            })?
            .to_bytes();
        Ok(Answer { status, retry_after, body })
    }
}
