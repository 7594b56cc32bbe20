//! A mail backend that delivers nowhere: it answers like a relay would, so tests can check that
//! messages, deliveries and typed send errors cross the sandbox intact.

use msc_sdk::mail::{Backend, Delivery, Failure, Message, RefusedRecipient, SendError, ServerReply};
use msc_sdk::{Check, Error};

struct Echo;

impl Backend for Echo {
    fn send(message: Message) -> Result<Delivery, SendError> {
        if message.to.is_empty() && message.cc.is_empty() && message.bcc.is_empty() {
            return Err(SendError::Rejected(Failure {
                message: "no recipients".into(),
                reply: Some(reply(554, "5.5.1", "no valid recipients")),
                retry_after_ms: None,
            }));
        }
        let refused = message
            .to
            .iter()
            .chain(&message.cc)
            .chain(&message.bcc)
            .filter(|a| a.email.value.ends_with("@refused.example"))
            .map(|a| RefusedRecipient { address: a.email.clone(), reply: Some(reply(550, "5.1.1", "user unknown")) })
            .collect();
        Ok(Delivery {
            message_id: format!("<{}@mail-echo.test>", message.id),
            refused,
            reply: Some(reply(250, "2.0.0", &format!("queued; subject {} bytes", message.subject.value.len()))),
        })
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        Ok(vec![Check { name: "relay".into(), passed: true, detail: "nothing to connect to".into() }])
    }
}

fn reply(code: u16, enhanced: &str, text: &str) -> ServerReply {
    ServerReply { code, enhanced_code: Some(enhanced.into()), text: text.into() }
}

msc_sdk::export_mail!(Echo);
