//! UEM adapter for IBM MaaS360, written only against the SDK.
//!
//! Settings (`[instances.NAME.config]`): `server_url` (the tenant's API root), `billing_id`,
//! `username`, `app_id`, `app_version` (default `1.0`), `platform_id` (default `3`), `groups`
//! (device group names to sync; default: every device), `mitigation_label` (default
//! `MP_HighRisk`), `label_on` / `label_off` (default `Yes` / `No`), `risk_threshold` (the lowest
//! level that sets the label: `low`, `medium` or `high`, the default). Secrets: `password`,
//! `access_key`. Grant the instance `http = ["<server_url>"]`, and a `ca_file` for an on-prem
//! server behind a private CA.
//!
//! Modules, in the order a call uses them: [`settings`], [`auth`] (session token in the kv
//! store), [`client`] (authenticated calls, retry), [`errors`], then one per operation:
//! [`inventory`] with [`devices`], [`apps`], [`label`].

mod apps;
mod auth;
mod client;
mod devices;
mod errors;
mod inventory;
mod label;
mod settings;

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

use client::Client;
use settings::Settings;

struct MaaS360;

impl Adapter for MaaS360 {
    fn list_devices(query: DeviceQuery) -> Result<DevicePage, Error> {
        inventory::list_devices(&mut connect()?, query)
    }

    fn get_device(id: String) -> Result<Device, Error> {
        let id = device_id(&id)?;
        let mut client = connect()?;
        let response = client.fetch(
            &client.search_path(),
            &[("maas360DeviceId", id), ("match", "1"), ("pageSize", "25"), ("pageNumber", "1")],
            "device search",
        )?;
        let answer = devices::SearchAnswer::parse(&response.body)?;
        let listing = answer.devices.map(|l| l.device.0).unwrap_or_default();
        let record = listing
            .iter()
            .find(|d| d.id.text().as_deref() == Some(id))
            .ok_or_else(|| Error::NotFound(format!("MaaS360 has no device {id}")))?;
        devices::device(record, None)
    }

    fn list_apps(device: String) -> Result<Vec<App>, Error> {
        apps::list_apps(&mut connect()?, device_id(&device)?)
    }

    fn set_risk(device: String, level: RiskLevel) -> Result<RiskUpdate, Error> {
        label::set_risk(&mut connect()?, device_id(&device)?, level)
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        Ok(self_test::run())
    }
}

msc_sdk::export_uem!(MaaS360);

fn connect() -> Result<Client, Error> {
    Ok(Client::new(Settings::load()?))
}

/// A MaaS360 device id as the host passed it, refused when it cannot be one.
fn device_id(id: &str) -> Result<&str, Error> {
    let id = id.trim();
    if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::InvalidInput(format!("`{}` is not a MaaS360 device id", id.escape_debug())));
    }
    Ok(id)
}

/// The "test connection" button: credentials, groups, device count, the label.
mod self_test {
    use msc_sdk::self_test::check;
    use msc_sdk::{Check, Error};

    use crate::auth::Session;
    use crate::client::Client;
    use crate::settings::Settings;
    use crate::{inventory, label};

    pub fn run() -> Vec<Check> {
        let settings = match Settings::load() {
            Ok(settings) => settings,
            Err(e) => return vec![check("settings", Err(e))],
        };
        // The tenant's URL and billing id are the customer's secrets too: not repeated here.
        let mut checks = vec![check("settings", Ok("every required setting and secret is present".into()))];
        // Sign in with the credentials themselves: a cached token would hide a changed password.
        let signed_in = Session::sign_in(&settings).map(|_| "signed in with the API credentials".to_string());
        let failed = signed_in.is_err();
        checks.push(check("authentication", signed_in));
        if failed {
            return checks;
        }
        let mut client = Client::new(settings);
        let names = client.settings.groups.clone();
        match inventory::resolve_groups(&mut client, &names) {
            Ok(groups) => {
                for (id, name) in groups {
                    let counted = inventory::first_page(&mut client, Some(&id))
                        .map(|page| format!("id {id}, {} devices", inventory::total(&page)));
                    checks.push(check(&format!("device group `{name}`"), counted));
                }
            }
            Err(e) => checks.push(check("device groups", Err(e))),
        }
        // One page answers both the device count and which device to check the label on.
        match inventory::first_page(&mut client, None) {
            Ok(page) => {
                checks.push(check("devices", Ok(format!("{} devices in the tenant", inventory::total(&page)))));
                let first = page.devices.first().map(|d| d.id.clone());
                let label = format!("mitigation label `{}`", client.settings.label.name);
                checks.push(check(&label, label_defined(&mut client, first)));
            }
            Err(e) => checks.push(check("devices", Err(e))),
        }
        checks
    }

    /// Whether the label attribute exists, from the custom attributes of `device`.
    fn label_defined(client: &mut Client, device: Option<String>) -> Result<String, Error> {
        let Some(first) = device else {
            return Ok("no device to check it on yet".into());
        };
        let name = client.settings.label.name.clone();
        let attributes = label::attributes(client, &first)?;
        if attributes.iter().any(|(n, _)| *n == name) {
            Ok("defined as a device custom attribute".into())
        } else {
            Err(Error::InvalidConfig(format!(
                "MaaS360 devices have no custom attribute `{name}`; create it as a boolean device attribute"
            )))
        }
    }
}
