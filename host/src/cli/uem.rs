//! `connector uem test|sync|set-risk INSTANCE --config FILE`: an admin's direct line to a
//! configured UEM instance, the same calls the cloud's tasks will make.
//!
//! - `test`: the "test connection" button (credentials, reachability, groups, device count).
//! - `sync`: the full or incremental inventory, tokenized, written as JSON lines: exactly what
//!   leaves the building.
//! - `set-risk`: sets or clears the device's risk label.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use connector::ids::PluginKind;
use connector::inventory::{self, SyncOptions, SyncedLine};
use connector::plugins::PluginRuntime;
use connector::plugins::worlds::uem::RiskLevel;

use super::shown;

/// Loads the config, checks that `instance` is one of its UEM instances, and starts the runtime;
/// prints what went wrong.
async fn start(file: &Path, instance: &str) -> Option<PluginRuntime> {
    let config = super::load_with_pii(file)?;
    // Named before any plugin is compiled, so a typo is reported at once.
    let uems: Vec<&str> =
        config.instances.iter().filter(|(_, i)| i.kind == PluginKind::Uem).map(|(n, _)| n.as_str()).collect();
    if !uems.contains(&instance) {
        eprintln!(
            "error: {} has no UEM instance `{instance}` (UEM instances: {})",
            file.display(),
            if uems.is_empty() { "none".to_string() } else { uems.join(", ") }
        );
        return None;
    }
    match PluginRuntime::start(config).await {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("error: {error}");
            None
        }
    }
}

pub async fn test(file: &Path, instance: &str) -> ExitCode {
    let Some(runtime) = start(file, instance).await else { return ExitCode::FAILURE };
    let checks = match runtime.uem(instance) {
        Ok(uem) => uem.test_connection().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match checks {
        Ok(checks) => {
            for check in &checks {
                let mark = if check.passed { "ok  " } else { "FAIL" };
                println!("{mark} {}: {}", shown(&runtime, &check.name), shown(&runtime, &check.detail));
            }
            if checks.iter().all(|c| c.passed) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            eprintln!("error: {}", shown(&runtime, &error));
            ExitCode::FAILURE
        }
    }
}

pub async fn sync(file: &Path, instance: &str, output: &Path, options: SyncOptions) -> ExitCode {
    let Some(runtime) = start(file, instance).await else { return ExitCode::FAILURE };
    let (uem, filter) = match (runtime.uem(instance), runtime.pii()) {
        (Ok(uem), Some(filter)) => (uem, filter),
        (Err(error), _) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
        (_, None) => {
            eprintln!("error: the config has no [pii] section");
            return ExitCode::FAILURE;
        }
    };
    // A file is written beside its final name and renamed when the sync completes, so a failed
    // sync never leaves a file that looks whole.
    let to_file = output != Path::new("-");
    let partial = output
        .with_file_name(format!("{}.partial", output.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let mut out: Box<dyn Write> = if to_file {
        match File::create(&partial) {
            Ok(f) => Box::new(BufWriter::new(f)),
            Err(e) => {
                eprintln!("error: cannot create {}: {e}", partial.display());
                return ExitCode::FAILURE;
            }
        }
    } else {
        Box::new(std::io::stdout().lock())
    };
    let result = inventory::sync(&uem, filter, &options, |synced| {
        serde_json::to_writer(&mut out, &SyncedLine::new(instance, &synced))?;
        out.write_all(b"\n")
    })
    .await;
    let flushed = out.flush();
    drop(out);
    let flushed = match flushed {
        Ok(()) if to_file && result.is_ok() => std::fs::rename(&partial, output),
        other => other,
    };
    match (result, flushed) {
        (Ok(report), Ok(())) => {
            tracing::info!(
                instance,
                devices = report.devices,
                repeats_dropped = report.repeats,
                vanished = report.vanished,
                pages = report.pages,
                page_retries = report.page_retries,
                "inventory synced, tokenized"
            );
            // What the next incremental sync passes as --since.
            eprintln!(
                "{} devices written to {}; next incremental sync: --since {}",
                report.devices,
                output.display(),
                report.next_since_ms
            );
            ExitCode::SUCCESS
        }
        (Err(error), _) => {
            eprintln!("error: inventory sync failed: {}", shown(&runtime, &error.to_string()));
            if to_file {
                eprintln!("what was synced before the failure is in {}", partial.display());
            }
            ExitCode::FAILURE
        }
        (_, Err(error)) => {
            eprintln!("error: writing {}: {error}", output.display());
            ExitCode::FAILURE
        }
    }
}

pub async fn set_risk(file: &Path, instance: &str, device: &str, level: RiskLevel) -> ExitCode {
    let Some(runtime) = start(file, instance).await else { return ExitCode::FAILURE };
    let result = match runtime.uem(instance) {
        Ok(uem) => uem.set_risk(device, level).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(update) => {
            let changed = match update.changed {
                Some(true) => "changed",
                Some(false) => "unchanged",
                None => "change unknown",
            };
            let verified = if update.verified { "verified" } else { "NOT verified by reading it back" };
            println!("{device}: {} ({changed}, {verified})", shown(&runtime, &update.applied));
            if update.verified { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            eprintln!("error: {}", shown(&runtime, &error));
            ExitCode::FAILURE
        }
    }
}
