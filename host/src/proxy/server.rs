//! The HTTPS listener and what each request gets: the proxy's own pages under `/_connector/`,
//! the login page for anyone without a session (never a proxied byte), and, for a logged-in
//! admin, the dashboard with personal data restored.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::audit::{AuditRecord, ProxyAudit};
use super::body::{BodyOutcome, ContentEncoding, RestoringBody};
use super::forward::{self, Upstream};
use super::ldap::{Directory, LdapError};
use super::pages::{self, ACCOUNT_PATH, LOGIN_PATH, LOGOUT_PATH, LoginNotice, STATUS_PATH};
use super::session::{self, LOGIN_COOKIE, SESSION_COOKIE, Session, Sessions};
use super::throttle::Throttle;
use super::users::UserStore;
use super::{ProxyBody, ProxyError, search, tls};
use crate::admin::Overview;
use crate::config::LocalProxyConfig;
use crate::pii::PiiFilter;
use crate::pii::restore::{Context, Restorer};

/// A TLS handshake must finish in this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request head must arrive in this long (slow-loris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Login and logout forms are small.
const MAX_FORM_BYTES: usize = 8 * 1024;
/// Form bodies posted to the dashboard are read whole (to tokenize what was typed) up to this.
const MAX_TOKENIZED_FORM_BYTES: usize = 256 * 1024;
/// The most distinct tokens one audit record lists.
const AUDITED_TOKENS: usize = 500;

/// What the running proxy reports at start.
pub struct Started {
    pub listen: SocketAddr,
    pub origin: String,
    /// SHA-256 of the listener's certificate.
    pub fingerprint: String,
    pub self_signed: bool,
    pub task: tokio::task::JoinHandle<()>,
}

struct Proxy {
    origin: String,
    sessions: Sessions,
    throttle: Throttle,
    users: Arc<UserStore>,
    directory: Option<Directory>,
    upstream: Upstream,
    filter: Arc<PiiFilter>,
    audit: ProxyAudit,
    /// What the status page shows; `None` when the proxy runs on its own.
    overview: Option<Overview>,
}

/// Starts the proxy: loads (or makes) its certificate, opens its audit log, binds, and serves
/// until the returned task is aborted. `overview` feeds the status page.
pub async fn start(
    config: LocalProxyConfig,
    filter: Arc<PiiFilter>,
    overview: Option<Overview>,
) -> Result<Started, ProxyError> {
    let host = origin_host(&config.origin);
    let identity = tls::load(&config.certificate, &host)?;
    let proxy = Arc::new(Proxy {
        origin: config.origin.clone(),
        sessions: Sessions::new(config.idle_timeout, config.absolute_timeout),
        throttle: Throttle::new(config.throttle),
        users: Arc::new(UserStore::new(&config.users_file)),
        directory: config.ldap.map(Directory::new),
        upstream: Upstream::new(&config.dashboard)?,
        filter,
        audit: ProxyAudit::open(&config.audit_log)?,
        overview,
    });
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ProxyError::Bind { addr: config.listen, reason: e.to_string() })?;
    let listen = listener.local_addr().map_err(|e| ProxyError::Bind { addr: config.listen, reason: e.to_string() })?;
    let acceptor = TlsAcceptor::from(identity.server.clone());
    let task = tokio::spawn(accept_loop(listener, acceptor, proxy));
    Ok(Started {
        listen,
        origin: config.origin,
        fingerprint: identity.fingerprint,
        self_signed: identity.self_signed,
        task,
    })
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, proxy: Arc<Proxy>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!("local proxy: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, proxy) = (acceptor.clone(), proxy.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(peer = %peer, "local proxy TLS handshake failed: {error}");
                    return;
                }
                Err(_) => return,
            };
            let source = peer.ip();
            let service = hyper::service::service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, std::convert::Infallible>(proxy.handle(request, source).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(peer = %peer, "local proxy connection: {error}");
            }
        });
    }
}

impl Proxy {
    async fn handle(&self, request: Request<Incoming>, source: IpAddr) -> Response<ProxyBody> {
        let path = request.uri().path().to_string();
        let session = session::cookie(request.headers(), SESSION_COOKIE).and_then(|c| self.sessions.get(c));
        match (path.as_str(), request.method()) {
            (LOGIN_PATH, &Method::GET) => self.login_page(&request, StatusCode::OK, LoginNotice::None),
            (LOGIN_PATH, &Method::POST) => self.login(request, source).await,
            (LOGOUT_PATH, &Method::POST) => self.logout(request, session, source).await,
            (ACCOUNT_PATH, &Method::GET) => match session {
                Some(session) => pages::account(&session),
                None => self.unauthenticated(&request),
            },
            (STATUS_PATH, &Method::GET) => match session {
                Some(_) => pages::status(self.overview.as_ref(), &crate::recent_problems::recent()),
                None => self.unauthenticated(&request),
            },
            (LOGIN_PATH | LOGOUT_PATH | ACCOUNT_PATH | STATUS_PATH, _) => {
                pages::error(StatusCode::METHOD_NOT_ALLOWED, "This page does not take that method.")
            }
            (p, _) if p.starts_with("/_connector/") => pages::error(StatusCode::NOT_FOUND, "No such page."),
            _ => match session {
                None => self.unauthenticated(&request),
                Some(session) => {
                    if forward::changes_state(request.method()) && !self.same_origin(request.headers()) {
                        return pages::error(
                            StatusCode::FORBIDDEN,
                            "This request did not come from a page of this proxy, so it was not sent on.",
                        );
                    }
                    self.forward(request, &session, source).await
                }
            },
        }
    }

