//! A well-behaved UEM adapter that reports what its sandbox lets it see, for the runtime's tests.
//!
//! - `list_devices`: `devices` (config, default 3) synthetic devices, paged by `page_size`. With
//!   `people` (a list of `[device name, owner, email, phone]`), devices take those values in
//!   turn; with `log_pii = true` the probe logs each one, as a careless plugin would.
//! - `get_device(id)`: `GET {base_url}/devices/{id}`, JSON `{"name","owner","email"}`.
//! - `set_risk`: remembers the level in the key-value store and says whether it changed.
//! - `test_connection`: one check per thing it can observe: instance name, settings, the secrets
//!   named in `secrets_to_probe`, the key-value `marker` (then sets it to its own name), time
//!   left, environment size, and `probe_url` / `net_target` if configured.

use msc_sdk::http::Request;
use msc_sdk::uem::{
    Adapter, App, Device, DevicePage, DeviceQuery, DeviceStatus, Ownership, Platform, RiskLevel, RiskUpdate,
};
use msc_sdk::{Check, Error, Pii};

struct Probe;

fn device(id: String, name: String, owner: Option<String>, email: Option<String>) -> Device {
    Device {
        id,
        name: Some(Pii::device_name(name)),
        owner: owner.map(Pii::person_name),
        user_name: None,
        email: email.map(Pii::email),
        phone: None,
        platform: Platform::Ios,
        os_name: Some("iOS".into()),
        os_version: Some("18.1".into()),
        manufacturer: Some("Apple".into()),
        model: None,
        ownership: Ownership::Corporate,
        status: DeviceStatus::Active,
        serial_number: None,
        imei: None,
        udid: None,
        wifi_mac: None,
        last_seen_ms: Some(1_763_000_000_000),
        enrolled_ms: None,
        managed: Some(true),
        compliant: Some(true),
        compromised: Some(false),
        encrypted: Some(true),
        supervised: None,
        groups: vec![],
        attributes: vec![],
    }
}

fn check(name: &str, passed: bool, detail: impl Into<String>) -> Check {
    Check { name: name.to_string(), passed, detail: detail.into() }
}

impl Adapter for Probe {
    fn list_devices(query: DeviceQuery) -> Result<DevicePage, Error> {
        let total: u64 = msc_sdk::config::parse("devices")?.unwrap_or(3);
        let start: u64 = match &query.cursor {
            Some(c) => c.parse().map_err(|_| Error::InvalidInput(format!("bad cursor `{c}`")))?,
            None => 0,
        };
        let end = (start + u64::from(query.page_size.max(1))).min(total);
        let people: Vec<[String; 4]> = msc_sdk::config::parse("people")?.unwrap_or_default();
        let log_pii: bool = msc_sdk::config::parse("log_pii")?.unwrap_or(false);
        let devices = (start..end)
            .map(|i| {
                let Some([name, owner, email, phone]) = people.get(i as usize % people.len().max(1)).cloned() else {
                    return device(
                        format!("dev-{i}"),
                        format!("Device {i}"),
                        Some(format!("Owner {i}")),
                        Some(format!("user{i}@example.com")),
                    );
                };
                if log_pii {
                    msc_sdk::info!("synced {name} of {owner} <{email}>, phone {phone}");
                }
                let mut d = device(format!("dev-{i}"), name, Some(owner), Some(email));
                d.phone = Some(Pii::phone(phone));
                d
            })
            .collect();
        Ok(DevicePage { devices, next_cursor: (end < total).then(|| end.to_string()), total: Some(total) })
    }

    fn get_device(id: String) -> Result<Device, Error> {
        let base = msc_sdk::config::require("base_url")?;
        let body: serde_json::Value =
            Request::get(&format!("{base}/devices/{id}")).send()?.error_for_status()?.json()?;
        let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let name = text("name").ok_or_else(|| Error::Protocol("device without a name".into()))?;
        Ok(device(id, name, text("owner"), text("email")))
    }

    fn list_apps(device_id: String) -> Result<Vec<App>, Error> {
        Ok(vec![App {
            name: format!("Probe app of {device_id}"),
            identifier: Some("com.example.probe".into()),
            version: Some("1.0".into()),
            size_bytes: Some(1024),
            managed: Some(true),
            attributes: vec![],
        }])
    }

    fn set_risk(device_id: String, level: RiskLevel) -> Result<RiskUpdate, Error> {
        let key = format!("risk:{device_id}");
        let new = format!("{level:?}");
        let previous = msc_sdk::kv::get(&key).map(|v| String::from_utf8_lossy(&v).into_owned());
        msc_sdk::kv::set(&key, new.as_bytes(), None)?;
        Ok(RiskUpdate {
            applied: format!("risk={new}"),
            changed: Some(previous.as_deref() != Some(new.as_str())),
            verified: true,
        })
    }

    fn test_connection() -> Result<Vec<Check>, Error> {
        let me = msc_sdk::call::instance_name();
        let mut checks =
            vec![check("instance", true, me.clone()), check("settings", true, msc_sdk::config::keys().join(","))];
        let to_probe: Vec<String> =
            msc_sdk::config::parse("secrets_to_probe")?.unwrap_or_else(|| vec!["password".into()]);
        for name in to_probe {
            let secret = msc_sdk::config::secret(&name);
            checks.push(check(
                &format!("secret:{name}"),
                secret.is_some(),
                match secret {
                    Some(s) => format!("present, {} chars", s.chars().count()),
                    None => "absent".into(),
                },
            ));
        }
        let marker = msc_sdk::kv::get("marker").map(|v| String::from_utf8_lossy(&v).into_owned());
        checks.push(check("kv:marker", marker.is_some(), marker.unwrap_or_else(|| "absent".into())));
        msc_sdk::kv::set("marker", me.as_bytes(), None)?;
        checks.push(check("remaining_ms", true, msc_sdk::call::remaining().as_millis().to_string()));
        checks.push(check("env", true, std::env::vars().count().to_string()));
        if let Some(url) = msc_sdk::config::get("probe_url") {
            checks.push(match Request::get(&url).send() {
                Ok(r) => check("http", r.is_success(), format!("status {}: {}", r.status, r.text())),
                Err(e) => check("http", false, format!("{e:?}")),
            });
        }
        if let Some(target) = msc_sdk::config::get("net_target") {
            checks.push(net_check(&target));
        }
        msc_sdk::info!("probe {me} ran {} checks", checks.len());
        Ok(checks)
    }
}

/// Connects to `host:port`, optionally upgrades to TLS (`net_tls = "starttls"` or `"tls"`),
/// sends `ping\n` and reports the line it gets back.
fn net_check(target: &str) -> Check {
    use msc_sdk::net::{Security, connect};
    let mode = msc_sdk::config::get("net_tls").unwrap_or_default();
    let (host, port) = target.rsplit_once(':').unwrap_or((target, "0"));
    let security = if mode == "tls" { Security::Tls } else { Security::Plaintext };
    let result = (|| {
        let conn = connect(host, port.parse().unwrap_or(0), security)?;
        if mode == "starttls" {
            conn.start_tls()?;
        }
        conn.write(b"ping\n")?;
        let mut buffer = Vec::new();
        let line = conn.read_line(&mut buffer, 1024)?;
        Ok::<_, msc_sdk::net::NetError>(format!(
            "tls={} echo={}",
            conn.is_tls(),
            String::from_utf8_lossy(&line).trim_end()
        ))
    })();
    match result {
        Ok(detail) => check("net", true, detail),
        Err(e) => check("net", false, format!("{e:?}")),
    }
}

msc_sdk::export_uem!(Probe);
