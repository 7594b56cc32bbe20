//! Local users of the local proxy: a file of names and argon2id password hashes, managed with
//! `connector users add|passwd|remove|list` and read again at every login, so changes apply
//! without a restart.
//!
//! TOML, like the config and the keyring: admins already read that format, and the header
//! comment can say what the file is and how to manage it.
//!
//! ```toml
//! format = 1
//!
//! [[users]]
//! name = "alice"
//! hash = "$argon2id$v=19$m=19456,t=2,p=1$…salt…$…hash…"
//! ```
//!
//! The hashes do not reveal passwords, but they let anyone holding the file guess offline, so the
//! file must be readable by its owner only: reading refuses anything else.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

const FORMAT: u32 = 1;
const HEADER: &str = "\
# Local users of the Mobile Security Connector's local proxy: names and argon2id password hashes.
# Keep it mode 0600. Manage it with `connector users add|passwd|remove|list`; do not edit by hand.
";
pub const MAX_NAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// argon2id v19 with OWASP's first recommendation: 19 MiB of memory, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// A hash no password is known to match (random salt and output), with the same parameters as
/// real ones: an unknown name is checked against it, so a login takes as long either way.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$VmmAJk8gsRTTTFj+GKFo1A$S3YqcppIDKAtS2WZawcx2YgKlfHuaWKE3Ufv7WKHNB8";

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("users file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "users file {} can be read or written by other users (mode {mode:o}); it holds password hashes: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("users file {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("user `{0}` already exists; change the password with `connector users passwd`")]
    Exists(String),
    #[error("there is no user `{0}`")]
    NotFound(String),
    #[error("user name `{0}` is not valid: use 1 to {MAX_NAME_CHARS} letters, digits, `.`, `_`, `@` or `-`")]
    InvalidName(String),
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password is too long: use at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The users file. Every call reads it afresh; writes replace it atomically.
#[derive(Clone, Debug)]
pub struct UserStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    format: u32,
    #[serde(default)]
    users: Vec<UserEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    /// PHC string of an argon2id hash.
    hash: String,
}

impl UserStore {
    /// The store in `path`; a file that does not exist yet holds no users.
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a user; an existing name is an error.
    pub fn add(&self, name: &str, password: &SecretString) -> Result<(), UsersError> {
        check_name(name)?;
        check_password(password)?;
        let mut users = self.read()?;
        if users.iter().any(|u| u.name == name) {
            return Err(UsersError::Exists(name.to_string()));
        }
        users.push(UserEntry { name: name.to_string(), hash: hash(password)? });
        self.write(users)
    }

    /// Replaces a user's password; an unknown name is an error.
    pub fn set_password(&self, name: &str, password: &SecretString) -> Result<(), UsersError> {
        check_name(name)?;
        check_password(password)?;
        let mut users = self.read()?;
        let user = users.iter_mut().find(|u| u.name == name).ok_or_else(|| UsersError::NotFound(name.to_string()))?;
        user.hash = hash(password)?;
        self.write(users)
    }

    /// Removes a user; an unknown name is an error.
    pub fn remove(&self, name: &str) -> Result<(), UsersError> {
        check_name(name)?;
        let mut users = self.read()?;
        let before = users.len();
        users.retain(|u| u.name != name);
        if users.len() == before {
            return Err(UsersError::NotFound(name.to_string()));
        }
        self.write(users)
    }

    /// The user names, in file order.
    pub fn list(&self) -> Result<Vec<String>, UsersError> {
        Ok(self.read()?.into_iter().map(|u| u.name).collect())
    }

    /// Whether `password` is `name`'s. Unknown or malformed names are checked against a dummy
    /// hash, so the answer takes as long and says only "no". Blocking (argon2 is deliberately
    /// slow): async callers run it in `spawn_blocking`.
    pub fn verify(&self, name: &str, password: &SecretString) -> Result<bool, UsersError> {
        let users = self.read()?;
        let stored = users.iter().find(|u| u.name == name).map(|u| u.hash.as_str());
        let (hash, known) = match stored {
            Some(hash) if password.expose_secret().len() <= MAX_PASSWORD_BYTES => (hash, true),
            _ => (DUMMY_HASH, false),
        };
        let hash = PasswordHash::new(hash).map_err(|e| self.invalid(format!("user `{name}`: {e}")))?;
        // The parameters come from the stored hash, checked when the file was read.
        let matches = Argon2::default().verify_password(password.expose_secret().as_bytes(), &hash).is_ok();
        Ok(known && matches)
    }

    fn read(&self) -> Result<Vec<UserEntry>, UsersError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        self.check_permissions(&file)?;
        let text = io::read_to_string(file).map_err(|e| self.io(e))?;
        let parsed: UsersFile = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| line_of(&text, s.start)).map_or_else(String::new, |l| format!("line {l}: "));
            self.invalid(format!("{at}{}", e.message()))
        })?;
        if parsed.format != FORMAT {
            return Err(self
                .invalid(format!("format {} is not supported (this connector reads format {FORMAT})", parsed.format)));
        }
        for (i, user) in parsed.users.iter().enumerate() {
            check_name(&user.name).map_err(|e| self.invalid(e.to_string()))?;
            if parsed.users[..i].iter().any(|u| u.name == user.name) {
                return Err(self.invalid(format!("user `{}` appears twice", user.name)));
            }
            check_hash(&user.hash).map_err(|reason| self.invalid(format!("user `{}`: {reason}", user.name)))?;
        }
        Ok(parsed.users)
    }

    /// Replaces the file: a temporary file in the same directory (mode 0600 from the start),
    /// flushed to disk, then renamed over it. Readers see the old file or the new one, whole.
    fn write(&self, users: Vec<UserEntry>) -> Result<(), UsersError> {
        let body = toml::to_string(&UsersFile { format: FORMAT, users })
            .map_err(|e| self.invalid(format!("cannot be written: {e}")))?;
        crate::atomic_file::replace(&self.path, 0o600, &[HEADER.as_bytes(), b"\n", body.as_bytes()])
            .map_err(|e| self.io(e))
    }

    #[cfg(unix)]
    fn check_permissions(&self, file: &File) -> Result<(), UsersError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(|e| self.io(e))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(UsersError::Permissions { path: self.path.clone(), mode: mode & 0o777 });
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_permissions(&self, _: &File) -> Result<(), UsersError> {
        Ok(())
    }

    fn io(&self, source: io::Error) -> UsersError {
        UsersError::Io { path: self.path.clone(), source }
    }

    fn invalid(&self, message: String) -> UsersError {
        UsersError::Invalid { path: self.path.clone(), message }
    }
}

