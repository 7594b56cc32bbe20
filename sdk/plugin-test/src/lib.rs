//! # msc-plugin-test: test a plugin under the real connector runtime
//!
//! Runs a plugin component in-process under the connector's own plugin runtime (the sandbox,
//! grants, secrets, PII handling and log scrubbing of production), against a scripted HTTP
//! [`Peer`], from an ordinary `cargo test` in the plugin's crate: no connector, no cloud, no
//! vendor system. Everything blocks, so tests are plain `#[test]` functions.
//!
//! Add it as a dev-dependency of the plugin crate and write integration tests in `tests/`:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use msc_plugin_test::uem::DeviceQuery;
//! use msc_plugin_test::{CallError, Error, Peer, Plugin, Reply};
//! use serde_json::json;
//!
//! #[test]
//! fn lists_one_page_of_devices() -> Result<(), Box<dyn std::error::Error>> {
//!     let peer = Peer::start();
//!     peer.on("POST", "/oauth/token").reply(Reply::json(200, json!({"access_token": "t", "expires_in": 3600})));
//!     peer.on("GET", "/devices").when_query("page", "1").reply(Reply::json(200, json!({"devices": []})));
//!     peer.on("GET", "/devices").once().reply(Reply::status(429).header("retry-after", "120"));
//!
//!     let plugin = Plugin::uem(msc_plugin_test::plugin_wasm!())
//!         .config("server_url", peer.url())
//!         .secret("password", "s3cret")
//!         .grant_http(&peer.url())
//!         .deadline(Duration::from_secs(10))
//!         .start()?;
//!     let query = DeviceQuery { cursor: None, page_size: 100, groups: vec![], changed_since_ms: None };
//!     match plugin.uem().list_devices(&query) {
//!         Err(CallError::Reported { error: Error::RateLimited(wait), .. }) => {
//!             assert_eq!(wait.retry_after_ms, Some(120_000))
//!         }
//!         other => panic!("expected the 429 to surface: {other:?}"),
//!     }
//!     let page = plugin.uem().list_devices(&query)?;
//!     assert!(page.devices.is_empty());
//!
//!     assert!(peer.unmatched().is_empty(), "{:?}", peer.unmatched());
//!     assert!(plugin.logs().iter().all(|line| !line.contains("s3cret")));
//!     Ok(())
//! }
//! ```
//!
//! - [`Peer`] answers what the test scripts ([`Peer::on`] + [`Reply`]), records every request
//!   ([`Recorded`]) and answers 404 to the rest ([`Peer::unmatched`]). [`Peer::start_tls`]
//!   serves HTTPS for plugins that refuse plain HTTP; trust it with
//!   [`Plugin::ca_pem`].
//! - [`Plugin::uem`], [`Plugin::siem`], [`Plugin::mail`] configure an instance the way an admin
//!   does; [`Plugin::start`] runs it ([`RunningPlugin`]), whose calls ([`UemCalls`],
//!   [`SiemCalls`], [`MailCalls`]) return the runtime's own results, typed as in [`uem`],
//!   [`siem`], [`mail`].
//! - [`plugin_wasm!`] finds the crate's component: prebuilt in `$MSC_PLUGIN_DIR`, or built once
//!   per test process (`cargo build --target wasm32-wasip2 --release`, in a target directory of
//!   its own).
//! - [`RunningPlugin::logs`] holds what the instance logged, to check that no secret or personal value
//!   got there.

#![warn(missing_docs)]

mod config;
mod logs;
mod peer;
mod plugin;
mod reply;
mod tls;
mod wasm;

use std::future::Future;
use std::sync::OnceLock;

use tracing::instrument::WithSubscriber;

pub use connector;
pub use connector::plugins::self_test::Verdict;
pub use connector::plugins::worlds::{AuthError, AuthFailure, CallError, Check, Error, Pii, PiiKind, RetryLater};
pub use connector::plugins::{PluginError, PluginFault};
pub use peer::{Peer, Recorded, Route};
pub use plugin::{MailCalls, Plugin, RunningPlugin, SiemCalls, UemCalls};
pub use reply::Reply;
pub use wasm::{PLUGIN_DIR_ENV, plugin_wasm};

/// The UEM adapter world's types, as the host sees them (`DeviceQuery`, `Device`, `RiskLevel`, …).
pub mod uem {
    pub use connector::plugins::worlds::uem::*;
}

/// The SIEM formatter world's types, as the host sees them (`Event`, `Origin`, `Severity`, …).
pub mod siem {
    pub use connector::plugins::worlds::siem::*;
}

/// The mail backend world's types, as the host sees them (`Message`, `Address`, `Delivery`, …).
pub mod mail {
    pub use connector::plugins::worlds::mail::*;
}

/// The path of the calling crate's component: [`plugin_wasm()`] with the crate's
/// `CARGO_MANIFEST_DIR` and `CARGO_PKG_NAME`.
#[macro_export]
macro_rules! plugin_wasm {
    () => {
        $crate::plugin_wasm(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"))
    };
}

/// Why [`Plugin::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The component file cannot be used.
    #[error("plugin component {}: {reason}", path.display())]
    Component {
        /// The component file given to [`Plugin::uem`] (or `siem`, `mail`).
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting cannot be written as TOML (e.g. `None`).
    #[error("cannot write the plugin's settings: {0}")]
    Setting(String),
    /// Writing the temporary config folder failed.
    #[error("cannot write {what}: {source}")]
    Io {
        /// What was being written.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Making the config's PII keyring failed.
    #[error("cannot make a PII keyring: {0}")]
    Keyring(String),
    /// The connector refused the config the harness wrote (a bad grant, a bad deadline).
    #[error("the connector refused the test config:\n{0}")]
    Config(String),
    /// The runtime did not load the plugin.
    #[error("the plugin did not load:\n{0}")]
    Start(#[from] connector::plugins::RuntimeError),
}

/// The harness's runtime, shared by every peer and plugin of the test process; its threads log
/// to the harness's capture.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("msc-plugin-test")
            .enable_all()
            .on_thread_start(|| {
                // For the thread's whole life: these threads are the harness's own.
                std::mem::forget(tracing::dispatcher::set_default(logs::dispatch()));
            })
            .build()
            .expect("msc-plugin-test: cannot start a tokio runtime")
    })
}

/// Runs `future` to completion on the harness's runtime, logging to the harness's capture.
fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "msc-plugin-test blocks: call it from a plain #[test], not from async code \
         (in async code, use Plugin::runtime() and await its calls)"
    );
    runtime().block_on(future.with_subscriber(logs::dispatch().clone()))
}
