//! Typed clients for the three plugin worlds. Each method is one plugin call in a fresh sandbox;
//! it fails with [`CallError::Sandbox`] when the sandbox stopped the plugin and with
//! [`CallError::Reported`] when the plugin returned one of its own typed errors.

pub mod mail;
pub mod siem;
pub mod uem;

use std::fmt;
use std::time::Instant;

use wasmtime::component::{ComponentNamedList, Lift, Lower};

use super::component::LoadedPlugin;
use super::error::PluginError;
use super::instance::PluginInstance;
use crate::ids::{InstanceName, PluginKind};
use crate::pii::{FieldPolicy, Kind, PiiFields, known_values};
pub use crate::plugins::bindings::host::msc::types::errors::{AuthError, AuthFailure, Error, RetryLater};
pub use crate::plugins::bindings::host::msc::types::pii::{Pii, PiiKind};
pub use crate::plugins::bindings::host::msc::types::self_test::Check;

#[derive(Debug, thiserror::Error)]
pub enum CallError<E: fmt::Debug + fmt::Display = Error> {
    /// The plugin ran and returned a typed error.
    #[error("plugin instance `{instance}` reported: {error}")]
    Reported { instance: InstanceName, error: E },
    /// The sandbox stopped the plugin, or could not start it.
    #[error(transparent)]
    Sandbox(#[from] PluginError),
}

/// Runs one call of `instance`, a `kind` plugin: instantiates it in a fresh store and calls
/// `function` of its exported interface with `params`.
///
/// Only the called function is type-checked against `P` and `R`, on each call as wasmtime
/// requires for a fresh instance; the world's generated bindings would type-check every export
/// on every instantiation, a fifth of a small call's cost.
pub(crate) async fn call_export<P, R>(
    instance: &PluginInstance,
    deadline: Option<Instant>,
    kind: PluginKind,
    function: &str,
    params: P,
    inputs: Vec<(Kind, String)>,
) -> Result<R, PluginError>
where
    P: ComponentNamedList + Lower + Send + Sync,
    R: CallOutput,
    (R,): ComponentNamedList + Lift + Send + Sync + 'static,
{
    instance
        .run(deadline, inputs, async |store, plugin| {
            if plugin.kind != kind {
                return Err(wrong_world(plugin, kind));
            }
            let index = plugin
                .pre
                .component()
                .get_export_index(Some(&plugin.interface), function)
                .ok_or_else(|| wasmtime::format_err!("`{}` exports no function `{function}`", plugin.export))?;
            let sandbox = plugin.pre.instantiate_async(&mut *store).await?;
            let func = sandbox.get_typed_func::<P, (R,)>(&mut *store, index)?;
            let (result,) = func.call_async(&mut *store, params).await?;
            Ok(result)
        })
        .await
}

/// The personal values in what `inputs` copies, handed to a plugin: its log must not repeat them.
/// Empty, and nothing copied, when no PII filter is configured.
pub(crate) fn known_inputs<T: PiiFields>(instance: &PluginInstance, inputs: impl FnOnce() -> T) -> Vec<(Kind, String)> {
    match &instance.capabilities().pii {
        Some(pii) => known_values(&mut inputs(), pii.fields()),
        None => Vec::new(),
    }
}

/// A call's result, as far as personal data goes: the plaintext values it carries, which the
/// call's log lines must not repeat.
pub trait CallOutput {
    fn known_pii(&mut self, policy: &FieldPolicy) -> Vec<(Kind, String)>;
}

impl<T: PiiFields, E> CallOutput for Result<T, E> {
    fn known_pii(&mut self, policy: &FieldPolicy) -> Vec<(Kind, String)> {
        match self {
            Ok(value) => known_values(value, policy),
            Err(_) => Vec::new(),
        }
    }
}

impl CallOutput for siem::FormatterInfo {
    fn known_pii(&mut self, _: &FieldPolicy) -> Vec<(Kind, String)> {
        Vec::new()
    }
}

/// Formatted SIEM records hold the restored values, which the caller passed in as inputs.
impl CallOutput for Vec<Result<Vec<u8>, Error>> {
    fn known_pii(&mut self, _: &FieldPolicy) -> Vec<(Kind, String)> {
        Vec::new()
    }
}

/// For an instance that is not of the expected kind; instances are checked at lookup, so this
/// means a bug in the host.
fn wrong_world(plugin: &LoadedPlugin, expected: PluginKind) -> wasmtime::Error {
    wasmtime::Error::msg(format!("{} is a {} plugin, not {expected}", plugin.path.display(), plugin.kind))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AuthFailed(e) => write!(f, "authentication failed ({}): {}", auth_reason(e.reason), e.message),
            Error::Forbidden(m) => write!(f, "forbidden: {m}"),
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::RateLimited(r) => write!(f, "rate limited{}: {}", retry_hint(r), r.message),
            Error::Unavailable(r) => write!(f, "unavailable{}: {}", retry_hint(r), r.message),
            Error::Timeout(m) => write!(f, "timed out: {m}"),
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::InvalidConfig(m) => write!(f, "invalid instance config: {m}"),
            Error::Protocol(m) => write!(f, "unexpected answer from the remote system: {m}"),
            Error::Internal(m) => write!(f, "internal plugin error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

fn auth_reason(reason: AuthFailure) -> &'static str {
    match reason {
        AuthFailure::BadCredentials => "bad credentials",
        AuthFailure::BadApiKey => "bad API key",
        AuthFailure::AccountLocked => "account locked",
        AuthFailure::TokenRejected => "token rejected",
        AuthFailure::Other => "other",
    }
}

fn retry_hint(retry: &RetryLater) -> String {
    retry.retry_after_ms.map(|ms| format!(" (retry after {ms} ms)")).unwrap_or_default()
}
