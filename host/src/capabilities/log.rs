//! Plugin logging (`msc:host/log`, plus the plugin's stdout and stderr) into the connector's
//! `tracing` log, attributed to the instance.
//!
//! A plugin controls what it writes, so each line is cut at 4 KiB, control characters are escaped
//! (a plugin cannot forge a log line with an embedded newline), and a call may write at most
//! [`MAX_LINES_PER_CALL`] lines.
//!
//! With a PII filter configured, a call's lines are held until the call returns and then written
//! with every personal value the call handled (its inputs and results) replaced by its token, and
//! emails and phone numbers found by the detectors too: a plugin that logs the device names it
//! returns does not put them in the connector's log.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi_io::async_trait;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{OutputStream, StreamError, StreamResult};

use crate::ids::InstanceName;
use crate::pii::{Kind, PiiFilter};
use crate::plugins::bindings::host::msc::host::log::{Host, Level};

pub const MAX_LINE_BYTES: usize = 4096;
pub const MAX_LINES_PER_CALL: u32 = 1000;

/// Where a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Log,
    Stdout,
    Stderr,
}

/// Stderr lines kept to explain a trap.
const STDERR_TAIL: usize = 3;

/// One call's log: counts lines against the budget and keeps the last few stderr lines, which is
/// where a Rust plugin's panic message lands.
pub struct CallLog {
    instance: InstanceName,
    lines: AtomicU32,
    stderr_tail: Mutex<VecDeque<String>>,
    pii: Option<Arc<PiiFilter>>,
    /// Lines held until the call's personal values are known.
    held: Mutex<Vec<(Level, Source, String)>>,
}

impl CallLog {
    pub fn new(instance: InstanceName, pii: Option<Arc<PiiFilter>>) -> Self {
        Self {
            instance,
            lines: AtomicU32::new(0),
            stderr_tail: Mutex::new(VecDeque::new()),
            pii,
            held: Mutex::new(Vec::new()),
        }
    }

    pub fn write(&self, level: Level, source: Source, message: &str) {
        if !self.take_line() {
            return;
        }
        let line = sanitize(message);
        // std's hint about RUST_BACKTRACE says nothing about the failure.
        if source == Source::Stderr
            && !line.starts_with("note: run with `RUST_BACKTRACE")
            && let Ok(mut tail) = self.stderr_tail.lock()
        {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line.clone());
        }
        if self.pii.is_some()
            && let Ok(mut held) = self.held.lock()
        {
            held.push((level, source, line));
            return;
        }
        self.emit(level, source, line);
    }

    /// Writes the held lines with `known` (the personal values the call handled) and whatever
    /// the detectors find replaced by tokens.
    pub fn flush(&self, known: Vec<(Kind, String)>) {
        let Some(pii) = &self.pii else { return };
        let held = self.held.lock().map(|mut held| std::mem::take(&mut *held)).unwrap_or_default();
        if held.is_empty() {
            return;
        }
        let scrubber = pii.scrubber(known);
        for (level, source, line) in held {
            let line = scrubber.scrub(&line).into_owned();
            self.emit(level, source, line);
        }
    }

    fn emit(&self, level: Level, source: Source, line: String) {
        let instance = self.instance.as_str();
        let source = match source {
            Source::Log => "log",
            Source::Stdout => "stdout",
            Source::Stderr => "stderr",
        };
        match level {
            Level::Trace => tracing::trace!(target: "plugin", instance, source, "{line}"),
            Level::Debug => tracing::debug!(target: "plugin", instance, source, "{line}"),
            Level::Info => tracing::info!(target: "plugin", instance, source, "{line}"),
            Level::Warn => tracing::warn!(target: "plugin", instance, source, "{line}"),
            Level::Error => tracing::error!(target: "plugin", instance, source, "{line}"),
        }
    }

    /// Whether a line at `level` from `msc:host/log` would reach the log now: the connector's
    /// `tracing` filter records plugin lines at that level, and the call's line budget is not
    /// spent. Asked with the target and fields [`CallLog::emit`] writes with, so a filter on the
    /// `plugin` target answers the same for both.
    pub fn enabled(&self, level: Level) -> bool {
        if self.lines.load(Ordering::Relaxed) >= MAX_LINES_PER_CALL {
            // Counted as a dropped line: a plugin that asks before writing (the SDK's macros
            // do) stops writing, and the drop is still announced, once.
            return self.take_line();
        }
        match level {
            Level::Trace => tracing::enabled!(target: "plugin", tracing::Level::TRACE, instance, source),
            Level::Debug => tracing::enabled!(target: "plugin", tracing::Level::DEBUG, instance, source),
            Level::Info => tracing::enabled!(target: "plugin", tracing::Level::INFO, instance, source),
            Level::Warn => tracing::enabled!(target: "plugin", tracing::Level::WARN, instance, source),
            Level::Error => tracing::enabled!(target: "plugin", tracing::Level::ERROR, instance, source),
        }
    }

    /// Logs that the plugin was refused `what` (a host it was not granted), counted against the
    /// call's line budget so a plugin cannot flood the log by asking again and again.
    pub fn denied(&self, what: &str, target: &str) {
        if self.take_line() {
            tracing::warn!(instance = %self.instance, target = %sanitize(target), "{what} denied: not granted to this instance");
        }
    }

    /// Takes one line of the call's budget; `false` once it is spent (saying so the first time).
    fn take_line(&self) -> bool {
        // Saturates at the cap, so a call that writes for long cannot wrap the count around.
        let n = match self
            .lines
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n <= MAX_LINES_PER_CALL).then_some(n + 1))
        {
            Ok(n) | Err(n) => n,
        };
        if n == MAX_LINES_PER_CALL {
            tracing::warn!(instance = %self.instance, "plugin wrote more than {MAX_LINES_PER_CALL} log lines in one call; dropping the rest");
        }
        n < MAX_LINES_PER_CALL
    }

    /// The last lines the plugin wrote to stderr, joined: for a panic,
    /// `thread '<unnamed>' panicked at src/lib.rs:10:5: / the message`.
    pub fn stderr_tail(&self) -> Option<String> {
        let tail = self.stderr_tail.lock().ok()?;
        let joined = (!tail.is_empty()).then(|| tail.iter().map(String::as_str).collect::<Vec<_>>().join(" / "))?;
        Some(match &self.pii {
            Some(pii) => pii.scrub(&joined).into_owned(),
            None => joined,
        })
    }
}

