//! One call's sandbox: a fresh `Store` holding the call's state, its memory and table limits,
//! and its deadline. Nothing in it outlives the call; what an instance keeps between calls lives
//! in [`InstanceCapabilities`].

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::http::CallHttp;
use crate::capabilities::log::CallLog;
use crate::capabilities::{InstanceCapabilities, wasi};

/// Host handles (HTTP requests and headers, streams, connections, ...) one call may hold at once.
/// An HTTP exchange needs fewer than ten.
pub const MAX_HANDLES: usize = 1024;

/// Bytes of one HTTP header map a plugin may build or receive.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Elements a plugin's tables may grow to. Rust components need a few hundred.
pub const TABLE_ELEMENTS: usize = 20_000;

/// The data of one call's `Store`.
pub struct CallState {
    pub(crate) instance: Arc<InstanceCapabilities>,
    pub(crate) deadline: Instant,
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_hooks: CallHttp,
    pub(crate) log: Arc<CallLog>,
    pub(crate) limits: CallLimits,
    pub(crate) open_connections: usize,
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_hooks }
    }
}

/// Memory and table limits of one call, remembering whether the plugin ran into them so a
/// resulting trap can be reported as what it is.
pub struct CallLimits {
    pub memory: u64,
    /// Bytes of linear memory the call's memories hold together.
    pub memory_used: u64,
    pub memory_hit: bool,
    pub table_hit: bool,
}

impl ResourceLimiter for CallLimits {
    // The limit is for the call, not for each memory: a component may have several.
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let others = self.memory_used.saturating_sub(current as u64);
        let total = others.saturating_add(desired as u64);
        let allowed = total <= self.memory;
        if allowed {
            self.memory_used = total;
        }
        self.memory_hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= TABLE_ELEMENTS;
        self.table_hit |= !allowed;
        Ok(allowed)
    }

    // A component is a handful of core instances, tables and memories; these bound a hostile one.
    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        8
    }
}

/// The error the epoch callback raises when a call's deadline has passed.
#[derive(Debug)]
pub struct DeadlineReached;

impl std::fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline reached")
    }
}

impl std::error::Error for DeadlineReached {}

/// A fresh store for one call of `instance`, stopped at `deadline`, with `memory` bytes at most.
pub fn new_store(
    engine: &Engine,
    instance: Arc<InstanceCapabilities>,
    deadline: Instant,
    memory: u64,
) -> Store<CallState> {
    let log = Arc::new(CallLog::new(instance.name.clone(), instance.pii.clone()));
    // Host-side state a plugin can create (handles, header maps) lives outside its linear memory
    // limit; these bound it per call.
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_HANDLES);
    let mut http = WasiHttpCtx::new();
    http.set_field_size_limit(MAX_HEADER_BYTES);
    let state = CallState {
        deadline,
        table,
        wasi: wasi::call_context(&log),
        http,
        http_hooks: CallHttp::new(instance.http.clone(), deadline, log.clone()),
        log,
        limits: CallLimits { memory, memory_used: 0, memory_hit: false, table_hit: false },
        open_connections: 0,
        instance,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    // Every epoch tick, a running plugin yields to the executor, so a busy plugin never holds a
    // worker thread; once the deadline has passed, it traps instead.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|store| {
        if Instant::now() >= store.data().deadline { Err(DeadlineReached.into()) } else { Ok(UpdateDeadline::Yield(1)) }
    });
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_limit_is_for_all_memories_together() {
        let mut limits = CallLimits { memory: 100, memory_used: 0, memory_hit: false, table_hit: false };
        assert!(limits.memory_growing(0, 60, None).expect("first memory"));
        assert!(!limits.memory_growing(0, 60, None).expect("second memory"), "60 + 60 is over 100");
        assert!(limits.memory_hit);
        assert!(limits.memory_growing(0, 40, None).expect("second memory, smaller"));
        assert!(!limits.memory_growing(60, 61, None).expect("first grows"), "61 + 40 is over 100");
        assert!(limits.memory_growing(40, 40, None).expect("no growth"));
        assert_eq!(limits.memory_used, 100);
    }
}
