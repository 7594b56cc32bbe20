//! `cloud-emulator`: an emulated cloud relay and dashboard for demos and manual testing. Prints
//! `cloud-emulator listening on <origin>` once it serves, then runs until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use cloud_emulator::{Emulator, EmulatorConfig};
use emulator_kit::tls::server_config_from_pem_files;

/// An emulated mobile-threat-defense cloud: the connector relay (/relay/v1/), an admin API
/// (/admin/, bearer admin token) and a dashboard (/dashboard, /api/, bearer dashboard token),
/// over HTTPS on one listener.
#[derive(Parser)]
#[command(name = "cloud-emulator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Serve this certificate chain (PEM) instead of one from a new private CA; needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Write the new private CA's certificate (PEM) here, for the connector's relay `ca_file`
    /// [default: cloud-emulator-ca.pem in the working directory].
    #[arg(long, value_name = "FILE", conflicts_with = "tls_cert")]
    private_ca: Option<PathBuf>,
    /// Require connectors to present a client certificate signed by a CA in this PEM file
    /// (mutual TLS; with the private CA only).
    #[arg(long, value_name = "PEM", conflicts_with = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// An identity group and one of its enrollment tokens, NAME=TOKEN; repeat for more groups or
    /// tokens [default: default=demo-enrollment-token].
    #[arg(long = "group", value_name = "NAME=TOKEN", value_parser = group)]
    groups: Vec<(String, String)>,
    /// Bearer token of the admin API [default: random, printed on stderr].
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Bearer token of the dashboard.
    #[arg(long, value_name = "TOKEN", default_value_t = EmulatorConfig::default().dashboard_token)]
    dashboard_token: String,
    /// How often connectors heartbeat.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    heartbeat: Duration,
    /// A session silent this long is dead; its leased tasks go back to the queue.
    #[arg(long, value_name = "DURATION", default_value = "1500ms", value_parser = humantime::parse_duration)]
    session_timeout: Duration,
    /// The longest a poll is held.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = humantime::parse_duration)]
    poll_wait: Duration,
    /// The most tasks a poll hands out (and results a request may carry).
    #[arg(long, value_name = "N", default_value_t = EmulatorConfig::default().max_batch)]
    max_batch: usize,
}

fn group(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, token)) if !name.is_empty() && !token.is_empty() => Ok((name.to_string(), token.to_string())),
        _ => Err("expected NAME=TOKEN".to_string()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    emulator_kit::logging::init();
    let args = Args::parse();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server_config_from_pem_files(cert, key)?),
        (None, None) => None,
        _ => bail!("give --tls-cert with --tls-key"),
    };
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if args.max_batch == 0 {
        bail!("--max-batch must be at least 1");
    }
    let config = EmulatorConfig {
        listen: args.listen,
        groups: if args.groups.is_empty() { EmulatorConfig::default().groups } else { args.groups },
        admin_token: args.admin_token,
        dashboard_token: args.dashboard_token,
        heartbeat_ms: millis(args.heartbeat),
        session_timeout_ms: millis(args.session_timeout),
        poll_wait_ms: millis(args.poll_wait),
        max_batch: args.max_batch,
        tls,
        client_ca: match &args.client_ca {
            Some(file) => Some(std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?),
            None => None,
        },
    };
    let emulator = Emulator::start(config).await.with_context(|| format!("listening on {}", args.listen))?;
    if !emulator.ca_pem().is_empty() {
        let ca_file = args.private_ca.unwrap_or_else(|| PathBuf::from("cloud-emulator-ca.pem"));
        std::fs::write(&ca_file, emulator.ca_pem()).with_context(|| format!("writing {}", ca_file.display()))?;
        tracing::info!(ca_file = %ca_file.display(), "private CA written");
    }
    let groups: Vec<&str> = emulator.config().groups.iter().map(|(name, _)| name.as_str()).collect();
    tracing::info!(?groups, admin_token = emulator.admin_token(), "relay ready");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "cloud-emulator listening on {}", emulator.origin())?;
    stdout.flush()?;
    emulator_kit::signal::shutdown().await?;
    tracing::info!("stopping");
    drop(emulator);
    Ok(())
}
