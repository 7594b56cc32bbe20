//! The `[local_proxy.ldap]` section: logging in to the local proxy with the company directory.
//!
//! ```toml
//! [local_proxy.ldap]
//! url = "ldaps://dc1.corp.example"          # ldap:// (StartTLS) or ldaps://
//! ca_file = "certs/corp-ca.pem"            # trust only this CA for the directory (default: system)
//! bind_dn = "cn=svc-connector,ou=services,dc=corp,dc=example"   # searches users and groups
//! bind_password = { file = "secrets/ldap-password" }            # (both absent: anonymous)
//! user_base = "ou=people,dc=corp,dc=example"
//! user_filter = "(&(objectClass=inetOrgPerson)(uid={user}))"     # {user}: the name typed, escaped
//! group_base = "ou=groups,dc=corp,dc=example"
//! group_filter = "(&(objectClass=groupOfNames)(member={dn}))"    # {dn}: the user's DN (default)
//! allowed_groups = ["connector-admins"]    # CNs or DNs; members of any of them may log in
//! timeout = "10s"                          # for the whole login (default 10s)
//! # starttls = true                        # ldap:// only; default true
//! # allow_plaintext = false                # ldap:// without StartTLS: passwords in the clear (lab only)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::relay::parse_origin;
use super::schema::{self, DurationText};
use super::{KeyPath, Validator};
use crate::capabilities::secrets::SecretRef;
use crate::capabilities::tls;
use crate::proxy::ldap::{DEFAULT_GROUP_FILTER, DEFAULT_TIMEOUT, LdapConfig};

const MIN_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// Logging in to the local proxy with the company directory (LDAP), as members of allowed
/// groups. Local users (`users_file`) can still log in beside it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLdap {
    /// The directory: `ldaps://host[:port]` (TLS from the start) or `ldap://host[:port]` (with
    /// StartTLS).
    url: String,
    /// For `ldap://` URLs: upgrade to TLS before sending anything.
    #[schemars(extend("x-default" = "true for ldap://"))]
    starttls: Option<bool>,
    /// Allow `ldap://` without StartTLS, sending passwords in the clear. Lab only; warned about.
    #[serde(default)]
    allow_plaintext: bool,
    /// A PEM file of the CAs the directory's certificate is checked against.
    #[schemars(extend("x-default" = "the system's trusted CAs"))]
    ca_file: Option<PathBuf>,
    /// The DN the connector binds as to search users and groups, with `bind_password`; without
    /// both the search is anonymous.
    bind_dn: Option<String>,
    /// The password of `bind_dn`.
    bind_password: Option<SecretRef>,
    /// Where users are searched, e.g. `ou=people,dc=corp,dc=example`.
    user_base: String,
    /// Finds the user logging in; `{user}` is the name typed (escaped), and must appear once,
    /// e.g. `(&(objectClass=inetOrgPerson)(uid={user}))`.
    user_filter: String,
    /// Where groups are searched.
    group_base: String,
    /// Finds the groups of the user; `{dn}` is the user's DN.
    #[schemars(extend("default" = DEFAULT_GROUP_FILTER))]
    group_filter: Option<String>,
    /// Groups (CNs or DNs) whose members may log in; at least one.
    allowed_groups: Vec<String>,
    /// The longest a whole login (bind, searches) may take (1s to 5m).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<DurationText>", extend("default" = schema::duration(DEFAULT_TIMEOUT)))]
    timeout: Option<Duration>,
}

