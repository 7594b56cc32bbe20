//! An SMTP session up to the point where mail can be sent: greeting, EHLO, STARTTLS (RFC 3207)
//! and AUTH PLAIN or LOGIN (RFC 4954). Reads replies line by line; never continues in plaintext
//! when TLS was asked for, and never signs in over plaintext.

use base64::Engine;

use crate::error::{SmtpError, Stage};
use crate::extensions::Extensions;
use crate::reply::{Line, Reply, ReplyBuilder, ReplyError};
use crate::settings::{AuthMechanism, Credentials, Security, Settings};
use crate::stream::{READ_CHUNK, Stream};

/// A reply line longer than this is not SMTP (RFC 5321 allows 512 octets).
const MAX_REPLY_LINE: usize = 8 * 1024;
/// A reply with more lines than this is not SMTP either.
const MAX_REPLY_LINES: usize = 200;

/// An open session over `S`.
pub struct Session<S: Stream> {
    stream: S,
    /// Bytes read past the last complete line.
    buffer: Vec<u8>,
    /// What the last EHLO reply offered.
    pub extensions: Extensions,
}

impl<S: Stream> Session<S> {
    pub fn new(stream: S) -> Session<S> {
        Session { stream, buffer: Vec::new(), extensions: Extensions::default() }
    }

    /// Greeting, EHLO, TLS as `settings` asks, then AUTH when credentials are configured.
    /// Returns the greeting and the mechanism used to sign in.
    pub fn open(&mut self, settings: &Settings) -> Result<Opened, SmtpError> {
        let greeting = self.greeting()?;
        self.ehlo(&settings.helo)?;
        match settings.security {
            Security::StartTls => self.start_tls(&settings.helo)?,
            Security::Tls if !self.stream.is_tls() => return Err(SmtpError::NotEncrypted(Stage::Connect)),
            Security::Tls | Security::None => {}
        }
        let signed_in = match &settings.credentials {
            Some(credentials) => Some(self.authenticate(credentials, settings.auth)?),
            None => None,
        };
        Ok(Opened { greeting, signed_in })
    }

    /// The server's `220` greeting.
    pub fn greeting(&mut self) -> Result<Reply, SmtpError> {
        let reply = self.read_reply(Stage::Greeting)?;
        expect(Stage::Greeting, reply, 220)
    }

    /// EHLO, falling back to HELO for servers that refuse it (no extensions then).
    pub fn ehlo(&mut self, name: &str) -> Result<(), SmtpError> {
        let reply = self.command(Stage::Ehlo, &format!("EHLO {name}\r\n"))?;
        if reply.is_positive() {
            self.extensions = Extensions::parse(&reply);
            return Ok(());
        }
        if !reply.is_permanent() || reply.code == 554 {
            return Err(SmtpError::Reply { stage: Stage::Ehlo, reply });
        }
        let reply = self.command(Stage::Ehlo, &format!("HELO {name}\r\n"))?;
        expect(Stage::Ehlo, reply, 250)?;
        self.extensions = Extensions::default();
        Ok(())
    }

    /// STARTTLS, then EHLO again over TLS. Fails rather than continue in plaintext.
    pub fn start_tls(&mut self, helo: &str) -> Result<(), SmtpError> {
        if !self.extensions.starttls {
            return Err(SmtpError::NoStartTls);
        }
        let reply = self.command(Stage::StartTls, "STARTTLS\r\n")?;
        expect(Stage::StartTls, reply, 220)?;
        self.stream.start_tls().map_err(|error| SmtpError::Net { stage: Stage::StartTls, error })?;
        if !self.stream.is_tls() {
            return Err(SmtpError::NotEncrypted(Stage::StartTls));
        }
        // RFC 3207 §4.2: forget everything learnt in plaintext; bytes a man in the middle
        // queued behind the 220 must not be read as replies over TLS.
        self.buffer.clear();
        self.extensions = Extensions::default();
        self.ehlo(helo)
    }

