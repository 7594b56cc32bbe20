//! The emulated tenant: configuration, devices, sessions, faults and counters behind their locks,
//! and the knobs tests turn. No lock is held across an await.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use serde::Serialize;

use crate::auth::sessions::Sessions;
use crate::config::EmulatorConfig;
use crate::faults::Faults;
use crate::inventory::device::Device;
use crate::inventory::{Store, groups};
use crate::stats::Stats;

/// A device as a test sees it: the plaintext fields a connector must never let out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceSnapshot {
    pub id: String,
    pub device_name: String,
    pub owner: String,
    pub username: String,
    pub email: String,
    /// As the device reports it; `""` when it has none.
    pub phone: String,
    pub custom_asset_number: String,
    /// Names of the groups the device is in.
    pub groups: Vec<String>,
    pub last_reported_ms: i64,
}

impl DeviceSnapshot {
    /// The personal values a connector must never let out, as they could be searched for in
    /// its output: names, user name, email, asset number, and the phone number's digits (ten or
    /// more, so they cannot match inside a timestamp). Short values are left out.
    pub fn personal_values(&self) -> Vec<String> {
        let digits: String = self.phone.chars().filter(char::is_ascii_digit).collect();
        let digits = if digits.len() >= 10 { digits } else { String::new() };
        [&self.device_name, &self.owner, &self.username, &self.email, &self.custom_asset_number, &digits]
            .into_iter()
            .filter(|v| v.len() >= 5 && !v.eq_ignore_ascii_case("n/a"))
            .cloned()
            .collect()
    }

    fn of(device: &Device) -> Self {
        Self {
            id: device.id.clone(),
            device_name: device.name.clone(),
            owner: device.owner.clone(),
            username: device.username.clone(),
            email: device.email.clone(),
            phone: device.phone.clone(),
            custom_asset_number: device.custom_asset_number.clone(),
            groups: groups::names(device.groups),
            last_reported_ms: device.last_reported_ms,
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

/// A snapshot with the device's custom attributes: what the admin API shows.
#[derive(Serialize)]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: DeviceSnapshot,
    pub custom_attributes: BTreeMap<String, String>,
}

/// A churn waiting for its turn.
struct PendingChurn {
    /// Device-list requests still served before the churn.
    remaining: u32,
    insert: usize,
    remove: usize,
}

pub struct Tenant {
    pub config: EmulatorConfig,
    pub store: RwLock<Store>,
    pub sessions: Mutex<Sessions>,
    pub faults: Mutex<Faults>,
    pub stats: Mutex<Stats>,
    churn: Mutex<Option<PendingChurn>>,
}

impl Tenant {
    pub fn new(config: EmulatorConfig) -> Self {
        let store = Store::generate(config.devices, config.seed, config.quirks);
        let sessions = Sessions::new(config.token_ttl, config.refresh_ttl, config.lock_after_failures);
        let faults = Faults::new(config.rate_limit);
        Self {
            config,
            store: RwLock::new(store),
            sessions: Mutex::new(sessions),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
            churn: Mutex::new(None),
        }
    }

    pub fn expire_tokens(&self) {
        lock(&self.sessions).expire_all(Instant::now());
    }

    pub fn throttle(&self, requests: u32, retry_after_secs: u64) {
        lock(&self.faults).throttle(requests, retry_after_secs);
    }

    pub fn fail(&self, requests: u32, status: u16) {
        lock(&self.faults).fail(requests, status);
    }

    pub fn html_login(&self, requests: u32) {
        lock(&self.faults).html_login(requests);
    }

    pub fn lock_account(&self, locked: bool) {
        lock(&self.sessions).set_locked(locked);
    }

    /// Schedules a churn after `after` more device-list requests (now, if 0), replacing any pending one.
    pub fn churn(&self, after: u32, insert: usize, remove: usize) {
        if after == 0 {
            *lock(&self.churn) = None;
            write(&self.store).churn(insert, remove);
        } else {
            *lock(&self.churn) = Some(PendingChurn { remaining: after, insert, remove });
        }
    }

    /// Counts a device-list request about to be served; applies a churn that is due.
    pub fn list_request(&self) {
        lock(&self.stats).device_list_requests += 1;
        let due = {
            let mut pending = lock(&self.churn);
            match pending.as_mut() {
                Some(churn) if churn.remaining == 0 => pending.take(),
                Some(churn) => {
                    churn.remaining -= 1;
                    None
                }
                None => None,
            }
        };
        if let Some(churn) = due {
            write(&self.store).churn(churn.insert, churn.remove);
        }
    }

    pub fn devices(&self) -> Vec<DeviceSnapshot> {
        read(&self.store).ordered().map(DeviceSnapshot::of).collect()
    }

    pub fn device(&self, id: &str) -> Option<DeviceDetail> {
        let store = read(&self.store);
        let device = store.device(id)?;
        let custom_attributes = store.attributes.of_device(id).into_iter().collect();
        Some(DeviceDetail { device: DeviceSnapshot::of(device), custom_attributes })
    }

    pub fn rename(&self, device_id: &str, name: &str) -> bool {
        write(&self.store).rename(device_id, name)
    }

    pub fn attribute(&self, device_id: &str, name: &str) -> Option<String> {
        let store = read(&self.store);
        store.device(device_id)?;
        store.attributes.get(device_id, name)
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }
}

/// Locks a mutex; a panic elsewhere while it was held leaves plain data that is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
