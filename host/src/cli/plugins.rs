//! `connector plugins keygen|sign|verify|inspect|list`: sign plugins and check them, as the publisher
//! and as the admin (docs/plugin-signing.md). Secret key bytes are never printed.
//!
//! Exit codes: 0 done (for `verify`: the signature verifies); 1 refused (`verify`: the plugin is
//! unsigned or its signature does not verify; `inspect`: not a component); 2 the check could not
//! be made (unreadable file, bad config, bad key).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use connector::capabilities::log::sanitize;
use connector::config::{Config, RuntimeSettings};
use connector::plugins::PluginEngine;
use connector::plugins::inspect::{self as plugin_inspect, Inspection};
use connector::plugins::self_test::{self, SelfTestStatus};
use connector::plugins::signature::{
    self as plugin_signature, PublicKey, SecretKey, SignatureError, TrustedPublishers, check_publisher_name, sig_path,
};

/// Whose keys `verify` trusts.
pub enum Trust {
    /// The `[plugins.trusted]` table of a config file.
    Config(PathBuf),
    /// One publisher and key from the command line.
    Key { publisher: String, key: PublicKey },
}

const REFUSED: u8 = 1;
const CANNOT_CHECK: u8 = 2;

pub fn keygen(out: &Path, publisher: Option<&str>) -> ExitCode {
    if let Some(Err(e)) = publisher.map(check_publisher_name) {
        return fail(CANNOT_CHECK, &e);
    }
    let key = match SecretKey::generate().and_then(|key| key.create(out).map(|()| key)) {
        Ok(key) => key,
        Err(e) => return fail(CANNOT_CHECK, &e),
    };
    println!("{} = \"{}\"", publisher.unwrap_or("PUBLISHER"), key.public_key());
    eprintln!("created secret key {} (mode 0600): keep it where plugins are signed, not on connectors", out.display());
    eprintln!(
        "add the line above to [plugins.trusted] of every connector that should load plugins signed with it{}",
        if publisher.is_none() { ", with PUBLISHER replaced by your publisher name" } else { "" }
    );
    ExitCode::SUCCESS
}

pub fn sign(file: &Path, key_file: &Path, publisher: &str) -> ExitCode {
    if let Err(e) = check_publisher_name(publisher) {
        return fail(CANNOT_CHECK, &e);
    }
    let key = match SecretKey::load(key_file) {
        Ok(key) => key,
        Err(e) => return fail(CANNOT_CHECK, &e),
    };
    let bytes = match read(file) {
        Ok(bytes) => bytes,
        Err(code) => return code,
    };
    if let Err(e) = plugin_inspect::check_component_header(file, &bytes) {
        return fail(REFUSED, &e);
    }
    let sig = sig_path(file);
    let text = plugin_signature::sign(&bytes, publisher, &key);
    // Written beside and renamed over: a connector reading the .sig sees the old one or the new.
    let mut temp_name = sig.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    temp_name.push(".tmp");
    let temp = sig.with_file_name(temp_name);
    if let Err(e) = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &sig)) {
        let _ = std::fs::remove_file(&temp);
        return fail(CANNOT_CHECK, &format!("{}: cannot be written: {e}", sig.display()));
    }
    println!("{}: signed by {publisher} with {}", file.display(), key.public_key());
    println!("wrote {} (sha256 {})", sig.display(), plugin_signature::sha256_hex(&bytes));
    ExitCode::SUCCESS
}

pub fn verify(file: &Path, trust: Trust) -> ExitCode {
    let trusted = match trust {
        Trust::Config(config) => match trusted_from(&config) {
            Some(trusted) => trusted,
            None => return ExitCode::from(CANNOT_CHECK),
        },
        Trust::Key { publisher, key } => {
            if let Err(e) = check_publisher_name(&publisher) {
                return fail(CANNOT_CHECK, &e);
            }
            [(publisher, key)].into_iter().collect()
        }
    };
    let bytes = match read(file) {
        Ok(bytes) => bytes,
        Err(code) => return code,
    };
    let sig = match read_sig(file) {
        Ok(sig) => sig,
        Err(code) => return code,
    };
    match plugin_signature::verify(&bytes, sig.as_deref(), &trusted) {
        Ok(verified) => {
            println!("{}: signed by {}", file.display(), verified.publisher);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            ExitCode::from(REFUSED)
        }
    }
}

