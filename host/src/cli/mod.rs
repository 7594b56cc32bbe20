//! The command line: parsing, logging setup, and one module per verb.

mod check;
mod inventory;
mod keys;
mod pii;
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
    /// Sync UEM inventory and print each device as a JSON line, tokenized: what the cloud would receive.
    Inventory {
        #[arg(long, short)]
        config: PathBuf,
        /// Only this UEM instance (default: every one).
        #[arg(long)]
        instance: Option<String>,
        #[arg(long, default_value_t = 200)]
        page_size: u32,
    },
    /// Manage the PII keyring: generate one, rotate to a new key, list keys (never their bytes).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// PII tools for admins: find a person's token, reveal tokens (audited), map tokens after a rotation.
    #[command(subcommand)]
    Pii(PiiCommand),
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a new keyring file (mode 0600) with one key.
    Generate { file: PathBuf },
    /// Add a new primary key; older keys keep restoring their tokens.
    Rotate { file: PathBuf },
    /// List key ids, creation and retirement dates.
    List { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum PiiCommand {
    /// Print the token of a value, to search the cloud dashboard for it.
    Tokenize {
        #[arg(long, short)]
        config: PathBuf,
        /// device-name (device), person-name (name), user-name (user), email, phone or identifier.
        #[arg(long, short)]
        kind: connector::pii::Kind,
        value: String,
    },
    /// Print the plaintext of tokens; each reveal is recorded in the audit log. Exits 1 if any token does not open.
    Reveal {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(required = true)]
        tokens: Vec<String>,
    },
    /// Read tokens on stdin; print {"old","new"} for each not under the primary key (after `keys rotate`).
    Retokenize {
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
        Command::Inventory { config, instance, page_size } => {
            inventory::inventory(&config, instance.as_deref(), page_size).await
        }
        Command::Keys(KeysCommand::Generate { file }) => keys::generate(&file),
        Command::Keys(KeysCommand::Rotate { file }) => keys::rotate(&file),
        Command::Keys(KeysCommand::List { file }) => keys::list(&file),
        Command::Pii(PiiCommand::Tokenize { config, kind, value }) => pii::tokenize(&config, kind, &value),
        Command::Pii(PiiCommand::Reveal { config, tokens }) => pii::reveal(&config, &tokens),
        Command::Pii(PiiCommand::Retokenize { config }) => pii::retokenize(&config),
    }
}
