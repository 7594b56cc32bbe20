//! The inventory path (on-prem → cloud): page through a UEM's devices, drop the repeats a
//! shifting inventory produces, fetch each device's apps when asked, and tokenize every record
//! field by field before it goes anywhere. The relay link will stream the result up; today
//! `connector uem sync` writes it to a file, which is how an admin sees exactly what the cloud
//! would get.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::pii::{PiiFilter, TokenizeError};
use crate::plugins::CallError;
use crate::plugins::worlds::Error;
use crate::plugins::worlds::uem::{App, Attribute, AttributeValue, Device, DevicePage, DeviceQuery, Uem};

/// More pages than any tenant has: a plugin whose cursor never ends is stopped here.
const MAX_PAGES: u32 = 100_000;
/// A page the UEM throttled or could not serve is asked for again this many times...
const PAGE_ATTEMPTS: u32 = 4;
/// ...waiting what the UEM asked, or this long when it did not say, and never longer than
/// [`MAX_WAIT`].
const DEFAULT_WAIT: Duration = Duration::from_secs(5);
const MAX_WAIT: Duration = Duration::from_secs(120);
/// How far before its start an incremental sync's successor reaches back: UEM clocks and ours
/// differ, and a device that reported while this sync paged must not fall between the two.
const WATERMARK_MARGIN: Duration = Duration::from_secs(10 * 60);

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
    #[error("writing the synced records: {0}")]
    Output(#[from] std::io::Error),
}

/// What to sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Devices per page the host asks for; the adapter may return fewer.
    pub page_size: u32,
    /// Incremental sync: only devices that reported at or after this time (ms since the epoch).
    pub changed_since_ms: Option<u64>,
    /// Fetch each device's installed apps too (one more call per device).
    pub apps: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { page_size: 250, changed_since_ms: None, apps: true }
    }
}

/// One device ready to leave the premises: tokenized, with its tokenized apps when asked for.
pub struct SyncedDevice {
    pub device: Device,
    pub apps: Option<Vec<App>>,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Distinct devices sent.
    pub devices: u64,
    /// Records dropped because their device was already sent in this sync (pages shifting
    /// while paging, or a device in two groups).
    pub repeats: u64,
    /// Devices that left the UEM between being listed and their apps being read; not sent.
    pub vanished: u64,
    pub pages: u32,
    /// Pages asked for again after the UEM throttled or failed.
    pub page_retries: u32,
    /// The `changed_since_ms` of the next incremental sync: this sync's start, less a margin.
    pub next_since_ms: u64,
}

/// Pages through the devices of `uem`, tokenizes each (and its apps) and passes it to `sink`.
/// Each device is sent once, however often the UEM lists it. Only device ids are kept in memory,
/// never the records.
pub async fn sync(
    uem: &Uem<'_>,
    filter: &PiiFilter,
    options: &SyncOptions,
    mut sink: impl FnMut(SyncedDevice) -> std::io::Result<()>,
) -> Result<SyncReport, InventoryError> {
    let mut query = DeviceQuery {
        cursor: None,
        page_size: options.page_size,
        groups: Vec::new(),
        changed_since_ms: options.changed_since_ms,
    };
    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut report = SyncReport {
        next_since_ms: u64::try_from(started.saturating_sub(WATERMARK_MARGIN).as_millis()).unwrap_or(0),
        ..SyncReport::default()
    };
    let mut seen = HashSet::new();
    while report.pages < MAX_PAGES {
        let page = next_page(uem, &query, &mut report).await?;
        report.pages += 1;
        for mut device in page.devices {
            if !seen.insert(device.id.clone()) {
                report.repeats += 1;
                continue;
            }
            let apps = match options.apps {
                false => None,
                true => match uem.list_apps(&device.id).await {
                    Ok(apps) => Some(apps),
                    Err(CallError::Reported { error: Error::NotFound(_), .. }) => {
                        report.vanished += 1;
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                },
            };
            let id = device.id.clone();
            let tokenize_error = |error| InventoryError::Tokenize { device: id.clone(), error };
            filter.outgoing(&mut device).map_err(tokenize_error)?;
            let apps = match apps {
                Some(mut apps) => {
                    filter.outgoing(&mut apps).map_err(tokenize_error)?;
                    Some(apps)
                }
                None => None,
            };
            sink(SyncedDevice { device, apps })?;
            report.devices += 1;
        }
        match page.next_cursor {
            Some(next) if query.cursor.as_deref() == Some(next.as_str()) => {
                return Err(InventoryError::CursorLoop(next));
            }
            Some(next) => query.cursor = Some(next),
            None => return Ok(report),
        }
    }
    Err(InventoryError::TooManyPages)
}

/// One page, asked for again (same cursor) when the UEM throttles or fails, waiting what it
/// asked: the plugin gives up within its call's deadline, the sync has more patience.
async fn next_page(uem: &Uem<'_>, query: &DeviceQuery, report: &mut SyncReport) -> Result<DevicePage, CallError> {
    let mut attempt = 1;
    loop {
        let retry = match uem.list_devices(query).await {
            Err(CallError::Reported { error: Error::RateLimited(r) | Error::Unavailable(r), .. })
                if attempt < PAGE_ATTEMPTS =>
            {
                r
            }
            other => return other,
        };
        let wait = retry.retry_after_ms.map(Duration::from_millis).unwrap_or(DEFAULT_WAIT).min(MAX_WAIT);
        tracing::warn!(attempt, wait = ?wait, "the UEM asked to retry a page later; waiting");
        tokio::time::sleep(wait).await;
        report.page_retries += 1;
        attempt += 1;
    }
}

/// A synced device as one JSON line's value, the shape the cloud receives.
pub fn synced_json(instance: &str, synced: &SyncedDevice) -> Value {
    let mut line = json!({ "instance": instance, "device": device_json(&synced.device) });
    if let Some(apps) = &synced.apps {
        line["apps"] = apps.iter().map(app_json).collect();
    }
    line
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

/// An app as JSON.
pub fn app_json(app: &App) -> Value {
    json!({
        "name": app.name,
        "identifier": app.identifier,
        "version": app.version,
        "size_bytes": app.size_bytes,
        "managed": app.managed,
        "attributes": app.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
    })
}
