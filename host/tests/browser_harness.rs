//! The Chromium harness itself: a browser pinned to one self-signed certificate loads a page
//! from it, runs its script, fills and submits its form; a browser without the pin refuses the
//! certificate; an `alert` is seen. Needs `scripts/install-test-deps` (chromium, chromium-driver).

#[path = "common/browser.rs"]
mod browser;

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use browser::{Browser, spki_sha256_base64};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

const FORM_PAGE: &str = "<!DOCTYPE html><html><head><title>loading</title></head><body>\
<form id=\"f\" method=\"post\" action=\"/submit\"><input id=\"who\" name=\"who\"><button>Send</button></form>\
<script>document.title = \"harness-ok\";</script></body></html>";

/// A tiny HTTPS site with a self-signed certificate; it records every request it answers.
struct Site {
    origin: String,
    pin: String,
    /// `"METHOD /path body"` per request.
    seen: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Site {
    async fn start() -> Site {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("self-signed certificate");
        let cert = CertificateDer::from(certified.cert.der().to_vec());
        let pin = spki_sha256_base64(&cert);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server certificate");
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("https://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(serve(listener, acceptor, seen.clone()));
        Site { origin, pin, seen, task }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, seen: Arc<Mutex<Vec<String>>>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, seen) = (acceptor.clone(), seen.clone());
        tokio::spawn(async move {
            // An unpinned browser aborts the handshake: nothing to serve then.
            let Ok(stream) = acceptor.accept(tcp).await else { return };
            let service = service_fn(move |request| answer(request, seen.clone()));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    seen: Arc<Mutex<Vec<String>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(format!("{method} {path} {}", String::from_utf8_lossy(&body)));
    let page = match (&method, path.as_str()) {
        (&Method::GET, "/") => FORM_PAGE,
        (&Method::POST, "/submit") => "<!DOCTYPE html><p id=\"done\">got it</p>",
        (&Method::GET, "/alert") => "<!DOCTYPE html><p>before</p><script>alert(1)</script>",
        _ => "<!DOCTYPE html><p>nothing here</p>",
    };
    let response = Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .header("set-cookie", "harness=1; Path=/; Secure; HttpOnly; SameSite=Lax")
        .body(Full::new(Bytes::from_static(page.as_bytes())))
        .expect("response");
    Ok(response)
}

#[tokio::test]
async fn a_pinned_browser_runs_scripts_submits_forms_and_sees_alerts() {
    let site = Site::start().await;
    let started = Instant::now();
    let browser = Browser::start(Some(&site.pin)).await;
    eprintln!("browser started in {:?}", started.elapsed());

    browser.goto(&format!("{}/", site.origin)).await;
    assert_eq!(browser.eval("return document.title").await, "harness-ok", "the page's script ran");
    assert!(browser.source().await.contains("<input id=\"who\" name=\"who\">"));
    let cookies = browser.cookies().await;
    assert!(cookies.iter().any(|c| c.name() == "harness" && c.value() == "1"), "{cookies:?}");

    browser.fill("#who", "Jane Doe & co").await;
    browser.submit("#f").await;
    browser.wait_for("#done").await;
    assert_eq!(browser.text_of("#done").await, "got it");
    assert_eq!(browser.current_url().await, format!("{}/submit", site.origin));
    assert!(site.seen().contains(&"POST /submit who=Jane+Doe+%26+co".to_string()), "{:?}", site.seen());
    assert!(!browser.alert_open().await);

    browser.goto(&format!("{}/alert", site.origin)).await;
    assert!(browser.alert_open().await, "alert(1) shows");
    browser.dismiss_alert().await;
    assert!(!browser.alert_open().await);
    browser.close().await;
    eprintln!("whole test in {:?}", started.elapsed());
}

#[tokio::test]
async fn without_the_pin_the_certificate_is_refused() {
    let site = Site::start().await;
    let browser = Browser::start(None).await;
    browser.goto(&format!("{}/", site.origin)).await;
    let refused = browser.certificate_error().await;
    assert!(refused.as_deref().is_some_and(|code| code.starts_with("net::ERR_CERT_")), "{refused:?}");
    assert!(!browser.source().await.contains("harness-ok"), "the page's content is not shown");
    assert!(site.seen().is_empty(), "no request got through: {:?}", site.seen());
    browser.close().await;
}

#[test]
fn pins_are_the_spki_hash() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    // rcgen serializes the key's SubjectPublicKeyInfo itself: the pin must hash exactly that.
    let spki = rcgen::PublicKeyData::subject_public_key_info(&certified.signing_key);
    let expected = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki))
    };
    assert_eq!(spki_sha256_base64(certified.cert.der()), expected);
}
