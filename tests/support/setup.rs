//! Writing a connector config into a temporary folder and starting the plugin runtime from it.

use std::path::{Path, PathBuf};

use connector::config::Config;
use connector::plugins::{PluginRuntime, RuntimeError};

/// A config file in its own temporary folder, with `plugin_dir` pointing at the built plugins.
pub struct TestConfig {
    pub dir: tempfile::TempDir,
    pub file: PathBuf,
}

impl TestConfig {
    /// Writes `instances` (the `[instances.*]` tables, as TOML) below a `[connector]` section.
    pub fn new(instances: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("connector.toml");
        let text = format!(
            "[connector]\nname = \"test\"\nplugin_dir = {:?}\n\n{instances}",
            crate::plugin_dir().display().to_string()
        );
        std::fs::write(&file, text).expect("write config");
        Self { dir, file }
    }

    /// Writes a file next to the config (a secret, a CA bundle) and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        path
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    pub fn load(&self) -> Config {
        match Config::load(&self.file) {
            Ok(config) => config,
            Err(e) => panic!("test config is invalid:\n{e}"),
        }
    }

    pub async fn try_start(&self) -> Result<PluginRuntime, RuntimeError> {
        PluginRuntime::start(self.load()).await
    }

    pub async fn start(&self) -> PluginRuntime {
        match self.try_start().await {
            Ok(runtime) => runtime,
            Err(e) => panic!("runtime did not start:\n{e}"),
        }
    }
}
