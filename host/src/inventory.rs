//! The inventory path (on-prem → cloud): page through a UEM's devices and tokenize every device
//! field by field before it goes anywhere. The relay link will stream the result up; today
//! `connector inventory` prints it, which is how an admin sees exactly what the cloud would get.

use serde_json::{Value, json};

use crate::pii::{PiiFilter, TokenizeError};
use crate::plugins::CallError;
use crate::plugins::worlds::uem::{Attribute, AttributeValue, Device, DeviceQuery, Uem};

/// More pages than any tenant has: a plugin whose cursor never ends is stopped here.
const MAX_PAGES: u32 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("device {device}: {error}; the device was not sent")]
    Tokenize { device: String, error: TokenizeError },
    #[error("the plugin returned cursor `{0}` twice; stopping rather than looping")]
    CursorLoop(String),
    #[error("more than {MAX_PAGES} pages; stopping")]
    TooManyPages,
}

/// Pages through every device of `uem`, tokenizes each and passes it to `sink`. Returns how many
/// devices were sent.
pub async fn sync(
    uem: &Uem<'_>,
    filter: &PiiFilter,
    page_size: u32,
    mut sink: impl FnMut(Device),
) -> Result<u64, InventoryError> {
    let mut query = DeviceQuery { cursor: None, page_size, groups: Vec::new(), changed_since_ms: None };
    let mut sent = 0;
    for _ in 0..MAX_PAGES {
        let page = uem.list_devices(&query).await?;
        for mut device in page.devices {
            filter
                .outgoing(&mut device)
                .map_err(|error| InventoryError::Tokenize { device: device.id.clone(), error })?;
            sink(device);
            sent += 1;
        }
        match page.next_cursor {
            Some(next) if query.cursor.as_deref() == Some(next.as_str()) => {
                return Err(InventoryError::CursorLoop(next));
            }
            Some(next) => query.cursor = Some(next),
            None => return Ok(sent),
        }
    }
    Err(InventoryError::TooManyPages)
}

/// A device as JSON, the shape the cloud receives (personal fields already tokens).
pub fn device_json(device: &Device) -> Value {
    let pii = |p: &Option<crate::plugins::worlds::Pii>| p.as_ref().map(|p| p.value.clone());
    json!({
        "id": device.id,
        "name": pii(&device.name),
        "owner": pii(&device.owner),
        "user_name": pii(&device.user_name),
        "email": pii(&device.email),
        "phone": pii(&device.phone),
        "platform": format!("{:?}", device.platform).to_lowercase(),
        "os_name": device.os_name,
        "os_version": device.os_version,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "ownership": format!("{:?}", device.ownership).to_lowercase(),
        "status": format!("{:?}", device.status).to_lowercase(),
        "serial_number": device.serial_number,
        "imei": device.imei,
        "udid": device.udid,
        "wifi_mac": device.wifi_mac,
        "last_seen_ms": device.last_seen_ms,
        "enrolled_ms": device.enrolled_ms,
        "managed": device.managed,
        "compliant": device.compliant,
        "compromised": device.compromised,
        "encrypted": device.encrypted,
        "supervised": device.supervised,
        "groups": device.groups,
        "attributes": device.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
    })
}

fn attribute_json(attribute: &Attribute) -> Value {
    let value = match &attribute.value {
        AttributeValue::Text(t) => json!(t),
        AttributeValue::Number(n) => json!(n),
        AttributeValue::Flag(b) => json!(b),
        AttributeValue::Personal(p) => json!(p.value),
    };
    json!({ "name": attribute.name, "value": value })
}
