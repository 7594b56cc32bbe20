//! The checks of a self-test (the "test connection" button), built from what each step found.
//!
//! ```
//! use msc_sdk::{Error, self_test};
//!
//! let token = self_test::check("token", Ok("signed in".into()));
//! let mailbox = self_test::check("mailbox", Err(Error::NotFound("no user `x`".into())));
//! assert!(token.passed && !mailbox.passed);
//! assert_eq!(mailbox.detail, "no user `x`");
//! ```

use crate::{Check, Error};

/// The check `name`: passed with `Ok`'s detail, or failed with the error's message.
pub fn check(name: &str, outcome: Result<String, Error>) -> Check {
    match outcome {
        Ok(detail) => Check { name: name.into(), passed: true, detail },
        Err(error) => Check { name: name.into(), passed: false, detail: describe(&error) },
    }
}

/// An error's message for an admin, without its kind.
pub fn describe(error: &Error) -> String {
    match error {
        Error::AuthFailed(auth) => auth.message.clone(),
        Error::RateLimited(later) | Error::Unavailable(later) => later.message.clone(),
        Error::Forbidden(m)
        | Error::NotFound(m)
        | Error::Timeout(m)
        | Error::InvalidInput(m)
        | Error::InvalidConfig(m)
        | Error::Protocol(m)
        | Error::Internal(m) => m.clone(),
    }
}
