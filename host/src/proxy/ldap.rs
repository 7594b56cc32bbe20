//! Logging in with the company directory (LDAP): a service account finds the user's entry, a bind
//! as the user checks the password, and only members of an allowed group get in.
//!
//! Passwords travel only over TLS (ldaps://, or StartTLS on ldap://) unless the admin explicitly
//! allowed plaintext; certificates are always verified. User input reaches filters only escaped
//! (RFC 4515), and every answer that could tell which names exist is "invalid credentials".

use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Scope, SearchEntry, SearchOptions, ldap_escape};
use rustls::ClientConfig;
use secrecy::{ExposeSecret, SecretString};

pub const DEFAULT_GROUP_FILTER: &str = "(&(objectClass=groupOfNames)(member={dn}))";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longer input is no user name; it is refused before reaching the directory.
const MAX_USER_CHARS: usize = 256;

// LDAP result codes (RFC 4511, appendix A).
const SUCCESS: u32 = 0;
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;

/// A validated `[local_proxy.ldap]` section (see `config/login.rs`).
#[derive(Clone, Debug)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// For ldap://: upgrade with StartTLS before anything is sent.
    pub starttls: bool,
    /// For ldap:// without StartTLS: the admin accepts passwords crossing the network in the clear.
    pub allow_plaintext: bool,
    /// Verifies the directory's certificate: the configured CA, or the system's.
    pub tls: Arc<ClientConfig>,
    /// The service account that searches users and groups; anonymous when `None`.
    pub bind_dn: Option<String>,
    pub bind_password: Option<SecretString>,
    pub user_base: String,
    /// E.g. `(&(objectClass=inetOrgPerson)(uid={user}))`; `{user}` is replaced, escaped.
    pub user_filter: String,
    pub group_base: String,
    /// E.g. [`DEFAULT_GROUP_FILTER`]; `{dn}` is replaced by the user's DN, escaped.
    pub group_filter: String,
    /// Group DNs or CNs whose members may log in, compared case-insensitively.
    pub allowed_groups: Vec<String>,
    /// For the whole login: connecting, binding and searching.
    pub timeout: Duration,
}

/// Why a directory login failed. No message holds a password.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// Wrong password, unknown or ambiguous name, or an empty password: deliberately alike.
    #[error("invalid user name or password")]
    InvalidCredentials,
    #[error("the user is not in a group allowed to log in")]
    NotPermitted,
    /// Connection, TLS, timeout or server errors: the login may work later.
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
    /// The directory refuses the connector's own settings, e.g. the service account's password.
    #[error("the directory login is misconfigured: {0}")]
    Misconfigured(String),
}

/// A user the directory vouched for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryUser {
    pub dn: String,
    /// The DNs of every group the group filter found, allowed or not.
    pub groups: Vec<String>,
}

/// Logs users in against one directory.
#[derive(Debug)]
pub struct Directory {
    config: LdapConfig,
}

/// How the connection is protected, from the URL and the config's choices.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Ldaps,
    StartTls,
    Plaintext,
}

struct Group {
    dn: String,
    names: Vec<String>,
}

impl Directory {
    pub fn new(config: LdapConfig) -> Self {
        Self { config }
    }

    /// Checks `user`'s password and group membership, all within the configured timeout.
    pub async fn authenticate(&self, user: &str, password: &SecretString) -> Result<DirectoryUser, LdapError> {
        // A simple bind with an empty password is an "unauthenticated bind", which many servers
        // accept as anonymous: it must never count as a login, so it never reaches the server.
        if password.expose_secret().is_empty() || user.is_empty() || user.chars().count() > MAX_USER_CHARS {
            return Err(LdapError::InvalidCredentials);
        }
        let transport = self.transport()?;
        match tokio::time::timeout(self.config.timeout, self.login(transport, user, password)).await {
            Ok(result) => result,
            Err(_) => Err(LdapError::Unavailable(format!(
                "{} did not answer within {}",
                self.config.url,
                humantime::format_duration(self.config.timeout)
            ))),
        }
    }

