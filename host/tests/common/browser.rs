//! A real headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/install-test-deps`), for end-to-end tests of what a browser does with the
//! local proxy's pages: TLS, redirects, cookies, forms, scripts.
//!
//! Include it with `#[path = "common/browser.rs"] mod browser;`; it uses nothing else in
//! `tests/common`. Each [`Browser`] runs its own `chromedriver` on a free loopback port and a
//! fresh profile, so tests can run in parallel; headless start-up takes about a second.
//!
//! The helpers panic (failing the test) with what they were doing, except [`Browser::try_goto`].

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use fantoccini::cookies::Cookie;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long [`Browser::wait_for`] and the driver's start wait.
const WAIT: Duration = Duration::from_secs(10);

/// A headless Chromium session and the `chromedriver` serving it; both end on drop.
pub struct Browser {
    client: Client,
    driver: Driver,
    /// chromedriver's output and Chromium's profile; removed after the processes end.
    dir: tempfile::TempDir,
}

/// The `chromedriver` process: on drop, ends the session it runs (Chromium quits) and the
/// driver, also when start-up failed half-way.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium with a fresh profile. With `trust_spki`
    /// (see [`spki_sha256_base64`]), Chromium accepts a certificate with exactly that public key
    /// even though no CA it trusts signed it; any other certificate Chromium does not trust still
    /// gets its warning page.
    pub async fn start(trust_spki: Option<&str>) -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: run `scripts/install-test-deps` (Debian packages chromium, chromium-driver)"
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("chromedriver.log");
        let profile = dir.path().join("profile");
        let mut attempts = 0;
        let mut driver = loop {
            let port = free_port();
            let output = std::fs::File::create(&log).expect("chromedriver log");
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(output.try_clone().expect("log handle"))
                .stderr(output)
                .spawn()
                .expect("start chromedriver");
            let mut driver = Driver { child, port, session: None };
            match driver.wait_ready().await {
                Ok(()) => break driver,
                // Another process took the free port before chromedriver bound it: try another.
                Err(Exited(true)) if attempts < 3 => attempts += 1,
                Err(Exited(exited)) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    let what = if exited { "exited" } else { "did not become ready" };
                    panic!("chromedriver {what} on port {port}:\n{log}");
                }
            }
        };
        let client = connect(driver.port, &log, &profile, trust_spki).await;
        driver.session = client.session_id().await.ok().flatten();
        Browser { client, driver, dir }
    }

    /// The WebDriver client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page to load. A page that opens an alert while
    /// loading is not an error (see [`Browser::alert_open`]). A certificate Chromium refuses is
    /// not an error either: it shows its warning page instead (see
    /// [`Browser::certificate_error`]); nor is an unreachable server (an error page).
    pub async fn goto(&self, url: &str) {
        match self.try_goto(url).await {
            Ok(()) => {}
            Err(error) if error.is_unexpected_alert_open() => {}
            Err(error) => panic!("goto {url}: {error}{}", self.driver_log()),
        }
    }

    /// [`Browser::goto`] without failing the test on WebDriver errors.
    pub async fn try_goto(&self, url: &str) -> Result<(), CmdError> {
        self.client.goto(url).await
    }

    /// The error code (`net::ERR_CERT_AUTHORITY_INVALID`, …) when Chromium shows its certificate
    /// warning instead of the page, which it does for a certificate it does not trust.
    pub async fn certificate_error(&self) -> Option<String> {
        let js = "const code = document.querySelector('body.ssl #error-code'); return code ? code.textContent : null";
        self.eval(js).await.as_str().map(str::to_string)
    }

    /// The current page's HTML, as the browser now has it (scripts' changes included).
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_else(|e| panic!("page source: {e}"))
    }

    pub async fn current_url(&self) -> String {
        self.client.current_url().await.map(|url| url.to_string()).unwrap_or_else(|e| panic!("current url: {e}"))
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Whether an element matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(_) => true,
            Err(error) if error.is_no_such_element() => false,
            Err(error) => panic!("find {css}: {error}"),
        }
    }

    /// Waits (up to 10 s) until an element matches `css`, e.g. after a navigation.
    pub async fn wait_for(&self, css: &str) {
        if let Err(error) = self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            panic!("waiting for {css} on {url}: {error}");
        }
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Submits the form matching `css` as a user would: clicking its first submit button, or,
    /// without one, `requestSubmit()` (which still runs the browser's checks and submit events).
    pub async fn submit(&self, form_css: &str) {
        let form = self.find(form_css).await;
        let buttons = Locator::Css("button:not([type]), button[type=submit], input[type=submit]");
        match form.find(buttons).await {
            Ok(button) => button.click().await.unwrap_or_else(|e| panic!("submit {form_css}: {e}")),
            Err(error) if error.is_no_such_element() => {
                self.client
                    .execute("document.querySelector(arguments[0]).requestSubmit()", vec![json!(form_css)])
                    .await
                    .unwrap_or_else(|e| panic!("submit {form_css}: {e}"));
            }
            Err(error) => panic!("submit {form_css}: {error}"),
        }
    }

    /// The cookies the browser holds for the current page (`HttpOnly` ones included).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client.get_all_cookies().await.unwrap_or_else(|e| panic!("cookies: {e}"))
    }

    /// Whether a JavaScript dialog (`alert`, `confirm`, `prompt`) is showing. Dialogs are left
    /// open (the session's `unhandledPromptBehavior` is `ignore`), so an injected `alert` shows.
    pub async fn alert_open(&self) -> bool {
        match self.client.get_alert_text().await {
            Ok(_) => true,
            Err(error) if error.is_no_such_alert() => false,
            Err(error) => panic!("alert text: {error}"),
        }
    }

    pub async fn dismiss_alert(&self) {
        self.client.dismiss_alert().await.unwrap_or_else(|e| panic!("dismiss alert: {e}"));
    }

    /// Runs `js` as a function body in the page (`return document.title`); its return value.
    pub async fn eval(&self, js: &str) -> Value {
        self.client.execute(js, Vec::new()).await.unwrap_or_else(|e| panic!("eval {js}: {e}"))
    }

    /// Ends the session (Chromium quits) and the driver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        if client.close().await.is_ok() {
            self.driver.session = None;
        }
    }

    /// chromedriver's output so far, for failure messages.
    pub fn driver_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        format!("\n--- chromedriver (last lines) ---\n{}", tail.join("\n"))
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Killing chromedriver alone would leave Chromium running: end the session first, over
        // a plain blocking request (the async runtime may be gone by now).
        if let Some(session) = self.session.take() {
            let _ = http_request(self.port, "DELETE", &format!("/session/{session}"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pin Chromium's `--ignore-certificate-errors-spki-list` takes: base64 of the SHA-256 of the
/// certificate's SubjectPublicKeyInfo. `cert_der` is one X.509 certificate, DER (for PEM, parse
/// it first, e.g. `rustls_pki_types::CertificateDer::from_pem_slice`). Panics on anything else.
pub fn spki_sha256_base64(cert_der: &[u8]) -> String {
    let spki = subject_public_key_info(cert_der).expect("an X.509 certificate in DER");
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki))
}

/// The SubjectPublicKeyInfo (whole TLV) of a DER certificate: Certificate ::= SEQUENCE {
/// tbsCertificate SEQUENCE { [0] version OPTIONAL, serial, signature, issuer, validity,
/// subject, subjectPublicKeyInfo, … }, … }.
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = der(cert, 0x30)?;
    let (mut tbs, _) = der(certificate, 0x30)?;
    if tbs.first() == Some(&0xa0) {
        tbs = der_any(tbs)?.1;
    }
    for _ in 0..5 {
        tbs = der_any(tbs)?.1;
    }
    let (whole, _) = der_any(tbs)?;
    (whole.first() == Some(&0x30)).then_some(whole)
}

