//! A real HTTP(S) server on loopback that answers from a route table and records every request
//! it receives, so tests can prove what did (and did not) reach it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::test_ca::TestCa;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub host: Option<String>,
}

pub struct HttpServer {
    pub addr: SocketAddr,
    pub tls: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl HttpServer {
    /// Starts a plain HTTP server; `routes` maps a path to `(status, JSON body)`; others get 404.
    pub async fn start(routes: &[(&str, u16, &str)]) -> Self {
        Self::start_with(routes, None).await
    }

    /// Starts an HTTPS server presenting `ca`'s server certificate.
    pub async fn start_tls(routes: &[(&str, u16, &str)], ca: &TestCa) -> Self {
        Self::start_with(routes, Some(tokio_rustls::TlsAcceptor::from(ca.server_config()))).await
    }

    async fn start_with(routes: &[(&str, u16, &str)], tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<HashMap<String, (u16, String)>> =
            Arc::new(routes.iter().map(|(p, s, b)| (p.to_string(), (*s, b.to_string()))).collect());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server = Self { addr, tls: tls.is_some(), seen: seen.clone() };
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (routes, seen, tls) = (routes.clone(), seen.clone(), tls.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, routes.clone(), seen.clone()));
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            // A client that refuses our certificate ends the handshake; that is a
                            // test outcome, not a server error.
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub fn origin(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://127.0.0.1:{}", self.addr.port())
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn answer(
    request: Request<Incoming>,
    routes: Arc<HashMap<String, (u16, String)>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let host = request.headers().get(hyper::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    seen.lock().expect("lock").push(Seen { method: request.method().to_string(), path_and_query: path.clone(), host });
    let (status, body) =
        routes.get(request.uri().path()).cloned().unwrap_or((404, r#"{"error":"not found"}"#.to_string()));
    let response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
    Ok(response)
}
