//! Plugins and config replaced under a running runtime, through the real file watcher: a swap
//! while two callers hammer the instance loses no call, every refusal keeps the old version
//! serving, and config changes apply whole or not at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use connector::config::Config;
use connector::plugins::watch::{self, Watching};
use connector::plugins::{PluginRuntime, PluginStatus};

mod common;

struct Site {
    dir: tempfile::TempDir,
    runtime: Arc<PluginRuntime>,
    _watching: Watching,
}

fn built(plugin: &str) -> PathBuf {
    common::plugin_dir(plugin).join(plugin)
}

const CONFIG: &str = "[connector]\nname = \"test\"\nplugin_dir = \"plugins\"\n\n\
                      [instances.adapter]\nplugin = \"adapter.wasm\"\nkind = \"uem\"\n";

impl Site {
    /// A runtime serving `test_plugin_version_a.wasm` as instance `adapter`, watched.
    async fn start() -> Site {
        Self::start_with("", |_| {}).await
    }

    /// Like [`Site::start`], with `extra` appended to the config and `prepare` run on the folder
    /// before the runtime starts.
    async fn start_with(extra: &str, prepare: impl FnOnce(&Path)) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("plugins")).expect("mkdir");
        std::fs::copy(built("test_plugin_version_a.wasm"), dir.path().join("plugins/adapter.wasm")).expect("copy");
        prepare(dir.path());
        let file = dir.path().join("connector.toml");
        std::fs::write(&file, format!("{CONFIG}{extra}")).expect("write config");
        let config = Config::load(&file).expect("config");
        let runtime = Arc::new(PluginRuntime::start(config).await.expect("runtime"));
        let watching = watch::watch(runtime.clone(), file, dir.path().join("plugins"), "test".into()).expect("watch");
        Site { dir, runtime, _watching: watching }
    }

    fn plugin(&self) -> PathBuf {
        self.dir.path().join("plugins/adapter.wasm")
    }

    /// Replaces `target` the way deploy tools do: write a temporary file, rename it over.
    fn deploy(&self, target: &Path, bytes: &[u8]) {
        let temporary = target.with_extension("tmp");
        std::fs::write(&temporary, bytes).expect("write");
        std::fs::rename(&temporary, target).expect("rename");
    }

    fn status(&self) -> PluginStatus {
        self.runtime.status().into_iter().find(|s| s.instance == "adapter").expect("status")
    }

    async fn version(&self) -> String {
        let checks = self.runtime.uem("adapter").expect("instance").test_connection().await.expect("call");
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].detail, checks[1].detail, "one call, one version");
        checks[0].detail.clone()
    }

    async fn wait_for(&self, what: &str, mut done: impl FnMut(&PluginStatus) -> bool) {
        let started = Instant::now();
        while !done(&self.status()) {
            assert!(started.elapsed() < Duration::from_secs(15), "{what}: status {:?}", self.status());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_under_two_hammering_callers_fails_no_call() {
    let site = Arc::new(Site::start().await);
    assert_eq!(site.version().await, "A");
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (site, stop) = (site.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut answered, mut failed, mut seen_b, mut a_after_b) = (0u64, 0u64, false, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    match site.runtime.uem("adapter").expect("instance").test_connection().await {
                        Ok(checks) => {
                            assert_eq!(checks[0].detail, checks[1].detail, "one call, one version");
                            match checks[0].detail.as_str() {
                                "B" => seen_b = true,
                                "A" if seen_b => a_after_b += 1,
                                "A" => {}
                                other => panic!("unknown version {other}"),
                            }
                            answered += 1;
                        }
                        Err(_) => failed += 1,
                    }
                }
                (answered, failed, seen_b, a_after_b)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let swapped_at = Instant::now();
    site.deploy(&site.plugin(), &std::fs::read(built("test_plugin_version_b.wasm")).expect("read"));
    site.wait_for("version B serving", |s| s.reloads == 1).await;
    let swap_time = swapped_at.elapsed();
    let self_test = site.status().self_test.expect("the swapped-in version's self-test is kept");
    assert_eq!(self_test.verdict, "passed", "{self_test:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        let (answered, failed, seen_b, a_after_b) = caller.await.expect("caller");
        assert_eq!(failed, 0, "no call failed during the swap");
        assert!(answered > 10 && seen_b, "the caller saw the new version ({answered} calls)");
        assert_eq!(a_after_b, 0, "a call that started after the new version answered never got the old one");
    }
    assert_eq!(site.version().await, "B");
    println!("rename to swap (watcher debounce included): {swap_time:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_version_leaves_the_old_one_serving() {
    let site = Site::start().await;
    let serving = site.status().sha256;
    let b = std::fs::read(built("test_plugin_version_b.wasm")).expect("read");
    let major_two = wat::parse_str(
        r#"(component
             (core module $m (func (export "f")))
             (core instance $i (instantiate $m))
             (func $f (canon lift (core func $i "f")))
             (instance $api (export "test-connection" (func $f)))
             (export "msc:uem/adapter@2.0.0" (instance $api)))"#,
    )
    .expect("wat");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", b[..b.len() / 2].to_vec(), "is not a valid component"),
        ("not WebAssembly", b"#!/bin/sh\necho hello\n".to_vec(), "is not a WebAssembly file"),
        ("a core module", b"\0asm\x01\0\0\0".to_vec(), "core WebAssembly module"),
        ("another world", std::fs::read(built("siem_json.wasm")).expect("read"), "is a siem plugin"),
        ("another major WIT version", major_two, "supports version 1.x"),
        ("self-test traps", std::fs::read(built("test_plugin_version_broken.wasm")).expect("read"), "self-test failed"),
    ];
    for (case, bytes, reason) in cases {
        site.deploy(&site.plugin(), &bytes);
        site.wait_for(case, |s| s.refused.as_deref().is_some_and(|r| r.contains(reason))).await;
        assert_eq!(site.status().sha256, serving, "{case}: the old version is still the one serving");
        assert_eq!(site.version().await, "A", "{case}: calls are answered by the old version");
    }
    // A config edit while a refused version sits in the file does not let it in.
    let file = site.dir.path().join("connector.toml");
    site.deploy(&file, format!("{CONFIG}# edited\n").as_bytes());
    tokio::time::sleep(Duration::from_millis(300)).await;
    site.runtime.reload_config(&file).await.expect("the edited config applies");
    assert_eq!(site.status().sha256, serving, "the refused version did not come in with the config");
    assert_eq!(site.version().await, "A");

    std::fs::remove_file(site.plugin()).expect("remove");
    site.wait_for("file missing", |s| s.file_missing).await;
    assert_eq!(site.version().await, "A", "a removed file does not stop the instance");

    site.deploy(&site.plugin(), &b);
    site.wait_for("version B serving", |s| s.reloads == 1 && s.refused.is_none() && !s.file_missing).await;
    assert_eq!(site.version().await, "B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_apply_whole_or_not_at_all() {
    let site = Site::start().await;
    let file = site.dir.path().join("connector.toml");
    std::fs::copy(built("test_plugin_version_b.wasm"), site.dir.path().join("plugins/second.wasm")).expect("copy");
    let with_second = format!("{CONFIG}\n[instances.second]\nplugin = \"second.wasm\"\nkind = \"uem\"\n");
    site.deploy(&file, with_second.as_bytes());
    let started = Instant::now();
    while site.runtime.instance("second").is_err() {
        assert!(started.elapsed() < Duration::from_secs(15), "the added instance never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let checks = site.runtime.uem("second").expect("second").test_connection().await.expect("call");
    assert_eq!(checks[0].detail, "B");

    // One bad key refuses the whole file, with its line: `second` stays, nothing half-applied.
    let broken = format!("{with_second}\n[instances.third]\nplugin = \"second.wasm\"\nkind = \"ldap\"\n");
    // Written by rename, like every file here: the watcher must never see a half-written config.
    site.deploy(&file, broken.as_bytes());
    let errors = site.runtime.reload_config(&file).await.expect_err("refused");
    assert!(errors.iter().any(|e| e.contains("connector.toml:15:8: instances.third.kind")), "{errors:?}");
    // A plugin that cannot load refuses the whole file too.
    let unloadable = format!("{with_second}\n[instances.third]\nplugin = \"second.wasm\"\nkind = \"siem\"\n");
    site.deploy(&file, unloadable.as_bytes());
    let errors = site.runtime.reload_config(&file).await.expect_err("refused");
    assert!(errors.iter().any(|e| e.contains("third") && e.contains("is a uem plugin")), "{errors:?}");
    assert!(site.runtime.instance("second").is_ok() && site.runtime.instance("third").is_err());
    assert_eq!(site.version().await, "A");

    // Dropping an instance from the config removes it; the others keep serving.
    site.deploy(&file, CONFIG.as_bytes());
    let started = Instant::now();
    while site.runtime.instance("second").is_ok() {
        assert!(started.elapsed() < Duration::from_secs(15), "the removed instance stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(site.version().await, "A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_signatures_required_only_a_version_signed_by_a_trusted_publisher_is_swapped_in() {
    use connector::plugins::signature::{SecretKey, sig_path, sign};
    let acme = SecretKey::from_seed(&[7; 32]);
    let stranger = SecretKey::from_seed(&[9; 32]);
    let extra =
        format!("\n[plugins]\nsignatures = \"require\"\n\n[plugins.trusted]\nacme = \"{}\"\n", acme.public_key());
    let site = Site::start_with(&extra, |dir| {
        let plugin = dir.join("plugins/adapter.wasm");
        let bytes = std::fs::read(&plugin).expect("read");
        std::fs::write(sig_path(&plugin), sign(&bytes, "acme", &acme)).expect("sign");
    })
    .await;
    assert_eq!(site.status().publisher.as_deref(), Some("acme"));
    let b = std::fs::read(built("test_plugin_version_b.wasm")).expect("read");

    // New bytes under the old signature: modified since signing.
    site.deploy(&site.plugin(), &b);
    site.wait_for("modified bytes", |s| {
        s.refused.as_deref().is_some_and(|r| r.contains("changed since it was signed"))
    })
    .await;
    // Signed, but by a key the config does not trust.
    site.deploy(&sig_path(&site.plugin()), sign(&b, "stranger", &stranger).as_bytes());
    site.wait_for("untrusted key", |s| s.refused.as_deref().is_some_and(|r| r.contains("stranger"))).await;
    // A trusted name with another key.
    site.deploy(&sig_path(&site.plugin()), sign(&b, "acme", &stranger).as_bytes());
    site.wait_for("key mismatch", |s| {
        s.refused.as_deref().is_some_and(|r| !r.contains("stranger") && r.contains("acme"))
    })
    .await;
    // Unsigned.
    std::fs::remove_file(sig_path(&site.plugin())).expect("remove signature");
    site.wait_for("unsigned", |s| s.refused.as_deref().is_some_and(|r| r.contains("is not signed"))).await;
    assert_eq!(site.version().await, "A", "every refusal kept version A serving");

    // Health shows the refusal while A serves.
    let (addr, admin) = connector::admin::serve(
        "127.0.0.1:0".parse().expect("addr"),
        connector::admin::Overview { runtime: site.runtime.clone(), queues: Default::default() },
    )
    .await
    .expect("admin");
    let health = get(addr, "/healthz");
    assert!(health.contains("\"degraded\"") && health.contains("refused"), "{health}");

    site.deploy(&sig_path(&site.plugin()), sign(&b, "acme", &acme).as_bytes());
    site.wait_for("signed version B", |s| s.reloads == 1 && s.refused.is_none()).await;
    assert_eq!(site.version().await, "B");
    let health = get(addr, "/healthz");
    assert!(health.contains("\"ok\""), "{health}");
    admin.abort();
}

/// A plain HTTP GET; the admin listener answers and closes.
fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}
