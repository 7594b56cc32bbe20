//! The keyring: a file of AES-256 keys, each with an id and a date, one of them primary.
//!
//! New tokens use the primary key; every key still decrypts the tokens it made, so rotation never
//! orphans a token. Two connectors that share the file make identical tokens. The file holds the
//! keys in the clear, so it must be readable by its owner only: loading refuses anything else.
//!
//! ```toml
//! format = 1
//! primary = "7c1e"
//!
//! [[keys]]
//! id = "7c1e"
//! created = "2026-11-23T10:00:00Z"
//! secret = "…base64, 32 bytes…"
//! retired = "2027-05-01T09:00:00Z"   # when it stopped being primary (absent for the primary)
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aes_gcm_siv::{Aes256GcmSiv, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::token::KeyId;

const FORMAT: u32 = 1;
const KEY_BYTES: usize = 32;
const HEADER: &str = "\
# PII keyring of the Mobile Security Connector. Anyone holding this file can read every token the
# connector made: keep it mode 0600, back it up, and give every connector of a high-availability
# group the same file. Manage it with `connector keys generate|rotate|list`; do not edit by hand.
";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("keyring {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "keyring {path} can be read or written by other users (mode {mode:o}); it holds every PII key: run `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("keyring {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("keyring {path} already exists; use `connector keys rotate` to add a key to it")]
    Exists { path: PathBuf },
    #[error("cannot get random bytes for a key: {0}")]
    Random(String),
}

/// One key: its id, when it was made, when it stopped being primary, and the cipher.
pub struct Key {
    pub id: KeyId,
    pub created: SystemTime,
    pub retired: Option<SystemTime>,
    secret: Zeroizing<[u8; KEY_BYTES]>,
    cipher: Aes256GcmSiv,
}

impl Key {
    pub fn cipher(&self) -> &Aes256GcmSiv {
        &self.cipher
    }

    fn new(id: KeyId, created: SystemTime, retired: Option<SystemTime>, secret: Zeroizing<[u8; KEY_BYTES]>) -> Key {
        let cipher = Aes256GcmSiv::new(&(*secret).into());
        Key { id, created, retired, secret, cipher }
    }
}

/// The keys, the primary first among equals.
pub struct Keyring {
    keys: Vec<Key>,
    primary: usize,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ids only: key bytes never reach a log line.
        f.debug_struct("Keyring").field("primary", &self.primary().id).field("keys", &self.keys.len()).finish()
    }
}

impl Keyring {
    /// A keyring with one fresh key.
    pub fn generate() -> Result<Keyring, KeyringError> {
        let mut keyring = Keyring { keys: Vec::new(), primary: 0 };
        keyring.rotate()?;
        Ok(keyring)
    }

    /// A keyring of one given key, created now: for fuzzing and reproducible benchmarks. Real
    /// keyrings come from [`Keyring::generate`].
    pub fn from_secret(id: KeyId, secret: [u8; KEY_BYTES]) -> Keyring {
        Keyring { keys: vec![Key::new(id, SystemTime::now(), None, Zeroizing::new(secret))], primary: 0 }
    }

    /// Adds a fresh key and makes it primary; the old primary is kept, marked retired.
    pub fn rotate(&mut self) -> Result<KeyId, KeyringError> {
        let now = SystemTime::now();
        let mut secret = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(secret.as_mut()).map_err(|e| KeyringError::Random(e.to_string()))?;
        let id = loop {
            let mut id = [0u8; 2];
            getrandom::fill(&mut id).map_err(|e| KeyringError::Random(e.to_string()))?;
            let id = KeyId(u16::from_be_bytes(id));
            if self.get(id).is_none() {
                break id;
            }
        };
        if let Some(old) = self.keys.get_mut(self.primary) {
            old.retired = Some(now);
        }
        self.keys.push(Key::new(id, now, None, secret));
        self.primary = self.keys.len() - 1;
        Ok(id)
    }

    pub fn primary(&self) -> &Key {
        &self.keys[self.primary]
    }

