//! One plugin call: instantiate from a pre-linked component, call a trivial export, drop the
//! sandbox. Three measurements in one run, on the same engine configuration (pooling allocator,
//! epoch deadlines):
//!
//! - `connector`: through the connector's runtime (admission, per-call store with every
//!   capability, deadline, limits, error classification);
//! - `raw_wasmtime`: wasmtime alone, the same component and export, a bare store, on the engine
//!   configuration the connector builds (`pooling_config`), so only the framework differs;
//! - `connector_2_callers`: the connector with two concurrent callers, time per call.
//!
//! Needs the plugins built: `scripts/build-plugins`. Run: `cargo bench -p connector --bench plugin_call`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use connector::config::{Config as ConnectorConfig, RuntimeSettings};
use connector::plugins::PluginRuntime;
use connector::plugins::bindings::uem::UemAdapterPre;
use connector::plugins::engine::pooling_config;

fn trivial_plugin() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/plugin");
    let path = dir.join("test_plugin_trivial.wasm");
    assert!(path.is_file(), "run scripts/build-plugins first");
    path
}

fn connector_runtime(tokio: &tokio::runtime::Runtime) -> (tempfile::TempDir, RuntimeSettings, PluginRuntime) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("connector.toml");
    let plugin = trivial_plugin();
    std::fs::write(
        &file,
        format!(
            "[instances.trivial]\nplugin = {:?}\nkind = \"uem\"\nmax_concurrent_calls = 32\n",
            plugin.display().to_string()
        ),
    )
    .expect("write config");
    let config = ConnectorConfig::load(&file).expect("config");
    let settings = config.runtime;
    let runtime = tokio.block_on(PluginRuntime::start(config)).expect("runtime");
    (dir, settings, runtime)
}

/// The baseline's store data: what WASI needs, nothing else.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn raw_wasmtime(settings: &RuntimeSettings) -> (Engine, UemAdapterPre<Bare>) {
    let engine = Engine::new(&pooling_config(settings)).expect("engine");
    let component = Component::from_file(&engine, trivial_plugin()).expect("component");
    let mut linker: Linker<Bare> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
    // The plugin's type-only imports (msc:types/*, msc:uem/types) are empty instances.
    for (name, _) in component.component_type().imports(&engine) {
        if name.starts_with("msc:") {
            linker.instance(name).expect("type-only import");
        }
    }
    let pre = UemAdapterPre::new(linker.instantiate_pre(&component).expect("pre")).expect("typed pre");
    (engine, pre)
}

fn bench(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let (_dir, settings, runtime) = connector_runtime(&tokio);
    let runtime = Arc::new(runtime);
    let (engine, pre) = raw_wasmtime(&settings);

    let mut group = c.benchmark_group("plugin_call");
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("connector", |b| {
        b.to_async(&tokio).iter(|| async {
            let apps = runtime.uem("trivial").expect("instance").list_apps("d").await.expect("call");
            assert!(apps.is_empty());
        })
    });

    group.bench_function("raw_wasmtime", |b| {
        b.to_async(&tokio).iter(|| async {
            let mut store = Store::new(&engine, Bare { wasi: WasiCtx::builder().build(), table: ResourceTable::new() });
            store.set_epoch_deadline(1_000_000);
            let adapter = pre.instantiate_async(&mut store).await.expect("instantiate");
            let apps = adapter.msc_uem_adapter().call_list_apps(&mut store, "d").await.expect("call").expect("ok");
            assert!(apps.is_empty());
        })
    });

    group.bench_function("connector_2_callers", |b| {
        b.to_async(&tokio).iter_custom(|iterations| {
            let runtime = runtime.clone();
            async move {
                let started = Instant::now();
                let callers: Vec<_> = (0..2)
                    .map(|caller| {
                        let runtime = runtime.clone();
                        let calls = iterations / 2 + u64::from(caller == 0) * (iterations % 2);
                        tokio::spawn(async move {
                            let uem = runtime.uem("trivial").expect("instance");
                            for _ in 0..calls {
                                uem.list_apps("d").await.expect("call");
                            }
                        })
                    })
                    .collect();
                for caller in callers {
                    caller.await.expect("join");
                }
                started.elapsed()
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
