//! UEM adapter for the Acme UEM: a Mobile Security Connector plugin, started from the SDK's
//! template. Replace the Acme API calls with your UEM's; keep the shape.
//!
//! The Acme API it speaks (all JSON, `Authorization: Bearer <api_token>`):
//! - `GET  /api/v1/devices?page=N&per_page=M[&since=MS]` → `{"devices": [...], "total": N}`
//! - `GET  /api/v1/devices/{id}` → one device; `GET /api/v1/devices/{id}/apps` → `{"apps": [...]}`
//! - `PUT  /api/v1/devices/{id}/risk` with `{"level": "high"}` → `{"level": "high", "previous": "none"}`
//!
//! Settings (`[instances.NAME.config]`): `server_url` (https only), `page_size` (default 100). Secret
//! (`[instances.NAME.secrets]`): `api_token`. Grant the instance `http = ["<server_url>"]`.

use msc_sdk::config::Secret;
use msc_sdk::http::{Request, Response, path_segment};
use msc_sdk::paging::{decode_cursor, encode_cursor, has_next_page};
use msc_sdk::retry::Backoff;
use msc_sdk::self_test::check;
use msc_sdk::uem::{
    Adapter, App, Device, DevicePage, DeviceQuery, Platform, RiskLevel, RiskUpdate,
};
use msc_sdk::{Check, Error, Pii};
use serde::{Deserialize, Serialize};

/// The instance's settings, read whole by `msc_sdk::config::load`; a missing or mistyped one is
/// reported to the admin by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    server_url: String,
    #[serde(default = "default_page_size")]
    page_size: u32,
}

fn default_page_size() -> u32 {
    100
}

/// A device as the Acme API sends it.
#[derive(Deserialize)]
struct AcmeDevice {
    id: String,
    name: Option<String>,
    user: Option<String>,
    email: Option<String>,
    platform: Option<String>,
    os_version: Option<String>,
    last_seen_ms: Option<u64>,
}

#[derive(Deserialize)]
struct AcmeApp {
    name: String,
    bundle_id: Option<String>,
    version: Option<String>,
}

/// What the next page needs, carried in the opaque cursor the host hands back.
#[derive(Serialize, Deserialize)]
struct Resume {
    page: u32,
}

/// The Acme API of this instance: where it is and how to sign in.
struct Client {
    settings: Settings,
    token: Secret,
    backoff: Backoff,
}

impl Client {
    fn connect() -> Result<Self, Error> {
        let settings: Settings = msc_sdk::config::load()?;
        // The token travels on every request: never over plain HTTP.
        if !settings.server_url.starts_with("https://") {
            return Err(Error::InvalidConfig(format!(
                "server_url `{}` must start with https://",
                settings.server_url
            )));
        }
        Ok(Self {
            settings,
            token: msc_sdk::config::secret_value("api_token")?,
            backoff: Backoff::default(),
        })
    }

    /// `server_url` + `path`, with `segment` (an id from the cloud) encoded so that nothing in it
    /// can change which endpoint is called.
    fn url(&self, path: &str, segment: Option<&str>) -> String {
        let base = self.settings.server_url.trim_end_matches('/');
        match segment {
            Some(segment) => format!("{base}{path}/{}", path_segment(segment)),
            None => format!("{base}{path}"),
        }
    }

    /// Sends `request` signed in, retried within the call's deadline when the server asks
    /// (429, 5xx, `Retry-After`).
    fn send(&self, request: Request) -> Result<Response, Error> {
        self.backoff.run(|_| {
            Ok(request
                .clone()
                .bearer(self.token.expose())
                .send()?
                .error_for_status()?)
        })
    }
}

fn device(acme: AcmeDevice) -> Device {
    let mut device = Device::new(
        acme.id,
        Platform::from_name(acme.platform.as_deref().unwrap_or("")),
    );
    // Personal data travels as Pii: the connector tokenizes it before anything leaves.
    device.name = acme.name.map(Pii::device_name);
    device.user_name = acme.user.map(Pii::user_name);
    device.email = acme.email.map(Pii::email);
    device.os_version = acme.os_version;
    device.last_seen_ms = acme.last_seen_ms;
    device
}

