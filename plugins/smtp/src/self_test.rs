//! The "test connection" button: settings, connection, greeting, EHLO, TLS, sign-in, QUIT, each
//! reported in words an admin can act on. Never starts a mail transaction.

use msc_sdk::self_test::describe;
use msc_sdk::{Check, Error};

use crate::error::SmtpError;
use crate::session::Session;
use crate::settings::{Security, Settings};
use crate::stream::Stream;

/// Runs the checks; `connect` opens the connection `settings` describes.
pub fn run<S: Stream>(
    settings: Result<Settings, Error>,
    connect: impl FnOnce(&Settings) -> Result<S, SmtpError>,
) -> Vec<Check> {
    let settings = match settings {
        Ok(settings) => settings,
        Err(e) => return vec![check("settings", false, describe(&e))],
    };
    let server = format!("{}:{}", settings.host, settings.port);
    let fail = |name: &str, e: SmtpError| check(name, false, describe(&e.into_error(&server)));
    let security = match settings.security {
        Security::StartTls => "STARTTLS",
        Security::Tls => "implicit TLS",
        Security::None => "no encryption",
    };
    let mut checks = vec![check("settings", true, format!("relay {server} with {security}, sender {}", settings.from))];
    let stream = match connect(&settings) {
        Ok(stream) => stream,
        Err(e) => {
            checks.push(fail("connection", e));
            return checks;
        }
    };
    let tls_note = if stream.is_tls() { " over TLS; the certificate was verified" } else { "" };
    checks.push(check("connection", true, format!("connected to {server}{tls_note}")));
    let mut session = Session::new(stream);
    if let Some(failed) = steps(&mut session, &settings, &mut checks) {
        checks.push(fail(failed.0, failed.1));
    }
    session.quit();
    checks
}

/// The checks after connecting; the first failure, with its check's name, ends them.
fn steps<S: Stream>(
    session: &mut Session<S>,
    settings: &Settings,
    checks: &mut Vec<Check>,
) -> Option<(&'static str, SmtpError)> {
    match session.greeting() {
        Ok(greeting) => checks.push(check("greeting", true, format!("the server said {greeting}"))),
        Err(e) => return Some(("greeting", e)),
    }
    if let Err(e) = session.ehlo(&settings.helo) {
        return Some(("EHLO", e));
    }
    let offers = session.extensions.keywords.join(", ");
    let offers = if offers.is_empty() { "no extensions".to_string() } else { offers };
    checks.push(check("EHLO", true, format!("accepted EHLO {}; the server offers {offers}", settings.helo)));
    let tls = match settings.security {
        Security::StartTls => match session.start_tls(&settings.helo) {
            Ok(()) => format!("upgraded with STARTTLS; the certificate was verified for {}", settings.host),
            Err(e) => return Some(("TLS", e)),
        },
        Security::Tls if session.is_tls() => {
            format!("implicit TLS; the certificate was verified for {}", settings.host)
        }
        Security::Tls => return Some(("TLS", SmtpError::NotEncrypted(crate::error::Stage::Connect))),
        Security::None => {
            "not encrypted (security = none, allow_plaintext = true): messages cross the network in clear text".into()
        }
    };
    checks.push(check("TLS", true, tls));
    let signed_in = match &settings.credentials {
        Some(credentials) => match session.authenticate(credentials, settings.auth) {
            Ok(mechanism) => format!("signed in as {} with AUTH {mechanism}", credentials.username),
            Err(e) => return Some(("authentication", e)),
        },
        None => "no `username` configured: the relay must accept mail from this host without signing in".into(),
    };
    checks.push(check("authentication", true, signed_in));
    None
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check { name: name.into(), passed, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fake, Step, c, s, settings};

    fn names(checks: &[Check]) -> Vec<(&str, bool)> {
        checks.iter().map(|c| (c.name.as_str(), c.passed)).collect()
    }

    #[test]
    fn a_healthy_relay_passes_every_check_without_a_transaction() {
        let script = vec![
            s("220 mx.corp.example ESMTP\r\n"),
            c("EHLO corp.example\r\n"),
            s("250-mx.corp.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
            c("STARTTLS\r\n"),
            s("220 go ahead\r\n"),
            Step::StartTls,
            c("EHLO corp.example\r\n"),
            s("250-mx.corp.example\r\n250 AUTH PLAIN LOGIN\r\n"),
            c("AUTH PLAIN AHJlbGF5AHMzY3JldA==\r\n"),
            s("235 2.7.0 Authentication successful\r\n"),
            c("QUIT\r\n"),
        ];
        let mut fake = Some(Fake::new(script));
        let checks = run(Ok(settings()), |_| Ok(fake.take().expect("one connection")));
        assert_eq!(
            names(&checks),
            [
                ("settings", true),
                ("connection", true),
                ("greeting", true),
                ("EHLO", true),
                ("TLS", true),
                ("authentication", true)
            ],
            "{checks:?}"
        );
        assert!(checks[5].detail.contains("relay") && checks[5].detail.contains("PLAIN"), "{}", checks[5].detail);
        assert!(checks[3].detail.contains("STARTTLS"), "{}", checks[3].detail);
    }

    #[test]
    fn a_missing_starttls_and_bad_credentials_are_explained() {
        let script =
            vec![s("220 hi\r\n"), c("EHLO corp.example\r\n"), s("250-hi\r\n250 AUTH PLAIN\r\n"), c("QUIT\r\n")];
        let checks = run(Ok(settings()), |_| Ok(Fake::new(script)));
        let last = checks.last().expect("checks");
        assert_eq!((last.name.as_str(), last.passed), ("TLS", false));
        assert!(last.detail.contains("does not offer STARTTLS"), "{}", last.detail);

        let script = vec![
            s("220 hi\r\n"),
            c("EHLO corp.example\r\n"),
            s("250-hi\r\n250 AUTH LOGIN\r\n"),
            c("AUTH LOGIN\r\n"),
            s("334 VXNlcm5hbWU6\r\n"),
            c("cmVsYXk=\r\n"),
            s("334 UGFzc3dvcmQ6\r\n"),
            c("czNjcmV0\r\n"),
            s("535 5.7.8 Authentication credentials invalid\r\n"),
            c("QUIT\r\n"),
        ];
        let tls = Settings { security: Security::Tls, port: 465, ..settings() };
        let checks = run(Ok(tls), |_| Ok(Fake::new(script).tls()));
        let last = checks.last().expect("checks");
        assert_eq!((last.name.as_str(), last.passed), ("authentication", false));
        assert!(last.detail.contains("535") && last.detail.contains("`password`"), "{}", last.detail);
    }

    #[test]
    fn bad_settings_and_refused_connections_stop_early() {
        let checks = run::<Fake>(Err(Error::InvalidConfig("the setting `host` is missing".into())), |_| unreachable!());
        assert_eq!(names(&checks), [("settings", false)]);
        let checks = run::<Fake>(Ok(settings()), |_| {
            Err(SmtpError::Net {
                stage: crate::error::Stage::Connect,
                error: msc_sdk::net::NetError::Unreachable("connection refused".into()),
            })
        });
        assert_eq!(names(&checks), [("settings", true), ("connection", false)]);
        assert!(checks[1].detail.contains("connection refused"), "{}", checks[1].detail);
    }
}