impl Validator<'_> {
    pub(super) fn ldap(&mut self, key: &KeyPath, base: &Path, raw: RawLdap) -> Option<LdapConfig> {
        let errors_before = self.error_count();
        let ldaps = match check_url(&raw.url) {
            Ok(ldaps) => Some(ldaps),
            Err(e) => {
                self.error(key.key("url"), e);
                None
            }
        };
        let starttls = raw.starttls.unwrap_or(ldaps == Some(false));
        match ldaps {
            Some(true) if starttls => {
                self.error(key.key("starttls"), "is for ldap:// URLs: ldaps:// is TLS from the start");
            }
            Some(false) if !starttls && !raw.allow_plaintext => self.error(
                key.key("starttls"),
                "ldap:// without StartTLS sends passwords in the clear: use StartTLS or ldaps://, \
                 or set `allow_plaintext = true` (lab only)",
            ),
            Some(false) if !starttls => self.warning(
                key.key("allow_plaintext"),
                "passwords cross the network unencrypted: use StartTLS or ldaps:// outside a lab",
            ),
            _ => {}
        }

        let ca_file = raw.ca_file.map(|f| base.join(f));
        let tls = match tls::client_config(ca_file.as_deref()) {
            Ok(tls) => Some(tls),
            Err(e) => {
                self.error(if ca_file.is_some() { key.key("ca_file") } else { key.clone() }, e.to_string());
                None
            }
        };

        let bind_password = match (&raw.bind_dn, &raw.bind_password) {
            (None, None) => None,
            (Some(dn), Some(password)) => {
                if dn.trim().is_empty() {
                    self.error(key.key("bind_dn"), "must not be empty");
                }
                self.secret(key.key("bind_password"), base, password)
            }
            (Some(_), None) => {
                self.error(key.key("bind_dn"), "needs `bind_password` too");
                None
            }
            (None, Some(_)) => {
                self.error(key.key("bind_password"), "needs `bind_dn` too");
                None
            }
        };

        for (name, value) in [("user_base", &raw.user_base), ("group_base", &raw.group_base)] {
            if value.trim().is_empty() {
                self.error(key.key(name), "must not be empty");
            }
        }
        if let Err(e) = check_filter(&raw.user_filter, "{user}") {
            self.error(key.key("user_filter"), e);
        }
        let group_filter = raw.group_filter.unwrap_or_else(|| DEFAULT_GROUP_FILTER.to_string());
        if let Err(e) = check_filter(&group_filter, "{dn}") {
            self.error(key.key("group_filter"), e);
        }
        if raw.allowed_groups.is_empty() {
            self.error(key.key("allowed_groups"), "must name at least one group: with none, nobody could log in");
        }
        for (i, group) in raw.allowed_groups.iter().enumerate() {
            if group.trim().is_empty() {
                self.error(key.key("allowed_groups").index(i), "must not be empty");
            }
        }
        let timeout = raw.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&timeout) {
            self.error(key.key("timeout"), "must be between 1s and 5m");
        }

        if self.error_count() > errors_before {
            return None;
        }
        Some(LdapConfig {
            url: raw.url,
            starttls: starttls && ldaps == Some(false),
            allow_plaintext: raw.allow_plaintext,
            tls: tls?,
            bind_dn: raw.bind_dn,
            bind_password,
            user_base: raw.user_base,
            user_filter: raw.user_filter,
            group_base: raw.group_base,
            group_filter,
            allowed_groups: raw.allowed_groups.into_iter().map(|g| g.trim().to_string()).collect(),
            timeout,
        })
    }
}

/// `ldap://host[:port]` or `ldaps://host[:port]`; whether it is ldaps.
fn check_url(url: &str) -> Result<bool, String> {
    let ldaps = match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("ldaps") => true,
        Some("ldap") => false,
        _ => return Err(format!("`{url}`: must be an ldap:// or ldaps:// URL")),
    };
    // Host and path checks as for the relay; the port default does not matter here.
    parse_origin(url, if ldaps { "ldaps" } else { "ldap" })?;
    Ok(ldaps)
}

