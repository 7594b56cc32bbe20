//! The risk label, in one of two forms the admin picks:
//!
//! - **Tags** (what the vendor's MTD guide uses): `<prefix>_Risk_{None,Low,Medium,High}`, made at
//!   the customer organization group; smart groups and compliance policies are built on them. A
//!   device carries exactly one: a new level adds the new tag, then removes every other risk tag
//!   (a device may carry both in between), then reads the device's tags back.
//! - **A custom attribute**: the level's name (`text`), or `on`/`off` around a threshold
//!   (`boolean`), set with `PUT …/customattributes`; `none` in text mode removes it. The API has
//!   no documented way to read a custom attribute back, so such an update is not verified.

use msc_sdk::Error;
use msc_sdk::http::Request;
use msc_sdk::json::{items, text, unsigned};
use msc_sdk::uem::{RiskLevel, RiskUpdate};
use serde_json::{Value, json};

use crate::client::Client;
use crate::errors::DEVICE_NOT_FOUND;
use crate::inventory;
use crate::settings::{AttributeKind, Label, rank, word};

pub fn set_risk(client: &mut Client, device_id: &str, level: RiskLevel) -> Result<RiskUpdate, Error> {
    match &client.settings.label {
        Label::Tags { prefix, create } => {
            let (prefix, create) = (prefix.clone(), *create);
            set_tag(client, device_id, level, &prefix, create)
        }
        Label::Attribute { name, application_group, kind } => {
            let value = match kind {
                AttributeKind::Text => (level != RiskLevel::None).then(|| word(level).to_string()),
                AttributeKind::Boolean { on, off, threshold } => {
                    Some(if rank(level) >= rank(*threshold) { on.clone() } else { off.clone() })
                }
            };
            let (name, group) = (name.clone(), application_group.clone());
            set_attribute(client, device_id, &name, &group, value.as_deref())
        }
    }
}

fn set_tag(
    client: &mut Client,
    device_id: &str,
    level: RiskLevel,
    prefix: &str,
    create: bool,
) -> Result<RiskUpdate, Error> {
    let tags = risk_tags(client, prefix, create)?;
    let (wanted_name, wanted_id) = tags[rank(level)].clone();
    let wanted_id = wanted_id.ok_or_else(|| missing_tags(prefix, &tags))?;
    let uuid = device_uuid(client, device_id)?;
    let before = carried(client, &uuid, &tags)?;
    if before == [rank(level)] {
        return Ok(RiskUpdate { applied: wanted_name, changed: Some(false), verified: true });
    }
    if !before.contains(&rank(level)) {
        change(client, wanted_id, device_id, "adddevices")?;
    }
    for old in before.iter().filter(|i| **i != rank(level)) {
        if let Some(id) = tags[*old].1 {
            change(client, id, device_id, "removedevices")?;
        }
    }
    let after = carried(client, &uuid, &tags)?;
    Ok(RiskUpdate { applied: wanted_name, changed: Some(true), verified: after == [rank(level)] })
}

/// The four risk tags in level order, with their ids (`None`: the tenant has no such tag). With
/// `create`, missing ones are made at the customer organization group first.
pub fn risk_tags(client: &mut Client, prefix: &str, create: bool) -> Result<Vec<(String, Option<u64>)>, Error> {
    let found: Option<Value> =
        client.get("/mdm/tags/search", &[("name", format!("{prefix}_Risk_"))], 1, "tag search")?;
    let found: Vec<(String, u64)> = found
        .iter()
        .flat_map(|answer| items(&answer["Tags"]))
        .filter_map(|tag| {
            Some((text(&tag["TagName"])?, unsigned(&tag["Id"]["Value"]).or_else(|| unsigned(&tag["Id"]))?))
        })
        .collect();
    let mut tags: Vec<(String, Option<u64>)> = Label::tag_names(prefix)
        .into_iter()
        .map(|name| {
            let id = found.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)).map(|(_, id)| *id);
            (name, id)
        })
        .collect();
    if create && tags.iter().any(|(_, id)| id.is_none()) {
        let top = customer_group(client)?;
        for (name, id) in tags.iter_mut().filter(|(_, id)| id.is_none()) {
            let made: Value = client.post(
                "/mdm/tags/addtag",
                &json!({"TagName": name, "TagType": 1, "LocationGroupId": top}),
                "tag creation",
            )?;
            *id = Some(
                unsigned(&made["Value"])
                    .ok_or_else(|| Error::Protocol("Workspace ONE created a tag without answering its id".into()))?,
            );
            msc_sdk::info!("created the Workspace ONE tag {name}");
        }
    }
    Ok(tags)
}

