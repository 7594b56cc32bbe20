//! What a plugin file is, without knowing its kind: the world it implements, what it exports and
//! imports, its size and digest. For `connector plugins inspect`; loading for real is
//! `component::load`, which also links the component and refuses imports plugins are not given.

use std::path::Path;

use wasmtime::component::{Component, types::ComponentItem};

use crate::capabilities::{self, ImportProblem};
use crate::ids::PluginKind;
use crate::plugins::component::{check_header, world_of};
use crate::plugins::engine::PluginEngine;
use crate::plugins::error::LoadError;

/// A compiled component's outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The world it implements and its exported interface with version, e.g.
    /// `(Uem, "msc:uem/adapter@1.0.0")`; `None` when it exports no plugin interface.
    pub world: Option<(PluginKind, String)>,
    /// Every export, by name.
    pub exports: Vec<String>,
    /// Every import, in the component's order, with why the connector would refuse it (if it
    /// would).
    pub imports: Vec<Import>,
    pub sha256: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub name: String,
    /// Why loading would refuse this import; `None` when plugins are given it.
    pub refused: Option<String>,
}

/// Tells "not WebAssembly", "a core module" and "a truncated file" apart, without compiling: the
/// first check `component::load` makes.
pub fn check_component_header(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    check_header(path, bytes)
}

/// Checks `bytes` (read from `path`) is a component, compiles it with `engine`'s configuration and
/// lists what it exports and imports. Errors are those of `component::load`, with its reasons.
pub fn inspect(engine: &PluginEngine, path: &Path, bytes: &[u8]) -> Result<Inspection, LoadError> {
    check_header(path, bytes)?;
    let component = Component::new(engine.engine(), bytes)
        .map_err(|e| LoadError::Invalid { path: path.into(), reason: format!("{e:#}") })?;
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine.engine()).map(|(name, _)| name.to_string()).collect();
    let imports = ty
        .imports(engine.engine())
        .map(|(name, item)| {
            let problem = match item.ty {
                ComponentItem::ComponentInstance(_) => {
                    capabilities::check_imports([name]).err().and_then(|mut p| p.pop())
                }
                _ => Some(ImportProblem::Unknown { import: name.to_string() }),
            };
            Import { name: name.to_string(), refused: problem.map(|p| reason_only(&p)) }
        })
        .collect();
    Ok(Inspection { world: world_of(&exports), exports, imports, sha256: sha256_hex(bytes), size: bytes.len() as u64 })
}

/// An import problem without the import's name, which is printed beside it.
fn reason_only(problem: &ImportProblem) -> String {
    let text = problem.to_string();
    match text.split_once("`: ") {
        Some((_, reason)) => reason.to_string(),
        None => text,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