    async fn login(
        &self,
        transport: Transport,
        user: &str,
        password: &SecretString,
    ) -> Result<DirectoryUser, LdapError> {
        let mut service = self.connect(transport).await?;
        self.bind_service(&mut service).await?;
        let dn = self.find_user(&mut service, user).await?;
        self.check_password(transport, &dn, password).await?;
        let groups = self.groups_of(&mut service, &dn).await?;
        let _ = service.unbind().await;
        if !self.config.allowed_groups.iter().any(|allowed| groups.iter().any(|g| g.is(allowed))) {
            return Err(LdapError::NotPermitted);
        }
        Ok(DirectoryUser { dn, groups: groups.into_iter().map(|g| g.dn).collect() })
    }

    /// Refuses settings that would send a password unprotected, or that ldap3 cannot connect to.
    fn transport(&self) -> Result<Transport, LdapError> {
        let url = &self.config.url;
        let (transport, rest) = if let Some(rest) = url.strip_prefix("ldaps://") {
            (Transport::Ldaps, rest)
        } else if let Some(rest) = url.strip_prefix("ldap://") {
            match (self.config.starttls, self.config.allow_plaintext) {
                (true, _) => (Transport::StartTls, rest),
                (false, true) => (Transport::Plaintext, rest),
                (false, false) => {
                    return Err(LdapError::Misconfigured(format!(
                        "{url}: ldap:// without StartTLS would send passwords in the clear"
                    )));
                }
            }
        } else {
            return Err(LdapError::Misconfigured(format!("`{url}` is not an ldap:// or ldaps:// URL")));
        };
        if rest.is_empty() || rest.starts_with([':', '/']) {
            return Err(LdapError::Misconfigured(format!("`{url}` has no host")));
        }
        Ok(transport)
    }

    async fn connect(&self, transport: Transport) -> Result<Ldap, LdapError> {
        // No timeout of its own: the login's timeout covers connecting too.
        let settings =
            LdapConnSettings::new().set_config(self.config.tls.clone()).set_starttls(transport == Transport::StartTls);
        let (connection, ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(|e| self.unavailable("cannot connect", e))?;
        // The connection is served by its own task, which ends when every `Ldap` handle is gone.
        tokio::spawn(async move {
            if let Err(e) = connection.drive().await {
                tracing::debug!(error = %e, "LDAP connection closed");
            }
        });
        Ok(ldap)
    }

    async fn bind_service(&self, ldap: &mut Ldap) -> Result<(), LdapError> {
        let Some(dn) = &self.config.bind_dn else { return Ok(()) };
        let password = match &self.config.bind_password {
            Some(password) if !password.expose_secret().is_empty() => password,
            _ => return Err(LdapError::Misconfigured(format!("the service account `{dn}` has no bind_password"))),
        };
        let result =
            ldap.simple_bind(dn, password.expose_secret()).await.map_err(|e| self.unavailable("service bind", e))?;
        match result.rc {
            SUCCESS => Ok(()),
            INVALID_CREDENTIALS => Err(LdapError::Misconfigured(format!(
                "the directory refused the service account `{dn}`: check bind_dn and bind_password"
            ))),
            _ => Err(self.refused(&format!("service bind as `{dn}`"), &result)),
        }
    }

    /// The DN of the one entry the user filter finds. None (an unknown name) and several (an
    /// ambiguous one) are both answered like a wrong password.
    async fn find_user(&self, ldap: &mut Ldap, user: &str) -> Result<String, LdapError> {
        let filter = self.config.user_filter.replace("{user}", &ldap_escape(user));
        // Two entries are enough to know the name is ambiguous; "1.1" asks for no attributes.
        let ldap3::SearchResult(entries, result) = ldap
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&self.config.user_base, Scope::Subtree, &filter, vec!["1.1"])
            .await
            .map_err(|e| self.search_error("user", e))?;
        match result.rc {
            SUCCESS | SIZE_LIMIT_EXCEEDED => {}
            NO_SUCH_OBJECT => return Err(self.missing_base("user_base", &self.config.user_base)),
            _ => return Err(self.refused("user search", &result)),
        }
        let mut entries = entries.into_iter();
        match (entries.next(), entries.next()) {
            (Some(entry), None) => Ok(SearchEntry::construct(entry).dn),
            _ => Err(LdapError::InvalidCredentials),
        }
    }

