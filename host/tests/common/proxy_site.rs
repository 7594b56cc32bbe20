//! A site for local proxy tests and benchmarks: the cloud emulator (its dashboard) seeded with
//! tokenized devices, a keyring, a test CA that issued the proxy's certificate, a local user,
//! and the proxy itself started in-process from a config file, as `connector run` starts it.
//! Included with `#[path]`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use cloud_emulator::{Emulator as Cloud, EmulatorConfig as CloudConfig};
use connector::config::Config;
use connector::pii::keyring::Keyring;
use connector::pii::{Kind, PiiFilter};
use connector::proxy::users::UserStore;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use secrecy::SecretString;
use serde_json::{Value, json};

#[path = "test_ca.rs"]
mod test_ca;
pub use test_ca::{free_port, issue_localhost};

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

/// One seeded device's plaintext.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub device: String,
    pub owner: String,
    pub email: String,
    pub phone: String,
}

pub struct ProxySite {
    pub dir: tempfile::TempDir,
    pub cloud: Cloud,
    pub filter: Arc<PiiFilter>,
    pub people: Vec<Person>,
    pub proxy: connector::proxy::Started,
    pub client: Client,
}

impl ProxySite {
    /// A site whose `[local_proxy]` section gets `extra` lines appended; `people` seeded devices
    /// (the first two with hostile names).
    pub async fn start(people: usize, extra: &str) -> ProxySite {
        Self::start_with(people, "", extra).await
    }

