//! `connector run --config FILE`: loads every plugin instance, self-tests each (in the
//! background, all at once), and takes tasks from the cloud relay (when `[relay]` is configured)
//! until SIGINT or SIGTERM, then drains. `--once` waits for the self-tests and exits.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use connector::admin::{Overview, Queues};
use connector::background::AbortOnDrop;
use connector::dispatch::{ConnectorStatus, Dispatcher};
use connector::ids::PluginKind;
use connector::inventory;
use connector::mail::MailOutbox;
use connector::plugins::self_test::{self, Verdict};
use connector::plugins::watch;
use connector::plugins::{PluginInstance, PluginRuntime};
use connector::relay::LinkState;
use connector::relay::{Identity, RelayLink};
use connector::siem::SiemDelivery;
use connector::store::Store;
use connector::store::outcomes::Outcomes;

// Self-test results and errors hold text the plugin chose.
use super::shown;

pub async fn run(file: &Path, once: bool) -> ExitCode {
    let Some(mut config) = super::load_with_pii(file) else { return ExitCode::FAILURE };
    config.warnings.iter().for_each(|d| tracing::warn!("{d}"));
    let name = config.connector.name.clone();
    let relay = config.relay.take();
    let keyring = config.pii.as_ref().map(|p| p.keyring.fingerprint()).unwrap_or_default();
    let plugin_dir = config.connector.plugin_dir.clone();
    let admin = config.admin;
    let local_proxy = config.local_proxy.take();
    let siem = config.siem.take();
    let store_dir = config.store_dir.clone();
    let mail = config.mail.clone();
    let runtime = match PluginRuntime::start(config).await {
        Ok(runtime) => Arc::new(runtime),
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        connector = %name,
        instances = runtime.instances().len(),
        allocation = ?runtime.engine().allocation(),
        "connector started"
    );
    // Without a relay, a sync proves the inventory path; with one, the cloud asks for syncs.
    let sync = relay.is_none() || once;
    if once {
        let healthy = startup_checks(runtime.clone(), name.clone(), sync).await;
        return if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    // While serving, the checks run beside everything else: an unreachable UEM must not hold
    // back /healthz, the relay link or the other instances for as long as its deadline.
    let _checks = AbortOnDrop(tokio::spawn({
        let (runtime, name) = (runtime.clone(), name.clone());
        async move {
            if startup_checks(runtime, name, sync).await {
                tracing::info!("start-up checks passed");
            } else {
                tracing::warn!("start-up checks: some instances failed (above); the connector serves the others");
            }
        }
    }));
    // Plugins and config are reloaded while the connector serves: on file changes, and on SIGHUP.
    let _watching = match watch::watch(runtime.clone(), file.to_path_buf(), plugin_dir, name.clone()) {
        Ok(watching) => Some(watching),
        Err(error) => {
            tracing::warn!("cannot watch plugin and config files ({error}); reload with SIGHUP");
            None
        }
    };
    let _hangups = reload_on_hangup(runtime.clone(), file.to_path_buf());
    // The durable store holds the SIEM queues and the mail outbox (mail tasks come from the relay).
    let store = if siem.is_some() || relay.is_some() {
        match Store::open(&store_dir) {
            Ok(store) => Some(Arc::new(store)),
            Err(error) => {
                tracing::error!("{error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let siem = siem.zip(store.clone()).map(|(siem, store)| Arc::new(SiemDelivery::start(store, siem)));
    let outcomes = store.clone().map(Outcomes::new);
    let outbox = store.zip(outcomes.clone()).map(|(store, outcomes)| MailOutbox::new(store, outcomes, mail));
    if let Some(outbox) = &outbox {
        let status = outbox.status();
        if status.waiting > 0 || status.outcomes_waiting > 0 {
            tracing::info!(
                waiting = status.waiting,
                outcomes = status.outcomes_waiting,
                "mail outbox: delivering the mails queued before"
            );
        }
    }
    if let Some(siem) = &siem {
        for queue in siem.queues() {
            tracing::info!(siem_target = %queue.target, waiting = queue.waiting, "SIEM target: delivering queued events in order");
        }
    }
    let queues =
        Queues { siem: siem.clone(), mail: outbox.clone(), relay: relay.as_ref().map(|_| LinkState::default()) };
    // What the admin listener and the local proxy's status page report.
    let overview = Overview { runtime: runtime.clone(), queues: queues.clone() };
    let _admin = match admin {
        Some(addr) => match connector::admin::serve(addr, overview.clone()).await {
            Ok((bound, task)) => {
                tracing::info!(listen = %bound, "admin listener: GET /healthz, /readyz, /metrics, /plugins");
                Some(AbortOnDrop(task))
            }
            Err(error) => {
                tracing::error!("admin listener on {addr}: {error}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let _local_proxy = match local_proxy {
        Some(proxy) => match start_local_proxy(proxy, overview.clone()).await {
            Some(task) => Some(task),
            None => return ExitCode::FAILURE,
        },
        None => None,
    };
    let code = match relay {
        Some(relay) => serve_relay(runtime, &relay, name, keyring, queues, outcomes).await,
        None => {
            tracing::info!("serving; no [relay] is configured, so only local plugin instances run. Stop with Ctrl-C.");
            wait_for_shutdown().await;
            tracing::info!("shutting down");
            ExitCode::SUCCESS
        }
    };
    // Queued events and mails stay on disk for the next start.
    if let Some(siem) = siem {
        siem.shutdown().await;
    }
    if let Some(outbox) = outbox {
        outbox.shutdown().await;
    }
    code
}

/// Takes tasks from the relay until a signal, then drains.
async fn serve_relay(
    runtime: Arc<PluginRuntime>,
    relay: &connector::config::RelayConfig,
    name: String,
    keyring: String,
    queues: Queues,
    outcomes: Option<Arc<Outcomes>>,
) -> ExitCode {
    let Some(filter) = runtime.pii().cloned() else { return ExitCode::FAILURE };
    let run_id = random_run_id();
    let identity = Identity {
        name: name.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        run: run_id.clone(),
        keyring: keyring.clone(),
        capacity: relay.capacity,
        instances: runtime.instances().values().map(|i| (i.name().to_string(), i.kind().as_str())).collect(),
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
    let mut dispatcher = Dispatcher::new(runtime, filter, status);
    if let Some(siem) = queues.siem {
        dispatcher = dispatcher.with_siem(siem);
    }
    if let Some(outbox) = &queues.mail {
        dispatcher = dispatcher.with_mail(outbox.clone());
    }
    let dispatcher = Arc::new(dispatcher);
    if let Some(outbox) = &queues.mail {
        outbox.start(dispatcher.clone());
    }
    let link = match RelayLink::new(relay, identity, dispatcher) {
        Ok(link) => link,
        Err(error) => {
            tracing::error!("relay {}: {error}", relay.origin);
            return ExitCode::FAILURE;
        }
    };
    if let Some(outcomes) = outcomes {
        link.report_outcomes(outcomes);
    }
    if let Some(state) = queues.relay {
        link.report_state(state);
    }
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

/// Starts the local dashboard proxy and says where to log in.
async fn start_local_proxy(config: connector::config::LocalProxyConfig, overview: Overview) -> Option<AbortOnDrop> {
    let filter = overview.runtime.pii()?.clone();
    match connector::proxy::start(config, filter, Some(overview)).await {
        Ok(started) => {
            tracing::info!(
                listen = %started.listen,
                login = %format!("{}/_connector/login", started.origin),
                certificate_sha256 = %started.fingerprint,
                self_signed = started.self_signed,
                "local proxy: admins log in here to see the dashboard with personal data restored"
            );
            Some(AbortOnDrop(started.task))
        }
        Err(error) => {
            tracing::error!("{error}");
            None
        }
    }
}

/// Reloads the config on every SIGHUP, as services are expected to.
fn reload_on_hangup(runtime: Arc<PluginRuntime>, file: std::path::PathBuf) -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!("cannot listen for SIGHUP ({error})");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the config");
                if let Err(errors) = runtime.reload_config(&file).await {
                    errors.iter().for_each(|e| tracing::error!("config change refused, the running config stays: {e}"));
                }
            }
        }))
    }
    #[cfg(not(unix))]
    None
}

fn random_run_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Self-tests every instance and, with `sync`, syncs each UEM's inventory: all instances at once,
/// so the slowest sets the time. `true` when every check passed.
async fn startup_checks(runtime: Arc<PluginRuntime>, connector: String, sync: bool) -> bool {
    let mut checks = tokio::task::JoinSet::new();
    for instance in runtime.instances().values() {
        let instance = instance.clone();
        let (runtime, connector) = (runtime.clone(), connector.clone());
        checks.spawn(async move {
            let mut healthy = self_test(&runtime, &instance, &connector).await;
            if sync && instance.kind() == PluginKind::Uem {
                healthy &= inventory_sync(&runtime, &instance).await;
            }
            healthy
        });
    }
    let mut healthy = true;
    while let Some(result) = checks.join_next().await {
        // A check that panicked failed.
        healthy &= result.unwrap_or(false);
    }
    healthy
}

/// Runs an instance's self-test and logs the outcome; `false` unless it passed.
async fn self_test(runtime: &PluginRuntime, instance: &Arc<PluginInstance>, connector: &str) -> bool {
    let name = instance.name().as_str();
    let verdict = self_test::run(instance, connector).await;
    runtime.record_self_test(instance.name(), &verdict);
    match verdict {
        Verdict::Passed(summary) => {
            tracing::info!(instance = name, "self-test: {}", shown(runtime, &summary));
            true
        }
        Verdict::Degraded(problem) => {
            tracing::warn!(instance = name, "self-test: {}", shown(runtime, &problem));
            false
        }
        Verdict::Failed(error) => {
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
