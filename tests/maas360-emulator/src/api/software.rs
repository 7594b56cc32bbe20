//! `GET /device-apis/devices/1.0/softwareInstalled/…?deviceId=`: a device's installed apps.

use hyper::StatusCode;

use super::Params;
use crate::inventory::apps;
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, read};

pub fn installed(tenant: &Tenant, params: &Params) -> Reply {
    let Some(id) = params.non_empty("deviceId") else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let store = read(&tenant.store);
    let Some(device) = store.device(id) else {
        return reply::not_found("Device not found");
    };
    reply::json_of(StatusCode::OK, &apps::software(device, tenant.config.quirks))
}
