//! What the test emulators (`maas360-emulator`, `workspace-one-emulator`, `cloud-emulator`,
//! `graph-emulator`) share: the accept loop, a throwaway private CA, TLS server configs from PEM
//! files, a seeded generator and civil dates for generated tenants, the log setup and shutdown
//! signal of their binaries, the HTTP reply helpers, and (feature `test-client`) an HTTPS client
//! and its answer type for their integration tests.

pub mod accept;
pub mod civil;
#[cfg(feature = "test-client")]
pub mod client;
pub mod logging;
pub mod private_ca;
pub mod prng;
pub mod reply;
pub mod signal;
pub mod tls;
