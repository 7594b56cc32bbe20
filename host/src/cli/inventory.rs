//! `connector inventory --config FILE [--instance NAME]`: syncs every UEM instance (or one) and
//! prints each device as one JSON line, tokenized: exactly what the cloud would receive.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use connector::capabilities::log::sanitize;
use connector::config::Config;
use connector::ids::PluginKind;
use connector::inventory::{self, device_json};
use connector::plugins::PluginRuntime;

pub async fn inventory(file: &Path, only: Option<&str>, page_size: u32) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(error) => {
            error.diagnostics.iter().for_each(|d| eprintln!("{d}"));
            return ExitCode::FAILURE;
        }
    };
    if let Some(missing) = config.missing_pii() {
        eprintln!("{missing}");
        return ExitCode::FAILURE;
    }
    let runtime = match PluginRuntime::start(config).await {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(filter) = runtime.pii() else { return ExitCode::FAILURE };
    let names: Vec<String> = runtime
        .instances()
        .filter(|i| i.kind() == PluginKind::Uem && only.is_none_or(|o| i.name().as_str() == o))
        .map(|i| i.name().as_str().to_string())
        .collect();
    if names.is_empty() {
        eprintln!("error: no UEM instance{}", only.map(|o| format!(" named `{o}`")).unwrap_or_default());
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for name in names {
        let Ok(uem) = runtime.uem(&name) else { continue };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let result = inventory::sync(&uem, filter, page_size, |device| {
            let line = serde_json::json!({ "instance": name, "device": device_json(&device) });
            let _ = writeln!(out, "{line}");
        })
        .await;
        match result {
            Ok(count) => tracing::info!(instance = %name, devices = count, "inventory synced, tokenized"),
            Err(error) => {
                tracing::error!(instance = %name, "inventory failed: {}", sanitize(&filter.scrub(&error.to_string())));
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
