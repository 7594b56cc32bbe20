//! Bindings generated from `wit/`. Plugin authors use the re-exports in the crate root and the
//! world modules (`uem`, `siem`, `mail`) rather than these paths.
#![allow(missing_docs, unsafe_code, clippy::all)]

/// Runs `wit_bindgen::generate!` over the project's WIT packages, in dependency order.
macro_rules! generate_from_wit {
    ({ $($options:tt)* }) => {
        wit_bindgen::generate!({
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

/// The host imports and shared types, generated once and shared by every world below.
pub mod base {
    generate_from_wit!({
        inline: "
            package msc:sdk;
            world base {
                include msc:host/imports@1.1.0;
                import msc:types/pii@1.0.0;
                import msc:types/errors@1.0.0;
                import msc:types/self-test@1.0.0;
            }
        ",
        world: "msc:sdk/base",
        generate_all,
    });
}

/// Maps every interface shared between worlds to its one generated copy in [`base`].
macro_rules! generate_world {
    ($world:literal, $bindings:literal, $macro_name:literal $(, $iface:literal => $path:path)*) => {
        generate_from_wit!({
            world: $world,
            with: {
                "wasi:io/poll@0.2.12": crate::bindings::base::wasi::io::poll,
                "wasi:io/error@0.2.12": crate::bindings::base::wasi::io::error,
                "wasi:io/streams@0.2.12": crate::bindings::base::wasi::io::streams,
                "wasi:clocks/monotonic-clock@0.2.12": crate::bindings::base::wasi::clocks::monotonic_clock,
                "wasi:clocks/wall-clock@0.2.12": crate::bindings::base::wasi::clocks::wall_clock,
                "wasi:http/types@0.2.12": crate::bindings::base::wasi::http::types,
                "wasi:http/outgoing-handler@0.2.12": crate::bindings::base::wasi::http::outgoing_handler,
                "msc:host/log@1.1.0": crate::bindings::base::msc::host::log,
                "msc:host/config@1.1.0": crate::bindings::base::msc::host::config,
                "msc:host/secrets@1.1.0": crate::bindings::base::msc::host::secrets,
                "msc:host/kv@1.1.0": crate::bindings::base::msc::host::kv,
                "msc:host/call@1.1.0": crate::bindings::base::msc::host::call,
                "msc:host/net@1.1.0": crate::bindings::base::msc::host::net,
                "msc:types/pii@1.0.0": crate::bindings::base::msc::types::pii,
                "msc:types/errors@1.0.0": crate::bindings::base::msc::types::errors,
                $($iface: $path,)*
            },
            default_bindings_module: $bindings,
            export_macro_name: $macro_name,
            pub_export_macro: true,
        });
    };
}

pub mod uem {
    generate_world!(
        "msc:uem/uem-adapter@1.0.0",
        "msc_sdk::bindings::uem",
        "export_uem_adapter",
        "msc:types/self-test@1.0.0" => crate::bindings::base::msc::types::self_test
    );
}

pub mod siem {
    generate_world!("msc:siem/siem-formatter@1.0.0", "msc_sdk::bindings::siem", "export_siem_formatter");
}

pub mod mail {
    generate_world!(
        "msc:mail/mail-backend@1.0.0",
        "msc_sdk::bindings::mail",
        "export_mail_backend",
        "msc:types/self-test@1.0.0" => crate::bindings::base::msc::types::self_test
    );
}
