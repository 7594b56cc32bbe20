//! Organization groups: search (v1 `LocationGroups`, v2 `OrganizationGroups`) and a group's subtree.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::Params;
use crate::error::ApiError;
use crate::inventory::groups::{self, GROUPS, Group};
use crate::reply::{self, Reply};

/// `GET /API/system/groups/search[?name=…]`.
pub fn search(version: u32, params: &Params) -> Reply {
    let name = params.get("name").map(str::to_ascii_lowercase).unwrap_or_default();
    let found: Vec<&Group> = GROUPS.iter().filter(|group| group.name.to_ascii_lowercase().contains(&name)).collect();
    let body = if version >= 2 {
        let items: Vec<Value> = found.iter().map(|group| v2(group)).collect();
        json!({"OrganizationGroups": items, "TotalResults": found.len()})
    } else {
        let items: Vec<Value> = found.iter().map(|group| v1(group)).collect();
        json!({"LocationGroups": items, "Page": 0, "PageSize": 500, "Total": found.len()})
    };
    reply::json_of(StatusCode::OK, &body)
}

/// `GET /API/system/groups/{id}/children`: the group and everything below it.
pub fn children(id: &str) -> Result<Reply, ApiError> {
    let not_found = || ApiError::NotFound("Organization group not found.");
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let subtree = groups::subtree(id);
    if subtree.is_empty() {
        return Err(not_found());
    }
    let items: Vec<Value> = subtree.iter().map(|group| v1(group)).collect();
    Ok(reply::json_of(StatusCode::OK, &Value::Array(items)))
}

fn v1(group: &Group) -> Value {
    json!({
        "Id": {"Value": group.id},
        "Name": group.name,
        "GroupId": group.group_id,
        "LocationGroupType": group.kind,
        "Uuid": group.uuid,
        "ParentLocationGroup": group.parent.map(|parent| json!({"Id": parent})),
    })
}

fn v2(group: &Group) -> Value {
    json!({
        "Id": group.id,
        "Uuid": group.uuid,
        "Name": group.name,
        "GroupId": group.group_id,
        "LocationGroupType": group.kind,
    })
}
