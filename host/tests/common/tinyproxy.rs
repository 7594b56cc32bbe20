//! A real forward proxy (Debian's `tinyproxy`) on loopback, requiring Basic credentials, as a
//! corporate egress proxy would. `scripts/test` installs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "svc-connector";
pub const PASSWORD: &str = "egress-pass-42";

pub struct Tinyproxy {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    pub fn start() -> Tinyproxy {
        let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("tinyproxy is not installed: `scripts/test` installs it (apt-get install tinyproxy)");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        let config = dir.path().join("tinyproxy.conf");
        // No ConnectPort line: tunnels to any port (the emulators listen on random ones).
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nMaxClients 200\nAllow 127.0.0.1\n\
                 BasicAuth {USER} {PASSWORD}\nLogFile \"{}\"\nLogLevel Connect\nPidFile \"{}\"\n",
                log.display(),
                dir.path().join("tinyproxy.pid").display()
            ),
        )
        .expect("write tinyproxy.conf");
        let child = Command::new(binary)
            .args(["-d", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "tinyproxy did not start listening on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Tinyproxy { child, port, log, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many tunnels the proxy opened to `target` (`host:port`), from its log.
    pub fn connects_to(&self, target: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines().filter(|l| l.contains("CONNECT") && l.contains(target)).count()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
