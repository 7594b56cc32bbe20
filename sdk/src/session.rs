//! Requests under a session that can expire: sign in when there is no session, sign in again
//! once when the server refuses it, and retry what the server asks to retry ([`Backoff`]), all
//! within the call's deadline. The vendor-specific parts — how to sign in, what a request
//! carries, what a refusal looks like — stay in the plugin.
//!
//! ```no_run
//! use msc_sdk::http::Request;
//! use msc_sdk::session::{Attempt, with_session};
//!
//! struct Token(String);
//! let sign_in = |_fresh: bool| -> Result<Token, msc_sdk::Error> { Ok(Token("…".into())) };
//! let mut session = None;
//! let response = with_session(&mut session, sign_in, |token: &Token| {
//!     let response = Request::get("https://uem.example/api/devices").bearer(&token.0).send()?;
//!     Ok(if response.status == 401 { Attempt::Refused } else { Attempt::Done(response.error_for_status()?) })
//! }, "the UEM refused a new token for the device list")?;
//! # Ok::<(), msc_sdk::Error>(())
//! ```

use crate::retry::Backoff;
use crate::{AuthError, AuthFailure, Error};

/// What one attempt under a session came to.
pub enum Attempt<T> {
    /// The server answered with the session: done.
    Done(T),
    /// The server refused the session (expired or revoked token): sign in again and repeat.
    Refused,
}

/// Runs `attempt` under `session` until it is [`Attempt::Done`] or fails for good.
///
/// With no session, `sign_in(false)` makes one (a cached token is fine). When an attempt is
/// [`Attempt::Refused`], `sign_in(true)` makes a fresh one and the attempt is repeated, once per
/// call: refused again, the call fails with `auth-failed` (`token-rejected`) and `refused_again`
/// as its message. Errors the server asks to be retried (`rate-limited`, `unavailable`) are retried
/// with [`Backoff::default`]. The session is kept in `session` for the next call, unless an
/// attempt failed before it could be used.
pub fn with_session<S, T>(
    session: &mut Option<S>,
    mut sign_in: impl FnMut(bool) -> Result<S, Error>,
    mut attempt: impl FnMut(&S) -> Result<Attempt<T>, Error>,
    refused_again: &str,
) -> Result<T, Error> {
    let mut signed_in_again = false;
    Backoff::default().run(|_| {
        loop {
            let current = match session.take() {
                Some(current) => current,
                None => sign_in(false)?,
            };
            let outcome = attempt(&current);
            *session = Some(current);
            match outcome? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Refused if signed_in_again => {
                    return Err(Error::AuthFailed(AuthError {
                        reason: AuthFailure::TokenRejected,
                        message: refused_again.to_string(),
                    }));
                }
                Attempt::Refused => {
                    *session = Some(sign_in(true)?);
                    signed_in_again = true;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_in_again_once_when_refused_then_gives_up() {
        let mut sign_ins = Vec::new();
        let mut session = None;
        let mut answers = vec![Attempt::Done("page"), Attempt::Refused].into_iter().rev();
        let page = with_session(
            &mut session,
            |fresh| {
                sign_ins.push(fresh);
                Ok(sign_ins.len())
            },
            |_: &usize| Ok(answers.next().unwrap_or(Attempt::Refused)),
            "refused",
        );
        assert_eq!(page.ok(), Some("page"));
        assert_eq!(sign_ins, [false, true], "signed in, then once more after the refusal");
        assert_eq!(session, Some(2), "the fresh session is kept");

        let refused = with_session(&mut session, |_| Ok(9), |_: &usize| Ok(Attempt::<()>::Refused), "no luck");
        assert!(
            matches!(refused, Err(Error::AuthFailed(AuthError { reason: AuthFailure::TokenRejected, ref message })) if message == "no luck")
        );
    }
}
