//! The audit log of reveals: who opened which token, when, and whether it opened. Never the
//! plaintext. One JSON object per line, appended to a file only its owner can read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditError {
    path: PathBuf,
    source: std::io::Error,
}

/// One reveal.
#[derive(Serialize)]
pub struct RevealRecord<'a> {
    pub time: String,
    pub action: &'static str,
    /// The operating-system account that ran the command.
    pub user: String,
    pub token: &'a str,
    /// `restored`, or why not.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl RevealRecord<'_> {
    pub fn now<'t>(
        token: &'t str,
        outcome: String,
        kind: Option<&'static str>,
        key: Option<String>,
    ) -> RevealRecord<'t> {
        RevealRecord {
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            action: "reveal",
            user: current_user(),
            token,
            outcome,
            kind,
            key,
        }
    }
}

pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    /// Appends `record` and syncs it to disk: a reveal that is not on record must not happen, so
    /// callers reveal only after this succeeds.
    pub fn append<T: Serialize>(&self, record: &T) -> Result<(), AuditError> {
        let error = |source| AuditError { path: self.path.clone(), source };
        let mut line = serde_json::to_vec(record).map_err(|e| error(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(error)?;
        file.write_all(&line).map_err(error)?;
        file.sync_data().map_err(error)?;
        tracing::info!(target: "audit", log = %self.path.display(), "reveal recorded");
        Ok(())
    }
}

fn current_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}
