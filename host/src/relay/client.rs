//! The relay's API as typed calls, and the session they run under: registered on first use and
//! again whenever the relay no longer knows it (`401`), once for every caller that noticed.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::transport::{Answer, Endpoint, Lane, TransportError};
use super::wire::{self, Registered};

/// How long a request other than a poll may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the relay did not answer {0} in time")]
    Timeout(&'static str),
    #[error("the relay refused the enrollment token: {0}")]
    EnrollmentRefused(String),
    #[error("the relay refused this connector's keyring: {0}. Connectors of one group must share one keyring file")]
    KeyringMismatch(String),
    #[error("the relay does not speak protocol v1: {0}. Upgrade the connector")]
    UnsupportedProtocol(String),
    #[error("the relay no longer knows this connector's session")]
    SessionLost,
    #[error("the relay asked to slow down")]
    RateLimited(Option<Duration>),
    #[error("the relay answered {what} with {status}: {code} {message}")]
    Refused { what: &'static str, status: StatusCode, code: String, message: String },
    #[error("the relay's answer to {what} is not valid: {reason}")]
    Decode { what: &'static str, reason: String },
    #[error("no session with the relay")]
    NoSession,
    #[error("a relay link can be served only once")]
    AlreadyServed,
}

impl LinkError {
    /// Errors no retry can fix: the admin must act.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::EnrollmentRefused(_) | Self::KeyringMismatch(_) | Self::UnsupportedProtocol(_))
    }

    /// What the relay asked to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited(wait) => *wait,
            _ => None,
        }
    }
}

/// Who this connector is, as registration tells the relay.
pub struct Identity {
    pub name: String,
    pub version: String,
    /// Random per process: tells the relay a restarted connector from the one before.
    pub run: String,
    pub keyring: String,
    pub capacity: u32,
    pub instances: Vec<(String, &'static str)>,
}

/// A registered session and the parameters the relay set for it.
pub struct Session {
    token: SecretString,
    pub registered: Registered,
    /// Counts registrations: a new value is a session the relay has just granted.
    pub generation: u64,
}

pub struct RelayClient {
    endpoint: Arc<Endpoint>,
    enrollment_token: SecretString,
    identity: Identity,
    session: RwLock<Option<Arc<Session>>>,
    registering: tokio::sync::Mutex<u64>,
}

impl RelayClient {
    pub fn new(endpoint: Arc<Endpoint>, enrollment_token: SecretString, identity: Identity) -> Self {
        Self {
            endpoint,
            enrollment_token,
            identity,
            session: RwLock::new(None),
            registering: tokio::sync::Mutex::new(0),
        }
    }

    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn current(&self) -> Option<Arc<Session>> {
        self.session.read().ok().and_then(|s| s.clone())
    }

    /// The live session, registering one if there is none.
    pub async fn session(&self, lane: &mut Lane) -> Result<Arc<Session>, LinkError> {
        if let Some(session) = self.current() {
            return Ok(session);
        }
        let mut generation = self.registering.lock().await;
        // Another caller may have registered while this one waited.
        if let Some(session) = self.current() {
            return Ok(session);
        }
        let registered: Registered = self.register(lane).await?;
        *generation += 1;
        tracing::info!(
            relay = %self.endpoint.authority(),
            connector_id = %registered.connector_id,
            group = registered.group.as_deref().unwrap_or("-"),
            "registered with the relay"
        );
        let session = Arc::new(Session {
            token: SecretString::from(registered.session.clone()),
            registered,
            generation: *generation,
        });
        if let Ok(mut slot) = self.session.write() {
            *slot = Some(session.clone());
        }
        Ok(session)
    }

    /// Forgets `session` if it is still the current one, so the next call registers again.
    pub fn invalidate(&self, session: &Session) {
        if let Ok(mut slot) = self.session.write()
            && slot.as_ref().is_some_and(|s| s.generation == session.generation)
        {
            *slot = None;
        }
    }

    /// The current session without registering; `None` before the first registration or after
    /// the session was lost.
    pub fn existing_session(&self) -> Option<Arc<Session>> {
        self.current()
    }

