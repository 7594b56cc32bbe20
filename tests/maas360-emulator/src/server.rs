//! The emulator's listener: plain HTTP or TLS, HTTP/1.1 with keep-alive, one task per connection.
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
use crate::tenant::{DeviceSnapshot, Tenant};

/// A running emulated MaaS360 tenant.
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

    /// Serves on `addr`, over TLS when `tls` is given. The tenant's devices are generated before
    /// this returns.
    pub async fn bind(
        config: EmulatorConfig,
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Self> {
        // 100 000 devices take a moment to draw and render: off the async threads.
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

    /// Every auth token issued so far is now expired (401 "Token expired.").
    pub fn expire_tokens(&self) {
        self.tenant.expire_tokens();
    }

    /// The next `requests` API requests answer 429 with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, requests: u32, retry_after_secs: u64) {
        self.tenant.throttle(requests, retry_after_secs);
    }

    /// The next `requests` API requests answer `status` with a short HTML error page.
    pub fn fail(&self, requests: u32, status: u16) {
        self.tenant.fail(requests, status);
    }

    /// The next `requests` API requests answer 200 `text/html`: the login page of a bounced session.
    pub fn html_login(&self, requests: u32) {
        self.tenant.html_login(requests);
    }

    /// Locks or unlocks the API account (unlocking also forgets failed logins).
    pub fn lock_account(&self, locked: bool) {
        self.tenant.lock_account(locked);
    }

    /// Once, after `after_list_requests` more device-list requests: removes the `remove` devices at
    /// the front of the default order (lastReported descending), then inserts `insert` newer devices
    /// that join every populated device group — so pages shift under a paging client.
    pub fn churn(&self, after_list_requests: u32, insert: usize, remove: usize) {
        self.tenant.churn(after_list_requests, insert, remove);
    }

    /// The current devices, lastReported descending, with their plaintext personal data.
    pub fn devices(&self) -> Vec<DeviceSnapshot> {
        self.tenant.devices()
    }

    /// Gives a device a new name, e.g. one a hostile user chose; `false` if there is no such device.
    pub fn rename_device(&self, device_id: &str, name: &str) -> bool {
        self.tenant.rename(device_id, name)
    }

    /// A custom attribute's current value on a device; `None` if either is unknown.
    pub fn attribute(&self, device_id: &str, name: &str) -> Option<String> {
        self.tenant.attribute(device_id, name)
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
