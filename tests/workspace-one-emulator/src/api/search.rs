//! `GET /API/mdm/devices/search`: filters, order and 0-based pages; an empty page is 204 with an
//! empty body. v3 takes snake_case parameters and leaves out MacAddress and PhoneNumber.

use std::cmp::Ordering;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Page, Params};
use crate::error::ApiError;
use crate::inventory::device::Device;
use crate::inventory::{clock, groups};
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock, read};

/// The parameter names of one API version.
struct Names {
    page: &'static str,
    size: &'static str,
    group: &'static str,
    compliant: &'static str,
    order_by: &'static str,
    sort_order: &'static str,
}

const V1: Names = Names {
    page: "page",
    size: "pagesize",
    group: "lgid",
    compliant: "compliantstatus",
    order_by: "orderby",
    sort_order: "sortorder",
};
const V3: Names = Names {
    page: "page",
    size: "page_size",
    group: "organization_group_uuid",
    compliant: "compliant_status",
    order_by: "order_by",
    sort_order: "sort_order",
};

pub fn search(tenant: &Tenant, version: u32, params: &Params) -> Result<Reply, ApiError> {
    let names = if version >= 3 { &V3 } else { &V1 };
    let page = Page::parse(params, names.page, names.size, &mut lock(&tenant.stats))?;
    let filter = Filter::parse(params, names, version)?;
    let order = order(params, names)?;
    let inventory = read(&tenant.inventory);
    let mut found: Vec<&Device> = inventory.devices.iter().filter(|device| filter.admits(device)).collect();
    found.sort_by(|a, b| order.compare(a, b));
    let items: Vec<Value> = page.of(&found).iter().map(|device| device.to_json(version)).collect();
    if items.is_empty() {
        return Ok(reply::no_content());
    }
    let body = json!({"Devices": items, "Page": page.page, "PageSize": page.size, "Total": found.len()});
    Ok(reply::json_of(StatusCode::OK, &body))
}

#[derive(Default)]
struct Filter {
    user: Option<String>,
    model: Option<String>,
    platform: Option<String>,
    ownership: Option<&'static str>,
    /// `Some(None)`: a group that does not exist, so nothing matches.
    group: Option<Option<u64>>,
    compliant: Option<bool>,
    seen_since: Option<i64>,
    seen_before: Option<i64>,
}

impl Filter {
    fn parse(params: &Params, names: &Names, version: u32) -> Result<Self, ApiError> {
        let bad = |name: &str| ApiError::BadRequest(format!("Invalid value for {name}."));
        let date = |name: &str| params.get(name).map(|text| clock::parse(text).ok_or_else(|| bad(name))).transpose();
        let group = if version >= 3 {
            params.get(names.group).map(|uuid| groups::by_uuid(uuid).map(|group| group.id))
        } else {
            params.number(names.group)?.map(|id| groups::by_id(id).map(|group| group.id))
        };
        let ownership = match params.get("ownership") {
            None => None,
            Some(value) => Some(
                ["C", "E", "S", "Undefined"]
                    .into_iter()
                    .find(|known| known.eq_ignore_ascii_case(value))
                    .ok_or_else(|| bad("ownership"))?,
            ),
        };
        let compliant = match params.get(names.compliant).map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("true" | "compliant") => Some(true),
            Some("false" | "noncompliant") => Some(false),
            Some(_) => return Err(bad(names.compliant)),
        };
        Ok(Self {
            user: params.get("user").map(str::to_ascii_lowercase),
            model: params.get("model").map(str::to_ascii_lowercase),
            platform: params.get("platform").map(str::to_ascii_lowercase),
            ownership,
            group,
            compliant,
            seen_since: date("seensince")?,
            seen_before: date("lastseen")?,
        })
    }

    fn admits(&self, device: &Device) -> bool {
        self.user.as_ref().is_none_or(|user| device.user_name.eq_ignore_ascii_case(user))
            && self.model.as_ref().is_none_or(|model| device.model.to_ascii_lowercase().contains(model))
            && self.platform.as_ref().is_none_or(|platform| device.platform.eq_ignore_ascii_case(platform))
            && self.ownership.is_none_or(|ownership| device.ownership == ownership)
            // Only the OG itself: a parent does not pull in its children's devices.
            && self.group.is_none_or(|group| group == Some(device.group))
            && self.compliant.is_none_or(|compliant| device.compliant == compliant)
            && self.seen_since.is_none_or(|since| device.last_seen_ms >= since)
            && self.seen_before.is_none_or(|before| device.last_seen_ms <= before)
    }
}

type Field = fn(&Device, &Device) -> Ordering;

/// The order of `orderby`/`sortorder`; ties go by id.
struct Sort {
    by: Field,
    descending: bool,
}

impl Sort {
    fn compare(&self, a: &Device, b: &Device) -> Ordering {
        let ordering = (self.by)(a, b);
        let ordering = if self.descending { ordering.reverse() } else { ordering };
        ordering.then(a.id.cmp(&b.id))
    }
}

/// By ascending id when not given; an unknown field or direction is 400.
fn order(params: &Params, names: &Names) -> Result<Sort, ApiError> {
    let by: Field = match params.get(names.order_by).map(str::to_ascii_lowercase).as_deref() {
        None | Some("id" | "deviceid") => |a, b| a.id.cmp(&b.id),
        Some("lastseen") => |a, b| a.last_seen_ms.cmp(&b.last_seen_ms),
        Some("username") => |a, b| a.user_name.cmp(&b.user_name),
        Some("devicefriendlyname") => |a, b| a.friendly_name.cmp(&b.friendly_name),
        Some("serialnumber") => |a, b| a.serial.cmp(&b.serial),
        Some("platform") => |a, b| a.platform.cmp(b.platform),
        Some("model") => |a, b| a.model.cmp(b.model),
        Some(_) => return Err(ApiError::BadRequest(format!("Invalid value for {}.", names.order_by))),
    };
    let descending = match params.get(names.sort_order).map(str::to_ascii_uppercase).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => return Err(ApiError::BadRequest(format!("Invalid value for {}.", names.sort_order))),
    };
    Ok(Sort { by, descending })
}
