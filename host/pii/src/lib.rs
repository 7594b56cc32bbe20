//! PII tokens for the Mobile Security Connector: personal data leaves the premises only as
//! tokens, and tokens turn back into plaintext only with the keyring.
//!
//! Data path, by module: [`canonical`] gives each value one spelling; [`tokenizer`] seals values
//! into tokens with the [`keyring`]'s keys ([`token`] is the format); [`detect`] finds emails and
//! phone numbers in free text; [`restore`] turns tokens back into plaintext in a stream, escaped
//! for where each lands; [`audit`] records each reveal. `docs/pii-tokens.md` explains the design.
//!
//! This crate knows nothing of plugins: the connector (`host/src/pii`) walks the WIT records and
//! applies the admin's [`policy`] with it.

pub mod audit;
pub mod canonical;
pub mod detect;
pub mod keyring;
pub mod kind;
pub mod policy;
pub mod restore;
pub mod token;
pub mod tokenizer;

pub use detect::{Detector, Detectors};
pub use kind::Kind;
pub use policy::FieldPolicy;
pub use token::TokenError;
pub use tokenizer::{Revealed, TokenizeError, Tokenizer};
