//! Network streams (`msc:host/net`) for protocols that are not HTTP (SMTP, syslog), limited to the
//! `host:port` pairs granted in `[instances.NAME.grants] net = [...]`. TLS is done here, verified
//! with the instance's trust roots; plugins never see certificates. Every operation is bounded by
//! the call's deadline, because an epoch deadline cannot interrupt a host call.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use wasmtime::component::{HasData, Resource, ResourceTable};

use super::host_pattern::{HostPattern, HostPatternError};
use super::http::split_host_port;
use super::log::CallLog;
use crate::ids::InstanceName;
use crate::plugins::bindings::host::msc::host::net::{self, NetError, Security};

/// Largest single read handed to a plugin.
const MAX_READ: usize = 64 * 1024;
/// Connections one call may hold open at once.
const MAX_OPEN_PER_CALL: usize = 8;

/// One granted endpoint: `smtp.corp.example:587`, `*.syslog.corp:6514`, `[::1]:25`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetGrant {
    pub host: HostPattern,
    pub port: u16,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NetGrantError {
    #[error("`{0}` is not `host:port`")]
    NotHostPort(String),
    #[error(transparent)]
    Host(#[from] HostPatternError),
}

impl NetGrant {
    pub fn parse(text: &str) -> Result<Self, NetGrantError> {
        let not_host_port = || NetGrantError::NotHostPort(text.to_string());
        let (host, port) = split_host_port(text.trim()).ok_or_else(not_host_port)?;
        Ok(Self { host: HostPattern::parse(host)?, port: port.ok_or_else(not_host_port)? })
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        self.port == port && self.host.matches(host)
    }
}

impl fmt::Display for NetGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// An instance's network-stream grants and trust roots.
pub struct NetEgress {
    instance: InstanceName,
    grants: Vec<NetGrant>,
    tls: TlsConnector,
}

impl NetEgress {
    pub fn new(instance: InstanceName, grants: Vec<NetGrant>, tls: Arc<ClientConfig>) -> Self {
        Self { instance, grants, tls: TlsConnector::from(tls) }
    }

    pub fn grants(&self) -> &[NetGrant] {
        &self.grants
    }
}

/// A plugin's open connection, held in the call's resource table.
pub struct Connection {
    stream: Stream,
    server_name: ServerName<'static>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// A failed `start-tls` consumed the plain stream.
    Broken,
}

/// What one call's `msc:host/net` needs: the shared resource table, the instance's egress, the
/// deadline.
pub struct NetView<'a> {
    pub table: &'a mut ResourceTable,
    pub egress: &'a NetEgress,
    pub deadline: Instant,
    pub open: &'a mut usize,
    pub log: &'a CallLog,
}

/// [`HasData`] marker for linking `msc:host/net`.
pub struct Net;

impl HasData for Net {
    type Data<'a> = NetView<'a>;
}

/// Runs a socket operation, ending it at the call's deadline.
async fn bounded<T>(deadline: Instant, op: impl Future<Output = std::io::Result<T>>) -> Result<T, NetError> {
    match tokio::time::timeout_at(deadline.into(), op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(io_error(error)),
        Err(_) => Err(NetError::TimedOut),
    }
}

async fn handshake(
    deadline: Instant,
    tls: &TlsConnector,
    server_name: ServerName<'static>,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, NetError> {
    match tokio::time::timeout_at(deadline.into(), tls.connect(server_name, tcp)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(NetError::Tls(error.to_string())),
        Err(_) => Err(NetError::TimedOut),
    }
}

async fn write_flush(stream: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

fn io_error(error: std::io::Error) -> NetError {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused | ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            NetError::Unreachable(error.to_string())
        }
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted => NetError::Closed,
        ErrorKind::InvalidData => NetError::Tls(error.to_string()),
        _ => NetError::Io(error.to_string()),
    }
}

