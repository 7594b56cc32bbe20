//! An emulator of the VMware (Omnissa) Workspace ONE UEM REST API for tests, faithful to the
//! documented behaviour and enforcing its rules: Basic auth with `aw-tenant-code` or OAuth client
//! credentials, device search with 0-based pages (204 when empty), device details, installed apps,
//! organization groups, tags and custom attributes as risk labels, API versions via `Accept`, the
//! daily quota headers, and knobs for faults. See the crate's README for every rule.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use workspace_one_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig { devices: 50, ..EmulatorConfig::default() }).await?;
//! println!("API root: {}/API", emulator.origin());
//! emulator.throttle(2, 1); // the next two API requests answer 429
//! # Ok(())
//! # }
//! ```

mod api;
mod auth;
mod config;
mod error;
mod faults;
mod inventory;
use emulator_kit::prng;
mod reply;
mod router;
mod routes;
mod server;
mod stats;
mod tenant;
mod version;

pub use api::MAX_PAGE_SIZE;
pub use config::EmulatorConfig;
pub use emulator_kit::private_ca;
pub use inventory::generate::FIRST_ID;
pub use server::Emulator;
pub use stats::Stats;
pub use tenant::{DeviceSnapshot, find_personal_value};
