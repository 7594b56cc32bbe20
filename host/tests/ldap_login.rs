//! Logging in to the local proxy with a real directory (OpenLDAP): TLS both ways (ldaps:// and
//! StartTLS), group checks, filter injection, and the failures an admin will meet.

#[path = "common/slapd.rs"]
mod slapd;

use std::sync::Arc;
use std::time::Duration;

use connector::proxy::ldap::{DEFAULT_GROUP_FILTER, Directory, DirectoryUser, LdapConfig, LdapError};
use secrecy::SecretString;
use slapd::Slapd;

/// How the test reaches the directory.
enum Via {
    Ldaps,
    StartTls,
    Plaintext,
}

fn config(slapd: &Slapd, via: Via) -> LdapConfig {
    let (url, starttls, allow_plaintext) = match via {
        Via::Ldaps => (slapd.ldaps_url(), false, false),
        Via::StartTls => (slapd.ldap_url(), true, false),
        Via::Plaintext => (slapd.ldap_url(), false, true),
    };
    LdapConfig {
        url,
        starttls,
        allow_plaintext,
        tls: trusting(&slapd.ca_file()),
        bind_dn: Some(slapd::SERVICE_DN.to_string()),
        bind_password: Some(secret(slapd::SERVICE_PASSWORD)),
        user_base: slapd::PEOPLE.to_string(),
        user_filter: "(&(objectClass=inetOrgPerson)(uid={user}))".to_string(),
        group_base: slapd::GROUPS.to_string(),
        group_filter: DEFAULT_GROUP_FILTER.to_string(),
        allowed_groups: vec!["connector-admins".to_string()],
        timeout: Duration::from_secs(5),
    }
}

