//! What the scripted peer answers: a status, headers, a body, and optionally a delay.

use std::time::Duration;

/// One scripted HTTP answer, built with [`Reply::json`], [`Reply::text`] or [`Reply::status`]
/// and refined with [`Reply::header`] and [`Reply::delay`].
///
/// ```
/// use msc_plugin_test::Reply;
///
/// let throttled = Reply::status(429).header("retry-after", "2");
/// let page = Reply::json(200, serde_json::json!({ "devices": [] }));
/// let login = Reply::text(200, "<html>login</html>").header("content-type", "text/html");
/// # let _ = (throttled, page, login);
/// ```
#[derive(Clone, Debug)]
pub struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Option<Duration>,
}

impl Reply {
    /// An empty answer with status `status`.
    pub fn status(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new(), delay: None }
    }

    /// `value` as a JSON body, with `content-type: application/json`.
    pub fn json(status: u16, value: serde_json::Value) -> Self {
        Self::status(status).header("content-type", "application/json").body(value.to_string())
    }

    /// `text` as the body, with `content-type: text/plain; charset=utf-8` (replace it with
    /// [`Reply::header`] for XML or HTML).
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Self::status(status).header("content-type", "text/plain; charset=utf-8").body(text.into())
    }

    /// Sets header `name` (replacing a value set before under the same name, case-insensitively).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    /// Replaces the body with `body`, as is.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits `delay` before answering: a slow server, to test deadlines and timeouts.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_set_twice_keeps_the_last_value() {
        let reply = Reply::text(200, "x").header("Content-Type", "text/html");
        assert_eq!(reply.headers, vec![("content-type".to_string(), "text/html".to_string())]);
        assert_eq!(reply.body, b"x");
    }
}
