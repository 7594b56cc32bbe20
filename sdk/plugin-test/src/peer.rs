//! The scripted peer: a real HTTP (or HTTPS) server on loopback that answers from a script and
//! records every request, so a test can both drive a plugin and check what it sent.
//!
//! A request is answered by the first unused [`Route::once`] reply scripted for it, in script
//! order; otherwise by its default reply (the most specific route, by [`Route::when_query`]
//! pairs, scripted last); otherwise with a 404 naming the request, which
//! [`Peer::unmatched`] keeps.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use crate::reply::Reply;
use crate::tls::TestCa;

/// A scripted HTTP server on `127.0.0.1` and a free port, running until it is dropped.
///
/// ```no_run
/// use msc_plugin_test::{Peer, Reply};
///
/// let peer = Peer::start();
/// peer.on("GET", "/devices").when_query("page", "1").reply(Reply::json(200, serde_json::json!([])));
/// peer.on("GET", "/devices").once().reply(Reply::status(503));
/// peer.on("GET", "/echo").reply_with(|req| Reply::text(200, req.query("q").unwrap_or_default()));
/// // ... run the plugin against peer.url() ...
/// assert!(peer.unmatched().is_empty(), "{:?}", peer.unmatched());
/// ```
pub struct Peer {
    origin: String,
    ca_pem: Option<String>,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Peer {
    /// Starts a plain HTTP peer: [`Peer::url`] is `http://127.0.0.1:PORT`.
    ///
    /// Panics when no loopback port can be bound.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts an HTTPS peer presenting a certificate for `localhost` and `127.0.0.1` from a fresh
    /// private CA: [`Peer::url`] is `https://localhost:PORT`; give the plugin
    /// [`Peer::ca_pem`] to trust ([`Plugin::ca_pem`](crate::Plugin::ca_pem)). For plugins that refuse plain HTTP.
    ///
    /// Panics when no loopback port can be bound or no certificate can be made.
    pub fn start_tls() -> Self {
        let ca = TestCa::new().expect("msc-plugin-test: cannot make a test certificate authority");
        Self::start_with(Some(ca))
    }

    fn start_with(ca: Option<TestCa>) -> Self {
        let state = Arc::new(State::default());
        let acceptor = ca.as_ref().map(|ca| tokio_rustls::TlsAcceptor::from(ca.server_config.clone()));
        let (listener, port) = crate::block_on(async {
            let listener =
                TcpListener::bind("127.0.0.1:0").await.expect("msc-plugin-test: cannot bind a loopback port");
            let port = listener.local_addr().expect("msc-plugin-test: the bound port").port();
            (listener, port)
        });
        let server = crate::runtime().spawn(serve(listener, acceptor, state.clone()));
        let origin = match ca {
            Some(_) => format!("https://localhost:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        };
        Self { origin, ca_pem: ca.map(|ca| ca.ca_pem), state, server }
    }

    /// The peer's origin, `http://127.0.0.1:PORT` (or `https://localhost:PORT`), no trailing
    /// slash: what the plugin's settings and `grant_http` take.
    pub fn url(&self) -> String {
        self.origin.clone()
    }

    /// The same as [`Peer::url`].
    pub fn origin(&self) -> String {
        self.url()
    }

    /// The PEM certificate of the CA behind an HTTPS peer ([`Peer::start_tls`]); `None` for
    /// plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Starts scripting the reply to `method` requests for exactly `path` (no query).
    pub fn on(&self, method: &str, path: &str) -> Route<'_> {
        Route {
            peer: self,
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query: Vec::new(),
            once: false,
        }
    }

    /// Every request received so far, in order, answered or not.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    /// The requests nothing was scripted for (answered with a 404).
    pub fn unmatched(&self) -> Vec<Recorded> {
        lock(&self.state.unmatched).clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A reply being scripted; it takes effect with [`Route::reply`] or [`Route::reply_with`].
#[must_use = "a route does nothing until it is given a reply"]
pub struct Route<'a> {
    peer: &'a Peer,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    once: bool,
}

impl Route<'_> {
    /// Only for requests whose query string has `name=value` (decoded); may be repeated.
    pub fn when_query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Answers one request only; the next matching request gets the next reply scripted for it.
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// Answers with `reply`.
    pub fn reply(self, reply: Reply) {
        self.script(Answer::Fixed(reply));
    }

    /// Answers with what `answer` makes of the request.
    pub fn reply_with(self, answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        self.script(Answer::With(Arc::new(answer)));
    }

    fn script(self, answer: Answer) {
        let scripted =
            Scripted { method: self.method, path: self.path, query: self.query, once: self.once, used: false, answer };
        lock(&self.peer.state.script).push(scripted);
    }
}

/// One request as the peer received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Upper case, e.g. `GET`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query's pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Every header, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, as received.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of field `name` of a form body (`application/x-www-form-urlencoded`).
    pub fn form(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body).find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.query).finish();
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    script: Mutex<Vec<Scripted>>,
    requests: Mutex<Vec<Recorded>>,
    unmatched: Mutex<Vec<Recorded>>,
}

