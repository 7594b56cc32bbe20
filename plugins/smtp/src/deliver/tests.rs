//! Whole sends against scripted servers: each path to each `send-error` class.

use std::time::Duration;

use msc_sdk::mail::{Delivery, Message, SendError};
use msc_sdk::net::NetError;
use msc_sdk::{AuthFailure, Error};

use super::*;
use crate::data;
use crate::mime::compose;
use crate::testing::{Fake, Step, address, c, message, s, settings};

const PLAIN: &str = "AUTH PLAIN AHJlbGF5AHMzY3JldA==\r\n";
const MAIL: &str = "MAIL FROM:<alerts@corp.example>\r\n";
const ALICE: &str = "RCPT TO:<alice@corp.example>\r\n";
const BOB: &str = "RCPT TO:<bob@corp.example>\r\n";
const AUDIT: &str = "RCPT TO:<audit@corp.example>\r\n";

/// Greeting, EHLO, STARTTLS, EHLO offering `extensions` (and AUTH PLAIN), signed in.
fn opening(extensions: &[&str]) -> Vec<Step> {
    let mut ehlo = String::from("250-mx.corp.example\r\n");
    for extension in extensions {
        ehlo.push_str(&format!("250-{extension}\r\n"));
    }
    ehlo.push_str("250 AUTH PLAIN LOGIN\r\n");
    vec![
        s("220 mx.corp.example ESMTP\r\n"),
        c("EHLO corp.example\r\n"),
        s("250-mx.corp.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
        c("STARTTLS\r\n"),
        s("220 ready\r\n"),
        Step::StartTls,
        c("EHLO corp.example\r\n"),
        Step::Server(ehlo.into_bytes()),
        c(PLAIN),
        s("235 2.7.0 ok\r\n"),
    ]
}

fn script(extensions: &[&str], rest: Vec<Step>) -> Vec<Step> {
    let mut steps = opening(extensions);
    steps.extend(rest);
    steps
}

fn send_with(message: &Message, steps: Vec<Step>, time_left: Duration) -> (Result<Delivery, SendError>, Fake) {
    let mut fake = Fake::new(steps);
    let composed = compose(message, &settings(), 1_748_944_800).expect("composed");
    let result = deliver(&mut fake, &settings(), &composed, &move || time_left)
        .map_err(|e| e.into_send_error("smtp.corp.example:587"));
    assert!(fake.finished(), "the script did not run to its end; the client wrote:\n{}", fake.transcript());
    assert!(!fake.stalled, "the client waited for a reply the server would not send:\n{}", fake.transcript());
    (result, fake)
}

fn send(steps: Vec<Step>) -> (Result<Delivery, SendError>, Fake) {
    send_with(&message(), steps, Duration::from_secs(30))
}

fn expected_data() -> Vec<u8> {
    let composed = compose(&message(), &settings(), 1_748_944_800).expect("composed");
    [data::stuffed(&composed.data).expect("stuffed"), data::END.to_vec()].concat()
}

fn accepted_tail() -> Vec<Step> {
    vec![c("DATA\r\n"), s("354 go ahead\r\n"), Step::Data, s("250 2.0.0 Ok: queued as 4F2\r\n"), c("QUIT\r\n")]
}

#[test]
fn pipelined_envelope_goes_in_one_write() {
    let mut rest = vec![
        c(MAIL),
        c(ALICE),
        c(BOB),
        c(AUDIT),
        s("250 2.1.0 ok\r\n250 2.1.5 ok\r\n"),
        s("250 2.1.5 ok\r\n250 2.1.5 ok\r\n"),
    ];
    rest.extend(accepted_tail());
    let (result, fake) = send(script(&["PIPELINING"], rest));
    let delivery = result.expect("delivered");
    assert_eq!(delivery.message_id, "<msc.t-42@corp.example>");
    assert!(delivery.refused.is_empty());
    let reply = delivery.reply.expect("reply");
    assert_eq!(
        (reply.code, reply.enhanced_code.as_deref(), reply.text.as_str()),
        (250, Some("2.0.0"), "Ok: queued as 4F2")
    );
    let group = format!("{MAIL}{ALICE}{BOB}{AUDIT}");
    assert!(fake.writes.iter().any(|w| w == group.as_bytes()), "one write for the group: {:?}", fake.transcript());
    assert_eq!(fake.data, [expected_data()]);
}

#[test]
fn without_pipelining_each_command_waits_for_its_reply() {
    let mut rest =
        vec![c(MAIL), s("250 ok\r\n"), c(ALICE), s("250 ok\r\n"), c(BOB), s("250 ok\r\n"), c(AUDIT), s("250 ok\r\n")];
    rest.extend(accepted_tail());
    let (result, fake) = send(script(&[], rest));
    assert!(result.is_ok(), "{result:?}");
    assert!(fake.writes.iter().all(|w| w.windows(4).filter(|x| x == b"RCPT").count() <= 1));
}

#[test]
fn refused_recipients_are_reported_when_others_were_accepted() {
    let mut rest = vec![
        c(MAIL),
        c(ALICE),
        c(BOB),
        c(AUDIT),
        s("250 ok\r\n250 ok\r\n550 5.1.1 <bob@corp.example>: User unknown\r\n452 4.2.2 Mailbox full\r\n"),
    ];
    rest.extend(accepted_tail());
    let (result, _) = send(script(&["PIPELINING"], rest));
    let delivery = result.expect("delivered to alice");
    let refused: Vec<(&str, u16, Option<&str>)> = delivery
        .refused
        .iter()
        .map(|r| {
            let reply = r.reply.as_ref().expect("reply");
            (r.address.value.as_str(), reply.code, reply.enhanced_code.as_deref())
        })
        .collect();
    assert_eq!(refused, [("bob@corp.example", 550, Some("5.1.1")), ("audit@corp.example", 452, Some("4.2.2"))]);
}

#[test]
fn all_recipients_refused_permanently_is_rejected_else_deferred() {
    let rest = vec![
        c(MAIL),
        s("250 ok\r\n"),
        c(ALICE),
        s("550 5.1.1 User unknown\r\n"),
        c(BOB),
        s("550 5.1.1 User unknown\r\n"),
        c(AUDIT),
        s("553 5.1.3 bad\r\n"),
        c("QUIT\r\n"),
    ];
    match send(script(&[], rest)).0 {
        Err(SendError::Rejected(failure)) => {
            let reply = failure.reply.expect("reply");
            assert_eq!((reply.code, reply.enhanced_code.as_deref()), (550, Some("5.1.1")));
            assert!(failure.message.contains("every recipient was refused"), "{}", failure.message);
        }
        other => panic!("{other:?}"),
    }
    let rest = vec![
        c(MAIL),
        s("250 ok\r\n"),
        c(ALICE),
        s("550 5.1.1 User unknown\r\n"),
        c(BOB),
        s("450 4.2.1 try later\r\n"),
        c(AUDIT),
        s("550 5.1.1 no\r\n"),
        c("QUIT\r\n"),
    ];
    match send(script(&[], rest)).0 {
        Err(SendError::Deferred(failure)) => assert_eq!(failure.reply.map(|r| r.code), Some(450)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn transient_replies_before_the_message_is_taken_defer() {
    let cases: Vec<(Vec<Step>, u16)> = vec![
        (vec![c(MAIL), s("451 4.3.0 Try again later\r\n"), c("QUIT\r\n")], 451),
        (vec![c(MAIL), s("250 ok\r\n"), c(ALICE), s("421 4.4.2 closing\r\n"), c("QUIT\r\n")], 421),
        (
            vec![
                c(MAIL),
                s("250 ok\r\n"),
                c(ALICE),
                s("250 ok\r\n"),
                c(BOB),
                s("250 ok\r\n"),
                c(AUDIT),
                s("250 ok\r\n"),
                c("DATA\r\n"),
                s("452 4.3.1 Insufficient system storage\r\n"),
                c("QUIT\r\n"),
            ],
            452,
        ),
        (
            vec![
                c(MAIL),
                s("250 ok\r\n"),
                c(ALICE),
                s("250 ok\r\n"),
                c(BOB),
                s("250 ok\r\n"),
                c(AUDIT),
                s("250 ok\r\n"),
                c("DATA\r\n"),
                s("354 go\r\n"),
                Step::Data,
                s("451 4.3.0 Try again later\r\n"),
                c("QUIT\r\n"),
            ],
            451,
        ),
    ];
    for (rest, code) in cases {
        match send(script(&[], rest)).0 {
            Err(SendError::Deferred(failure)) => assert_eq!(failure.reply.map(|r| r.code), Some(code)),
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[test]
fn permanent_replies_reject_with_their_enhanced_code() {
    let envelope = || {
        vec![c(MAIL), s("250 ok\r\n"), c(ALICE), s("250 ok\r\n"), c(BOB), s("250 ok\r\n"), c(AUDIT), s("250 ok\r\n")]
    };
    let cases: Vec<(Vec<Step>, u16)> = vec![
        (vec![c(MAIL), s("553 5.7.1 Sender address rejected\r\n"), c("QUIT\r\n")], 553),
        ([envelope(), vec![c("DATA\r\n"), s("554 5.5.1 No valid recipients\r\n"), c("QUIT\r\n")]].concat(), 554),
        (
            [
                envelope(),
                vec![
                    c("DATA\r\n"),
                    s("354 go\r\n"),
                    Step::Data,
                    s("550 5.7.1 Message content rejected\r\n"),
                    c("QUIT\r\n"),
                ],
            ]
            .concat(),
            550,
        ),
    ];
    for (rest, code) in cases {
        match send(script(&[], rest)).0 {
            Err(SendError::Rejected(failure)) => {
                let reply = failure.reply.expect("reply");
                assert_eq!(reply.code, code);
                assert!(reply.enhanced_code.is_some());
            }
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[test]
fn after_the_final_dot_a_lost_reply_is_an_unknown_outcome() {
    let envelope = vec![
        c(MAIL),
        c(ALICE),
        c(BOB),
        c(AUDIT),
        s("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"),
        c("DATA\r\n"),
        s("354 go\r\n"),
    ];
    let endings: Vec<Vec<Step>> = vec![
        vec![Step::Data, Step::ReadFails(NetError::TimedOut), c("QUIT\r\n")],
        vec![Step::Data, Step::ReadFails(NetError::Closed), c("QUIT\r\n")],
        vec![Step::Data, Step::Server(Vec::new()), c("QUIT\r\n")],
        vec![Step::Data, s("garbage\r\n"), c("QUIT\r\n")],
        vec![Step::Data, Step::ReadFails(NetError::Tls("bad record MAC".into())), c("QUIT\r\n")],
    ];
    for ending in endings {
        let (result, _) = send(script(&["PIPELINING"], [envelope.clone(), ending].concat()));
        assert!(matches!(result, Err(SendError::OutcomeUnknown(_))), "{result:?}");
    }
    // The write of the end-of-data line itself fails: its bytes may have left.
    // The message fits in one write, which succeeds; the `.` line's write fails.
    let ending = vec![Step::AnyWrite, Step::WriteFails(NetError::Closed), c("QUIT\r\n")];
    let (result, _) = send(script(&["PIPELINING"], [envelope, ending].concat()));
    assert!(matches!(result, Err(SendError::OutcomeUnknown(_))), "{result:?}");
}

#[test]
fn a_connection_lost_before_the_final_dot_defers() {
    let steps = vec![s("220 mx\r\n"), c("EHLO corp.example\r\n"), Step::ReadFails(NetError::Closed), c("QUIT\r\n")];
    assert!(matches!(send(steps).0, Err(SendError::Deferred(_))));
    let rest = vec![
        c(MAIL),
        c(ALICE),
        c(BOB),
        c(AUDIT),
        s("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"),
        c("DATA\r\n"),
        s("354 go\r\n"),
        Step::WriteFails(NetError::Closed),
        c("QUIT\r\n"),
    ];
    let (result, fake) = send(script(&["PIPELINING"], rest));
    assert!(matches!(result, Err(SendError::Deferred(_))), "{result:?}");
    assert!(fake.data.is_empty());
}

#[test]
fn too_little_time_left_defers_before_data() {
    let rest = vec![c(MAIL), c(ALICE), c(BOB), c(AUDIT), s("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"), c("QUIT\r\n")];
    let (result, fake) = send_with(&message(), script(&["PIPELINING"], rest), Duration::from_millis(500));
    assert!(matches!(result, Err(SendError::Deferred(ref f)) if f.message.contains("500 ms")), "{result:?}");
    assert!(!fake.transcript().contains("DATA"));
}

#[test]
fn auth_refusals_are_precise() {
    let refused = |reply: &str| {
        let mut steps = opening(&[]);
        steps.truncate(steps.len() - 1);
        steps.push(s(reply));
        steps.push(c("QUIT\r\n"));
        send(steps).0
    };
    match refused("535 5.7.8 Authentication credentials invalid\r\n") {
        Err(SendError::Failed(Error::AuthFailed(a))) => assert_eq!(a.reason, AuthFailure::BadCredentials),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        refused("534 5.7.9 Authentication mechanism is too weak\r\n"),
        Err(SendError::Failed(Error::InvalidConfig(_)))
    ));
    assert!(matches!(refused("538 5.7.11 Encryption required\r\n"), Err(SendError::Failed(Error::InvalidConfig(_)))));
    assert!(matches!(refused("454 4.7.0 Temporary authentication failure\r\n"), Err(SendError::Deferred(_))));
    match refused("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant\r\n") {
        Err(SendError::Failed(Error::AuthFailed(a))) => assert!(a.message.contains("5.7.139"), "{}", a.message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_relay_that_wants_authentication_is_a_config_problem() {
    let rest = vec![c(MAIL), s("530 5.7.0 Authentication required\r\n"), c("QUIT\r\n")];
    assert!(matches!(send(script(&[], rest)).0, Err(SendError::Failed(Error::InvalidConfig(_)))));
}

#[test]
fn a_missing_starttls_fails_and_sends_nothing() {
    let steps = vec![s("220 mx\r\n"), c("EHLO corp.example\r\n"), s("250-mx\r\n250 AUTH PLAIN\r\n"), c("QUIT\r\n")];
    let (result, fake) = send(steps);
    assert!(
        matches!(result, Err(SendError::Failed(Error::InvalidConfig(ref m))) if m.contains("STARTTLS")),
        "{result:?}"
    );
    assert!(!fake.transcript().contains("MAIL") && !fake.transcript().contains("AUTH"));
}

#[test]
fn tls_failures_and_denied_grants_are_config_problems() {
    for error in
        [NetError::Tls("invalid peer certificate: UnknownIssuer".into()), NetError::Denied("not granted".into())]
    {
        let mapped = SmtpError::Net { stage: crate::error::Stage::Connect, error }.into_send_error("mx:587");
        assert!(matches!(mapped, SendError::Failed(Error::InvalidConfig(_))), "{mapped:?}");
    }
    let mapped = SmtpError::Net { stage: crate::error::Stage::Connect, error: NetError::Unreachable("refused".into()) }
        .into_send_error("mx:587");
    assert!(matches!(mapped, SendError::Deferred(_)), "{mapped:?}");
}

#[test]
fn utf8_addresses_need_smtputf8_and_say_so_in_mail_from() {
    let mut message = message();
    message.to = vec![address("zoë@bücher.example", None)];
    message.cc.clear();
    message.bcc.clear();
    let rest = vec![c("QUIT\r\n")];
    let (result, _) = send_with(&message, script(&[], rest), Duration::from_secs(30));
    assert!(matches!(result, Err(SendError::Failed(Error::InvalidInput(_)))), "{result:?}");

    let composed = compose(&message, &settings(), 1_748_944_800).expect("composed");
    let size = data::stuffed(&composed.data).expect("stuffed").len() + data::END.len();
    let rest = vec![
        c(&format!("MAIL FROM:<alerts@corp.example> SIZE={size} SMTPUTF8 BODY=8BITMIME\r\n")),
        c("RCPT TO:<zoë@bücher.example>\r\n"),
        s("250 ok\r\n250 ok\r\n"),
    ];
    let (result, _) = send_with(
        &message,
        script(&["PIPELINING", "SMTPUTF8", "8BITMIME", "SIZE 10000000"], [rest, accepted_tail()].concat()),
        Duration::from_secs(30),
    );
    assert!(result.is_ok(), "{result:?}");
}