impl net::Host for NetView<'_> {
    async fn connect(
        &mut self,
        host: String,
        port: u16,
        security: Security,
    ) -> wasmtime::Result<Result<Resource<Connection>, NetError>> {
        if !self.egress.grants.iter().any(|g| g.allows(&host, port)) {
            let target = format!("{host}:{port}");
            self.log.denied("network stream", &target);
            return Ok(Err(NetError::Denied(format!("{target} is not granted to instance {}", self.egress.instance))));
        }
        if *self.open >= MAX_OPEN_PER_CALL {
            return Ok(Err(NetError::Io(format!("at most {MAX_OPEN_PER_CALL} connections may be open at once"))));
        }
        let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let Ok(server_name) = ServerName::try_from(bare_host.clone()) else {
            return Ok(Err(NetError::Unreachable(format!("`{host}` is not a valid host name"))));
        };
        let tcp = match bounded(self.deadline, TcpStream::connect((bare_host.as_str(), port))).await {
            Ok(tcp) => tcp,
            Err(NetError::Io(message)) => return Ok(Err(NetError::Unreachable(message))),
            Err(e) => return Ok(Err(e)),
        };
        // Plugin protocols are chatty request/response; don't let Nagle delay them.
        let _ = tcp.set_nodelay(true);
        let stream = match security {
            Security::Plaintext => Stream::Plain(tcp),
            Security::Tls => match handshake(self.deadline, &self.egress.tls, server_name.clone(), tcp).await {
                Ok(tls) => Stream::Tls(Box::new(tls)),
                Err(e) => return Ok(Err(e)),
            },
        };
        *self.open += 1;
        Ok(Ok(self.table.push(Connection { stream, server_name })?))
    }
}

impl net::HostConnection for NetView<'_> {
    async fn read(
        &mut self,
        conn: Resource<Connection>,
        max_bytes: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, NetError>> {
        let mut buf = vec![0; (max_bytes as usize).clamp(1, MAX_READ)];
        let deadline = self.deadline;
        let connection = self.table.get_mut(&conn)?;
        let read = match &mut connection.stream {
            Stream::Plain(s) => bounded(deadline, s.read(&mut buf)).await,
            Stream::Tls(s) => bounded(deadline, s.read(&mut buf)).await,
            Stream::Broken => return Ok(Err(NetError::Closed)),
        };
        Ok(read.map(|n| {
            buf.truncate(n);
            buf
        }))
    }

    async fn write(&mut self, conn: Resource<Connection>, bytes: Vec<u8>) -> wasmtime::Result<Result<(), NetError>> {
        let deadline = self.deadline;
        let connection = self.table.get_mut(&conn)?;
        Ok(match &mut connection.stream {
            Stream::Plain(s) => bounded(deadline, write_flush(s, &bytes)).await,
            Stream::Tls(s) => bounded(deadline, write_flush(s, &bytes)).await,
            Stream::Broken => Err(NetError::Closed),
        })
    }

    async fn start_tls(&mut self, conn: Resource<Connection>) -> wasmtime::Result<Result<(), NetError>> {
        let connection = self.table.get_mut(&conn)?;
        let server_name = connection.server_name.clone();
        let tcp = match std::mem::replace(&mut connection.stream, Stream::Broken) {
            Stream::Plain(tcp) => tcp,
            other => {
                let already = matches!(other, Stream::Tls(_));
                connection.stream = other;
                return Ok(Err(if already {
                    NetError::Io("the connection is already TLS".into())
                } else {
                    NetError::Closed
                }));
            }
        };
        let upgraded = handshake(self.deadline, &self.egress.tls, server_name, tcp).await;
        let connection = self.table.get_mut(&conn)?;
        Ok(match upgraded {
            Ok(tls) => {
                connection.stream = Stream::Tls(Box::new(tls));
                Ok(())
            }
            Err(e) => Err(e),
        })
    }

    async fn is_tls(&mut self, conn: Resource<Connection>) -> wasmtime::Result<bool> {
        Ok(matches!(self.table.get(&conn)?.stream, Stream::Tls(_)))
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        *self.open = self.open.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grants() {
        let g = NetGrant::parse("smtp.corp.example:587").expect("valid");
        assert!(g.allows("SMTP.corp.example", 587));
        assert!(!g.allows("smtp.corp.example", 25));
        let g = NetGrant::parse("[::1]:25").expect("valid");
        assert!(g.allows("::1", 25));
        assert_eq!(g.to_string(), "[::1]:25");
        for bad in ["smtp.corp.example", "smtp:", ":25", "a b:25", "host:port"] {
            assert!(NetGrant::parse(bad).is_err(), "{bad}");
        }
    }
}
