//! Watches the plugin files and the config file, and reloads what changed.
//!
//! `notify` reports file system events; the full debouncer merges the bursts editors and deploy
//! tools make (write a temporary file, then rename it over the old one) into one event per path,
//! 25 ms after the last: short, because a swap should follow a deploy at once. A file written in
//! place in several slow steps may be read half-written; that version is refused (the old one
//! keeps serving) and the next write loads it. Directories are watched, not files, so a file
//! replaced by a rename is still seen.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;

use super::PluginRuntime;
use super::lifecycle::plugin_files;

const DEBOUNCE: Duration = Duration::from_millis(25);

/// Watching stops when this is dropped.
pub struct Watching {
    _debouncer: notify_debouncer_full::Debouncer<notify::RecommendedWatcher, notify_debouncer_full::RecommendedCache>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `config_file` and the folders of every plugin file `runtime` uses (and
/// `plugin_dir`). Changes are applied on the async runtime this is called from.
pub fn watch(
    runtime: Arc<PluginRuntime>,
    config_file: PathBuf,
    plugin_dir: PathBuf,
    connector: String,
) -> Result<Watching, notify::Error> {
    let (changed, mut changes) = mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| match result {
        Ok(events) => {
            // Reads (open, read, close without writing) are not changes; the reloads' own reads
            // of the config and plugin files would otherwise start the next reload, forever.
            let paths: Vec<PathBuf> =
                events.into_iter().filter(|e| is_change(&e.event.kind)).flat_map(|e| e.event.paths).collect();
            if paths.is_empty() {
                return;
            }
            let _ = changed.send(paths);
        }
        Err(errors) => errors.iter().for_each(|e| tracing::warn!("watching plugin and config files: {e}")),
    })?;
    let mut folders: BTreeSet<PathBuf> = plugin_files(&runtime).iter().filter_map(|p| parent(p)).collect();
    folders.insert(plugin_dir);
    folders.extend(parent(&config_file));
    // A folder that cannot be watched (e.g. it does not exist yet) does not stop the others.
    folders.retain(|folder| match debouncer.watch(folder, RecursiveMode::NonRecursive) {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(folder = %folder.display(), "cannot watch this folder: {error}; changes in it need a restart");
            false
        }
    });
    tracing::info!(folders = ?folders, "watching plugin and config files for changes");
    let task = tokio::spawn(async move {
        while let Some(mut paths) = changes.recv().await {
            // Later batches that are already waiting are handled with this one.
            while let Ok(more) = changes.try_recv() {
                paths.extend(more);
            }
            apply(&runtime, &config_file, &connector, paths).await;
        }
    });
    Ok(Watching { _debouncer: debouncer, task })
}

/// Whether an event may have changed a file: anything but a read.
fn is_change(kind: &EventKind) -> bool {
    !kind.is_access() || matches!(kind, EventKind::Access(AccessKind::Close(AccessMode::Write)))
}

/// The folder `path` is in; `.` for a bare file name (`--config connector.toml`).
fn parent(path: &Path) -> Option<PathBuf> {
    path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }).map(Path::to_path_buf)
}

/// Applies one batch of changed paths: the config first (it may add or drop instances), then
/// each plugin file the instances use (a `.sig` stands for its plugin).
async fn apply(runtime: &PluginRuntime, config_file: &Path, connector: &str, paths: Vec<PathBuf>) {
    let paths: BTreeSet<PathBuf> = paths.into_iter().map(without_sig).collect();
    if paths.iter().any(|p| same_file(p, config_file)) && settled(config_file).await {
        match runtime.reload_config(config_file).await {
            Ok(_) => {}
            Err(errors) => {
                errors.iter().for_each(|e| tracing::error!("config change refused, the running config stays: {e}"))
            }
        }
    }
    // Reloaded by the path the config names, however the event spelled it.
    for file in plugin_files(runtime).iter().filter(|f| paths.iter().any(|p| same_file(f, p))) {
        runtime.reload_plugin(file, connector).await;
    }
}

/// Waits until two reads of `file` 50 ms apart agree (at most 2 s): a config written in place,
/// rather than renamed into place, is not applied half-written. `false` if it never settles (the
/// next change is applied instead).
async fn settled(file: &Path) -> bool {
    let mut previous = tokio::fs::read(file).await.ok();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = tokio::fs::read(file).await.ok();
        if now == previous {
            return true;
        }
        previous = now;
    }
    tracing::warn!(config = %file.display(), "the config file kept changing for 2 s; waiting for the next change");
    false
}

/// Paths name the same file: equal, or the same name in the same folder spelled differently.
fn same_file(a: &Path, b: &Path) -> bool {
    let folder = |p: &Path| parent(p).and_then(|p| p.canonicalize().ok());
    a == b || (a.file_name() == b.file_name() && folder(a).is_some() && folder(a) == folder(b))
}

/// `maas360.wasm.sig` → `maas360.wasm`; other paths unchanged.
fn without_sig(path: PathBuf) -> PathBuf {
    if path.extension().is_some_and(|e| e == "sig") { path.with_extension("") } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};

    #[test]
    fn a_config_named_without_a_folder_is_watched_in_the_current_one() {
        assert_eq!(parent(Path::new("connector.toml")), Some(PathBuf::from(".")));
        assert_eq!(parent(Path::new("/etc/msc/connector.toml")), Some(PathBuf::from("/etc/msc")));
        // inotify reports the change under the watched folder's name.
        assert!(same_file(Path::new("./connector.toml"), Path::new("connector.toml")));
        assert!(!same_file(Path::new("./other.toml"), Path::new("connector.toml")));
    }

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(AccessMode::Read))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }
}