struct Acme;

impl Adapter for Acme {
    fn list_devices(query: DeviceQuery) -> Result<DevicePage, Error> {
        #[derive(Deserialize)]
        struct Listing {
            devices: Vec<AcmeDevice>,
            total: Option<u64>,
        }
        let client = Client::connect()?;
        let page = decode_cursor::<Resume>(query.cursor.as_deref())?.map_or(0, |r| r.page);
        let per_page = query.page_size.clamp(1, client.settings.page_size);
        let request = Request::get(&client.url("/api/v1/devices", None))
            .query("page", &page.to_string())
            .query("per_page", &per_page.to_string())
            .query_opt("since", query.changed_since_ms);
        let listing: Listing = client.send(request)?.json()?;
        let received = listing.devices.len() as u64;
        let next = has_next_page(page.into(), per_page.into(), received, listing.total);
        msc_sdk::debug!("page {page}: {received} devices");
        Ok(DevicePage {
            devices: listing.devices.into_iter().map(device).collect(),
            next_cursor: if next {
                Some(encode_cursor(&Resume { page: page + 1 })?)
            } else {
                None
            },
            total: listing.total,
        })
    }

    fn get_device(id: String) -> Result<Device, Error> {
        let client = Client::connect()?;
        let acme: AcmeDevice = client
            .send(Request::get(&client.url("/api/v1/devices", Some(&id))))?
            .json()?;
        Ok(device(acme))
    }

    fn list_apps(device_id: String) -> Result<Vec<App>, Error> {
        #[derive(Deserialize)]
        struct Apps {
            apps: Vec<AcmeApp>,
        }
        let client = Client::connect()?;
        let url = format!("{}/apps", client.url("/api/v1/devices", Some(&device_id)));
        let apps: Apps = client.send(Request::get(&url))?.json()?;
        Ok(apps
            .apps
            .into_iter()
            .map(|a| App {
                identifier: a.bundle_id,
                version: a.version,
                ..App::new(a.name)
            })
            .collect())
    }

    fn set_risk(device_id: String, level: RiskLevel) -> Result<RiskUpdate, Error> {
        #[derive(Deserialize)]
        struct Set {
            level: String,
            previous: Option<String>,
        }
        let client = Client::connect()?;
        let url = format!("{}/risk", client.url("/api/v1/devices", Some(&device_id)));
        let request = Request::put(&url).json(&serde_json::json!({ "level": level.name() }))?;
        let set: Set = client.send(request)?.json()?;
        // Read back what Acme says it set: the cloud is told only what is true.
        if set.level != level.name() {
            return Err(Error::Protocol(format!(
                "Acme set the risk level `{}`, not `{}`",
                set.level,
                level.name()
            )));
        }
        Ok(RiskUpdate {
            applied: format!("risk={}", set.level),
            changed: set.previous.map(|p| p != set.level),
            verified: true,
        })
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        let client = match Client::connect() {
            // An admin is waiting for the answer: one attempt each, no retries.
            Ok(client) => Client {
                backoff: Backoff {
                    attempts: 1,
                    ..Backoff::default()
                },
                ..client
            },
            Err(error) => return Ok(vec![check("settings", Err(error))]),
        };
        let mut checks = vec![check(
            "settings",
            Ok("every setting and the API token are present".into()),
        )];
        let request = Request::get(&client.url("/api/v1/devices", None)).query("per_page", "1");
        let devices = client
            .send(request)
            .and_then(|r| Ok(r.json::<serde_json::Value>()?))
            .map(|v| format!("signed in; {} devices", v["total"].as_u64().unwrap_or(0)));
        checks.push(check("devices", devices));
        Ok(checks)
    }
}

msc_sdk::export_uem!(Acme);
