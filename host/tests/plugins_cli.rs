//! `connector plugins keygen|sign|verify|inspect` as publishers and admins run them: a signed
//! plugin verifies, one changed byte is refused with the reason, and `inspect` shows what a plugin
//! is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn connector(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connector")).args(args).env("MSC_LOG", "warn").output().expect("run connector")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

/// A copy of a built plugin in `dir`, to sign and tamper with.
fn copy_plugin(dir: &Path, plugin: &str) -> PathBuf {
    let copy = dir.join(plugin);
    std::fs::copy(common::plugin_dir(plugin).join(plugin), &copy).expect("copy plugin");
    copy
}

/// `plugins keygen`: the secret key file and the `publisher = "msc-ed25519:…"` line it printed.
fn keygen(dir: &Path, publisher: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{publisher}.key"));
    let made = connector(&["plugins", "keygen", "--out", s(&key), "--publisher", publisher]);
    assert!(made.status.success(), "{}", stderr(&made));
    let line = stdout(&made).trim().to_string();
    assert!(line.starts_with(&format!("{publisher} = \"msc-ed25519:")) && line.ends_with('"'), "{line}");
    (key, line)
}

fn public_key(line: &str) -> &str {
    line.split('"').nth(1).expect("quoted key")
}

#[test]
fn keygen_sign_verify_then_tamper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = copy_plugin(dir.path(), "siem_json.wasm");
    let (key, line) = keygen(dir.path(), "acme");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = connector(&["plugins", "keygen", "--out", s(&key)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));

    let signed = connector(&["plugins", "sign", s(&plugin), "--key", s(&key), "--publisher", "acme"]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let sig = dir.path().join("siem_json.wasm.sig");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sig).expect("sig")).expect("json");
    assert_eq!(json["format"], "msc-plugin-signature-1");
    assert_eq!(json["publisher"], "acme");
    assert_eq!(json["public_key"], public_key(&line));

    // Trusted through a config's [plugins.trusted], and through --public-key.
    let config = dir.path().join("connector.toml");
    std::fs::write(&config, format!("[plugins]\nsignatures = \"require\"\n\n[plugins.trusted]\n{line}\n"))
        .expect("write config");
    let verified = connector(&["plugins", "verify", s(&plugin), "--config", s(&config)]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    assert_eq!(stdout(&verified), format!("{}: signed by acme\n", plugin.display()));
    let verified =
        connector(&["plugins", "verify", s(&plugin), "--public-key", public_key(&line), "--publisher", "acme"]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));

    // Another publisher's key: not trusted.
    let (_, other) = keygen(dir.path(), "other");
    let refused =
        connector(&["plugins", "verify", s(&plugin), "--public-key", public_key(&other), "--publisher", "acme"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("is signed in the name of `acme`, but with another key"), "{}", stderr(&refused));
    let refused =
        connector(&["plugins", "verify", s(&plugin), "--public-key", public_key(&other), "--publisher", "other"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("is signed by `acme`, which is not a trusted publisher"), "{}", stderr(&refused));

    // One byte changed after signing.
    let mut bytes = std::fs::read(&plugin).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&plugin, &bytes).expect("write");
    let refused = connector(&["plugins", "verify", s(&plugin), "--config", s(&config)]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        stderr(&refused),
        format!(
            "{}: has changed since it was signed: its SHA-256 is not the one in its signature file\n",
            plugin.display()
        )
    );
    assert!(stdout(&refused).is_empty(), "{}", stdout(&refused));

    // No signature at all.
    std::fs::remove_file(&sig).expect("rm sig");
    let unsigned = connector(&["plugins", "verify", s(&plugin), "--config", s(&config)]);
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(stderr(&unsigned).contains("is not signed"), "{}", stderr(&unsigned));
}

#[test]
fn a_secret_key_others_can_read_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = copy_plugin(dir.path(), "siem_json.wasm");
    let (key, _) = keygen(dir.path(), "acme");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let refused = connector(&["plugins", "sign", s(&plugin), "--key", s(&key), "--publisher", "acme"]);
        assert_eq!(refused.status.code(), Some(2));
        assert!(stderr(&refused).contains("can be read or written by other users (mode 644)"), "{}", stderr(&refused));
        assert!(!dir.path().join("siem_json.wasm.sig").exists());
    }
}

