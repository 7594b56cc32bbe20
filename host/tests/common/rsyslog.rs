//! A real syslog receiver (Debian's rsyslog) on loopback, as a customer's SIEM collector runs it:
//! UDP (RFC 5426), TCP with octet-counting framing (RFC 6587) and TLS (RFC 5425) from a test CA.
//! Each input writes what it receives to its own file, one JSON string per line, so a test sees
//! every message byte for byte (framing removed), embedded newlines included. It can be stopped
//! and restarted on the same ports for outage tests. `scripts/install-test-deps` installs it.
//! Included with `#[path]`.

#![allow(dead_code)]

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "stop.rs"]
mod stop;
#[path = "test_ca.rs"]
pub mod test_ca;

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
const INSTALL: &str = "run scripts/install-test-deps";

/// One of rsyslog's inputs; each has its own port and file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Udp,
    Tcp,
    Tls,
}

impl Input {
    fn file_name(self) -> &'static str {
        match self {
            Input::Udp => "udp.jsonl",
            Input::Tcp => "tcp.jsonl",
            Input::Tls => "tls.jsonl",
        }
    }
}

pub struct Rsyslog {
    /// `None` while stopped.
    child: Option<Child>,
    udp_port: u16,
    tcp_port: u16,
    tls_port: u16,
    ca_pem: String,
    dir: tempfile::TempDir,
}

