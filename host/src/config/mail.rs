//! The `[mail]` section: how the durable outbox delivers `mail.send` tasks. Every field has a
//! default, so the section is optional; mail backends themselves are plugin instances of kind
//! `mail`.
//!
//! ```toml
//! [mail]
//! max_outbox = 100000        # mails waiting at most; beyond, mail tasks are refused (retryable)
//! retry_min = "30s"          # first wait after a transient failure; doubles per attempt
//! retry_max = "15m"          # the longest wait between two attempts
//! expire_after = "3d"        # a mail still undelivered this long after it was queued fails
//! concurrency = 4            # mails handed to backends at once
//! ```

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::schema::{self, DurationText};
use super::{KeyPath, Validator};

/// The validated `[mail]` section (defaults when absent).
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub max_outbox: u64,
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub expire_after: Duration,
    pub concurrency: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            max_outbox: 100_000,
            retry_min: Duration::from_secs(30),
            retry_max: Duration::from_secs(15 * 60),
            expire_after: Duration::from_secs(3 * 24 * 3600),
            concurrency: 4,
        }
    }
}

/// How the durable outbox delivers `mail.send` tasks. Mail backends themselves are instances of
/// kind `mail`; a mail is queued first and survives restarts and backend outages.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    /// Mails waiting at most; beyond, mail tasks are refused as retryable.
    #[schemars(extend("default" = MailConfig::default().max_outbox))]
    max_outbox: Option<u64>,
    /// The first wait after a transient failure; it doubles per attempt.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(MailConfig::default().retry_min)))]
    retry_min: Option<Duration>,
    /// The longest wait between two attempts.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(MailConfig::default().retry_max)))]
    retry_max: Option<Duration>,
    /// A mail still undelivered this long after it was queued fails (and the task reports it).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(MailConfig::default().expire_after)))]
    expire_after: Option<Duration>,
    /// Mails handed to backends at once (1 to 64).
    #[schemars(extend("default" = MailConfig::default().concurrency))]
    concurrency: Option<usize>,
}

impl Validator<'_> {
    pub(super) fn mail(&mut self, raw: RawMail) -> MailConfig {
        let key = KeyPath::root().key("mail");
        let default = MailConfig::default();
        let mut config = MailConfig {
            max_outbox: raw.max_outbox.unwrap_or(default.max_outbox),
            retry_min: raw.retry_min.unwrap_or(default.retry_min),
            retry_max: raw.retry_max.unwrap_or(default.retry_max),
            expire_after: raw.expire_after.unwrap_or(default.expire_after),
            concurrency: raw.concurrency.unwrap_or(default.concurrency),
        };
        if config.max_outbox == 0 {
            self.error(key.key("max_outbox"), "must be at least 1");
        }
        if config.retry_min.is_zero() {
            self.error(key.key("retry_min"), "must be more than 0");
        }
        if config.retry_max < config.retry_min {
            self.error(key.key("retry_max"), "must not be shorter than `retry_min`");
        }
        if config.expire_after < config.retry_min {
            self.error(key.key("expire_after"), "must not be shorter than `retry_min`");
        }
        if !(1..=64).contains(&config.concurrency) {
            self.error(key.key("concurrency"), "must be 1 to 64");
            config.concurrency = default.concurrency;
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        Config::parse(&dir.path().join("connector.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_bad_values_point_at_the_line() {
        let config = parse("").expect("no [mail] is fine");
        assert_eq!(config.mail.concurrency, 4);
        assert!(config.store_dir.ends_with("store"));
        let config = parse("[mail]\nretry_min = \"200ms\"\nretry_max = \"1s\"\n").expect("valid");
        assert_eq!(config.mail.retry_max, std::time::Duration::from_secs(1));
        let error = parse("[mail]\nretry_min = \"10s\"\nretry_max = \"1s\"\n").expect_err("max below min");
        assert!(error.contains(":3:") && error.contains("mail.retry_max"), "{error}");
        let error = parse("[mail]\nconcurrency = 0\n").expect_err("zero");
        assert!(error.contains("mail.concurrency: must be 1 to 64"), "{error}");
        let error = parse("[mail]\nretries = 3\n").expect_err("unknown key");
        assert!(error.contains("retries"), "{error}");
        let config = parse("[store]\ndir = \"/var/lib/msc\"\n").expect("valid");
        assert_eq!(config.store_dir, std::path::Path::new("/var/lib/msc"));
    }
}
