//! A device's installed apps (`softwareInstalled`).

use msc_sdk::Error;
use msc_sdk::json::{flag, items, text, unsigned};
use msc_sdk::uem::{App, Attribute, AttributeValue};
use serde_json::Value;

use crate::client::Client;

pub fn list_apps(client: &mut Client, device_id: &str) -> Result<Vec<App>, Error> {
    let billing = client.settings.billing_id.clone();
    let answer = client.get(
        &format!("/device-apis/devices/1.0/softwareInstalled/{billing}"),
        &[("deviceId", device_id)],
        "device",
    )?;
    let software = &answer["deviceSoftwares"];
    if software.is_null() {
        return Err(Error::Protocol("MaaS360 answered the app list without `deviceSoftwares`".into()));
    }
    Ok(items(&software["deviceSw"]).filter_map(app).collect())
}

fn app(sw: &Value) -> Option<App> {
    let mut app = App {
        name: text(&sw["swName"])?,
        identifier: None,
        version: None,
        size_bytes: None,
        managed: None,
        attributes: Vec::new(),
    };
    for attr in items(&sw["swAttrs"]) {
        let Some(key) = text(&attr["key"]) else { continue };
        let value = &attr["value"];
        match key.as_str() {
            "Application ID" => app.identifier = text(value),
            "Version" => app.version = text(value),
            "File Size" => app.size_bytes = unsigned(value),
            "Installed by MDM" => app.managed = flag(value),
            _ => {
                let value = match value {
                    Value::Number(n) => n.as_f64().map(AttributeValue::Number),
                    other => text(other).map(AttributeValue::Text),
                };
                if let Some(value) = value {
                    app.attributes.push(Attribute { name: key, value });
                }
            }
        }
    }
    Some(app)
}