/// The content of the DER element at the start of `input` if its tag is `tag`, and the rest.
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let (whole, rest) = der_any(input)?;
    let header = whole.len() - content_length(whole)?;
    Some((&whole[header..], rest))
}

/// The whole DER element (tag, length, content) at the start of `input`, and the rest.
fn der_any(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let length = content_length(input)?;
    let first = *input.get(1)?;
    let header = if first < 0x80 { 2 } else { 2 + usize::from(first & 0x7f) };
    let end = header.checked_add(length)?;
    (end <= input.len()).then(|| input.split_at(end))
}

fn content_length(element: &[u8]) -> Option<usize> {
    let first = *element.get(1)?;
    if first < 0x80 {
        return Some(usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
        return None;
    }
    element.get(2..2 + count)?.iter().try_fold(0usize, |length, b| Some(length << 8 | usize::from(*b)))
}

/// Why chromedriver is not ready: it exited (`true`) or took too long.
struct Exited(bool);

impl Driver {
    async fn wait_ready(&mut self) -> Result<(), Exited> {
        let started = Instant::now();
        loop {
            let ready = http_request(self.port, "GET", "/status")
                .ok()
                .and_then(|body| serde_json::from_str::<Value>(&body).ok())
                .is_some_and(|status| status["value"]["ready"] == true);
            if ready {
                return Ok(());
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return Err(Exited(true));
            }
            if started.elapsed() > WAIT {
                return Err(Exited(false));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A session on the ready chromedriver at `port`: headless Chromium with a fresh profile.
async fn connect(port: u16, log: &Path, profile: &Path, trust_spki: Option<&str>) -> Client {
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--disable-dev-shm-usage".to_string(),
        // Loopback only: a proxy from the environment must not come between.
        "--no-proxy-server".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if let Some(pin) = trust_spki {
        args.push(format!("--ignore-certificate-errors-spki-list={pin}"));
    }
    let capabilities = json!({
        "browserName": "chrome",
        "acceptInsecureCerts": false,
        "unhandledPromptBehavior": "ignore",
        "timeouts": {"pageLoad": 30_000, "script": 10_000, "implicit": 0},
        "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
    });
    let Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
    // Plain HTTP to chromedriver on loopback: no TLS connector needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    match ClientBuilder::new(connector).capabilities(capabilities).connect(&format!("http://127.0.0.1:{port}")).await {
        Ok(client) => client,
        Err(error) => {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("starting Chromium through chromedriver: {error}\n{log}");
        }
    }
}

/// A one-shot request without body to chromedriver; the response body. chromedriver keeps
/// connections open whatever the request says, so the body is read by its Content-Length.
fn http_request(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer)?;
        response.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&response);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
            });
            if read == 0 || length.is_some_and(|length| body.len() >= length) {
                return Ok(body.to_string());
            }
        } else if read == 0 {
            return Ok(String::new());
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}
