//! The relay API: registration, polls, leases, results, heartbeats, release, inventory, errors.

mod client;

use std::time::{Duration, Instant};

use client::{ENROLLMENT, KEYRING, line, start, start_with};
use cloud_emulator::{EmulatorConfig, TaskSpec};
use hyper::Method;
use serde_json::{Value, json};

fn spec(device: &str) -> TaskSpec {
    TaskSpec::new("uem.set-risk", Some("maas360"), json!({"device_id": device, "level": "High"}))
}

#[tokio::test]
async fn register_poll_results_round_trip() {
    let (cloud, client) = start().await;
    let answer = client.register_as(ENROLLMENT, "hq-1", KEYRING).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let registered = answer.json();
    assert_eq!(registered["group"], "default");
    assert_eq!(
        (registered["heartbeat_ms"].as_u64(), registered["session_timeout_ms"].as_u64()),
        (Some(500), Some(1500))
    );
    assert_eq!((registered["poll_wait_ms"].as_u64(), registered["max_batch"].as_u64()), (Some(20_000), Some(256)));
    let session = registered["session"].as_str().expect("session");
    let connector_id = registered["connector_id"].as_str().expect("connector_id");
    assert_eq!(cloud.keyring("default").as_deref(), Some(KEYRING));

    let ids = cloud.enqueue_many(vec![spec("A1"), spec("A2"), spec("A3")]);
    let first = client.poll(session, 2, 1000).await;
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["id"], ids[0].as_str());
    assert_eq!(first[0]["kind"], "uem.set-risk");
    assert_eq!(first[0]["instance"], "maas360");
    assert_eq!(first[0]["attempt"], 1);
    assert_eq!(first[0]["deadline_ms"], 30_000);
    assert_eq!(first[0]["payload"], json!({"device_id": "A1", "level": "High"}));
    let second = client.poll(session, 64, 1000).await;
    assert_eq!(second.len(), 1);
    assert_eq!(cloud.task(&ids[2]).expect("task").state, "leased");

    let answer = client.complete(session, &[first, second].concat()).await;
    assert_eq!(answer, json!({"accepted": ids, "duplicate": [], "unknown": []}));
    assert!(cloud.wait_completed(&ids, Duration::from_secs(1)).await);
    let view = cloud.task(&ids[1]).expect("task");
    assert_eq!((view.state.as_str(), view.status.as_deref()), ("completed", Some("ok")));
    assert_eq!(view.completed_by.as_deref(), Some(connector_id));
    assert_eq!(view.completed_by_name.as_deref(), Some("hq-1"));
    assert_eq!(view.result, Some(json!({"checks": []})));
    assert_eq!(cloud.results().len(), 3);
    let stats = cloud.stats();
    assert_eq!((stats.registrations, stats.sessions_live, stats.tasks_issued, stats.completed), (1, 1, 3, 3));

    // An empty queue answers after wait_ms.
    let started = Instant::now();
    assert!(client.poll(session, 8, 200).await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(190));
    let ended = client
        .send(
            Method::DELETE,
            "/relay/v1/session",
            &[("msc-relay-protocol", "1"), ("authorization", &format!("Bearer {session}"))],
            "",
        )
        .await;
    assert_eq!((ended.status, ended.body.as_str()), (200, "{}"));
    assert_eq!(client.relay("heartbeat", session, &json!({"in_flight": []})).await.status, 401);
}

#[tokio::test]
async fn a_waiting_poll_wakes_on_enqueue() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    let poller = {
        let client = client.clone();
        let session = session.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            (client.poll(&session, 4, 10_000).await, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let id = cloud.enqueue(spec("A1"));
    let (tasks, waited) = poller.await.expect("poller");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["id"], id.as_str());
    assert!(waited < Duration::from_secs(2), "woke after {waited:?}");
}

