//! What can go wrong in an SMTP session, and how each failure maps onto the mail world's
//! `send-error`, which tells the connector whether to retry:
//!
//! | failure | `send-error` |
//! |---|---|
//! | 4yz before the message was accepted (421, 450, 451, 452, 454, …) | `deferred` |
//! | 5yz reply (greeting, MAIL, DATA, final reply) | `rejected` |
//! | every recipient refused | `rejected` if all were 5yz, else `deferred` |
//! | refused, unreachable, closed, timed out before the final `.` was written | `deferred` |
//! | the final `.` was written, then no (readable) reply: closed, timed out, garbage | `outcome-unknown` |
//! | AUTH 535 | `failed(auth-failed(bad-credentials))`; other 5yz AUTH: `auth-failed(other)` |
//! | AUTH 534 (mechanism too weak), 538 (encryption required) | `failed(invalid-config)` |
//! | 530 at MAIL/RCPT/DATA (authentication or STARTTLS required) | `failed(invalid-config)` |
//! | no STARTTLS offered, STARTTLS refused, TLS handshake or certificate failure | `failed(invalid-config)` |
//! | `host:port` not granted (`net` denied) | `failed(invalid-config)` |
//! | a server that does not speak SMTP | `failed(protocol)` |
//! | an address the server cannot take (UTF-8 without SMTPUTF8) | `failed(invalid-input)` |
//!
//! TLS failures are `invalid-config`, not `unavailable`: a certificate that does not verify, or a
//! server that lost STARTTLS, needs an admin (the `ca_file`, the host name, the server's TLS
//! setup, or an attacker stripping STARTTLS on the path), and retrying would not fix it.

use msc_sdk::mail::{Failure, SendError};
use msc_sdk::net::NetError;
use msc_sdk::{AuthError, AuthFailure, Error, Pii};

use crate::reply::{Reply, ReplyError};
use crate::stream::describe;

/// Where in the session a failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// After the final `.` was written: the server may hold the message.
    Message,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connecting",
            Stage::Greeting => "the server's greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "the reply to the message",
        })
    }
}

/// A recipient the server refused.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub recipient: Pii,
    pub reply: Reply,
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("{stage}: {}", describe(.error))]
    Net { stage: Stage, error: NetError },
    #[error("{stage}: the server answered {reply}")]
    Reply { stage: Stage, reply: Reply },
    #[error("{stage}: the server's answer is not SMTP: {error}")]
    Malformed { stage: Stage, error: ReplyError },
    #[error("the server does not offer STARTTLS: not continuing unencrypted (security = starttls)")]
    NoStartTls,
    #[error("the connection is not encrypted after {0}: not continuing")]
    NotEncrypted(Stage),
    #[error(
        "the server offers no sign-in mechanism this plugin can use (it offers: {0}); PLAIN and LOGIN are supported"
    )]
    NoAuthMechanism(String),
    #[error("an address is not ASCII and the server does not offer SMTPUTF8")]
    NoSmtpUtf8,
    #[error("every recipient was refused ({} of them; first: {})", .0.len(), first_reply(.0))]
    AllRecipientsRefused(Vec<Refusal>),
    #[error("only {0} ms are left of the call: not starting DATA, which could leave the outcome unknown")]
    OutOfTime(u64),
    #[error("the composed message has a line longer than 998 octets")]
    LineTooLong,
}

fn first_reply(refusals: &[Refusal]) -> String {
    refusals.first().map(|r| r.reply.to_string()).unwrap_or_default()
}

impl SmtpError {
    /// The `send-error` this failure stands for.
    pub fn into_send_error(self, server: &str) -> SendError {
        let message = format!("SMTP relay {server}: {self}");
        let failure = |reply: Option<&Reply>| Failure {
            message: message.clone(),
            reply: reply.map(Reply::to_wit),
            retry_after_ms: None,
        };
        match &self {
            // First: whatever broke after the final `.`, the server may hold the message.
            SmtpError::Net { stage: Stage::Message, .. } | SmtpError::Malformed { stage: Stage::Message, .. } => {
                SendError::OutcomeUnknown(failure(None))
            }
            SmtpError::Net { error: NetError::Denied(_), .. } => SendError::Failed(Error::InvalidConfig(format!(
                "{message}; grant it to the instance: [instances.NAME.grants] net = [\"{server}\"]"
            ))),
            SmtpError::Net { error: NetError::Tls(_), .. } => SendError::Failed(Error::InvalidConfig(format!(
                "{message}; check the instance's ca_file and that `host` is the name on the server's certificate"
            ))),
            SmtpError::Net { .. } | SmtpError::OutOfTime(_) => SendError::Deferred(failure(None)),
            SmtpError::Reply { stage, reply } => reply_error(*stage, reply, &message, failure(Some(reply))),
            SmtpError::Malformed { .. } => SendError::Failed(Error::Protocol(message)),
            SmtpError::NoStartTls | SmtpError::NotEncrypted(_) | SmtpError::NoAuthMechanism(_) => {
                SendError::Failed(Error::InvalidConfig(message))
            }
            SmtpError::NoSmtpUtf8 => SendError::Failed(Error::InvalidInput(message)),
            SmtpError::AllRecipientsRefused(refusals) => {
                let permanent = refusals.iter().all(|r| r.reply.is_permanent());
                let first = refusals.iter().find(|r| r.reply.is_permanent() == permanent).map(|r| &r.reply);
                if permanent { SendError::Rejected(failure(first)) } else { SendError::Deferred(failure(first)) }
            }
            SmtpError::LineTooLong => SendError::Failed(Error::Internal(message)),
        }
    }

    /// The error a self-test reports for this failure.
    pub fn into_error(self, server: &str) -> Error {
        match self.into_send_error(server) {
            SendError::Failed(error) => error,
            SendError::Rejected(f) => Error::Protocol(f.message),
            SendError::Deferred(f) | SendError::OutcomeUnknown(f) => {
                Error::Unavailable(msc_sdk::RetryLater { retry_after_ms: None, message: f.message })
            }
        }
    }
}

fn reply_error(stage: Stage, reply: &Reply, message: &str, failure: Failure) -> SendError {
    let config = |advice: &str| SendError::Failed(Error::InvalidConfig(format!("{message}; {advice}")));
    let auth = |reason, advice: &str| {
        SendError::Failed(Error::AuthFailed(AuthError { reason, message: format!("{message}; {advice}") }))
    };
    match (stage, reply.code) {
        (_, 400..=499) => SendError::Deferred(failure),
        (Stage::Auth, 535) => auth(AuthFailure::BadCredentials, "check `username` and the secret `password`"),
        (Stage::Auth, 534) => config("the server wants a stronger sign-in mechanism than `auth` allows"),
        (Stage::Auth, 538) => config("the server wants encryption before signing in; use security = starttls or tls"),
        (Stage::Auth, 500..=599) => auth(AuthFailure::Other, "the server refused to sign in"),
        (Stage::StartTls, _) => {
            config("the server refused STARTTLS; use security = tls if it listens for implicit TLS")
        }
        (Stage::Mail | Stage::Rcpt | Stage::Data, 530) => {
            config("the server wants authentication (set `username` and the secret `password`) or STARTTLS first")
        }
        (_, 500..=599) => SendError::Rejected(failure),
        (Stage::Message, _) => SendError::OutcomeUnknown(failure),
        _ => SendError::Failed(Error::Protocol(message.to_string())),
    }
}