    /// Anyone without a live session gets the login page, which returns them here afterwards.
    fn unauthenticated(&self, request: &Request<Incoming>) -> Response<ProxyBody> {
        let stale = session::cookie(request.headers(), SESSION_COOKIE).is_some();
        let notice = if stale { LoginNotice::Expired } else { LoginNotice::None };
        self.login_page(request, StatusCode::UNAUTHORIZED, notice)
    }

    fn login_page(&self, request: &Request<Incoming>, status: StatusCode, notice: LoginNotice) -> Response<ProxyBody> {
        let next = if request.uri().path() == LOGIN_PATH {
            query_value(request.uri().query(), "next").unwrap_or_else(|| "/".into())
        } else if request.method() == Method::GET {
            request.uri().path_and_query().map_or("/".into(), |p| p.as_str().to_string())
        } else {
            "/".into()
        };
        let notice = match notice {
            LoginNotice::None if query_value(request.uri().query(), "logged_out").is_some() => LoginNotice::LoggedOut,
            notice => notice,
        };
        let token = session::random_token();
        let mut response = pages::login(status, notice, &local_path(&next), &token);
        set_cookie(&mut response, &session::login_cookie(&token));
        response
    }

    async fn login(&self, request: Request<Incoming>, source: IpAddr) -> Response<ProxyBody> {
        if !self.same_origin(request.headers()) {
            return pages::error(StatusCode::FORBIDDEN, "Log in from this proxy's own login page.");
        }
        let cookie_token = session::cookie(request.headers(), LOGIN_COOKIE).map(str::to_string);
        let old_session = session::cookie(request.headers(), SESSION_COOKIE).map(str::to_string);
        let Some(form) = read_form(request.into_body(), MAX_FORM_BYTES).await else {
            return pages::error(StatusCode::BAD_REQUEST, "The login form could not be read.");
        };
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let next = local_path(field("next").unwrap_or("/"));
        // Every answer but success shows the form again, with a new token.
        let again = |status, notice| {
            let token = session::random_token();
            let mut response = pages::login(status, notice, &next, &token);
            set_cookie(&mut response, &session::login_cookie(&token));
            response
        };
        let csrf_ok =
            matches!((cookie_token.as_deref(), field("csrf")), (Some(a), Some(b)) if session::same_secret(a, b));
        if !csrf_ok {
            return again(StatusCode::FORBIDDEN, LoginNotice::Expired);
        }
        let user = field("username").unwrap_or_default().trim().to_string();
        let password = SecretString::from(field("password").unwrap_or_default().to_string());
        if let Err(wait) = self.throttle.check(&user, source) {
            crate::metrics::metrics().login_failed("throttled");
            self.audit.record(&AuditRecord::new("login-locked", &audited_name(&user), source));
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                LoginNotice::Locked { minutes: wait.as_secs().div_ceil(60).max(1) },
            );
        }
        match self.authenticate(&user, &password).await {
            Ok(method) => {
                self.throttle.succeeded(&user);
                if let Some(old) = old_session {
                    self.sessions.remove(&old);
                }
                let cookie = self.sessions.create(&user, method, source);
                let mut record = AuditRecord::new("login", &user, source);
                record.method = Some(method);
                self.audit.record(&record);
                tracing::info!(target: "audit", method, source = %source, "local proxy login");
                let mut response = pages::see_other(&next);
                set_cookie(&mut response, &session::session_cookie(&cookie));
                set_cookie(&mut response, &session::expired_cookie(LOGIN_COOKIE));
                response
            }
            Err(LoginFailure::Unavailable) => again(StatusCode::SERVICE_UNAVAILABLE, LoginNotice::Unavailable),
            Err(LoginFailure::Refused) => {
                crate::metrics::metrics().login_failed("password");
                self.throttle.failed(&user, source);
                self.audit.record(&AuditRecord::new("login-failed", &audited_name(&user), source));
                again(StatusCode::UNAUTHORIZED, LoginNotice::Failed)
            }
        }
    }

    /// Local users first, then the directory. Which one refused is never shown.
    async fn authenticate(&self, user: &str, password: &SecretString) -> Result<&'static str, LoginFailure> {
        use secrecy::ExposeSecret;
        if user.is_empty() || password.expose_secret().is_empty() {
            return Err(LoginFailure::Refused);
        }
        let users = self.users.clone();
        let (name, secret) = (user.to_string(), password.clone());
        match tokio::task::spawn_blocking(move || users.verify(&name, &secret)).await {
            Ok(Ok(true)) => return Ok("local"),
            Ok(Ok(false)) => {}
            Ok(Err(error)) => tracing::error!("local users: {error}"),
            Err(error) => tracing::error!("local users: {error}"),
        }
        let Some(directory) = &self.directory else { return Err(LoginFailure::Refused) };
        match directory.authenticate(user, password).await {
            Ok(_) => Ok("ldap"),
            Err(LdapError::InvalidCredentials | LdapError::NotPermitted) => Err(LoginFailure::Refused),
            Err(error) => {
                tracing::error!("directory login: {error}");
                Err(LoginFailure::Unavailable)
            }
        }
    }

    async fn logout(
        &self,
        request: Request<Incoming>,
        session: Option<Session>,
        source: IpAddr,
    ) -> Response<ProxyBody> {
        let Some(session) = session else { return pages::see_other(LOGIN_PATH) };
        if !self.same_origin(request.headers()) {
            return pages::error(StatusCode::FORBIDDEN, "Log out from this proxy's own pages.");
        }
        let cookie = session::cookie(request.headers(), SESSION_COOKIE).map(str::to_string);
        let form = read_form(request.into_body(), MAX_FORM_BYTES).await.unwrap_or_default();
        let token = form.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
        if !session::same_secret(token, &session.csrf) {
            return pages::error(StatusCode::FORBIDDEN, "The logout form has expired; open the account page again.");
        }
        if let Some(cookie) = cookie {
            self.sessions.remove(&cookie);
        }
        self.audit.record(&AuditRecord::new("logout", &session.user, source));
        let mut response = pages::see_other(&format!("{LOGIN_PATH}?logged_out=1"));
        set_cookie(&mut response, &session::expired_cookie(SESSION_COOKIE));
        // Whatever the dashboard left in the browser goes too.
        response.headers_mut().insert("clear-site-data", HeaderValue::from_static("\"cache\", \"storage\""));
        response
    }

    /// A state-changing request must come from a page of this origin: `Sec-Fetch-Site` when the
    /// browser sends it, then `Origin`, else `Referer`. Neither present: refused.
    fn same_origin(&self, headers: &http::HeaderMap) -> bool {
        let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
            && site != "same-origin"
        {
            return false;
        }
        match (text(header::ORIGIN), text(header::REFERER)) {
            (Some(origin), _) => origin == self.origin,
            (None, Some(referer)) => {
                referer.strip_prefix(self.origin.as_str()).is_some_and(|rest| rest.starts_with('/'))
            }
            (None, None) => false,
        }
    }

    async fn forward(&self, request: Request<Incoming>, session: &Session, source: IpAddr) -> Response<ProxyBody> {
        let (parts, body) = request.into_parts();
        let query = parts.uri.query().and_then(|q| search::tokenize_form(&self.filter, q));
        let mut skeleton = match self.upstream.outbound(&parts, &self.origin, &session.user, query.as_deref()) {
            Ok(skeleton) => skeleton,
            Err(error) => return pages::error(StatusCode::BAD_REQUEST, &error.to_string()),
        };
        let body = match self.outbound_body(&parts, body, skeleton.headers_mut()).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let response = match self.upstream.send(skeleton, body).await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!("local proxy: {error}");
                return pages::error(StatusCode::BAD_GATEWAY, &error.to_string());
            }
        };
        let path = query.map_or_else(|| parts.uri.path().to_string(), |q| format!("{}?{q}", parts.uri.path()));
        self.answer(response, &parts.method, session, source, path)
    }

    /// The request body for the dashboard: none for bodiless requests; a form read whole and
    /// tokenized; anything else streamed as it is.
    async fn outbound_body(
        &self,
        parts: &http::request::Parts,
        body: Incoming,
        headers: &mut http::HeaderMap,
    ) -> Result<Option<ProxyBody>, Response<ProxyBody>> {
        use http_body::Body;
        if body.is_end_stream() && !parts.headers.contains_key(header::TRANSFER_ENCODING) {
            return Ok(None);
        }
        let form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !form {
            if let Some(length) = parts.headers.get(header::CONTENT_LENGTH) {
                headers.insert(header::CONTENT_LENGTH, length.clone());
            }
            return Ok(Some(body.map_err(Into::into).boxed_unsync()));
        }
        let bytes = match Limited::new(body, MAX_TOKENIZED_FORM_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return Err(pages::error(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large to forward.")),
        };
        let bytes = match std::str::from_utf8(&bytes).ok().and_then(|text| search::tokenize_form(&self.filter, text)) {
            Some(tokenized) => Bytes::from(tokenized),
            None => bytes,
        };
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        Ok(Some(pages::full(bytes)))
    }

    /// The dashboard's answer for the browser: headers rewritten, text bodies restored as they
    /// stream, each restoring response audited when it ends.
    fn answer(
        &self,
        response: Response<Incoming>,
        method: &Method,
        session: &Session,
        source: IpAddr,
        path: String,
    ) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        let context = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(context_for)
            .filter(|_| !forward::bodiless(method, parts.status));
        let encoding = ContentEncoding::parse(parts.headers.get(header::CONTENT_ENCODING));
        forward::inbound(&mut parts, self.upstream.origin(), &self.origin, context.is_some() || method == Method::HEAD);
        let Some(context) = context else {
            return Response::from_parts(parts, body.map_err(Into::into).boxed_unsync());
        };
        let encoding = match encoding {
            Ok(encoding) => encoding,
            Err(error) => return pages::error(StatusCode::BAD_GATEWAY, &error.to_string()),
        };
        // `inbound` dropped Content-Encoding: the browser gets the restored text uncompressed,
        // as plaintext PII beside reflected input must not be compressed together (BREACH).
        let restorer = Restorer::new(self.filter.tokenizer().clone(), context).witness(AUDITED_TOKENS);
        let (audit, user, status) = (self.audit.clone(), session.user.clone(), parts.status.as_u16());
        let on_end = move |outcome: BodyOutcome| {
            crate::metrics::metrics().tokens_restored("proxy", outcome.stats.restored);
            if outcome.stats.restored == 0 && outcome.error.is_none() {
                return;
            }
            let mut record = AuditRecord::new("view", &user, source);
            record.path = Some(path);
            record.status = Some(status);
            record.restored = Some(outcome.stats.restored);
            record.tokens = outcome.witnessed.tokens;
            record.more_tokens = outcome.witnessed.more;
            record.error = outcome.error;
            audit.record(&record);
        };
        let body = RestoringBody::new(body, encoding, restorer, on_end);
        Response::from_parts(parts, body.map_err(Into::into).boxed_unsync())
    }
}

