//! One `send` from start to end over a connected stream: open the session, run the transaction,
//! say QUIT, and report what the server said in the mail world's terms.

use std::time::Duration;

use msc_sdk::mail::{Delivery, RefusedRecipient};

use crate::error::SmtpError;
use crate::mime::Composed;
use crate::session::Session;
use crate::settings::Settings;
use crate::stream::Stream;
use crate::transaction;

/// Delivers `message` over `stream`, a fresh connection to the relay `settings` names.
pub fn deliver<S: Stream>(
    stream: S,
    settings: &Settings,
    message: &Composed,
    time_left: &dyn Fn() -> Duration,
) -> Result<Delivery, SmtpError> {
    let mut session = Session::new(stream);
    let outcome = session.open(settings).and_then(|_| transaction::send(&mut session, message, time_left));
    session.quit();
    let accepted = outcome?;
    Ok(Delivery {
        message_id: message.message_id.clone(),
        refused: accepted
            .refused
            .into_iter()
            .map(|r| RefusedRecipient { address: r.recipient, reply: Some(r.reply.to_wit()) })
            .collect(),
        reply: Some(accepted.reply.to_wit()),
    })
}

#[cfg(test)]
mod tests;
