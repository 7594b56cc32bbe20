//! Compiled plugins kept on disk, so that a restart, or a rollback to a plugin version already
//! seen, deserializes the machine code instead of compiling the component again.
//!
//! An entry is named `<sha256 of the component>-<engine hash>.cwasm`, where the engine hash
//! covers everything in the engine's configuration (and the wasmtime version) that compiled code
//! depends on: a changed configuration or an upgraded wasmtime looks for another file and never
//! loads a stale artifact. An entry is
//!
//! ```text
//! b"MSCCWASM1" | SHA-256 of the payload (32 bytes) | payload = Component::serialize()
//! ```
//!
//! and is checked against its SHA-256 before it is deserialized. A corrupt entry is removed and
//! replaced; a cache that cannot be written only costs a compilation, never a failed load.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of every entry; the digit is the format's version.
const MAGIC: &[u8; 9] = b"MSCCWASM1";
const DIGEST_LEN: usize = 32;
const HEADER_LEN: usize = MAGIC.len() + DIGEST_LEN;
const EXTENSION: &str = "cwasm";

/// Compiled components on disk, keyed by component and engine configuration.
#[derive(Clone, Debug)]
pub struct CompiledCache {
    dir: PathBuf,
}

/// How [`CompiledCache::load_or_compile`] got the component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Deserialized from a valid entry: nothing compiled.
    Hit,
    /// No entry: compiled (and, unless writing failed, stored).
    Compiled,
    /// The entry was unreadable or corrupt: removed, compiled and stored again.
    Rebuilt { reason: String },
}

impl std::fmt::Display for CacheOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hit => f.write_str("cache hit"),
            Self::Compiled => f.write_str("compiled"),
            Self::Rebuilt { reason } => write!(f, "compiled (corrupt cache entry replaced: {reason})"),
        }
    }
}

impl CompiledCache {
    /// A cache in `dir`. Nothing is touched until the first load: the directory is created then,
    /// readable by the connector's user only.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for the component with digest `sha256`, compiled by `engine`, lives.
    pub fn entry_path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.{EXTENSION}", engine_hash(engine)))
    }

    /// The component `bytes`, whose SHA-256 (lowercase hex) is `sha256`, compiled for `engine`:
    /// from the cache when it holds a valid entry, else compiled and stored. Only a compilation
    /// error is an error; every cache problem is logged and costs at most a compilation.
    ///
    /// `sha256` must be the digest of `bytes`: it is the key, and the entry is not compared with
    /// `bytes` again.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Component, CacheOutcome), wasmtime::Error> {
        if !is_sha256_hex(sha256) {
            // Part of a file name: never let an odd key reach the file system.
            tracing::warn!(sha256, "not a SHA-256 digest; compiling without the plugin cache");
            return Ok((Component::new(engine, bytes)?, CacheOutcome::Compiled));
        }
        if let Err(error) = self.prepare_dir() {
            tracing::warn!(dir = %self.dir.display(), %error, "plugin cache unusable; compiling without it");
            return Ok((Component::new(engine, bytes)?, CacheOutcome::Compiled));
        }
        let path = self.entry_path(engine, sha256);
        let outcome = match read_entry(engine, &path) {
            Ok(Some(component)) => return Ok((component, CacheOutcome::Hit)),
            Ok(None) => CacheOutcome::Compiled,
            Err(reason) => {
                tracing::warn!(entry = %path.display(), %reason, "corrupt plugin cache entry; removing it and compiling again");
                if let Err(error) = fs::remove_file(&path)
                    && error.kind() != io::ErrorKind::NotFound
                {
                    tracing::warn!(entry = %path.display(), %error, "cannot remove the corrupt plugin cache entry");
                }
                CacheOutcome::Rebuilt { reason }
            }
        };
        let component = Component::new(engine, bytes)?;
        match component.serialize() {
            Ok(payload) => {
                if let Err(error) = write_entry(&path, &payload) {
                    tracing::warn!(entry = %path.display(), %error, "cannot write the plugin cache entry; the next start compiles again");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot serialize the compiled plugin; not caching it"),
        }
        Ok((component, outcome))
    }

    /// Creates the directory (mode 0700) if needed, and makes sure nobody but its owner can
    /// write it: entries are executed, so a directory others could write to is not used.
    fn prepare_dir(&self) -> io::Result<()> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = fs::symlink_metadata(&self.dir)?;
            if !meta.is_dir() {
                return Err(io::Error::other("not a directory (or a symbolic link)"));
            }
            if meta.permissions().mode() & 0o077 != 0 {
                // Fails unless the connector's user owns the directory.
                fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
                    io::Error::new(e.kind(), format!("accessible to other users, cannot restrict: {e}"))
                })?;
            }
        }
        Ok(())
    }
}