/// A filter template holding `placeholder`, valid once it is replaced.
fn check_filter(filter: &str, placeholder: &str) -> Result<(), String> {
    if !filter.contains(placeholder) {
        return Err(format!("`{filter}` must contain {placeholder}, where the value is put"));
    }
    if ldap3::parse_filter(filter.replace(placeholder, "x")).is_err() {
        return Err(format!(
            "`{filter}` is not a valid LDAP filter (RFC 4515), e.g. (&(objectClass=person)(uid={{user}}))"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostics::SourceIndex;
    use crate::config::{Diagnostic, Severity};

    #[derive(Deserialize)]
    struct Document {
        local_proxy: Section,
    }

    #[derive(Deserialize)]
    struct Section {
        ldap: RawLdap,
    }

    /// Validates `text`'s `[local_proxy.ldap]` as the config loader would.
    fn validate(dir: &Path, text: &str) -> (Option<LdapConfig>, Vec<Diagnostic>) {
        let file = dir.join("c.toml");
        let index = SourceIndex::parse(&file, text).expect("TOML");
        let raw: Document = toml::from_str(text).expect("fields");
        let mut validator = Validator { index: &index, diagnostics: Vec::new() };
        let key = KeyPath::root().key("local_proxy").key("ldap");
        let config = validator.ldap(&key, dir, raw.local_proxy.ldap);
        (config, validator.diagnostics)
    }

    fn shown(diagnostics: &[Diagnostic], dir: &Path) -> Vec<String> {
        let prefix = format!("{}:", dir.join("c.toml").display());
        diagnostics.iter().map(|d| d.to_string().replace(&prefix, "")).collect()
    }

    fn write_ca(dir: &Path) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("CA");
        std::fs::write(dir.join("ca.pem"), cert.pem()).expect("write CA");
        let secret = dir.join("ldap-password");
        std::fs::write(&secret, "svc-pass\n").expect("write secret");
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    }

    #[test]
    fn a_full_section_is_read_with_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_ca(dir.path());
        let text = "[local_proxy.ldap]\nurl = \"ldap://dc1.corp.example\"\nca_file = \"ca.pem\"\n\
                    bind_dn = \"cn=svc,dc=corp\"\nbind_password = { file = \"ldap-password\" }\n\
                    user_base = \"ou=people,dc=corp\"\nuser_filter = \"(&(objectClass=person)(uid={user}))\"\n\
                    group_base = \"ou=groups,dc=corp\"\nallowed_groups = [\" connector-admins \"]\n";
        let (config, diagnostics) = validate(dir.path(), text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let config = config.expect("valid");
        assert!(config.starttls && !config.allow_plaintext, "StartTLS by default on ldap://");
        assert_eq!(config.group_filter, DEFAULT_GROUP_FILTER);
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.allowed_groups, ["connector-admins"]);
        use secrecy::ExposeSecret;
        assert_eq!(config.bind_password.expect("password").expose_secret(), "svc-pass");

        let ldaps = text.replace("ldap://dc1.corp.example", "ldaps://dc1.corp.example:3269");
        let (config, diagnostics) = validate(dir.path(), &ldaps);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(!config.expect("valid").starttls);
    }

    #[test]
    fn every_problem_is_reported_at_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "[local_proxy.ldap]\n\
                    url = \"https://dc1.corp.example\"\n\
                    ca_file = \"missing.pem\"\n\
                    bind_dn = \"cn=svc,dc=corp\"\n\
                    user_base = \"\"\n\
                    user_filter = \"(uid=%s)\"\n\
                    group_base = \"ou=groups,dc=corp\"\n\
                    group_filter = \"(member={dn}\"\n\
                    allowed_groups = []\n\
                    timeout = \"10m\"\n";
        let (config, diagnostics) = validate(dir.path(), text);
        assert!(config.is_none());
        assert_eq!(
            shown(&diagnostics, dir.path()),
            [
                "2:7: local_proxy.ldap.url: `https://dc1.corp.example`: must be an ldap:// or ldaps:// URL".to_string(),
                format!(
                    "3:11: local_proxy.ldap.ca_file: CA file {}: cannot be read: No such file or directory (os error 2)",
                    dir.path().join("missing.pem").display()
                ),
                "4:11: local_proxy.ldap.bind_dn: needs `bind_password` too".to_string(),
                "5:13: local_proxy.ldap.user_base: must not be empty".to_string(),
                "6:15: local_proxy.ldap.user_filter: `(uid=%s)` must contain {user}, where the value is put".to_string(),
                "8:16: local_proxy.ldap.group_filter: `(member={dn}` is not a valid LDAP filter (RFC 4515), e.g. (&(objectClass=person)(uid={user}))".to_string(),
                "9:18: local_proxy.ldap.allowed_groups: must name at least one group: with none, nobody could log in".to_string(),
                "10:11: local_proxy.ldap.timeout: must be between 1s and 5m".to_string(),
            ]
        );
    }

    #[test]
    fn plaintext_needs_an_explicit_opt_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_ca(dir.path());
        let section = |extra: &str| {
            format!(
                "[local_proxy.ldap]\nurl = \"ldap://127.0.0.1:3389\"\nca_file = \"ca.pem\"\n{extra}\
                 user_base = \"dc=x\"\nuser_filter = \"(uid={{user}})\"\ngroup_base = \"dc=x\"\nallowed_groups = [\"a\"]\n"
            )
        };
        let (config, diagnostics) = validate(dir.path(), &section("starttls = false\n"));
        assert!(config.is_none());
        assert_eq!(diagnostics.len(), 1);
        assert!(
            shown(&diagnostics, dir.path())[0]
                .starts_with("4:12: local_proxy.ldap.starttls: ldap:// without StartTLS sends passwords in the clear"),
            "{diagnostics:?}"
        );

        let (config, diagnostics) = validate(dir.path(), &section("starttls = false\nallow_plaintext = true\n"));
        let config = config.expect("allowed");
        assert!(!config.starttls && config.allow_plaintext);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].severity, Severity::Warning);
        assert!(
            shown(&diagnostics, dir.path())[0]
                .starts_with("5:19: warning: local_proxy.ldap.allow_plaintext: passwords cross"),
            "{diagnostics:?}"
        );

        let ldaps = section("starttls = true\n").replace("ldap://", "ldaps://");
        let (config, diagnostics) = validate(dir.path(), &ldaps);
        assert!(config.is_none());
        assert!(
            shown(&diagnostics, dir.path())[0].starts_with("4:12: local_proxy.ldap.starttls: is for ldap:// URLs"),
            "{diagnostics:?}"
        );
    }

    #[test]
    fn urls_are_ldap_origins() {
        assert_eq!(check_url("ldap://dc1"), Ok(false));
        assert_eq!(check_url("ldaps://[::1]:636/"), Ok(true));
        assert!(check_url("ldap://dc1/dc=example,dc=com").is_err_and(|e| e.contains("no path")));
        assert!(check_url("ldap://").is_err());
        assert!(check_url("dc1:389").is_err_and(|e| e.contains("must be an ldap:// or ldaps:// URL")));
    }
}
