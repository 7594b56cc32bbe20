//! The emulator's listener (HTTPS, HTTP/1.1 with keep-alive, one task per connection), its
//! reaper, its faults, and the [`Emulator`] handle. Dropping the `Emulator` stops it, connections
//! included.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use emulator_kit::accept::serve_connections;
use http_body_util::{BodyExt, Either, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::{EmulatorConfig, TaskSpec};
use crate::dashboard::{DashboardRequest, Response};
use crate::pii::PiiViolation;
use crate::reply::{self, Reply};
use crate::store::{DeviceEntry, SessionView, State, Stats, TaskId, TaskView, random_hex};
use crate::{admin, dashboard, relay};

/// Request bodies above this are refused (413).
pub const MAX_BODY: usize = 16 << 20;

/// How many dashboard requests [`Emulator::dashboard_requests`] keeps (the latest).
pub const KEPT_DASHBOARD_REQUESTS: usize = 1000;

/// How often the reaper looks for silent sessions (leases past expiry: every tenth time).
const REAP_EVERY: Duration = Duration::from_millis(100);

/// Faults in front of the relay API, each using up one count per request.
#[derive(Default)]
pub struct Faults {
    pub garble_polls: u32,
    pub fail_requests: u32,
    pub fail_status: u16,
}

pub struct Shared {
    pub config: EmulatorConfig,
    pub admin_token: String,
    state: Mutex<State>,
    /// Per group: woken when tasks become available.
    pub wake: Vec<Notify>,
    /// Woken when tasks complete.
    pub completed: Notify,
    faults: Mutex<Faults>,
    kill: watch::Sender<u64>,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    accept: Mutex<Option<JoinHandle<()>>>,
    restarting: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    dashboard_log: Mutex<VecDeque<DashboardRequest>>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `https://127.0.0.1:PORT`; a wildcard listener is reached over loopback.
    pub fn origin(&self) -> String {
        let addr = self.addr;
        match addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => format!("https://127.0.0.1:{}", addr.port()),
            ip if ip.is_unspecified() => format!("https://[::1]:{}", addr.port()),
            _ => format!("https://{addr}"),
        }
    }

    pub fn record_dashboard(&self, request: DashboardRequest) {
        let mut log = self.dashboard_log.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() >= KEPT_DASHBOARD_REQUESTS {
            log.pop_front();
        }
        log.push_back(request);
    }

    pub fn dashboard_requests(&self) -> Vec<DashboardRequest> {
        self.dashboard_log.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    pub fn wake_groups(&self, groups: impl IntoIterator<Item = usize>) {
        for group in groups {
            if let Some(notify) = self.wake.get(group) {
                notify.notify_waiters();
            }
        }
    }

    /// Enqueues specs; fails (naming it) on an unknown group, enqueuing nothing.
    pub fn enqueue(&self, specs: Vec<TaskSpec>) -> Result<Vec<TaskId>, String> {
        let mut state = self.lock();
        let mut groups = Vec::with_capacity(specs.len());
        for spec in &specs {
            match state.group_index(spec.group.as_deref()) {
                Some(group) => groups.push(group),
                None => return Err(format!("unknown group {:?}", spec.group.as_deref().unwrap_or_default())),
            }
        }
        let ids = specs.into_iter().zip(&groups).map(|(spec, group)| state.enqueue(*group, spec)).collect();
        drop(state);
        groups.sort_unstable();
        groups.dedup();
        self.wake_groups(groups);
        Ok(ids)
    }

    pub fn enqueue_raw(&self, group: Option<&str>, frame: Value) -> Result<Option<TaskId>, String> {
        let mut state = self.lock();
        let index = state.group_index(group).ok_or_else(|| format!("unknown group {:?}", group.unwrap_or_default()))?;
        let id = state.enqueue_raw(index, frame);
        drop(state);
        self.wake_groups([index]);
        Ok(id)
    }

    pub fn drop_connections(&self) {
        self.kill.send_modify(|generation| *generation += 1);
    }

    /// Stops listening and drops every connection, forgets every session (their leases go back
    /// to the queues), waits `pause`, then listens again on the same address.
    pub async fn restart(self: &Arc<Self>, pause: Duration) -> io::Result<()> {
        let _restarting = self.restarting.lock().await;
        let accept = self.accept.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(accept) = accept {
            accept.abort();
            let _ = accept.await;
        }
        self.drop_connections();
        let woken = self.lock().forget_sessions();
        self.wake_groups(woken);
        tracing::info!(pause_ms = pause.as_millis() as u64, "relay restarting");
        tokio::time::sleep(pause).await;
        let mut tries = 0;
        let listener = loop {
            if self.closed.load(Ordering::SeqCst) {
                return Ok(());
            }
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(error) if tries < 100 => {
                    tries += 1;
                    tracing::debug!(%error, "rebinding");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => return Err(error),
            }
        };
        let handle = tokio::spawn(accept_loop(listener, self.clone()));
        *self.accept.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        tracing::info!("relay listening again");
        Ok(())
    }

    /// Waits until every task of `ids` is completed, or `timeout` passes.
    pub async fn wait_completed(&self, ids: &[TaskId], timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        // Ids before `done` are known completed (completion is final): each wake-up checks only
        // the rest, so waiting on a large burst costs O(n) overall and holds the lock briefly.
        let mut done = 0;
        loop {
            let mut notified = pin!(self.completed.notified());
            notified.as_mut().enable();
            {
                let state = self.lock();
                done += ids[done..].iter().take_while(|id| state.is_completed(id)).count();
                if done == ids.len() {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let state = self.lock();
                return ids[done..].iter().all(|id| state.is_completed(id));
            }
        }
    }
}

/// A running emulated cloud.
pub struct Emulator {
    shared: Arc<Shared>,
    ca_pem: String,
    reaper: JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.reaper.abort();
        if let Some(accept) = self.shared.accept.lock().unwrap_or_else(PoisonError::into_inner).take() {
            accept.abort();
        }
        self.shared.drop_connections();
    }
}

impl Emulator {
    /// Serves HTTPS on `config.listen` (default a free loopback port), with a certificate for
    /// `localhost` and `127.0.0.1` from a new private CA unless `config.tls` is given; with
    /// `config.client_ca`, only to clients presenting a certificate it signed.
    pub async fn start(config: EmulatorConfig) -> io::Result<Self> {
        if config.groups.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "at least one identity group is needed"));
        }
        let (tls, ca_pem) = match &config.tls {
            Some(tls) => (tls.clone(), String::new()),
            None => {
                let ca =
                    emulator_kit::private_ca::PrivateCa::new("cloud-emulator private CA").map_err(io::Error::other)?;
                let tls = match &config.client_ca {
                    Some(client_ca) => ca.server_config_requiring_clients(client_ca),
                    None => ca.server_config(),
                };
                (tls.map_err(io::Error::other)?, ca.ca_pem)
            }
        };
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let state = State::new(&config);
        let wake = state.groups.iter().map(|_| Notify::new()).collect();
        let admin_token = config.admin_token.clone().unwrap_or_else(|| format!("adm-{}", random_hex(16)));
        let shared = Arc::new(Shared {
            config,
            admin_token,
            state: Mutex::new(state),
            wake,
            completed: Notify::new(),
            faults: Mutex::new(Faults::default()),
            kill: watch::channel(0).0,
            addr,
            acceptor: TlsAcceptor::from(tls),
            accept: Mutex::new(None),
            restarting: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            dashboard_log: Mutex::new(VecDeque::new()),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        *shared.accept.lock().unwrap_or_else(PoisonError::into_inner) = Some(accept);
        let reaper = tokio::spawn(reaper(shared.clone()));
        Ok(Self { shared, ca_pem, reaper })
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `https://127.0.0.1:PORT` (the certificate names `127.0.0.1` and `localhost`); a wildcard
    /// listener is reached over loopback.
    pub fn origin(&self) -> String {
        self.shared.origin()
    }

    /// What a connector's `relay.url` is set to: the origin.
    pub fn relay_url(&self) -> String {
        self.origin()
    }

    /// The private CA's certificate (PEM) to trust; empty when `config.tls` was given.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn admin_token(&self) -> &str {
        &self.shared.admin_token
    }

    pub fn dashboard_token(&self) -> &str {
        &self.shared.config.dashboard_token
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// Enqueues a task for its group's connectors. Panics on a group that is not configured.
    pub fn enqueue(&self, spec: TaskSpec) -> TaskId {
        let mut ids = self.enqueue_many(vec![spec]);
        ids.pop().unwrap_or_else(|| unreachable!("one spec, one id"))
    }

    /// Enqueues tasks in order. Panics on a group that is not configured (enqueuing none).
    pub fn enqueue_many(&self, specs: Vec<TaskSpec>) -> Vec<TaskId> {
        self.shared.enqueue(specs).unwrap_or_else(|message| panic!("enqueue: {message}"))
    }

    /// Queues `frame` to be handed out as-is in a poll's `tasks`. With a string `id` not yet
    /// known it is tracked like a task (its id is returned); otherwise it is handed out once and
    /// forgotten. Panics on a group that is not configured.
    pub fn enqueue_raw(&self, group: &str, frame: Value) -> Option<TaskId> {
        self.shared.enqueue_raw(Some(group), frame).unwrap_or_else(|message| panic!("enqueue_raw: {message}"))
    }

    pub fn task(&self, id: &str) -> Option<TaskView> {
        self.shared.lock().task(id)
    }

    /// Tasks in `state` (`queued`, `leased`, `completed`; `None` = all), in enqueue order.
    pub fn tasks(&self, state: Option<&str>) -> Vec<TaskView> {
        self.shared.lock().tasks(state)
    }

    /// Completed tasks, in completion order.
    pub fn results(&self) -> Vec<TaskView> {
        self.shared.lock().completed()
    }

    /// Waits (without polling) until all `ids` are completed; false if `timeout` passed first.
    pub async fn wait_completed(&self, ids: &[TaskId], timeout: Duration) -> bool {
        self.shared.wait_completed(ids, timeout).await
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats()
    }

    pub fn sessions(&self) -> Vec<SessionView> {
        self.shared.lock().sessions()
    }

    /// The keyring fingerprint a group's first registration fixed.
    pub fn keyring(&self, group: &str) -> Option<String> {
        self.shared.lock().groups.iter().find(|g| g.name == group).and_then(|g| g.keyring.clone())
    }

    /// Stored device lines, ordered by (instance, device id).
    pub fn devices(&self) -> Vec<DeviceEntry> {
        self.shared.lock().devices.values().cloned().collect()
    }

    /// One stored device.
    pub fn device(&self, instance: &str, id: &str) -> Option<DeviceEntry> {
        self.shared.lock().devices.get(&(instance.to_string(), id.to_string())).cloned()
    }

    /// Events from `siem.events` payloads, in enqueue order.
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.clone()
    }

    /// Stores inventory `lines` (`{"instance"?, "device", "apps"?}`, as a sync sends them) of
    /// `instance` directly, as if a connector had sent them, PII guard included: for dashboard
    /// tests that need devices (thousands, for load) without a connector. The number stored.
    pub fn store_inventory(&self, instance: &str, lines: Vec<Value>) -> usize {
        // A fresh task id per call: the store answers a repeated (task, seq) without storing.
        let task = format!("seed-{}", random_hex(6));
        self.shared.lock().inventory(&task, 1, instance, 0, lines)
    }

    /// The latest dashboard requests (at most [`KEPT_DASHBOARD_REQUESTS`]), oldest first: what
    /// the cloud's audit saw of each, e.g. the `X-Connector-User` a local proxy passed on.
    pub fn dashboard_requests(&self) -> Vec<DashboardRequest> {
        self.shared.dashboard_requests()
    }

    /// What the PII guard flagged: where, and which field (never the value).
    pub fn pii_violations(&self) -> Vec<PiiViolation> {
        self.shared.lock().violations.clone()
    }

    /// Where any of `needles` (plaintext personal values; ASCII case-insensitive) occurs in what
    /// is stored: results, errors, inventory, events. Tokens are skipped. Empty = clean.
    pub fn find_plaintext(&self, needles: &[String]) -> Vec<String> {
        self.shared.lock().find_plaintext(needles)
    }

    /// Aborts every open connection now; keeps listening.
    pub fn drop_connections(&self) {
        self.shared.drop_connections();
    }

    /// A relay restart: stops listening, drops every connection, forgets every session (their
    /// leases go back to the queue with attempt + 1), and listens again on the same port after
    /// `pause`. Tasks, results, inventory and keyrings survive. Returns once listening again.
    pub async fn restart(&self, pause: Duration) -> io::Result<()> {
        self.shared.restart(pause).await
    }

    /// The next `n` poll responses are 200 with a body that is not JSON (no task is leased).
    pub fn garble_polls(&self, n: u32) {
        self.shared.faults().garble_polls = n;
    }

    /// The next `n` relay requests answer `status` (e.g. 503) with an error body.
    pub fn fail_requests(&self, n: u32, status: u16) {
        let mut faults = self.shared.faults();
        faults.fail_requests = n;
        faults.fail_status = status;
    }
}

