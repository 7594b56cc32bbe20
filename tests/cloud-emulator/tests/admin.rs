//! The admin API, the fault knobs (restart included) and the binary.

mod client;

use std::io::BufRead;
use std::time::Duration;

use client::{Client, start};
use cloud_emulator::TaskSpec;
use hyper::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_admin_api_needs_its_token_and_enqueues() {
    let (cloud, client) = start().await;
    let denied =
        client.send(Method::GET, "/admin/stats", &[("authorization", "Bearer demo-dashboard-token")], "").await;
    assert_eq!((denied.status, denied.json()["error"].as_str()), (401, Some("unauthorized")));

    let one =
        client.admin(&cloud, Method::POST, "/admin/tasks", &json!({"kind": "uem.test", "instance": "maas360"})).await;
    assert_eq!(one.status, 200, "{}", one.body);
    let id = one.json()["ids"][0].as_str().expect("id").to_string();
    let many = json!([{"kind": "connector.status"}, {"kind": "uem.sync", "instance": "maas360", "payload": {"apps": true}, "deadline_ms": 5000}]);
    assert_eq!(
        client.admin(&cloud, Method::POST, "/admin/tasks", &many).await.json()["ids"].as_array().map(Vec::len),
        Some(2)
    );
    let bad = client.admin(&cloud, Method::POST, "/admin/tasks", &json!({"kind": "x", "group": "nope"})).await;
    assert_eq!(bad.status, 400);
    let view = client.admin(&cloud, Method::GET, &format!("/admin/tasks/{id}"), &Value::Null).await.json();
    assert_eq!(
        (view["state"].as_str(), view["kind"].as_str(), view["attempt"].as_u64()),
        (Some("queued"), Some("uem.test"), Some(1))
    );
    let queued = client.admin(&cloud, Method::GET, "/admin/tasks?state=queued", &Value::Null).await.json();
    assert_eq!(queued.as_array().map(Vec::len), Some(3));
    let raw = client.admin(&cloud, Method::POST, "/admin/raw-tasks?group=default", &json!({"id": 5})).await.json();
    assert_eq!(raw, json!({"id": null}));
    let stats = client.admin(&cloud, Method::GET, "/admin/stats", &Value::Null).await.json();
    assert_eq!(stats["queued"], 3);
    let found = client.admin(&cloud, Method::POST, "/admin/find-plaintext", &json!({"needles": ["x"]})).await.json();
    assert_eq!(found, json!({"found": []}));
}

