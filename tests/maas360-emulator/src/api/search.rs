//! Device lists: `search` (v1 and v2) and `searchByDeviceGroup`, paged, filtered and sorted, with
//! the page written from each device's pre-rendered record.

use hyper::StatusCode;

use super::Params;
use crate::inventory::device::Device;
use crate::inventory::{Direction, Filter, Page, Query, SortBy, groups};
use crate::reply::{self, Reply};
use crate::tenant::{Tenant, lock, read};

/// The page sizes the service accepts.
pub const PAGE_SIZES: [usize; 5] = [25, 50, 100, 200, 250];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchVersion {
    /// `pageSize` in the answer echoes the request.
    V1,
    /// With quirks on, `pageSize` in the answer is the number of devices on the page.
    V2,
}

/// `GET /device-apis/devices/{1.0/search/…, 2.0/search/customer/…}`.
pub fn search(tenant: &Tenant, version: SearchVersion, params: &Params) -> Reply {
    let Some((size, number)) = paging(tenant, params) else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let Some(query) = query(params) else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    tenant.list_request();
    let store = read(&tenant.store);
    let page = store.search(&query, offset(size, number), size);
    let echo = match version {
        SearchVersion::V2 if tenant.config.quirks => page.devices.len(),
        _ => size,
    };
    reply::json(StatusCode::OK, render(&page, number, echo, tenant.config.quirks))
}

/// `GET /device-apis/devices/1.0/searchByDeviceGroup/…?deviceGroupId=`: members, lastReported descending.
pub fn by_group(tenant: &Tenant, params: &Params) -> Reply {
    let Some(group_id) = params.non_empty("deviceGroupId") else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let Some((size, number)) = paging(tenant, params) else {
        return reply::empty(StatusCode::BAD_REQUEST);
    };
    let Some(group) = groups::device_group(group_id) else {
        return reply::not_found("Device group not found");
    };
    tenant.list_request();
    let store = read(&tenant.store);
    let page = store.group_page(group, offset(size, number), size);
    reply::json(StatusCode::OK, render(&page, number, size, tenant.config.quirks))
}

/// `pageSize` (required, one of `PAGE_SIZES`) and `pageNumber` (from 1, default 1).
fn paging(tenant: &Tenant, params: &Params) -> Option<(usize, u64)> {
    let size: usize = params.get("pageSize")?.parse().ok()?;
    {
        let mut stats = lock(&tenant.stats);
        stats.max_page_size = stats.max_page_size.max(u32::try_from(size).unwrap_or(u32::MAX));
    }
    if !PAGE_SIZES.contains(&size) {
        return None;
    }
    let number = match params.get("pageNumber") {
        None => 1,
        Some(text) => text.parse::<u64>().ok().filter(|&n| n >= 1)?,
    };
    Some((size, number))
}

fn offset(size: usize, number: u64) -> usize {
    usize::try_from(number - 1).ok().and_then(|n| n.checked_mul(size)).unwrap_or(usize::MAX)
}

/// A search parameter's filter, from its value.
type MakeFilter = fn(String) -> Filter;

/// The search's sort, cut-off and filters; `None` for a value the service refuses.
fn query(params: &Params) -> Option<Query> {
    let mut query = Query::default();
    if let Some(sort) = params.non_empty("sortAttribute") {
        query.sort = match sort {
            "lastReported" => SortBy::LastReported,
            "installedDate" => SortBy::InstalledDate,
            _ => return None,
        };
    }
    if let Some(order) = params.non_empty("sortOrder") {
        query.direction = match order {
            "asc" => Direction::Asc,
            "dsc" => Direction::Dsc,
            _ => return None,
        };
    }
    if let Some(after) = params.non_empty("lastReportedAfterInEpochms") {
        query.reported_after = Some(after.parse().ok()?);
    }
    if let Some(exact) = params.non_empty("match") {
        query.exact = match exact {
            "0" => false,
            "1" => true,
            _ => return None,
        };
    }
    const FILTERS: [(&str, MakeFilter); 9] = [
        ("deviceStatus", Filter::Status),
        ("platformName", Filter::Platform),
        ("maas360ManagedStatus", Filter::ManagedStatus),
        ("partialDeviceName", Filter::DeviceName),
        ("partialUsername", Filter::Username),
        ("email", Filter::Email),
        ("maas360DeviceId", Filter::DeviceId),
        ("partialPhoneNumber", Filter::PhoneNumber),
        ("userDomain", Filter::UserDomain),
    ];
    for (name, filter) in FILTERS {
        if let Some(value) = params.non_empty(name) {
            query.filters.push(filter(value.to_string()));
        }
    }
    Some(query)
}

/// `{"devices":{"device":…,"count":…,"pageNumber":…,"pageSize":…}}`, the device list written
/// with the list quirk (one device is an object, none leaves the key out).
fn render(page: &Page<'_>, number: u64, page_size: usize, quirks: bool) -> String {
    let records: usize = page.devices.iter().map(|device| device.json.len() + 1).sum();
    let mut body = String::with_capacity(records + 96);
    body.push_str("{\"devices\":{");
    match page.devices.as_slice() {
        [] if quirks => {}
        [device] if quirks => {
            body.push_str("\"device\":");
            body.push_str(&device.json);
            body.push(',');
        }
        devices => {
            body.push_str("\"device\":[");
            push_joined(&mut body, devices);
            body.push_str("],");
        }
    }
    body.push_str(&format!("\"count\":{},\"pageNumber\":{number},\"pageSize\":{page_size}}}}}", page.count));
    body
}

fn push_joined(body: &mut String, devices: &[&Device]) {
    for (i, device) in devices.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&device.json);
    }
}
