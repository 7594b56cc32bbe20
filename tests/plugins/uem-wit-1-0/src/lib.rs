//! A UEM adapter as a plugin author had to write it against `msc:host@1.0.0`: bindings generated
//! straight from the frozen WIT in `wit/compat/1.0/`, not through `msc-sdk` (which follows the
//! current minor). `tests/wit_evolution.rs` loads it in the current connector.
//!
//! It serves one device whose id comes from the `device` setting, logs a line through
//! `msc:host/log@1.0.0` on every listing, and reports that setting in its self-test.

wit_bindgen::generate!({
    path: [
        "../../../wit/compat/1.0/deps/io.wit",
        "../../../wit/compat/1.0/deps/clocks.wit",
        "../../../wit/compat/1.0/deps/random.wit",
        "../../../wit/compat/1.0/deps/filesystem.wit",
        "../../../wit/compat/1.0/deps/sockets.wit",
        "../../../wit/compat/1.0/deps/cli.wit",
        "../../../wit/compat/1.0/deps/http.wit",
        "../../../wit/compat/1.0/types.wit",
        "../../../wit/compat/1.0/host.wit",
        "../../../wit/compat/1.0/uem.wit",
    ],
    world: "msc:uem/uem-adapter@1.0.0",
    generate_all,
});

use exports::msc::uem::adapter::Guest;
use msc::host::{config, log};
use msc::types::errors::Error;
use msc::types::pii::{Pii, PiiKind};
use msc::types::self_test::Check;
use msc::uem::types::{App, Device, DevicePage, DeviceQuery, DeviceStatus, Ownership, Platform, RiskLevel, RiskUpdate};

struct Adapter;

/// The one device's id, from the `device` setting.
fn device_id() -> Result<String, Error> {
    config::get("device").ok_or_else(|| Error::InvalidConfig("the `device` setting is missing".into()))
}

fn device(id: String) -> Device {
    Device {
        name: Some(Pii { kind: PiiKind::DeviceName, value: format!("Phone {id}") }),
        id,
        owner: None,
        user_name: None,
        email: None,
        phone: None,
        platform: Platform::Android,
        os_name: Some("Android".into()),
        os_version: None,
        manufacturer: None,
        model: None,
        ownership: Ownership::Corporate,
        status: DeviceStatus::Active,
        serial_number: None,
        imei: None,
        udid: None,
        wifi_mac: None,
        last_seen_ms: None,
        enrolled_ms: None,
        managed: Some(true),
        compliant: None,
        compromised: None,
        encrypted: None,
        supervised: None,
        groups: vec![],
        attributes: vec![],
    }
}

impl Guest for Adapter {
    fn list_devices(_query: DeviceQuery) -> Result<DevicePage, Error> {
        let id = device_id()?;
        log::log(log::Level::Info, &format!("wit 1.0 adapter listing {id}"));
        Ok(DevicePage { devices: vec![device(id)], next_cursor: None, total: Some(1) })
    }

    fn get_device(id: String) -> Result<Device, Error> {
        if id == device_id()? { Ok(device(id)) } else { Err(Error::NotFound(id)) }
    }

    fn list_apps(_device_id: String) -> Result<Vec<App>, Error> {
        Ok(vec![])
    }

    fn set_risk(_device_id: String, _level: RiskLevel) -> Result<RiskUpdate, Error> {
        Err(Error::InvalidInput("risk levels are not supported".into()))
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        let configured = config::get("device");
        Ok(vec![Check {
            name: "device setting".into(),
            passed: configured.is_some(),
            detail: configured.map_or_else(|| "missing".into(), |id| format!("device {id}")),
        }])
    }
}

export!(Adapter);
