//! The admin listener: plain HTTP on an address the admin chose (keep it on loopback or a
//! management network), for health checks and `connector plugins list`.
//!
//! - `GET /healthz`: `200 {"status": "ok" | "degraded", "plugins": [...]}` while the process
//!   serves; `degraded` when a plugin version was refused or a plugin file is missing (the
//!   previous version still serves).
//! - `GET /plugins`: every instance's plugin status (`PluginStatus`), as JSON.
//! - `/healthz` also lists each SIEM target's waiting events (`siem`) and the mail outbox
//!   (`mail`: waiting mails, outcomes not yet taken by the relay); a full queue is `degraded`.
//! - `GET /readyz`: `200 {"ready": true}` when the connector can do its job — the relay answered
//!   its registration or last poll (when a `[relay]` is configured) and no durable queue is full
//!   (every plugin instance is loaded before the listener starts; self-tests run beside it) —
//!   else `503` with `"waiting_for"`: what is missing, in words.
//! - `GET /metrics`: Prometheus metrics, OpenMetrics text (`crate::metrics`).
//!
//! Nothing here reveals secrets or personal data: plugin paths, hashes and refusal reasons only.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::mail::MailOutbox;
use crate::metrics::{Snapshot, metrics};
use crate::plugins::{PluginRuntime, PluginStatus};
use crate::relay::LinkState;
use crate::siem::SiemDelivery;

/// The durable queues `/healthz` reports on, and the relay link `/readyz` waits for.
#[derive(Clone, Default)]
pub struct Queues {
    pub siem: Option<Arc<SiemDelivery>>,
    pub mail: Option<Arc<MailOutbox>>,
    /// `None` without a `[relay]`.
    pub relay: Option<LinkState>,
}

/// What the connector is doing now, as admins see it: plugin versions, the relay link, queue
/// depths. The admin listener and the local proxy's status page both read it.
#[derive(Clone)]
pub struct Overview {
    pub runtime: Arc<PluginRuntime>,
    pub queues: Queues,
}

impl Overview {
    pub fn plugins(&self) -> Vec<PluginStatus> {
        self.runtime.status()
    }

    /// Each durable queue: its name, waiting items, and whether it is full.
    pub fn queues(&self) -> Vec<(String, u64, bool)> {
        queue_depths(&self.queues)
    }

    /// Whether the relay answers (registration or the last poll); `None` without a `[relay]`.
    pub fn relay_up(&self) -> Option<bool> {
        self.queues.relay.as_ref().map(LinkState::is_up)
    }
}

/// Listens on `addr` and serves until the returned task is aborted.
pub async fn serve(addr: SocketAddr, overview: Overview) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    if !addr.ip().is_loopback() {
        tracing::warn!(listen = %addr, "the admin listener has no authentication: keep it on loopback or a management network");
    }
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!("admin listener: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let overview = overview.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let overview = overview.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&overview, &request)) }
                });
                if let Err(error) =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
                {
                    tracing::debug!("admin connection: {error}");
                }
            });
        }
    });
    Ok((bound, task))
}

fn answer(overview: &Overview, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return json(StatusCode::METHOD_NOT_ALLOWED, &serde_json::json!({"error": "only GET is served here"}));
    }
    let (plugins, queues) = (overview.plugins(), &overview.queues);
    match request.uri().path() {
        "/healthz" => {
            let siem = queues.siem.as_deref().map(SiemDelivery::queues).unwrap_or_default();
            let mail = queues.mail.as_deref().map(MailOutbox::status);
            let degraded = plugins.iter().any(|p| p.refused.is_some() || p.file_missing)
                || siem.iter().any(|q| q.full)
                || mail.as_ref().is_some_and(|m| m.full);
            let status = if degraded { "degraded" } else { "ok" };
            json(StatusCode::OK, &serde_json::json!({"status": status, "plugins": plugins, "siem": siem, "mail": mail}))
        }
        "/plugins" => json(StatusCode::OK, &plugins),
        "/readyz" => {
            let waiting_for = not_ready(queues);
            let status = if waiting_for.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            json(status, &serde_json::json!({"ready": waiting_for.is_empty(), "waiting_for": waiting_for}))
        }
        "/metrics" => {
            let text = metrics().encode(&snapshot(&plugins, overview));
            let mut response = Response::new(Full::new(Bytes::from(text)));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "not found; try /healthz, /readyz, /metrics or /plugins"}),
        ),
    }
}

/// What keeps the connector from doing its job, in words; empty when it is ready.
fn not_ready(queues: &Queues) -> Vec<String> {
    let mut waiting = Vec::new();
    if queues.relay.as_ref().is_some_and(|link| !link.is_up()) {
        waiting.push("the relay link: not registered yet, or the last poll failed".to_string());
    }
    for (queue, _, full) in queue_depths(queues) {
        if full {
            waiting.push(format!("queue `{queue}` is full"));
        }
    }
    waiting
}

/// Each durable queue: its name, waiting items, and whether it is full.
fn queue_depths(queues: &Queues) -> Vec<(String, u64, bool)> {
    let siem = queues.siem.as_deref().map(SiemDelivery::queues).unwrap_or_default();
    let mut depths: Vec<(String, u64, bool)> =
        siem.iter().map(|q| (format!("siem:{}", q.target), q.waiting, q.full)).collect();
    if let Some(mail) = queues.mail.as_deref().map(MailOutbox::status) {
        depths.push(("mail".into(), mail.waiting, mail.full));
    }
    depths
}

fn snapshot(plugins: &[PluginStatus], overview: &Overview) -> Snapshot {
    Snapshot {
        queues: overview.queues(),
        relay_up: overview.relay_up(),
        plugins_serving: plugins.len() as u64,
        plugins_refused: plugins.iter().filter(|p| p.refused.is_some()).count() as u64,
    }
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_ready_until_the_relay_answers() {
        assert!(not_ready(&Queues::default()).is_empty(), "no relay configured, no queue: ready");
        let waiting = not_ready(&Queues { relay: Some(LinkState::default()), ..Queues::default() });
        assert!(waiting.iter().any(|w| w.contains("relay link")), "{waiting:?}");
    }
}
