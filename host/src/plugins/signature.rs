//! Signed plugins: a publisher signs a component with an ed25519 key, the admin lists the
//! publishers it trusts (`[plugins.trusted]`), and the connector refuses a plugin whose signature
//! does not verify against that list (see docs/plugin-signing.md).
//!
//! - Public key, as pasted into the config: `msc-ed25519:<base64 of 32 bytes>`.
//! - Secret key file, mode 0600: `msc-ed25519-secret:<base64 of the 32-byte seed>\n`.
//! - Detached signature beside the plugin, `maas360.wasm.sig`:
//!
//! ```json
//! {
//!   "format": "msc-plugin-signature-1",
//!   "publisher": "acme",
//!   "public_key": "msc-ed25519:…",
//!   "sha256": "<hex of the component bytes>",
//!   "signature": "<base64 ed25519 signature over the component bytes>"
//! }
//! ```
//!
//! The publisher name and key in the file are claims: what is trusted is the config's key for that
//! name. A plugin whose bytes changed after signing, or that carries a signature no trusted key
//! made, is refused whatever the policy; only a plugin with no `.sig` at all is let through, with
//! a warning, under [`SignaturePolicy::Warn`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What a public key's text starts with.
pub const PUBLIC_KEY_PREFIX: &str = "msc-ed25519:";
/// What a secret key file starts with.
pub const SECRET_KEY_PREFIX: &str = "msc-ed25519-secret:";
/// The `format` of a signature file.
pub const SIGNATURE_FORMAT: &str = "msc-plugin-signature-1";
/// Publisher names are 1 to this many characters.
pub const MAX_PUBLISHER_LEN: usize = 64;

const KEY_BYTES: usize = 32;

/// What the connector does with a plugin that has no signature file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignaturePolicy {
    /// Refuse it.
    Require,
    /// Load it and log a warning.
    #[default]
    Warn,
}

impl fmt::Display for SignaturePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignaturePolicy::Require => "require",
            SignaturePolicy::Warn => "warn",
        })
    }
}

/// An ed25519 public key; its text form is `msc-ed25519:<base64 of 32 bytes>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses `msc-ed25519:<base64>`.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let not_a_key = |reason: &str| KeyError::NotAPublicKey { text: shorten(text), reason: reason.to_string() };
        let encoded = text
            .trim()
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or_else(|| not_a_key(&format!("it does not start with `{PUBLIC_KEY_PREFIX}`")))?;
        let bytes = STANDARD.decode(encoded).map_err(|_| not_a_key("what follows the prefix is not base64"))?;
        let bytes: [u8; KEY_BYTES] =
            bytes.try_into().map_err(|_| not_a_key("an ed25519 public key is 32 bytes (44 characters of base64)"))?;
        VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| not_a_key("it is not a point on the curve"))
    }

    fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PublicKey::parse(text)
    }
}

/// A publisher's signing key. Its bytes are zeroized when dropped and never printed.
pub struct SecretKey(SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public_key())
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SecretKey::from_seed(&seed))
    }

    /// The key of a given 32-byte seed: for tests. Real keys come from [`SecretKey::generate`].
    pub fn from_seed(seed: &[u8; KEY_BYTES]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Reads a secret key file, refusing one that other users can read or write.
    pub fn load(path: &Path) -> Result<SecretKey, KeyError> {
        let io = |source| KeyError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        check_permissions(path, &file)?;
        let text = Zeroizing::new(std::io::read_to_string(file).map_err(io)?);
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<SecretKey, KeyError> {
        // Messages never quote the file: it holds the key.
        let invalid = |message: &str| KeyError::InvalidSecret { path: path.to_path_buf(), message: message.into() };
        let encoded = text.trim().strip_prefix(SECRET_KEY_PREFIX).ok_or_else(|| {
            if text.trim().starts_with(PUBLIC_KEY_PREFIX) {
                invalid("this is a public key; sign with the secret key file made by `connector plugins keygen`")
            } else {
                invalid(&format!("it does not start with `{SECRET_KEY_PREFIX}`"))
            }
        })?;
        let decoded = Zeroizing::new(STANDARD.decode(encoded).unwrap_or_default());
        if decoded.len() != KEY_BYTES {
            return Err(invalid("the key is not 32 bytes of base64"));
        }
        let mut seed = Zeroizing::new([0u8; KEY_BYTES]);
        seed.copy_from_slice(&decoded);
        Ok(SecretKey::from_seed(&seed))
    }

    /// Writes the key to a new file, mode 0600, refusing to replace an existing file.
    pub fn create(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io { path: path.to_path_buf(), source };
        // Room for the whole line up front: no reallocation leaves a copy of the key behind.
        let mut text = Zeroizing::new(String::with_capacity(SECRET_KEY_PREFIX.len() + 45));
        text.push_str(SECRET_KEY_PREFIX);
        STANDARD.encode_string(self.0.as_bytes(), &mut text);
        text.push('\n');
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists { path: path.to_path_buf() },
            _ => io(e),
        })?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    fn sign(&self, bytes: &[u8]) -> Signature {
        self.0.sign(bytes)
    }
}

