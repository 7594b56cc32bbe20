//! What the CLI tests share.

use std::path::{Path, PathBuf};

// A path, so its own `#[path]` modules resolve beside it.
#[path = "smtp_server.rs"]
pub mod smtp_server;

/// Where `scripts/build-plugins` put the components; fails the test if `plugin` is not there.
pub fn plugin_dir(plugin: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let dir = target.join("wasm32-wasip2/plugin");
    assert!(dir.join(plugin).is_file(), "plugins are not built: run `scripts/build-plugins` first");
    dir
}
