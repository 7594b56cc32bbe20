//! The emulated tenant: configuration, data, tokens, faults and counters behind their locks, and
//! the read-outs and knobs tests use. No lock is held across an await.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::auth::tokens::Tokens;
use crate::config::EmulatorConfig;
use crate::faults::Faults;
use crate::inventory::Inventory;
use crate::inventory::device::Device;
use crate::inventory::groups;
use crate::stats::Stats;

/// A device as a test sees it: its ids and the plaintext personal data a connector must never let
/// out, with the tags and custom attributes it carries now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceSnapshot {
    pub id: u64,
    pub uuid: String,
    pub serial_number: String,
    pub friendly_name: String,
    pub reported_name: String,
    pub user_name: String,
    pub full_name: String,
    pub email: String,
    /// E.164; `""` when the device has none.
    pub phone: String,
    pub mac_address: String,
    pub imei: String,
    pub organization_group: String,
    pub tags: Vec<String>,
    pub custom_attributes: BTreeMap<String, String>,
}

impl DeviceSnapshot {
    /// The personal values that could be searched for in a connector's output: names, user name,
    /// email and the phone number's digits (ten or more, so they cannot match inside a timestamp).
    pub fn personal_values(&self) -> Vec<String> {
        let digits: String = self.phone.chars().filter(char::is_ascii_digit).collect();
        let digits = if digits.len() >= 10 { digits } else { String::new() };
        [&self.friendly_name, &self.reported_name, &self.user_name, &self.full_name, &self.email, &digits]
            .into_iter()
            .filter(|value| value.len() >= 5)
            .cloned()
            .collect()
    }

    fn of(device: &Device, tags: Vec<String>) -> Self {
        Self {
            id: device.id,
            uuid: device.uuid.clone(),
            serial_number: device.serial.clone(),
            friendly_name: device.friendly_name.clone(),
            reported_name: device.reported_name.clone(),
            user_name: device.user_name.clone(),
            full_name: device.full_name.clone(),
            email: device.email.clone(),
            phone: device.phone.clone(),
            mac_address: device.mac.clone(),
            imei: device.imei.clone(),
            organization_group: groups::by_id(device.group).map_or("", |g| g.name).to_string(),
            tags,
            custom_attributes: device.attributes.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        }
    }
}

/// The first personal value of `devices` found in `text` (ASCII case ignored): what a test of
/// "no plaintext leaves" fails with.
pub fn find_personal_value(text: &str, devices: &[DeviceSnapshot]) -> Option<String> {
    let needles: Vec<String> = devices.iter().flat_map(DeviceSnapshot::personal_values).collect();
    let search = aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(&needles).ok()?;
    search.find(text).map(|found| needles[found.pattern().as_usize()].clone())
}

pub struct Tenant {
    pub config: EmulatorConfig,
    pub inventory: RwLock<Inventory>,
    pub tokens: Mutex<Tokens>,
    pub faults: Mutex<Faults>,
    pub stats: Mutex<Stats>,
}

impl Tenant {
    pub fn new(config: EmulatorConfig) -> Self {
        let inventory = Inventory::new(config.seed, config.devices, config.risk_tag_prefix.as_deref());
        // The quota refills a day after the tenant started.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self {
            tokens: Mutex::new(Tokens::new(config.token_ttl)),
            faults: Mutex::new(Faults::new(config.daily_quota, now + 86_400)),
            stats: Mutex::new(Stats::default()),
            inventory: RwLock::new(inventory),
            config,
        }
    }

    pub fn devices(&self) -> Vec<DeviceSnapshot> {
        let inventory = read(&self.inventory);
        inventory.devices.iter().map(|device| DeviceSnapshot::of(device, tag_names(&inventory, device.id))).collect()
    }

    pub fn device(&self, id: u64) -> Option<DeviceSnapshot> {
        let inventory = read(&self.inventory);
        inventory.device(id).map(|device| DeviceSnapshot::of(device, tag_names(&inventory, id)))
    }

    pub fn tag_id(&self, name: &str) -> Option<u64> {
        let inventory = read(&self.inventory);
        inventory.tags.all().iter().find(|tag| tag.name.eq_ignore_ascii_case(name)).map(|tag| tag.id)
    }

    pub fn expire_tokens(&self) {
        lock(&self.tokens).expire_all(Instant::now());
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }
}

fn tag_names(inventory: &Inventory, device: u64) -> Vec<String> {
    inventory.tags.of_device(device).iter().map(|tag| tag.name.clone()).collect()
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
