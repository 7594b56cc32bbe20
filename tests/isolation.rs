//! What one instance is granted is invisible to every other, even two instances of the same
//! plugin file (two MaaS360 tenants): settings, secrets, the key-value store, HTTP origins,
//! trust roots and network endpoints. And the capabilities work end to end for the instance
//! they were granted to.

use connector::plugins::worlds::{Check, Error};
use connector::plugins::{CallError, PluginRuntime};
use connector_tests::echo_server::EchoServer;
use connector_tests::http_server::HttpServer;
use connector_tests::setup::TestConfig;
use connector_tests::test_ca::TestCa;

fn probe(name: &str, extra: &str) -> String {
    format!("[instances.{name}]\nplugin = \"test_plugin_probe.wasm\"\nkind = \"uem\"\n{extra}\n\n")
}

async fn checks(runtime: &PluginRuntime, name: &str) -> Vec<Check> {
    runtime.uem(name).expect("instance").test_connection().await.expect("self-test runs")
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check `{name}` in {checks:?}"))
}

#[tokio::test]
async fn settings_secrets_and_store_stay_with_their_instance() {
    let config = TestConfig::new(&format!(
        "{}[instances.tenant-a.config]\nbilling_id = \"30012345\"\ngroups = [\"MP_Devices\"]\n\n\
         [instances.tenant-a.secrets]\npassword = {{ file = \"a-password\" }}\n\n{}",
        probe("tenant-a", ""),
        probe("tenant-b", ""),
    ));
    config.write("a-password", "alpha-secret\n");
    let runtime = config.start().await;

    let a = checks(&runtime, "tenant-a").await;
    assert_eq!(find(&a, "instance").detail, "tenant-a");
    assert_eq!(find(&a, "settings").detail, "billing_id,groups");
    assert_eq!(find(&a, "secret:password").detail, "present, 12 chars");
    assert_eq!(find(&a, "kv:marker").detail, "absent");
    // The store survives between calls (each call is a fresh sandbox)...
    assert_eq!(find(&checks(&runtime, "tenant-a").await, "kv:marker").detail, "tenant-a");

    // ...but only for its own instance: the same plugin file as tenant-b sees nothing of A's.
    let b = checks(&runtime, "tenant-b").await;
    assert_eq!(find(&b, "instance").detail, "tenant-b");
    assert_eq!(find(&b, "settings").detail, "");
    assert_eq!(find(&b, "secret:password").detail, "absent");
    assert_eq!(find(&b, "kv:marker").detail, "absent");
    assert_eq!(find(&b, "env").detail, "0");
}

#[tokio::test]
async fn risk_state_in_the_store_is_per_instance() {
    let runtime = TestConfig::new(&format!("{}{}", probe("a", ""), probe("b", ""))).start().await;
    let a = runtime.uem("a").expect("a");
    let b = runtime.uem("b").expect("b");
    use connector::plugins::worlds::uem::RiskLevel;
    assert_eq!(a.set_risk("dev-1", RiskLevel::High).await.expect("set").changed, Some(true));
    assert_eq!(a.set_risk("dev-1", RiskLevel::High).await.expect("set").changed, Some(false));
    assert_eq!(b.set_risk("dev-1", RiskLevel::High).await.expect("set").changed, Some(true), "b has its own store");
}

