//! The mitigation label: a boolean custom attribute (e.g. `MP_HighRisk`) set to Yes on devices
//! the cloud rates at risk, back to No when the risk clears. MaaS360 moves labelled devices into
//! the mitigation group whose compliance rules act on them.

use msc_sdk::Error;
use msc_sdk::json::{items, text, unsigned};
use msc_sdk::uem::{RiskLevel, RiskUpdate};

use serde_json::Value;

use crate::client::Client;
use crate::errors;

/// Sets the label for `level`; reads it before (to skip a write that changes nothing) and after
/// (to verify it).
pub fn set_risk(client: &mut Client, device_id: &str, level: RiskLevel) -> Result<RiskUpdate, Error> {
    let (name, wanted) = {
        let label = &client.settings.label;
        (label.name.clone(), label.value_for(level).to_string())
    };
    let applied = format!("{name}={wanted}");
    let before = read(client, device_id, &name)?;
    if before.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(&wanted)) {
        return Ok(RiskUpdate { applied, changed: Some(false), verified: true });
    }
    let billing = client.settings.billing_id.clone();
    let answer: Value = client.post_form(
        &format!("/device-apis/devices/1.0/setCustomAttributeValue/{billing}"),
        &[("deviceId", device_id), ("attributeName", &name), ("attributeValue", &wanted)],
        "device",
    )?;
    let response = &answer["actionResponse"];
    match unsigned(&response["actionStatus"]) {
        Some(0) => {}
        Some(_) => return Err(errors::action_error(&text(&response["description"]).unwrap_or_default())),
        None => return Err(Error::Protocol("MaaS360 answered setCustomAttributeValue without `actionStatus`".into())),
    }
    let after = read(client, device_id, &name)?;
    Ok(RiskUpdate {
        applied,
        // Written because it differed (or was unset).
        changed: Some(true),
        verified: after.is_some_and(|a| a.eq_ignore_ascii_case(&wanted)),
    })
}

/// The label's value on the device, from its identity record; `None` when the device has none.
pub fn read(client: &mut Client, device_id: &str, name: &str) -> Result<Option<String>, Error> {
    Ok(attributes(client, device_id)?.into_iter().find(|(n, _)| n == name).and_then(|(_, v)| v))
}

/// The device's custom attributes as `(name, value)`.
pub fn attributes(client: &mut Client, device_id: &str) -> Result<Vec<(String, Option<String>)>, Error> {
    let billing = client.settings.billing_id.clone();
    let answer: Value =
        client.get(&format!("/device-apis/devices/1.0/identity/{billing}"), &[("deviceId", device_id)], "device")?;
    let identity = &answer["deviceIdentity"];
    if identity.is_null() {
        return Err(Error::Protocol("MaaS360 answered the identity request without `deviceIdentity`".into()));
    }
    Ok(items(&identity["customAttributes"]["customAttribute"])
        .filter_map(|a| Some((text(&a["customAttributeName"])?, text(&a["customAttributeValue"]))))
        .collect())
}
