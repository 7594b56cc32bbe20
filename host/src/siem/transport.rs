//! Sending queued records to a SIEM: UDP datagrams (RFC 5426), a TCP stream (RFC 6587), the same
//! stream inside verified TLS (RFC 5425), or HTTPS POSTs for JSON collectors. Records arrive
//! already framed for their transport (see [`frame`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use rustls_pki_types::ServerName;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;

use crate::config::siem::Transport;
use crate::plugins::worlds::siem::Framing;
use crate::relay::transport::Endpoint;

/// Dialing (TCP and TLS together) may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One batch must be written (or answered, over HTTPS) within this.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("sending to {0} failed: {1}")]
    Io(String, String),
    #[error("{0} answered {1}")]
    Refused(String, http::StatusCode),
    #[error("{0} did not take the batch within {SEND_TIMEOUT:?}")]
    Timeout(String),
}

/// Frames one record for `transport`: octet counting (`LEN SP MSG`) or a line on streams, as the
/// formatter asks; bare on UDP (a datagram is the frame); newline-delimited for HTTPS.
pub fn frame(transport: &Transport, framing: Framing, record: Vec<u8>) -> Vec<u8> {
    match (transport, framing) {
        (Transport::Udp { .. }, _) => record,
        (Transport::Tcp { .. } | Transport::Tls { .. }, Framing::OctetCounting) => {
            let mut framed = format!("{} ", record.len()).into_bytes();
            framed.extend_from_slice(&record);
            framed
        }
        (Transport::Tcp { .. } | Transport::Tls { .. } | Transport::Https { .. }, _) => {
            let mut line = record;
            line.push(b'\n');
            line
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

enum Connection {
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
    Https(SendRequest<Full<Bytes>>),
}

/// One target's connection, dialed when needed and again after a failure.
pub struct Link {
    transport: Arc<Transport>,
    shown: String,
    connection: Option<Connection>,
}

impl Link {
    pub fn new(transport: Arc<Transport>) -> Self {
        let shown = format!("{transport:?}");
        Self { transport, shown, connection: None }
    }

    /// Sends framed records; on any error the connection is dropped, to be dialed again.
    pub async fn send(&mut self, records: &[Vec<u8>]) -> Result<(), SendError> {
        let result = tokio::time::timeout(SEND_TIMEOUT, self.send_inner(records))
            .await
            .unwrap_or_else(|_| Err(SendError::Timeout(self.shown.clone())));
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    async fn send_inner(&mut self, records: &[Vec<u8>]) -> Result<(), SendError> {
        if let Some(Connection::Stream(stream)) = &mut self.connection
            && !still_open(stream).await
        {
            // The SIEM closed the stream (a restart): bytes written now would vanish.
            self.connection = None;
        }
        if self.connection.is_none() {
            self.connection = Some(self.dial().await?);
        }
        let io = |e: std::io::Error| SendError::Io(self.shown.clone(), e.to_string());
        match self.connection.as_mut() {
            Some(Connection::Udp(socket)) => {
                for record in records {
                    socket.send(record).await.map_err(io)?;
                }
                Ok(())
            }
            Some(Connection::Stream(stream)) => {
                let mut batch = Vec::with_capacity(records.iter().map(Vec::len).sum());
                for record in records {
                    batch.extend_from_slice(record);
                }
                stream.write_all(&batch).await.map_err(io)?;
                stream.flush().await.map_err(io)
            }
            Some(Connection::Https(sender)) => {
                let Transport::Https { host, port, path, token, .. } = self.transport.as_ref() else {
                    return Err(SendError::Io(self.shown.clone(), "not an HTTPS target".into()));
                };
                let body: Vec<u8> = records.concat();
                let mut request = Request::builder()
                    .method(Method::POST)
                    .uri(path.as_str())
                    .header(header::HOST, format!("{host}:{port}"))
                    .header(header::CONTENT_TYPE, "application/x-ndjson");
                if let Some(token) = token {
                    request = request.header(header::AUTHORIZATION, format!("Splunk {}", token.expose_secret()));
                }
                let request = request
                    .body(Full::new(Bytes::from(body)))
                    .map_err(|e| SendError::Io(self.shown.clone(), e.to_string()))?;
                sender.ready().await.map_err(|e| SendError::Io(self.shown.clone(), e.to_string()))?;
                let response =
                    sender.send_request(request).await.map_err(|e| SendError::Io(self.shown.clone(), e.to_string()))?;
                let status = response.status();
                // Read the answer whole so the connection can carry the next batch.
                let _ = response.into_body().collect().await;
                if status.is_success() { Ok(()) } else { Err(SendError::Refused(self.shown.clone(), status)) }
            }
            None => Err(SendError::Io(self.shown.clone(), "no connection".into())),
        }
    }

    async fn dial(&self) -> Result<Connection, SendError> {
        let connect = |e: &dyn std::fmt::Display| SendError::Connect(self.shown.clone(), e.to_string());
        let dialing = async {
            match self.transport.as_ref() {
                Transport::Udp { address } => {
                    let local = if address.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" };
                    let socket = UdpSocket::bind(local).await.map_err(|e| connect(&e))?;
                    socket.connect(address.as_str()).await.map_err(|e| connect(&e))?;
                    Ok(Connection::Udp(socket))
                }
                Transport::Tcp { address } => {
                    let stream = TcpStream::connect(address.as_str()).await.map_err(|e| connect(&e))?;
                    let _ = stream.set_nodelay(true);
                    Ok(Connection::Stream(Box::new(stream)))
                }
                Transport::Tls { address, host, tls } => {
                    let stream = TcpStream::connect(address.as_str()).await.map_err(|e| connect(&e))?;
                    let _ = stream.set_nodelay(true);
                    let name = ServerName::try_from(host.clone()).map_err(|e| connect(&e))?;
                    let tls = TlsConnector::from(tls.clone())
                        .connect(name, stream)
                        .await
                        .map_err(|e| connect(&format!("TLS: {e}")))?;
                    Ok(Connection::Stream(Box::new(tls)))
                }
                Transport::Https { host, port, tls, .. } => {
                    let endpoint = Endpoint::to(host, *port, tls.clone(), None).map_err(|e| connect(&e))?;
                    Ok(Connection::Https(endpoint.connect().await.map_err(|e| connect(&e))?))
                }
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, dialing).await.unwrap_or_else(|_| Err(connect(&"timed out")))
    }
}

/// Whether a stream the SIEM never writes to is still open: a read that completes at once with
/// nothing means the peer closed it.
async fn still_open(stream: &mut Box<dyn Stream>) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::ZERO, stream.read(&mut byte)).await {
        Err(_) => true,
        Ok(Ok(0)) | Ok(Err(_)) => false,
        // The SIEM sent something (syslog servers do not): ignore it, the stream is open.
        Ok(Ok(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_framed_for_their_transport() {
        let tcp = Transport::Tcp { address: "h:1".into() };
        let udp = Transport::Udp { address: "h:1".into() };
        assert_eq!(frame(&tcp, Framing::OctetCounting, b"a\nb".to_vec()), b"3 a\nb");
        assert_eq!(frame(&tcp, Framing::Newline, b"ab".to_vec()), b"ab\n");
        assert_eq!(frame(&udp, Framing::OctetCounting, b"ab".to_vec()), b"ab");
    }

    #[tokio::test]
    async fn a_closed_stream_is_noticed_before_writing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut link = Link::new(Arc::new(Transport::Tcp { address: addr.to_string() }));
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.expect("accept");
            let mut got = vec![0u8; 5];
            first.read_exact(&mut got).await.expect("read");
            drop(first);
            let (mut second, _) = listener.accept().await.expect("accept again");
            let mut again = vec![0u8; 5];
            second.read_exact(&mut again).await.expect("read");
            (got, again)
        });
        link.send(&[b"1 a".to_vec(), b"1 b".to_vec()[..2].to_vec()]).await.expect("first batch");
        tokio::time::sleep(Duration::from_millis(100)).await;
        link.send(&[b"3 xyz".to_vec()]).await.expect("second batch on a new connection");
        let (first, second) = server.await.expect("server");
        assert_eq!(first, b"1 a1 ");
        assert_eq!(second, b"3 xyz");
    }
}
