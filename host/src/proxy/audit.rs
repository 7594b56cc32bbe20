//! The local proxy's audit log: logins, logouts, and every response that showed plaintext — who,
//! from where, which page, and which tokens were restored (tokens are ciphertext: the log holds
//! no personal data). One JSON object per line in a file only its owner can read.
//!
//! Records are written by one thread that group-commits: it writes whatever has queued and syncs
//! once, so a busy proxy pays one `fsync` per batch rather than per page.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::SystemTime;

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[error("audit log {}: {source}", path.display())]
pub struct AuditOpenError {
    path: PathBuf,
    source: std::io::Error,
}

/// One audited event.
#[derive(Serialize, Debug, Default)]
pub struct AuditRecord {
    pub time: String,
    /// `login`, `login-failed`, `login-locked`, `logout`, `view`.
    pub action: &'static str,
    pub user: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Tokens restored in the response, counting repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<u64>,
    /// The distinct tokens restored: which records were seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
    /// Distinct tokens beyond those listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_tokens: u64,
    /// Why a response ended early, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl AuditRecord {
    pub fn new(action: &'static str, user: &str, source: IpAddr) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            action,
            user: user.to_string(),
            source: source.to_string(),
            ..Self::default()
        }
    }
}

/// The writer's handle; cheap to clone. Records queued before the last handle drops are written.
#[derive(Clone)]
pub struct ProxyAudit {
    queue: mpsc::Sender<Vec<u8>>,
}

impl ProxyAudit {
    /// Opens (creating, mode 0600) the log and starts its writer thread.
    pub fn open(path: &Path) -> Result<Self, AuditOpenError> {
        let error = |source| AuditOpenError { path: path.to_path_buf(), source };
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(error)?;
        let (queue, lines) = mpsc::channel::<Vec<u8>>();
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("proxy-audit".into())
            .spawn(move || write_batches(file, lines, &shown))
            .map_err(error)?;
        Ok(Self { queue })
    }

    pub fn record(&self, record: &AuditRecord) {
        match serde_json::to_vec(record) {
            Ok(mut line) => {
                line.push(b'\n');
                if self.queue.send(line).is_err() {
                    tracing::error!(target: "audit", "the audit writer has stopped; a record was lost");
                }
            }
            Err(error) => tracing::error!(target: "audit", "cannot encode an audit record: {error}"),
        }
    }
}

fn write_batches(mut file: std::fs::File, lines: mpsc::Receiver<Vec<u8>>, shown: &str) {
    let mut batch = Vec::new();
    while let Ok(first) = lines.recv() {
        batch.clear();
        batch.extend_from_slice(&first);
        while let Ok(more) = lines.try_recv() {
            batch.extend_from_slice(&more);
            if batch.len() > (1 << 20) {
                break;
            }
        }
        if let Err(error) = file.write_all(&batch).and_then(|()| file.sync_data()) {
            tracing::error!(target: "audit", log = %shown, "cannot write the audit log: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_json_lines_in_a_private_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.log");
        let audit = ProxyAudit::open(&path).expect("open");
        let mut view = AuditRecord::new("view", "alice", "10.0.0.7".parse().expect("ip"));
        view.path = Some("/dashboard".into());
        view.tokens = vec!["tok1".into()];
        audit.record(&view);
        audit.record(&AuditRecord::new("logout", "alice", "10.0.0.7".parse().expect("ip")));
        drop(audit);
        let mut lines = Vec::new();
        for _ in 0..100 {
            lines = std::fs::read_to_string(&path).expect("read").lines().map(str::to_string).collect();
            if lines.len() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(lines.len(), 2, "{lines:?}");
        let first: serde_json::Value = serde_json::from_str(&lines[0]).expect("json");
        assert_eq!(first["action"], "view");
        assert_eq!(first["tokens"][0], "tok1");
        assert!(first.get("more_tokens").is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o077, 0);
        }
    }
}
