//! The command line: parsing, logging setup, and one module per verb.

mod check;
mod config;
mod keys;
mod pii;
mod plugins;
mod run;
mod uem;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use connector::capabilities::log::sanitize;
use connector::inventory::SyncOptions;
use connector::plugins::PluginRuntime;
use connector::plugins::worlds::uem::RiskLevel;

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
    /// The config file's reference: every section and key with its type, default and meaning.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Work with a configured UEM instance: test the connection, sync its inventory, set a device's risk label.
    #[command(subcommand)]
    Uem(UemCommand),
    /// Manage the PII keyring: generate one, rotate to a new key, list keys (never their bytes).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// PII tools for admins: find a person's token, reveal tokens (audited), map tokens after a rotation.
    #[command(subcommand)]
    Pii(PiiCommand),
    /// Sign plugins and check them: make a publisher key, sign a plugin file, verify a signature, inspect a plugin.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Manage the local proxy's local users: add one, change a password, remove one, list them.
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the config reference as Markdown (docs/config-reference.md is this output).
    Reference,
    /// Print the config file's JSON Schema, for editors that check TOML against one.
    Schema,
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Add a user; the password is read as one line from stdin.
    Add {
        /// 1 to 64 letters, digits, `.`, `_`, `@` or `-`.
        name: String,
        /// The users file ([local_proxy] users_file); created (mode 0600) if missing.
        #[arg(long)]
        users_file: PathBuf,
    },
    /// Change a user's password, read as one line from stdin.
    Passwd {
        name: String,
        #[arg(long)]
        users_file: PathBuf,
    },
    /// Remove a user.
    Remove {
        name: String,
        #[arg(long)]
        users_file: PathBuf,
    },
    /// List the user names.
    List {
        #[arg(long)]
        users_file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum PluginsCommand {
    /// Create a publisher's secret signing key (mode 0600) and print the line to add to [plugins.trusted].
    Keygen {
        /// The secret key file to create; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
        /// The publisher name to print the [plugins.trusted] line with.
        #[arg(long)]
        publisher: Option<String>,
    },
    /// Sign a plugin file: writes FILE.sig beside it (replacing an older one).
    Sign {
        file: PathBuf,
        /// The secret key file made by `plugins keygen`.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        publisher: String,
    },
    /// Check a plugin's signature: exit 0 if it verifies, 1 (with the reason) if it is unsigned or does not.
    Verify {
        file: PathBuf,
        /// Trust the publishers of this config's [plugins.trusted].
        #[arg(long, short, required_unless_present = "public_key", conflicts_with = "public_key")]
        config: Option<PathBuf>,
        /// Trust this one key (msc-ed25519:…), for the publisher given with --publisher.
        #[arg(long, requires = "publisher", value_name = "msc-ed25519:…")]
        public_key: Option<connector::plugins::signature::PublicKey>,
        #[arg(long, requires = "public_key")]
        publisher: Option<String>,
    },
    /// Every instance's plugin: the version serving and any refused one, from the running connector's
    /// admin listener ([admin] listen), or the files the config names when it is not running.
    List {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Show a plugin's world, exported interface, imports, sha256, size and signer (verified with --config).
    Inspect {
        file: PathBuf,
        /// Check the signature against this config's [plugins.trusted].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum UemCommand {
    /// Test the connection: credentials, reachability, device groups, device count, the risk label.
    Test {
        instance: String,
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Sync the inventory and write each device (with its apps) as a JSON line, tokenized: exactly what the cloud receives.
    Sync {
        instance: String,
        #[arg(long, short)]
        config: PathBuf,
        /// Where to write the JSON lines (`-` for stdout).
        #[arg(long, short)]
        output: PathBuf,
        /// Incremental sync: only devices that reported since this time (milliseconds since the epoch, or RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<u64>,
        /// Leave out each device's installed apps (saves one UEM call per device).
        #[arg(long)]
        no_apps: bool,
        /// Devices per page to ask the UEM for.
        #[arg(long, default_value_t = 250)]
        page_size: u32,
    },
    /// Set a device's risk label (`high`) or clear it (`none`), and read it back.
    SetRisk {
        instance: String,
        /// The UEM's device id.
        device: String,
        level: Risk,
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Risk {
    None,
    Low,
    Medium,
    High,
}

impl From<Risk> for RiskLevel {
    fn from(risk: Risk) -> Self {
        match risk {
            Risk::None => RiskLevel::None,
            Risk::Low => RiskLevel::Low,
            Risk::Medium => RiskLevel::Medium,
            Risk::High => RiskLevel::High,
        }
    }
}

/// `--since`: milliseconds since the epoch, or an RFC 3339 time.
fn parse_since(text: &str) -> Result<u64, String> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{text}` is neither milliseconds since the epoch nor an RFC 3339 time ({e})"))?;
    let since = time.duration_since(std::time::UNIX_EPOCH).map_err(|_| format!("`{text}` is before 1970"))?;
    u64::try_from(since.as_millis()).map_err(|_| format!("`{text}` is too far in the future"))
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // The last warnings and errors also go to the local proxy's status page.
    let problems = connector::recent_problems::RecentProblems;
    match args.log_format {
        LogFormat::Text => builder.finish().with(problems).init(),
        LogFormat::Json => builder.json().finish().with(problems).init(),
    }
}

pub async fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Run { config, once } => run::run(&config, once).await,
        Command::Check { config } => check::check(&config).await,
        Command::Config(ConfigCommand::Reference) => config::reference(),
        Command::Config(ConfigCommand::Schema) => config::schema(),
        Command::Uem(UemCommand::Test { instance, config }) => uem::test(&config, &instance).await,
        Command::Uem(UemCommand::Sync { instance, config, output, since, no_apps, page_size }) => {
            let options = SyncOptions { page_size, changed_since_ms: since, apps: !no_apps };
            uem::sync(&config, &instance, &output, options).await
        }
        Command::Uem(UemCommand::SetRisk { instance, device, level, config }) => {
            uem::set_risk(&config, &instance, &device, level.into()).await
        }
        Command::Keys(KeysCommand::Generate { file }) => keys::generate(&file),
        Command::Keys(KeysCommand::Rotate { file }) => keys::rotate(&file),
        Command::Keys(KeysCommand::List { file }) => keys::list(&file),
        Command::Pii(PiiCommand::Tokenize { config, kind, value }) => pii::tokenize(&config, kind, &value),
        Command::Pii(PiiCommand::Reveal { config, tokens }) => pii::reveal(&config, &tokens),
        Command::Pii(PiiCommand::Retokenize { config }) => pii::retokenize(&config),
        Command::Plugins(PluginsCommand::Keygen { out, publisher }) => plugins::keygen(&out, publisher.as_deref()),
        Command::Plugins(PluginsCommand::Sign { file, key, publisher }) => plugins::sign(&file, &key, &publisher),
        Command::Plugins(PluginsCommand::Verify { file, config, public_key, publisher }) => {
            let trust = match (config, public_key, publisher) {
                (Some(config), _, _) => plugins::Trust::Config(config),
                (None, Some(key), Some(publisher)) => plugins::Trust::Key { publisher, key },
                // clap requires --config or both of --public-key and --publisher.
                _ => return ExitCode::from(2),
            };
            plugins::verify(&file, trust)
        }
        Command::Plugins(PluginsCommand::Inspect { file, config }) => plugins::inspect(&file, config.as_deref()),
        Command::Plugins(PluginsCommand::List { config }) => plugins::list(&config).await,
        Command::Users(UsersCommand::Add { name, users_file }) => users::add(&users_file, &name),
        Command::Users(UsersCommand::Passwd { name, users_file }) => users::passwd(&users_file, &name),
        Command::Users(UsersCommand::Remove { name, users_file }) => users::remove(&users_file, &name),
        Command::Users(UsersCommand::List { users_file }) => users::list(&users_file),
    }
}

/// Text a plugin chose, made safe to print or log: emails and phone numbers tokenized, control
/// characters escaped.
fn shown(runtime: &PluginRuntime, text: &str) -> String {
    match runtime.pii() {
        Some(pii) => sanitize(&pii.scrub(text)),
        None => sanitize(text),
    }
}

/// Loads a config that must have a `[pii]` section, printing each problem to stderr.
fn load_with_pii(file: &std::path::Path) -> Option<connector::config::Config> {
    let config = match connector::config::Config::load(file) {
        Ok(config) => config,
        Err(error) => {
            error.diagnostics.iter().for_each(|d| eprintln!("{d}"));
            return None;
        }
    };
    if let Some(missing) = config.missing_pii() {
        eprintln!("{missing}");
        return None;
    }
    Some(config)
}