fn trusting(ca_file: &std::path::Path) -> Arc<rustls::ClientConfig> {
    connector::capabilities::tls::client_config(Some(ca_file)).expect("client config")
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

async fn login(config: &LdapConfig, user: &str, password: &str) -> Result<DirectoryUser, LdapError> {
    Directory::new(config.clone()).authenticate(user, &secret(password)).await
}

fn alice() -> DirectoryUser {
    DirectoryUser {
        dn: format!("uid=alice,{}", slapd::PEOPLE),
        groups: vec![slapd::ADMINS.to_string(), format!("cn=staff,{}", slapd::GROUPS)],
    }
}

#[tokio::test]
async fn alice_logs_in_over_ldaps_starttls_and_allowed_plaintext() {
    let slapd = Slapd::start();
    for via in [Via::Ldaps, Via::StartTls, Via::Plaintext] {
        let mut user = login(&config(&slapd, via), "alice", slapd::ALICE_PASSWORD).await.expect("alice logs in");
        user.groups.sort();
        assert_eq!(user, alice());
    }
}

#[tokio::test]
async fn wrong_passwords_unknown_and_ambiguous_names_are_invalid_credentials() {
    let slapd = Slapd::start();
    let config = config(&slapd, Via::StartTls);
    for (user, password) in [
        ("alice", "alice-password-2"),
        ("alice", slapd::BOB_PASSWORD),
        ("mallory", "whatever-password"),
        // Two entries match: the name is refused rather than guessed.
        ("twin", slapd::TWIN_PASSWORD),
        // An empty password would be an anonymous "unauthenticated bind".
        ("alice", ""),
    ] {
        let result = login(&config, user, password).await;
        assert!(matches!(result, Err(LdapError::InvalidCredentials)), "{user}: {result:?}");
    }
}

#[tokio::test]
async fn only_members_of_an_allowed_group_get_in() {
    let slapd = Slapd::start();
    let mut config = config(&slapd, Via::Ldaps);
    let result = login(&config, "bob", slapd::BOB_PASSWORD).await;
    assert!(matches!(result, Err(LdapError::NotPermitted)), "{result:?}");

    // Groups are named by CN or by DN, in any case and spacing.
    config.allowed_groups = vec!["CN=Staff, OU=Groups, DC=Example, DC=Com".to_string()];
    let bob = login(&config, "bob", slapd::BOB_PASSWORD).await.expect("bob is staff");
    assert_eq!(bob.groups, [format!("cn=staff,{}", slapd::GROUPS)]);
    config.allowed_groups = vec!["nobody".to_string(), "STAFF".to_string()];
    login(&config, "bob", slapd::BOB_PASSWORD).await.expect("bob is staff");
}

#[tokio::test]
async fn filter_characters_in_names_are_values_not_filters() {
    let slapd = Slapd::start();
    let config = config(&slapd, Via::Ldaps);
    // Unescaped, each of these would find alice's entry, and her password would then log in.
    for user in ["*", "al*", "alice)(uid=*", "alice)(|(uid=*", "*)(uid=alice", "alice\0"] {
        let result = login(&config, user, slapd::ALICE_PASSWORD).await;
        assert!(matches!(result, Err(LdapError::InvalidCredentials)), "{user:?}: {result:?}");
    }
    // A name made of filter characters logs in as itself: escaped in the user and group filters.
    let dave = login(&config, slapd::DAVE, slapd::DAVE_PASSWORD).await.expect("dave(*) logs in");
    assert_eq!(dave.dn, format!("uid=dave(*),{}", slapd::PEOPLE));
    assert_eq!(dave.groups, [slapd::ADMINS]);
}

#[tokio::test]
async fn a_stopped_directory_is_unavailable() {
    let mut slapd = Slapd::start();
    let config = config(&slapd, Via::StartTls);
    login(&config, "alice", slapd::ALICE_PASSWORD).await.expect("up");
    slapd.stop();
    match login(&config, "alice", slapd::ALICE_PASSWORD).await {
        Err(LdapError::Unavailable(message)) => {
            assert!(message.contains(&slapd.ldap_url()), "{message}");
            assert!(!message.contains(slapd::ALICE_PASSWORD) && !message.contains(slapd::SERVICE_PASSWORD));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let slapd = Slapd::start();
    let other = emulator_kit::private_ca::PrivateCa::new("Some Other CA").expect("CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, &other.ca_pem).expect("write CA");
    for via in [Via::Ldaps, Via::StartTls] {
        let mut config = config(&slapd, via);
        config.tls = trusting(&other_ca);
        match login(&config, "alice", slapd::ALICE_PASSWORD).await {
            Err(LdapError::Unavailable(message)) => {
                assert!(message.contains("TLS handshake failed") && message.contains("certificate"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_refused_service_account_is_a_misconfiguration() {
    let slapd = Slapd::start();
    let mut config = config(&slapd, Via::Ldaps);
    config.bind_password = Some(secret("not-the-svc-password"));
    match login(&config, "alice", slapd::ALICE_PASSWORD).await {
        Err(LdapError::Misconfigured(message)) => {
            assert!(message.contains(slapd::SERVICE_DN), "{message}");
            assert!(!message.contains("not-the-svc-password") && !message.contains(slapd::ALICE_PASSWORD));
        }
        other => panic!("expected Misconfigured, got {other:?}"),
    }

    let mut config = self::config(&slapd, Via::Ldaps);
    config.user_base = "ou=nowhere,dc=example,dc=com".to_string();
    let result = login(&config, "alice", slapd::ALICE_PASSWORD).await;
    assert!(matches!(&result, Err(LdapError::Misconfigured(m)) if m.contains("user_base")), "{result:?}");

    // This directory hides everything from anonymous searches, even the base.
    let mut config = self::config(&slapd, Via::Ldaps);
    config.bind_dn = None;
    config.bind_password = None;
    let result = login(&config, "alice", slapd::ALICE_PASSWORD).await;
    assert!(
        matches!(&result, Err(LdapError::Misconfigured(m)) if m.contains("or the service account (anonymous) may not read it")),
        "{result:?}"
    );
}
