//! Paging the inventory: organization groups resolved by name (with the groups below them), 0-based
//! pages of up to 500 devices from the device search, and an opaque cursor that carries
//! everything the next page needs (each call runs in a fresh sandbox).
//!
//! The search ends on 204 (its empty answer), on an empty page, or when `(page+1)·size ≥ Total`.
//! An incremental sync asks the service for `seensince` (to the second) and drops what is a
//! fraction of a second older itself.

use msc_sdk::Error;
use msc_sdk::paging::{decode_cursor, encode_cursor, has_next_page};
use msc_sdk::time::utc_seconds;
use msc_sdk::uem::{DevicePage, DeviceQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::devices::{self, SearchAnswer};

/// The most devices a search page holds; the service gives 500 for anything larger.
pub const MAX_PAGE_SIZE: u32 = 500;

#[derive(Clone, Serialize, Deserialize)]
struct Cursor {
    /// Organization group ids to walk; empty: the whole tenant.
    groups: Vec<u64>,
    /// Index into `groups` of the group being paged.
    group_index: usize,
    /// 0-based.
    page: u32,
    size: u32,
    /// Incremental sync: devices seen at or after this time.
    since: Option<u64>,
}

pub fn list_devices(client: &mut Client, query: DeviceQuery) -> Result<DevicePage, Error> {
    let cursor = match decode_cursor::<Cursor>(query.cursor.as_deref())? {
        Some(cursor) if (1..=MAX_PAGE_SIZE).contains(&cursor.size) => cursor,
        Some(_) => return Err(Error::InvalidInput("the page cursor holds a page size this plugin never uses".into())),
        None => {
            let wanted = if query.groups.is_empty() { client.settings.groups.clone() } else { query.groups.clone() };
            let groups = resolve_groups(client, &wanted)?.into_iter().map(|g| g.id).collect();
            Cursor { groups, group_index: 0, page: 0, size: page_size(query.page_size), since: query.changed_since_ms }
        }
    };
    fetch(client, cursor)
}

/// The page size to ask for: what the host wants, at most 500.
fn page_size(wanted: u32) -> u32 {
    wanted.clamp(1, MAX_PAGE_SIZE)
}

fn fetch(client: &mut Client, cursor: Cursor) -> Result<DevicePage, Error> {
    let group = cursor.groups.get(cursor.group_index).copied();
    if !cursor.groups.is_empty() && group.is_none() {
        return Err(Error::InvalidInput("the page cursor points past its last organization group".into()));
    }
    let mut query = vec![("page", cursor.page.to_string()), ("pagesize", cursor.size.to_string())];
    if let Some(group) = group {
        query.push(("lgid", group.to_string()));
    }
    if let Some(since) = cursor.since {
        query.push(("seensince", utc_seconds(since)));
    }
    let url = "/mdm/devices/search";
    let response = client.get_raw(url, &query, 2, "device search")?;
    let answer = match &response {
        Some(body) => SearchAnswer::parse(body)?,
        None => SearchAnswer { devices: Vec::new(), total: Default::default() },
    };
    let total = answer.total.unsigned();
    let received = answer.devices.len() as u64;
    let mut devices = Vec::with_capacity(answer.devices.len());
    for record in &answer.devices {
        let stale = cursor.since.zip(record.last_seen_ms()).is_some_and(|(since, seen)| seen < since);
        if !stale {
            devices.push(devices::device(record)?);
        }
    }
    let next = if has_next_page(u64::from(cursor.page), u64::from(cursor.size), received, total) {
        Some(Cursor { page: cursor.page + 1, ..cursor.clone() })
    } else {
        (cursor.group_index + 1 < cursor.groups.len()).then(|| Cursor {
            group_index: cursor.group_index + 1,
            page: 0,
            ..cursor.clone()
        })
    };
    let whole = cursor.groups.len() <= 1 && cursor.since.is_none();
    Ok(DevicePage {
        devices,
        next_cursor: next.map(|c| encode_cursor(&c)).transpose()?,
        total: if whole { Some(total.unwrap_or(0)) } else { None },
    })
}

/// An organization group.
#[derive(Clone, Debug)]
pub struct Group {
    pub id: u64,
    pub name: String,
    pub kind: Option<String>,
}

/// Organization group names to groups, each followed (with `include_child_groups`) by the
/// groups below it, without repeats. A name that is missing is a configuration error naming the
/// groups that exist.
pub fn resolve_groups(client: &mut Client, names: &[String]) -> Result<Vec<Group>, Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let known = groups(client)?;
    let mut resolved: Vec<Group> = Vec::new();
    for name in names {
        let found = known
            .iter()
            .find(|g| g.name == *name)
            .or_else(|| known.iter().find(|g| g.name.eq_ignore_ascii_case(name)))
            .ok_or_else(|| {
                let names: Vec<&str> = known.iter().map(|g| g.name.as_str()).take(20).collect();
                Error::InvalidConfig(format!(
                    "Workspace ONE has no organization group `{name}` (organization groups: {})",
                    names.join(", ")
                ))
            })?;
        let subtree =
            if client.settings.include_child_groups { children(client, found.id)? } else { vec![found.clone()] };
        for group in subtree {
            if !resolved.iter().any(|g| g.id == group.id) {
                resolved.push(group);
            }
        }
    }
    Ok(resolved)
}

