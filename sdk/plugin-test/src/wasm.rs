//! Finding the plugin's component: prebuilt in `$MSC_PLUGIN_DIR`, or built once per test
//! process with `cargo build --target wasm32-wasip2 --release`.
//!
//! The build uses a target directory of its own (`<target dir>/msc-plugin-test`): the
//! `cargo test` that runs the harness holds the lock on the usual one.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{LazyLock, Mutex, PoisonError};

/// Names the folder of prebuilt components (`<crate name with _>.wasm`); unset, the harness
/// builds the component itself.
pub const PLUGIN_DIR_ENV: &str = "MSC_PLUGIN_DIR";

/// The component of the plugin crate at `manifest_dir` named `package`: what
/// [`plugin_wasm!`](crate::plugin_wasm!) expands to, with this crate's `CARGO_MANIFEST_DIR` and
/// `CARGO_PKG_NAME`.
///
/// With `MSC_PLUGIN_DIR` set, `$MSC_PLUGIN_DIR/<package with - as _>.wasm`; otherwise the
/// crate is built for `wasm32-wasip2` once per test process (other tests wait for that build).
///
/// Panics, with the reason (cargo's own error output for a failed build), when the component
/// is missing or cannot be built: a test cannot run without it.
pub fn plugin_wasm(manifest_dir: &str, package: &str) -> PathBuf {
    match locate(Path::new(manifest_dir), package) {
        Ok(path) => path,
        Err(reason) => panic!("msc-plugin-test: no component for `{package}`: {reason}"),
    }
}

fn locate(manifest_dir: &Path, package: &str) -> Result<PathBuf, String> {
    let file = format!("{}.wasm", package.replace('-', "_"));
    if let Some(dir) = std::env::var_os(PLUGIN_DIR_ENV).filter(|d| !d.is_empty()) {
        return prebuilt(Path::new(&dir), &file);
    }
    // One build per crate and process, whatever the number of tests; a failure is kept too,
    // so every test reports it without building again.
    static BUILT: LazyLock<Mutex<HashMap<PathBuf, Result<PathBuf, String>>>> = LazyLock::new(Mutex::default);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    built.entry(manifest_dir.to_path_buf()).or_insert_with(|| build(manifest_dir, package, &file)).clone()
}

/// `dir/file`, which `MSC_PLUGIN_DIR` says was built beforehand.
fn prebuilt(dir: &Path, file: &str) -> Result<PathBuf, String> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} does not exist ({PLUGIN_DIR_ENV} is set): build it with \
             `cargo build --target wasm32-wasip2 --release` and copy it there, \
             or unset {PLUGIN_DIR_ENV} to have the harness build it",
            path.display()
        ))
    }
}

/// Builds the crate for `wasm32-wasip2` in release mode into its own target directory.
fn build(manifest_dir: &Path, package: &str, file: &str) -> Result<PathBuf, String> {
    let manifest = manifest_dir.join("Cargo.toml");
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => target_directory(&manifest)?,
    }
    .join("msc-plugin-test");
    eprintln!(
        "msc-plugin-test: building `{package}` for wasm32-wasip2 into {} (set {PLUGIN_DIR_ENV} to use prebuilt components)",
        target_dir.display()
    );
    let output = cargo()
        .args(["build", "--target", "wasm32-wasip2", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build --target wasm32-wasip2 --release --manifest-path {}` failed ({}); \
             is the target installed (`rustup target add wasm32-wasip2`)?\n{}",
            manifest.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let path = target_dir.join("wasm32-wasip2").join("release").join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the build succeeded but made no {}: is the crate a `cdylib` named `{package}`?", path.display()))
    }
}

/// The target directory cargo uses for the crate (its workspace's), from `cargo metadata`.
fn target_directory(manifest: &Path) -> Result<PathBuf, String> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps", "--manifest-path"])
        .arg(manifest)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo metadata` failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cannot read the output of `cargo metadata`: {e}"))?;
    Ok(metadata.target_directory)
}

/// The cargo that runs the tests (`$CARGO`), else the one on `PATH`.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prebuilt_component_is_taken_from_the_folder_or_its_absence_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("siem_json.wasm"), b"\0asm").expect("write");
        assert_eq!(prebuilt(dir.path(), "siem_json.wasm"), Ok(dir.path().join("siem_json.wasm")));
        let missing = prebuilt(dir.path(), "maas360.wasm").expect_err("missing");
        assert!(missing.contains("maas360.wasm does not exist") && missing.contains("cargo build"), "{missing}");
    }
}
