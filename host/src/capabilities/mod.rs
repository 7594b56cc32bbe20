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

/// Interfaces a plugin may import, with the newest version of each the host implements, as
/// `major.minor`: WASI 0.2 and this project's packages at major version 1. A plugin may import
/// an interface at that version or an older minor of the same major (docs/wit-evolution.md).
pub const ALLOWED: &[(&str, &str)] = &[
    ("wasi:io/error", WASI),
    ("wasi:io/poll", WASI),
    ("wasi:io/streams", WASI),
    ("wasi:clocks/wall-clock", WASI),
    ("wasi:clocks/monotonic-clock", WASI),
    ("wasi:random/random", WASI),
    ("wasi:random/insecure", WASI),
    ("wasi:random/insecure-seed", WASI),
    ("wasi:cli/environment", WASI),
    ("wasi:cli/exit", WASI),
    ("wasi:cli/stdin", WASI),
    ("wasi:cli/stdout", WASI),
    ("wasi:cli/stderr", WASI),
    ("wasi:cli/terminal-input", WASI),
    ("wasi:cli/terminal-output", WASI),
    ("wasi:cli/terminal-stdin", WASI),
    ("wasi:cli/terminal-stdout", WASI),
    ("wasi:cli/terminal-stderr", WASI),
    ("wasi:http/types", WASI),
    ("wasi:http/outgoing-handler", WASI),
    ("msc:host/log", MSC_HOST),
    ("msc:host/config", MSC_HOST),
    ("msc:host/secrets", MSC_HOST),
    ("msc:host/kv", MSC_HOST),
    ("msc:host/call", MSC_HOST),
    ("msc:host/net", MSC_HOST),
    ("msc:types/pii", MSC_TYPES),
    ("msc:types/errors", MSC_TYPES),
    ("msc:types/self-test", MSC_TYPES),
    ("msc:uem/types", MSC_UEM),
    ("msc:siem/types", MSC_SIEM),
    ("msc:mail/types", MSC_MAIL),
];

/// WASI 0.2: every `0.2.x` is accepted, as `wasmtime-wasi` serves the whole 0.2 line.
const WASI: &str = "0.2";
/// The `msc:host` version `wit/host.wit` declares, as `major.minor`.
pub const MSC_HOST: &str = "1.1";
/// The `msc:types` version `wit/types.wit` declares.
pub const MSC_TYPES: &str = "1.0";
/// The `msc:uem` version `wit/uem.wit` declares.
pub const MSC_UEM: &str = "1.0";
/// The `msc:siem` version `wit/siem.wit` declares.
pub const MSC_SIEM: &str = "1.0";
/// The `msc:mail` version `wit/mail.wit` declares.
pub const MSC_MAIL: &str = "1.0";

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
    /// Another major version (or, for a 0.x package, another minor) than the host implements.
    #[error("`{import}`: the connector implements {package} {implements}, not version {version}")]
    Version { import: String, package: String, version: String, implements: &'static str },
    /// A newer minor version than the host implements: built against a newer WIT than this
    /// connector's. (wasmtime alone would link it whenever the functions it uses happen to exist.)
    #[error(
        "`{import}`: built for {package} {version}; the connector implements {package} {implements}: update the connector"
    )]
    Newer { import: String, package: String, version: String, implements: &'static str },
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
    let Some((_, implements)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
        return Some(ImportProblem::Unknown { import: import.to_string() });
    };
    let details = || (import.to_string(), package.to_string(), version.to_string(), *implements);
    match compatibility(version, implements) {
        Compatibility::Served => None,
        Compatibility::Newer => {
            let (import, package, version, implements) = details();
            Some(ImportProblem::Newer { import, package, version, implements })
        }
        Compatibility::Incompatible => {
            let (import, package, version, implements) = details();
            Some(ImportProblem::Version { import, package, version, implements })
        }
    }
}

/// How an import's version relates to the `major.minor` the host implements.
#[derive(Debug, PartialEq, Eq)]
enum Compatibility {
    /// The same major (for 0.x, the same minor), at the host's minor or an older one.
    Served,
    /// The same major, a newer minor.
    Newer,
    /// Another major, or not a version.
    Incompatible,
}

