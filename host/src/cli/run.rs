//! `connector run --config FILE`: loads every plugin instance, self-tests each, then takes tasks
//! from the cloud relay (when `[relay]` is configured) until SIGINT or SIGTERM, and drains.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use connector::dispatch::{ConnectorStatus, Dispatcher};
use connector::ids::PluginKind;
use connector::inventory;
use connector::plugins::worlds::siem::{Event, Framing, Origin, Severity};
use connector::plugins::{PluginInstance, PluginRuntime};
use connector::relay::{Identity, RelayLink};

// Self-test results and errors hold text the plugin chose.
use super::shown;

pub async fn run(file: &Path, once: bool) -> ExitCode {
    let Some(mut config) = super::load_with_pii(file) else { return ExitCode::FAILURE };
    config.warnings.iter().for_each(|d| tracing::warn!("{d}"));
    let name = config.connector.name.clone();
    let relay = config.relay.take();
    let keyring = config.pii.as_ref().map(|p| p.keyring.fingerprint()).unwrap_or_default();
    let runtime = match PluginRuntime::start(config).await {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        connector = %name,
        instances = runtime.instances().count(),
        allocation = ?runtime.engine().allocation(),
        "connector started"
    );
    let mut healthy = true;
    for instance in runtime.instances() {
        healthy &= self_test(&runtime, instance, &name).await;
        // Without a relay, a sync proves the inventory path; with one, the cloud asks for syncs.
        if instance.kind() == PluginKind::Uem && (relay.is_none() || once) {
            healthy &= inventory_sync(&runtime, instance).await;
        }
    }
    if once {
        return if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    match relay {
        Some(relay) => serve_relay(runtime, &relay, name, keyring).await,
        None => {
            tracing::info!("serving; no [relay] is configured, so only local plugin instances run. Stop with Ctrl-C.");
            wait_for_shutdown().await;
            tracing::info!("shutting down");
            ExitCode::SUCCESS
        }
    }
}

/// Takes tasks from the relay until a signal, then drains.
async fn serve_relay(
    runtime: PluginRuntime,
    relay: &connector::config::RelayConfig,
    name: String,
    keyring: String,
) -> ExitCode {
    let Some(filter) = runtime.pii().cloned() else { return ExitCode::FAILURE };
    let run_id = random_run_id();
    let identity = Identity {
        name: name.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        run: run_id.clone(),
        keyring: keyring.clone(),
        capacity: relay.capacity,
        instances: runtime.instances().map(|i| (i.name().to_string(), i.kind().as_str())).collect(),
    };
    let status = ConnectorStatus {
        name,
        version: identity.version.clone(),
        run: run_id,
        keyring,
        capacity: relay.capacity,
        started: Instant::now(),
        in_flight: Arc::default(),
    };
    let dispatcher = Arc::new(Dispatcher::new(Arc::new(runtime), filter, status));
    let link = match RelayLink::new(relay, identity, dispatcher) {
        Ok(link) => link,
        Err(error) => {
            tracing::error!("relay {}: {error}", relay.origin);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(relay = %relay.origin, capacity = relay.capacity, proxy = relay.proxy.is_some(), "taking tasks from the relay; stop with Ctrl-C or SIGTERM");
    match link.serve(wait_for_shutdown()).await {
        Ok(report) => {
            tracing::info!(
                finished = report.finished_in_drain,
                released = report.released,
                "stopped: running tasks drained, the rest released to other connectors"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("relay {}: {error}", relay.origin);
            ExitCode::FAILURE
        }
    }
}

fn random_run_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs an instance's self-test and logs the outcome; `false` if it failed.
async fn self_test(runtime: &PluginRuntime, instance: &PluginInstance, connector: &str) -> bool {
    let name = instance.name().as_str();
    let checks = match instance.kind() {
        PluginKind::Uem => match runtime.uem(name) {
            Ok(uem) => uem.test_connection().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        PluginKind::Mail => match runtime.mail(name) {
            Ok(mail) => mail.test_connection().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        PluginKind::Siem => return siem_self_test(runtime, name, connector).await,
    };
    match checks {
        Ok(checks) => {
            let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
            for check in &failed {
                tracing::warn!(instance = name, check = %shown(runtime, &check.name), "self-test check failed: {}", shown(runtime, &check.detail));
            }
            tracing::info!(instance = name, passed = checks.len() - failed.len(), failed = failed.len(), "self-test");
            failed.is_empty()
        }
        Err(error) => {
            tracing::error!(instance = name, "self-test failed: {}", shown(runtime, &error));
            false
        }
    }
}

/// A formatter has no connection to test: format a sample event instead.
async fn siem_self_test(runtime: &PluginRuntime, name: &str, connector: &str) -> bool {
    let sample = Event {
        id: "self-test".into(),
        event_type: "Connector self-test".into(),
        time_ms: 0,
        client_time_ms: None,
        severity: Severity::Info,
        name: "Formatter self-test".into(),
        attack_vector: None,
        threat_factors: vec![],
        signature: None,
        url: None,
        tenant: None,
        message: None,
        device: None,
        app: None,
        network: None,
        fields: vec![],
    };
    let origin = Origin { hostname: connector.to_string(), app_name: "connector".into() };
    let outcome = match runtime.siem(name) {
        Ok(siem) => match (siem.describe().await, siem.format(&origin, std::slice::from_ref(&sample)).await) {
            (Ok(info), Ok(mut results)) => match results.pop() {
                Some(Ok(bytes)) => Ok(format!(
                    "{} formatter, {} framing, sample event is {} bytes",
                    info.format,
                    framing_name(info.framing),
                    bytes.len()
                )),
                Some(Err(e)) => Err(e.to_string()),
                None => Err("formatted no event".to_string()),
            },
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(summary) => {
            tracing::info!(instance = name, "self-test: {}", shown(runtime, &summary));
            true
        }
        Err(error) => {
            tracing::error!(instance = name, "self-test failed: {}", shown(runtime, &error));
            false
        }
    }
}

/// Syncs a UEM's inventory and apps, tokenized. Without a relay (or with `--once`) the devices go nowhere; the
/// sync proves the path and reports the count.
async fn inventory_sync(runtime: &PluginRuntime, instance: &PluginInstance) -> bool {
    let name = instance.name().as_str();
    let (Ok(uem), Some(filter)) = (runtime.uem(name), runtime.pii()) else { return false };
    match inventory::sync(&uem, filter, &inventory::SyncOptions::default(), |_| Ok(())).await {
        Ok(report) => {
            tracing::info!(instance = name, devices = report.devices, "inventory synced, tokenized");
            true
        }
        Err(error) => {
            tracing::error!(instance = name, "inventory sync failed: {}", shown(runtime, &error.to_string()));
            false
        }
    }
}

fn framing_name(framing: Framing) -> &'static str {
    match framing {
        Framing::OctetCounting => "octet-counting",
        Framing::Newline => "newline",
    }
}

async fn wait_for_shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); stop with Ctrl-C");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