    async fn register(&self, lane: &mut Lane) -> Result<Registered, LinkError> {
        let id = &self.identity;
        let body = wire::Register {
            protocol: wire::PROTOCOL,
            connector: wire::ConnectorIdentity { name: &id.name, version: &id.version, run: &id.run },
            keyring: &id.keyring,
            capacity: id.capacity,
            instances: id.instances.iter().map(|(name, kind)| wire::InstanceInfo { name, kind }).collect(),
        };
        let answer =
            self.exchange(lane, Method::POST, "register", &self.enrollment_token, &body, REQUEST_TIMEOUT).await?;
        match classify("register", answer) {
            Err(LinkError::SessionLost) => {
                Err(LinkError::EnrollmentRefused("unknown or revoked enrollment token (HTTP 401)".into()))
            }
            other => other,
        }
    }

    /// Calls `path` under the live session; registers again and retries once when the relay
    /// lost the session.
    pub async fn call<T: DeserializeOwned>(
        &self,
        lane: &mut Lane,
        method: Method,
        path: &'static str,
        body: &impl Serialize,
        timeout: Option<Duration>,
    ) -> Result<T, LinkError> {
        for _ in 0..2 {
            let session = self.session(lane).await?;
            let answer = self
                .exchange(lane, method.clone(), path, &session.token, body, timeout.unwrap_or(REQUEST_TIMEOUT))
                .await?;
            match classify(path, answer) {
                Err(LinkError::SessionLost) => {
                    tracing::warn!("the relay lost this connector's session; registering again");
                    self.invalidate(&session);
                }
                other => return other,
            }
        }
        Err(LinkError::SessionLost)
    }

    /// Calls `path` (POST) under the current session only: never registers. For shutdown, where
    /// a new session would only be ended again.
    pub async fn call_in_session<T: DeserializeOwned>(
        &self,
        lane: &mut Lane,
        path: &'static str,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<T, LinkError> {
        let session = self.current().ok_or(LinkError::NoSession)?;
        let answer = self.exchange(lane, Method::POST, path, &session.token, body, timeout).await?;
        classify(path, answer)
    }

    /// Ends the current session (`DELETE /session`), if there is one; its leases go back to the
    /// relay's queue.
    pub async fn end_session(&self, lane: &mut Lane, timeout: Duration) -> Result<(), LinkError> {
        let Some(session) = self.current() else { return Ok(()) };
        let answer =
            self.exchange(lane, Method::DELETE, "session", &session.token, &serde_json::json!({}), timeout).await?;
        self.invalidate(&session);
        classify::<serde_json::Value>("session", answer).map(drop)
    }

    async fn exchange(
        &self,
        lane: &mut Lane,
        method: Method,
        path: &'static str,
        token: &SecretString,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<Answer, LinkError> {
        let bytes = serde_json::to_vec(body).map_err(|e| LinkError::Decode { what: path, reason: e.to_string() })?;
        let request = Request::builder()
            .method(method)
            .uri(format!("{}/{path}", wire::BASE_PATH))
            .header(http::header::HOST, self.endpoint.authority())
            .header(http::header::AUTHORIZATION, format!("Bearer {}", token.expose_secret()))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(wire::PROTOCOL_HEADER, wire::PROTOCOL)
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| LinkError::Decode { what: path, reason: e.to_string() })?;
        match tokio::time::timeout(timeout, lane.send(request)).await {
            Ok(answer) => Ok(answer?),
            Err(_) => {
                lane.close();
                Err(LinkError::Timeout(path))
            }
        }
    }
}

/// Turns an answer into its typed body or the protocol's error for its status.
fn classify<T: DeserializeOwned>(what: &'static str, answer: Answer) -> Result<T, LinkError> {
    if answer.status.is_success() {
        return serde_json::from_slice(&answer.body).map_err(|e| LinkError::Decode { what, reason: e.to_string() });
    }
    let error: wire::RelayError = serde_json::from_slice(&answer.body).unwrap_or_default();
    Err(match answer.status {
        StatusCode::UNAUTHORIZED => LinkError::SessionLost,
        StatusCode::CONFLICT if error.error == "keyring-mismatch" => LinkError::KeyringMismatch(error.message),
        StatusCode::UPGRADE_REQUIRED => LinkError::UnsupportedProtocol(error.message),
        StatusCode::TOO_MANY_REQUESTS => LinkError::RateLimited(answer.retry_after),
        status => LinkError::Refused { what, status, code: error.error, message: error.message },
    })
}