#[tokio::test]
async fn duplicates_and_unknown_results_are_told_apart() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    let id = cloud.enqueue(spec("A1"));
    let never_issued = cloud.enqueue(spec("A2"));
    let tasks = client.poll(&session, 1, 1000).await;
    assert_eq!(client.complete(&session, &tasks).await["accepted"], json!([id]));
    let again = client.complete(&session, &tasks).await;
    assert_eq!(again, json!({"accepted": [], "duplicate": [id], "unknown": []}));
    let strangers = json!({"results": [
        {"task": "t-nope", "attempt": 1, "status": "ok", "result": {}},
        {"task": never_issued, "attempt": 1, "status": "error",
         "error": {"code": "not-found", "message": "device pii1_abc", "retryable": false}}]});
    let answer = client.relay("results", &session, &strangers).await.json();
    assert_eq!(answer, json!({"accepted": [], "duplicate": [], "unknown": ["t-nope", never_issued]}));
    let stats = cloud.stats();
    assert_eq!((stats.completed, stats.duplicates, stats.unknown_results), (1, 1, 2));
    assert_eq!(cloud.task(&id).expect("task").duplicates, 1);
    // The never-issued task is still handed out later, once.
    assert_eq!(client.poll(&session, 5, 1000).await.len(), 1);
}

