//! Host-side bindings generated from `wit/`: the host imports every plugin may use (implemented
//! under `crate::capabilities`) and the exports of the three plugin worlds.
#![allow(unsafe_code, missing_docs, clippy::all)]

/// Runs `wasmtime::component::bindgen!` over the project's WIT packages, in dependency order.
macro_rules! bindgen_from_wit {
    ({ $($options:tt)* }) => {
        wasmtime::component::bindgen!({
            path: [
                "../wit/deps/io.wit",
                "../wit/deps/clocks.wit",
                "../wit/deps/random.wit",
                "../wit/deps/filesystem.wit",
                "../wit/deps/sockets.wit",
                "../wit/deps/cli.wit",
                "../wit/deps/http.wit",
                "../wit/types.wit",
                "../wit/host.wit",
                "../wit/uem.wit",
                "../wit/siem.wit",
                "../wit/mail.wit",
            ],
            $($options)*
        });
    };
}

/// `msc:host` (the capabilities) and `msc:types`, generated once and shared by the worlds.
pub mod host {
    bindgen_from_wit!({
        inline: "
            package msc:connector;
            world host {
                include msc:host/imports@1.1.0;
                import msc:types/pii@1.0.0;
                import msc:types/errors@1.0.0;
                import msc:types/self-test@1.0.0;
            }
        ",
        world: "msc:connector/host",
        additional_derives: [serde::Serialize, serde::Deserialize],
        imports: {
            "msc:host/net": async | trappable,
            default: trappable,
        },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "msc:host/net.connection": crate::capabilities::net::Connection,
        },
    });
}

/// Generates the export bindings of one plugin world, reusing [`host`] for everything shared.
macro_rules! bindgen_world {
    ($world:literal) => {
        bindgen_from_wit!({
            world: $world,
            exports: { default: async },
            // The relay protocol carries these records as JSON (docs/relay-protocol.md).
            additional_derives: [serde::Serialize, serde::Deserialize],
            with: {
                "wasi:io": wasmtime_wasi::p2::bindings::io,
                "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
                "wasi:http": wasmtime_wasi_http::p2::bindings::http,
                "msc:host": crate::plugins::bindings::host::msc::host,
                "msc:types": crate::plugins::bindings::host::msc::types,
            },
        });
    };
}

pub mod uem {
    bindgen_world!("msc:uem/uem-adapter@1.0.0");
}

pub mod siem {
    bindgen_world!("msc:siem/siem-formatter@1.0.0");
}

pub mod mail {
    bindgen_world!("msc:mail/mail-backend@1.0.0");
}
