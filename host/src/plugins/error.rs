//! The plugin runtime's errors, each naming the plugin instance (or file) it is about.

use std::path::PathBuf;
use std::time::Duration;

use crate::capabilities::ImportProblem;
use crate::ids::{InstanceName, PluginKind};

/// A call the sandbox stopped, or could not start.
#[derive(Debug, thiserror::Error)]
#[error("plugin instance `{instance}` {fault}")]
pub struct PluginError {
    pub instance: InstanceName,
    pub fault: PluginFault,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PluginFault {
    /// The call ran past its deadline and was stopped.
    #[error("was stopped at its deadline of {0:?}")]
    DeadlineExceeded(Duration),
    /// The call waited for a free sandbox until its deadline.
    #[error("found no free sandbox before its deadline of {0:?} (too many calls at once)")]
    Overloaded(Duration),
    /// The plugin tried to grow its memory past its limit.
    #[error("was stopped: it tried to use more than its memory limit of {limit} bytes")]
    MemoryLimit { limit: u64 },
    /// The plugin tried to grow a table past its limit.
    #[error("was stopped: it tried to grow a table past {limit} elements")]
    TableLimit { limit: u64 },
    /// The plugin trapped: a panic, an `unreachable`, a stack overflow, an out-of-bounds access.
    #[error("trapped: {reason}")]
    Trapped { reason: String },
    /// The plugin called `exit`.
    #[error("exited with status {0}")]
    Exited(i32),
    /// A host capability failed in a way the plugin could not be told about.
    #[error("failed in a host call: {0}")]
    Host(String),
    /// The instance is not of the kind the caller asked for.
    #[error("is a {actual} plugin, not a {expected} plugin")]
    WrongKind { expected: PluginKind, actual: PluginKind },
}

impl PluginFault {
    /// A short name of the fault for metrics: `deadline`, `overloaded`, `memory`, `table`,
    /// `trap`, `exit`, `host`, `wrong-kind`.
    pub fn label(&self) -> &'static str {
        match self {
            PluginFault::DeadlineExceeded(_) => "deadline",
            PluginFault::Overloaded(_) => "overloaded",
            PluginFault::MemoryLimit { .. } => "memory",
            PluginFault::TableLimit { .. } => "table",
            PluginFault::Trapped { .. } => "trap",
            PluginFault::Exited(_) => "exit",
            PluginFault::Host(_) => "host",
            PluginFault::WrongKind { .. } => "wrong-kind",
        }
    }
}

/// A plugin file that cannot be used.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot be read: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}: {error}", path.display())]
    Signature { path: PathBuf, error: crate::plugins::signature::SignatureError },

    #[error("{}: {what}", path.display())]
    NotAComponent { path: PathBuf, what: &'static str },
    #[error("{}: is not a valid component: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{}: implements no plugin world (it exports: {})", path.display(), exports.join(", "))]
    NoWorld { path: PathBuf, exports: Vec<String> },
    #[error("{}: is a {found} plugin (`{export}`), but the config says kind = \"{expected}\"", path.display())]
    WrongWorld { path: PathBuf, expected: PluginKind, found: PluginKind, export: String },
    #[error("{}: exports `{export}`; this connector supports version 1.x", path.display())]
    WorldVersion { path: PathBuf, export: String },
    #[error("{}: imports what plugins are not given:\n  {}", path.display(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Imports { path: PathBuf, problems: Vec<ImportProblem> },
    #[error("{}: cannot be linked: {reason}", path.display())]
    Link { path: PathBuf, reason: String },
}

/// Problems starting the plugin runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
    #[error("{}", .0.iter().map(|(name, e)| format!("instance `{name}`: {e}")).collect::<Vec<_>>().join("\n"))]
    Instances(Vec<(InstanceName, LoadError)>),
}

/// Looking up an instance by name and kind.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    #[error("no plugin instance named `{0}` is configured")]
    Unknown(String),
    #[error("plugin instance `{name}` is a {actual} plugin, not a {expected} plugin")]
    WrongKind { name: InstanceName, expected: PluginKind, actual: PluginKind },
}