#[tokio::test]
async fn a_dead_session_loses_its_leases_to_another_connector() {
    let config = EmulatorConfig { session_timeout_ms: 300, heartbeat_ms: 100, ..EmulatorConfig::default() };
    let (cloud, client) = start_with(config).await;
    let (crashed, _) = client.register("hq-1").await;
    let (survivor, survivor_id) = client.register("hq-2").await;
    let id = cloud.enqueue(spec("A1"));
    let tasks = client.poll(&crashed, 1, 1000).await;
    assert_eq!(tasks[0]["attempt"], 1);
    // hq-2 keeps heartbeating while it waits; hq-1 went silent.
    let started = Instant::now();
    let heartbeats = {
        let client = client.clone();
        let survivor = survivor.clone();
        tokio::spawn(async move {
            loop {
                assert_eq!(client.relay("heartbeat", &survivor, &json!({"in_flight": []})).await.status, 200);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let reissued = client.poll(&survivor, 1, 3000).await;
    let failover = started.elapsed();
    heartbeats.abort();
    assert_eq!(reissued.len(), 1);
    assert_eq!((reissued[0]["id"].as_str(), reissued[0]["attempt"].as_u64()), (Some(id.as_str()), Some(2)));
    assert!(failover < Duration::from_millis(1500), "failover took {failover:?}");
    assert_eq!(client.relay("heartbeat", &crashed, &json!({"in_flight": [id]})).await.status, 401);
    client.complete(&survivor, &reissued).await;
    let view = cloud.task(&id).expect("task");
    assert_eq!((view.completed_by.as_deref(), view.attempt, view.issued), (Some(survivor_id.as_str()), 2, 2));
    let stats = cloud.stats();
    assert_eq!((stats.sessions_expired, stats.tasks_reissued, stats.leases_lost), (1, 1, 1));
}

#[tokio::test]
async fn heartbeats_cancel_tasks_completed_elsewhere() {
    let (cloud, client) = start().await;
    let (a, _) = client.register("hq-1").await;
    let (b, _) = client.register("hq-2").await;
    let id = cloud.enqueue(spec("A1"));
    let tasks = client.poll(&a, 1, 1000).await;
    assert_eq!(client.relay("heartbeat", &a, &json!({"in_flight": [id]})).await.json(), json!({"cancel": []}));
    // hq-2 posts a result for it (say it held it from an earlier lease): accepted from any session.
    assert_eq!(client.complete(&b, &tasks).await["accepted"], json!([id]));
    let answer = client.relay("heartbeat", &a, &json!({"in_flight": [id, "t-unknown"]})).await;
    assert_eq!(answer.json(), json!({"cancel": [id, "t-unknown"]}));
    assert_eq!(client.complete(&a, &tasks).await["duplicate"], json!([id]));
}

#[tokio::test]
async fn release_requeues_at_the_front_with_the_same_attempt() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    let ids = cloud.enqueue_many(vec![spec("A1"), spec("A2"), spec("A3")]);
    let tasks = client.poll(&session, 2, 1000).await;
    assert_eq!(tasks.len(), 2);
    let answer = client.relay("release", &session, &json!({"tasks": [ids[0], ids[1], "t-other"]})).await;
    assert_eq!(answer.json(), json!({"released": [ids[0], ids[1]]}));
    let again = client.poll(&session, 3, 1000).await;
    let order: Vec<&str> = again.iter().map(|t| t["id"].as_str().expect("id")).collect();
    assert_eq!(order, [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()]);
    assert!(again.iter().all(|t| t["attempt"] == 1));
    assert_eq!(cloud.stats().released, 2);
}

#[tokio::test]
async fn a_second_keyring_is_refused() {
    let (cloud, client) = start().await;
    client.register("hq-1").await;
    let answer = client.register_as(ENROLLMENT, "hq-2", "00112233445566778899aabbccddeeff").await;
    assert_eq!(answer.status, 409);
    let body = answer.json();
    assert_eq!(body["error"], "keyring-mismatch");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains(KEYRING) && message.contains("00112233445566778899aabbccddeeff"), "{message}");
    assert_eq!(cloud.stats().registrations, 1);
}

#[tokio::test]
async fn unknown_enrollment_tokens_and_sessions_get_401() {
    let (_cloud, client) = start().await;
    let answer = client.register_as("wrong-token", "hq-1", KEYRING).await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (401, Some("unauthorized")));
    let answer = client.relay("poll", "no-such-session", &json!({"credit": 1, "wait_ms": 0})).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn the_protocol_header_is_required() {
    let (_cloud, client) = start().await;
    for headers in [vec![], vec![("msc-relay-protocol", "2")]] {
        let mut headers = headers;
        headers.push(("authorization", "Bearer demo-enrollment-token"));
        let answer = client.send(Method::POST, "/relay/v1/register", &headers, "{}").await;
        assert_eq!(answer.status, 426);
        let body = answer.json();
        assert_eq!((body["error"].as_str(), &body["supported"]), (Some("unsupported-protocol"), &json!([1])));
        assert!(body["message"].is_string());
    }
    let answer = client.send(Method::POST, "/relay/v2/poll", &[("msc-relay-protocol", "2")], "{}").await;
    assert_eq!(answer.status, 426);
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let config = EmulatorConfig { max_batch: 2, ..EmulatorConfig::default() };
    let (cloud, client) = start_with(config).await;
    let (session, _) = client.register("hq-1").await;
    let cases = [
        ("poll", json!({"wait_ms": 10}), "`credit` is missing"),
        ("poll", json!({"credit": -1}), "`credit` must be a non-negative integer"),
        (
            "results",
            json!({"results": [{"task": "t-1", "attempt": 1, "status": "ok"}]}),
            "`results[0].result` is missing",
        ),
        (
            "results",
            json!({"results": [{"task": "t-1", "attempt": 1, "status": "error", "error": {"code": "x"}}]}),
            "`results[0].error.message` is missing",
        ),
        (
            "inventory",
            json!({"task": "t", "instance": "m", "seq": 0, "devices": [{"device": {}}]}),
            "`devices[0].device.id` is missing",
        ),
        ("heartbeat", json!({"in_flight": [1]}), "`in_flight[0]` must be a string"),
    ];
    for (path, body, expected) in cases {
        let answer = client.relay(path, &session, &body).await;
        assert_eq!(answer.status, 400, "{path} {body}");
        assert_eq!(
            (answer.json()["error"].as_str(), answer.json()["message"].as_str()),
            (Some("bad-request"), Some(expected))
        );
    }
    let bearer = format!("Bearer {session}");
    let headers = [("msc-relay-protocol", "1"), ("authorization", bearer.as_str())];
    let answer = client.send(Method::POST, "/relay/v1/poll", &headers, "{not json").await;
    assert!(answer.json()["message"].as_str().expect("message").starts_with("the body is not JSON"));
    let three = json!({"results": [1, 2, 3]});
    assert_eq!(client.relay("results", &session, &three).await.status, 413);
    assert_eq!(cloud.stats().bad_requests, 7);
}

#[tokio::test]
async fn inventory_batches_are_stored_once_per_seq() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    let id = cloud.enqueue(TaskSpec::new("uem.sync", Some("maas360"), json!({"apps": true})));
    client.poll(&session, 1, 1000).await;
    let batch = |seq: u64, model: &str| {
        json!({"task": id, "instance": "maas360", "seq": seq, "devices": [
            line("A1", json!("pii1_bmFtZTE"), json!("pii1_ZW1haWwx"), model),
            line("A2", json!(null), json!(null), model)]})
    };
    assert_eq!(client.relay("inventory", &session, &batch(0, "iPhone 15")).await.json(), json!({"stored": 2}));
    assert_eq!(client.relay("inventory", &session, &batch(0, "changed")).await.json(), json!({"stored": 2}));
    assert_eq!(cloud.device("maas360", "A1").expect("device").device["model"], "iPhone 15");
    assert_eq!(client.relay("inventory", &session, &batch(1, "iPhone 16")).await.json(), json!({"stored": 2}));
    let devices = cloud.devices();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].device["model"], "iPhone 16");
    assert_eq!(devices[0].apps.as_ref().map(Vec::len), Some(1));
    let stats = cloud.stats();
    assert_eq!((stats.inventory_batches, stats.inventory_duplicate_batches, stats.devices), (2, 1, 2));
    assert_eq!(stats.pii_violations, 0, "{:?}", cloud.pii_violations());
}

