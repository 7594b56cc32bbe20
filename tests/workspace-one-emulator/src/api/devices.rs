//! One device: by numeric id in the path, or by an alternate id (`searchby` + `id`).

use hyper::StatusCode;

use super::Params;
use crate::error::ApiError;
use crate::inventory::device::Device;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, read};

/// `GET /API/mdm/devices/{id}`.
pub fn by_id(tenant: &Tenant, version: u32, id: &str) -> Result<Reply, ApiError> {
    let id: u64 = id.parse().map_err(|_| ApiError::DeviceNotFound)?;
    let inventory = read(&tenant.inventory);
    let device = inventory.device(id).ok_or(ApiError::DeviceNotFound)?;
    Ok(reply::json_of(StatusCode::OK, &device.to_json(version)))
}

/// `GET /API/mdm/devices?searchby=Serialnumber|Udid|Macaddress|ImeiNumber|EasId&id=…`.
pub fn by_alternate_id(tenant: &Tenant, version: u32, params: &Params) -> Result<Reply, ApiError> {
    let field: fn(&Device) -> &str = match params.get("searchby").map(str::to_ascii_lowercase).as_deref() {
        Some("serialnumber") => |d| &d.serial,
        Some("udid") => |d| &d.udid,
        Some("macaddress") => |d| &d.mac,
        Some("imeinumber") => |d| &d.imei,
        Some("easid") => |d| &d.eas_id,
        _ => return Err(ApiError::BadRequest("Invalid value for searchby.".to_string())),
    };
    let wanted = params.get("id").ok_or_else(|| ApiError::BadRequest("id is required.".to_string()))?;
    let inventory = read(&tenant.inventory);
    let device = inventory
        .devices
        .iter()
        .find(|device| !field(device).is_empty() && field(device).eq_ignore_ascii_case(wanted))
        .ok_or(ApiError::DeviceNotFound)?;
    Ok(reply::json_of(StatusCode::OK, &device.to_json(version)))
}