/// Problems with keys: parsing a public key, reading or writing a secret key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{text}` is not a plugin signing public key ({PUBLIC_KEY_PREFIX}<base64>): {reason}")]
    NotAPublicKey { text: String, reason: String },
    #[error("secret key {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "secret key {path} can be read or written by other users (mode {mode:o}); anyone who reads it can sign plugins: run `chmod 600 {path}`",
        path = path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("secret key {}: {message}", path.display())]
    InvalidSecret { path: PathBuf, message: String },
    #[error("{} already exists; choose another file (a key is never overwritten)", path.display())]
    Exists { path: PathBuf },
    #[error("cannot get random bytes for a key: {0}")]
    Random(String),
}

#[cfg(unix)]
fn check_permissions(path: &Path, file: &std::fs::File) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        file.metadata().map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions { path: path.to_path_buf(), mode: mode & 0o777 });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &std::fs::File) -> Result<(), KeyError> {
    Ok(())
}

/// Checks a publisher name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, as in config keys and
/// log lines.
pub fn check_publisher_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_PUBLISHER_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "publisher name `{}` is not valid: use 1 to {MAX_PUBLISHER_LEN} letters, digits, `-`, `_` or `.`",
            shorten(name).escape_debug()
        ))
    }
}

/// The publishers whose plugins the admin trusts, each with its one key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedPublishers(BTreeMap<String, PublicKey>);

impl TrustedPublishers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for `publisher`, replacing any key it had.
    pub fn insert(&mut self, publisher: impl Into<String>, key: PublicKey) {
        self.0.insert(publisher.into(), key);
    }

    pub fn get(&self, publisher: &str) -> Option<&PublicKey> {
        self.0.get(publisher)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &PublicKey)> {
        self.0.iter().map(|(name, key)| (name.as_str(), key))
    }
}

impl FromIterator<(String, PublicKey)> for TrustedPublishers {
    fn from_iter<I: IntoIterator<Item = (String, PublicKey)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A plugin whose signature verified against a trusted publisher's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub publisher: String,
}

/// Why a plugin's signature was not accepted. Messages read after the plugin's path:
/// `maas360.wasm: has changed since it was signed …`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("is not signed: there is no .sig file beside it")]
    Unsigned,
    #[error("has a malformed signature file: {0}")]
    Malformed(String),
    #[error(
        "is signed by `{publisher}`, which is not a trusted publisher (add its public key under [plugins.trusted])"
    )]
    UnknownPublisher { publisher: String },
    #[error("is signed in the name of `{publisher}`, but with another key than the one trusted for `{publisher}`")]
    KeyMismatch { publisher: String },
    #[error("has changed since it was signed: its SHA-256 is not the one in its signature file")]
    DigestMismatch,
    #[error("has a signature that does not verify with its publisher's key: the file or its signature was altered")]
    BadSignature,
}

/// The signature file of `plugin`: `maas360.wasm` → `maas360.wasm.sig`.
pub fn sig_path(plugin: &Path) -> PathBuf {
    let mut name = plugin.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".sig");
    plugin.with_file_name(name)
}

/// The SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A signature file, as written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    format: String,
    publisher: String,
    public_key: String,
    sha256: String,
    signature: String,
}