impl Drop for CallLog {
    /// A call dropped before it returned (its caller gave up) still writes what it logged, with
    /// the detectors' scrubbing.
    fn drop(&mut self) {
        self.flush(Vec::new());
    }
}

/// Makes text from a plugin safe to log: cuts it at [`MAX_LINE_BYTES`] on a character boundary
/// and escapes control characters, line and paragraph separators and bidirectional overrides, so
/// it cannot forge or disguise log lines.
pub fn sanitize(message: &str) -> String {
    let mut end = message.len().min(MAX_LINE_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut line = String::with_capacity(end);
    for c in message[..end].chars() {
        if c.is_control() || is_invisible_format(c) {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    if end < message.len() {
        line.push_str(" [truncated]");
    }
    line
}

/// `msc:host/log` for one call.
pub struct LogView<'a>(pub &'a CallLog);

/// [`wasmtime::component::HasData`] marker for linking `msc:host/log`.
pub struct Log;

impl wasmtime::component::HasData for Log {
    type Data<'a> = LogView<'a>;
}

impl Host for LogView<'_> {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.0.write(level, Source::Log, &message);
        Ok(())
    }

    fn enabled(&mut self, level: Level) -> wasmtime::Result<bool> {
        Ok(self.0.enabled(level))
    }
}

/// The plugin's stdout or stderr, written line by line into its call's log.
#[derive(Clone)]
pub struct PluginOutput {
    log: std::sync::Arc<CallLog>,
    source: Source,
}

impl PluginOutput {
    pub fn stdout(log: std::sync::Arc<CallLog>) -> Self {
        Self { log, source: Source::Stdout }
    }

    pub fn stderr(log: std::sync::Arc<CallLog>) -> Self {
        Self { log, source: Source::Stderr }
    }
}

impl IsTerminal for PluginOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LineWriter { output: self.clone(), pending: Vec::new() })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASIp3 guests use this; they are not linked.
        Box::new(tokio::io::sink())
    }
}

/// Buffers a partial line until its newline (or until it reaches the line limit).
struct LineWriter {
    output: PluginOutput,
    pending: Vec<u8>,
}

