//! Paging the inventory: device groups resolved by name, pages of up to 250 devices, and a cursor
//! that carries everything the next page needs (each call runs in a fresh sandbox).
//!
//! Pages shift while a sync runs: devices enrol, report and leave. Enrolment and reporting only
//! push devices to later pages, where the connector drops the repeats (it de-duplicates by id
//! across pages and groups). A device that leaves pulls later devices onto pages already read;
//! when a group's `count` drops between two pages, the cursor steps back by as many pages as the
//! drop spans, so no device is skipped.

use msc_sdk::json::{items, text, unsigned};
use msc_sdk::uem::{DevicePage, DeviceQuery};
use msc_sdk::{Error, json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::devices;

/// The page sizes MaaS360 accepts.
const PAGE_SIZES: [u32; 5] = [25, 50, 100, 200, 250];

#[derive(Clone, Serialize, Deserialize)]
struct Cursor {
    /// Groups to walk as `(id, name)`; empty: the whole tenant through `search`.
    groups: Vec<(String, String)>,
    /// Index into `groups`.
    group: usize,
    page: u32,
    size: u32,
    /// The `count` the previous page reported, to notice devices leaving.
    count: Option<u64>,
    /// Incremental sync: devices that reported at or after this time.
    since: Option<u64>,
}

pub fn list_devices(client: &mut Client, query: DeviceQuery) -> Result<DevicePage, Error> {
    let cursor = match query.cursor.as_deref() {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("the cursor is not one this plugin issued: {e}")))?,
        None => {
            let wanted = if query.groups.is_empty() { client.settings.groups.clone() } else { query.groups.clone() };
            Cursor {
                groups: resolve_groups(client, &wanted)?,
                group: 0,
                page: 1,
                size: page_size(query.page_size),
                count: None,
                since: query.changed_since_ms,
            }
        }
    };
    fetch(client, cursor)
}

/// The largest page size MaaS360 accepts that is not above `wanted` (at least 25).
fn page_size(wanted: u32) -> u32 {
    PAGE_SIZES.iter().rev().copied().find(|s| *s <= wanted).unwrap_or(PAGE_SIZES[0])
}

fn fetch(client: &mut Client, cursor: Cursor) -> Result<DevicePage, Error> {
    let billing = client.settings.billing_id.clone();
    let (size, page) = (cursor.size.to_string(), cursor.page.to_string());
    let group = cursor.groups.get(cursor.group);
    let answer = match group {
        Some((id, _)) => client.get(
            &format!("/device-apis/devices/1.0/searchByDeviceGroup/{billing}"),
            &[("deviceGroupId", id), ("pageSize", &size), ("pageNumber", &page)],
            "device group search",
        )?,
        None => {
            let since = cursor.since.map(|s| s.to_string());
            let mut query = vec![
                ("pageSize", size.as_str()),
                ("pageNumber", page.as_str()),
                // Enrolment order: new devices land on the last page instead of shifting others.
                ("sortAttribute", "installedDate"),
                ("sortOrder", "asc"),
            ];
            if let Some(since) = since.as_deref() {
                query.push(("lastReportedAfterInEpochms", since));
            }
            client.get(&format!("/device-apis/devices/2.0/search/customer/{billing}"), &query, "device search")?
        }
    };
    let listing = &answer["devices"];
    if listing.is_null() {
        return Err(Error::Protocol("MaaS360 answered the device search without `devices`".into()));
    }
    let count = unsigned(&listing["count"]);
    let records: Vec<&Value> = devices::records(&answer).collect();
    let received = records.len() as u64;
    let group_name = group.map(|(_, name)| name.as_str());
    let mut devices = Vec::with_capacity(records.len());
    for record in records {
        let device = devices::device(record, group_name)?;
        // searchByDeviceGroup has no time filter: incremental syncs filter here.
        let stale = group.is_some() && cursor.since.zip(device.last_seen_ms).is_some_and(|(since, seen)| seen < since);
        if !stale {
            devices.push(device);
        }
    }

    let size = u64::from(cursor.size);
    let group_done = received < size || count.is_none_or(|c| u64::from(cursor.page) * size >= c);
    let next = if group_done {
        (cursor.group + 1 < cursor.groups.len()).then(|| Cursor {
            group: cursor.group + 1,
            page: 1,
            count: None,
            ..cursor.clone()
        })
    } else {
        // Devices that left since the previous page pulled others onto pages already read.
        let left = cursor.count.zip(count).map(|(before, now)| before.saturating_sub(now)).unwrap_or(0);
        let back = u32::try_from(left.div_ceil(size)).unwrap_or(u32::MAX);
        let page = if back > 0 { cursor.page.saturating_sub(back).max(1) } else { cursor.page + 1 };
        Some(Cursor { page, count, ..cursor.clone() })
    };
    let total = match (cursor.groups.len(), cursor.since) {
        (0, _) | (1, None) => count,
        _ => None,
    };
    let next_cursor =
        next.map(|c| serde_json::to_string(&c).map_err(|e| Error::Internal(format!("cursor: {e}")))).transpose()?;
    Ok(DevicePage { devices, next_cursor, total })
}

