//! `connector run` answers health checks and takes tasks while its start-up self-tests are still
//! running: a UEM that never answers holds back only itself, for as long as its deadline, and not
//! the admin listener, the relay link or the other instances' self-tests.

use std::time::{Duration, Instant};

#[path = "common/relay_site.rs"]
mod relay_site;

use relay_site::{Connector, Site, admin_get, admin_get_text};

/// `instance`'s self-test as `/plugins` reports it: `null` until it has run.
async fn self_test_of(admin: &str, instance: &str) -> serde_json::Value {
    let plugins = admin_get(admin, "/plugins").await;
    let plugins = plugins.as_array().cloned().unwrap_or_default();
    plugins.into_iter().find(|p| p["instance"] == instance).map(|p| p["self_test"].clone()).unwrap_or_default()
}

/// The verdict line of `instance`'s self-test in `log`, if it has come.
fn verdict<'a>(log: &'a str, instance: &str) -> Option<&'a str> {
    let tag = format!("instance=\"{instance}\"");
    log.lines().find(|line| line.contains("self-test") && line.contains(&tag))
}

/// Waits (up to `timeout`) until `done` holds for the connector's log.
async fn wait_log(connector: &Connector, timeout: Duration, what: &str, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let log = connector.log();
        if done(&log) {
            return log;
        }
        assert!(started.elapsed() < timeout, "no {what} within {timeout:?}:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_tasks_do_not_wait_for_a_uem_that_never_answers() {
    let site = Site::start(5).await;
    // Accepts connections (the kernel completes them) and never says a word: TLS hangs.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let black_hole = format!("https://127.0.0.1:{}", black_hole.local_addr().expect("addr").port());
    let admin = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("127.0.0.1:{}", probe.local_addr().expect("addr").port())
    };
    let path = site.config("hq-1", "pii.keyring", "");
    let c = &site.maas360_config;
    let mut text = std::fs::read_to_string(&path).expect("config");
    text = text.replacen("[relay]", &format!("[admin]\nlisten = \"{admin}\"\n\n[relay]"), 1);
    text.push_str(&format!(
        r#"
[instances.a-silent-uem]
plugin = "maas360.wasm"
kind = "uem"
deadline = "20s"
ca_file = "maas360-ca.pem"

[instances.a-silent-uem.grants]
http = ["{black_hole}"]

[instances.a-silent-uem.config]
server_url = "{black_hole}"
billing_id = "{billing}"
username = "{user}"
app_id = "{app}"

[instances.a-silent-uem.secrets]
password = {{ file = "password" }}
access_key = {{ file = "access-key" }}
"#,
        billing = c.billing_id,
        user = c.username,
        app = c.app_id,
    ));
    std::fs::write(&path, text).expect("write config");
    let connector = Connector::start(&path);

    // The admin listener answers while the silent UEM's self-test (20 s deadline) is running.
    let started = Instant::now();
    let health = loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(&admin).await {
            drop(stream);
            break admin_get_text(&admin, "/healthz").await;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no admin listener:\n{}", connector.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health.0, 200, "{health:?}");
    assert!(verdict(&connector.log(), "a-silent-uem").is_none(), "the listener waited for the self-test");
    assert!(self_test_of(&admin, "a-silent-uem").await.is_null(), "a verdict before the self-test ended");

    // So does the relay link: the connector is ready and takes a task meanwhile.
    let ready = loop {
        let (status, body) = admin_get_text(&admin, "/readyz").await;
        if status == 200 {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "not ready: {body}\n{}", connector.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(ready.contains("\"ready\": true"), "{ready}");
    let id = site.cloud.enqueue(cloud_emulator::TaskSpec::new("connector.status", None, serde_json::json!({})));
    let task = loop {
        match site.cloud.task(&id) {
            Some(task) if task.state == "completed" => break task,
            _ if started.elapsed() > Duration::from_secs(60) => panic!("no answer to {id}:\n{}", connector.log()),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(task.status.as_deref(), Some("ok"), "{task:?}");
    let log = connector.log();
    assert!(verdict(&log, "a-silent-uem").is_none(), "the task was answered only after the self-test:\n{log}");

    // The other UEM's self-test does not queue behind the silent one ("a-…" sorts first).
    let log =
        wait_log(&connector, Duration::from_secs(60), "maas360 self-test", |log| verdict(log, "maas360").is_some())
            .await;
    assert!(verdict(&log, "maas360").is_some_and(|line| !line.contains("failed")), "{log}");
    assert!(verdict(&log, "a-silent-uem").is_none(), "self-tests ran one after the other:\n{log}");

    // The silent one fails at its deadline, in words, and the connector goes on serving.
    let log = wait_log(&connector, Duration::from_secs(90), "silent UEM verdict", |log| {
        log.contains("start-up checks: some instances failed")
    })
    .await;
    let line = verdict(&log, "a-silent-uem").unwrap_or_default();
    assert!(line.contains("self-test failed"), "{line}");
    assert_eq!(admin_get_text(&admin, "/healthz").await.0, 200);
    // Admins see each verdict without reading the log.
    let silent = self_test_of(&admin, "a-silent-uem").await;
    assert_eq!(silent["verdict"], "failed", "{silent}");
    assert!(silent["detail"].as_str().is_some_and(|d| d.contains("deadline of 20s")), "{silent}");
    assert_eq!(self_test_of(&admin, "maas360").await["verdict"], "passed");
}