/// Semver as the component model uses it: `1.x.y` imports are served by any `1.z` with `z >= x`;
/// a `0.x` line is its own major, and every patch of it is served.
fn compatibility(version: &str, implements: &str) -> Compatibility {
    let numbers = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let (Some((major, minor)), Some((host_major, host_minor))) = (numbers(version), numbers(implements)) else {
        return Compatibility::Incompatible;
    };
    match (major == host_major, major == 0) {
        (false, _) => Compatibility::Incompatible,
        (true, true) if minor == host_minor => Compatibility::Served,
        (true, true) => Compatibility::Incompatible,
        (true, false) if minor <= host_minor => Compatibility::Served,
        (true, false) => Compatibility::Newer,
    }
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
        assert_eq!(
            check_imports(["wasi:io/poll@0.2.6", "wasi:io/poll@0.2.12", "msc:host/log@1.0.0", "msc:host/kv@1.1.0"]),
            Ok(()),
            "WASI 0.2.x and msc:host 1.0 and 1.1 are served"
        );
        let problems = check_imports([
            "wasi:filesystem/preopens@0.2.6",
            "wasi:sockets/tcp@0.2.0",
            "msc:host/log@2.0.0",
            "wasi:io/poll@0.3.0",
            "acme:evil/thing@1.0.0",
            "msc:host/log@1.2.0",
            "msc:types/pii@1.1.0",
            "msc:host/log",
        ])
        .expect_err("all refused");
        assert_eq!(problems.len(), 8);
        assert!(matches!(problems[0], ImportProblem::Forbidden { .. }));
        assert!(matches!(problems[1], ImportProblem::Forbidden { .. }));
        assert!(matches!(problems[2], ImportProblem::Version { .. }));
        assert!(matches!(problems[3], ImportProblem::Version { .. }));
        assert!(matches!(problems[4], ImportProblem::Unknown { .. }));
        assert!(matches!(problems[5], ImportProblem::Newer { .. }));
        assert!(matches!(problems[6], ImportProblem::Newer { .. }), "msc:types is still 1.0");
        assert!(matches!(problems[7], ImportProblem::Version { .. }), "an unversioned import");
        assert_eq!(
            problems[2].to_string(),
            "`msc:host/log@2.0.0`: the connector implements msc:host 1.1, not version 2.0.0"
        );
        assert_eq!(
            problems[5].to_string(),
            "`msc:host/log@1.2.0`: built for msc:host 1.2.0; the connector implements msc:host 1.1: update the connector"
        );
    }

    #[test]
    fn the_declared_versions_match_the_wit() {
        let declared = |file: &str| {
            let text = std::fs::read_to_string(format!("{}/../wit/{file}", env!("CARGO_MANIFEST_DIR"))).expect("wit");
            let line = text.lines().find(|l| l.starts_with("package ")).expect("package line").to_string();
            line.split('@').nth(1).expect("version").trim_end_matches(';').to_string()
        };
        for (file, implements) in [
            ("host.wit", MSC_HOST),
            ("types.wit", MSC_TYPES),
            ("uem.wit", MSC_UEM),
            ("siem.wit", MSC_SIEM),
            ("mail.wit", MSC_MAIL),
        ] {
            let version = declared(file);
            assert!(
                version.starts_with(&format!("{implements}.")),
                "wit/{file} declares {version}, ALLOWED says {implements}"
            );
        }
    }

    /// What wasmtime's linker does on its own with versioned imports, which is why
    /// [`check_imports`] refuses newer minors itself: it resolves `a:b/c@1.x.y` to whatever
    /// `a:b/c@1.*` is defined, older or newer, and type-checks only the functions the component
    /// imports.
    #[test]
    fn wasmtime_links_any_minor_of_a_major() {
        let engine = wasmtime::Engine::default();
        let mut linker = wasmtime::component::Linker::<()>::new(&engine);
        let mut log = linker.instance("a:b/log@1.1.0").expect("instance");
        log.func_wrap("log", |_, (_,): (u32,)| Ok(())).expect("log");
        log.func_wrap("enabled", |_, (_,): (u32,)| Ok((true,))).expect("enabled");
        let importing = |version: &str, funcs: &[&str]| {
            let funcs: String =
                funcs.iter().map(|f| format!("(export \"{f}\" (func (param \"level\" u32)))")).collect();
            wasmtime::component::Component::new(
                &engine,
                format!("(component (import \"a:b/log@{version}\" (instance {funcs})))"),
            )
            .expect("component")
        };
        let links = |component: &wasmtime::component::Component| linker.instantiate_pre(component).map(drop);
        assert!(links(&importing("1.0.0", &["log"])).is_ok(), "an older minor: served, extra functions ignored");
        assert!(links(&importing("1.2.0", &["log"])).is_ok(), "a newer minor: linked as well");
        let missing = links(&importing("1.2.0", &["log", "fancy"])).expect_err("a function the host lacks");
        assert!(format!("{missing:#}").contains("fancy"), "{missing:#}");
        assert!(links(&importing("2.0.0", &["log"])).is_err(), "another major is not found");
    }

    /// Types are compared exactly: a case added to an enum in a newer minor makes every older
    /// plugin's import of it fail to link, unless the host also links the older interface under
    /// its own exact name (which wasmtime prefers to the semver match).
    #[test]
    fn wasmtime_compares_enums_exactly() {
        use wasmtime::component::{ComponentType, Lift, Lower};
        #[derive(ComponentType, Lift, Lower, Clone, Copy)]
        #[component(enum)]
        #[repr(u8)]
        #[allow(dead_code, reason = "only the type is linked; nothing calls it")]
        enum Level11 {
            #[component(name = "info")]
            Info,
            #[component(name = "warn")]
            Warn,
            #[component(name = "notice")]
            Notice,
        }
        #[derive(ComponentType, Lift, Lower, Clone, Copy)]
        #[component(enum)]
        #[repr(u8)]
        #[allow(dead_code, reason = "only the type is linked; nothing calls it")]
        enum Level10 {
            #[component(name = "info")]
            Info,
            #[component(name = "warn")]
            Warn,
        }
        let engine = wasmtime::Engine::default();
        let old_plugin = wasmtime::component::Component::new(
            &engine,
            r#"(component (import "a:b/log@1.0.0" (instance
                (type $level (enum "info" "warn"))
                (export "level" (type $exported (eq $level)))
                (export "log" (func (param "level" $exported))))))"#,
        )
        .expect("component");

        let mut linker = wasmtime::component::Linker::<()>::new(&engine);
        linker.instance("a:b/log@1.1.0").expect("1.1").func_wrap("log", |_, (_,): (Level11,)| Ok(())).expect("log");
        let refused = linker.instantiate_pre(&old_plugin).map(drop).expect_err("a 1.0 plugin against a 1.1 enum");
        assert!(format!("{refused:#}").contains("enum"), "{refused:#}");

        linker.instance("a:b/log@1.0.0").expect("1.0").func_wrap("log", |_, (_,): (Level10,)| Ok(())).expect("log");
        assert!(linker.instantiate_pre(&old_plugin).is_ok(), "served by the 1.0 adapter, linked by its exact name");
    }
}