    /// Like [`start`](Self::start), with `relay_extra` lines appended to `[relay]` (e.g. a
    /// `[relay.proxy]` table: the dashboard is reached the way the relay is).
    pub async fn start_with(people: usize, relay_extra: &str, extra: &str) -> ProxySite {
        let cloud = Cloud::start(CloudConfig::default()).await.expect("cloud emulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        };
        write("relay-ca.pem", cloud.ca_pem());
        write("enrollment-token", "demo-enrollment-token");
        write("dashboard-token", cloud.dashboard_token());
        Keyring::generate().expect("keyring").create(&dir.path().join("pii.keyring")).expect("keyring file");
        let (ca_pem, cert_pem, key_pem) = issue_localhost();
        write("proxy-ca.pem", &ca_pem);
        write("proxy.pem", &cert_pem);
        write("proxy.key", &key_pem);
        let port = free_port();
        let text = format!(
            r#"[pii]
keyring = "pii.keyring"
default_region = "US"

[relay]
url = "{relay}"
enrollment_token = {{ file = "enrollment-token" }}
ca_file = "relay-ca.pem"
{relay_extra}

[local_proxy]
listen = "127.0.0.1:{port}"
cert_file = "proxy.pem"
key_file = "proxy.key"
dashboard_url = "{relay}"
dashboard_token = {{ file = "dashboard-token" }}
{extra}
"#,
            relay = cloud.relay_url(),
        );
        let file = dir.path().join("connector.toml");
        std::fs::write(&file, &text).expect("config");
        let mut config = Config::load(&file).unwrap_or_else(|e| panic!("config: {e}"));
        let filter = Arc::new(config.pii.take().expect("[pii]").into_filter());
        UserStore::new(&dir.path().join("users.toml"))
            .add(USER, &SecretString::from(PASSWORD.to_string()))
            .expect("add user");
        let people: Vec<Person> = (0..people).map(person).collect();
        seed(&cloud, &filter, &people);
        let proxy = connector::proxy::start(config.local_proxy.take().expect("[local_proxy]"), filter.clone(), None)
            .await
            .expect("proxy starts");
        let client = Client::new(proxy.listen, &ca_pem);
        ProxySite { dir, cloud, filter, people, proxy, client }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn origin(&self) -> String {
        self.proxy.origin.clone()
    }

    /// Every plaintext personal value seeded.
    pub fn personal_values(&self) -> Vec<String> {
        self.people.iter().flat_map(|p| [p.device.clone(), p.owner.clone(), p.email.clone(), p.phone.clone()]).collect()
    }

    pub fn audit_log(&self) -> String {
        std::fs::read_to_string(self.path("local-proxy-audit.log")).unwrap_or_default()
    }

    /// Logs in through the login form (with its CSRF cookie); returns the session cookie pair.
    pub async fn login(&self, user: &str, password: &str) -> Result<String, Response<Bytes>> {
        login(&self.client, &self.origin(), user, password).await
    }
}

/// Logs in to the proxy at `origin` through its login form, as a browser would: the form's CSRF
/// field and cookie, `Origin` set. The session cookie pair, or the refusal.
pub async fn login(client: &Client, origin: &str, user: &str, password: &str) -> Result<String, Response<Bytes>> {
    let page = client.get("/_connector/login", &[]).await;
    let login_cookie = set_cookie_pair(&page, "__Host-msc-login").expect("login cookie");
    let csrf = hidden_value(&String::from_utf8_lossy(page.body()), "csrf").expect("csrf field");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("next", "/dashboard")
        .append_pair("username", user)
        .append_pair("password", password)
        .finish();
    let answer = client.post_form("/_connector/login", &[("cookie", &login_cookie), ("origin", origin)], form).await;
    match set_cookie_pair(&answer, "__Host-msc-session") {
        Some(pair) if answer.status() == 303 => Ok(pair),
        _ => Err(answer),
    }
}

fn person(i: usize) -> Person {
    let device = match i {
        0 => "<img src=x onerror=alert(1)>".to_string(),
        1 => "</script><script>alert(1)</script>".to_string(),
        _ => format!("Phone of Person {i}"),
    };
    Person {
        id: format!("dev-{i:05}"),
        device,
        owner: format!("Person{i} O'Brien-Ünal"),
        email: format!("person{i}@corp.example.com"),
        // E.164, as the tokenizer canonicalizes it (and restores it).
        phone: format!("+1415555{:04}", 1000 + i),
    }
}

/// Stores each person's device in the cloud emulator as a sync would: personal fields as tokens.
pub fn seed(cloud: &Cloud, filter: &PiiFilter, people: &[Person]) {
    let tokenizer = filter.tokenizer();
    let token = |kind, value: &str| tokenizer.tokenize(kind, value).expect("tokenize");
    let lines = people
        .iter()
        .map(|p| {
            json!({"device": {
                "id": p.id,
                "name": token(Kind::DeviceName, &p.device),
                "owner": token(Kind::PersonName, &p.owner),
                "email": token(Kind::Email, &p.email),
                "phone": token(Kind::Phone, &p.phone),
                "platform": "ios",
                "model": "iPhone 15",
                "os_name": "iOS",
                "os_version": "18.1",
                "last_seen_ms": 1_793_491_200_000u64,
            }})
        })
        .collect::<Vec<Value>>();
    let stored = cloud.store_inventory("maas360", lines);
    assert_eq!(stored, people.len());
}

/// A plain HTTPS client for the proxy: one connection per request, the test CA trusted.
pub struct Client {
    addr: SocketAddr,
    tls: tokio_rustls::TlsConnector,
}

impl Client {
    pub fn new(addr: SocketAddr, ca_pem: &str) -> Self {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self { addr, tls: tokio_rustls::TlsConnector::from(Arc::new(config)) }
    }

    pub async fn send(&self, request: Request<Full<Bytes>>) -> Response<Bytes> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let tls = self.tls.connect(ServerName::try_from("localhost").expect("name"), tcp).await.expect("tls");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("handshake");
        tokio::spawn(connection);
        let response = sender.send_request(request).await.expect("response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Response::from_parts(parts, body)
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response<Bytes> {
        self.request("GET", path, headers, Bytes::new()).await
    }

    pub async fn post_form(&self, path: &str, headers: &[(&str, &str)], form: String) -> Response<Bytes> {
        let mut all = headers.to_vec();
        all.push(("content-type", "application/x-www-form-urlencoded"));
        self.request("POST", path, &all, Bytes::from(form)).await
    }

    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Bytes) -> Response<Bytes> {
        let mut request =
            Request::builder().method(method).uri(path).header("host", format!("localhost:{}", self.addr.port()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Full::new(body)).expect("request")).await
    }
}

/// `name=value` of a cookie the response sets.
pub fn set_cookie_pair(response: &Response<Bytes>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
        .find(|pair| pair.starts_with(&format!("{name}=")) && pair.len() > name.len() + 1)
}

/// The value of `<input type="hidden" name=NAME value="...">` in a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn text(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}
