//! UEM adapter for VMware (Omnissa) Workspace ONE UEM, written only against the SDK.
//!
//! Settings (`[instances.NAME.config]`): `server_url` (the API host, e.g.
//! `https://as1234.awmdm.com`; `/API` is added), `auth` (`basic`, the default, or `oauth`),
//! `username` (basic), `token_url` (oauth; default: the SaaS URL of `oauth_region` — `na`, `emea`,
//! `apac`, `uat` — else `{server_url}/oauth/token`), `groups` (organization group names to sync;
//! default: every device), `include_child_groups` (default `true`), `risk_label` (`tag`, the
//! default, or `attribute`); for tags `tag_prefix` (default `MTD`, tags
//! `MTD_Risk_{None,Low,Medium,High}`) and `create_tags` (default `false`); for an attribute
//! `attribute_name` (default `MTD_Risk`), `attribute_type` (`text`, the level's name, or
//! `boolean`), `application_group` (default `com.mtd.connector`), and for `boolean` `label_on` /
//! `label_off` (default `true` / `false`) and `risk_threshold` (`low`, `medium`, `high`, the
//! default). Secrets: `tenant_code` (the REST API key, always), `password` (basic), `client_id`
//! and `client_secret` (oauth). Grant the instance `http = ["<server_url>"]` (and the token URL's
//! origin for OAuth), and a `ca_file` for an on-prem server behind a private CA.
//!
//! Modules, in the order a call uses them: [`settings`], [`auth`] (Basic, or the OAuth token in
//! the kv store), [`client`] (authenticated calls, retry), [`errors`], then one per operation:
//! [`inventory`] with [`devices`], [`apps`], [`label`], [`self_test`].

mod apps;
mod auth;
mod client;
mod devices;
mod errors;
mod inventory;
mod label;
mod self_test;
mod settings;

use msc_sdk::uem::{Adapter, App, Device, DevicePage, DeviceQuery, RiskLevel, RiskUpdate};
use msc_sdk::{Check, Error};

use client::Client;
use settings::Settings;

struct WorkspaceOne;

impl Adapter for WorkspaceOne {
    fn list_devices(query: DeviceQuery) -> Result<DevicePage, Error> {
        inventory::list_devices(&mut connect()?, query)
    }

    fn get_device(id: String) -> Result<Device, Error> {
        let id = device_id(&id)?;
        let mut client = connect()?;
        let body = client
            .get_raw(&format!("/mdm/devices/{id}"), &[], 2, "device")?
            .ok_or_else(|| Error::NotFound(format!("Workspace ONE has no device {id}")))?;
        let record: devices::Record<'_> =
            serde_json::from_slice(&body).map_err(|e| Error::Protocol(format!("Workspace ONE device: {e}")))?;
        devices::device(&record)
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

msc_sdk::export_uem!(WorkspaceOne);

fn connect() -> Result<Client, Error> {
    Ok(Client::new(Settings::load()?))
}

/// A Workspace ONE device id (numeric) as the host passed it, refused when it cannot be one.
fn device_id(id: &str) -> Result<&str, Error> {
    let id = id.trim();
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput(format!(
            "`{}` is not a Workspace ONE device id (a number)",
            id.escape_debug()
        )));
    }
    Ok(id)
}