/// Signs `bytes` (a component) as `publisher`: the text of its `.sig` file.
pub fn sign(bytes: &[u8], publisher: &str, secret: &SecretKey) -> String {
    let file = SignatureFile {
        format: SIGNATURE_FORMAT.to_string(),
        publisher: publisher.to_string(),
        public_key: secret.public_key().to_string(),
        sha256: sha256_hex(bytes),
        signature: STANDARD.encode(secret.sign(&signed_message(publisher, &sha256_hex(bytes))).to_bytes()),
    };
    // Serializing strings into JSON cannot fail.
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// What a signature file claims, parsed but not yet checked against the bytes or the trust list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureClaim {
    pub publisher: String,
    pub public_key: PublicKey,
    pub sha256: String,
    signature: Signature,
}

/// Parses a signature file without checking it: for showing who claims to have signed a plugin.
pub fn parse_signature(sig_file_text: &str) -> Result<SignatureClaim, SignatureError> {
    let malformed = |m: String| SignatureError::Malformed(m);
    let file: SignatureFile = serde_json::from_str(sig_file_text).map_err(|e| malformed(e.to_string()))?;
    if file.format != SIGNATURE_FORMAT {
        return Err(malformed(format!(
            "format `{}` is not `{SIGNATURE_FORMAT}`",
            shorten(&file.format).escape_debug()
        )));
    }
    check_publisher_name(&file.publisher).map_err(malformed)?;
    let public_key = PublicKey::parse(&file.public_key).map_err(|e| malformed(format!("public_key: {e}")))?;
    if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(malformed("sha256 is not 64 lower-case hex digits".into()));
    }
    let signature = STANDARD
        .decode(&file.signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| malformed("signature is not 64 bytes of base64".into()))?;
    Ok(SignatureClaim { publisher: file.publisher, public_key, sha256: file.sha256, signature })
}

/// Checks `bytes` against the text of its signature file (`None`: there is none) and the trusted
/// publishers.
pub fn verify(
    bytes: &[u8],
    sig_file_text: Option<&str>,
    trusted: &TrustedPublishers,
) -> Result<Verified, SignatureError> {
    let claim = parse_signature(sig_file_text.ok_or(SignatureError::Unsigned)?)?;
    let publisher = claim.publisher;
    let key = match trusted.get(&publisher) {
        Some(key) => key,
        None => return Err(SignatureError::UnknownPublisher { publisher }),
    };
    if *key != claim.public_key {
        return Err(SignatureError::KeyMismatch { publisher });
    }
    if sha256_hex(bytes) != claim.sha256 {
        return Err(SignatureError::DigestMismatch);
    }
    // Strict verification refuses malleable signatures and weak keys.
    key.verifying_key()
        .verify_strict(&signed_message(&publisher, &claim.sha256), &claim.signature)
        .map_err(|_| SignatureError::BadSignature)?;
    Ok(Verified { publisher })
}

/// What a key signs: the format name (so a signature made for anything else never passes as a
/// plugin signature), the publisher (so it cannot be moved to another name) and the component's
/// SHA-256 (checked against the bytes before the signature is).
fn signed_message(publisher: &str, sha256: &str) -> Vec<u8> {
    [SIGNATURE_FORMAT.as_bytes(), b"\0", publisher.as_bytes(), b"\0", sha256.as_bytes()].concat()
}

