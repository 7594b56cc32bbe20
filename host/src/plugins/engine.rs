//! The one WebAssembly engine of the connector: its configuration, the pool of sandboxes, the
//! clock that enforces deadlines, and the linker holding every capability.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::error::RuntimeError;
use super::store::{CallState, TABLE_ELEMENTS};
use crate::capabilities;
use crate::config::RuntimeSettings;

/// How often the epoch advances. A running plugin yields to the executor at each tick and is
/// stopped at the first tick past its deadline, so this is the deadline's precision.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Core instances, memories and tables one component may use in the pool. A Rust component built
/// for wasm32-wasip2 has a few core instances, one memory and a few tables.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 8;

/// How much of a returned sandbox's memory (its dirty pages) and tables is reset in place rather
/// than given back to the kernel (see [`pool`]); the rest is released. Bounds what an unused warm
/// pool slot keeps resident.
const MEMORY_KEEP_RESIDENT: usize = 1 << 20;
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// How the engine allocates sandboxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// Pre-reserved slots: instantiation in microseconds.
    Pooling,
    /// Fallback when the pool's address space cannot be reserved (e.g. under `ulimit -v`).
    OnDemand,
}

pub struct PluginEngine {
    engine: Engine,
    linker: Linker<CallState>,
    /// One permit per pool slot: a call waits here rather than failing on an exhausted pool.
    admission: Arc<Semaphore>,
    allocation: Allocation,
    settings: RuntimeSettings,
}

impl PluginEngine {
    pub fn new(settings: RuntimeSettings) -> Result<Self, RuntimeError> {
        let mut config = pooling_config(&settings);
        let (engine, allocation) = match Engine::new(&config) {
            Ok(engine) => (engine, Allocation::Pooling),
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot reserve the plugin sandbox pool; falling back to on-demand allocation (each plugin call will start slower)"
                );
                config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                (Engine::new(&config).map_err(|e| RuntimeError::Engine(e.to_string()))?, Allocation::OnDemand)
            }
        };
        start_epoch_clock(&engine)
            .map_err(|e| RuntimeError::Engine(format!("cannot start the deadline clock: {e}")))?;
        let mut linker = Linker::new(&engine);
        capabilities::link(&mut linker).map_err(|e| RuntimeError::Engine(format!("linking capabilities: {e:#}")))?;
        let permits = settings.max_concurrent_calls as usize;
        Ok(Self { engine, linker, admission: Arc::new(Semaphore::new(permits)), allocation, settings })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<CallState> {
        &self.linker
    }

    pub fn admission(&self) -> &Arc<Semaphore> {
        &self.admission
    }

    pub fn allocation(&self) -> Allocation {
        self.allocation
    }

    pub fn settings(&self) -> RuntimeSettings {
        self.settings
    }
}

/// The engine configuration with the sandbox pool sized for `settings`. Public so that the
/// benchmark's raw-wasmtime baseline runs on exactly this configuration.
pub fn pooling_config(settings: &RuntimeSettings) -> Config {
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(settings)));
    config
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.parallel_compilation(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    config
}

fn pool(settings: &RuntimeSettings) -> PoolingAllocationConfig {
    let slots = settings.max_concurrent_calls;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .total_stacks(slots)
        .max_memory_size(usize::try_from(settings.max_memory).unwrap_or(usize::MAX));
    // A returned slot must look fresh to the next call. By default wasmtime `madvise`s a used
    // memory and tables away: a syscall with a TLB shootdown on every core, then a page fault for
    // each page the next call touches, over half the cost of a small call. Instead, tables (a
    // page or two) are zeroed in place, and with `PAGEMAP_SCAN` (Linux 6.7+) wasmtime finds the
    // memory pages the call wrote and restores just those (initial image or zeros): the next call
    // sees the same contents either way. Without it, keeping memory resident would mean
    // `memset`ting it whole on every call, so memory keeps the default.
    pool.table_keep_resident(TABLE_KEEP_RESIDENT);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes).linear_memory_keep_resident(MEMORY_KEEP_RESIDENT);
    }
    pool
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_clock(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new().name("plugin-epoch".into()).spawn(move || {
        loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use wasmtime::Store;
    use wasmtime::component::{Component, Linker};

    use super::*;

    /// Each call writes to its initial data, to a zeroed page and to a page it grows; a reused
    /// pool slot must still start the next call from the initial image.
    const DIRTYING: &str = r#"
        (component
          (core module $m
            (memory (export "memory") 2)
            (data (i32.const 8) "\2a")
            (func (export "run") (result i32)
              (local $seen i32)
              (local.set $seen (i32.add (i32.load8_u (i32.const 8)) (i32.load8_u (i32.const 65636))))
              (i32.store8 (i32.const 8) (i32.const 7))
              (i32.store8 (i32.const 65636) (i32.const 9))
              (drop (memory.grow (i32.const 1)))
              (local.set $seen (i32.add (local.get $seen) (i32.load8_u (i32.const 131172))))
              (i32.store8 (i32.const 131172) (i32.const 5))
              (local.get $seen)))
          (core instance $i (instantiate $m))
          (func (export "run") (result u32) (canon lift (core func $i "run"))))
    "#;

    #[test]
    fn reused_slots_start_from_the_initial_memory() {
        let engine = Engine::new(&pooling_config(&RuntimeSettings::default())).expect("engine");
        let component = Component::new(&engine, DIRTYING).expect("component");
        let pre = Linker::<()>::new(&engine).instantiate_pre(&component).expect("pre");
        for call in 0..20 {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(u64::MAX);
            let instance = pre.instantiate(&mut store).expect("instantiate");
            let run = instance.get_typed_func::<(), (u32,)>(&mut store, "run").expect("run");
            let (seen,) = run.call(&mut store, ()).expect("call");
            assert_eq!(seen, 42, "call {call} saw memory left by an earlier call");
        }
    }
}