pub fn inspect(file: &Path, config: Option<&Path>) -> ExitCode {
    let trusted = match config {
        Some(config) => match trusted_from(config) {
            Some(trusted) => Some((config, trusted)),
            None => return ExitCode::from(CANNOT_CHECK),
        },
        None => None,
    };
    let bytes = match read(file) {
        Ok(bytes) => bytes,
        Err(code) => return code,
    };
    let sig = match read_sig(file) {
        Ok(sig) => sig,
        Err(code) => return code,
    };
    // One sandbox slot: nothing is run, only compiled.
    let settings = RuntimeSettings { max_concurrent_calls: 1, ..RuntimeSettings::default() };
    let engine = match PluginEngine::new(settings) {
        Ok(engine) => engine,
        Err(e) => return fail(CANNOT_CHECK, &e),
    };
    let inspection = match plugin_inspect::inspect(&engine, file, &bytes) {
        Ok(inspection) => inspection,
        Err(e) => return fail(REFUSED, &e),
    };
    print_inspection(file, &inspection);
    print_signature(file, &bytes, sig.as_deref(), trusted.as_ref().map(|(c, t)| (*c, t)));
    ExitCode::SUCCESS
}

fn print_inspection(file: &Path, inspection: &Inspection) {
    println!("file       {}", file.display());
    println!("size       {} bytes", inspection.size);
    println!("sha256     {}", inspection.sha256);
    match &inspection.world {
        Some((kind, export)) => {
            println!("world      {kind} ({})", kind.world());
            let supported = if export.contains("@1.") { "" } else { "  (this connector supports version 1.x)" };
            println!("exports    {export}{supported}");
        }
        None => {
            println!("world      none: it exports no plugin interface");
            println!(
                "exports    {}",
                if inspection.exports.is_empty() { "-".into() } else { inspection.exports.join(", ") }
            );
        }
    }
    if inspection.imports.is_empty() {
        println!("imports    -");
    }
    for (i, import) in inspection.imports.iter().enumerate() {
        let label = if i == 0 { "imports" } else { "" };
        match &import.refused {
            Some(reason) => println!("{label:<10} {}  (refused: {reason})", import.name),
            None => println!("{label:<10} {}", import.name),
        }
    }
}

fn print_signature(file: &Path, bytes: &[u8], sig: Option<&str>, trusted: Option<(&Path, &TrustedPublishers)>) {
    let Some(text) = sig else {
        println!("publisher  -");
        println!("signature  none (no {} beside it)", name_of(&sig_path(file)));
        return;
    };
    let claim = match plugin_signature::parse_signature(text) {
        Ok(claim) => claim,
        Err(e) => {
            println!("publisher  -");
            println!("signature  refused: {}", sanitize(&e.to_string()));
            return;
        }
    };
    println!("publisher  {} ({})", claim.publisher, claim.public_key);
    match trusted {
        None => {
            println!("signature  signature present, not checked (give --config to check it against [plugins.trusted])")
        }
        Some((config, trusted)) => match plugin_signature::verify(bytes, Some(text), trusted) {
            Ok(_) => println!("signature  verified against [plugins.trusted] of {}", config.display()),
            Err(e) => println!("signature  refused: {}", sanitize(&e.to_string())),
        },
    }
}

/// The trusted publishers of a config file; `None` after printing its problems.
fn trusted_from(config: &Path) -> Option<TrustedPublishers> {
    match Config::load(config) {
        Ok(config) => Some(config.plugins.trusted),
        Err(error) => {
            error.diagnostics.iter().for_each(|d| eprintln!("{d}"));
            None
        }
    }
}