impl Rsyslog {
    /// A fresh rsyslogd with its three inputs accepting connections.
    pub fn start() -> Rsyslog {
        assert!(Path::new(RSYSLOGD).is_file(), "rsyslog is not installed: {INSTALL}");
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_pem, cert_pem, key_pem) = test_ca::issue_localhost();
        for (name, text) in [("ca.pem", &ca_pem), ("server.pem", &cert_pem), ("server.key", &key_pem)] {
            std::fs::write(dir.path().join(name), text).expect("write TLS file");
        }
        let mut rsyslog = Rsyslog {
            child: None,
            udp_port: free_udp_port(),
            tcp_port: test_ca::free_port(),
            tls_port: test_ca::free_port(),
            ca_pem,
            dir,
        };
        std::fs::write(rsyslog.path("rsyslog.conf"), rsyslog.config()).expect("write rsyslog.conf");
        rsyslog.restart();
        rsyslog
    }

    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.udp_port))
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tcp_port))
    }

    pub fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tls_port))
    }

    /// The CA that issued the TLS input's certificate (for `127.0.0.1` and `localhost`), PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The same CA as a file, for a `ca_file` setting.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// Every message `input` received so far, in arrival order, exactly as sent minus framing.
    /// Bytes that are not UTF-8 come back as U+FFFD.
    pub fn received(&self, input: Input) -> Vec<String> {
        let bytes = match std::fs::read(self.path(input.file_name())) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("read {}: {e}", input.file_name()),
        };
        // Lines end with LF; a write in progress leaves a partial last line, read next time.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |end| end + 1);
        bytes[..complete]
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let line = String::from_utf8_lossy(line);
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("rsyslog wrote a bad record ({e}): {line}"))
            })
            .collect()
    }

    /// Polls until `input` received at least `count` messages and returns them all; fails the
    /// test after `timeout` with what did arrive and rsyslogd's log.
    pub fn wait_for(&self, input: Input, count: usize, timeout: Duration) -> Vec<String> {
        let started = Instant::now();
        loop {
            let received = self.received(input);
            if received.len() >= count {
                return received;
            }
            if started.elapsed() > timeout {
                panic!(
                    "{input:?}: {} of {count} messages after {timeout:?}: {received:#?}\nrsyslogd log:\n{}",
                    received.len(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops rsyslogd the way an administrator would (SIGTERM: what it accepted is written out
    /// first); its ports then refuse connections. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            stop::terminate(child);
        }
    }

    /// Starts rsyslogd again (stopping it first if it runs) on the same ports, appending to the
    /// same files.
    pub fn restart(&mut self) {
        self.stop();
        // A pid file left by a killed instance would stop the new one from starting.
        let _ = std::fs::remove_file(self.path("rsyslogd.pid"));
        let log = OpenOptions::new().create(true).append(true).open(self.path("rsyslogd.log")).expect("log file");
        let child = Command::new(RSYSLOGD)
            // Foreground, our config only (never /etc/rsyslog.conf), our own pid file.
            .arg("-n")
            .arg("-f")
            .arg(self.path("rsyslog.conf"))
            .arg("-i")
            .arg(self.path("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {RSYSLOGD} ({INSTALL}): {e}"));
        self.child = Some(child);
        self.wait_listening();
    }

    /// rsyslogd's own messages (it writes them to stderr in the foreground): failed TLS
    /// handshakes, oversized messages, configuration errors.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("rsyslogd.log")).unwrap_or_default()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Listening is checked in /proc/net rather than by connecting: UDP has no handshake, and a
    /// probe connection would leave a failed TLS handshake in the log.
    fn wait_listening(&mut self) {
        let started = Instant::now();
        loop {
            let udp = bound_ports("/proc/net/udp", None);
            let tcp = bound_ports("/proc/net/tcp", Some(TCP_LISTEN));
            if udp.contains(&self.udp_port) && tcp.contains(&self.tcp_port) && tcp.contains(&self.tls_port) {
                return;
            }
            let child = self.child.as_mut().expect("started");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("rsyslogd exited ({status}; {INSTALL}?):\n{}", self.log());
            }
            if started.elapsed() > Duration::from_secs(10) {
                panic!("rsyslogd did not listen on all ports within 10s:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn config(&self) -> String {
        let dir = self.dir.path().display();
        let (udp, tcp, tls) = (self.udp_port, self.tcp_port, self.tls_port);
        // Each action flushes at the end of every batch so tests don't wait on rsyslog's buffer.
        let file = |name: &str| {
            format!(r#"action(type="omfile" file="{dir}/{name}" template="raw" asyncWriting="off" flushOnTXEnd="on")"#)
        };
        let (udp_file, tcp_file, tls_file) =
            (file(Input::Udp.file_name()), file(Input::Tcp.file_name()), file(Input::Tls.file_name()));
        format!(
            r#"# Messages must reach the files byte for byte: no escaping of control or 8-bit characters,
# no dropped trailing LF. Sizes are set before any module loads, as rsyslog requires.
global(
  workDirectory="{dir}"
  maxMessageSize="64k"
  net.enableDNS="off"
  parser.escapeControlCharactersOnReceive="off"
  parser.escape8BitCharactersOnReceive="off"
  parser.dropTrailingLFOnReception="off"
)
module(load="imudp")
module(load="imtcp")

# The message as received (minus framing) as a JSON string: one line per message, whatever it holds.
# The `json` option only escapes, so the quotes are ours.
template(name="raw" type="string" string="\"%rawmsg:::json%\"\n")

ruleset(name="udp") {{ {udp_file} }}
ruleset(name="tcp") {{ {tcp_file} }}
ruleset(name="tls") {{ {tls_file} }}

input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="tcp" supportOctetCountedFraming="on")
# RFC 5425: TLS with the test CA's certificate; clients are not asked for one ("anon").
input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="tls" supportOctetCountedFraming="on"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"
  streamDriver.caFile="{dir}/ca.pem" streamDriver.certFile="{dir}/server.pem"
  streamDriver.keyFile="{dir}/server.key")

"#
        )
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The socket state of a listening TCP socket in /proc/net/tcp.
const TCP_LISTEN: &str = "0A";

/// Local IPv4 ports in a /proc/net table whose socket state is `state` (any state if `None`).
fn bound_ports(table: &str, state: Option<&str>) -> Vec<u16> {
    let text = std::fs::read_to_string(table).unwrap_or_else(|e| panic!("read {table}: {e}"));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, st) = (fields.get(1)?, fields.get(3)?);
            if state.is_some_and(|state| state != *st) {
                return None;
            }
            let (_, port) = local.split_once(':')?;
            u16::from_str_radix(port, 16).ok()
        })
        .collect()
}

fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("addr").port()
}
