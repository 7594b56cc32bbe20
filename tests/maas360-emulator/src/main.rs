//! `maas360-emulator`: an emulated MaaS360 tenant for demos and manual testing. Prints
//! `maas360-emulator listening on <origin>` once it serves, then runs until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use emulator_kit::tls::server_config_from_pem_files;
use maas360_emulator::{Emulator, EmulatorConfig};

/// An emulated IBM MaaS360 tenant: REST API with the real service's quirks and rules, plus an
/// unauthenticated admin API under /_emulator/ (keep it on loopback).
#[derive(Parser)]
#[command(name = "maas360-emulator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8360")]
    listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate for localhost from a new private CA, and write the CA's
    /// certificate (PEM) to this file: what the connector instance's `ca_file` trusts, as for
    /// an on-prem MaaS360 behind a company CA.
    #[arg(long, value_name = "PEM", conflicts_with = "tls_cert")]
    private_ca: Option<PathBuf>,
    /// Number of devices to generate.
    #[arg(long, value_name = "N", default_value_t = EmulatorConfig::default().devices)]
    devices: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = EmulatorConfig::default().seed)]
    seed: u64,
    #[arg(long, default_value_t = EmulatorConfig::default().billing_id)]
    billing_id: String,
    #[arg(long, default_value_t = EmulatorConfig::default().username)]
    username: String,
    /// The API user's password [default: demo-password].
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// Read the API user's password from this file (its first line).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    #[arg(long, default_value_t = EmulatorConfig::default().app_id)]
    app_id: String,
    #[arg(long, default_value_t = EmulatorConfig::default().app_version)]
    app_version: String,
    #[arg(long, default_value_t = EmulatorConfig::default().access_key)]
    access_key: String,
    /// Auth token lifetime, e.g. 60m or 90s.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = humantime::parse_duration)]
    token_ttl: Duration,
    /// Refresh token lifetime.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = humantime::parse_duration)]
    refresh_ttl: Duration,
    /// Requests per second over all API endpoints; beyond it 429 [default: unlimited].
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Serve the documented types only: arrays always arrays, strings always strings.
    #[arg(long)]
    no_quirks: bool,
    /// Answer bad credentials and a locked account with the HTML login page.
    #[arg(long)]
    html_login_errors: bool,
    /// Consecutive bad passwords that lock the account (0 = never).
    #[arg(long, value_name = "N", default_value_t = EmulatorConfig::default().lock_after_failures)]
    lock_after: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    emulator_kit::logging::init();
    let args = Args::parse();
    let tls = match (&args.tls_cert, &args.tls_key, &args.private_ca) {
        (Some(cert), Some(key), None) => Some(server_config_from_pem_files(cert, key)?),
        (None, None, Some(ca_file)) => Some(private_ca(ca_file)?),
        (None, None, None) => None,
        _ => bail!("give --tls-cert with --tls-key, or --private-ca, not both"),
    };
    let password = match (&args.password, &args.password_file) {
        (_, Some(file)) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            text.lines().next().unwrap_or_default().to_string()
        }
        (Some(password), None) => password.clone(),
        (None, None) => EmulatorConfig::default().password,
    };
    let config = EmulatorConfig {
        billing_id: args.billing_id,
        username: args.username,
        password,
        app_id: args.app_id,
        app_version: args.app_version,
        access_key: args.access_key,
        devices: args.devices,
        seed: args.seed,
        token_ttl: args.token_ttl,
        refresh_ttl: args.refresh_ttl,
        rate_limit: args.rate_limit,
        quirks: !args.no_quirks,
        lock_after_failures: args.lock_after,
        html_login_errors: args.html_login_errors,
    };
    if !args.listen.ip().is_loopback() {
        tracing::warn!("listening beyond loopback: the admin API under /_emulator/ has no authentication");
    }
    let (devices, seed, quirks) = (config.devices, config.seed, config.quirks);
    let emulator =
        Emulator::bind(config, args.listen, tls).await.with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(devices, seed, quirks, "tenant ready");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "maas360-emulator listening on {}", emulator.origin())?;
    stdout.flush()?;
    emulator_kit::signal::shutdown().await?;
    tracing::info!("stopping");
    drop(emulator);
    Ok(())
}

/// A new private CA and a server certificate it signs; the CA certificate goes to `ca_file`.
fn private_ca(ca_file: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let ca =
        emulator_kit::private_ca::PrivateCa::new("maas360-emulator private CA").context("generating a private CA")?;
    std::fs::write(ca_file, &ca.ca_pem).with_context(|| format!("writing {}", ca_file.display()))?;
    Ok(ca.server_config()?)
}
