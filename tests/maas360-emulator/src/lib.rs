//! An emulator of the IBM MaaS360 REST API, faithful to the quirks of the real service and
//! enforcing its rules, for end-to-end tests, demos and benchmarks of the connector's MaaS360 plugin.
//!
//! It serves authentication (v1, v2, token refresh), device search (v1, v2), device groups,
//! installed apps and custom attributes over HTTP/1.1 or HTTPS, from deterministic generated data,
//! with knobs for faults: expired tokens, throttling, gateway errors, session bounces, a locked
//! account and devices changing while a client pages. See the crate's README for the rules.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use maas360_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig { devices: 50, ..EmulatorConfig::default() }).await?;
//! println!("MaaS360 at {}", emulator.origin());
//! emulator.throttle(2, 1); // the next two API requests answer 429
//! # Ok(())
//! # }
//! ```

mod admin;
mod api;
mod auth;
mod config;
mod faults;
mod inventory;
use emulator_kit::prng;
mod quirks;
mod reply;
mod router;
mod server;
mod stats;
mod tenant;

pub use api::search::PAGE_SIZES;
pub use config::EmulatorConfig;
/// The private CA behind `--private-ca`; it lives in `emulator-kit`, shared with the cloud
/// emulator, and stays here for existing users:
///
/// ```
/// use maas360_emulator::private_ca::PrivateCa;
///
/// let ca = PrivateCa::new("test CA").expect("CA");
/// assert!(ca.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub use emulator_kit::private_ca;
pub use server::Emulator;
pub use stats::Stats;
pub use tenant::{DeviceSnapshot, find_personal_value};
