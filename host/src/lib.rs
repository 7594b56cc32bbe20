//! The Mobile Security Connector, as a library the binary and the tests share.
//!
//! The data path, by folder: `relay` (the outbound link to the cloud), `dispatch` (a task to its
//! plugin instance, PII restored in and tokenized out), `config` (what the admin configured),
//! `capabilities` (what a plugin may reach), `plugins` (the sandboxed WebAssembly runtime, the
//! typed calls into UEM, SIEM and mail plugins, and their lifecycle: reload, signatures, compiled
//! cache), `admin` (health and plugin status over HTTP), `proxy` (the local dashboard proxy that restores
//! personal data for logged-in admins).

pub mod admin;
pub mod atomic_file;
pub mod background;
pub mod capabilities;
pub mod config;
pub mod dispatch;
pub mod ids;
pub mod inventory;
pub mod mail;
pub mod metrics;
pub mod pii;
pub mod plugins;
pub mod proxy;
pub mod recent_problems;
pub mod relay;
pub mod siem;
pub mod store;
