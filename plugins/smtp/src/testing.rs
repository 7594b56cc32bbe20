//! What the unit tests share: sample settings and messages, and a scripted SMTP server that
//! checks every byte the client writes against its script.

use std::collections::VecDeque;

use msc_sdk::Pii;
use msc_sdk::mail::{Address, Header, Message};
use msc_sdk::net::NetError;

use crate::settings::{AuthMechanism, Credentials, Security, Settings};
use crate::stream::Stream;

pub fn settings() -> Settings {
    Settings {
        host: "smtp.corp.example".into(),
        port: 587,
        security: Security::StartTls,
        from: "alerts@corp.example".into(),
        from_name: Some("MTD Alerts".into()),
        helo: "corp.example".into(),
        message_id_domain: "corp.example".into(),
        credentials: Some(Credentials { username: "relay".into(), password: "s3cret".into() }),
        auth: AuthMechanism::Auto,
    }
}

pub fn address(email: &str, name: Option<&str>) -> Address {
    Address { email: Pii::email(email), display_name: name.map(Pii::person_name) }
}

pub fn message() -> Message {
    Message {
        id: "t-42".into(),
        sender: None,
        to: vec![address("alice@corp.example", Some("Alice Ä"))],
        cc: vec![address("bob@corp.example", None)],
        bcc: vec![address("audit@corp.example", None)],
        reply_to: None,
        subject: Pii::free_text("Gerät von Zoë — Risiko hoch ✓"),
        text_body: Some(Pii::free_text("Hello\n.dot line\nBye")),
        html_body: None,
        headers: vec![Header { name: "X-MTD-Severity".into(), value: "high".into() }],
    }
}

/// One step of a scripted dialogue.
#[derive(Clone, Debug)]
pub enum Step {
    /// The server sends these bytes.
    Server(Vec<u8>),
    /// The client must write exactly these bytes next (possibly with more in the same write).
    Client(Vec<u8>),
    /// The client writes a message ending with CRLF.CRLF; kept in [`Fake::data`].
    Data,
    /// The client's next write, whatever it holds.
    AnyWrite,
    /// The client asks for TLS, which succeeds.
    StartTls,
    /// The client asks for TLS, which fails.
    StartTlsFails(NetError),
    /// The client's next read fails.
    ReadFails(NetError),
    /// The client's next write fails.
    WriteFails(NetError),
}

/// Server bytes.
pub fn s(text: &str) -> Step {
    Step::Server(text.as_bytes().to_vec())
}

/// Client bytes.
pub fn c(text: &str) -> Step {
    Step::Client(text.as_bytes().to_vec())
}

/// A server following a script. Any deviation panics with the step expected; a read while the
/// server waits for the client returns [`NetError::TimedOut`] and is recorded as a stall.
pub struct Fake {
    script: VecDeque<Step>,
    pending: Vec<u8>,
    pub tls: bool,
    /// Every `write` call, as made.
    pub writes: Vec<Vec<u8>>,
    /// The message bytes of each [`Step::Data`], terminator included.
    pub data: Vec<Vec<u8>>,
    pub stalled: bool,
}

impl Fake {
    pub fn new(script: Vec<Step>) -> Fake {
        Fake {
            script: script.into(),
            pending: Vec::new(),
            tls: false,
            writes: Vec::new(),
            data: Vec::new(),
            stalled: false,
        }
    }

    pub fn tls(mut self) -> Fake {
        self.tls = true;
        self
    }

    /// Whether the whole script ran.
    pub fn finished(&self) -> bool {
        self.script.is_empty() && self.pending.is_empty()
    }

    /// Everything the client wrote, as text.
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.writes.concat()).into_owned()
    }

    fn consume_writes(&mut self) {
        while !self.pending.is_empty() {
            match self.script.front() {
                Some(Step::Client(expected)) => {
                    let n = expected.len().min(self.pending.len());
                    assert_eq!(
                        String::from_utf8_lossy(&self.pending[..n]),
                        String::from_utf8_lossy(&expected[..n]),
                        "the client wrote something else"
                    );
                    if n < expected.len() {
                        let rest = expected[n..].to_vec();
                        self.pending.clear();
                        self.script[0] = Step::Client(rest);
                        return;
                    }
                    self.pending.drain(..n);
                    self.script.pop_front();
                }
                Some(Step::AnyWrite) => {
                    self.pending.clear();
                    self.script.pop_front();
                }
                Some(Step::Data) => {
                    let Some(end) = self.pending.windows(5).position(|w| w == b"\r\n.\r\n") else { return };
                    self.data.push(self.pending.drain(..end + 5).collect());
                    self.script.pop_front();
                }
                other => panic!(
                    "the client wrote {:?} where the script has {other:?}",
                    String::from_utf8_lossy(&self.pending)
                ),
            }
        }
    }
}

impl Stream for Fake {
    fn read(&mut self, _max: usize) -> Result<Vec<u8>, NetError> {
        match self.script.front() {
            Some(Step::Server(_)) => match self.script.pop_front() {
                Some(Step::Server(bytes)) => Ok(bytes),
                _ => unreachable!(),
            },
            Some(Step::ReadFails(_)) => match self.script.pop_front() {
                Some(Step::ReadFails(e)) => Err(e),
                _ => unreachable!(),
            },
            None => Ok(Vec::new()),
            Some(_) => {
                self.stalled = true;
                Err(NetError::TimedOut)
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        if matches!(self.script.front(), Some(Step::WriteFails(_)))
            && let Some(Step::WriteFails(e)) = self.script.pop_front()
        {
            return Err(e);
        }
        self.writes.push(bytes.to_vec());
        self.pending.extend_from_slice(bytes);
        self.consume_writes();
        Ok(())
    }

    fn start_tls(&mut self) -> Result<(), NetError> {
        assert!(self.pending.is_empty(), "STARTTLS with unsent bytes");
        match self.script.pop_front() {
            Some(Step::StartTls) => {
                self.tls = true;
                Ok(())
            }
            Some(Step::StartTlsFails(e)) => Err(e),
            other => panic!("the client started TLS where the script has {other:?}"),
        }
    }

    fn is_tls(&self) -> bool {
        self.tls
    }
}
