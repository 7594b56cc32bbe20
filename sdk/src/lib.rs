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

#![warn(missing_docs)]

pub mod bindings;
pub mod call;
pub mod config;
pub mod http;
pub mod json;
pub mod kv;
pub mod log;
pub mod net;
pub mod paging;
mod pii;
pub mod retry;
pub mod self_test;
pub mod session;
pub mod siem;
pub mod syslog;
pub mod time;
pub mod uem;

pub use bindings::base::msc::types::errors::{AuthError, AuthFailure, Error, RetryLater};
pub use bindings::base::msc::types::pii::{Pii, PiiKind};
pub use bindings::base::msc::types::self_test::Check;

/// The mail backend world (`msc:mail/mail-backend`).
pub mod mail;

/// Natively, marks `$ty` as used the way the export does in the component, so that a native
/// build (the plugin's unit tests) neither warns about dead code nor checks less.
#[doc(hidden)]
#[macro_export]
macro_rules! __exported_natively {
    ($world:path, $ty:ident) => {
        const _: () = {
            fn exported<T: $world>() {}
            let _ = exported::<$ty>;
        };
    };
}

/// Exports a type implementing [`uem::Adapter`] as the plugin's UEM adapter.
#[macro_export]
macro_rules! export_uem {
    ($adapter:ident) => {
        // Exported only from the component: a native build (unit tests, `cargo build` without
        // a target) cannot link the component model's export names, and has no host to call them.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::uem::export_uem_adapter!($adapter);
        #[cfg(not(target_arch = "wasm32"))]
        $crate::__exported_natively!($crate::uem::Adapter, $adapter);
    };
}

/// Exports a type implementing [`siem::Formatter`] as the plugin's SIEM formatter.
#[macro_export]
macro_rules! export_siem {
    ($formatter:ident) => {
        // As in export_uem!: only the component exports.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::siem::export_siem_formatter!($formatter);
        #[cfg(not(target_arch = "wasm32"))]
        $crate::__exported_natively!($crate::siem::Formatter, $formatter);
    };
}

/// Exports a type implementing [`mail::Backend`] as the plugin's mail backend.
#[macro_export]
macro_rules! export_mail {
    ($backend:ident) => {
        // As in export_uem!: only the component exports.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::mail::export_mail_backend!($backend);
        #[cfg(not(target_arch = "wasm32"))]
        $crate::__exported_natively!($crate::mail::Backend, $backend);
    };
}
