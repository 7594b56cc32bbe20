//! The byte stream an SMTP session runs over: the host's `net` connection in the plugin, a
//! scripted server in unit tests.

use msc_sdk::net::{Connection, NetError};

/// Largest read asked of the stream at once.
pub const READ_CHUNK: usize = 64 * 1024;

/// A connection to the SMTP server.
pub trait Stream {
    /// Up to `max` bytes, waiting for at least one; empty when the server closed the connection.
    fn read(&mut self, max: usize) -> Result<Vec<u8>, NetError>;
    /// Writes all of `bytes`.
    fn write(&mut self, bytes: &[u8]) -> Result<(), NetError>;
    /// Upgrades the connection to TLS in place (STARTTLS); the host verifies the certificate.
    fn start_tls(&mut self) -> Result<(), NetError>;
    /// Whether the connection is encrypted now.
    fn is_tls(&self) -> bool;
}

/// The host's connection (`msc:host/net`).
pub struct HostStream(pub Connection);

impl Stream for HostStream {
    fn read(&mut self, max: usize) -> Result<Vec<u8>, NetError> {
        self.0.read(u32::try_from(max).unwrap_or(u32::MAX))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        self.0.write(bytes)
    }

    fn start_tls(&mut self) -> Result<(), NetError> {
        self.0.start_tls()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

/// A network error in words, without the variant's Rust name.
pub fn describe(error: &NetError) -> String {
    match error {
        NetError::Denied(m) => format!("not granted: {m}"),
        NetError::Unreachable(m) => format!("unreachable: {m}"),
        NetError::Tls(m) => format!("TLS failed: {m}"),
        NetError::TimedOut => "the call's deadline ran out".into(),
        NetError::Closed => "the server closed the connection".into(),
        NetError::Io(m) => format!("network error: {m}"),
    }
}

/// Lets a caller keep the stream after a session borrowed it (tests inspect their fake).
impl<T: Stream + ?Sized> Stream for &mut T {
    fn read(&mut self, max: usize) -> Result<Vec<u8>, NetError> {
        (**self).read(max)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        (**self).write(bytes)
    }

    fn start_tls(&mut self) -> Result<(), NetError> {
        (**self).start_tls()
    }

    fn is_tls(&self) -> bool {
        (**self).is_tls()
    }
}