impl LineWriter {
    fn emit(&self, line: &[u8]) {
        let level = if self.output.source == Source::Stderr { Level::Warn } else { Level::Info };
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches('\r');
        if !text.is_empty() {
            self.output.log.write(level, self.output.source, text);
        }
    }
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        // wasmtime hands over whatever the guest wrote; hold it to what `check_write` permits so
        // a plugin cannot make this synchronous host call (which no deadline interrupts) long.
        if bytes.len() > MAX_LINE_BYTES {
            return Err(StreamError::trap(&format!(
                "wrote {} bytes at once to stdout/stderr; check-write permits {MAX_LINE_BYTES}",
                bytes.len()
            )));
        }
        self.pending.extend_from_slice(&bytes);
        let mut start = 0;
        while let Some(newline) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + newline;
            self.emit(&self.pending[start..end]);
            start = end + 1;
        }
        self.pending.drain(..start);
        if self.pending.len() >= MAX_LINE_BYTES {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE_BYTES)
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
    }
}

#[async_trait]
impl Pollable for LineWriter {
    async fn ready(&mut self) {}
}

/// Unicode format characters that move or split text on screen: U+2028/U+2029 separators and
/// the bidirectional marks, embeddings, overrides and isolates.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_lines() {
        assert_eq!(sanitize("fine"), "fine");
        assert_eq!(sanitize("two\nlines\r"), "two\\nlines\\r");
        assert_eq!(sanitize("evil\u{202E}txt.exe\u{2028}x"), "evil\\u{202e}txt.exe\\u{2028}x");
        let long = "é".repeat(MAX_LINE_BYTES);
        let cut = sanitize(&long);
        assert!(cut.ends_with(" [truncated]"));
        assert!(cut.len() <= MAX_LINE_BYTES + " [truncated]".len());
    }

    #[test]
    fn keeps_the_stderr_tail() {
        let log = std::sync::Arc::new(CallLog::new(InstanceName::new("t").expect("valid"), None));
        let mut writer = PluginOutput::stderr(log.clone()).p2_stream();
        writer.write(Bytes::from_static(b"early\nthread panicked at src/lib.rs:3:5:\n")).expect("write");
        writer
            .write(Bytes::from_static(b"boom\nnote: run with `RUST_BACKTRACE=1` environment variable\n"))
            .expect("write");
        assert_eq!(log.stderr_tail().as_deref(), Some("early / thread panicked at src/lib.rs:3:5: / boom"));
        writer.write(Bytes::from_static(b"partial")).expect("write");
        drop(writer);
        assert_eq!(log.stderr_tail().as_deref(), Some("thread panicked at src/lib.rs:3:5: / boom / partial"));
    }

    #[test]
    fn refuses_writes_larger_than_check_write_permits() {
        let log = std::sync::Arc::new(CallLog::new(InstanceName::new("t").expect("valid"), None));
        let mut writer = PluginOutput::stderr(log.clone()).p2_stream();
        assert_eq!(writer.check_write().expect("permit"), MAX_LINE_BYTES);
        writer.write(Bytes::from(vec![b'\n'; MAX_LINE_BYTES])).expect("a permitted write");
        assert!(writer.write(Bytes::from(vec![b'\n'; MAX_LINE_BYTES + 1])).is_err(), "an oversized write traps");
    }

    #[test]
    fn enabled_follows_the_filter_and_the_budget() {
        let log = CallLog::new(InstanceName::new("t").expect("valid"), None);
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,plugin=warn"))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            assert!(!log.enabled(Level::Info), "the plugin target is filtered at warn");
            assert!(log.enabled(Level::Warn));
            assert!(log.enabled(Level::Error));
            while log.take_line() {}
            assert!(!log.enabled(Level::Error), "nothing is written once the budget is spent");
        });
    }

    #[test]
    fn the_line_budget_saturates() {
        let log = CallLog::new(InstanceName::new("t").expect("valid"), None);
        let taken = (0..MAX_LINES_PER_CALL + 10).filter(|_| log.take_line()).count();
        assert_eq!(taken, MAX_LINES_PER_CALL as usize);
        assert_eq!(log.lines.load(Ordering::Relaxed), MAX_LINES_PER_CALL + 1, "the count stops at the cap");
    }
}
