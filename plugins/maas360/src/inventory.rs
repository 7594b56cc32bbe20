//! Paging the inventory: device groups resolved by name, pages of up to 250 devices, and a cursor
//! that carries everything the next page needs (each call runs in a fresh sandbox).
//!
//! Pages shift while a sync runs: devices enrol, report and leave. The whole-tenant search is
//! sorted by enrolment, so new devices land on the last page. Devices pushed onto a later page
//! are read twice, and the connector drops the repeat (it de-duplicates by id across pages and
//! groups). A device that leaves pulls later devices onto pages already read: when `count` drops
//! between two pages, the cursor steps back by as many pages as the drop spans, so none is
//! skipped. `searchByDeviceGroup` is ordered by last report, so a device that reports during a
//! sync can jump onto a page already read; the next incremental sync, which starts from the
//! time this one started, picks it up.

use msc_sdk::Error;
use msc_sdk::json::{items, text, unsigned};
use msc_sdk::uem::{DevicePage, DeviceQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::devices::{self, SearchAnswer};

/// The page sizes MaaS360 accepts.
const PAGE_SIZES: [u32; 5] = [25, 50, 100, 200, 250];
/// Step-backs allowed per group: a tenant shrinking on every page cannot keep a sync paging
/// backwards for ever.
const MAX_STEP_BACKS: u32 = 20;

#[derive(Clone, Serialize, Deserialize)]
struct Cursor {
    /// Groups to walk as `(id, name)`; empty: the whole tenant through `search`.
    groups: Vec<(String, String)>,
    /// Index into `groups` of the group being paged.
    group_index: usize,
    page: u32,
    size: u32,
    /// The `count` the previous page reported, to notice devices leaving.
    count: Option<u64>,
    /// Step-backs taken in this group.
    step_backs: u32,
    /// Incremental sync: devices that reported at or after this time.
    since: Option<u64>,
}

impl Cursor {
    /// A cursor from the host, checked: it round-trips through the host and could be corrupted.
    fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |why: String| Error::InvalidInput(format!("the cursor is not one this plugin issued: {why}"));
        let cursor: Cursor = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if !PAGE_SIZES.contains(&cursor.size) || cursor.page == 0 {
            return Err(invalid(format!("page {} of size {}", cursor.page, cursor.size)));
        }
        if !cursor.groups.is_empty() && cursor.group_index >= cursor.groups.len() {
            return Err(invalid(format!("group {} of {}", cursor.group_index, cursor.groups.len())));
        }
        Ok(cursor)
    }
}

