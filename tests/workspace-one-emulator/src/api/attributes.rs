//! `PUT` / `DELETE /API/mdm/devices/{id}/customattributes`: set or remove custom attributes,
//! `{"CustomAttributes":[{"Name","Value","ApplicationGroup"}]}`.

use serde::Deserialize;

use crate::error::ApiError;
use crate::inventory::device::Attribute;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, write};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Body {
    custom_attributes: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Item {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    application_group: Option<String>,
}

pub fn change(tenant: &Tenant, id: &str, body: &[u8], remove: bool) -> Result<Reply, ApiError> {
    let id: u64 = id.parse().map_err(|_| ApiError::DeviceNotFound)?;
    let malformed = || ApiError::BadRequest("The request body is invalid.".to_string());
    let body: Body = serde_json::from_slice(body).map_err(|_| malformed())?;
    if body.custom_attributes.is_empty() || body.custom_attributes.iter().any(|item| item.name.trim().is_empty()) {
        return Err(malformed());
    }
    if !remove && body.custom_attributes.iter().any(|item| item.value.is_none()) {
        return Err(malformed());
    }
    let mut inventory = write(&tenant.inventory);
    let device = inventory.device_mut(id).ok_or(ApiError::DeviceNotFound)?;
    for item in body.custom_attributes {
        if remove {
            device.attributes.remove(&item.name);
        } else {
            let attribute = Attribute {
                value: item.value.unwrap_or_default(),
                application_group: item.application_group.unwrap_or_default(),
            };
            device.attributes.insert(item.name, attribute);
        }
    }
    Ok(reply::no_content())
}
