//! Custom attributes: setting a device's value (the mitigation label), reading a device's values
//! back, and defining new attributes.

use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderMap};
use serde::Serialize;
use serde_json::Value;

use super::Params;
use crate::inventory::attributes::{DefineError, Kind, SetError, has_forbidden_characters};
use crate::quirks::{Listed, listed};
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock, read, write};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionReply<'a> {
    action_response: ActionResponse<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionResponse<'a> {
    action_status: u8,
    description: &'a str,
    #[serde(rename = "maas360DeviceID")]
    maas360_device_id: &'a str,
}

/// `POST /device-apis/devices/1.0/setCustomAttributeValue/…`, a form with `deviceId`,
/// `attributeName`, `attributeValue`. Refusals are HTTP 200 with `actionStatus` 1.
pub fn set_value(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Reply {
    lock(&tenant.stats).set_attribute += 1;
    if !content_type_is(headers, "application/x-www-form-urlencoded") {
        return reply::empty(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let form = Params::parse(body);
    let (Some(device_id), Some(name), Some(value)) =
        (form.non_empty("deviceId"), form.non_empty("attributeName"), form.get("attributeValue"))
    else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let outcome = {
        let mut store = write(&tenant.store);
        if store.device(device_id).is_none() {
            Err(SetError::DeviceNotFound)
        } else {
            store.attributes.set(device_id, name, value)
        }
    };
    let description = match &outcome {
        Ok(()) => "Custom attribute value set successfully".to_string(),
        Err(error) => error.description(),
    };
    let action_response = ActionResponse {
        action_status: u8::from(outcome.is_err()),
        description: &description,
        maas360_device_id: device_id,
    };
    reply::json_of(StatusCode::OK, &ActionReply { action_response })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityReply {
    device_identity: DeviceIdentity,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceIdentity {
    #[serde(rename = "maas360DeviceID")]
    maas360_device_id: String,
    device_name: String,
    custom_attributes: CustomAttributes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_attribute: Option<Listed<CustomAttribute>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomAttribute {
    custom_attribute_name: String,
    custom_attribute_value: String,
}

/// `GET /device-apis/devices/1.0/identity/…?deviceId=`: one entry per defined attribute.
pub fn identity(tenant: &Tenant, params: &Params) -> Reply {
    let Some(id) = params.non_empty("deviceId") else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let store = read(&tenant.store);
    let Some(device) = store.device(id) else {
        return reply::not_found("Device not found");
    };
    let attributes = store
        .attributes
        .of_device(id)
        .into_iter()
        .map(|(name, value)| CustomAttribute { custom_attribute_name: name, custom_attribute_value: value })
        .collect();
    let device_identity = DeviceIdentity {
        maas360_device_id: device.id.clone(),
        device_name: device.name.clone(),
        custom_attributes: CustomAttributes { custom_attribute: listed(attributes, tenant.config.quirks) },
    };
    reply::json_of(StatusCode::OK, &IdentityReply { device_identity })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DefineReply {
    response_code: u8,
    description: &'static str,
}

/// `POST /device-apis/devices/2.0/customAttributes/customer/…`, JSON `{"name","type"}`.
pub fn define(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Reply {
    if !content_type_is(headers, "application/json") {
        return reply::empty(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let request: Option<(String, String)> = serde_json::from_slice::<Value>(body).ok().and_then(|json| {
        let text = |key: &str| json.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        Some((text("name")?, text("type")?))
    });
    let Some((name, kind)) = request else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let answer =
        |status, response_code, description| reply::json_of(status, &DefineReply { response_code, description });
    if has_forbidden_characters(&name) {
        return answer(StatusCode::BAD_REQUEST, 2, "Invalid characters in attribute name");
    }
    let Some(kind) = Kind::parse(&kind) else {
        return answer(StatusCode::BAD_REQUEST, 2, "Invalid attribute type");
    };
    match write(&tenant.store).attributes.define(&name, kind) {
        Ok(()) => answer(StatusCode::OK, 0, "created"),
        Err(DefineError::Exists) => answer(StatusCode::CONFLICT, 7, "Custom attribute already exists"),
        Err(DefineError::InvalidCharacters) => {
            answer(StatusCode::BAD_REQUEST, 2, "Invalid characters in attribute name")
        }
    }
}

/// The request's media type is `expected` (parameters such as `charset` allowed).
fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(expected))
}