    /// Binds as the user on a connection of its own, so the service connection keeps its rights
    /// for the group search.
    async fn check_password(&self, transport: Transport, dn: &str, password: &SecretString) -> Result<(), LdapError> {
        let mut ldap = self.connect(transport).await?;
        let result =
            ldap.simple_bind(dn, password.expose_secret()).await.map_err(|e| self.unavailable("user bind", e))?;
        let _ = ldap.unbind().await;
        match result.rc {
            SUCCESS => Ok(()),
            INVALID_CREDENTIALS => Err(LdapError::InvalidCredentials),
            _ => Err(self.refused(&format!("bind as `{dn}`"), &result)),
        }
    }

    async fn groups_of(&self, ldap: &mut Ldap, dn: &str) -> Result<Vec<Group>, LdapError> {
        let filter = self.config.group_filter.replace("{dn}", &ldap_escape(dn));
        let ldap3::SearchResult(entries, result) = ldap
            .search(&self.config.group_base, Scope::Subtree, &filter, vec!["cn"])
            .await
            .map_err(|e| self.search_error("group", e))?;
        match result.rc {
            SUCCESS => {}
            NO_SUCH_OBJECT => return Err(self.missing_base("group_base", &self.config.group_base)),
            _ => return Err(self.refused("group search", &result)),
        }
        Ok(entries
            .into_iter()
            .map(|entry| {
                let entry = SearchEntry::construct(entry);
                // Servers spell attribute names as they like (`cn`, `CN`).
                let names = entry.attrs.into_iter().find(|(name, _)| name.eq_ignore_ascii_case("cn"));
                Group { names: names.map(|(_, values)| values).unwrap_or_default(), dn: entry.dn }
            })
            .collect())
    }

    fn unavailable(&self, what: &str, error: ldap3::LdapError) -> LdapError {
        // rustls's verdict sits inside an I/O error; naming it makes a CA mistake obvious.
        if let ldap3::LdapError::Io { source } = &error
            && let Some(tls) = source.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            return LdapError::Unavailable(format!("{}: TLS handshake failed: {tls}", self.config.url));
        }
        LdapError::Unavailable(format!("{}: {what}: {error}", self.config.url))
    }

    fn search_error(&self, kind: &str, error: ldap3::LdapError) -> LdapError {
        match error {
            ldap3::LdapError::FilterParsing => {
                LdapError::Misconfigured(format!("{kind}_filter is not a valid LDAP filter"))
            }
            error => self.unavailable(&format!("{kind} search"), error),
        }
    }

    fn refused(&self, what: &str, result: &LdapResult) -> LdapError {
        LdapError::Unavailable(format!("{}: {what}: {result}", self.config.url))
    }

    /// Directories answer "no such object" also for entries the searching account may not see.
    fn missing_base(&self, key: &str, base: &str) -> LdapError {
        let account = self.config.bind_dn.as_deref().map_or_else(|| "anonymous".to_string(), |dn| format!("`{dn}`"));
        LdapError::Misconfigured(format!(
            "{key} `{base}` does not exist in {}, or the service account ({account}) may not read it",
            self.config.url
        ))
    }
}

