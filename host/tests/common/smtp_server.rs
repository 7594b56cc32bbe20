//! A real SMTP server (Debian's python3-aiosmtpd, driven by `smtp_server.py` beside this file) on
//! loopback, as a company's mail relay would be: STARTTLS or implicit TLS from a test CA, AUTH
//! PLAIN/LOGIN, recipients it refuses, transactions it defers. Every accepted message is kept as
//! the envelope plus the raw DATA bytes, in arrival order. It can be stopped and restarted on the
//! same port for outage tests. `scripts/install-test-deps` installs aiosmtpd.

#![allow(dead_code)]

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

#[path = "stop.rs"]
mod stop;
#[path = "test_ca.rs"]
pub mod test_ca;

/// Debian's interpreter, which has python3-aiosmtpd; a `python3` earlier on PATH (pyenv, a venv)
/// usually does not.
const DEBIAN_PYTHON: &str = "/usr/bin/python3";
const INSTALL: &str = "run scripts/install-test-deps (apt-get install python3-aiosmtpd)";

/// How the server protects its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// STARTTLS offered and required before anything but EHLO/NOOP/QUIT (port 587 style).
    StartTls,
    /// TLS from the first byte (port 465 style).
    Tls,
    /// No TLS at all.
    Plain,
}

/// What the server asks of its clients.
#[derive(Clone, Debug)]
pub struct SmtpOptions {
    pub mode: Mode,
    /// Required credentials `(user, password)`: without them AUTH is not offered.
    pub credentials: Option<(String, String)>,
    /// The first N transactions are answered `451 4.3.0 Try again later`.
    pub defer_first: u32,
    /// Defer at the end of DATA (after the whole message was sent) instead of at MAIL.
    pub defer_at_data: bool,
    /// Recipients answered `550 5.1.1 User unknown`.
    pub reject_rcpt: Vec<String>,
}

impl SmtpOptions {
    pub fn new(mode: Mode) -> SmtpOptions {
        SmtpOptions { mode, credentials: None, defer_first: 0, defer_at_data: false, reject_rcpt: Vec::new() }
    }

    pub fn auth(mut self, user: &str, password: &str) -> SmtpOptions {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    pub fn defer_first(mut self, transactions: u32) -> SmtpOptions {
        self.defer_first = transactions;
        self
    }

    pub fn defer_at_data(mut self) -> SmtpOptions {
        self.defer_at_data = true;
        self
    }

    pub fn reject(mut self, recipient: &str) -> SmtpOptions {
        self.reject_rcpt.push(recipient.into());
        self
    }
}

/// One message the server accepted.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// MAIL FROM parameters (`SIZE=…`, `SMTPUTF8`, …).
    pub mail_options: Vec<String>,
    /// Whether the message came over TLS.
    pub tls: bool,
    /// The user the client signed in as.
    pub login: Option<String>,
    /// The SASL mechanism it signed in with (`PLAIN`, `LOGIN`).
    pub mechanism: Option<String>,
    /// The DATA bytes as received, dot-stuffing removed, without the final `.` line.
    #[serde(deserialize_with = "base64_bytes")]
    pub data: Vec<u8>,
}

fn base64_bytes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text: String = serde::Deserialize::deserialize(deserializer)?;
    base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
}

pub struct SmtpServer {
    /// `None` while stopped.
    child: Option<Child>,
    pub port: u16,
    options: SmtpOptions,
    ca_pem: String,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// A fresh server accepting connections on a free port, with a certificate for `localhost`
    /// and `127.0.0.1` from its own CA (unused in [`Mode::Plain`]).
    pub fn start(options: SmtpOptions) -> SmtpServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_pem, cert_pem, key_pem) = test_ca::issue_localhost();
        for (name, text) in [("ca.pem", &ca_pem), ("server.pem", &cert_pem), ("server.key", &key_pem)] {
            std::fs::write(dir.path().join(name), text).expect("write TLS file");
        }
        std::fs::create_dir(dir.path().join("messages")).expect("mkdir messages");
        let mut server = SmtpServer { child: None, port: test_ca::free_port(), options, ca_pem, dir };
        server.restart();
        server
    }

    /// The CA that issued the server's certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The same CA as a file, for an instance's `ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// Every message accepted so far, in arrival order (across restarts).
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.path("messages"))
            .expect("read messages folder")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        // Files are named by arrival number, zero-padded, and appear whole (renamed into place).
        names.sort();
        names
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
            })
            .collect()
    }

    /// Polls until at least `count` messages arrived and returns them all; fails the test after
    /// `timeout` with the server's log.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                started.elapsed() < timeout,
                "{} of {count} messages after {timeout:?}; server log:\n{}",
                messages.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server (SIGTERM, so it closes its port cleanly); its port then refuses
    /// connections. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            stop::terminate(child);
        }
    }

    /// Starts the server again (stopping it first if it runs) on the same port, keeping the
    /// messages it accepted; new ones are numbered after them.
    pub fn restart(&mut self) {
        self.stop();
        // A server killed outright leaves its ready file behind.
        let _ = std::fs::remove_file(self.path("messages/ready"));
        let python = if Path::new(DEBIAN_PYTHON).is_file() { DEBIAN_PYTHON } else { "python3" };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/smtp_server.py");
        let log = OpenOptions::new().create(true).append(true).open(self.path("server.log")).expect("log file");
        let mut command = Command::new(python);
        command
            .arg(&script)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--mode")
            .arg(match self.options.mode {
                Mode::StartTls => "starttls",
                Mode::Tls => "tls",
                Mode::Plain => "plain",
            })
            .arg("--cert")
            .arg(self.path("server.pem"))
            .arg("--key")
            .arg(self.path("server.key"))
            .arg("--out")
            .arg(self.path("messages"))
            .arg("--defer-first")
            .arg(self.options.defer_first.to_string())
            .arg("--defer-at")
            .arg(if self.options.defer_at_data { "data" } else { "mail" });
        if let Some((user, password)) = &self.options.credentials {
            command.arg("--user").arg(user).arg("--password").arg(password);
        }
        for recipient in &self.options.reject_rcpt {
            command.arg("--reject-rcpt").arg(recipient);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {python} {} ({INSTALL}): {e}", script.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    /// What the server printed: its ready line, Python tracebacks.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The script writes `messages/ready` once aiosmtpd accepts connections (the controller
    /// has made its own first connection by then).
    fn wait_ready(&mut self) {
        let started = Instant::now();
        while !self.path("messages/ready").is_file() {
            let child = self.child.as_mut().expect("started");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the SMTP server exited ({status}; {INSTALL}?):\n{}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the SMTP server did not start within 20s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
