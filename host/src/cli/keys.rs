//! `connector keys generate|rotate|list FILE`: manage the PII keyring. Key bytes are never
//! printed.

use std::path::Path;
use std::process::ExitCode;

use connector::pii::keyring::Keyring;

pub fn generate(file: &Path) -> ExitCode {
    let result = Keyring::generate().and_then(|keyring| {
        keyring.create(file)?;
        Ok(keyring.primary().id)
    });
    match result {
        Ok(id) => {
            println!("created keyring {} with key {id} (mode 0600)", file.display());
            println!("back it up, and copy it unchanged to every connector of a high-availability group");
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

pub fn rotate(file: &Path) -> ExitCode {
    let result = Keyring::load(file).and_then(|mut keyring| {
        let old = keyring.primary().id;
        let new = keyring.rotate()?;
        keyring.save(file)?;
        Ok((old, new))
    });
    match result {
        Ok((old, new)) => {
            println!("key {new} is now primary; key {old} is retired and still restores its tokens");
            println!(
                "copy {} to every other connector of the group, then send the cloud the map of old tokens to new ones (`connector pii retokenize`); see docs/pii-tokens.md",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

pub fn list(file: &Path) -> ExitCode {
    match Keyring::load(file) {
        Ok(keyring) => {
            println!("{:<6} {:<22} {:<22} STATE", "ID", "CREATED", "RETIRED");
            for key in keyring.keys() {
                let retired = key.retired.map(|r| humantime::format_rfc3339_seconds(r).to_string());
                let state = if key.id == keyring.primary().id { "primary" } else { "restore only" };
                println!(
                    "{:<6} {:<22} {:<22} {state}",
                    key.id.to_string(),
                    humantime::format_rfc3339_seconds(key.created).to_string(),
                    retired.as_deref().unwrap_or("-"),
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
