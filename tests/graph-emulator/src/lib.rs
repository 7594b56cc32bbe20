//! An emulator of Microsoft Graph `sendMail` (app-only) and of the identity platform's
//! client-credentials token endpoint, enforcing what the real services enforce, for the
//! `graph-mail` plugin's tests.
//!
//! One HTTPS origin (a certificate from a throwaway private CA) serves both:
//! `POST /{tenant}/oauth2/v2.0/token` (AADSTS errors for a wrong tenant, app, scope or secret,
//! an expired secret; JWT-shaped tokens carrying the app's `roles`), `POST
//! /v1.0/users/{id}/sendMail` (401 for a missing or expired token, 403 without `Mail.Send` or for
//! a mailbox an access policy blocks, 404 for unknown or disabled mailboxes, 429 past the
//! per-mailbox budget or concurrency, 400 for malformed messages, 413 past 4 MB, 202 with an empty
//! body when taken) and `GET /v1.0/users/{id}` (needs `User.Read.All`). A fault script makes the
//! next sends answer 503, 429, 504 after taking the message, or wait.
//!
//! ```no_run
//! # async fn demo() -> Result<(), graph_emulator::StartError> {
//! use graph_emulator::{Emulator, EmulatorConfig, Fault};
//!
//! let graph = Emulator::start(EmulatorConfig::default()).await?;
//! println!("login_url = graph_url = {}, ca_file holds:\n{}", graph.origin(), graph.ca_pem());
//! graph.script(Fault::AcceptThen504, 1); // the next send is taken, then answered 504
//! assert_eq!(graph.messages().len(), 0);
//! # Ok(())
//! # }
//! ```

mod config;
mod faults;
mod graph;
mod identity;
mod ids;
mod message;
mod reply;
mod router;
mod server;
mod stats;
mod tenant;
mod throttle;
mod tokens;

pub use config::EmulatorConfig;
pub use faults::Fault;
pub use message::{MAX_HEADERS, MAX_RECIPIENTS, MAX_REQUEST_BYTES, Recipient, SentMessage};
pub use server::{Emulator, StartError};
pub use stats::Stats;
pub use tenant::user_id;
