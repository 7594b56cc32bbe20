//! The accept loop every emulator runs: each connection on its own task, all of them aborted
//! with the loop (dropping the set), accept errors waited out rather than spun on.

use std::future::Future;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Accepts on `listener` until the calling task is aborted, serving each connection with `serve`.
pub async fn serve_connections<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nodelay(true);
                    connections.spawn(serve(tcp));
                }
                Err(error) => {
                    // Out of file descriptors and the like.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// An emulator's listener: serves until dropped, over TLS when it has a config.
pub struct Listener {
    addr: std::net::SocketAddr,
    tls: bool,
    accept: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Binds `addr` and serves each connection with `connection(tcp, tls)`.
    pub async fn serve<F, Fut>(
        addr: std::net::SocketAddr,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
        connection: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(TcpStream, Option<std::sync::Arc<rustls::ServerConfig>>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let has_tls = tls.is_some();
        let accept = tokio::spawn(serve_connections(listener, move |tcp| connection(tcp, tls.clone())));
        Ok(Self { addr, tls: has_tls, accept })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS (the name a test certificate
    /// carries). A wildcard listener is reached over loopback.
    pub fn origin(&self) -> String {
        let port = self.addr.port();
        let ip = self.addr.ip();
        match (self.tls, ip.is_loopback() || ip.is_unspecified()) {
            (true, true) => format!("https://localhost:{port}"),
            (false, true) if ip.is_ipv4() || ip.is_unspecified() => format!("http://127.0.0.1:{port}"),
            (false, true) => format!("http://[::1]:{port}"),
            (true, false) => format!("https://{}", self.addr),
            (false, false) => format!("http://{}", self.addr),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
