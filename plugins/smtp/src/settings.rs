//! The instance's settings and secrets, read and checked once per call. Every refusal names the
//! setting, so `connector check` and the self-test tell the admin what to fix.

use msc_sdk::Error;

use crate::address;

/// Longest `message_id_domain` (or domain of `from` standing in for it).
const MAX_MESSAGE_ID_DOMAIN: usize = 100;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plaintext first, then STARTTLS (RFC 3207) before anything else; port 587.
    StartTls,
    /// TLS from the first byte (RFC 8314); port 465.
    Tls,
    /// Plaintext throughout; only with `allow_plaintext = true`.
    None,
}

impl Security {
    fn default_port(self) -> u16 {
        match self {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// Which SASL mechanism to sign in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMechanism {
    /// PLAIN if the server offers it, else LOGIN.
    Auto,
    Plain,
    Login,
}

/// The account the relay is signed in to.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Everything a call needs from the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The sender when a message names none.
    pub from: String,
    pub from_name: Option<String>,
    /// The name sent with EHLO.
    pub helo: String,
    /// The right-hand side of every `Message-ID`.
    pub message_id_domain: String,
    pub credentials: Option<Credentials>,
    pub auth: AuthMechanism,
}

impl Settings {
    /// Reads the settings through the SDK (the plugin's own config and secrets).
    pub fn load() -> Result<Settings, Error> {
        Settings::from_source(&msc_sdk::config::get, &msc_sdk::config::secret)
    }

    /// Reads the settings from `get` (config) and `secret` (secrets), each returning a value as
    /// text.
    pub fn from_source(
        get: &dyn Fn(&str) -> Option<String>,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let text = |key: &str| get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let host =
            text("host").ok_or_else(|| invalid("host", "is missing: name the SMTP relay, e.g. smtp.corp.example"))?;
        if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')) {
            return Err(invalid("host", "must be a host name or an IP address"));
        }
        let security = match text("security").as_deref() {
            None | Some("starttls") => Security::StartTls,
            Some("tls") => Security::Tls,
            Some("none") => Security::None,
            Some(other) => {
                return Err(invalid(
                    "security",
                    &format!("must be starttls, tls or none (got `{}`)", other.escape_debug()),
                ));
            }
        };
        let port = match text("port") {
            None => security.default_port(),
            Some(port) => {
                port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| invalid("port", "must be a port number"))?
            }
        };
        let allow_plaintext = match text("allow_plaintext").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("allow_plaintext", "must be true or false")),
        };
        if security == Security::None && !allow_plaintext {
            return Err(invalid(
                "security",
                "is `none`: messages would cross the network unencrypted; use starttls or tls, or set allow_plaintext = true",
            ));
        }
        let from =
            text("from").ok_or_else(|| invalid("from", "is missing: the sender address, e.g. alerts@corp.example"))?;
        address::check_email(&from).map_err(|e| invalid("from", &format!("is not an email address: {e}")))?;
        let from_domain = address::domain(&from).to_string();
        let from_name = text("from_name");
        if from_name.as_deref().is_some_and(|n| n.chars().any(char::is_control)) {
            return Err(invalid("from_name", "must be one line of text"));
        }
        let helo = match text("helo") {
            Some(helo) => helo,
            None if from_domain.is_ascii() => from_domain.clone(),
            None => return Err(invalid("helo", "is needed: the domain of `from` is not ASCII (EHLO names are)")),
        };
        if !helo.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':')) {
            return Err(invalid("helo", "must be a host name (letters, digits, dots, hyphens) or an address literal"));
        }
        let message_id_domain = text("message_id_domain").unwrap_or_else(|| from_domain.clone());
        // With the longest task id, a longer domain would push the Message-ID past 998 octets.
        if message_id_domain.len() > MAX_MESSAGE_ID_DOMAIN
            || !message_id_domain.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(invalid(
                "message_id_domain",
                &format!("must be a domain name of at most {MAX_MESSAGE_ID_DOMAIN} letters, digits, dots and hyphens"),
            ));
        }
        let credentials = match text("username") {
            None => None,
            Some(_) if security == Security::None => {
                return Err(invalid(
                    "username",
                    "is set with security = none: the password would cross the network in clear text; use starttls or tls",
                ));
            }
            Some(username) => {
                let password = secret("password").filter(|p| !p.is_empty()).ok_or_else(|| {
                    Error::InvalidConfig("the secret `password` is not configured (needed with `username`)".into())
                })?;
                Some(Credentials { username, password })
            }
        };
        let auth = match text("auth").as_deref() {
            None | Some("auto") => AuthMechanism::Auto,
            Some("plain") => AuthMechanism::Plain,
            Some("login") => AuthMechanism::Login,
            Some(other) => {
                return Err(invalid("auth", &format!("must be auto, plain or login (got `{}`)", other.escape_debug())));
            }
        };
        Ok(Settings { host, port, security, from, from_name, helo, message_id_domain, credentials, auth })
    }
}

