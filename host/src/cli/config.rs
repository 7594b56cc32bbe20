//! `connector config reference|schema`: the config file's reference and JSON Schema, both made
//! from the types the file is read into.

use std::io::Write;
use std::process::ExitCode;

use connector::config::{reference, schema};

pub fn reference() -> ExitCode {
    print(&reference::markdown(&schema::config_schema()))
}

pub fn schema() -> ExitCode {
    match serde_json::to_string_pretty(&schema::config_schema()) {
        Ok(json) => print(&format!("{json}\n")),
        Err(e) => {
            eprintln!("error: the schema cannot be written as JSON: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print(text: &str) -> ExitCode {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}
