//! One mail transaction on an open session: MAIL FROM, RCPT TO for each recipient (one write
//! when the server offers PIPELINING, RFC 2920), DATA, the message, and its reply.

use std::time::Duration;

use crate::data;
use crate::error::{Refusal, SmtpError, Stage};
use crate::mime::Composed;
use crate::reply::Reply;
use crate::session::Session;
use crate::stream::Stream;

/// DATA is not started with less time left than this: a deadline running out after the final
/// `.` leaves the outcome unknown, one running out before it is a clean deferral.
pub const MIN_TIME_FOR_DATA: Duration = Duration::from_secs(2);
/// The message is written in pieces of this size.
const WRITE_CHUNK: usize = 64 * 1024;

/// A message the server took.
#[derive(Debug)]
pub struct Accepted {
    /// The reply to the final `.` (`250 … queued as …`).
    pub reply: Reply,
    /// Recipients refused while the others were accepted.
    pub refused: Vec<Refusal>,
}

/// Sends `message` on `session`; `time_left` is the call's remaining time.
pub fn send<S: Stream>(
    session: &mut Session<S>,
    message: &Composed,
    time_left: &dyn Fn() -> Duration,
) -> Result<Accepted, SmtpError> {
    let extensions = &session.extensions;
    if message.needs_smtputf8 && !extensions.smtputf8 {
        return Err(SmtpError::NoSmtpUtf8);
    }
    let wire = data::stuffed(&message.data)?;
    let mut mail = format!("MAIL FROM:<{}>", message.sender);
    if extensions.size.is_some() {
        mail.push_str(&format!(" SIZE={}", wire.len() + data::END.len()));
    }
    if message.needs_smtputf8 {
        mail.push_str(" SMTPUTF8");
        if extensions.eight_bit_mime {
            mail.push_str(" BODY=8BITMIME");
        }
    }
    mail.push_str("\r\n");
    let rcpts: Vec<String> = message.recipients.iter().map(|r| format!("RCPT TO:<{}>\r\n", r.value)).collect();

    let refused = if extensions.pipelining {
        envelope_pipelined(session, &mail, &rcpts, message)?
    } else {
        envelope_stepwise(session, &mail, &rcpts, message)?
    };
    if refused.len() == message.recipients.len() {
        return Err(SmtpError::AllRecipientsRefused(refused));
    }
    let left = time_left();
    if left < MIN_TIME_FOR_DATA {
        return Err(SmtpError::OutOfTime(u64::try_from(left.as_millis()).unwrap_or(u64::MAX)));
    }
    let reply = session.command(Stage::Data, "DATA\r\n")?;
    if reply.code != 354 {
        return Err(SmtpError::Reply { stage: Stage::Data, reply });
    }
    for chunk in wire.chunks(WRITE_CHUNK) {
        session.write(Stage::Data, chunk)?;
    }
    // From here on the server may hold the message whatever happens next.
    session.write(Stage::Message, data::END)?;
    let reply = session.read_reply(Stage::Message)?;
    if !reply.is_positive() {
        return Err(SmtpError::Reply { stage: Stage::Message, reply });
    }
    Ok(Accepted { reply, refused })
}

/// MAIL and every RCPT in one write, then each reply in order.
fn envelope_pipelined<S: Stream>(
    session: &mut Session<S>,
    mail: &str,
    rcpts: &[String],
    message: &Composed,
) -> Result<Vec<Refusal>, SmtpError> {
    let group: String = std::iter::once(mail).chain(rcpts.iter().map(String::as_str)).collect();
    session.write(Stage::Mail, group.as_bytes())?;
    let mail_reply = session.read_reply(Stage::Mail)?;
    if mail_reply.code == 421 {
        return Err(SmtpError::Reply { stage: Stage::Mail, reply: mail_reply });
    }
    let mut refused = Vec::new();
    for recipient in &message.recipients {
        let reply = match session.read_reply(Stage::Rcpt) {
            Ok(reply) => reply,
            // After a refused MAIL the server may hang up instead of answering every RCPT.
            Err(_) if !mail_reply.is_positive() => break,
            Err(e) => return Err(e),
        };
        if session_wide(&reply) {
            return Err(SmtpError::Reply { stage: Stage::Rcpt, reply });
        }
        if !reply.is_positive() {
            refused.push(Refusal { recipient: recipient.clone(), reply });
        }
    }
    if !mail_reply.is_positive() {
        return Err(SmtpError::Reply { stage: Stage::Mail, reply: mail_reply });
    }
    Ok(refused)
}

/// MAIL, then each RCPT, one reply at a time.
fn envelope_stepwise<S: Stream>(
    session: &mut Session<S>,
    mail: &str,
    rcpts: &[String],
    message: &Composed,
) -> Result<Vec<Refusal>, SmtpError> {
    let reply = session.command(Stage::Mail, mail)?;
    if !reply.is_positive() {
        return Err(SmtpError::Reply { stage: Stage::Mail, reply });
    }
    let mut refused = Vec::new();
    for (recipient, rcpt) in message.recipients.iter().zip(rcpts) {
        let reply = session.command(Stage::Rcpt, rcpt)?;
        if session_wide(&reply) {
            return Err(SmtpError::Reply { stage: Stage::Rcpt, reply });
        }
        if !reply.is_positive() {
            refused.push(Refusal { recipient: recipient.clone(), reply });
        }
    }
    Ok(refused)
}

/// A RCPT reply about the session, not the recipient: the server is closing (421) or wants
/// authentication first (530).
fn session_wide(reply: &Reply) -> bool {
    matches!(reply.code, 421 | 530)
}
