//! A device's installed apps: v1 `/mdm/devices/{id}/apps`, paged (204 past the last page).
//!
//! The newer `/apps/search` needs the device's UUID (one more request per device) and answers a
//! numeric id with an empty list rather than an error, so the v1 listing by numeric id is used.

use msc_sdk::Error;
use msc_sdk::json::Scalar;
use msc_sdk::paging::{fetch_all, has_next_page};
use msc_sdk::uem::{App, Attribute, AttributeValue};
use serde::Deserialize;

use crate::client::Client;

const PAGE_SIZE: u64 = 500;
/// A device with more apps than this many pages is an API that does not stop.
const MAX_PAGES: u32 = 40;

pub fn list_apps(client: &mut Client, device_id: &str) -> Result<Vec<App>, Error> {
    let path = format!("/mdm/devices/{device_id}/apps");
    fetch_all(MAX_PAGES, |page| {
        let query = [("page", page.to_string()), ("pagesize", PAGE_SIZE.to_string())];
        let Some(body) = client.get_raw(&path, &query, 1, "device")? else {
            return Ok((Vec::new(), false));
        };
        let answer: AppsAnswer<'_> =
            serde_json::from_slice(&body).map_err(|e| Error::Protocol(format!("Workspace ONE app list: {e}")))?;
        let received = answer.apps.len() as u64;
        let more = has_next_page(u64::from(page), PAGE_SIZE, received, answer.total.unsigned());
        Ok((answer.apps.iter().filter_map(app).collect(), more))
    })
}

/// `{"DeviceApps":[…],"Page","PageSize","Total"}`.
#[derive(Deserialize)]
struct AppsAnswer<'a> {
    #[serde(default, borrow, rename = "DeviceApps")]
    apps: Vec<Record<'a>>,
    #[serde(default, borrow, rename = "Total")]
    total: Scalar<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Record<'a> {
    #[serde(borrow)]
    application_name: Scalar<'a>,
    #[serde(borrow)]
    application_identifier: Scalar<'a>,
    #[serde(borrow)]
    version: Scalar<'a>,
    #[serde(borrow)]
    build_version: Scalar<'a>,
    #[serde(borrow)]
    status: Scalar<'a>,
    #[serde(borrow)]
    size: Scalar<'a>,
    #[serde(borrow, rename = "Type")]
    kind: Scalar<'a>,
    #[serde(borrow)]
    is_managed: Scalar<'a>,
}

fn app(record: &Record<'_>) -> Option<App> {
    let attributes = [("BuildVersion", &record.build_version), ("Status", &record.status), ("Type", &record.kind)]
        .into_iter()
        .filter_map(|(name, value)| Some(Attribute { name: name.into(), value: AttributeValue::Text(value.text()?) }))
        .collect();
    Some(App {
        name: record.application_name.text()?,
        identifier: record.application_identifier.text(),
        version: record.version.text(),
        size_bytes: record.size.unsigned(),
        managed: record.is_managed.flag(),
        attributes,
    })
}