enum LoginFailure {
    Refused,
    Unavailable,
}

/// How tokens in a body of this type are restored; `None` for bodies passed through (images,
/// fonts, archives). Event streams carry JSON in their `data:` lines, so they are escaped as such.
fn context_for(content_type: &str) -> Option<Context> {
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media == "text/event-stream" {
        return Some(Context::JsonString);
    }
    Context::from_content_type(&media)
}

/// A user name as the audit log records a failed attempt: bounded, since people sometimes type
/// a password into the name field.
fn audited_name(user: &str) -> String {
    user.chars().take(64).collect()
}

fn set_cookie(response: &mut Response<ProxyBody>, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// `next` only ever leads to a path of this origin: never `//host`, `/\host` or a full URL; of the
/// proxy's own pages, only those an admin reads (not login or logout).
fn local_path(next: &str) -> String {
    let own_page = next.split(['?', '#']).next().unwrap_or_default();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control())
        && (!next.starts_with("/_connector/") || [STATUS_PATH, ACCOUNT_PATH].contains(&own_page));
    if ok { next.to_string() } else { "/".to_string() }
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn read_form(body: Incoming, limit: usize) -> Option<Vec<(String, String)>> {
    let bytes = Limited::new(body, limit).collect().await.ok()?.to_bytes();
    Some(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

fn origin_host(origin: &str) -> String {
    let authority = origin.trim_start_matches("https://");
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_origin() {
        assert_eq!(local_path("/dashboard?q=1"), "/dashboard?q=1");
        assert_eq!(local_path("/_connector/status"), "/_connector/status");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "dashboard",
            "/_connector/logout",
            "/_connector/login?next=/_connector/login",
            "/_connector/statusx",
            "/a\nb",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn contexts_follow_the_content_type() {
        assert_eq!(context_for("text/html; charset=utf-8"), Some(Context::Html));
        assert_eq!(context_for("application/json"), Some(Context::JsonString));
        assert_eq!(context_for("text/event-stream"), Some(Context::JsonString));
        assert_eq!(context_for("text/css"), Some(Context::CssString));
        assert_eq!(context_for("image/png"), None);
    }

    #[test]
    fn origin_hosts() {
        assert_eq!(origin_host("https://connector.corp:8443"), "connector.corp");
        assert_eq!(origin_host("https://[::1]:8443"), "::1");
        assert_eq!(origin_host("https://localhost"), "localhost");
    }
}