impl Group {
    /// Whether `allowed` (a DN when it has a `=`, else a CN) names this group.
    fn is(&self, allowed: &str) -> bool {
        if allowed.contains('=') {
            normalize_dn(&self.dn) == normalize_dn(allowed)
        } else {
            let allowed = allowed.trim().to_lowercase();
            self.names.iter().any(|name| name.to_lowercase() == allowed)
        }
    }
}

/// Lowercase, without the spaces allowed around `,`, `+` and `=`: `CN=Admins, OU=Groups` and
/// `cn=admins,ou=groups` are the same group. Escaped characters are kept as they are.
fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            ',' | '+' | '=' => {
                out.truncate(out.trim_end().len());
                out.push(c);
                chars = chars.as_str().trim_start().chars();
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, starttls: bool, allow_plaintext: bool) -> LdapConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        LdapConfig {
            url: url.to_string(),
            starttls,
            allow_plaintext,
            tls: Arc::new(tls),
            bind_dn: None,
            bind_password: None,
            user_base: "ou=people,dc=example,dc=com".into(),
            user_filter: "(uid={user})".into(),
            group_base: "ou=groups,dc=example,dc=com".into(),
            group_filter: DEFAULT_GROUP_FILTER.into(),
            allowed_groups: vec!["admins".into()],
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalize_dn(" CN=Connector Admins, OU=Groups ,dc=Example"),
            "cn=connector admins,ou=groups,dc=example"
        );
        assert_eq!(normalize_dn("cn=a\\, b,dc=x"), "cn=a\\, b,dc=x");
        let group = Group {
            dn: "cn=Connector-Admins,ou=groups,dc=example,dc=com".into(),
            names: vec!["Connector-Admins".into()],
        };
        assert!(group.is("connector-admins"));
        assert!(group.is("CN=connector-admins, ou=Groups, dc=example, dc=com"));
        assert!(!group.is("cn=connector-admins,dc=example,dc=com"));
        assert!(!group.is("staff"));
    }

    #[test]
    fn unprotected_or_hostless_urls_are_refused() {
        let transport = |url, starttls, plain| Directory::new(config(url, starttls, plain)).transport();
        assert!(matches!(transport("ldaps://dc1:636", false, false), Ok(Transport::Ldaps)));
        assert!(matches!(transport("ldap://dc1", true, false), Ok(Transport::StartTls)));
        assert!(matches!(transport("ldap://dc1", false, true), Ok(Transport::Plaintext)));
        assert!(matches!(transport("ldap://dc1", false, false), Err(LdapError::Misconfigured(_))));
        assert!(matches!(transport("ldap://:389", true, false), Err(LdapError::Misconfigured(_))));
        assert!(matches!(transport("ldap:dc1", true, false), Err(LdapError::Misconfigured(_))));
        assert!(matches!(transport("https://dc1", true, false), Err(LdapError::Misconfigured(_))));
    }

    #[tokio::test]
    async fn empty_passwords_and_names_never_reach_the_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let directory = Directory::new(config(&format!("ldap://127.0.0.1:{port}"), false, true));
        let empty = SecretString::from(String::new());
        let some = SecretString::from("x".to_string());
        assert!(matches!(directory.authenticate("alice", &empty).await, Err(LdapError::InvalidCredentials)));
        assert!(matches!(directory.authenticate("", &some).await, Err(LdapError::InvalidCredentials)));
        assert!(matches!(directory.authenticate(&"a".repeat(257), &some).await, Err(LdapError::InvalidCredentials)));
        assert!(listener.accept().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock), "no connection made");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_as_unavailable() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let mut config = config(&format!("ldap://127.0.0.1:{port}"), true, false);
        config.timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let err = Directory::new(config).authenticate("alice", &SecretString::from("pw".to_string())).await;
        assert!(started.elapsed() < Duration::from_secs(3));
        match err {
            Err(LdapError::Unavailable(message)) => {
                assert!(message.contains("did not answer within 300ms"), "{message}")
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
        held.abort();
    }
}