#[tokio::test]
async fn the_pii_guard_flags_plaintext() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    let ids = cloud.enqueue_many(vec![spec("A1"), spec("A2")]);
    let tasks = client.poll(&session, 2, 1000).await;
    let results = json!({"results": [
        {"task": tasks[0]["id"], "attempt": 1, "status": "ok",
         "result": {"device": {"id": "A1", "name": "pii1_bmFtZQ", "email": "alice@example.com"}}},
        {"task": tasks[1]["id"], "attempt": 1, "status": "error",
         "error": {"code": "not-found", "message": "no device for bob.smith@example.org", "retryable": false}}]});
    assert_eq!(client.relay("results", &session, &results).await.json()["accepted"], json!(ids));
    let bad_line = line("A3", json!("Alice's iPhone"), json!("pii1_ZW1haWwx"), "iPhone");
    let batch = json!({"task": ids[0], "instance": "maas360", "seq": 0, "devices": [bad_line]});
    client.relay("inventory", &session, &batch).await;
    let fields: Vec<(String, String)> = cloud.pii_violations().into_iter().map(|v| (v.location, v.field)).collect();
    assert_eq!(
        fields,
        [
            (format!("result of {}", ids[0]), "result.device.email".to_string()),
            (format!("error of {}", ids[1]), "error.message".to_string()),
            (format!("inventory of {} seq 0 line 0", ids[0]), "device.name".to_string()),
        ]
    );
    assert_eq!(cloud.stats().pii_violations, 3);
    // Still stored.
    assert_eq!(cloud.task(&ids[0]).expect("task").result.expect("result")["device"]["email"], "alice@example.com");
    let found =
        cloud.find_plaintext(&["ALICE@example.com".to_string(), "Alice's iPhone".to_string(), "nobody".to_string()]);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|f| f.starts_with(&format!("result of {} device.email", ids[0]))), "{found:?}");
    assert!(found.iter().any(|f| f.starts_with("device maas360/A3 name")), "{found:?}");
}

#[tokio::test]
async fn raw_frames_are_handed_out_as_they_are() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    assert_eq!(cloud.enqueue_raw("default", json!({"kind": "uem.set-risk", "payload": 7})), None);
    let tracked = cloud.enqueue_raw("default", json!({"id": "t-raw", "kind": "uem.device", "attempt": "one"}));
    assert_eq!(tracked.as_deref(), Some("t-raw"));
    let tasks = client.poll(&session, 10, 1000).await;
    assert_eq!(
        tasks,
        [json!({"kind": "uem.set-risk", "payload": 7}), json!({"id": "t-raw", "kind": "uem.device", "attempt": "one"})]
    );
    let error = json!({"results": [{"task": "t-raw", "attempt": 1, "status": "error",
        "error": {"code": "malformed-task", "message": "attempt: not a number", "retryable": false}}]});
    assert_eq!(client.relay("results", &session, &error).await.json()["accepted"], json!(["t-raw"]));
    assert_eq!(cloud.task("t-raw").expect("task").error.expect("error")["code"], "malformed-task");
}

#[tokio::test]
async fn throughput_of_poll_and_results_batches() {
    let (cloud, client) = start().await;
    let (session, _) = client.register("hq-1").await;
    const TASKS: usize = 20_000;
    let specs = (0..TASKS).map(|i| spec(&format!("D{i}"))).collect();
    let ids = cloud.enqueue_many(specs);
    let started = Instant::now();
    let mut done = 0;
    while done < TASKS {
        let tasks = client.poll(&session, 256, 1000).await;
        assert!(!tasks.is_empty());
        done += client.complete(&session, &tasks).await["accepted"].as_array().map_or(0, Vec::len);
    }
    let elapsed = started.elapsed();
    assert!(cloud.wait_completed(&ids, Duration::from_secs(1)).await);
    let rate = TASKS as f64 / elapsed.as_secs_f64();
    eprintln!("{TASKS} tasks through poll + results in {elapsed:?}: {rate:.0} tasks/s");
    assert!(rate > 2_000.0, "{rate:.0} tasks/s");
    let _: Value = json!(null);
}