/// The hash of everything in `engine`'s configuration that compiled code depends on, including
/// the wasmtime version. `DefaultHasher::new()` is deterministic within a build; a Rust release
/// that changes it only costs one compilation per plugin.
fn engine_hash(engine: &Engine) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 2 * DIGEST_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The component of the entry at `path`: `Ok(None)` if there is none, `Err(reason)` if it cannot
/// be read or is corrupt.
fn read_entry(engine: &Engine, path: &Path) -> Result<Option<Component>, String> {
    let entry = match fs::read(path) {
        Ok(entry) => entry,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("unreadable: {e}")),
    };
    if entry.len() < HEADER_LEN || &entry[..MAGIC.len()] != MAGIC {
        return Err(format!("not a cache entry of this format ({} bytes, bad header)", entry.len()));
    }
    let (digest, payload) = entry[MAGIC.len()..].split_at(DIGEST_LEN);
    if Sha256::digest(payload).as_slice() != digest {
        return Err(format!("integrity check failed: SHA-256 of the {}-byte payload does not match", payload.len()));
    }
    deserialize(engine, payload).map(Some).map_err(|e| format!("rejected by wasmtime: {e:#}"))
}

/// Deserializes a payload read back from an entry whose SHA-256 matched.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, payload: &[u8]) -> Result<Component, wasmtime::Error> {
    // SAFETY: `Component::deserialize` requires bytes produced, unmodified, by
    // `Component::serialize` (wasmtime only lightly validates them: forged bytes could run
    // arbitrary code). These bytes are:
    // - written only by `write_entry` below, from `Component::serialize`, into a directory that
    //   `prepare_dir` created (or restricted) to mode 0700 for the connector's user;
    // - the exact bytes whose SHA-256 was just checked against the entry's header, in memory
    //   (`deserialize` copies them; there is no file mapping that could change afterwards), so
    //   a truncated, torn or bit-flipped entry is rejected before this call;
    // - compiled by an engine of the same configuration and wasmtime version, as the file name
    //   carries `precompile_compatibility_hash`; wasmtime checks that compatibility again itself
    //   and returns an error, safely, for an artifact of another version or configuration.
    // The SHA-256 is no defence against someone who can write that directory, but such a user
    // can already replace the connector's plugins, configuration or binary.
    unsafe { Component::deserialize(engine, payload) }
}

/// Stores an entry atomically: readers see either the old entry, no entry, or the whole new one.
fn write_entry(path: &Path, payload: &[u8]) -> io::Result<()> {
    crate::atomic_file::replace(path, 0o600, &[MAGIC, &Sha256::digest(payload), payload])
}

#[cfg(test)]
mod tests {
    use wasmtime::component::Linker;
    use wasmtime::{Config, Store};

    use super::*;

    const ANSWER: &str = r#"
        (component
          (core module $m (func (export "answer") (result i32) (i32.const 42)))
          (core instance $i (instantiate $m))
          (func (export "answer") (result u32) (canon lift (core func $i "answer"))))
    "#;

    fn engine() -> Engine {
        let mut config = Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    fn fixture() -> (tempfile::TempDir, CompiledCache, Vec<u8>, String) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = CompiledCache::new(tmp.path().join("cache"));
        // `Component::new` also takes the text format.
        let bytes = ANSWER.as_bytes().to_vec();
        let sha = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        (tmp, cache, bytes, sha)
    }

    fn call_answer(engine: &Engine, component: &Component) -> u32 {
        let exports: Vec<String> = component.component_type().exports(engine).map(|(n, _)| n.to_string()).collect();
        assert_eq!(exports, ["answer"]);
        let mut store = Store::new(engine, ());
        store.set_epoch_deadline(u64::MAX);
        let instance = Linker::<()>::new(engine).instantiate(&mut store, component).expect("instantiate");
        let answer = instance.get_typed_func::<(), (u32,)>(&mut store, "answer").expect("answer");
        answer.call(&mut store, ()).expect("call").0
    }

    fn entries(cache: &CompiledCache) -> Vec<PathBuf> {
        let mut entries: Vec<PathBuf> =
            fs::read_dir(cache.dir()).expect("read dir").map(|e| e.expect("entry").path()).collect();
        entries.sort();
        entries
    }

