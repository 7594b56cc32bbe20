//! The WASI interfaces a plugin gets, which are only those Rust's standard library needs to run,
//! each one empty or captured:
//!
//! - `wasi:cli/environment`: no variables, no arguments, no working directory. (std reads
//!   `RUST_BACKTRACE` when it panics, so every std component imports it.)
//! - `wasi:cli/stdout`, `stderr`: into the connector's log, via [`super::log`]; `stdin` is empty.
//! - `wasi:cli/exit`: ends the call with a typed "plugin exited" error.
//! - `wasi:io`, `wasi:clocks`, `wasi:random`: harmless, and needed by `wasi:http`.
//!
//! `wasi:filesystem` and `wasi:sockets` are never linked (see [`super::FORBIDDEN`]).

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::cli::WasiCli;
use wasmtime_wasi::clocks::WasiClocks;
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::log::{CallLog, PluginOutput};
use crate::plugins::store::CallState;

/// A fresh WASI context for one call: empty environment, output into `log`.
pub fn call_context(log: &Arc<CallLog>) -> WasiCtx {
    WasiCtx::builder()
        .stdout(PluginOutput::stdout(log.clone()))
        .stderr(PluginOutput::stderr(log.clone()))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Links the WASI subset above.
pub fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::WasiCliView as _;
    use wasmtime_wasi::clocks::WasiClocksView as _;
    use wasmtime_wasi_io::bindings::wasi::io;

    let l = linker;
    io::error::add_to_linker::<CallState, HasSelf<ResourceTable>>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<CallState, HasSelf<ResourceTable>>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<CallState, HasSelf<ResourceTable>>(l, |s| &mut s.table)?;
    clocks::wall_clock::add_to_linker::<CallState, WasiClocks>(l, CallState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<CallState, WasiClocks>(l, CallState::clocks)?;
    random::random::add_to_linker::<CallState, WasiRandom>(l, |s| s.wasi.random())?;
    random::insecure::add_to_linker::<CallState, WasiRandom>(l, |s| s.wasi.random())?;
    random::insecure_seed::add_to_linker::<CallState, WasiRandom>(l, |s| s.wasi.random())?;
    cli::exit::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::environment::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_input::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_output::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    Ok(())
}
