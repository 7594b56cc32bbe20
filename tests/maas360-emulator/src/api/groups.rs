//! `GET /group-apis/group/1.0/groups/customer/…`: the tenant's groups.

use hyper::StatusCode;
use serde::Serialize;

use crate::inventory::groups::GROUPS;
use crate::quirks::{Listed, listed};
use crate::reply::{self, Reply};
use crate::tenant::Tenant;

#[derive(Serialize)]
struct GroupsReply {
    groups: Groups,
}

#[derive(Serialize)]
struct Groups {
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Listed<Group>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    #[serde(rename = "groupID")]
    group_id: &'static str,
    group_name: &'static str,
    group_type: u8,
    description: &'static str,
}

pub fn list(tenant: &Tenant) -> Reply {
    let group: Vec<Group> = GROUPS
        .iter()
        .map(|g| Group { group_id: g.id, group_name: g.name, group_type: g.group_type, description: g.description })
        .collect();
    let groups = Groups { count: group.len(), group: listed(group, tenant.config.quirks) };
    reply::json_of(StatusCode::OK, &GroupsReply { groups })
}