#[test]
fn inspect_shows_world_version_digest_and_imports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = copy_plugin(dir.path(), "siem_json.wasm");
    let bytes = std::fs::read(&plugin).expect("read");
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    };

    let shown = connector(&["plugins", "inspect", s(&plugin)]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let out = stdout(&shown);
    assert!(out.contains("world      siem (msc:siem/siem-formatter)\n"), "{out}");
    assert!(out.contains("exports    msc:siem/formatter@1.0.0\n"), "{out}");
    assert!(out.contains(&format!("sha256     {sha256}\n")), "{out}");
    assert!(out.contains(&format!("size       {} bytes\n", bytes.len())), "{out}");
    assert!(out.contains("imports    ") && out.contains("msc:types/errors@1.0.0"), "{out}");
    assert!(out.contains("wasi:io/streams@"), "{out}");
    assert!(out.contains("signature  none (no siem_json.wasm.sig beside it)"), "{out}");

    // Signed: the publisher, and whether it verifies once a config says whom to trust.
    let (key, line) = keygen(dir.path(), "acme");
    let signed = connector(&["plugins", "sign", s(&plugin), "--key", s(&key), "--publisher", "acme"]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let out = stdout(&connector(&["plugins", "inspect", s(&plugin)]));
    assert!(out.contains(&format!("publisher  acme ({})\n", public_key(&line))), "{out}");
    assert!(out.contains("signature  signature present, not checked"), "{out}");
    let config = dir.path().join("connector.toml");
    std::fs::write(&config, format!("[plugins.trusted]\n{line}\n")).expect("write config");
    let out = stdout(&connector(&["plugins", "inspect", s(&plugin), "--config", s(&config)]));
    assert!(out.contains(&format!("signature  verified against [plugins.trusted] of {}\n", config.display())), "{out}");
    std::fs::write(&config, "[plugins.trusted]\n").expect("write config");
    let out = stdout(&connector(&["plugins", "inspect", s(&plugin), "--config", s(&config)]));
    assert!(out.contains("signature  refused: is signed by `acme`, which is not a trusted publisher"), "{out}");

    // Imports plugins are not given are marked.
    let hostile = copy_plugin(dir.path(), "test_plugin_hostile_fs.wasm");
    let out = stdout(&connector(&["plugins", "inspect", s(&hostile)]));
    assert!(out.contains("world      uem (msc:uem/uem-adapter)\n"), "{out}");
    assert!(out.contains("wasi:filesystem/preopens@0.2.6  (refused: plugins get no filesystem)"), "{out}");
}

#[test]
fn inspect_says_why_a_file_is_not_a_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &[u8], &str); 3] = [
        ("notes.wasm", b"hello, world\n", "is not a WebAssembly file (empty, truncated, or another format)"),
        ("core.wasm", b"\0asm\x01\0\0\0", "is a core WebAssembly module, not a component: build it for wasm32-wasip2"),
        ("truncated.wasm", b"\0asm\x0d\0\x01\0\x01", "is not a valid component: "),
    ];
    for (name, bytes, reason) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).expect("write");
        let refused = connector(&["plugins", "inspect", s(&file)]);
        assert_eq!(refused.status.code(), Some(1), "{name}");
        let expected = format!("error: {}: {reason}", file.display());
        assert!(stderr(&refused).starts_with(&expected), "{name}: {}", stderr(&refused));
        assert!(stdout(&refused).is_empty(), "{name}: {}", stdout(&refused));
    }
    let signed =
        connector(&["plugins", "sign", s(&dir.path().join("core.wasm")), "--key", "/nonexistent", "--publisher", "a"]);
    assert_eq!(signed.status.code(), Some(2));
    let missing = connector(&["plugins", "inspect", s(&dir.path().join("missing.wasm"))]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("missing.wasm: cannot be read"), "{}", stderr(&missing));
}
