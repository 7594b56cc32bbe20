//! The emulator's listener (plain HTTP or TLS, HTTP/1.1 with keep-alive) and the handle tests hold.
//! Dropping the `Emulator` stops it, connections included.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use emulator_kit::accept::Listener;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::config::EmulatorConfig;
use crate::router;
use crate::stats::Stats;
use crate::tenant::{DeviceSnapshot, Tenant, lock};

/// A running emulated Workspace ONE UEM tenant.
pub struct Emulator {
    listener: Listener,
    tenant: Arc<Tenant>,
}

impl Emulator {
    /// Serves plain HTTP on a free loopback port.
    pub async fn start(config: EmulatorConfig) -> io::Result<Self> {
        Self::bind(config, (Ipv4Addr::LOCALHOST, 0).into(), None).await
    }

    /// Serves HTTPS with `tls` on a free loopback port.
    pub async fn start_tls(config: EmulatorConfig, tls: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        Self::bind(config, (Ipv4Addr::LOCALHOST, 0).into(), Some(tls)).await
    }

    /// Serves on `addr`, over TLS when `tls` is given; the devices exist when this returns.
    pub async fn bind(
        config: EmulatorConfig,
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Self> {
        // Many devices take a moment to draw: off the async threads.
        let tenant =
            tokio::task::spawn_blocking(move || Arc::new(Tenant::new(config))).await.map_err(io::Error::other)?;
        let listener = {
            let tenant = tenant.clone();
            Listener::serve(addr, tls, move |tcp, tls| connection(tcp, tenant.clone(), tls.map(TlsAcceptor::from)))
                .await?
        };
        Ok(Self { listener, tenant })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS (the name a test certificate
    /// carries).
    pub fn origin(&self) -> String {
        self.listener.origin()
    }

    /// Every access token issued so far is now expired (401).
    pub fn expire_tokens(&self) {
        self.tenant.expire_tokens();
    }

    /// The next `requests` API requests answer `status` with an IIS error page.
    pub fn fail(&self, requests: u32, status: u16) {
        lock(&self.tenant.faults).fail(requests, status);
    }

    /// The next `requests` API requests answer 429 with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, requests: u32, retry_after_secs: u64) {
        lock(&self.tenant.faults).throttle(requests, retry_after_secs);
    }

    /// Sets what is left of the daily quota; at 0 every API request answers 429.
    pub fn set_quota_remaining(&self, remaining: u32) {
        lock(&self.tenant.faults).set_remaining(remaining);
    }

    /// The devices by ascending id, with their plaintext personal data, tags and custom attributes.
    pub fn devices(&self) -> Vec<DeviceSnapshot> {
        self.tenant.devices()
    }

    pub fn device(&self, id: u64) -> Option<DeviceSnapshot> {
        self.tenant.device(id)
    }

    /// The names of the tags a device carries; empty for an unknown device.
    pub fn tags_of(&self, device_id: u64) -> Vec<String> {
        self.tenant.device(device_id).map(|device| device.tags).unwrap_or_default()
    }

    /// The device's risk label: the one tag named `*_Risk_*` it carries. `None` when it carries
    /// none or several (a client that forgot to remove the old level).
    pub fn risk_label(&self, device_id: u64) -> Option<String> {
        let mut risk = self.tags_of(device_id).into_iter().filter(|name| name.contains("_Risk_"));
        match (risk.next(), risk.next()) {
            (Some(label), None) => Some(label),
            _ => None,
        }
    }

    /// A custom attribute's value on a device; `None` if either is unknown.
    pub fn attribute(&self, device_id: u64, name: &str) -> Option<String> {
        self.tenant.device(device_id)?.custom_attributes.get(name).cloned()
    }

    /// A tag's id by name (ASCII case ignored).
    pub fn tag_id(&self, name: &str) -> Option<u64> {
        self.tenant.tag_id(name)
    }

    pub fn stats(&self) -> Stats {
        self.tenant.stats()
    }
}

async fn connection(tcp: TcpStream, tenant: Arc<Tenant>, tls: Option<TlsAcceptor>) {
    match tls {
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(stream) => serve(stream, tenant).await,
            // A client that refuses our certificate ends the handshake: its business, not an error here.
            Err(error) => tracing::debug!(%error, "TLS handshake failed"),
        },
        None => serve(tcp, tenant).await,
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(stream: S, tenant: Arc<Tenant>) {
    let service = service_fn(move |request| router::handle(tenant.clone(), request));
    let http =
        hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
    if let Err(error) = http.await {
        tracing::debug!(%error, "connection ended");
    }
}
