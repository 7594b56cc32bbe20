//! What the test emulators (`maas360-emulator`, `cloud-emulator`, `graph-emulator`) share: the
//! accept loop, a throwaway private CA,
//! TLS server configs from PEM files, the log setup and shutdown signal of their binaries, the HTTP reply
//! helpers, and (feature `test-client`) the answer type of their integration tests' clients.

pub mod accept;
#[cfg(feature = "test-client")]
pub mod client;
pub mod logging;
pub mod private_ca;
pub mod reply;
pub mod signal;
pub mod tls;