fn invalid(key: &str, problem: &str) -> Error {
    Error::InvalidConfig(format!("the setting `{key}` {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(config: &[(&str, &str)], secrets: &[(&str, &str)]) -> Result<Settings, Error> {
        let lookup =
            |table: &[(&str, &str)], key: &str| table.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string());
        Settings::from_source(&|k| lookup(config, k), &|k| lookup(secrets, k))
    }

    fn message(result: Result<Settings, Error>) -> String {
        match result {
            Err(Error::InvalidConfig(m)) => m,
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_sender_and_security() {
        let s = load(&[("host", "smtp.corp.example"), ("from", "alerts@corp.example")], &[]).expect("valid");
        assert_eq!((s.port, s.security, s.auth), (587, Security::StartTls, AuthMechanism::Auto));
        assert_eq!((s.helo.as_str(), s.message_id_domain.as_str()), ("corp.example", "corp.example"));
        assert_eq!(s.credentials, None);
        let s = load(&[("host", "h"), ("from", "a@b.example"), ("security", "tls")], &[]).expect("valid");
        assert_eq!(s.port, 465);
        let s = load(&[("host", "h"), ("from", "a@b.example"), ("security", "none"), ("allow_plaintext", "true")], &[])
            .expect("valid");
        assert_eq!(s.port, 25);
        let s = load(&[("host", "h"), ("from", "a@b.example"), ("port", "2525"), ("helo", "me.example")], &[])
            .expect("valid");
        assert_eq!((s.port, s.helo.as_str()), (2525, "me.example"));
    }

    #[test]
    fn credentials_need_the_password_secret_and_never_go_in_clear() {
        let base = [("host", "h"), ("from", "a@b.example"), ("username", "relay-user"), ("auth", "login")];
        let s = load(&base, &[("password", "pw")]).expect("valid");
        assert_eq!(s.credentials.as_ref().map(|c| c.username.as_str()), Some("relay-user"));
        assert_eq!(s.auth, AuthMechanism::Login);
        assert!(!format!("{s:?}").contains("pw\""), "the password stays out of Debug");
        assert!(message(load(&base, &[])).contains("`password`"));
        let plain = [
            ("host", "h"),
            ("from", "a@b.example"),
            ("username", "u"),
            ("security", "none"),
            ("allow_plaintext", "true"),
        ];
        assert!(message(load(&plain, &[("password", "pw")])).contains("`username`"));
    }

    #[test]
    fn bad_settings_name_their_key() {
        let ok = [("host", "h"), ("from", "a@b.example")];
        let with = |extra: (&'static str, &'static str)| {
            let mut config = ok.to_vec();
            config.retain(|(k, _)| *k != extra.0);
            config.push(extra);
            message(load(&config, &[]))
        };
        assert!(message(load(&[("from", "a@b.example")], &[])).contains("`host`"));
        assert!(message(load(&[("host", "h")], &[])).contains("`from`"));
        assert!(with(("from", "not-an-address")).contains("`from`"));
        assert!(with(("from", "a@b.example\r\nBcc: x@y")).contains("`from`"));
        assert!(with(("security", "ssl")).contains("`security`"));
        assert!(with(("security", "none")).contains("allow_plaintext"));
        assert!(with(("port", "99999")).contains("`port`"));
        assert!(with(("auth", "cram-md5")).contains("`auth`"));
        assert!(with(("allow_plaintext", "yes")).contains("`allow_plaintext`"));
        assert!(with(("helo", "bad name")).contains("`helo`"));
        assert!(with(("host", "smtp example")).contains("`host`"));
        assert!(with(("message_id_domain", "a b")).contains("`message_id_domain`"));
        let long = format!("{}.example", "d".repeat(100));
        assert!(
            message(load(&[("host", "h"), ("from", "a@b.example"), ("message_id_domain", &long)], &[]))
                .contains("`message_id_domain`")
        );
        assert!(with(("from_name", "A\r\nB")).contains("`from_name`"));
        assert!(message(load(&[("host", "h"), ("from", "a@bücher.example")], &[])).contains("`helo`"));
    }
}