    /// Signs in; only ever over TLS.
    pub fn authenticate(
        &mut self,
        credentials: &Credentials,
        choice: AuthMechanism,
    ) -> Result<&'static str, SmtpError> {
        if !self.stream.is_tls() {
            return Err(SmtpError::NotEncrypted(Stage::Auth));
        }
        let offered = &self.extensions.auth;
        let plain = match choice {
            AuthMechanism::Plain => true,
            AuthMechanism::Login => false,
            AuthMechanism::Auto if offered.iter().any(|m| m == "PLAIN") => true,
            AuthMechanism::Auto if offered.iter().any(|m| m == "LOGIN") => false,
            AuthMechanism::Auto => {
                let offered = if offered.is_empty() { "no AUTH at all".to_string() } else { offered.join(" ") };
                return Err(SmtpError::NoAuthMechanism(offered));
            }
        };
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        if plain {
            let token = b64(format!("\0{}\0{}", credentials.username, credentials.password).as_bytes());
            let reply = self.command(Stage::Auth, &format!("AUTH PLAIN {token}\r\n"))?;
            expect(Stage::Auth, reply, 235)?;
            return Ok("PLAIN");
        }
        let reply = self.command(Stage::Auth, "AUTH LOGIN\r\n")?;
        expect(Stage::Auth, reply, 334)?;
        let reply = self.command(Stage::Auth, &format!("{}\r\n", b64(credentials.username.as_bytes())))?;
        expect(Stage::Auth, reply, 334)?;
        let reply = self.command(Stage::Auth, &format!("{}\r\n", b64(credentials.password.as_bytes())))?;
        expect(Stage::Auth, reply, 235)?;
        Ok("LOGIN")
    }

    /// Says goodbye without waiting: the outcome is known already, and a read cannot be bounded
    /// more tightly than the whole call's deadline.
    pub fn quit(mut self) {
        let _ = self.stream.write(b"QUIT\r\n");
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Writes one command and reads its reply.
    pub fn command(&mut self, stage: Stage, line: &str) -> Result<Reply, SmtpError> {
        self.write(stage, line.as_bytes())?;
        self.read_reply(stage)
    }

    pub fn write(&mut self, stage: Stage, bytes: &[u8]) -> Result<(), SmtpError> {
        self.stream.write(bytes).map_err(|error| SmtpError::Net { stage, error })
    }

    /// Reads one complete reply.
    pub fn read_reply(&mut self, stage: Stage) -> Result<Reply, SmtpError> {
        let mut builder = ReplyBuilder::default();
        for _ in 0..MAX_REPLY_LINES {
            let line = self.read_line(stage)?;
            let line = builder.push(&line).map_err(|error| SmtpError::Malformed { stage, error })?;
            if line == Line::Last {
                return builder
                    .finish()
                    .ok_or(SmtpError::Malformed { stage, error: ReplyError::NoCode(String::new()) });
            }
        }
        Err(SmtpError::Malformed { stage, error: ReplyError::NoCode(format!("more than {MAX_REPLY_LINES} lines")) })
    }

    fn read_line(&mut self, stage: Stage) -> Result<Vec<u8>, SmtpError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                return Ok(self.buffer.drain(..=end).collect());
            }
            if self.buffer.len() > MAX_REPLY_LINE {
                let start = String::from_utf8_lossy(&self.buffer[..80]).into_owned();
                return Err(SmtpError::Malformed {
                    stage,
                    error: ReplyError::NoCode(format!("{start}… (line too long)")),
                });
            }
            let chunk = self.stream.read(READ_CHUNK).map_err(|error| SmtpError::Net { stage, error })?;
            if chunk.is_empty() {
                return Err(SmtpError::Net { stage, error: msc_sdk::net::NetError::Closed });
            }
            self.buffer.extend_from_slice(&chunk);
        }
    }
}

/// What [`Session::open`] found.
pub struct Opened {
    pub greeting: Reply,
    /// The mechanism used, when credentials are configured.
    pub signed_in: Option<&'static str>,
}

/// `reply` when it has `code`, else the failure it is at `stage`.
fn expect(stage: Stage, reply: Reply, code: u16) -> Result<Reply, SmtpError> {
    if reply.code == code { Ok(reply) } else { Err(SmtpError::Reply { stage, reply }) }
}

#[cfg(test)]
mod tests;
