//! The Mobile Security Connector, as a library the binary and the tests share.
//!
//! The data path, by folder: `relay` (the outbound link to the cloud), `dispatch` (a task to its
//! plugin instance, PII restored in and tokenized out), `config` (what the admin configured),
//! `capabilities` (what a plugin may reach), `plugins` (the sandboxed WebAssembly runtime, the
//! typed calls into UEM, SIEM and mail plugins, and their lifecycle: reload, signatures, compiled
//! cache), `admin` (health and plugin status over HTTP).

pub mod admin;
pub mod capabilities;
pub mod config;
pub mod dispatch;
pub mod ids;
pub mod inventory;
pub mod pii;
pub mod plugins;
pub mod relay;
