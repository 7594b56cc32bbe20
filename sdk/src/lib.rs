//! # msc-sdk: build plugins for the Mobile Security Connector
//!
//! A plugin is a WebAssembly component that implements one of three worlds:
//!
//! | world | module | implement | export with |
//! |---|---|---|---|
//! | UEM adapter (MaaS360, Workspace ONE, ...) | [`uem`] | [`uem::Adapter`] | [`export_uem!`] |
//! | SIEM formatter (CEF, LEEF, JSON, ...) | [`siem`] | [`siem::Formatter`] | [`export_siem!`] |
//! | mail backend (SMTP, Graph, ...) | [`mail`] | [`mail::Backend`] | [`export_mail!`] |
//!
//! It reaches outside its sandbox only through the host: [`http`] to the origins the admin
//! granted, [`net`] streams to granted `host:port`s, its own [`config`] settings and secrets, a
//! small [`kv`] cache, [`log`] lines, and facts about the current [`call`]; [`retry`] backs off
//! within the call's deadline, [`json`] reads the loosely typed JSON many vendor APIs send, and
//! [`syslog`] writes the RFC 5424 headers SIEM formatters share ([`siem`] holds the rest they
//! share, and sample events for their tests behind the feature `testing`).
//! Personal data travels in [`Pii`] values, which the connector tokenizes before anything leaves
//! the premises.
//!
//! ```no_run
//! use msc_sdk::uem::{self, Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
//! use msc_sdk::{Check, Error};
//!
//! struct Acme;
//!
//! impl Adapter for Acme {
//!     fn list_devices(query: DeviceQuery) -> Result<DevicePage, Error> {
//!         let base = msc_sdk::config::require("base_url")?;
//!         let page: Vec<serde_json::Value> = msc_sdk::http::Request::get(&format!("{base}/devices"))
//!             .query("page", query.cursor.as_deref().unwrap_or("1"))
//!             .send()?
//!             .json()?;
//!         msc_sdk::info!("fetched {} devices", page.len());
//!         Ok(DevicePage { devices: vec![], next_cursor: None, total: None })
//!     }
//!     fn get_device(id: String) -> Result<Device, Error> { Err(Error::NotFound(id)) }
//!     fn list_apps(_device_id: String) -> Result<Vec<App>, Error> { Ok(vec![]) }
//!     fn set_risk(_device_id: String, _level: RiskLevel) -> Result<RiskUpdate, Error> {
//!         Err(Error::Internal("not supported".into()))
//!     }
//!     fn test_connection() -> Result<Vec<Check>, Error> { Ok(vec![]) }
//! }
//!
//! msc_sdk::export_uem!(Acme);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release`; the `.wasm` file is the plugin.

pub mod bindings;
pub mod call;
pub mod config;
pub mod http;
pub mod json;
pub mod kv;
pub mod log;
pub mod net;
mod pii;
pub mod retry;
pub mod self_test;
pub mod siem;
pub mod syslog;

pub use bindings::base::msc::types::errors::{AuthError, AuthFailure, Error, RetryLater};
pub use bindings::base::msc::types::pii::{Pii, PiiKind};
pub use bindings::base::msc::types::self_test::Check;

/// The UEM adapter world (`msc:uem/uem-adapter`).
pub mod uem {
    pub use crate::bindings::uem::exports::msc::uem::adapter::Guest as Adapter;
    pub use crate::bindings::uem::msc::uem::types::{
        App, Attribute, AttributeValue, Device, DevicePage, DeviceQuery, DeviceStatus, Ownership, Platform, RiskLevel,
        RiskUpdate,
    };
}

/// The mail backend world (`msc:mail/mail-backend`).
pub mod mail;

/// Exports a type implementing [`uem::Adapter`] as the plugin's UEM adapter.
#[macro_export]
macro_rules! export_uem {
    ($adapter:ident) => {
        $crate::bindings::uem::export_uem_adapter!($adapter);
    };
}

/// Exports a type implementing [`siem::Formatter`] as the plugin's SIEM formatter.
#[macro_export]
macro_rules! export_siem {
    ($formatter:ident) => {
        $crate::bindings::siem::export_siem_formatter!($formatter);
    };
}

/// Exports a type implementing [`mail::Backend`] as the plugin's mail backend.
#[macro_export]
macro_rules! export_mail {
    ($backend:ident) => {
        $crate::bindings::mail::export_mail_backend!($backend);
    };
}
