//! The one WebAssembly engine of the connector: its configuration, the pool of sandboxes, the
//! clock that enforces deadlines, and the linker holding every capability.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

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
        let mut config = base_config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(&settings)));
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
        start_epoch_clock(&engine).map_err(|e| RuntimeError::Engine(format!("cannot start the deadline clock: {e}")))?;
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
