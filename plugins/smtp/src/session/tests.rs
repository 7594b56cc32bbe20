use msc_sdk::net::NetError;

use super::*;
use crate::testing::{Fake, Step, c, s, settings};

const PLAIN: &str = "AUTH PLAIN AHJlbGF5AHMzY3JldA==\r\n";

fn open(fake: &mut Fake, settings: &Settings) -> Result<Opened, SmtpError> {
    Session::new(fake).open(settings)
}

#[test]
fn starttls_then_ehlo_again_then_auth_plain() {
    let mut fake = Fake::new(vec![
        s("220 mx ESMTP\r\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
        c("STARTTLS\r\n"),
        s("220 2.0.0 Ready to start TLS\r\n"),
        Step::StartTls,
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
        c(PLAIN),
        s("235 2.7.0 Authentication successful\r\n"),
    ]);
    let opened = open(&mut fake, &settings()).expect("opened");
    assert_eq!(opened.signed_in, Some("PLAIN"));
    assert_eq!(opened.greeting.code, 220);
    assert!(fake.finished() && fake.tls);
}

#[test]
fn a_server_without_starttls_is_left_before_anything_else_is_said() {
    let mut fake =
        Fake::new(vec![s("220 mx\r\n"), c("EHLO corp.example\r\n"), s("250-mx\r\n250 AUTH PLAIN LOGIN\r\n")]);
    assert!(matches!(open(&mut fake, &settings()), Err(SmtpError::NoStartTls)));
    assert!(fake.finished());
    assert!(!fake.transcript().contains("AUTH"), "no credentials in plaintext");
}

#[test]
fn a_failed_or_refused_upgrade_is_a_failure_not_a_plaintext_session() {
    let mut fake = Fake::new(vec![
        s("220 mx\r\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250 STARTTLS\r\n"),
        c("STARTTLS\r\n"),
        s("220 go ahead\r\n"),
        Step::StartTlsFails(NetError::Tls("invalid peer certificate: UnknownIssuer".into())),
    ]);
    let error = open(&mut fake, &settings()).err().expect("failure");
    assert!(matches!(error, SmtpError::Net { stage: Stage::StartTls, error: NetError::Tls(_) }), "{error:?}");

    let mut fake = Fake::new(vec![
        s("220 mx\r\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250 STARTTLS\r\n"),
        c("STARTTLS\r\n"),
        s("454 4.7.0 TLS not available due to temporary reason\r\n"),
    ]);
    let error = open(&mut fake, &settings()).err().expect("failure");
    assert!(matches!(error, SmtpError::Reply { stage: Stage::StartTls, ref reply } if reply.code == 454), "{error:?}");
}

#[test]
fn bytes_queued_behind_the_starttls_reply_and_old_extensions_are_forgotten() {
    let mut fake = Fake::new(vec![
        s("220 mx\r\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
        c("STARTTLS\r\n"),
        // A man in the middle appends a fake EHLO reply to the plaintext 220.
        s("220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n"),
        Step::StartTls,
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250 AUTH LOGIN\r\n"),
        c("AUTH LOGIN\r\n"),
        s("334 VXNlcm5hbWU6\r\n"),
        c("cmVsYXk=\r\n"),
        s("334 UGFzc3dvcmQ6\r\n"),
        c("czNjcmV0\r\n"),
        s("235 ok\r\n"),
    ]);
    let mut session = Session::new(&mut fake);
    let opened = session.open(&settings()).expect("opened");
    assert_eq!(opened.signed_in, Some("LOGIN"), "the extensions are the ones offered over TLS");
    assert!(!session.extensions.pipelining);
    assert!(fake.finished());
}

#[test]
fn implicit_tls_signs_in_without_starttls() {
    let tls = Settings { security: Security::Tls, port: 465, ..settings() };
    let mut fake = Fake::new(vec![
        s("220 mx\r\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250 AUTH PLAIN\r\n"),
        c(PLAIN),
        s("235 ok\r\n"),
    ])
    .tls();
    assert_eq!(open(&mut fake, &tls).expect("opened").signed_in, Some("PLAIN"));
    let mut plain = Fake::new(vec![s("220 mx\r\n"), c("EHLO corp.example\r\n"), s("250 mx\r\n")]);
    assert!(matches!(open(&mut plain, &tls), Err(SmtpError::NotEncrypted(Stage::Connect))));
}

#[test]
fn auth_is_never_sent_over_plaintext() {
    let plaintext = Settings { security: Security::None, port: 25, ..settings() };
    let mut fake = Fake::new(vec![s("220 mx\r\n"), c("EHLO corp.example\r\n"), s("250-mx\r\n250 AUTH PLAIN\r\n")]);
    assert!(matches!(open(&mut fake, &plaintext), Err(SmtpError::NotEncrypted(Stage::Auth))));
    assert!(!fake.transcript().contains("AUTH"));
}

#[test]
fn auth_choices_and_refusals() {
    let tls = Settings { security: Security::Tls, ..settings() };
    let mut fake =
        Fake::new(vec![s("220 mx\r\n"), c("EHLO corp.example\r\n"), s("250-mx\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n")])
            .tls();
    match open(&mut fake, &tls) {
        Err(SmtpError::NoAuthMechanism(offered)) => assert_eq!(offered, "CRAM-MD5 XOAUTH2"),
        other => panic!("{:?}", other.err()),
    }
    // An explicit mechanism is tried even when the server does not list it.
    let plain = Settings { auth: AuthMechanism::Plain, ..tls.clone() };
    let mut fake = Fake::new(vec![
        s("220 mx\r\n"),
        c("EHLO corp.example\r\n"),
        s("250 mx\r\n"),
        c(PLAIN),
        s("535 5.7.8 Authentication credentials invalid\r\n"),
    ])
    .tls();
    let error = open(&mut fake, &plain).err().expect("refused");
    assert!(matches!(error, SmtpError::Reply { stage: Stage::Auth, ref reply } if reply.code == 535), "{error:?}");
}

#[test]
fn helo_when_ehlo_is_not_understood() {
    let none = Settings { security: Security::None, credentials: None, ..settings() };
    let mut fake = Fake::new(vec![
        s("220 old mx\r\n"),
        c("EHLO corp.example\r\n"),
        s("502 5.5.2 Command not recognized\r\n"),
        c("HELO corp.example\r\n"),
        s("250 old mx\r\n"),
    ]);
    assert!(open(&mut fake, &none).is_ok());
    assert!(fake.finished());
}

#[test]
fn replies_split_across_reads_and_malformed_replies() {
    let none = Settings { security: Security::None, credentials: None, ..settings() };
    let mut fake = Fake::new(vec![
        s("22"),
        s("0 mx\r"),
        s("\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx\r\n250-SIZE 100"),
        s("0\r\n250 8BITMIME\r\n"),
    ]);
    let mut session = Session::new(&mut fake);
    session.open(&none).expect("opened");
    assert_eq!(session.extensions.size, Some(1000));

    let mut fake = Fake::new(vec![s("HTTP/1.1 400 Bad Request\r\n")]);
    assert!(matches!(open(&mut fake, &none), Err(SmtpError::Malformed { stage: Stage::Greeting, .. })));
    let mut fake = Fake::new(vec![Step::Server(vec![b'2'; MAX_REPLY_LINE + 10])]);
    assert!(matches!(open(&mut fake, &none), Err(SmtpError::Malformed { stage: Stage::Greeting, .. })));
    let mut fake = Fake::new(vec![s("220-mx\r\n")]);
    assert!(matches!(open(&mut fake, &none), Err(SmtpError::Net { stage: Stage::Greeting, error: NetError::Closed })));
}

#[test]
fn a_refusing_or_closing_greeting_ends_the_session() {
    let mut fake = Fake::new(vec![s("554 5.7.1 No SMTP service for you\r\n")]);
    let error = open(&mut fake, &settings()).err().expect("refused");
    assert!(matches!(error, SmtpError::Reply { stage: Stage::Greeting, ref reply } if reply.code == 554));
    let mut fake = Fake::new(vec![s("421 4.3.2 busy, try later\r\n")]);
    let error = open(&mut fake, &settings()).err().expect("refused");
    assert!(matches!(error, SmtpError::Reply { stage: Stage::Greeting, ref reply } if reply.code == 421));
}
