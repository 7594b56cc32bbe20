//! The `[plugins]` section: which plugin signatures the connector accepts, and where compiled
//! plugins are cached. The section may be left out: every setting has a default. See
//! docs/plugin-signing.md.
//!
//! ```toml
//! [plugins]
//! signatures = "require"         # require: refuse unsigned plugins; warn (default): load, log it
//! cache_dir = "plugin-cache"     # compiled plugins; relative to this file (default: plugin-cache)
//!
//! trusted_dir = "/usr/share/msc/trusted-publishers"   # more publishers: one <name>.pub file each
//!
//! [plugins.trusted]              # publishers whose signed plugins load, each with its public key
//! acme = "msc-ed25519:Y1qzOlJKYC00D+Jkw9gJWqakLhcM6uom8allfF1i2Gk="   # `connector plugins keygen`
//! ```
//!
//! A plugin with a signature file (`maas360.wasm.sig`) that does not verify against these keys is
//! refused under either policy; `signatures` only decides about plugins that have none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use super::{KeyPath, Validator};
use crate::plugins::signature::{PublicKey, SignaturePolicy, TrustedPublishers, check_publisher_name};

/// Where compiled plugins are kept when `cache_dir` is not set, beside the config file.
pub const DEFAULT_CACHE_DIR: &str = "plugin-cache";

/// A validated `[plugins]` section (defaults when the file has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginsConfig {
    pub signatures: SignaturePolicy,
    /// Resolved against the config file's folder.
    pub cache_dir: PathBuf,
    pub trusted: TrustedPublishers,
}

impl PluginsConfig {
    /// The defaults, for a config file in `base`.
    pub fn defaults(base: &Path) -> Self {
        Self {
            signatures: SignaturePolicy::default(),
            cache_dir: base.join(DEFAULT_CACHE_DIR),
            trusted: TrustedPublishers::new(),
        }
    }
}

/// Which plugin signatures the connector accepts, and where compiled plugins are cached (see
/// docs/plugin-signing.md). A plugin whose `.sig` does not verify against `trusted` is refused
/// under either policy; `signatures` decides only about plugins without a `.sig`.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlugins {
    /// What to do with a plugin that has no signature file.
    #[schemars(extend("default" = SignaturePolicy::default()))]
    signatures: Option<SignaturePolicy>,
    /// Compiled plugins (native code made from the components), so a restart does not compile
    /// again. Must be writable by the connector.
    #[schemars(extend("default" = DEFAULT_CACHE_DIR))]
    cache_dir: Option<PathBuf>,
    /// Publishers whose signed plugins load, each with its public key
    /// (`msc-ed25519:…`, from `connector plugins keygen`).
    #[serde(default)]
    trusted: BTreeMap<String, String>,
    /// A folder of more trusted publishers: each `<publisher>.pub` file holds that publisher's
    /// public key. For keys a package installs and updates without an edit of this file (the
    /// Debian package's `/usr/share/msc/trusted-publishers`); other files are ignored. Read at
    /// every config load (and `systemctl reload`).
    trusted_dir: Option<PathBuf>,
}

/// The extension of publisher key files in `trusted_dir`.
const PUBLISHER_KEY_EXTENSION: &str = "pub";