    pub fn get(&self, id: KeyId) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// Names this keyring without revealing it: connectors that share work must hold the same
    /// keys, and the relay compares fingerprints (docs/relay-protocol.md). 32 hex digits of
    /// SHA-256 over every key's id and the SHA-256 of its bytes, oldest first.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(b"msc keyring fingerprint v1");
        for key in &self.keys {
            hash.update(key.id.0.to_be_bytes());
            hash.update(Sha256::digest(key.secret.as_slice()));
        }
        hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a keyring file, refusing one that others can read.
    pub fn load(path: &Path) -> Result<Keyring, KeyringError> {
        let io = |source| KeyringError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        check_permissions(path, &file)?;
        let text = Zeroizing::new(std::io::read_to_string(file).map_err(io)?);
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Keyring, KeyringError> {
        let invalid = |message: String| KeyringError::Invalid { path: path.to_path_buf(), message };
        // The toml error quotes the offending line, which may hold a key: keep only its place.
        let file: KeyringFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_of(text, s.start)).map_or_else(String::new, |l| format!("line {l}: "));
            invalid(format!("{at}{}", e.message()))
        })?;
        if file.format != FORMAT {
            return Err(invalid(format!(
                "format {} is not supported (this connector reads format {FORMAT})",
                file.format
            )));
        }
        let mut keys: Vec<Key> = Vec::with_capacity(file.keys.len());
        for entry in file.keys {
            let id: KeyId =
                entry.id.parse().map_err(|_| invalid(format!("key id `{}` is not 4 hex digits", entry.id)))?;
            if keys.iter().any(|k| k.id == id) {
                return Err(invalid(format!("key {id} appears twice")));
            }
            let created = humantime::parse_rfc3339(&entry.created)
                .map_err(|e| invalid(format!("key {id}: created `{}`: {e}", entry.created)))?;
            let retired = entry
                .retired
                .as_deref()
                .map(|r| humantime::parse_rfc3339(r).map_err(|e| invalid(format!("key {id}: retired `{r}`: {e}"))))
                .transpose()?;
            let decoded = Zeroizing::new(STANDARD.decode(entry.secret.as_bytes()).unwrap_or_default());
            let mut secret = Zeroizing::new([0u8; KEY_BYTES]);
            if decoded.len() != KEY_BYTES {
                return Err(invalid(format!("key {id}: secret is not {KEY_BYTES} bytes of base64")));
            }
            secret.copy_from_slice(&decoded);
            keys.push(Key::new(id, created, retired, secret));
        }
        let primary_id: KeyId =
            file.primary.parse().map_err(|_| invalid(format!("primary `{}` is not a key id", file.primary)))?;
        let primary = keys
            .iter()
            .position(|k| k.id == primary_id)
            .ok_or_else(|| invalid(format!("primary key {primary_id} is not in the file")))?;
        Ok(Keyring { keys, primary })
    }

    /// Writes the keyring to a new file (mode 0600), refusing to replace one.
    pub fn create(&self, path: &Path) -> Result<(), KeyringError> {
        self.write(path, false)
    }

    /// Replaces the keyring file atomically: a reader sees the old file or the new one, whole.
    pub fn save(&self, path: &Path) -> Result<(), KeyringError> {
        self.write(path, true)
    }

    fn write(&self, path: &Path, replace: bool) -> Result<(), KeyringError> {
        let io = |source| KeyringError::Io { path: path.to_path_buf(), source };
        let file = KeyringFile {
            format: FORMAT,
            primary: self.primary().id.to_string(),
            keys: self
                .keys
                .iter()
                .map(|k| KeyEntry {
                    id: k.id.to_string(),
                    created: humantime::format_rfc3339_seconds(k.created).to_string(),
                    retired: k.retired.map(|r| humantime::format_rfc3339_seconds(r).to_string()),
                    secret: STANDARD.encode(k.secret.as_ref()),
                })
                .collect(),
        };
        let text = Zeroizing::new(format!(
            "{HEADER}{}",
            toml::to_string(&file)
                .map_err(|e| KeyringError::Invalid { path: path.to_path_buf(), message: e.to_string() })?
        ));
        drop(file);
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // tempfile creates the file with mode 0600, so the keys are never readable by others,
        // not even for a moment.
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        temp.write_all(text.as_bytes()).map_err(io)?;
        temp.as_file().sync_all().map_err(io)?;
        if replace {
            temp.persist(path).map_err(|e| io(e.error))?;
        } else {
            temp.persist_noclobber(path).map_err(|e| match e.error.kind() {
                std::io::ErrorKind::AlreadyExists => KeyringError::Exists { path: path.to_path_buf() },
                _ => io(e.error),
            })?;
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: u32,
    primary: String,
    keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired: Option<String>,
    secret: String,
}

impl Drop for KeyEntry {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(unix)]
fn check_permissions(path: &Path, file: &std::fs::File) -> Result<(), KeyringError> {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        file.metadata().map_err(|source| KeyringError::Io { path: path.to_path_buf(), source })?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyringError::Permissions { path: path.to_path_buf(), mode: mode & 0o777 });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &std::fs::File) -> Result<(), KeyringError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_keyrings_apart_and_change_on_rotation() {
        let a = Keyring::from_secret(KeyId(1), [7; KEY_BYTES]);
        let same = Keyring::from_secret(KeyId(1), [7; KEY_BYTES]);
        let other_bytes = Keyring::from_secret(KeyId(1), [8; KEY_BYTES]);
        let other_id = Keyring::from_secret(KeyId(2), [7; KEY_BYTES]);
        assert_eq!(a.fingerprint(), same.fingerprint());
        assert_eq!(a.fingerprint().len(), 32);
        assert_ne!(a.fingerprint(), other_bytes.fingerprint());
        assert_ne!(a.fingerprint(), other_id.fingerprint());
        let mut rotated = Keyring::from_secret(KeyId(1), [7; KEY_BYTES]);
        rotated.rotate().expect("rotate");
        assert_ne!(a.fingerprint(), rotated.fingerprint());
    }

    #[test]
    fn generate_rotate_and_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pii.keyring");
        let mut keyring = Keyring::generate().expect("generate");
        keyring.create(&path).expect("create");
        assert!(matches!(keyring.create(&path), Err(KeyringError::Exists { .. })));
        let first = keyring.primary().id;
        let second = keyring.rotate().expect("rotate");
        keyring.save(&path).expect("save");

        let loaded = Keyring::load(&path).expect("load");
        assert_eq!(loaded.primary().id, second);
        assert!(loaded.get(first).is_some_and(|k| k.retired.is_some()));
        assert_eq!(loaded.keys().count(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_keyring_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pii.keyring");
        Keyring::generate().expect("generate").create(&path).expect("create");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let error = Keyring::load(&path).expect_err("refused").to_string();
        assert!(error.contains("mode 640") && error.contains("chmod 600"), "{error}");
    }

    #[test]
    fn damaged_files_say_what_is_wrong_without_quoting_keys() {
        let path = Path::new("k");
        let secret = STANDARD.encode([7u8; 32]);
        let cases = [
            (format!("format = 1\nprimary = \"0001\"\nkeys = [{{ id = \"0001\", created = \"2026-01-01T00:00:00Z\", secret = \"{secret}\" }}, {{ id = \"0001\", created = \"2026-01-01T00:00:00Z\", secret = \"{secret}\" }}]\n"), "key 0001 appears twice"),
            (format!("format = 1\nprimary = \"0002\"\n[[keys]]\nid = \"0001\"\ncreated = \"2026-01-01T00:00:00Z\"\nsecret = \"{secret}\"\n"), "primary key 0002 is not in the file"),
            ("format = 1\nprimary = \"0001\"\n[[keys]]\nid = \"0001\"\ncreated = \"2026-01-01T00:00:00Z\"\nsecret = \"c2hvcnQ=\"\n".to_string(), "secret is not 32 bytes"),
            (format!("format = 2\nprimary = \"0001\"\nkeys = []\n{secret}"), "line 4"),
        ];
        for (text, expected) in cases {
            let error = Keyring::parse(path, &text).expect_err("invalid").to_string();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains(&secret), "{error}");
        }
    }
}
