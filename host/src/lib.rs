//! The Mobile Security Connector, as a library the binary and the tests share.
//!
//! The data path, by folder: `config` (what the admin configured), `capabilities` (what a plugin
//! may reach), `plugins` (the sandboxed WebAssembly runtime and the typed calls into UEM, SIEM and
//! mail plugins).

pub mod capabilities;
pub mod config;
pub mod dispatch;
pub mod ids;
pub mod inventory;
pub mod pii;
pub mod plugins;
pub mod relay;
