//! The sandbox against hostile plugins: each attack is stopped with the right typed error naming
//! the instance, within its deadline or limit, and the connector and every other instance keep
//! serving while it happens. Each test would fail if the sandbox were loosened (a longer
//! deadline, a bigger memory limit, the host's environment, a linked filesystem or socket API).

use std::time::{Duration, Instant};

use connector::plugins::worlds::Error;
use connector::plugins::worlds::uem::DeviceQuery;
use connector::plugins::{CallError, LoadError, PluginFault, PluginRuntime, RuntimeError};
use connector_tests::echo_server::EchoServer;
use connector_tests::http_server::HttpServer;
use connector_tests::logs;
use connector_tests::setup::TestConfig;

/// An instance of the hostile plugin in `mode`, with `extra` TOML lines in its config table.
fn hostile(name: &str, mode: &str, limits: &str, extra: &str) -> String {
    format!(
        "[instances.{name}]\nplugin = \"test_plugin_hostile.wasm\"\nkind = \"uem\"\n{limits}\n\n\
         [instances.{name}.config]\nmode = \"{mode}\"\n{extra}\n\n"
    )
}

async fn start(instances: &str) -> PluginRuntime {
    TestConfig::new(instances).start().await
}

/// Calls the instance and returns the sandbox's verdict; panics if the plugin was not stopped.
async fn fault_of(runtime: &PluginRuntime, name: &str) -> PluginFault {
    match runtime.uem(name).expect("instance").test_connection().await {
        Err(CallError::Sandbox(error)) => {
            assert_eq!(error.instance.as_str(), name);
            assert!(error.to_string().contains(&format!("plugin instance `{name}`")), "{error}");
            error.fault
        }
        other => panic!("{name}: expected the sandbox to stop the call, got {other:?}"),
    }
}

/// What the hostile plugin reported it observed (it returns `Error::Internal("observed: ...")`).
async fn observed(runtime: &PluginRuntime, name: &str) -> String {
    match runtime.uem(name).expect("instance").test_connection().await {
        Err(CallError::Reported { error: Error::Internal(message), .. }) => {
            message.strip_prefix("observed: ").unwrap_or(&message).to_string()
        }
        other => panic!("{name}: expected an observation, got {other:?}"),
    }
}

fn query() -> DeviceQuery {
    DeviceQuery { cursor: None, page_size: 10, groups: vec![], changed_since_ms: None }
}

