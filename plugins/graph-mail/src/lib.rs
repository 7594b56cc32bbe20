//! Mail backend for Microsoft Graph `sendMail`, app-only (client credentials), written only
//! against the SDK.
//!
//! Settings (`[instances.NAME.config]`): `tenant` (directory id or domain), `client_id` (the app
//! registration's application id), `sender` (the mailbox's UPN or user id to send as when a
//! message names no sender), `login_url` (default `https://login.microsoftonline.com`),
//! `graph_url` (default `https://graph.microsoft.com`), `save_to_sent_items` (default `false`),
//! `message_id_domain` (default: the sending mailbox's domain). Secret: `client_secret` (its
//! value, not its id). The app needs the application permission `Mail.Send` with admin consent;
//! the self-test also looks the sender up, which needs `User.Read.All` (optional). Grant the
//! instance `http = ["https://login.microsoftonline.com", "https://graph.microsoft.com"]`.
//!
//! Behaviour: one body per message (HTML when the message has both); only `X-` headers, at most
//! five; the `internetMessageId` derives from the task id, so a retried task is recognisable.
//! Graph has no idempotency key: after a 5xx other than 503, a timeout or a dropped connection
//! the outcome is reported unknown and nothing is retried; 429 and 503 are deferred with
//! Graph's `Retry-After`; a 401 fetches a new token and tries once more.
//!
//! Modules, in the order a call uses them: [`settings`], [`message`] (the request and Graph's
//! limits), [`token`] (cached in the kv store), [`send`], [`outcome`] (what an answer means),
//! [`budget`] (request timeouts within the call's deadline); [`self_test`] with [`roles`].

mod budget;
mod message;
mod outcome;
mod roles;
mod self_test;
mod send;
mod settings;
mod token;

use msc_sdk::mail::{Backend, Delivery, Message, SendError};
use msc_sdk::{Check, Error};

struct GraphMail;

impl Backend for GraphMail {
    fn send(message: Message) -> Result<Delivery, SendError> {
        send::send(&message)
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        Ok(self_test::run())
    }
}

msc_sdk::export_mail!(GraphMail);