/// 1 to 64 characters of `[A-Za-z0-9._@-]`: fits in a log line, a cookie and an LDAP filter
/// without escaping.
pub fn check_name(name: &str) -> Result<(), UsersError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
    if name.is_empty() || name.len() > MAX_NAME_CHARS || !name.chars().all(allowed) {
        return Err(UsersError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// The rules for a new password: long enough to resist guessing, short enough to hash quickly.
pub fn check_password(password: &SecretString) -> Result<(), UsersError> {
    let password = password.expose_secret();
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UsersError::PasswordTooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UsersError::PasswordTooShort);
    }
    Ok(())
}

fn argon2() -> Result<Argon2<'static>, UsersError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| UsersError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string for `password`, with a fresh 16-byte salt from the operating system.
fn hash(password: &SecretString) -> Result<String, UsersError> {
    let hash =
        argon2()?.hash_password(password.expose_secret().as_bytes()).map_err(|e| UsersError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Only argon2id hashes are accepted, and none costing more than 16 times ours: a hand-edited
/// file must not make each login take minutes or gigabytes.
fn check_hash(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc).map_err(|e| format!("hash is not a PHC string: {e}"))?;
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return Err(format!("hash is {}, not argon2id", hash.algorithm));
    }
    let params = Params::try_from(&hash).map_err(|e| format!("hash parameters: {e}"))?;
    if params.m_cost() > 16 * M_COST_KIB || params.t_cost() > 16 * T_COST || params.p_cost() > 16 {
        return Err("hash parameters are too costly".to_string());
    }
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    fn store() -> (tempfile::TempDir, UserStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = UserStore::new(&dir.path().join("users.toml"));
        (dir, store)
    }

    #[test]
    fn users_are_added_verified_changed_and_removed() {
        let (_dir, store) = store();
        assert_eq!(store.list().expect("no file yet"), Vec::<String>::new());
        assert!(!store.verify("alice", &secret("correct horse battery")).expect("verify"));

        store.add("alice", &secret("correct horse battery")).expect("add alice");
        store.add("bob@corp.example", &secret("staple-staple-staple")).expect("add bob");
        assert_eq!(store.list().expect("list"), ["alice", "bob@corp.example"]);
        assert!(store.verify("alice", &secret("correct horse battery")).expect("verify"));
        assert!(!store.verify("alice", &secret("correct horse batter")).expect("verify"));
        assert!(!store.verify("alice", &secret("staple-staple-staple")).expect("verify"));
        assert!(!store.verify("carol", &secret("correct horse battery")).expect("verify"));
        assert!(!store.verify("", &secret("")).expect("verify"));

        store.set_password("alice", &secret("new and longer password")).expect("passwd");
        assert!(!store.verify("alice", &secret("correct horse battery")).expect("verify"));
        assert!(store.verify("alice", &secret("new and longer password")).expect("verify"));

        store.remove("alice").expect("remove");
        assert_eq!(store.list().expect("list"), ["bob@corp.example"]);
        assert!(!store.verify("alice", &secret("new and longer password")).expect("verify"));
        assert!(store.verify("bob@corp.example", &secret("staple-staple-staple")).expect("verify"));
    }

    #[test]
    fn hashes_are_argon2id_with_our_parameters_and_salted() {
        let (_dir, store) = store();
        store.add("alice", &secret("correct horse battery")).expect("add");
        store.add("bob", &secret("correct horse battery")).expect("add");
        let text = std::fs::read_to_string(store.path()).expect("read");
        assert!(text.starts_with("# Local users"), "{text}");
        assert!(!text.contains("correct horse"), "{text}");
        let hashes: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("hash = \"")).collect();
        assert_eq!(hashes.len(), 2, "{text}");
        assert!(hashes.iter().all(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")), "{text}");
        assert_ne!(hashes[0], hashes[1], "same password, different salts");
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "the dummy must cost the same");
        check_hash(DUMMY_HASH).expect("dummy hash is usable");
    }

    #[test]
    fn mistakes_are_refused_with_clear_errors() {
        let (_dir, store) = store();
        store.add("alice", &secret("correct horse battery")).expect("add");
        let err = store.add("alice", &secret("another good password")).expect_err("duplicate");
        assert!(matches!(err, UsersError::Exists(_)), "{err}");
        let err = store.set_password("bob", &secret("another good password")).expect_err("missing");
        assert_eq!(err.to_string(), "there is no user `bob`");
        assert!(matches!(store.remove("bob"), Err(UsersError::NotFound(_))));

        for bad in ["", "has space", "a/b", "ünïcode", "x(y)", &"a".repeat(65)] {
            let err = store.add(bad, &secret("correct horse battery")).expect_err("bad name");
            assert!(matches!(err, UsersError::InvalidName(_)), "{bad}: {err}");
        }
        store.add(&"a".repeat(64), &secret("correct horse battery")).expect("64 characters");

        let err = store.add("carol", &secret("elevenchars")).expect_err("short");
        assert_eq!(err.to_string(), "the password is too short: use at least 12 characters");
        let err = store.set_password("alice", &secret(&"x".repeat(1025))).expect_err("long");
        assert!(matches!(err, UsersError::PasswordTooLong), "{err}");
        // Twelve characters, more bytes: characters count, not bytes.
        store.add("carol", &secret("ääääääääääää")).expect("12 characters");
        // Nothing refused changed the file.
        assert_eq!(store.list().expect("list"), ["alice", "a".repeat(64).as_str(), "carol"]);
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, store) = store();
        store.add("alice", &secret("correct horse battery")).expect("add");
        let mode = std::fs::metadata(store.path()).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let err = store.verify("alice", &secret("correct horse battery")).expect_err("group-readable");
        assert!(matches!(err, UsersError::Permissions { mode: 0o640, .. }), "{err}");
        assert!(err.to_string().contains("run `chmod 600 "), "{err}");
        assert!(store.list().is_err());
        assert!(store.add("bob", &secret("correct horse battery")).is_err());
    }

    #[test]
    fn a_damaged_file_is_reported_with_its_line() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, store) = store();
        let write = |text: &str| {
            std::fs::write(store.path(), text).expect("write");
            std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o600)).expect("chmod");
        };
        write("format = 1\n[[users]]\nname = \"alice\"\n");
        let err = store.list().expect_err("no hash");
        assert!(err.to_string().contains("line 2: missing field `hash`"), "{err}");

        write("format = 1\n[[users]]\nname = \"alice\"\nhash = \"$2b$12$notargon\"\n");
        assert!(store.verify("alice", &secret("x")).is_err_and(|e| e.to_string().contains("user `alice`")));

        write(&format!(
            "format = 1\n[[users]]\nname = \"a\"\nhash = \"{DUMMY_HASH}\"\n[[users]]\nname = \"a\"\nhash = \"{DUMMY_HASH}\"\n"
        ));
        assert!(store.list().is_err_and(|e| e.to_string().contains("user `a` appears twice")));

        let costly = DUMMY_HASH.replace("m=19456", "m=4194304");
        write(&format!("format = 1\n[[users]]\nname = \"a\"\nhash = \"{costly}\"\n"));
        assert!(store.list().is_err_and(|e| e.to_string().contains("too costly")));
    }

    #[test]
    fn the_file_is_replaced_whole_never_rewritten_in_place() {
        use std::io::Read;
        let (dir, store) = store();
        store.add("alice", &secret("correct horse battery")).expect("add");
        // A reader that opened the file before a change keeps reading the old file, whole.
        let mut before = File::open(store.path()).expect("open");
        store.add("bob", &secret("correct horse battery")).expect("add");
        let mut old = String::new();
        before.read_to_string(&mut old).expect("read");
        assert!(old.contains("alice") && !old.contains("bob"), "{old}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["users.toml"], "no temporary file is left behind");

        // A write that cannot finish leaves neither a temporary file nor a changed file.
        let missing = UserStore::new(&dir.path().join("no-such-dir/users.toml"));
        assert!(matches!(missing.add("carol", &secret("correct horse battery")), Err(UsersError::Io { .. })));
        assert_eq!(store.list().expect("list"), ["alice", "bob"]);
    }
}