#[tokio::test]
async fn endless_loop_is_stopped_at_its_deadline() {
    let runtime = start(&hostile("spin", "loop", "deadline = \"300ms\"", "")).await;
    let started = Instant::now();
    let fault = fault_of(&runtime, "spin").await;
    assert_eq!(fault, PluginFault::DeadlineExceeded(Duration::from_millis(300)));
    // Stopped at the deadline, not let run: a loosened deadline would fail this.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_shorter_caller_deadline_wins() {
    let runtime = start(&hostile("spin", "loop", "deadline = \"60s\"", "")).await;
    let started = Instant::now();
    let uem = runtime.uem("spin").expect("instance").with_deadline(Instant::now() + Duration::from_millis(200));
    match uem.list_devices(&query()).await {
        Err(CallError::Sandbox(e)) => {
            assert!(matches!(e.fault, PluginFault::DeadlineExceeded(_)), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn blocking_host_call_is_stopped_at_its_deadline() {
    // The plugin waits an hour inside a host call, where epochs cannot interrupt it.
    let runtime = start(&hostile("sleeper", "sleep", "deadline = \"300ms\"", "")).await;
    let started = Instant::now();
    assert_eq!(fault_of(&runtime, "sleeper").await, PluginFault::DeadlineExceeded(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_limit() {
    let runtime = start(&hostile("hog", "alloc", "memory = \"16MiB\"", "")).await;
    assert_eq!(fault_of(&runtime, "hog").await, PluginFault::MemoryLimit { limit: 16 * 1024 * 1024 });
}

#[tokio::test]
async fn panic_is_a_trap_carrying_the_panic_message() {
    let runtime = start(&hostile("panicky", "panic", "", "")).await;
    match fault_of(&runtime, "panicky").await {
        PluginFault::Trapped { reason } => {
            assert!(reason.contains("unreachable"), "{reason}");
            assert!(reason.contains("hostile plugin panicked on purpose"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unreachable_and_stack_overflow_are_traps() {
    let runtime = start(&format!("{}{}", hostile("trapper", "trap", "", ""), hostile("deep", "stack", "", ""))).await;
    assert!(
        matches!(fault_of(&runtime, "trapper").await, PluginFault::Trapped { reason } if reason.contains("unreachable"))
    );
    // Rust keeps its locals on a shadow stack in linear memory: unbounded recursion runs off the
    // bottom of memory (out of bounds) before it exhausts the wasm call stack.
    let deep = fault_of(&runtime, "deep").await;
    assert!(
        matches!(&deep, PluginFault::Trapped { reason } if reason.contains("stack") || reason.contains("out of bounds memory")),
        "{deep:?}"
    );
}

#[tokio::test]
async fn exit_is_reported_not_obeyed() {
    // The plugin calls exit(3); WASI 0.2's exit carries only success or failure, so it is 1.
    let runtime = start(&hostile("quitter", "exit", "", "")).await;
    assert_eq!(fault_of(&runtime, "quitter").await, PluginFault::Exited(1));
    // The connector is still here and the instance still answers (with the same verdict).
    assert_eq!(fault_of(&runtime, "quitter").await, PluginFault::Exited(1));
}

#[tokio::test]
async fn ungranted_http_is_denied_before_any_byte_is_sent() {
    let server = HttpServer::start(&[("/", 200, "{}")]).await;
    let other = HttpServer::start(&[("/", 200, "{}")]).await;
    let url = format!("{}/secret?email=alice@example.com", server.origin());
    let instances = format!(
        "{}[instances.curious.grants]\nhttp = [{:?}]\n",
        hostile("curious", "http", "", &format!("url = {url:?}")),
        other.origin()
    );
    let runtime = start(&instances).await;
    let seen = observed(&runtime, "curious").await;
    assert!(seen.starts_with("error: Denied"), "{seen}");
    assert!(server.seen().is_empty(), "the ungranted server was reached: {:?}", server.seen());
}

#[tokio::test]
async fn a_forged_host_header_cannot_redirect_a_granted_request() {
    let server = HttpServer::start(&[("/", 200, r#"{"ok":true}"#)]).await;
    let config = format!("url = {:?}\nforged_host = \"evil.example\"", format!("{}/", server.origin()));
    let instances = format!(
        "{}[instances.forger.grants]\nhttp = [{:?}]\n",
        hostile("forger", "host-header", "", &config),
        server.origin()
    );
    let runtime = start(&instances).await;
    let seen = observed(&runtime, "forger").await;
    // `Host` is a forbidden header: setting it fails, and nothing carrying it went out.
    assert!(seen.contains("refused") && seen.contains("Forbidden"), "{seen}");
    assert!(server.seen().iter().all(|s| s.host.as_deref() != Some("evil.example")), "{:?}", server.seen());
}

#[tokio::test]
async fn ungranted_network_stream_is_denied() {
    let echo = EchoServer::plain().await;
    let runtime = start(&hostile("dialer", "net", "", &format!("target = {:?}", echo.target()))).await;
    let seen = observed(&runtime, "dialer").await;
    assert!(seen.contains("Denied(") && seen.contains("is not granted to instance dialer"), "{seen}");
    assert_eq!(echo.accepted(), 0, "the ungranted endpoint was reached");
}

#[tokio::test]
async fn environment_and_arguments_are_empty() {
    let runtime = start(&hostile("snoop", "env", "", "")).await;
    let seen = observed(&runtime, "snoop").await;
    // The test process has PATH, HOME, CARGO_* ...; none of it may reach a plugin.
    assert!(std::env::vars().count() > 0);
    assert_eq!(seen, "env [] args []");
}

#[tokio::test]
async fn filesystem_and_socket_plugins_are_refused_at_load() {
    let config = TestConfig::new(
        "[instances.reader]\nplugin = \"test_plugin_hostile_fs.wasm\"\nkind = \"uem\"\n\n\
         [instances.dialer]\nplugin = \"test_plugin_hostile_socket.wasm\"\nkind = \"uem\"\n",
    );
    let Err(RuntimeError::Instances(failures)) = config.try_start().await else {
        panic!("both plugins must be refused");
    };
    let find = |name: &str| failures.iter().find(|(n, _)| n.as_str() == name).map(|(_, e)| e.clone());
    let Some(LoadError::Imports { problems, .. }) = find("reader") else { panic!("{failures:?}") };
    assert!(problems.iter().any(|p| p.to_string().contains("wasi:filesystem/preopens")), "{problems:?}");
    assert!(
        problems.iter().all(|p| p.to_string().contains("wasi:filesystem")),
        "only the filesystem is refused: {problems:?}"
    );
    let Some(LoadError::Imports { problems, .. }) = find("dialer") else { panic!("{failures:?}") };
    assert!(problems.iter().any(|p| p.to_string().contains("wasi:sockets/tcp")), "{problems:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn log_flood_is_capped_and_lines_are_attributed() {
    let (captured, _guard) = logs::capture();
    let runtime = start(&hostile("chatty", "log-flood", "", "")).await;
    assert_eq!(observed(&runtime, "chatty").await, "flooded");
    let text = captured.text();
    let lines = text.lines().filter(|l| l.contains("flood line")).count();
    assert_eq!(lines, connector::capabilities::log::MAX_LINES_PER_CALL as usize);
    assert!(text.contains("dropping the rest"), "the drop is announced");
    assert!(text.lines().filter(|l| l.contains("flood line")).all(|l| l.contains("instance=\"chatty\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_instances_keep_serving_while_hostile_ones_run() {
    let instances = format!(
        "{}{}{}[instances.probe]\nplugin = \"test_plugin_probe.wasm\"\nkind = \"uem\"\n",
        hostile("spin", "loop", "deadline = \"4s\"", ""),
        hostile("hog", "alloc", "deadline = \"4s\"\nmemory = \"64MiB\"", ""),
        hostile("sleeper", "sleep", "deadline = \"4s\"", ""),
    );
    let runtime = std::sync::Arc::new(start(&instances).await);

    // More spinning calls than worker threads: without yielding at each epoch tick they would
    // starve everything else.
    let mut attackers = Vec::new();
    for name in ["spin", "spin", "spin", "hog", "sleeper"] {
        let runtime = runtime.clone();
        attackers.push(tokio::spawn(async move { runtime.uem(name).expect("instance").test_connection().await }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let probe = runtime.uem("probe").expect("instance");
    for _ in 0..50 {
        let page = probe.list_devices(&query()).await.expect("probe keeps answering");
        assert_eq!(page.devices.len(), 3);
    }
    assert!(
        attackers.iter().filter(|a| !a.is_finished()).count() >= 3,
        "the probe's 50 calls finished while the attackers were still running"
    );

    for attacker in attackers {
        match attacker.await.expect("join") {
            Err(CallError::Sandbox(e)) => {
                assert!(matches!(e.fault, PluginFault::DeadlineExceeded(_) | PluginFault::MemoryLimit { .. }), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }
    // And afterwards the hostile instances still answer (with their verdicts) and the probe too.
    assert!(probe.list_devices(&query()).await.is_ok());
}