fn read(file: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(file).map_err(|e| fail(CANNOT_CHECK, &format!("{}: cannot be read: {e}", file.display())))
}

/// The text of `file`'s signature file; `None` when it has none.
fn read_sig(file: &Path) -> Result<Option<String>, ExitCode> {
    let sig = sig_path(file);
    match std::fs::read_to_string(&sig) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => {
            let malformed = SignatureError::Malformed(format!("{} cannot be read: {e}", sig.display()));
            eprintln!("{}: {malformed}", file.display());
            Err(ExitCode::from(CANNOT_CHECK))
        }
    }
}

fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Prints each instance's plugin as the running connector reports it (`[admin] listen`), or, when
/// it cannot be reached, the files the config names with their hashes and signature state.
pub async fn list(file: &Path) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(error) => {
            error.diagnostics.iter().for_each(|d| eprintln!("{d}"));
            return ExitCode::from(CANNOT_CHECK);
        }
    };
    if let Some(addr) = config.admin {
        match running_status(addr).await {
            Ok(plugins) => {
                println!("running connector at {addr}:");
                for p in &plugins {
                    let state = match (&p.refused, p.file_missing) {
                        (Some(reason), _) => format!("serving; newer version refused: {}", sanitize(reason)),
                        (None, true) => "serving; plugin file missing".to_string(),
                        (None, false) => "serving".to_string(),
                    };
                    let signer = p.publisher.as_deref().map_or("unsigned".to_string(), |s| format!("signed by {s}"));
                    println!(
                        "{:<20} {:<5} {} sha256 {} {signer}, reloads {}: {state}; self-test {}",
                        p.instance,
                        p.kind,
                        p.plugin.display(),
                        p.sha256.get(..16).unwrap_or(&p.sha256),
                        p.reloads,
                        sanitize(&self_test::describe(p.self_test.as_ref()))
                    );
                }
                return ExitCode::SUCCESS;
            }
            Err(reason) => println!("the connector is not reachable at {addr} ({reason}); the files the config names:"),
        }
    } else {
        println!(
            "no [admin] listen in the config, so the running connector cannot be asked; the files the config names:"
        );
    }
    for (name, instance) in &config.instances {
        let state = match std::fs::read(&instance.plugin) {
            Ok(bytes) => {
                let signature = plugin_signature::check(
                    &instance.plugin,
                    &bytes,
                    config.plugins.signatures,
                    &config.plugins.trusted,
                );
                let signer = match signature {
                    Ok(Some(verified)) => format!("signed by {}", verified.publisher),
                    Ok(None) => "unsigned".to_string(),
                    Err(error) => format!("refused: {error}"),
                };
                let sha = plugin_signature::sha256_hex(&bytes);
                format!("sha256 {} {signer}", &sha[..16])
            }
            Err(error) => format!("cannot be read: {error}"),
        };
        println!("{:<20} {:<5} {} {state}", name.as_str(), instance.kind, instance.plugin.display());
    }
    ExitCode::SUCCESS
}

/// `GET /plugins` from the admin listener.
async fn running_status(addr: std::net::SocketAddr) -> Result<Vec<PluginStatusView>, String> {
    use http_body_util::BodyExt;
    let fetch = async {
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = http::Request::get("/plugins")
            .header(http::header::HOST, addr.to_string())
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        serde_json::from_slice(&body).map_err(|e| format!("unexpected answer: {e}"))
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), fetch).await.map_err(|_| "timed out".to_string())?
}

/// What `/plugins` answers, as `connector::plugins::PluginStatus` serializes it.
#[derive(serde::Deserialize)]
struct PluginStatusView {
    instance: String,
    kind: String,
    plugin: PathBuf,
    sha256: String,
    publisher: Option<String>,
    refused: Option<String>,
    file_missing: bool,
    reloads: u64,
    self_test: Option<SelfTestStatus>,
}

fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(code)
}
