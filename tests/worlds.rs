//! Every export of the UEM and mail worlds called through the host's typed clients, so the
//! records and typed errors of each world cross the sandbox intact in both directions. (The SIEM
//! world is covered by `siem_json.rs`.)

use connector::plugins::CallError;
use connector::plugins::worlds::mail::{Address, Header, Message, SendError};
use connector::plugins::worlds::uem::{DeviceQuery, Platform, RiskLevel};
use connector::plugins::worlds::{Error, Pii, PiiKind};
use connector_tests::setup::TestConfig;

fn email(value: &str) -> Address {
    Address { email: Pii { kind: PiiKind::Email, value: value.into() }, display_name: None }
}

fn message(to: Vec<Address>) -> Message {
    Message {
        id: "task-7".into(),
        sender: None,
        to,
        cc: vec![],
        bcc: vec![],
        reply_to: None,
        subject: Pii { kind: PiiKind::FreeText, value: "Risk on Alice's iPhone".into() },
        text_body: Some(Pii { kind: PiiKind::FreeText, value: "body".into() }),
        html_body: None,
        headers: vec![Header { name: "X-Task".into(), value: "7".into() }],
    }
}

#[tokio::test]
async fn uem_exports_page_and_return_typed_records() {
    let runtime = TestConfig::new(
        "[instances.uem]\nplugin = \"test_plugin_probe.wasm\"\nkind = \"uem\"\n[instances.uem.config]\ndevices = 5\n",
    )
    .start()
    .await;
    let uem = runtime.uem("uem").expect("uem instance");

    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let query = DeviceQuery { cursor: cursor.take(), page_size: 2, groups: vec![], changed_since_ms: None };
        let page = uem.list_devices(&query).await.expect("page");
        assert_eq!(page.total, Some(5));
        assert!(page.devices.len() <= 2, "page size honoured");
        for device in &page.devices {
            assert_eq!(device.platform, Platform::Ios);
            let email = device.email.as_ref().expect("email");
            assert_eq!(email.kind, PiiKind::Email, "personal data arrives typed");
        }
        ids.extend(page.devices.into_iter().map(|d| d.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(ids, ["dev-0", "dev-1", "dev-2", "dev-3", "dev-4"]);

    let apps = uem.list_apps("dev-3").await.expect("apps");
    assert_eq!(apps.len(), 1);
    assert_eq!(
        (apps[0].name.as_str(), apps[0].identifier.as_deref()),
        ("Probe app of dev-3", Some("com.example.probe"))
    );

    let update = uem.set_risk("dev-3", RiskLevel::Medium).await.expect("set risk");
    assert_eq!(
        (update.applied.as_str(), update.changed, update.verified),
        ("risk=RiskLevel::Medium", Some(true), true)
    );

    let bad_cursor = DeviceQuery { cursor: Some("x".into()), page_size: 2, groups: vec![], changed_since_ms: None };
    match uem.list_devices(&bad_cursor).await {
        Err(CallError::Reported { instance, error: Error::InvalidInput(message) }) => {
            assert_eq!(instance.as_str(), "uem");
            assert!(message.contains("bad cursor"), "{message}");
        }
        other => panic!("expected a typed invalid-input error, got {other:?}"),
    }
}

#[tokio::test]
async fn mail_exports_deliver_and_refuse_with_typed_errors() {
    let runtime =
        TestConfig::new("[instances.mail]\nplugin = \"test_plugin_mail_echo.wasm\"\nkind = \"mail\"\n").start().await;
    let mail = runtime.mail("mail").expect("mail instance");

    let checks = mail.test_connection().await.expect("self-test");
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");

    let delivery =
        mail.send(&message(vec![email("alice@example.com"), email("ghost@refused.example")])).await.expect("delivered");
    assert_eq!(delivery.message_id, "<task-7@mail-echo.test>");
    let refused: Vec<&str> = delivery.refused.iter().map(|r| r.address.value.as_str()).collect();
    assert_eq!(refused, ["ghost@refused.example"]);
    assert_eq!(delivery.refused[0].reply.as_ref().map(|r| r.code), Some(550));
    let reply = delivery.reply.expect("final reply");
    assert_eq!((reply.code, reply.text.as_str()), (250, "queued; subject 22 bytes"));

    match mail.send(&message(vec![])).await {
        Err(CallError::Reported { instance, error: SendError::Rejected(failure) }) => {
            assert_eq!(instance.as_str(), "mail");
            assert_eq!(failure.reply.map(|r| (r.code, r.enhanced_code)), Some((554, Some("5.5.1".into()))));
        }
        other => panic!("expected a typed rejection, got {other:?}"),
    }
}
