//! Shared support for the connector's end-to-end tests: where the built plugins are, configs in
//! temporary folders, a test certificate authority, and real local servers (HTTP, HTTPS, TCP and
//! TLS echo) for plugins to talk to, and the MaaS360 emulator set up the way an admin would.

pub mod echo_server;
pub mod http_server;
pub mod logs;
pub mod maas360;
pub mod setup;
pub mod test_ca;
pub mod workspace_one;

use std::path::PathBuf;

/// The folder `scripts/build-plugins` writes components to.
pub fn plugin_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    target.join("wasm32-wasip2").join("plugin")
}

/// The built component `name` (e.g. `test_plugin_probe`). Panics with the command to run when
/// the plugins have not been built.
pub fn plugin(name: &str) -> PathBuf {
    let path = plugin_dir().join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing: run `scripts/build-plugins` (or `scripts/test`) first", path.display());
    path
}
