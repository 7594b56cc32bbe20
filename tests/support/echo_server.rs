//! A line echo server on loopback: plaintext, TLS from the first byte, or plaintext upgraded to
//! TLS at once (what a plugin's `start-tls` meets). Counts the connections it accepted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::test_ca::TestCa;

pub struct EchoServer {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl EchoServer {
    pub async fn plain() -> Self {
        Self::start(None).await
    }

    /// TLS with `ca`'s server certificate (from the first byte, or after a plaintext connect:
    /// the server cannot tell and need not).
    pub async fn tls(ca: &TestCa) -> Self {
        Self::start(Some(tokio_rustls::TlsAcceptor::from(ca.server_config()))).await
    }

    async fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                echo_lines(stream).await;
                            }
                        }
                        None => echo_lines(tcp).await,
                    }
                });
            }
        });
        Self { addr, accepted }
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn echo_lines(stream: impl AsyncRead + AsyncWrite + Unpin) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if write.write_all(format!("{line}\n").as_bytes()).await.is_err() {
            return;
        }
    }
}
