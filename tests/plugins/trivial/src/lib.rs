//! The smallest UEM adapter: every export returns at once. Used to measure the cost of a plugin
//! call itself.

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

struct Trivial;

impl Adapter for Trivial {
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
        Err(Error::InvalidInput("not supported".into()))
    }
    fn test_connection() -> Result<Vec<Check>, Error> {
        Ok(vec![])
    }
}

msc_sdk::export_uem!(Trivial);