/// The error for risk tags the tenant lacks.
pub fn missing_tags(prefix: &str, tags: &[(String, Option<u64>)]) -> Error {
    let missing: Vec<&str> = tags.iter().filter(|(_, id)| id.is_none()).map(|(n, _)| n.as_str()).collect();
    Error::InvalidConfig(format!(
        "Workspace ONE has no tag {} at the customer organization group; create {prefix}_Risk_{{None,Low,Medium,High}} there, or set create_tags = true",
        missing.join(", ")
    ))
}

/// The top (customer) organization group's id, where the risk tags live.
fn customer_group(client: &mut Client) -> Result<u64, Error> {
    let groups = inventory::groups(client)?;
    groups
        .iter()
        .find(|g| g.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("customer")))
        .map(|g| g.id)
        .ok_or_else(|| {
            Error::InvalidConfig("the API admin sees no customer organization group to create the risk tags in".into())
        })
}

/// The device's UUID, from its details (404 for an unknown device).
fn device_uuid(client: &mut Client, device_id: &str) -> Result<String, Error> {
    let details: Option<Value> = client.get(&format!("/mdm/devices/{device_id}"), &[], 1, "device")?;
    details
        .as_ref()
        .and_then(|d| text(&d["Uuid"]))
        .ok_or_else(|| Error::NotFound(format!("Workspace ONE has no device {device_id}")))
}

/// Which risk tags (indexes into `tags`) the device carries.
fn carried(client: &mut Client, uuid: &str, tags: &[(String, Option<u64>)]) -> Result<Vec<usize>, Error> {
    let answer: Option<Value> = client.get(&format!("/mdm/devices/{uuid}/tags"), &[], 1, "device tags")?;
    let mut carried: Vec<usize> = answer
        .iter()
        .flat_map(|a| items(&a["tags"]))
        .filter_map(|tag| {
            let id = unsigned(&tag["tag_id"]);
            let name = text(&tag["name"]);
            tags.iter().position(|(n, i)| {
                (id.is_some() && *i == id) || name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n))
            })
        })
        .collect();
    carried.sort_unstable();
    carried.dedup();
    Ok(carried)
}

/// Adds the device to (`adddevices`) or removes it from (`removedevices`) a tag; a refused item
/// (HTTP 200 with a fault) is an error.
fn change(client: &mut Client, tag: u64, device_id: &str, action: &str) -> Result<(), Error> {
    let answer: Value = client.post(
        &format!("/mdm/tags/{tag}/{action}"),
        &json!({"BulkValues": {"Value": [device_id]}}),
        "tag change",
    )?;
    if unsigned(&answer["FailedItems"]).unwrap_or(0) == 0 {
        return Ok(());
    }
    let fault = items(&answer["Faults"]["Fault"]).next();
    let code = fault.and_then(|f| unsigned(&f["ErrorCode"]));
    let message = fault.and_then(|f| text(&f["Message"])).map(|m| crate::errors::excerpt(&m)).unwrap_or_default();
    Err(match code {
        Some(DEVICE_NOT_FOUND) => Error::NotFound(format!("Workspace ONE has no device {device_id} ({message})")),
        _ => Error::Forbidden(format!(
            "Workspace ONE refused to change the device's risk tag (errorCode {}: {message}); the tags must be at an organization group above the device's",
            code.map_or_else(|| "?".to_string(), |c| c.to_string())
        )),
    })
}

fn set_attribute(
    client: &mut Client,
    device_id: &str,
    name: &str,
    group: &str,
    value: Option<&str>,
) -> Result<RiskUpdate, Error> {
    let path = format!("/mdm/devices/{device_id}/customattributes");
    let applied = match value {
        Some(value) => {
            let body = json!({"CustomAttributes": [{"Name": name, "Value": value, "ApplicationGroup": group}]});
            client.write(Request::put, &path, &body, "device")?;
            format!("{name}={value}")
        }
        None => {
            let body = json!({"CustomAttributes": [{"Name": name, "Value": "", "ApplicationGroup": group}]});
            client.write(Request::delete, &path, &body, "device")?;
            format!("{name} removed")
        }
    };
    // No documented endpoint reads a device's custom attribute back.
    Ok(RiskUpdate { applied, changed: None, verified: false })
}