struct Scripted {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    once: bool,
    used: bool,
    answer: Answer,
}

impl Scripted {
    fn matches(&self, request: &Recorded) -> bool {
        self.method == request.method
            && self.path == request.path
            && self.query.iter().all(|pair| request.query.contains(pair))
    }
}

#[derive(Clone)]
enum Answer {
    Fixed(Reply),
    With(Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>),
}

impl State {
    /// Records `request` and picks its reply; `None` when nothing was scripted for it.
    fn answer(&self, request: &Recorded) -> Option<Reply> {
        lock(&self.requests).push(request.clone());
        let answer = self.pick(request);
        if answer.is_none() {
            lock(&self.unmatched).push(request.clone());
        }
        // Outside the lock: a closure may be slow, or panic.
        answer.map(|answer| match answer {
            Answer::Fixed(reply) => reply,
            Answer::With(make) => make(request),
        })
    }

    fn pick(&self, request: &Recorded) -> Option<Answer> {
        let mut script = lock(&self.script);
        if let Some(once) = script.iter_mut().find(|s| s.once && !s.used && s.matches(request)) {
            once.used = true;
            return Some(once.answer.clone());
        }
        script
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.once && s.matches(request))
            .max_by_key(|(order, s)| (s.query.len(), *order))
            .map(|(_, s)| s.answer.clone())
    }
}

async fn serve(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, state: Arc<State>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (state, tls) = (state.clone(), tls.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, state.clone()));
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                // A client that refuses the certificate ends the handshake: the test sees that
                // in the plugin's error.
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                }
            }
        });
    }
}

async fn answer(request: Request<Incoming>, state: Arc<State>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // A body cut short is recorded as far as it came.
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_string(),
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
    };
    let reply = match state.answer(&recorded) {
        Some(reply) => reply,
        None => Reply::text(
            404,
            format!(
                "msc-plugin-test peer: nothing scripted for {recorded} (script it with peer.on({:?}, {:?}))",
                recorded.method, recorded.path
            ),
        ),
    };
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    Ok(response(reply))
}

