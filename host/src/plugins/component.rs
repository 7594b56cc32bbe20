//! Loading a plugin file: check it is a component, compile it once, find which world it
//! implements, refuse it if it imports anything plugins are not given, and pre-link it so each
//! call only has to instantiate.

use std::path::{Path, PathBuf};
use std::time::Instant;

use wasmtime::component::{Component, ComponentExportIndex, InstancePre, types::ComponentItem};

use super::bindings::{mail::MailBackendPre, siem::SiemFormatterPre, uem::UemAdapterPre};
use super::cache::{CacheOutcome, CompiledCache};
use super::engine::PluginEngine;
use super::error::LoadError;
use super::store::CallState;
use crate::capabilities;
use crate::ids::PluginKind;

/// A compiled, linked plugin version, shared by every instance that uses the file.
pub struct LoadedPlugin {
    pub path: PathBuf,
    pub kind: PluginKind,
    /// The exported interface with its version, e.g. `msc:uem/adapter@1.0.0`.
    pub export: String,
    pub imports: Vec<String>,
    pub sha256: String,
    /// Who signed it, when its signature was verified.
    pub publisher: Option<String>,
    /// The pre-linked component.
    pub(crate) pre: InstancePre<CallState>,
    /// The exported interface `export`, where a call looks up its function.
    pub(crate) interface: ComponentExportIndex,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("export", &self.export)
            .field("sha256", &self.sha256)
            .finish()
    }
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0, 1, 0];

/// Reads, validates and compiles `path` as a plugin of `expected` kind. Compiling takes tens of
/// milliseconds to seconds: call it off the async runtime. With a `cache`, a component compiled
/// before by the same engine configuration is deserialized instead (milliseconds).
pub fn load(
    engine: &PluginEngine,
    path: &Path,
    expected: PluginKind,
    cache: Option<&CompiledCache>,
) -> Result<LoadedPlugin, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::Unreadable { path: path.into(), reason: e.to_string() })?;
    load_bytes(engine, path, &bytes, expected, cache)
}

/// Like [`load`], for the contents of `path` already read (and, by the runtime, checked against
/// its signature): exactly these bytes are compiled.
pub fn load_bytes(
    engine: &PluginEngine,
    path: &Path,
    bytes: &[u8],
    expected: PluginKind,
    cache: Option<&CompiledCache>,
) -> Result<LoadedPlugin, LoadError> {
    check_header(path, bytes)?;
    let sha256 = sha256_hex(bytes);
    let component = compile(engine, path, bytes, &sha256, cache)?;

    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine.engine()).map(|(name, _)| name.to_string()).collect();
    let (kind, export) =
        world_of(&exports).ok_or_else(|| LoadError::NoWorld { path: path.into(), exports: exports.clone() })?;
    if kind != expected {
        return Err(LoadError::WrongWorld { path: path.into(), expected, found: kind, export });
    }
    if !export.contains("@1.") {
        return Err(LoadError::WorldVersion { path: path.into(), export });
    }

    // Everything a plugin may import is an interface (a component instance); a bare function or
    // resource import cannot be satisfied and is reported like any other unknown import.
    let mut imports = Vec::new();
    let mut problems = Vec::new();
    for (name, item) in ty.imports(engine.engine()) {
        match item.ty {
            ComponentItem::ComponentInstance(_) => imports.push(name.to_string()),
            _ => problems.push(capabilities::ImportProblem::Unknown { import: name.to_string() }),
        }
    }
    problems.extend(capabilities::check_imports(imports.iter().map(String::as_str)).err().unwrap_or_default());
    if !problems.is_empty() {
        return Err(LoadError::Imports { path: path.into(), problems });
    }

    let link_error = |e: wasmtime::Error| LoadError::Link { path: path.into(), reason: format!("{e:#}") };
    let pre = engine.linker().instantiate_pre(&component).map_err(link_error)?;
    // The world's generated bindings check that every function of the world is exported. Calls
    // do not go through them: they would type-check every export on every instantiation, where
    // a call needs only the one it calls (see `worlds::call_export`).
    match kind {
        PluginKind::Uem => UemAdapterPre::new(pre.clone()).map(drop),
        PluginKind::Siem => SiemFormatterPre::new(pre.clone()).map(drop),
        PluginKind::Mail => MailBackendPre::new(pre.clone()).map(drop),
    }
    .map_err(link_error)?;
    let interface = component
        .get_export_index(None, &export)
        .ok_or_else(|| link_error(wasmtime::format_err!("no exported instance `{export}`")))?;
    Ok(LoadedPlugin { path: path.into(), kind, export, imports, sha256, publisher: None, pre, interface })
}

/// Compiles `bytes`, or takes them from `cache`, and logs which happened and how long it took.
fn compile(
    engine: &PluginEngine,
    path: &Path,
    bytes: &[u8],
    sha256: &str,
    cache: Option<&CompiledCache>,
) -> Result<Component, LoadError> {
    let started = Instant::now();
    let (component, outcome) = match cache {
        Some(cache) => cache.load_or_compile(engine.engine(), bytes, sha256),
        None => Component::new(engine.engine(), bytes).map(|c| (c, CacheOutcome::Compiled)),
    }
    .map_err(|e| LoadError::Invalid { path: path.into(), reason: format!("{e:#}") })?;
    tracing::debug!(
        plugin = %path.display(),
        sha256 = %&sha256[..16],
        cached = cache.is_some(),
        %outcome,
        elapsed = ?started.elapsed(),
        "plugin component ready"
    );
    Ok(component)
}

/// Tells "not WebAssembly", "a core module" and "a truncated file" apart before compiling.
pub(crate) fn check_header(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let not_a_component = |what| Err(LoadError::NotAComponent { path: path.into(), what });
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return not_a_component("is not a WebAssembly file (empty, truncated, or another format)");
    }
    match &bytes[4..8] {
        v if *v == COMPONENT_VERSION => Ok(()),
        v if *v == CORE_MODULE_VERSION => not_a_component(
            "is a core WebAssembly module, not a component: build it for wasm32-wasip2 (or wrap it with `wasm-tools component new`)",
        ),
        _ => not_a_component("is a WebAssembly binary of an unsupported version"),
    }
}

/// Which world a component implements, from the interface it exports.
pub(crate) fn world_of(exports: &[String]) -> Option<(PluginKind, String)> {
    PluginKind::ALL.into_iter().find_map(|kind| {
        let prefix = format!("{}@", kind.export());
        exports.iter().find(|e| e.starts_with(&prefix)).map(|e| (kind, e.clone()))
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let path = Path::new("p.wasm");
        assert!(check_header(path, b"").is_err());
        assert!(check_header(path, b"\0asm").is_err());
        assert!(check_header(path, b"MZ\x90\0\x03\0\0\0").is_err());
        let core = check_header(path, b"\0asm\x01\0\0\0").expect_err("core module");
        assert!(core.to_string().contains("core WebAssembly module"), "{core}");
        assert!(check_header(path, b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn finds_the_world() {
        let exports = ["msc:siem/formatter@1.2.0".to_string()];
        assert_eq!(world_of(&exports), Some((PluginKind::Siem, exports[0].clone())));
        assert_eq!(world_of(&["wasi:http/incoming-handler@0.2.0".to_string()]), None);
    }
}