impl Validator<'_> {
    pub(super) fn plugins(&mut self, base: &Path, raw: RawPlugins) -> PluginsConfig {
        let key = KeyPath::root().key("plugins");
        let mut config = PluginsConfig::defaults(base);
        if let Some(dir) = raw.cache_dir {
            if dir.as_os_str().is_empty() {
                self.error(key.key("cache_dir"), "must not be empty (leave it out for the default, plugin-cache)");
            } else {
                config.cache_dir = base.join(dir);
            }
        }
        let mut trusted = TrustedPublishers::new();
        for (publisher, text) in &raw.trusted {
            let at = key.key("trusted").key(publisher);
            if let Err(e) = check_publisher_name(publisher) {
                self.error(at, e);
                continue;
            }
            match PublicKey::parse(text) {
                Ok(public_key) => trusted.insert(publisher.clone(), public_key),
                Err(e) => self.error(at, e.to_string()),
            }
        }
        if let Some(dir) = &raw.trusted_dir {
            self.trusted_dir(&key.key("trusted_dir"), &base.join(dir), &mut trusted);
        }
        let signatures = raw.signatures.unwrap_or_default();
        if signatures == SignaturePolicy::Require && trusted.is_empty() {
            self.error(
                key.key("signatures"),
                "is \"require\" but neither [plugins.trusted] nor `trusted_dir` names a publisher: every plugin \
                 would be refused",
            );
        }
        config.signatures = signatures;
        config.trusted = trusted;
        config
    }
}

