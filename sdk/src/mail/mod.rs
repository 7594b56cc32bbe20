//! The mail backend world (`msc:mail/mail-backend`), and what every backend derives the same way.

pub use crate::bindings::mail::exports::msc::mail::backend::Guest as Backend;
pub use crate::bindings::mail::msc::mail::types::{
    Address, Delivery, Failure, Header, Message, RefusedRecipient, SendError, ServerReply,
};

/// The `Message-ID` of the message with task id `id`, sent from `domain`: the same on every retry
/// of the task, so a message sent twice (an ambiguous failure, then a retry) is recognisable
/// downstream. Characters a message id's left part may not hold (RFC 5322 `dot-atom-text`, and
/// `=` itself) are written as `=XX`; the result is never longer than a header line allows.
///
/// ```
/// assert_eq!(msc_sdk::mail::message_id("t-42", "corp.example"), "<msc.t-42@corp.example>");
/// assert_eq!(msc_sdk::mail::message_id("a b@c", "corp.example"), "<msc.a=20b=40c@corp.example>");
/// ```
pub fn message_id(id: &str, domain: &str) -> String {
    let mut left = String::from("msc.");
    for byte in id.bytes() {
        let atext = byte.is_ascii_alphanumeric() || b"!#$%&'*+-/?^_`{|}~".contains(&byte);
        if atext {
            left.push(char::from(byte));
        } else {
            left.push_str(&format!("={byte:02X}"));
        }
    }
    let domain: String =
        domain.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect::<String>();
    let domain = domain.trim_matches('.');
    let domain = if domain.is_empty() { "msc.invalid" } else { domain };
    format!("<{left}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn ids_are_stable_and_safe_in_a_header() {
        assert_eq!(message_id("t-18c2", "corp.example"), message_id("t-18c2", "corp.example"));
        assert_eq!(message_id("x.y", "corp.example"), "<msc.x=2Ey@corp.example>");
        assert_eq!(message_id("t\r\n", "bad domain\r\n"), "<msc.t=0D=0A@baddomain>");
        assert_eq!(message_id("t", ""), "<msc.t@msc.invalid>");
        // A 256-byte task id (the longest the connector accepts) stays well under 998 octets.
        assert!(message_id(&"~".repeat(256), "corp.example").len() < 300);
        assert!(message_id(&" ".repeat(256), "corp.example").len() < 998);
    }
}