    #[test]
    fn miss_then_hit() {
        let (_tmp, cache, bytes, sha) = fixture();
        let engine = engine();
        let (component, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("compile");
        assert_eq!(outcome, CacheOutcome::Compiled);
        assert_eq!(call_answer(&engine, &component), 42);

        let (component, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("load");
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(call_answer(&engine, &component), 42);

        let path = cache.entry_path(&engine, &sha);
        assert_eq!(entries(&cache), std::slice::from_ref(&path), "one entry, no temporary file left");
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        assert!(name.starts_with(&format!("{sha}-")) && name.ends_with(".cwasm"), "{name}");
        let entry = fs::read(&path).expect("entry");
        assert_eq!(&entry[..MAGIC.len()], MAGIC);
        assert_eq!(&entry[MAGIC.len()..HEADER_LEN], Sha256::digest(&entry[HEADER_LEN..]).as_slice());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(cache.dir()).expect("dir").permissions().mode() & 0o777, 0o700);
            assert_eq!(fs::metadata(&path).expect("entry").permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_flipped_byte_is_rebuilt() {
        let (_tmp, cache, bytes, sha) = fixture();
        let engine = engine();
        cache.load_or_compile(&engine, &bytes, &sha).expect("compile");
        let path = cache.entry_path(&engine, &sha);
        let mut entry = fs::read(&path).expect("entry");
        let middle = HEADER_LEN + (entry.len() - HEADER_LEN) / 2;
        entry[middle] ^= 0x01;
        fs::write(&path, &entry).expect("corrupt");

        let (component, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("rebuild");
        match outcome {
            CacheOutcome::Rebuilt { reason } => assert!(reason.contains("integrity"), "{reason}"),
            other => panic!("expected a rebuild, got {other:?}"),
        }
        assert_eq!(call_answer(&engine, &component), 42);
        let (_, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("load");
        assert_eq!(outcome, CacheOutcome::Hit);
    }

    #[test]
    fn a_truncated_entry_is_rebuilt() {
        let (_tmp, cache, bytes, sha) = fixture();
        let engine = engine();
        cache.load_or_compile(&engine, &bytes, &sha).expect("compile");
        let path = cache.entry_path(&engine, &sha);
        let entry = fs::read(&path).expect("entry");
        for len in [entry.len() - 1, HEADER_LEN, 5, 0] {
            fs::write(&path, &entry[..len]).expect("truncate");
            let (_, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("rebuild");
            assert!(matches!(outcome, CacheOutcome::Rebuilt { .. }), "{len} bytes: {outcome:?}");
            let (_, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("load");
            assert_eq!(outcome, CacheOutcome::Hit, "rewritten after {len} bytes");
        }
    }

    /// An entry with a valid header around bytes wasmtime refuses.
    #[test]
    fn a_payload_wasmtime_refuses_is_rebuilt() {
        let (_tmp, cache, bytes, sha) = fixture();
        let engine = engine();
        let path = cache.entry_path(&engine, &sha);
        cache.prepare_dir().expect("dir");
        write_entry(&path, b"\x7fELF but not really").expect("write");
        let (component, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("rebuild");
        match outcome {
            CacheOutcome::Rebuilt { reason } => assert!(reason.contains("wasmtime"), "{reason}"),
            other => panic!("expected a rebuild, got {other:?}"),
        }
        assert_eq!(call_answer(&engine, &component), 42);
    }

    #[test]
    fn another_engine_configuration_uses_another_entry() {
        let (_tmp, cache, bytes, sha) = fixture();
        let engine = engine();
        let other = {
            let mut config = Config::new();
            config.wasm_component_model(true).epoch_interruption(true);
            Engine::new(&config).expect("engine")
        };
        assert_ne!(cache.entry_path(&engine, &sha), cache.entry_path(&other, &sha));
        assert_eq!(cache.entry_path(&engine, &sha), cache.entry_path(&self::engine(), &sha), "stable key");

        assert_eq!(cache.load_or_compile(&engine, &bytes, &sha).expect("compile").1, CacheOutcome::Compiled);
        let (component, outcome) = cache.load_or_compile(&other, &bytes, &sha).expect("compile");
        assert_eq!(outcome, CacheOutcome::Compiled, "must not load the other engine's entry");
        assert_eq!(call_answer(&other, &component), 42);
        assert_eq!(entries(&cache).len(), 2);
        assert_eq!(cache.load_or_compile(&engine, &bytes, &sha).expect("load").1, CacheOutcome::Hit);
        assert_eq!(cache.load_or_compile(&other, &bytes, &sha).expect("load").1, CacheOutcome::Hit);
    }

    #[test]
    fn an_unwritable_cache_still_compiles() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blocker = tmp.path().join("file");
        fs::write(&blocker, b"").expect("file");
        let cache = CompiledCache::new(blocker.join("cache"));
        let (_, _, bytes, sha) = fixture();
        let engine = engine();
        let (component, outcome) = cache.load_or_compile(&engine, &bytes, &sha).expect("compile");
        assert_eq!(outcome, CacheOutcome::Compiled);
        assert_eq!(call_answer(&engine, &component), 42);
    }

    #[test]
    fn keys_must_be_digests() {
        let (_tmp, cache, bytes, _) = fixture();
        let engine = engine();
        let (_, outcome) = cache.load_or_compile(&engine, &bytes, "../../etc/passwd").expect("compile");
        assert_eq!(outcome, CacheOutcome::Compiled);
        assert!(!cache.dir().exists(), "nothing written for a bad key");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_open_to_others_is_restricted() {
        use std::os::unix::fs::PermissionsExt;
        let (_tmp, cache, bytes, sha) = fixture();
        fs::create_dir(cache.dir()).expect("dir");
        fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let engine = engine();
        cache.load_or_compile(&engine, &bytes, &sha).expect("compile");
        assert_eq!(fs::metadata(cache.dir()).expect("dir").permissions().mode() & 0o777, 0o700);
    }
}
