//! Mail backend for SMTP relays (RFC 5321 submission), written only against the SDK.
//!
//! Settings (`[instances.NAME.config]`):
//! - `host` (required): the relay, e.g. `smtp.corp.example`.
//! - `security`: `starttls` (default; RFC 3207, fails if the server does not offer it), `tls`
//!   (implicit TLS, RFC 8314) or `none` (plaintext, refused unless `allow_plaintext = true`).
//! - `port`: default 587 for `starttls`, 465 for `tls`, 25 for `none`.
//! - `from` (required): the sender when a message names none; `from_name` its display name.
//! - `helo`: the EHLO name (default: the domain of `from`).
//! - `message_id_domain`: the right-hand side of `Message-ID`s (default: the domain of `from`).
//! - `username`: sign in as this user (then the secret `password` is required); `auth` = `auto`
//!   (default: PLAIN if offered, else LOGIN), `plain` or `login`. Never over plaintext.
//!
//! Grant the instance `net = ["HOST:PORT"]`, and a `ca_file` when the relay's certificate is
//! from a private CA. How failures map onto `send-error` is documented in [`error`].
//!
//! Modules, in the order a send uses them: [`settings`], [`mime`] (with [`address`]),
//! [`stream`], [`session`] (with [`reply`], [`extensions`]), [`transaction`] (with [`data`]),
//! [`deliver`], [`error`]; [`self_test`] for the "test connection" button.

pub mod address;
pub mod data;
pub mod deliver;
pub mod error;
pub mod extensions;
pub mod mime;
pub mod reply;
pub mod self_test;
pub mod session;
pub mod settings;
pub mod stream;
pub mod transaction;

#[cfg(test)]
mod testing;

use std::time::{SystemTime, UNIX_EPOCH};

use msc_sdk::mail::{Backend, Delivery, Message, SendError};
use msc_sdk::net::{self, NetError};
use msc_sdk::{Check, Error};

use error::{SmtpError, Stage};
use settings::{Security, Settings};
use stream::HostStream;

struct Smtp;

impl Backend for Smtp {
    fn send(message: Message) -> Result<Delivery, SendError> {
        let settings = Settings::load().map_err(SendError::Failed)?;
        let server = format!("{}:{}", settings.host, settings.port);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let composed = mime::compose(&message, &settings, now)
            .map_err(|e| SendError::Failed(Error::InvalidInput(e.to_string())))?;
        let stream = connect(&settings).map_err(|e| e.into_send_error(&server))?;
        let delivered = deliver::deliver(stream, &settings, &composed, &msc_sdk::call::remaining)
            .map_err(|e| e.into_send_error(&server))?;
        msc_sdk::info!(
            "SMTP relay {server} accepted {} for {} recipients ({} refused)",
            composed.message_id,
            composed.recipients.len(),
            delivered.refused.len()
        );
        Ok(delivered)
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        Ok(self_test::run(Settings::load(), connect))
    }
}

msc_sdk::export_mail!(Smtp);

/// Opens the connection `settings` describes: TLS from the start for `tls`, plaintext otherwise.
fn connect(settings: &Settings) -> Result<HostStream, SmtpError> {
    let security = match settings.security {
        Security::Tls => net::Security::Tls,
        Security::StartTls | Security::None => net::Security::Plaintext,
    };
    net::connect(&settings.host, settings.port, security)
        .map(HostStream)
        .map_err(|error: NetError| SmtpError::Net { stage: Stage::Connect, error })
}
