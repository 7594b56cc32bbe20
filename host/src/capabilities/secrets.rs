//! The instance's secrets (`msc:host/secrets`): API passwords and keys the admin keeps in files or
//! environment variables, named in `[instances.NAME.secrets]`:
//!
//! ```toml
//! [instances.maas360.secrets]
//! password = { file = "/etc/msc/secrets/maas360-password" }
//! access_key = { env = "MAAS360_ACCESS_KEY" }
//! ```
//!
//! Values are read by the host when the config loads, kept in [`SecretString`]s (zeroed on drop,
//! redacted in `Debug`), and handed only to the instance they were configured for. Plugins can
//! read them, never set them, and no error message ever contains one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::plugins::bindings::host::msc::host::secrets::Host;

/// Where a secret comes from: exactly one of `file` or `env`, e.g. `{ file = "secrets/token" }`
/// or `{ env = "MSC_TOKEN" }`. A secret file should be readable by the connector's user only.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// A file holding the secret; one trailing newline is removed. Relative to the config file.
    pub file: Option<PathBuf>,
    /// An environment variable of the connector's process holding the secret.
    pub env: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("give exactly one of `file` or `env`")]
    Ambiguous,
    #[error("secret file {} cannot be read: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("secret file {} is empty", path.display())]
    EmptyFile { path: PathBuf },
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("environment variable `{0}` is empty")]
    EnvEmpty(String),
}

/// A secret read successfully, with a warning when its file is readable by others.
pub struct Resolved {
    pub value: SecretString,
    pub warning: Option<String>,
}

impl SecretRef {
    /// Reads the secret. Relative file paths are resolved against `base` (the config's folder).
    pub fn resolve(&self, base: &Path) -> Result<Resolved, SecretError> {
        match (&self.file, &self.env) {
            (Some(file), None) => {
                let path = base.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| SecretError::Unreadable { path: path.clone(), reason: e.to_string() })?;
                let value = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
                if value.is_empty() {
                    return Err(SecretError::EmptyFile { path });
                }
                Ok(Resolved { value: SecretString::from(value.to_string()), warning: loose_permissions(&path) })
            }
            (None, Some(name)) => match std::env::var(name) {
                Ok(value) if value.is_empty() => Err(SecretError::EnvEmpty(name.clone())),
                Ok(value) => Ok(Resolved { value: SecretString::from(value), warning: None }),
                Err(_) => Err(SecretError::EnvMissing(name.clone())),
            },
            _ => Err(SecretError::Ambiguous),
        }
    }
}

#[cfg(unix)]
fn loose_permissions(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!("secret file {} can be read by other users (mode {:o}); `chmod 600` it", path.display(), mode & 0o777)
    })
}

#[cfg(not(unix))]
fn loose_permissions(_path: &Path) -> Option<String> {
    None
}

/// The secrets of one instance.
#[derive(Default)]
pub struct Secrets(BTreeMap<String, SecretString>);

impl Secrets {
    pub fn new(values: BTreeMap<String, SecretString>) -> Self {
        Self(values)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// `msc:host/secrets` for one call.
pub struct SecretsView<'a>(pub &'a Secrets);

/// [`wasmtime::component::HasData`] marker for linking `msc:host/secrets`.
pub struct SecretsCap;

impl wasmtime::component::HasData for SecretsCap {
    type Data<'a> = SecretsView<'a>;
}

impl Host for SecretsView<'_> {
    fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.0.0.get(&name).map(|s| s.expose_secret().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_files_and_reports_problems() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "s3cret\n").expect("write");
        let secret = SecretRef { file: Some("pw".into()), env: None };
        let resolved = secret.resolve(dir.path()).expect("resolves");
        assert_eq!(resolved.value.expose_secret(), "s3cret");

        std::fs::write(dir.path().join("empty"), "\n").expect("write");
        let empty = SecretRef { file: Some("empty".into()), env: None };
        assert!(matches!(empty.resolve(dir.path()), Err(SecretError::EmptyFile { .. })));

        let missing = SecretRef { file: Some("nope".into()), env: None };
        assert!(matches!(missing.resolve(dir.path()), Err(SecretError::Unreadable { .. })));

        let both = SecretRef { file: Some("pw".into()), env: Some("X".into()) };
        assert_eq!(both.resolve(dir.path()).err(), Some(SecretError::Ambiguous));

        let unset = SecretRef { file: None, env: Some("MSC_TEST_SURELY_UNSET_VARIABLE".into()) };
        assert_eq!(
            unset.resolve(dir.path()).err(),
            Some(SecretError::EnvMissing("MSC_TEST_SURELY_UNSET_VARIABLE".into()))
        );
    }

    #[cfg(unix)]
    #[test]
    fn warns_about_readable_secret_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "x").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let secret = SecretRef { file: Some(path.clone()), env: None };
        assert!(secret.resolve(dir.path()).expect("resolves").warning.is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(secret.resolve(dir.path()).expect("resolves").warning.is_none());
    }

    #[test]
    fn debug_never_shows_values() {
        let secrets = Secrets::new(BTreeMap::from([("password".to_string(), SecretString::from("hunter2"))]));
        let shown = format!("{secrets:?}");
        assert!(shown.contains("password") && !shown.contains("hunter2"), "{shown}");
    }
}
