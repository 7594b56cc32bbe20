//! The host capabilities: the only ways a plugin can reach outside its sandbox. One module per
//! WIT import, each holding the import's implementation, its config section and its permission
//! check. This module lists what is linked and what is refused, and links it.

pub mod call;
pub mod host_pattern;
pub mod http;
pub mod kv;
pub mod log;
pub mod net;
pub mod secrets;
pub mod settings;
pub mod tls;
pub mod wasi;

use std::sync::Arc;

use wasmtime::component::Linker;

use crate::ids::InstanceName;
use crate::plugins::bindings;
use crate::plugins::store::CallState;

/// Everything an admin granted one plugin instance, shared by all of its calls.
pub struct InstanceCapabilities {
    pub name: InstanceName,
    pub settings: settings::Settings,
    pub secrets: secrets::Secrets,
    pub kv: Arc<kv::KvStore>,
    pub http: Arc<http::HttpEgress>,
    pub net: net::NetEgress,
    /// Scrubs personal data out of what the plugin logs; `None` when no `[pii]` is configured.
    pub pii: Option<Arc<crate::pii::PiiFilter>>,
}

/// Interfaces a plugin may import, with the version line the host implements: WASI 0.2 and this
/// project's packages at major version 1.
pub const ALLOWED: &[(&str, &str)] = &[
    ("wasi:io/error", "0.2"),
    ("wasi:io/poll", "0.2"),
    ("wasi:io/streams", "0.2"),
    ("wasi:clocks/wall-clock", "0.2"),
    ("wasi:clocks/monotonic-clock", "0.2"),
    ("wasi:random/random", "0.2"),
    ("wasi:random/insecure", "0.2"),
    ("wasi:random/insecure-seed", "0.2"),
    ("wasi:cli/environment", "0.2"),
    ("wasi:cli/exit", "0.2"),
    ("wasi:cli/stdin", "0.2"),
    ("wasi:cli/stdout", "0.2"),
    ("wasi:cli/stderr", "0.2"),
    ("wasi:cli/terminal-input", "0.2"),
    ("wasi:cli/terminal-output", "0.2"),
    ("wasi:cli/terminal-stdin", "0.2"),
    ("wasi:cli/terminal-stdout", "0.2"),
    ("wasi:cli/terminal-stderr", "0.2"),
    ("wasi:http/types", "0.2"),
    ("wasi:http/outgoing-handler", "0.2"),
    ("msc:host/log", "1"),
    ("msc:host/config", "1"),
    ("msc:host/secrets", "1"),
    ("msc:host/kv", "1"),
    ("msc:host/call", "1"),
    ("msc:host/net", "1"),
    ("msc:types/pii", "1"),
    ("msc:types/errors", "1"),
    ("msc:types/self-test", "1"),
    ("msc:uem/types", "1"),
    ("msc:siem/types", "1"),
    ("msc:mail/types", "1"),
];

/// Packages never linked, and what admins are told when a plugin asks for one.
pub const FORBIDDEN: &[(&str, &str)] = &[
    ("wasi:filesystem", "plugins get no filesystem"),
    ("wasi:sockets", "plugins get no sockets; network streams go through msc:host/net"),
];

/// Why one import of a component cannot be satisfied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportProblem {
    #[error("`{import}`: {reason}")]
    Forbidden { import: String, reason: &'static str },
    #[error("`{import}`: the connector implements version {supported}.x")]
    Version { import: String, supported: &'static str },
    #[error("`{import}`: not a capability the connector offers")]
    Unknown { import: String },
}

/// Checks a component's imports against [`ALLOWED`], before the linker sees them, so a refusal
/// names each offending import and why.
pub fn check_imports<'a>(imports: impl IntoIterator<Item = &'a str>) -> Result<(), Vec<ImportProblem>> {
    let problems: Vec<ImportProblem> = imports.into_iter().filter_map(import_problem).collect();
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn import_problem(import: &str) -> Option<ImportProblem> {
    let (name, version) = import.split_once('@').unwrap_or((import, ""));
    let package = name.split('/').next().unwrap_or(name);
    if let Some((_, reason)) = FORBIDDEN.iter().find(|(p, _)| *p == package) {
        return Some(ImportProblem::Forbidden { import: import.to_string(), reason });
    }
    let Some((_, supported)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
        return Some(ImportProblem::Unknown { import: import.to_string() });
    };
    let compatible = version == *supported || version.starts_with(&format!("{supported}."));
    (!compatible).then(|| ImportProblem::Version { import: import.to_string(), supported })
}

/// Links every capability in [`ALLOWED`] into `linker`.
pub fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use bindings::host::msc::{host as h, types as t};

    wasi::link(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    h::log::add_to_linker::<CallState, log::Log>(linker, |s| log::LogView(&s.log))?;
    h::config::add_to_linker::<CallState, settings::SettingsCap>(linker, |s| {
        settings::SettingsView(&s.instance.settings)
    })?;
    h::secrets::add_to_linker::<CallState, secrets::SecretsCap>(linker, |s| secrets::SecretsView(&s.instance.secrets))?;
    h::kv::add_to_linker::<CallState, kv::Kv>(linker, |s| kv::KvView(&s.instance.kv))?;
    h::call::add_to_linker::<CallState, call::Call>(linker, |s| call::CallView {
        instance: &s.instance.name,
        deadline: s.deadline,
    })?;
    h::net::add_to_linker::<CallState, net::Net>(linker, |s| net::NetView {
        table: &mut s.table,
        egress: &s.instance.net,
        deadline: s.deadline,
        open: &mut s.open_connections,
        log: &s.log,
    })?;
    // Interfaces holding only types still appear as (empty) instance imports.
    type Types = wasmtime::component::HasSelf<CallState>;
    t::pii::add_to_linker::<CallState, Types>(linker, |s| s)?;
    t::errors::add_to_linker::<CallState, Types>(linker, |s| s)?;
    t::self_test::add_to_linker::<CallState, Types>(linker, |s| s)?;
    bindings::uem::msc::uem::types::add_to_linker::<CallState, Types>(linker, |s| s)?;
    bindings::siem::msc::siem::types::add_to_linker::<CallState, Types>(linker, |s| s)?;
    bindings::mail::msc::mail::types::add_to_linker::<CallState, Types>(linker, |s| s)?;
    Ok(())
}

impl bindings::host::msc::types::pii::Host for CallState {}
impl bindings::host::msc::types::errors::Host for CallState {}
impl bindings::host::msc::types::self_test::Host for CallState {}
impl bindings::uem::msc::uem::types::Host for CallState {}
impl bindings::siem::msc::siem::types::Host for CallState {}
impl bindings::mail::msc::mail::types::Host for CallState {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_checked() {
        assert_eq!(check_imports(["wasi:io/poll@0.2.6", "msc:host/log@1.0.0", "msc:host/kv@1.4.0"]), Ok(()));
        let problems = check_imports([
            "wasi:filesystem/preopens@0.2.6",
            "wasi:sockets/tcp@0.2.0",
            "msc:host/log@2.0.0",
            "wasi:io/poll@0.3.0",
            "acme:evil/thing@1.0.0",
        ])
        .expect_err("all refused");
        assert_eq!(problems.len(), 5);
        assert!(matches!(problems[0], ImportProblem::Forbidden { .. }));
        assert!(matches!(problems[1], ImportProblem::Forbidden { .. }));
        assert!(matches!(problems[2], ImportProblem::Version { .. }));
        assert!(matches!(problems[3], ImportProblem::Version { .. }));
        assert!(matches!(problems[4], ImportProblem::Unknown { .. }));
    }
}