/// Device group names to `(id, name)`. A name that is missing, or names a user group, is a
/// configuration error naming the device groups that do exist.
pub fn resolve_groups(client: &mut Client, names: &[String]) -> Result<Vec<(String, String)>, Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let known = groups(client)?;
    names
        .iter()
        .map(|name| {
            let found = known
                .iter()
                .find(|g| g.name == *name)
                .or_else(|| known.iter().find(|g| g.name.eq_ignore_ascii_case(name)));
            match found {
                Some(g) if g.is_user_group() => Err(Error::InvalidConfig(format!(
                    "`{name}` is a user group; MaaS360 syncs devices by device group"
                ))),
                Some(g) => Ok((g.id.clone(), g.name.clone())),
                None => {
                    let device_groups: Vec<&str> =
                        known.iter().filter(|g| !g.is_user_group()).map(|g| g.name.as_str()).take(20).collect();
                    Err(Error::InvalidConfig(format!(
                        "MaaS360 has no device group `{name}` (device groups: {})",
                        device_groups.join(", ")
                    )))
                }
            }
        })
        .collect()
}

pub struct Group {
    pub id: String,
    pub name: String,
    kind: Option<u64>,
}

impl Group {
    /// Group type 3 holds users, not devices.
    fn is_user_group(&self) -> bool {
        self.kind == Some(3)
    }
}

/// Every group of the tenant.
pub fn groups(client: &mut Client) -> Result<Vec<Group>, Error> {
    let billing = client.settings.billing_id.clone();
    let answer = client.get(&format!("/group-apis/group/1.0/groups/customer/{billing}"), &[], "group list")?;
    Ok(items(&answer["groups"]["group"])
        .filter_map(|g| {
            Some(Group {
                id: text(&g["groupID"])?,
                name: text(&g["groupName"])?,
                kind: json::unsigned(&g["groupType"]),
            })
        })
        .collect())
}

/// How many devices a group holds (or the tenant, for `None`), from one small page.
pub fn count(client: &mut Client, group: Option<&str>) -> Result<u64, Error> {
    let page = fetch(
        client,
        Cursor {
            groups: group.map(|id| vec![(id.to_string(), String::new())]).unwrap_or_default(),
            group: 0,
            page: 1,
            size: PAGE_SIZES[0],
            count: None,
            since: None,
        },
    )?;
    Ok(page.total.unwrap_or(page.devices.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_ones_maas360_accepts() {
        assert_eq!(page_size(1000), 250);
        assert_eq!(page_size(250), 250);
        assert_eq!(page_size(249), 200);
        assert_eq!(page_size(10), 25);
    }
}
