//! Byte streams to the `host:port`s granted to the instance, for protocols that are not HTTP.
//! The connector does TLS, verified against the instance's CA bundle or the system's roots.

pub use crate::bindings::base::msc::host::net::{Connection, NetError, Security, connect};

impl Connection {
    /// Reads until `\n` (kept), or until `max` bytes, or until the peer closes. `buffer` carries
    /// bytes read past the line to the next call.
    pub fn read_line(&self, buffer: &mut Vec<u8>, max: usize) -> Result<Vec<u8>, NetError> {
        loop {
            if let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                return Ok(buffer.drain(..=end).collect());
            }
            if buffer.len() >= max {
                return Ok(std::mem::take(buffer));
            }
            let chunk = self.read(64 * 1024)?;
            if chunk.is_empty() {
                return Ok(std::mem::take(buffer));
            }
            buffer.extend_from_slice(&chunk);
        }
    }
}