pub fn list_devices(client: &mut Client, query: DeviceQuery) -> Result<DevicePage, Error> {
    let cursor = match query.cursor.as_deref() {
        Some(text) => Cursor::parse(text)?,
        None => {
            let wanted = if query.groups.is_empty() { client.settings.groups.clone() } else { query.groups.clone() };
            Cursor {
                groups: resolve_groups(client, &wanted)?,
                group_index: 0,
                page: 1,
                size: page_size(query.page_size),
                count: None,
                step_backs: 0,
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
    let group = cursor.groups.get(cursor.group_index);
    let response = match group {
        Some((id, _)) => client.fetch(
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
            client.fetch(&client.search_path(), &query, "device search")?
        }
    };
    let answer = SearchAnswer::parse(&response.body)?;
    let listing =
        answer.devices.ok_or_else(|| Error::Protocol("MaaS360 answered the device search without `devices`".into()))?;
    let count = listing.count.unsigned();
    let received = listing.device.0.len() as u64;
    let group_name = group.map(|(_, name)| name.as_str());
    let mut devices = Vec::with_capacity(listing.device.0.len());
    for record in &listing.device.0 {
        let device = devices::device(record, group_name)?;
        // searchByDeviceGroup has no time filter: incremental syncs filter here.
        let stale = group.is_some() && cursor.since.zip(device.last_seen_ms).is_some_and(|(since, seen)| seen < since);
        if !stale {
            devices.push(device);
        }
    }

    let next = next_cursor(&cursor, count, received);
    let total = match (cursor.groups.len(), cursor.since) {
        (0, _) | (1, None) => count,
        _ => None,
    };
    let next_cursor =
        next.map(|c| serde_json::to_string(&c).map_err(|e| Error::Internal(format!("cursor: {e}")))).transpose()?;
    Ok(DevicePage { devices, next_cursor, total })
}

/// Where to read next after a page of `received` devices that reported `count` in all.
fn next_cursor(cursor: &Cursor, count: Option<u64>, received: u64) -> Option<Cursor> {
    let size = u64::from(cursor.size);
    // Devices that left since the previous page pulled others onto pages already read: read
    // those pages again (this check comes first: the drop may have shortened the last page).
    let left = cursor.count.zip(count).map(|(before, now)| before.saturating_sub(now)).unwrap_or(0);
    if left > 0 && cursor.page > 1 && cursor.step_backs < MAX_STEP_BACKS {
        let back = u32::try_from(left.div_ceil(size)).unwrap_or(u32::MAX);
        let page = cursor.page.saturating_sub(back).max(1);
        return Some(Cursor { page, count, step_backs: cursor.step_backs + 1, ..cursor.clone() });
    }
    let group_done = received < size || count.is_some_and(|c| u64::from(cursor.page) * size >= c);
    if !group_done {
        return Some(Cursor { page: cursor.page + 1, count, ..cursor.clone() });
    }
    (cursor.group_index + 1 < cursor.groups.len()).then(|| Cursor {
        group_index: cursor.group_index + 1,
        page: 1,
        count: None,
        step_backs: 0,
        ..cursor.clone()
    })
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
    let answer: Value = client.get(&format!("/group-apis/group/1.0/groups/customer/{billing}"), &[], "group list")?;
    Ok(items(&answer["groups"]["group"])
        .filter_map(|g| {
            Some(Group { id: text(&g["groupID"])?, name: text(&g["groupName"])?, kind: unsigned(&g["groupType"]) })
        })
        .collect())
}

/// The first small page of a group (or of the tenant, for `None`): its `total` says how many
/// devices there are.
pub fn first_page(client: &mut Client, group: Option<&str>) -> Result<DevicePage, Error> {
    fetch(
        client,
        Cursor {
            groups: group.map(|id| vec![(id.to_string(), String::new())]).unwrap_or_default(),
            group_index: 0,
            page: 1,
            size: PAGE_SIZES[0],
            count: None,
            step_backs: 0,
            since: None,
        },
    )
}

/// How many devices a page says there are in all.
pub fn total(page: &DevicePage) -> u64 {
    page.total.unwrap_or(page.devices.len() as u64)
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

    fn at(page: u32, count: Option<u64>) -> Cursor {
        Cursor { groups: vec![], group_index: 0, page, size: 250, count, step_backs: 0, since: None }
    }

    #[test]
    fn steps_back_when_devices_leave_even_on_the_last_page() {
        // 500 devices, 10 left after page 1: page 2 is short, but page 1 must be read again.
        let next = next_cursor(&at(2, Some(500)), Some(490), 240).expect("step back");
        assert_eq!((next.page, next.step_backs), (1, 1));
        // Unchanged count: on to page 3, or done after a short page.
        assert_eq!(next_cursor(&at(2, Some(1000)), Some(1000), 250).expect("next").page, 3);
        assert!(next_cursor(&at(4, Some(1000)), Some(1000), 250).is_none());
        // No count at all: only a short page ends the listing.
        assert_eq!(next_cursor(&at(1, None), None, 250).expect("next").page, 2);
        assert!(next_cursor(&at(2, None), None, 10).is_none());
        // Step-backs are bounded.
        let tired = Cursor { step_backs: MAX_STEP_BACKS, ..at(3, Some(900)) };
        assert_eq!(next_cursor(&tired, Some(800), 250).expect("forward").page, 4);
    }

    #[test]
    fn refuses_cursors_it_did_not_issue() {
        for bad in [
            "{}",
            "not json",
            r#"{"groups":[],"group_index":0,"page":1,"size":0,"count":null,"step_backs":0,"since":null}"#,
            r#"{"groups":[["1","a"]],"group_index":3,"page":1,"size":250,"count":null,"step_backs":0,"since":null}"#,
        ] {
            assert!(matches!(Cursor::parse(bad), Err(Error::InvalidInput(_))), "{bad}");
        }
    }
}
