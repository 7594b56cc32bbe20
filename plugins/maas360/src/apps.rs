//! A device's installed apps (`softwareInstalled`).

use msc_sdk::Error;
use msc_sdk::json::{OneOrMany, Scalar};
use msc_sdk::uem::{App, Attribute};
use serde::Deserialize;

use crate::client::Client;
use crate::devices::attribute_value;

pub fn list_apps(client: &mut Client, device_id: &str) -> Result<Vec<App>, Error> {
    let billing = client.settings.billing_id.clone();
    let response = client.fetch(
        &format!("/device-apis/devices/1.0/softwareInstalled/{billing}"),
        &[("deviceId", device_id)],
        "device",
    )?;
    let answer: AppsAnswer<'_> =
        serde_json::from_slice(&response.body).map_err(|e| Error::Protocol(format!("MaaS360 app list: {e}")))?;
    let software = answer
        .device_softwares
        .ok_or_else(|| Error::Protocol("MaaS360 answered the app list without `deviceSoftwares`".into()))?;
    Ok(software.device_sw.0.into_iter().filter_map(app).collect())
}

/// `{"deviceSoftwares":{"deviceSw":[{"swName","swAttrs":[{"key","value"}]}]}}`.
#[derive(Deserialize)]
struct AppsAnswer<'a> {
    #[serde(borrow, rename = "deviceSoftwares")]
    device_softwares: Option<Softwares<'a>>,
}

#[derive(Deserialize)]
struct Softwares<'a> {
    #[serde(default, borrow, rename = "deviceSw")]
    device_sw: OneOrMany<Software<'a>>,
}

#[derive(Deserialize)]
struct Software<'a> {
    #[serde(default, borrow, rename = "swName")]
    name: Scalar<'a>,
    #[serde(default, borrow, rename = "swAttrs")]
    attrs: OneOrMany<SoftwareAttribute<'a>>,
}

#[derive(Deserialize)]
struct SoftwareAttribute<'a> {
    #[serde(default, borrow)]
    key: Scalar<'a>,
    #[serde(default, borrow)]
    value: Scalar<'a>,
}

fn app(sw: Software<'_>) -> Option<App> {
    let mut app = App {
        name: sw.name.text()?,
        identifier: None,
        version: None,
        size_bytes: None,
        managed: None,
        attributes: Vec::new(),
    };
    for attr in sw.attrs.0 {
        let Some(key) = attr.key.text() else { continue };
        match key.as_str() {
            "Application ID" => app.identifier = attr.value.text(),
            "Version" => app.version = attr.value.text(),
            "File Size" => app.size_bytes = attr.value.unsigned(),
            "Installed by MDM" => app.managed = attr.value.flag(),
            _ => {
                if let Some(value) = attribute_value(&attr.value) {
                    app.attributes.push(Attribute { name: key, value });
                }
            }
        }
    }
    Some(app)
}