/// Applies `policy` to the plugin at `path` (whose contents are `bytes`), reading its `.sig` if
/// there is one. A signature that is present but does not verify is an error under every policy;
/// a plugin without one is an error under `Require` and `Ok(None)`, logged, under `Warn`.
pub fn check(
    path: &Path,
    bytes: &[u8],
    policy: SignaturePolicy,
    trusted: &TrustedPublishers,
) -> Result<Option<Verified>, SignatureError> {
    let sig = sig_path(path);
    let text = match std::fs::read_to_string(&sig) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(SignatureError::Malformed(format!("{} cannot be read: {e}", sig.display()))),
    };
    match verify(bytes, text.as_deref(), trusted) {
        Ok(verified) => Ok(Some(verified)),
        Err(SignatureError::Unsigned) if policy == SignaturePolicy::Warn => {
            tracing::warn!(
                plugin = %path.display(),
                "plugin is not signed (no {} beside it); loading it because [plugins] signatures = \"warn\"",
                sig.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
            );
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Text from a file or the command line, cut short for an error message.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLUGIN: &[u8] = b"\0asm\x0d\0\x01\0 pretend this is a component";

    fn acme() -> SecretKey {
        SecretKey::from_seed(&[7; 32])
    }

    fn trusting(publisher: &str, key: &SecretKey) -> TrustedPublishers {
        let mut trusted = TrustedPublishers::new();
        trusted.insert(publisher, key.public_key());
        trusted
    }

    #[test]
    fn public_keys_round_trip_and_bad_ones_say_why() {
        let key = acme().public_key();
        let text = key.to_string();
        assert!(text.starts_with("msc-ed25519:") && text.len() == 12 + 44, "{text}");
        assert_eq!(PublicKey::parse(&text).expect("parses"), key);
        assert_eq!(format!(" {text}\n").parse::<PublicKey>().expect("trimmed"), key);

        let reason = |text: &str| PublicKey::parse(text).expect_err(text).to_string();
        assert!(reason("ed25519:AAAA").contains("does not start with `msc-ed25519:`"));
        assert!(reason("msc-ed25519:not base64!").contains("not base64"));
        assert!(reason("msc-ed25519:AAAA").contains("32 bytes"));
    }

    #[test]
    fn sign_then_verify() {
        let key = acme();
        let sig = sign(PLUGIN, "acme", &key);
        let json: serde_json::Value = serde_json::from_str(&sig).expect("json");
        assert_eq!(json["format"], "msc-plugin-signature-1");
        assert_eq!(json["publisher"], "acme");
        assert_eq!(json["public_key"], key.public_key().to_string());
        assert_eq!(json["sha256"], sha256_hex(PLUGIN));
        let verified = verify(PLUGIN, Some(&sig), &trusting("acme", &key)).expect("verifies");
        assert_eq!(verified, Verified { publisher: "acme".into() });
    }

    #[test]
    fn one_flipped_byte_is_refused() {
        let key = acme();
        let sig = sign(PLUGIN, "acme", &key);
        let trusted = trusting("acme", &key);
        for i in 0..PLUGIN.len() {
            let mut tampered = PLUGIN.to_vec();
            tampered[i] ^= 0x01;
            assert_eq!(verify(&tampered, Some(&sig), &trusted), Err(SignatureError::DigestMismatch));
        }
        // The digest rewritten to match the tampered bytes: the signature itself fails.
        let mut tampered = PLUGIN.to_vec();
        tampered[9] ^= 0x80;
        let forged = sig.replace(&sha256_hex(PLUGIN), &sha256_hex(&tampered));
        assert_eq!(verify(&tampered, Some(&forged), &trusted), Err(SignatureError::BadSignature));
        // A flipped bit in the signature.
        let json: serde_json::Value = serde_json::from_str(&sig).expect("json");
        let mut raw = STANDARD.decode(json["signature"].as_str().expect("string")).expect("base64");
        raw[0] ^= 0x01;
        let flipped = sig.replace(json["signature"].as_str().expect("string"), &STANDARD.encode(raw));
        assert_eq!(verify(PLUGIN, Some(&flipped), &trusted), Err(SignatureError::BadSignature));
    }

    #[test]
    fn untrusted_keys_are_refused() {
        let mallory = SecretKey::from_seed(&[9; 32]);
        let trusted = trusting("acme", &acme());
        let by_stranger = sign(PLUGIN, "mallory", &mallory);
        assert_eq!(
            verify(PLUGIN, Some(&by_stranger), &trusted),
            Err(SignatureError::UnknownPublisher { publisher: "mallory".into() })
        );
        let posing_as_acme = sign(PLUGIN, "acme", &mallory);
        assert_eq!(
            verify(PLUGIN, Some(&posing_as_acme), &trusted),
            Err(SignatureError::KeyMismatch { publisher: "acme".into() })
        );
        // Claiming acme's public key but signing with another: the signature fails.
        let claimed = posing_as_acme.replace(&mallory.public_key().to_string(), &acme().public_key().to_string());
        assert_eq!(verify(PLUGIN, Some(&claimed), &trusted), Err(SignatureError::BadSignature));
        assert!(
            SignatureError::KeyMismatch { publisher: "acme".into() }
                .to_string()
                .contains("with another key than the one trusted for `acme`")
        );
    }

    #[test]
    fn malformed_signature_files_say_what_is_wrong() {
        let key = acme();
        let trusted = trusting("acme", &key);
        let good = sign(PLUGIN, "acme", &key);
        let reason = |text: &str| match verify(PLUGIN, Some(text), &trusted) {
            Err(SignatureError::Malformed(reason)) => reason,
            other => panic!("expected Malformed, got {other:?}"),
        };
        assert!(reason("not json").contains("expected"), "{}", reason("not json"));
        assert!(reason("{}").contains("missing field"));
        assert!(reason(&good.replace("msc-plugin-signature-1", "msc-plugin-signature-9")).contains("format"));
        assert!(reason(&good.replace("\"acme\"", "\"a c m e\"")).contains("publisher name"));
        assert!(reason(&good.replace("msc-ed25519:", "ed25519:")).starts_with("public_key: "));
        assert!(reason(&good.replace(&sha256_hex(PLUGIN), "abc")).contains("sha256"));
        assert!(reason(&good.replacen("\"format\"", "\"extra\": 1, \"format\"", 1)).contains("unknown field"));
        let json: serde_json::Value = serde_json::from_str(&good).expect("json");
        let short = good.replace(json["signature"].as_str().expect("string"), "AAAA");
        assert!(reason(&short).contains("signature is not 64 bytes"));
        assert_eq!(SignatureError::Malformed("x".into()).to_string(), "has a malformed signature file: x");
    }

    #[test]
    fn policies_differ_only_on_unsigned_plugins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plugin = dir.path().join("p.wasm");
        std::fs::write(&plugin, PLUGIN).expect("write");
        assert_eq!(sig_path(&plugin), dir.path().join("p.wasm.sig"));
        let key = acme();
        let trusted = trusting("acme", &key);

        assert_eq!(check(&plugin, PLUGIN, SignaturePolicy::Warn, &trusted), Ok(None));
        assert_eq!(check(&plugin, PLUGIN, SignaturePolicy::Require, &trusted), Err(SignatureError::Unsigned));

        std::fs::write(sig_path(&plugin), sign(PLUGIN, "acme", &key)).expect("write sig");
        let verified = Some(Verified { publisher: "acme".into() });
        for policy in [SignaturePolicy::Warn, SignaturePolicy::Require] {
            assert_eq!(check(&plugin, PLUGIN, policy, &trusted), Ok(verified.clone()));
            let mut tampered = PLUGIN.to_vec();
            tampered[12] ^= 1;
            assert_eq!(check(&plugin, &tampered, policy, &trusted), Err(SignatureError::DigestMismatch));
            assert_eq!(
                check(&plugin, PLUGIN, policy, &TrustedPublishers::new()),
                Err(SignatureError::UnknownPublisher { publisher: "acme".into() })
            );
        }
        std::fs::write(sig_path(&plugin), "{").expect("write sig");
        assert!(matches!(check(&plugin, PLUGIN, SignaturePolicy::Warn, &trusted), Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn secret_key_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("acme.key");
        let key = SecretKey::generate().expect("generate");
        key.create(&path).expect("create");
        assert!(matches!(key.create(&path), Err(KeyError::Exists { .. })));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("msc-ed25519-secret:") && text.ends_with('\n'), "{text}");
        let loaded = SecretKey::load(&path).expect("load");
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(!format!("{loaded:?}").contains(text.trim().trim_start_matches(SECRET_KEY_PREFIX)));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let refused = SecretKey::load(&path).expect_err("readable by others").to_string();
            assert!(refused.contains("mode 644") && refused.contains("chmod 600"), "{refused}");
        }

        let public = dir.path().join("acme.pub");
        std::fs::write(&public, format!("{}\n", key.public_key())).expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&public, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let refused = SecretKey::load(&public).expect_err("a public key").to_string();
        assert!(refused.contains("this is a public key"), "{refused}");
    }

    #[test]
    fn publisher_names() {
        for good in ["acme", "Acme-Corp_2.0", "a"] {
            assert!(check_publisher_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in ["", "a b", "ä", "a\u{1b}[31m", long.as_str()] {
            assert!(check_publisher_name(bad).is_err(), "{bad}");
        }
    }
}
