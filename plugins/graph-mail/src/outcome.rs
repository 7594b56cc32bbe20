//! What Graph's answer to `sendMail` (or its absence) means for the message.
//!
//! Graph has no idempotency key: once the request may have reached it, a failure is reported as
//! "outcome unknown" rather than retried, since a retry can send the mail twice. Only answers
//! that say the mail was not taken (429, 503, 401, connection refused) are safe to retry.

use std::time::Duration;

use msc_sdk::http::{HttpError, Sent};
use msc_sdk::mail::{Delivery, Failure, SendError, ServerReply};
use msc_sdk::{Error, json};
use serde_json::Value;

/// Graph's answer to one `sendMail` request.
#[derive(Debug)]
pub enum Answer {
    /// 202: accepted for delivery (not delivered yet: bounces come later, as mail).
    Accepted(Delivery),
    /// 401: the token was refused before the request was looked at; a new token may do.
    TokenRefused(ServerReply),
    /// Anything else: refused, deferred, or unknown.
    Failed(SendError),
}

/// Classifies the answer `status` (with its `Retry-After` and body) to the request that sent
/// `message_id`.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8], message_id: &str) -> Answer {
    if (200..300).contains(&status) {
        let reply = ServerReply { code: status, enhanced_code: None, text: "accepted".into() };
        return Answer::Accepted(Delivery { message_id: message_id.to_string(), refused: vec![], reply: Some(reply) });
    }
    let error = GraphError::parse(status, body);
    let reply = error.reply(status);
    if status == 401 {
        return Answer::TokenRefused(reply);
    }
    let retry_after_ms = retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let failure = |message: String| Failure { message, reply: Some(reply.clone()), retry_after_ms };
    let said = error.said();
    Answer::Failed(match status {
        400 | 413 if error.code == "ErrorInvalidRecipients" => {
            SendError::Rejected(failure(format!("Graph refused a recipient of the message ({said})")))
        }
        400 | 413 => SendError::Rejected(failure(format!("Graph refused the message ({said})"))),
        403 => SendError::Rejected(failure(format!(
            "Graph refused to send as the mailbox ({said}): the app needs the application permission Mail.Send with \
             admin consent, and no application access policy may exclude the mailbox"
        ))),
        404 if error.code == "MailboxNotEnabledForRESTAPI" => SendError::Rejected(failure(format!(
            "the sending mailbox is inactive, unlicensed or hosted on-premises ({said})"
        ))),
        404 => SendError::Rejected(failure(format!("Graph knows no such sending mailbox ({said})"))),
        429 => SendError::Deferred(failure(format!("Graph is throttling the app for this mailbox ({said})"))),
        503 => SendError::Deferred(failure(format!("Graph is busy and did not take the message ({said})"))),
        // A gateway timeout or a server error after the request arrived: the mail may be on its way.
        500..=599 => SendError::OutcomeUnknown(failure(format!(
            "Graph answered HTTP {status} after receiving the message, which may still be sent ({said}); \
             not retried, as a retry could send it twice"
        ))),
        400..=499 => SendError::Rejected(failure(format!("Graph refused the message with HTTP {status} ({said})"))),
        _ => SendError::Failed(Error::Protocol(format!("Graph answered sendMail with HTTP {status} ({said})"))),
    })
}

/// The send error a request that got no answer stands for: refused before sending is safe to
/// retry; anything after the request may have left is an unknown outcome.
pub fn transport(error: HttpError) -> SendError {
    let message = error.to_string();
    let failure = |message: String| Failure { message, reply: None, retry_after_ms: None };
    match error {
        HttpError::Denied(_) | HttpError::InvalidUrl(_) | HttpError::Tls(_) | HttpError::Status { .. } => {
            SendError::Failed(error.into())
        }
        // Only a request that certainly never left (unresolved, refused) is safe to send again.
        _ if error.sent() == Sent::No => {
            SendError::Deferred(failure(format!("Graph could not be reached ({message}); nothing was sent")))
        }
        _ => SendError::OutcomeUnknown(failure(format!(
            "no answer from Graph after the message was sent ({message}); it may still be sent, so it is not retried"
        ))),
    }
}

/// A failure before the message left (fetching the token): retryable ones are deferred.
pub fn before_sending(error: Error) -> SendError {
    let deferred =
        |message: String, retry_after_ms| SendError::Deferred(Failure { message, reply: None, retry_after_ms });
    match error {
        Error::RateLimited(later) | Error::Unavailable(later) => deferred(later.message, later.retry_after_ms),
        Error::Timeout(message) => deferred(format!("the token request {message}"), None),
        other => SendError::Failed(other),
    }
}

/// Graph's error body: `{"error":{"code","message","innerError":{"request-id",...}}}`.
#[derive(Debug, PartialEq, Eq)]
pub struct GraphError {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl GraphError {
    pub fn parse(status: u16, body: &[u8]) -> Self {
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let error = &value["error"];
        let code = json::text(&error["code"]).map(|c| clean(&c, 80)).unwrap_or_else(|| format!("HTTP{status}"));
        let message = json::text(&error["message"]).map(|m| clean(&m, 300)).unwrap_or_default();
        let inner = if error["innerError"].is_null() { &error["innererror"] } else { &error["innerError"] };
        let request_id = json::text(&inner["request-id"]).map(|r| clean(&r, 64));
        Self { code, message, request_id }
    }

