//! `connector users add|passwd|remove|list` as admins run it: passwords piped on stdin, never
//! printed; the file it writes is the one the local proxy logs users in with.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use connector::proxy::users::UserStore;
use secrecy::SecretString;

fn users(args: &[&str], file: &Path, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector"))
        .arg("users")
        .args(args)
        .arg("--users-file")
        .arg(file)
        .env("MSC_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run connector");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn printed(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn verify(file: &Path, name: &str, password: &str) -> bool {
    UserStore::new(file).verify(name, &SecretString::from(password.to_string())).expect("verify")
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("users.toml");

    let added = users(&["add", "alice"], &file, "correct horse battery\n");
    assert!(added.status.success(), "{}", printed(&added));
    assert!(!printed(&added).contains("correct horse"), "{}", printed(&added));
    let added = users(&["add", "bob"], &file, "staple-staple-staple\r\n");
    assert!(added.status.success(), "{}", printed(&added));
    assert!(verify(&file, "alice", "correct horse battery"));
    assert!(verify(&file, "bob", "staple-staple-staple"), "CRLF is a line ending, not part of the password");

    let listed = users(&["list"], &file, "");
    assert!(listed.status.success(), "{}", printed(&listed));
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "alice\nbob\n");

    let changed = users(&["passwd", "alice"], &file, "a new, longer password\n");
    assert!(changed.status.success(), "{}", printed(&changed));
    assert!(!verify(&file, "alice", "correct horse battery"));
    assert!(verify(&file, "alice", "a new, longer password"));

    let removed = users(&["remove", "bob"], &file, "");
    assert!(removed.status.success(), "{}", printed(&removed));
    assert_eq!(UserStore::new(&file).list().expect("list"), ["alice"]);
}

#[test]
fn mistakes_exit_non_zero_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("users.toml");
    let refused = |args: &[&str], stdin: &str, reason: &str| {
        let output = users(args, &file, stdin);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", printed(&output));
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(text.contains(reason), "{args:?}: {text}");
        assert!(!text.contains("short one"), "the password is never printed: {text}");
    };
    refused(&["add", "alice"], "", "no password on stdin");
    refused(&["add", "alice"], "\n", "no password on stdin");
    refused(&["add", "alice"], "short one\n", "the password is too short");
    refused(&["add", "not a name"], "correct horse battery\n", "user name `not a name` is not valid");
    refused(&["passwd", "alice"], "correct horse battery\n", "there is no user `alice`");
    refused(&["remove", "alice"], "", "there is no user `alice`");
    assert!(!file.exists(), "nothing refused wrote a file");

    let added = users(&["add", "alice"], &file, "correct horse battery\n");
    assert!(added.status.success(), "{}", printed(&added));
    refused(&["add", "alice"], "correct horse battery\n", "user `alice` already exists");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
    refused(&["list"], "", "run `chmod 600");
}
