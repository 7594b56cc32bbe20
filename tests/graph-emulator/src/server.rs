//! The emulator's HTTPS listener (HTTP/1.1, keep-alive, one task per connection) and the handle
//! tests hold. Dropping the `Emulator` stops it, connections included.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use emulator_kit::accept::serve_connections;
use emulator_kit::private_ca::PrivateCa;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::EmulatorConfig;
use crate::faults::Fault;
use crate::message::SentMessage;
use crate::router;
use crate::stats::Stats;
use crate::tenant::Tenant;

/// Why the emulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot make the test CA: {0}")]
    Ca(String),
    #[error("cannot make the TLS server config: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot listen: {0}")]
    Listen(#[from] io::Error),
}

/// A running emulated tenant: the token endpoint and Graph on one HTTPS origin.
pub struct Emulator {
    addr: SocketAddr,
    ca_pem: String,
    tenant: Arc<Tenant>,
    accept: JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Emulator {
    /// Serves HTTPS on a free loopback port with a certificate from a fresh private CA
    /// ([`Emulator::ca_pem`]).
    pub async fn start(config: EmulatorConfig) -> Result<Self, StartError> {
        let ca = PrivateCa::new("Graph emulator test CA").map_err(|e| StartError::Ca(e.to_string()))?;
        let tls = ca.server_config()?;
        Self::start_tls(config, tls, ca.ca_pem).await
    }

    /// Serves HTTPS with `tls` (whose issuer is `ca_pem`) on a free loopback port.
    pub async fn start_tls(
        config: EmulatorConfig,
        tls: Arc<rustls::ServerConfig>,
        ca_pem: String,
    ) -> Result<Self, StartError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let tenant = Arc::new(Tenant::new(config, &format!("https://localhost:{}", addr.port())));
        let accept = {
            let (tenant, tls) = (tenant.clone(), TlsAcceptor::from(tls));
            tokio::spawn(serve_connections(listener, move |tcp| connection(tcp, tenant.clone(), tls.clone())))
        };
        Ok(Self { addr, ca_pem, tenant, accept })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://localhost:PORT`: both `login_url` and `graph_url`.
    pub fn origin(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// The PEM certificate of the CA that signed the emulator's certificate (`ca_file`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The next `times` `sendMail` requests that pass authentication, permission, mailbox and
    /// throttling checks suffer `fault`, after any faults already scripted.
    pub fn script(&self, fault: Fault, times: u32) {
        self.tenant.push_fault(fault, times);
    }

    /// Forgets the faults not yet used.
    pub fn clear_faults(&self) {
        self.tenant.state().script.clear();
    }

    /// Every token issued so far is expired: Graph answers 401 `InvalidAuthenticationToken`.
    pub fn expire_tokens(&self) {
        self.tenant.state().tokens.expire_all(std::time::Instant::now());
    }

    /// Grants or revokes `Mail.Send`. Like the real service, it applies to tokens issued from now
    /// on: a token carries the roles it was issued with.
    pub fn set_mail_send(&self, granted: bool) {
        self.tenant.state().mail_send = granted;
    }

    /// Grants or revokes `User.Read.All`, for tokens issued from now on.
    pub fn set_user_read_all(&self, granted: bool) {
        self.tenant.state().user_read_all = granted;
    }

    /// The messages taken so far, oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.tenant.state().messages.clone()
    }

    pub fn stats(&self) -> Stats {
        self.tenant.state().stats.clone()
    }

    /// The tenant's config, as started.
    pub fn config(&self) -> &EmulatorConfig {
        &self.tenant.config
    }
}

async fn connection(tcp: TcpStream, tenant: Arc<Tenant>, tls: TlsAcceptor) {
    let stream = match tls.accept(tcp).await {
        Ok(stream) => stream,
        // A client that refuses our certificate ends the handshake: its business, not an error here.
        Err(error) => return tracing::debug!(%error, "TLS handshake failed"),
    };
    let service = service_fn(move |request| router::handle(tenant.clone(), request));
    let http =
        hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
    if let Err(error) = http.await {
        tracing::debug!(%error, "connection ended");
    }
}
