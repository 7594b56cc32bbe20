//! Tags, the risk label MTD vendors use: find, create, add/remove devices (partial failure is 200
//! with per-item faults) and read back by tag or by device.

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Params;
use crate::error::ApiError;
use crate::inventory::groups;
use crate::inventory::tags::Tag;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock, read, write};

/// `GET /API/mdm/tags/search?organizationgroupid={ogId}&name={name}`; the customer OG when no OG
/// is given. An empty result is 204.
pub fn search(tenant: &Tenant, params: &Params) -> Result<Reply, ApiError> {
    let group = params.number("organizationgroupid")?.unwrap_or(groups::TOP);
    let name = params.get("name").unwrap_or("");
    let inventory = read(&tenant.inventory);
    let items: Vec<Value> = inventory.tags.search(group, name).iter().map(|tag| tag_json(tag)).collect();
    if items.is_empty() {
        return Ok(reply::no_content());
    }
    let total = items.len();
    Ok(reply::json_of(StatusCode::OK, &json!({"Tags": items, "Page": 0, "PageSize": 500, "Total": total})))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NewTag {
    tag_name: String,
    #[serde(default = "default_kind")]
    tag_type: u32,
    location_group_id: u64,
}

fn default_kind() -> u32 {
    1
}

/// `POST /API/mdm/tags/addtag` `{"TagName","TagType":1,"LocationGroupId":ogId}` → `{"Value":newId}`.
pub fn create(tenant: &Tenant, body: &[u8]) -> Result<Reply, ApiError> {
    let tag: NewTag =
        serde_json::from_slice(body).map_err(|_| ApiError::BadRequest("The request body is invalid.".to_string()))?;
    let id = write(&tenant.inventory)
        .tags
        .create(&tag.tag_name, tag.tag_type, tag.location_group_id)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    Ok(reply::json_of(StatusCode::OK, &json!({"Value": id})))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Bulk {
    bulk_values: BulkValues,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BulkValues {
    value: Vec<String>,
}

/// `POST /API/mdm/tags/{tagId}/adddevices` or `/removedevices` with
/// `{"BulkValues":{"Value":["<numeric device id>",…]}}`.
pub fn change(tenant: &Tenant, tag: &str, body: &[u8], add: bool) -> Result<Reply, ApiError> {
    let not_found = || ApiError::NotFound("Tag not found.");
    let tag: u64 = tag.parse().map_err(|_| not_found())?;
    let bulk: Bulk =
        serde_json::from_slice(body).map_err(|_| ApiError::BadRequest("The request body is invalid.".to_string()))?;
    let mut inventory = write(&tenant.inventory);
    let scope = inventory.tags.get(tag).ok_or_else(not_found)?.group;
    let mut accepted = Vec::new();
    let mut faults = Vec::new();
    for item in &bulk.bulk_values.value {
        let device = item.trim().parse::<u64>().ok().and_then(|id| inventory.device(id));
        match device {
            None => faults.push(fault(5061, item, "Device not found.")),
            Some(device) if !groups::is_within(device.group, scope) => {
                faults.push(fault(1013, item, "Device is outside the tag's organization group."));
            }
            Some(device) => accepted.push(device.id),
        }
    }
    if let Some(tag) = inventory.tags.get_mut(tag) {
        for id in &accepted {
            if add {
                tag.devices.insert(*id);
            } else {
                tag.devices.remove(id);
            }
        }
    }
    drop(inventory);
    lock(&tenant.stats).tag_changes += accepted.len() as u64;
    let body = json!({
        "TotalItems": bulk.bulk_values.value.len(),
        "AcceptedItems": accepted.len(),
        "FailedItems": faults.len(),
        "Faults": {"Fault": faults},
    });
    Ok(reply::json_of(StatusCode::OK, &body))
}

/// `GET /API/mdm/tags/{tagId}/devices`: 204 when the tag has no devices.
pub fn devices(tenant: &Tenant, tag: &str) -> Result<Reply, ApiError> {
    let not_found = || ApiError::NotFound("Tag not found.");
    let tag: u64 = tag.parse().map_err(|_| not_found())?;
    let inventory = read(&tenant.inventory);
    let tag = inventory.tags.get(tag).ok_or_else(not_found)?;
    let items: Vec<Value> = tag
        .devices
        .iter()
        .filter_map(|id| inventory.device(*id))
        .map(|device| json!({"DeviceId": device.id, "DeviceUuid": device.uuid, "FriendlyName": device.friendly_name}))
        .collect();
    if items.is_empty() {
        return Ok(reply::no_content());
    }
    let total = items.len();
    Ok(reply::json_of(StatusCode::OK, &json!({"Device": items, "Page": 0, "PageSize": 500, "Total": total})))
}

/// `GET /API/mdm/devices/{uuid}/tags`.
pub fn of_device(tenant: &Tenant, uuid: &str) -> Result<Reply, ApiError> {
    let inventory = read(&tenant.inventory);
    let device = inventory.by_uuid(uuid).ok_or(ApiError::DeviceNotFound)?;
    let items: Vec<Value> = inventory
        .tags
        .of_device(device.id)
        .iter()
        .map(|tag| json!({"tag_id": tag.id, "name": tag.name, "tag_type": tag.kind, "location_group_id": tag.group}))
        .collect();
    Ok(reply::json_of(StatusCode::OK, &json!({"tags": items})))
}

fn tag_json(tag: &Tag) -> Value {
    json!({"Id": {"Value": tag.id}, "TagName": tag.name, "TagType": tag.kind, "LocationGroupId": tag.group})
}

fn fault(code: u32, item: &str, message: &str) -> Value {
    json!({"ErrorCode": code, "ItemValue": item, "Message": message})
}
