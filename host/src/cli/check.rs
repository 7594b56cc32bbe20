//! `connector check --config FILE`: validates the config and loads every plugin it names, without
//! starting anything. Prints every problem as `file:line:column: key: message`; exits 1 if any is
//! an error.

use std::path::Path;
use std::process::ExitCode;

use connector::config::{self, Config, KeyPath, Severity};
use connector::plugins::{PluginRuntime, RuntimeError};

pub async fn check(file: &Path) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(error) => {
            error.diagnostics.iter().for_each(|d| println!("{d}"));
            return ExitCode::FAILURE;
        }
    };
    config.warnings.iter().for_each(|d| println!("{d}"));
    if let Some(missing) = config.missing_pii() {
        println!("{missing}");
        return ExitCode::FAILURE;
    }
    let instances = config.instances.len();
    match PluginRuntime::start(config).await {
        Ok(_) => {
            println!("{}: ok ({instances} plugin instance{})", file.display(), if instances == 1 { "" } else { "s" });
            ExitCode::SUCCESS
        }
        Err(RuntimeError::Instances(failures)) => {
            for (name, error) in failures {
                let key = KeyPath::root().key("instances").key(name.as_str()).key("plugin");
                println!("{}", config::locate(file, Severity::Error, key, error.to_string()));
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            println!("{}: {error}", file.display());
            ExitCode::FAILURE
        }
    }
}