#[tokio::test]
async fn fault_knobs_fail_garble_and_drop() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    cloud.fail_requests(2, 503);
    for _ in 0..2 {
        let answer = client.relay("heartbeat", &session, &json!({"in_flight": []})).await;
        assert_eq!((answer.status, answer.json()["error"].as_str()), (503, Some("unavailable")));
    }
    assert_eq!(client.relay("heartbeat", &session, &json!({"in_flight": []})).await.status, 200);

    let id = cloud.enqueue(TaskSpec::new("uem.test", Some("maas360"), json!({})));
    cloud.garble_polls(1);
    let garbled = client.relay("poll", &session, &json!({"credit": 4, "wait_ms": 100})).await;
    assert_eq!(garbled.status, 200);
    assert!(serde_json::from_str::<Value>(&garbled.body).is_err());
    assert_eq!(cloud.task(&id).expect("task").state, "queued", "a garbled poll leases nothing");

    // A held poll loses its connection; the client sees an error, the relay keeps serving.
    let poller = {
        let client = client.clone();
        let session = session.clone();
        tokio::spawn(async move {
            client
                .try_send(
                    Method::POST,
                    "/relay/v1/poll",
                    &[("msc-relay-protocol", "1"), ("authorization", &format!("Bearer {session}"))],
                    r#"{"credit": 1, "wait_ms": 5000}"#,
                )
                .await
        })
    };
    // The poll above takes the queued task at once; wait for a second one that never comes.
    let first = poller.await.expect("poller").expect("answer");
    assert_eq!(first.json()["tasks"][0]["id"], id.as_str());
    let poller = {
        let client = client.clone();
        let session = session.clone();
        tokio::spawn(async move {
            client
                .try_send(
                    Method::POST,
                    "/relay/v1/poll",
                    &[("msc-relay-protocol", "1"), ("authorization", &format!("Bearer {session}"))],
                    r#"{"credit": 1, "wait_ms": 5000}"#,
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cloud.drop_connections();
    let dropped = tokio::time::timeout(Duration::from_secs(2), poller).await.expect("dropped quickly").expect("task");
    assert!(dropped.is_err(), "{:?}", dropped.map(|a| a.body));
    let fresh = Client::new(&cloud);
    assert_eq!(fresh.relay("heartbeat", &session, &json!({"in_flight": [id]})).await.json(), json!({"cancel": []}));

    let over_http =
        client.admin(&cloud, Method::POST, "/admin/faults", &json!({"fail_requests": 1, "fail_status": 429})).await;
    assert_eq!(over_http.status, 200, "{}", over_http.body);
    let limited = fresh.relay("heartbeat", &session, &json!({"in_flight": []})).await;
    assert_eq!((limited.status, limited.header("retry-after")), (429, Some("1")));
}

#[tokio::test]
async fn a_restart_keeps_tasks_and_forgets_sessions() {
    let (cloud, client) = start().await;
    let (session, connector_id) = client.register("hq-1").await;
    let ids = cloud.enqueue_many(vec![
        TaskSpec::new("uem.test", Some("maas360"), json!({})),
        TaskSpec::new("uem.test", Some("maas360"), json!({})),
    ]);
    let tasks = client.poll(&session, 1, 1000).await;
    client.complete(&session, &tasks).await;
    let leased = client.poll(&session, 1, 1000).await;
    assert_eq!(leased[0]["id"], ids[1].as_str());
    let port = cloud.addr().port();

    let restart = cloud.restart(Duration::from_millis(300));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Client::new(&cloud).try_send(Method::GET, "/admin/stats", &[], "").await
    };
    let (restarted, during) = tokio::join!(restart, probe);
    restarted.expect("listening again");
    assert!(during.is_err(), "nothing listens during the pause");
    assert_eq!(cloud.addr().port(), port);

    let client = Client::new(&cloud);
    assert_eq!(client.relay("heartbeat", &session, &json!({"in_flight": [ids[1]]})).await.status, 401);
    assert_eq!(cloud.task(&ids[0]).expect("task").state, "completed");
    let requeued = cloud.task(&ids[1]).expect("task");
    assert_eq!((requeued.state.as_str(), requeued.attempt), ("queued", 2));
    let (session, again) = client.register("hq-1").await;
    assert_eq!(again, connector_id, "the same connector run keeps its id");
    let reissued = client.poll(&session, 4, 1000).await;
    assert_eq!((reissued.len(), reissued[0]["attempt"].as_u64()), (1, Some(2)));
    let stats = cloud.stats();
    assert_eq!((stats.registrations, stats.sessions_live, stats.completed), (2, 1, 1));
}

#[test]
fn the_binary_prints_its_origin_and_writes_the_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cloud-emulator"))
        .args(["--listen", "127.0.0.1:0", "--private-ca"])
        .arg(&ca_file)
        .args(["--group", "acme=tok-1", "--group", "acme=tok-2", "--admin-token", "adm", "--session-timeout", "2s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("a line");
    let _ = child.kill();
    let _ = child.wait();
    let origin = first.trim().strip_prefix("cloud-emulator listening on https://127.0.0.1:").map(str::parse::<u16>);
    assert!(matches!(origin, Some(Ok(port)) if port > 0), "{first:?}");
    assert!(std::fs::read_to_string(&ca_file).expect("CA written").starts_with("-----BEGIN CERTIFICATE-----"));
}