/// Every organization group the admin can see (`/system/groups/search`, v2 or v1 shape).
pub fn groups(client: &mut Client) -> Result<Vec<Group>, Error> {
    let answer: Option<Value> = client.get("/system/groups/search", &[], 2, "organization group search")?;
    let Some(answer) = answer else { return Ok(Vec::new()) };
    let list =
        if answer["OrganizationGroups"].is_array() { &answer["OrganizationGroups"] } else { &answer["LocationGroups"] };
    Ok(msc_sdk::json::items(list).filter_map(group).collect())
}

/// An organization group and every group below it (`/system/groups/{id}/children`).
fn children(client: &mut Client, id: u64) -> Result<Vec<Group>, Error> {
    let answer: Option<Value> =
        client.get(&format!("/system/groups/{id}/children"), &[], 1, "organization group children")?;
    let mut subtree: Vec<Group> = answer.iter().flat_map(msc_sdk::json::items).filter_map(group).collect();
    if !subtree.iter().any(|g| g.id == id) {
        subtree.insert(0, Group { id, name: String::new(), kind: None });
    }
    Ok(subtree)
}

/// A group from either shape: `Id` a number (v2) or `{"Value": n}` (v1).
fn group(value: &Value) -> Option<Group> {
    use msc_sdk::json::{text, unsigned};
    let id = unsigned(&value["Id"]).or_else(|| unsigned(&value["Id"]["Value"]))?;
    Some(Group { id, name: text(&value["Name"])?, kind: text(&value["LocationGroupType"]) })
}

/// How many devices an organization group holds (the whole tenant for `None`), from a one-device page.
pub fn count(client: &mut Client, group: Option<u64>) -> Result<(u64, Option<String>), Error> {
    let mut query = vec![("page", "0".to_string()), ("pagesize", "1".to_string())];
    if let Some(group) = group {
        query.push(("lgid", group.to_string()));
    }
    let Some(body) = client.get_raw("/mdm/devices/search", &query, 2, "device search")? else {
        return Ok((0, None));
    };
    let answer = SearchAnswer::parse(&body)?;
    let first = answer.devices.first().and_then(|d| d.id());
    Ok((answer.total.unsigned().unwrap_or(answer.devices.len() as u64), first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_stay_within_the_service_limit() {
        assert_eq!(page_size(1000), 500);
        assert_eq!(page_size(500), 500);
        assert_eq!(page_size(250), 250);
        assert_eq!(page_size(0), 1);
    }

    #[test]
    fn groups_read_from_either_shape() {
        let v2 = serde_json::json!({"Id": 571, "Name": "Sales", "LocationGroupType": "Container"});
        let v1 = serde_json::json!({"Id": {"Value": 570}, "Name": "Acme Corp", "LocationGroupType": "Customer"});
        assert_eq!(group(&v2).map(|g| g.id), Some(571));
        assert_eq!(group(&v1).map(|g| (g.id, g.kind)), Some((570, Some("Customer".into()))));
        assert!(group(&serde_json::json!({"Name": "x"})).is_none());
    }
}