fn response(reply: Reply) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        builder = builder.header(name, value);
    }
    builder.body(Full::new(Bytes::from(reply.body))).unwrap_or_else(|e| {
        // A status or header the test scripted that HTTP cannot carry.
        let mut refused = Response::new(Full::new(Bytes::from(format!("msc-plugin-test peer: invalid reply: {e}"))));
        *refused.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        refused
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, query: &[(&str, &str)]) -> Recorded {
        Recorded {
            method: method.into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers: vec![],
            body: vec![],
        }
    }

    fn status(state: &State, request: &Recorded) -> Option<u16> {
        state.answer(request).map(|r| r.status)
    }

    fn script(state: &State, path: &str, query: &[(&str, &str)], once: bool, status: u16) {
        lock(&state.script).push(Scripted {
            method: "GET".into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            once,
            used: false,
            answer: Answer::Fixed(Reply::status(status)),
        });
    }

    #[test]
    fn once_replies_come_first_in_order_then_the_last_default() {
        let state = State::default();
        script(&state, "/a", &[], false, 200);
        script(&state, "/a", &[], true, 429);
        script(&state, "/a", &[], true, 503);
        script(&state, "/a", &[], false, 201);
        let get = request("GET", "/a", &[]);
        let answered: Vec<_> = (0..4).map(|_| status(&state, &get)).collect();
        assert_eq!(answered, [Some(429), Some(503), Some(201), Some(201)]);
    }

    #[test]
    fn query_pairs_narrow_a_route_and_the_most_specific_default_wins() {
        let state = State::default();
        script(&state, "/d", &[("page", "2")], false, 202);
        script(&state, "/d", &[], false, 200);
        assert_eq!(status(&state, &request("GET", "/d", &[("page", "1")])), Some(200));
        assert_eq!(status(&state, &request("GET", "/d", &[("size", "5"), ("page", "2")])), Some(202));
        assert_eq!(status(&state, &request("POST", "/d", &[])), None, "the method must match");
        assert_eq!(status(&state, &request("GET", "/d/x", &[])), None, "the path must match exactly");
    }

    #[test]
    fn unmatched_requests_are_recorded_and_every_request_is_kept() {
        let state = State::default();
        script(&state, "/known", &[], false, 200);
        state.answer(&request("GET", "/known", &[]));
        state.answer(&request("GET", "/unknown", &[("q", "1")]));
        let unmatched = lock(&state.unmatched).clone();
        assert_eq!(unmatched, vec![request("GET", "/unknown", &[("q", "1")])]);
        assert_eq!(unmatched[0].to_string(), "GET /unknown?q=1");
        assert_eq!(lock(&state.requests).len(), 2);
    }

    #[test]
    fn recorded_helpers_read_headers_query_form_and_json() {
        let mut seen = request("POST", "/t", &[("a", "1")]);
        seen.headers = vec![("content-type".into(), "application/json".into())];
        seen.body = br#"{"k":"v"}"#.to_vec();
        assert_eq!(seen.header("Content-Type"), Some("application/json"));
        assert_eq!(seen.query("a"), Some("1"));
        assert_eq!(seen.json::<serde_json::Value>().ok().map(|v| v["k"].clone()), Some("v".into()));
        seen.body = b"grant_type=client_credentials&scope=a%20b".to_vec();
        assert_eq!(seen.form("scope").as_deref(), Some("a b"));
        assert_eq!(seen.text(), "grant_type=client_credentials&scope=a%20b");
    }
}

#[cfg(test)]
mod served {
    use std::io::{Read, Write};

    use super::*;

    /// Sends `request` over a fresh connection and returns the whole answer.
    fn exchange(peer: &Peer, request: &str) -> String {
        let addr = peer.url().trim_start_matches("http://").to_string();
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
        tcp.write_all(request.as_bytes()).expect("send");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("read");
        answer
    }

    #[test]
    fn answers_over_http_and_records_what_it_received() {
        let peer = Peer::start();
        peer.on("post", "/echo").reply_with(|req| {
            Reply::text(201, format!("{}:{}", req.query("q").unwrap_or_default(), req.text())).header("x-seen", "yes")
        });
        let answer = exchange(
            &peer,
            "POST /echo?q=a%20b HTTP/1.1\r\nHost: x\r\nX-Trace: 7\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        assert!(answer.contains("x-seen: yes"), "{answer}");
        assert!(answer.ends_with("a b:hi"), "{answer}");

        let missing = exchange(&peer, "GET /nope?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        assert!(missing.contains("nothing scripted for GET /nope?x=1"), "{missing}");

        let requests = peer.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].header("x-trace"), Some("7"));
        assert_eq!(requests[0].body, b"hi");
        assert_eq!(peer.unmatched(), vec![requests[1].clone()]);
    }
}
