//! The command line: parsing, logging setup, and one module per verb.

mod check;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "connector",
    version,
    about = "Mobile Security Connector: the on-premises bridge between a mobile-threat-defense cloud and your UEM, SIEM and mail systems."
)]
pub struct Args {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Log filter, e.g. `info` or `connector=debug,plugin=info` (default: $MSC_LOG, else `info`).
    #[arg(long, global = true)]
    log: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the connector: load every plugin instance, self-test it, and serve until SIGINT/SIGTERM.
    Run {
        #[arg(long, short)]
        config: PathBuf,
        /// Stop after start-up and self-tests instead of serving (for scripts and CI).
        #[arg(long)]
        once: bool,
    },
    /// Check a config file and every plugin it names; print each problem as file:line:column: key: message.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn init_logging(args: &Args) {
    let filter = args.log.clone().or_else(|| std::env::var("MSC_LOG").ok()).unwrap_or_else(|| "info".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("warning: log filter `{filter}` is invalid ({e}); using `info`");
        tracing_subscriber::EnvFilter::new("info")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub async fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Run { config, once } => run::run(&config, once).await,
        Command::Check { config } => check::check(&config).await,
    }
}
