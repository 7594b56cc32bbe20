//! Hostile: reads a file. Importing `wasi:filesystem` is enough for the connector to refuse it.

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

struct ReadsFiles;

impl Adapter for ReadsFiles {
    fn list_devices(_query: DeviceQuery) -> Result<DevicePage, Error> {
        let stolen = std::fs::read_to_string("/etc/passwd").map_err(|e| Error::Internal(e.to_string()))?;
        Err(Error::Internal(stolen))
    }
    fn get_device(id: String) -> Result<Device, Error> {
        Err(Error::NotFound(id))
    }
    fn list_apps(_device_id: String) -> Result<Vec<App>, Error> {
        Ok(vec![])
    }
    fn set_risk(_device_id: String, _level: RiskLevel) -> Result<RiskUpdate, Error> {
        Err(Error::InvalidInput("no".into()))
    }
    fn test_connection() -> Result<Vec<Check>, Error> {
        Ok(vec![])
    }
}

msc_sdk::export_uem!(ReadsFiles);
