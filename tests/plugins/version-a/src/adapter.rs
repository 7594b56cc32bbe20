// A UEM adapter that says which build it is: every answer names `VERSION`. Included by the
// `version-*` test plugins, which differ only in that constant, to test hot swaps.

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

struct Versioned;

impl Adapter for Versioned {
    fn list_devices(_query: DeviceQuery) -> Result<DevicePage, Error> {
        Ok(DevicePage { devices: vec![], next_cursor: None, total: Some(0) })
    }
    fn get_device(id: String) -> Result<Device, Error> {
        Err(Error::NotFound(id))
    }
    fn list_apps(_device_id: String) -> Result<Vec<App>, Error> {
        Ok(vec![])
    }
    fn set_risk(_device_id: String, _level: RiskLevel) -> Result<RiskUpdate, Error> {
        Err(Error::InvalidInput(format!("version {VERSION} sets no risk")))
    }
    fn test_connection() -> Result<Vec<Check>, Error> {
        if VERSION == "broken" {
            panic!("this build is broken");
        }
        // Two checks, so a caller can tell that one call was answered by one whole version.
        let check = |name: &str| Check { name: name.into(), passed: true, detail: VERSION.into() };
        Ok(vec![check("version"), check("version again")])
    }
}

msc_sdk::export_uem!(Versioned);
