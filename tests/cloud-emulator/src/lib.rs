//! An emulator of the mobile-threat-defense cloud, for end-to-end tests and demos of the
//! connector: the relay side of `docs/relay-protocol.md` (registration, long polls, leases,
//! duplicate detection, heartbeats, release, inventory), an admin API with fault knobs, a PII
//! guard over everything connectors send, and a small dashboard showing what was stored (tokens).
//! See the crate's README.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cloud_emulator::{Emulator, EmulatorConfig, TaskSpec};
//! use serde_json::json;
//!
//! let cloud = Emulator::start(EmulatorConfig::default()).await?;
//! println!("relay at {}, trust {}", cloud.relay_url(), cloud.ca_pem());
//! let id = cloud.enqueue(TaskSpec::new("uem.test", Some("maas360"), json!({})));
//! assert!(cloud.wait_completed(&[id], std::time::Duration::from_secs(5)).await);
//! # Ok(())
//! # }
//! ```

mod admin;
mod config;
mod dashboard;
mod pii;
mod relay;
mod reply;
mod server;
mod store;

pub use config::{EmulatorConfig, TaskSpec};
pub use dashboard::DashboardRequest;
pub use pii::{PERSONAL_FIELDS, PiiViolation, is_token};
pub use server::{Emulator, KEPT_DASHBOARD_REQUESTS, MAX_BODY};
pub use store::{DeviceEntry, SessionView, Stats, TaskId, TaskView};
