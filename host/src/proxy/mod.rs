//! The local proxy ("PII protector"): admins inside the network browse the cloud dashboard
//! through the connector and see personal data restored from tokens; nobody else does.
//!
//! The data path, by module: [`tls`] (the listener's certificate), [`server`] (HTTPS listener and
//! routing), [`session`] and [`throttle`] (who is logged in, and how often one may try),
//! [`users`] and [`ldap`] (the two ways to log in), [`pages`] (login and error pages),
//! [`forward`] (the request to the dashboard and its answer's headers), [`search`] (plaintext
//! typed into the dashboard tokenized on the way out), [`body`] (the answer's body restored as it
//! streams), [`audit`] (who saw which records).

pub mod audit;
pub mod body;
pub mod decode;
pub mod forward;
pub mod ldap;
pub mod pages;
pub mod search;
pub mod server;
pub mod session;
pub mod throttle;
pub mod tls;
pub mod users;

pub use server::{Started, start};

/// Every body the proxy answers with: its own pages, restored bodies, passed-through bodies.
pub type ProxyBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, BoxError>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("local proxy certificate: {0}")]
    Tls(#[from] tls::ListenerTlsError),
    #[error("local proxy: {0}")]
    Upstream(#[from] forward::ForwardError),
    #[error("local proxy: {0}")]
    Audit(#[from] audit::AuditOpenError),
    #[error("local proxy cannot listen on {addr}: {reason}")]
    Bind { addr: std::net::SocketAddr, reason: String },
}
