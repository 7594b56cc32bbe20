//! `connector users add|passwd|remove|list --users-file FILE`: the local proxy's local users.
//! Passwords are read as one line from stdin, so scripts can pipe them; they are never printed.

use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use connector::proxy::users::{MAX_PASSWORD_BYTES, UserStore};
use secrecy::SecretString;
use zeroize::Zeroizing;

pub fn add(file: &Path, name: &str) -> ExitCode {
    let result = read_password(name).and_then(|password| Ok(UserStore::new(file).add(name, &password)?));
    report(result, || format!("added user {name} to {} (mode 0600)", file.display()))
}

pub fn passwd(file: &Path, name: &str) -> ExitCode {
    let result = read_password(name).and_then(|password| Ok(UserStore::new(file).set_password(name, &password)?));
    report(result, || format!("changed the password of {name}; it applies from the next login"))
}

pub fn remove(file: &Path, name: &str) -> ExitCode {
    let result = UserStore::new(file).remove(name).map_err(anyhow::Error::from);
    report(result, || format!("removed user {name}; sessions already open last until they expire"))
}

pub fn list(file: &Path) -> ExitCode {
    match UserStore::new(file).list() {
        Ok(names) => {
            names.iter().for_each(|name| println!("{name}"));
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// One line from stdin, without its line ending. A terminal cannot hide what is typed without
/// another crate, so the admin is told it shows.
fn read_password(name: &str) -> anyhow::Result<SecretString> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("password for {name} (typing shows; pipe it in to avoid that), then Enter:");
    }
    // Room for the longest password and a line ending; anything longer is refused anyway.
    let mut line = Zeroizing::new(String::with_capacity(MAX_PASSWORD_BYTES + 3));
    stdin
        .lock()
        .take(MAX_PASSWORD_BYTES as u64 + 3)
        .read_line(&mut line)
        .context("cannot read the password from stdin (one line of UTF-8)")?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    if password.is_empty() {
        bail!(
            "no password on stdin: give it as one line, e.g. `read -rs PW && printf '%s\\n' \"$PW\" | connector users ...`"
        );
    }
    Ok(SecretString::from(password.to_string()))
}

fn report(result: anyhow::Result<()>, done: impl FnOnce() -> String) -> ExitCode {
    match result {
        Ok(()) => {
            println!("{}", done());
            ExitCode::SUCCESS
        }
        Err(error) => fail(&format!("{error:#}")),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