#[tokio::test]
async fn http_reaches_only_the_instances_own_origins() {
    let server_a = HttpServer::start(&[(
        "/devices/d1",
        200,
        r#"{"name":"Alice's iPhone","owner":"Alice","email":"alice@example.com"}"#,
    )])
    .await;
    let server_b = HttpServer::start(&[("/devices/d1", 200, r#"{"name":"B"}"#)]).await;
    let runtime = TestConfig::new(&format!(
        "{}[instances.a.grants]\nhttp = [{:?}]\n[instances.a.config]\nbase_url = {:?}\n\n\
         {}[instances.b.grants]\nhttp = [{:?}]\n[instances.b.config]\nbase_url = {:?}\n\n",
        probe("a", ""),
        server_a.origin(),
        server_a.origin(),
        probe("b", ""),
        server_b.origin(),
        server_a.origin(), // b points at a's server, which it was not granted
    ))
    .start()
    .await;

    let device = runtime.uem("a").expect("a").get_device("d1").await.expect("granted origin answers");
    assert_eq!(device.name.expect("name").value, "Alice's iPhone");
    assert_eq!(device.email.expect("email").value, "alice@example.com");
    assert_eq!(server_a.seen().len(), 1);
    assert_eq!(server_a.seen()[0].path_and_query, "/devices/d1");

    match runtime.uem("b").expect("b").get_device("d1").await {
        Err(CallError::Reported { error: Error::InvalidConfig(message), .. }) => {
            assert!(message.contains("is not granted"), "{message}")
        }
        other => panic!("b must be denied: {other:?}"),
    }
    assert_eq!(server_a.seen().len(), 1, "b's request never reached a's server");
    assert!(server_b.seen().is_empty());
}

#[tokio::test]
async fn each_instance_trusts_only_its_own_ca() {
    let ca = TestCa::new("Private MaaS360 CA");
    let server = HttpServer::start_tls(&[("/ping", 200, r#"{"pong":true}"#)], &ca).await;
    let url = format!("{}/ping", server.origin());
    let config = TestConfig::new(&format!(
        "{}ca_file = \"private-ca.pem\"\n[instances.pinned.grants]\nhttp = [{origin:?}]\n[instances.pinned.config]\nprobe_url = {url:?}\n\n\
         {}[instances.system.grants]\nhttp = [{origin:?}]\n[instances.system.config]\nprobe_url = {url:?}\n\n\
         {}ca_file = \"other-ca.pem\"\n[instances.other.grants]\nhttp = [{origin:?}]\n[instances.other.config]\nprobe_url = {url:?}\n\n",
        probe("pinned", ""),
        probe("system", ""),
        probe("other", ""),
        origin = server.origin(),
    ));
    config.write("private-ca.pem", ca.ca_pem());
    config.write("other-ca.pem", TestCa::new("Some other CA").ca_pem());
    let runtime = config.start().await;

    let pinned = find(&checks(&runtime, "pinned").await, "http").clone();
    assert!(pinned.passed, "{pinned:?}");
    assert_eq!(pinned.detail, r#"status 200: {"pong":true}"#);

    // The system trust store does not know the private CA, and another CA does not vouch for it.
    for name in ["system", "other"] {
        let check = find(&checks(&runtime, name).await, "http").clone();
        assert!(!check.passed && check.detail.starts_with("Tls("), "{name}: {check:?}");
    }
    assert_eq!(server.seen().len(), 1, "only the pinned instance completed a request");
}

#[tokio::test]
async fn network_streams_reach_granted_endpoints_with_host_side_tls() {
    let ca = TestCa::new("Private mail CA");
    let plain = EchoServer::plain().await;
    let tls = EchoServer::tls(&ca).await;
    let config = TestConfig::new(&format!(
        "{}[instances.plain.grants]\nnet = [{plain:?}]\n[instances.plain.config]\nnet_target = {plain:?}\n\n\
         {}ca_file = \"ca.pem\"\n[instances.implicit.grants]\nnet = [{tls:?}]\n[instances.implicit.config]\nnet_target = {tls:?}\nnet_tls = \"tls\"\n\n\
         {}ca_file = \"ca.pem\"\n[instances.upgrade.grants]\nnet = [{tls:?}]\n[instances.upgrade.config]\nnet_target = {tls:?}\nnet_tls = \"starttls\"\n\n\
         {}[instances.untrusting.grants]\nnet = [{tls:?}]\n[instances.untrusting.config]\nnet_target = {tls:?}\nnet_tls = \"tls\"\n\n",
        probe("plain", ""),
        probe("implicit", ""),
        probe("upgrade", ""),
        probe("untrusting", ""),
        plain = plain.target(),
        tls = tls.target(),
    ));
    config.write("ca.pem", ca.ca_pem());
    let runtime = config.start().await;

    assert_eq!(find(&checks(&runtime, "plain").await, "net").detail, "tls=false echo=ping");
    assert_eq!(find(&checks(&runtime, "implicit").await, "net").detail, "tls=true echo=ping");
    assert_eq!(find(&checks(&runtime, "upgrade").await, "net").detail, "tls=true echo=ping");
    let untrusting = find(&checks(&runtime, "untrusting").await, "net").clone();
    assert!(
        !untrusting.passed && untrusting.detail.contains("Tls(") && untrusting.detail.contains("UnknownIssuer"),
        "{untrusting:?}"
    );
}

#[tokio::test]
async fn instances_of_one_file_share_one_compilation() {
    let runtime = TestConfig::new(&format!("{}{}", probe("a", ""), probe("b", ""))).start().await;
    let a = runtime.instance("a").expect("a");
    let b = runtime.instance("b").expect("b");
    assert!(std::sync::Arc::ptr_eq(&a.plugin(), &b.plugin()), "one compiled plugin, two instances");
}
