//! The instance's settings and secret, read and checked once per call.

use msc_sdk::{Error, config};

const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

/// Everything a call needs from `[instances.NAME.config]` and `[instances.NAME.secrets]`.
pub struct Settings {
    /// The directory (tenant) id or a verified domain, e.g. `contoso.onmicrosoft.com`.
    pub tenant: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    pub client_secret: String,
    /// The mailbox (UPN or user id) the app sends as when a message names no sender.
    pub sender: String,
    /// The identity platform's root, without a trailing slash.
    pub login_url: String,
    /// Graph's root, without a trailing slash; also the token's resource.
    pub graph_url: String,
    pub save_to_sent_items: bool,
    /// The right part of every `internetMessageId`; `None`: the sending mailbox's domain.
    pub message_id_domain: Option<String>,
}

impl Settings {
    pub fn load() -> Result<Self, Error> {
        let save_to_sent_items = match config::get("save_to_sent_items") {
            None => false,
            Some(text) => parse_flag(&text).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "the setting `save_to_sent_items` must be true or false (got `{}`)",
                    text.trim()
                ))
            })?,
        };
        Ok(Self {
            tenant: identifier("tenant")?,
            client_id: identifier("client_id")?,
            client_secret: config::require_secret("client_secret")?,
            sender: sender(&config::require("sender")?)?,
            login_url: root("login_url", DEFAULT_LOGIN_URL)?,
            graph_url: root("graph_url", DEFAULT_GRAPH_URL)?,
            save_to_sent_items,
            message_id_domain: config::get("message_id_domain").map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
        })
    }

    /// `POST` target of the client-credentials grant.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.login_url, self.tenant)
    }

    /// The scope the token is asked for: every application permission granted on Graph.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.graph_url)
    }

    /// What identifies the credentials a cached token belongs to (no secret in it), so a config
    /// change fetches a new token.
    pub fn account(&self) -> String {
        format!("{}|{}|{}|{}", self.login_url, self.tenant, self.client_id, self.graph_url)
    }
}

/// A required setting that goes into a URL path or a form: no blanks, no slashes.
fn identifier(key: &str) -> Result<String, Error> {
    let value = config::require(key)?.trim().to_string();
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '%')) {
        return Err(Error::InvalidConfig(format!(
            "the setting `{key}` must be an id or a domain, without spaces or slashes"
        )));
    }
    Ok(value)
}

/// The sending mailbox: a UPN (`name@domain`) or a user id (GUID).
pub fn sender(value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() || value.len() > 320 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidConfig(
            "the setting `sender` must be the mailbox's user principal name (name@domain) or its user id".into(),
        ));
    }
    Ok(value.to_string())
}

/// An `https://` root URL setting, without a trailing slash.
fn root(key: &str, default: &str) -> Result<String, Error> {
    let value = config::text_or(key, default);
    check_root(&value).map_err(|why| Error::InvalidConfig(format!("the setting `{key}` {why}")))
}

/// Why `value` cannot be a root URL, or the value without its trailing slash. Only `https`: the
/// client secret and bearer tokens travel to these URLs.
pub fn check_root(value: &str) -> Result<String, String> {
    let trimmed = value.trim().trim_end_matches('/');
    let Some(host) = trimmed.strip_prefix("https://") else {
        return Err(format!("must be an https:// URL (got `{trimmed}`)"));
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@']) || host.chars().any(char::is_whitespace) {
        return Err(format!("must be a scheme and host only, such as {DEFAULT_GRAPH_URL} (got `{trimmed}`)"));
    }
    Ok(trimmed.to_string())
}

/// A boolean setting as the config sends it: `true`/`false` (TOML booleans arrive as JSON text).
fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// The domain of a mailbox address; `None` for a user id.
pub fn domain_of(mailbox: &str) -> Option<&str> {
    mailbox.rsplit_once('@').map(|(_, domain)| domain).filter(|d| !d.is_empty())
}

/// Settings for unit tests.
#[cfg(test)]
pub fn example() -> Settings {
    Settings {
        tenant: "contoso.onmicrosoft.com".into(),
        client_id: "0b5c1e6a-app".into(),
        client_secret: "s3cr3t-value".into(),
        sender: "alerts@contoso.com".into(),
        login_url: "https://login.microsoftonline.com".into(),
        graph_url: "https://graph.microsoft.com".into(),
        save_to_sent_items: false,
        message_id_domain: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_https_origins() {
        assert_eq!(check_root("https://graph.microsoft.com/").as_deref(), Ok("https://graph.microsoft.com"));
        assert_eq!(check_root(" https://localhost:8443 ").as_deref(), Ok("https://localhost:8443"));
        for bad in ["http://graph.microsoft.com", "graph.microsoft.com", "https://", "https://h/v1.0", "https://u@h"] {
            assert!(check_root(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_senders_and_domains() {
        assert_eq!(parse_flag("true"), Some(true));
        assert_eq!(parse_flag(" FALSE "), Some(false));
        assert_eq!(parse_flag("maybe"), None);
        assert_eq!(sender(" alerts@contoso.com ").ok().as_deref(), Some("alerts@contoso.com"));
        assert!(sender("two words@contoso.com").is_err());
        assert!(sender("").is_err());
        assert_eq!(domain_of("alerts@contoso.com"), Some("contoso.com"));
        assert_eq!(domain_of("8a1f0c2e-0000-4000-8000-000000000001"), None);
    }
}
