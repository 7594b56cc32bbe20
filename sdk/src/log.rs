//! Logging into the connector's log. Use the macros: [`trace!`](crate::trace),
//! [`debug!`](crate::debug), [`info!`](crate::info), [`warn!`](crate::warn),
//! [`error!`](crate::error). Never log secrets; the connector filters personal data from its
//! logs, but plugins should not rely on it.
//!
//! The macros ask the connector first whether a line at their level would be written
//! ([`enabled`]) and format their message only when it would, so a `trace!` in a loop costs one
//! host call when tracing is off.

pub use crate::bindings::base::msc::host::log::Level;

/// Writes one line at `level`.
pub fn write(level: Level, message: &str) {
    crate::bindings::base::msc::host::log::log(level, message)
}

/// Whether a line at `level` would be written now: the connector's log records plugin lines at
/// that level and this call has not used up its line budget. Check it before building a costly
/// message; the macros do it for you.
///
/// Needs a connector implementing `msc:host` 1.1 or later (see `docs/wit-evolution.md`).
pub fn enabled(level: Level) -> bool {
    crate::bindings::base::msc::host::log::enabled(level)
}

/// Writes `format!(..)` at `level` if a line at that level would be written. The level macros
/// call this; use them instead.
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:expr, $($arg:tt)*) => {{
        let level = $level;
        if $crate::log::enabled(level) {
            $crate::log::write(level, &::std::format!($($arg)*));
        }
    }};
}

/// Logs a `format!`-style message at trace level; the message is not formatted unless the
/// connector would write it.
#[macro_export]
macro_rules! trace { ($($arg:tt)*) => { $crate::__log!($crate::log::Level::Trace, $($arg)*) }; }

/// Logs a `format!`-style message at debug level; the message is not formatted unless the
/// connector would write it.
#[macro_export]
macro_rules! debug { ($($arg:tt)*) => { $crate::__log!($crate::log::Level::Debug, $($arg)*) }; }

/// Logs a `format!`-style message at info level; the message is not formatted unless the
/// connector would write it.
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::__log!($crate::log::Level::Info, $($arg)*) }; }

/// Logs a `format!`-style message at warn level; the message is not formatted unless the
/// connector would write it.
#[macro_export]
macro_rules! warn { ($($arg:tt)*) => { $crate::__log!($crate::log::Level::Warn, $($arg)*) }; }

/// Logs a `format!`-style message at error level; the message is not formatted unless the
/// connector would write it.
#[macro_export]
macro_rules! error { ($($arg:tt)*) => { $crate::__log!($crate::log::Level::Error, $($arg)*) }; }
