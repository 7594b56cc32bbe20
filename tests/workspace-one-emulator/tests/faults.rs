//! Scripted faults and the daily quota headers, over HTTPS.

mod client;

use client::Session;

const SEARCH: &str = "/API/mdm/devices/search";

#[tokio::test]
async fn every_api_answer_carries_the_daily_quota() {
    let session = Session::start(2).await;
    let first = session.get(SEARCH).await;
    let second = session.get("/API/mdm/devices/1").await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("250000"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("249999"));
    assert_eq!(second.header("x-ratelimit-remaining"), Some("249998"), "errors count too");
    let reset: u64 = first.header("x-ratelimit-reset").and_then(|r| r.parse().ok()).expect("reset");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(reset > now + 86_000 && reset <= now + 86_400);

    session.emulator.set_quota_remaining(1);
    assert_eq!(session.get(SEARCH).await.status, 200);
    let answer = session.get(SEARCH).await;
    assert_eq!((answer.status, answer.header("x-ratelimit-remaining")), (429, Some("0")));
}

#[tokio::test]
async fn scripted_failures_and_throttling_run_out() {
    let session = Session::start(2).await;
    session.emulator.fail(2, 503);
    for _ in 0..2 {
        let answer = session.get(SEARCH).await;
        assert_eq!(answer.status, 503);
        assert!(answer.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    }
    session.emulator.throttle(1, 7);
    let answer = session.get(SEARCH).await;
    assert_eq!((answer.status, answer.header("retry-after")), (429, Some("7")));
    assert_eq!(session.get(SEARCH).await.status, 200);
    let stats = session.emulator.stats();
    assert_eq!((stats.server_errors, stats.throttled, stats.requests["devices_search"]), (2, 1, 4));
    assert_eq!(stats.basic_auth, 1, "faults answer before authentication");
}