impl Validator<'_> {
    /// Adds each `<publisher>.pub` of `dir` to `trusted`. A publisher also in `[plugins.trusted]`
    /// must have the same key there: two keys for one name would leave the admin guessing.
    fn trusted_dir(&mut self, at: &KeyPath, dir: &Path, trusted: &mut TrustedPublishers) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.error(at.clone(), format!("{}: cannot be read: {e}", dir.display())),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == PUBLISHER_KEY_EXTENSION) && path.is_file())
            .collect();
        files.sort();
        for file in files {
            let publisher = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let problem = |reason: &dyn std::fmt::Display| format!("{}: {reason}", file.display());
            if let Err(e) = check_publisher_name(&publisher) {
                self.error(at.clone(), problem(&e));
                continue;
            }
            let key = match std::fs::read_to_string(&file) {
                Ok(text) => PublicKey::parse(text.trim()),
                Err(e) => {
                    self.error(at.clone(), problem(&format!("cannot be read: {e}")));
                    continue;
                }
            };
            match key {
                Ok(key) if trusted.get(&publisher).is_some_and(|known| *known != key) => self.error(
                    at.clone(),
                    problem(&format!("`{publisher}` has another key in [plugins.trusted]: keep one of the two")),
                ),
                Ok(key) => trusted.insert(publisher, key),
                Err(e) => self.error(at.clone(), problem(&e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::plugins::signature::{SecretKey, SignaturePolicy};

    fn parse(text: &str) -> Result<Config, Vec<String>> {
        let file = std::path::Path::new("/etc/msc/c.toml");
        Config::parse(file, text).map_err(|e| e.errors().map(|d| d.to_string()).collect())
    }

    #[test]
    fn defaults_without_a_section() {
        let config = parse("").expect("valid");
        assert_eq!(config.plugins.signatures, SignaturePolicy::Warn);
        assert_eq!(config.plugins.cache_dir, std::path::Path::new("/etc/msc/plugin-cache"));
        assert!(config.plugins.trusted.is_empty());
    }

    #[test]
    fn a_full_section() {
        let key = SecretKey::from_seed(&[1; 32]).public_key();
        let text = format!(
            "[plugins]\nsignatures = \"require\"\ncache_dir = \"/var/cache/msc\"\n[plugins.trusted]\nacme = \"{key}\"\n"
        );
        let config = parse(&text).expect("valid");
        assert_eq!(config.plugins.signatures, SignaturePolicy::Require);
        assert_eq!(config.plugins.cache_dir, std::path::Path::new("/var/cache/msc"));
        assert_eq!(config.plugins.trusted.get("acme"), Some(&key));
        let relative = parse("[plugins]\ncache_dir = \"cache\"\n").expect("valid");
        assert_eq!(relative.plugins.cache_dir, std::path::Path::new("/etc/msc/cache"));
    }

    #[test]
    fn problems_point_at_file_line_and_key() {
        let good = SecretKey::from_seed(&[1; 32]).public_key();
        let text = format!(
            "[plugins]\n\
             signatures = \"require\"\n\
             \n\
             [plugins.trusted]\n\
             acme = \"{good}\"\n\
             bad-prefix = \"ed25519:AAAA\"\n\
             short = \"msc-ed25519:AAAA\"\n\
             \"not a name\" = \"{good}\"\n"
        );
        let errors = parse(&text).expect_err("refused");
        assert_eq!(
            errors,
            [
                "/etc/msc/c.toml:6:14: plugins.trusted.bad-prefix: `ed25519:AAAA` is not a plugin signing public key (msc-ed25519:<base64>): it does not start with `msc-ed25519:`",
                "/etc/msc/c.toml:8:16: plugins.trusted.not a name: publisher name `not a name` is not valid: use 1 to 64 letters, digits, `-`, `_` or `.`",
                "/etc/msc/c.toml:7:9: plugins.trusted.short: `msc-ed25519:AAAA` is not a plugin signing public key (msc-ed25519:<base64>): an ed25519 public key is 32 bytes (44 characters of base64)",
            ]
        );
    }

    #[test]
    fn publishers_from_a_folder_of_key_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (msc, acme) = (SecretKey::from_seed(&[1; 32]).public_key(), SecretKey::from_seed(&[2; 32]).public_key());
        std::fs::write(dir.path().join("msc.pub"), format!("{msc}\n")).expect("write");
        std::fs::write(dir.path().join("README"), "not a key").expect("write");
        let text = format!("[plugins]\nsignatures = \"require\"\ntrusted_dir = {:?}\n", dir.path());
        let config = parse(&text).expect("valid");
        assert_eq!(config.plugins.trusted.get("msc"), Some(&msc));
        assert!(config.plugins.trusted.get("README").is_none());

        // The same publisher in the table: the same key is fine, another is an error.
        let same = parse(&format!("{text}[plugins.trusted]\nmsc = \"{msc}\"\n")).expect("same key");
        assert_eq!(same.plugins.trusted.get("msc"), Some(&msc));
        let errors = parse(&format!("{text}[plugins.trusted]\nmsc = \"{acme}\"\n")).expect_err("two keys");
        assert!(errors[0].contains("plugins.trusted_dir:") && errors[0].contains("another key"), "{errors:?}");

        std::fs::write(dir.path().join("bad.pub"), "msc-ed25519:AAAA").expect("write");
        let errors = parse(&text).expect_err("bad key file");
        assert!(errors[0].contains("bad.pub: `msc-ed25519:AAAA` is not a plugin signing public key"), "{errors:?}");
        let errors = parse("[plugins]\ntrusted_dir = \"/nonexistent/keys\"\n").expect_err("no folder");
        assert!(errors[0].contains("plugins.trusted_dir: /nonexistent/keys: cannot be read"), "{errors:?}");
    }

    #[test]
    fn require_without_trusted_publishers_is_refused() {
        let errors = parse("[plugins]\nsignatures = \"require\"\n").expect_err("refused");
        assert_eq!(
            errors,
            [
                "/etc/msc/c.toml:2:14: plugins.signatures: is \"require\" but neither [plugins.trusted] nor `trusted_dir` names a publisher: every plugin would be refused"
            ]
        );
    }

    #[test]
    fn serde_errors_name_the_key() {
        let errors = parse("[plugins]\nsignatures = \"sometimes\"\n").expect_err("refused");
        assert!(
            errors[0].starts_with("/etc/msc/c.toml:2:14: plugins.signatures: unknown variant `sometimes`"),
            "{errors:?}"
        );
        let errors = parse("[plugins]\nsignature = \"warn\"\n").expect_err("refused");
        assert!(errors[0].starts_with("/etc/msc/c.toml:2:1: plugins.signature: unknown field"), "{errors:?}");
        let errors = parse("[plugins.trusted]\nacme = 3\n").expect_err("refused");
        assert!(errors[0].starts_with("/etc/msc/c.toml:2:8: plugins.trusted.acme: invalid type"), "{errors:?}");
    }
}