    /// The answer as a server reply: the HTTP status, Graph's code, and its words.
    pub fn reply(&self, status: u16) -> ServerReply {
        ServerReply { code: status, enhanced_code: Some(self.code.clone()), text: self.said() }
    }

    /// `ErrorInvalidUser: The requested user is invalid. (request-id …)`.
    pub fn said(&self) -> String {
        let mut text = self.code.clone();
        if !self.message.is_empty() {
            text.push_str(": ");
            text.push_str(&self.message);
        }
        if let Some(id) = &self.request_id {
            text.push_str(&format!(" (request-id {id})"));
        }
        text
    }
}

/// A server's text on one line, at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "<msc.t-1@contoso.com>";

    fn graph(code: &str, message: &str) -> Vec<u8> {
        format!(
            r#"{{"error":{{"code":"{code}","message":"{message}","innerError":{{"date":"2025-01-01T00:00:00","request-id":"r-1","client-request-id":"c-1"}}}}}}"#
        )
        .into_bytes()
    }

    fn failed(answer: Answer) -> SendError {
        match answer {
            Answer::Failed(error) => error,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepted_is_202_with_the_message_id() {
        match classify(202, None, b"", ID) {
            Answer::Accepted(delivery) => {
                assert_eq!(delivery.message_id, ID);
                assert!(delivery.refused.is_empty());
                let reply = delivery.reply.expect("reply");
                assert_eq!((reply.code, reply.text.as_str(), reply.enhanced_code), (202, "accepted", None));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_carry_the_graph_code() {
        let bad =
            failed(classify(400, None, &graph("ErrorInvalidRecipients", "At least one recipient is not valid."), ID));
        let SendError::Rejected(failure) = bad else { panic!("{bad:?}") };
        let reply = failure.reply.expect("reply");
        assert_eq!((reply.code, reply.enhanced_code.as_deref()), (400, Some("ErrorInvalidRecipients")));
        assert!(reply.text.starts_with("ErrorInvalidRecipients: At least one") && reply.text.contains("r-1"));
        assert!(failure.message.contains("ErrorInvalidRecipients"));

        for (status, code) in
            [(403, "ErrorAccessDenied"), (404, "MailboxNotEnabledForRESTAPI"), (404, "ErrorInvalidUser"), (413, "x")]
        {
            match failed(classify(status, None, &graph(code, "m"), ID)) {
                SendError::Rejected(f) => assert!(f.message.contains(code), "{f:?}"),
                other => panic!("{status}: {other:?}"),
            }
        }
        let denied = failed(classify(403, None, &graph("ErrorAccessDenied", "Access is denied."), ID));
        assert!(matches!(denied, SendError::Rejected(f) if f.message.contains("Mail.Send")));
    }

    #[test]
    fn throttling_and_busy_are_deferred_with_the_wait() {
        let throttled = failed(classify(429, Some(Duration::from_secs(30)), &graph("ApplicationThrottled", "m"), ID));
        let SendError::Deferred(f) = throttled else { panic!("{throttled:?}") };
        assert_eq!(f.retry_after_ms, Some(30_000));
        assert_eq!(f.reply.and_then(|r| r.enhanced_code).as_deref(), Some("ApplicationThrottled"));
        let busy = failed(classify(503, Some(Duration::from_secs(2)), b"", ID));
        assert!(matches!(busy, SendError::Deferred(Failure { retry_after_ms: Some(2000), .. })));
    }

    #[test]
    fn gateway_timeouts_and_lost_answers_are_unknown() {
        for status in [504, 500, 502] {
            assert!(matches!(failed(classify(status, None, b"<html>", ID)), SendError::OutcomeUnknown(_)), "{status}");
        }
        assert!(matches!(transport(HttpError::Timeout), SendError::OutcomeUnknown(_)));
        assert!(matches!(
            transport(HttpError::Transport("https://h: the connection was closed before a response".into())),
            SendError::OutcomeUnknown(_)
        ));
        assert!(matches!(
            transport(HttpError::Unreachable("https://h: connection refused".into())),
            SendError::Deferred(_)
        ));
        assert!(matches!(transport(HttpError::Tls("x".into())), SendError::Failed(Error::InvalidConfig(_))));
    }

    #[test]
    fn a_refused_token_asks_for_a_new_one() {
        let answer = classify(401, None, &graph("InvalidAuthenticationToken", "Access token has expired."), ID);
        assert!(
            matches!(answer, Answer::TokenRefused(r) if r.enhanced_code.as_deref() == Some("InvalidAuthenticationToken"))
        );
        let token_timeout = before_sending(Error::Timeout("timed out".into()));
        assert!(matches!(token_timeout, SendError::Deferred(_)));
    }

    #[test]
    fn error_bodies_that_are_not_json() {
        let error = GraphError::parse(502, b"<html>Bad gateway</html>");
        assert_eq!(error, GraphError { code: "HTTP502".into(), message: String::new(), request_id: None });
        assert_eq!(error.said(), "HTTP502");
    }
}
