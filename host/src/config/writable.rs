//! Whether this process can write where the connector will: the durable store, the compiled-plugin
//! cache, the local proxy's certificate folder and audit log. Checked at every config load, so
//! `connector check` (the service's start check, run under the service's own sandbox) names a
//! path the service cannot write before the start fails on it. Under the packaged unit only
//! /var/lib/msc is writable (`ProtectSystem=strict`).

use std::fs::OpenOptions;
use std::path::Path;

/// `Err(reason)` unless a file can be created in folder `dir` (or, if it does not exist yet, in
/// the nearest folder above it that does: the connector creates the rest).
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let existing = dir.ancestors().find(|a| a.is_dir()).ok_or("no folder of it exists")?;
    let probe = existing.join(format!(".msc-write-check-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("{} is not writable by this process ({e})", existing.display())),
    }
}

/// `Err(reason)` unless `file` can be appended to (without writing anything), or created when
/// it does not exist yet.
pub fn check_file(file: &Path) -> Result<(), String> {
    if file.exists() {
        return OpenOptions::new()
            .append(true)
            .open(file)
            .map(drop)
            .map_err(|e| format!("{} is not writable by this process ({e})", file.display()));
    }
    check_dir(file.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_files_that_can_be_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(check_dir(dir.path()), Ok(()));
        assert_eq!(check_dir(&dir.path().join("not/yet")), Ok(()), "created on start");
        assert_eq!(check_file(&dir.path().join("audit.log")), Ok(()));
        std::fs::write(dir.path().join("audit.log"), "kept").expect("write");
        assert_eq!(check_file(&dir.path().join("audit.log")), Ok(()));
        assert_eq!(std::fs::read_to_string(dir.path().join("audit.log")).expect("read"), "kept", "nothing written");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "no probe left behind");
    }

    #[test]
    fn folders_that_cannot() {
        // Even root cannot create files in /proc.
        let error = check_dir(Path::new("/proc/msc-store")).expect_err("not writable");
        assert!(error.starts_with("/proc is not writable by this process ("), "{error}");
        assert!(check_file(Path::new("/proc/msc/audit.log")).is_err());
    }
}
