//! Installed apps of one device: v1 by numeric id (`DeviceApps`, 204 when empty) and the newer
//! search by UUID (`app_items`, 200 even past the last page).

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Page, Params};
use crate::error::ApiError;
use crate::inventory::device::Device;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock, read};

/// `GET /API/mdm/devices/{id}/apps?page&pagesize`.
pub fn v1(tenant: &Tenant, id: &str, params: &Params) -> Result<Reply, ApiError> {
    let page = Page::parse(params, "page", "pagesize", &mut lock(&tenant.stats))?;
    let id: u64 = id.parse().map_err(|_| ApiError::DeviceNotFound)?;
    let inventory = read(&tenant.inventory);
    let device = inventory.device(id).ok_or(ApiError::DeviceNotFound)?;
    let items: Vec<Value> = page.of(&device.apps).iter().map(Device::app_v1).collect();
    if items.is_empty() {
        return Ok(reply::no_content());
    }
    let body = json!({"DeviceApps": items, "Page": page.page, "PageSize": page.size, "Total": device.apps.len()});
    Ok(reply::json_of(StatusCode::OK, &body))
}

/// `GET /API/mdm/devices/{uuid}/apps/search?page&pagesize`.
pub fn search(tenant: &Tenant, uuid: &str, params: &Params) -> Result<Reply, ApiError> {
    let page = Page::parse(params, "page", "pagesize", &mut lock(&tenant.stats))?;
    let inventory = read(&tenant.inventory);
    let empty = || reply::json_of(StatusCode::OK, &json!({"app_items": [], "TotalResults": 0}));
    // The known bug: a numeric id instead of the UUID finds no apps rather than an error.
    if uuid.parse::<u64>().is_ok() {
        return Ok(empty());
    }
    let device = inventory.by_uuid(uuid).ok_or(ApiError::DeviceNotFound)?;
    let items: Vec<Value> = page.of(&device.apps).iter().map(Device::app_item).collect();
    Ok(reply::json_of(StatusCode::OK, &json!({"app_items": items, "TotalResults": device.apps.len()})))
}