async fn reaper(shared: Arc<Shared>) {
    let mut ticks = tokio::time::interval(REAP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut count: u64 = 0;
    loop {
        ticks.tick().await;
        count += 1;
        let woken = shared.lock().reap(Instant::now(), count.is_multiple_of(10));
        if !woken.is_empty() {
            tracing::debug!(groups = woken.len(), "leases lost; tasks queued again");
        }
        shared.wake_groups(woken);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    serve_connections(listener, move |tcp| connection(tcp, shared.clone(), shared.kill.subscribe())).await;
}

async fn connection(tcp: TcpStream, shared: Arc<Shared>, mut kill: watch::Receiver<u64>) {
    kill.borrow_and_update();
    let acceptor = shared.acceptor.clone();
    let work = async move {
        match acceptor.accept(tcp).await {
            Ok(stream) => {
                let service = service_fn(move |request| route(shared.clone(), request));
                let http = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(error) = http.await {
                    tracing::debug!(%error, "connection ended");
                }
            }
            Err(error) => tracing::debug!(%error, "TLS handshake failed"),
        }
    };
    tokio::select! {
        () = work => {}
        _ = kill.changed() => tracing::debug!("connection dropped"),
    }
}

async fn route(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response, Infallible> {
    let path = request.uri().path().to_string();
    let reply = if path.starts_with("/relay/") {
        relay::handle(&shared, request).await.map(Either::Left)
    } else if path == "/admin" || path.starts_with("/admin/") {
        admin::handle(&shared, request).await.map(Either::Left)
    } else if dashboard::serves(&path) {
        dashboard::handle(&shared, request).await
    } else {
        reply::error(StatusCode::NOT_FOUND, "not-found", "no such path").map(Either::Left)
    };
    tracing::debug!(path, status = reply.status().as_u16(), "request");
    Ok(reply)
}

pub enum BodyError {
    TooLarge,
    Broken(String),
}

/// The whole body, at most [`MAX_BODY`] bytes.
pub async fn read_body(headers: &hyper::HeaderMap, body: Incoming) -> Result<Bytes, BodyError> {
    let declared =
        headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(error) => Err(BodyError::Broken(error.to_string())),
    }
}

impl BodyError {
    pub fn reply(&self) -> Reply {
        match self {
            Self::TooLarge => reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                &format!("the body is larger than {MAX_BODY} bytes"),
            ),
            Self::Broken(message) => {
                reply::error(StatusCode::BAD_REQUEST, "bad-request", &format!("reading the body: {message}"))
            }
        }
    }
}
