//! `connector pii tokenize|reveal|retokenize --config FILE`: the admin's PII tools. Only the
//! config's `[pii]` section is needed.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use connector::capabilities::log::sanitize;
use connector::config::PiiConfig;
use connector::pii::audit::{AuditLog, RevealRecord};
use connector::pii::{Kind, PiiFilter};

/// Loads the config's `[pii]` section, printing what is wrong with it.
fn load(file: &Path) -> Option<(PiiFilter, std::path::PathBuf)> {
    let pii = super::load_with_pii(file)?.pii?;
    let audit = pii.audit_log.clone();
    Some((PiiConfig::into_filter(pii), audit))
}

/// Prints the token of `value`: what to search the cloud dashboard for.
pub fn tokenize(file: &Path, kind: Kind, value: &str) -> ExitCode {
    let Some((filter, _)) = load(file) else { return ExitCode::FAILURE };
    match filter.tokenizer().tokenize(kind, value) {
        Ok(token) if token.is_empty() => {
            eprintln!("error: the value is empty once trimmed; nothing to tokenize");
            ExitCode::FAILURE
        }
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the plaintext of each token, one per line, after recording the reveal in the audit
/// log. A token that does not open is reported on stderr and makes the exit code 1.
pub fn reveal(file: &Path, tokens: &[String]) -> ExitCode {
    let Some((filter, audit_file)) = load(file) else { return ExitCode::FAILURE };
    let audit = AuditLog::new(&audit_file);
    let mut ok = true;
    for token in tokens {
        let revealed = filter.tokenizer().reveal(token.trim());
        let record = match &revealed {
            Ok(r) => RevealRecord::now(token, "restored".into(), Some(r.kind.as_str()), Some(r.key.to_string())),
            Err(e) => RevealRecord::now(token, e.to_string(), None, None),
        };
        if let Err(error) = audit.append(&record) {
            eprintln!("error: {error}; nothing is revealed without an audit record");
            return ExitCode::FAILURE;
        }
        match revealed {
            Ok(revealed) => println!("{}", sanitize(&revealed.value)),
            Err(error) => {
                eprintln!("{}: {error}", sanitize(token));
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Reads tokens (one per line) on stdin and writes the re-tokenisation map after a key rotation:
/// `{"old": …, "new": …}` per line, for tokens not already under the primary key.
pub fn retokenize(file: &Path) -> ExitCode {
    let Some((filter, _)) = load(file) else { return ExitCode::FAILURE };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut ok = true;
    for line in std::io::stdin().lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                eprintln!("error: reading stdin: {error}");
                return ExitCode::FAILURE;
            }
        };
        let token = line.trim();
        if token.is_empty() {
            continue;
        }
        match filter.tokenizer().retokenize(token) {
            Ok(Some(new)) => {
                let entry = serde_json::json!({ "old": token, "new": new });
                if writeln!(out, "{entry}").is_err() {
                    return ExitCode::FAILURE;
                }
            }
            Ok(None) => {}
            Err(error) => {
                eprintln!("{}: {error}", sanitize(token));
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
